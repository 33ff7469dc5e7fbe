"""``rsi_reversion``: buy when the RSI of closes is oversold, sell when it is overbought.

A long-only mean-reversion template for Vietnamese boards: it keeps one ``RsiIndicator``
(this package's) per symbol, fed every bar of ``interval``. Below ``oversold`` it buys
``lots`` board lots at the market when flat; above ``overbought`` it sells what is sellable
(shares bought on T settle T+2, so a fresh position waits). Orders go through the engine's
pre-trade checks like any other (lot size, price band, buying power ...).
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.orders import OrderRequest
from sessiond_vn_extras.indicator import RsiIndicator


class RsiReversionStrategy:
    """Oversold buys, overbought sells (see the module docstring)."""

    name: ClassVar[str] = "rsi_reversion"
    description: ClassVar[str] = "Buys when RSI is oversold, sells (settled shares) when overbought"

    def __init__(
        self,
        period: int = 14,
        oversold: float = 30.0,
        overbought: float = 70.0,
        lots: int = 1,
        interval: str = "1m",
    ) -> None:
        if not 0 < oversold < overbought < 100:
            raise ValueError(
                f"need 0 < oversold < overbought < 100, were {oversold!r} and {overbought!r}"
            )
        if lots < 1:
            raise ValueError(f"lots must be >= 1, was {lots!r}")
        self.period = period
        self.oversold = oversold
        self.overbought = overbought
        self.lots = lots
        self.intervals = (interval,)
        self.ctx: Any = None
        self._rsi: dict[str, RsiIndicator] = {}

    def on_start(self, ctx: Any) -> None:
        self.ctx = ctx
        self._rsi = {s: RsiIndicator(name="rsi", period=self.period) for s in ctx.symbols}

    def on_bar(self, bar: Any) -> None:
        value = self._rsi[bar.symbol].update(bar)
        ctx = self.ctx
        if value is None or ctx.open_orders(bar.symbol):
            return
        held = ctx.portfolio.quantity(bar.symbol)
        if value < self.oversold and held == 0:
            quantity = self.lots * ctx.lot_size
            ctx.submit(OrderRequest.market(bar.symbol, "buy", quantity, tag=f"rsi {value:.0f}"))
        elif value > self.overbought and held > 0:
            sellable = ctx.portfolio.position(bar.symbol).sellable
            if sellable:
                ctx.submit(
                    OrderRequest.market(bar.symbol, "sell", sellable, tag=f"rsi {value:.0f}")
                )
