"""Built-in brokers and fee models: ``simulated`` (fills on the session's data), ``alpaca_paper``
(Alpaca's paper-trading API), and the ``vn_default`` / ``us_default`` / ``zero`` fee models.

Registered by the plugin manager like any third-party plugin; importing this package imports
neither alpaca-py nor any settings (the Alpaca broker loads them in ``start``).
"""

from __future__ import annotations

from plugins import hookimpl


@hookimpl
def register_brokers() -> list[type]:
    """The ``simulated`` and ``alpaca_paper`` brokers."""
    from plugins.brokers.alpaca import AlpacaPaperBroker
    from plugins.brokers.simulated import SimulatedBroker

    return [SimulatedBroker, AlpacaPaperBroker]


@hookimpl
def register_fee_models() -> list[type]:
    """The ``vn_default``, ``us_default`` and ``zero`` fee models."""
    from plugins.brokers.fees import FEE_MODELS

    return list(FEE_MODELS)
