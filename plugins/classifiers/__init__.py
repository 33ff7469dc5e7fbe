"""Built-in trade classifiers: vendor side, quote rule, tick rule, Lee-Ready, EMO.

Registered through the plugin manager like any third-party plugin (``register_trade_classifiers``).
"""

from __future__ import annotations

from plugins import hookimpl
from plugins.classifiers.rules import BUILTIN_CLASSIFIERS


@hookimpl
def register_trade_classifiers() -> list[type]:
    """The five built-in classification rules."""
    return list(BUILTIN_CLASSIFIERS)
