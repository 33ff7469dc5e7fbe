"""Built-in example strategies, written as templates for strategy authors (docs/strategies.md):

- ``sma_crossover`` (US): long when a fast simple moving average of closes crosses above a slow
  one, flat when it crosses back below.
- ``vn_order_flow`` (Vietnam): enters on sustained active-buy imbalance during continuous
  trading, exits in the closing auction (ATC) once the shares are sellable (T+2).

Registered by the plugin manager like any third-party plugin.
"""

from __future__ import annotations

from plugins import hookimpl


@hookimpl
def register_strategies() -> list[type]:
    """The ``sma_crossover`` and ``vn_order_flow`` strategies."""
    from plugins.strategies.order_flow import OrderFlowStrategy
    from plugins.strategies.sma_crossover import SmaCrossover

    return [SmaCrossover, OrderFlowStrategy]
