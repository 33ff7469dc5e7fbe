"""``vn_order_flow``: buy on sustained active-buy imbalance, sell in the closing auction.

Vietnamese traders watch "mua chủ động" / "bán chủ động": volume that lifted the ask (active
buy) against volume that hit the bid (active sell). This strategy counts both per symbol and
minute from the streamed trades (the engine's classification when it passes classified
trades, else the vendor's flag ``side``; auction and unclassified trades are ignored), and only
during continuous matching.

At each new minute of a symbol it looks back ``window_minutes``: when active buys were at
least ``threshold`` of the active volume, on at least ``min_active_volume`` shares, for
``sustain_minutes`` consecutive minutes, and the symbol is flat with no order working, it buys
(a market order, sized ``quantity`` or ``allocation`` of equity in board lots). Exits are ATC
orders sent when the closing auction starts, for the shares that are sellable — bought shares
settle T+2, so a position bought today is sold in the ATC of its second trading day after.

Parameters: ``window_minutes`` (default 15), ``threshold`` (default 0.65), ``min_active_volume``
(shares, default 20000), ``sustain_minutes`` (default 5), ``quantity`` (shares, default none),
``allocation`` (default 0.1). Needs the ``trades`` stream.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from core.orders import OrderRequest

_BUY, _SELL = "buy", "sell"


class _Flow:
    """One symbol's active volume: the current minute and the closed minutes of the window."""

    __slots__ = ("minute", "buy", "sell", "window", "streak", "last_price")

    def __init__(self, window: int) -> None:
        self.minute: datetime | None = None
        self.buy = 0.0
        self.sell = 0.0
        self.window: deque[tuple[float, float]] = deque(maxlen=window)
        self.streak = 0
        self.last_price = 0.0


class OrderFlowStrategy:
    """Active-buy imbalance entries, ATC exits (see the module docstring)."""

    name: ClassVar[str] = "vn_order_flow"
    description: ClassVar[str] = (
        "Vietnam: buy on sustained active-buy imbalance in continuous trading, sell in ATC"
    )

    def __init__(
        self,
        window_minutes: int = 15,
        threshold: float = 0.65,
        min_active_volume: float = 20_000,
        sustain_minutes: int = 5,
        quantity: int | None = None,
        allocation: float = 0.1,
    ) -> None:
        if not isinstance(window_minutes, int) or window_minutes < 1:
            raise ValueError(f"window_minutes must be a whole number >= 1, was {window_minutes!r}")
        if not isinstance(sustain_minutes, int) or sustain_minutes < 1:
            raise ValueError(
                f"sustain_minutes must be a whole number >= 1, was {sustain_minutes!r}"
            )
        if not 0.5 < threshold <= 1:
            raise ValueError(f"threshold must be in (0.5, 1], was {threshold!r}")
        if not 0 < allocation <= 1:
            raise ValueError(f"allocation must be in (0, 1], was {allocation!r}")
        self.window_minutes = window_minutes
        self.threshold = threshold
        self.min_active_volume = float(min_active_volume)
        self.sustain_minutes = sustain_minutes
        self.quantity = quantity
        self.allocation = Decimal(repr(float(allocation)))
        self.intervals: tuple[str, ...] = ()
        self.ctx: Any = None
        self._flows: dict[str, _Flow] = {}

    def on_start(self, ctx: Any) -> None:
        if "trades" not in ctx.streams:
            raise ValueError(
                'vn_order_flow needs trades: add "trades" to session_data_config.streams'
            )
        self.ctx = ctx
        self._flows = {symbol: _Flow(self.window_minutes) for symbol in ctx.symbols}

    def on_bar(self, bar: Any) -> None:
        return  # decisions are made on trades

    def on_day_start(self, trading_date: Any) -> None:
        for symbol in self._flows:
            self._flows[symbol] = _Flow(self.window_minutes)

    def on_trade(self, trade: Any) -> None:
        raw = getattr(trade, "trade", trade)
        flow = self._flows.get(raw.symbol)
        if flow is None:
            return
        minute = raw.ts_event.replace(second=0, microsecond=0)
        if minute != flow.minute:
            if flow.minute is not None:
                self._close_minute(raw.symbol, flow)
            flow.minute, flow.buy, flow.sell = minute, 0.0, 0.0
        flow.last_price = raw.price
        if self.ctx.phase != "continuous":
            return
        aggressor = getattr(trade, "aggressor", None) or raw.side
        if aggressor == _BUY:
            flow.buy += raw.volume
        elif aggressor == _SELL:
            flow.sell += raw.volume

    def _close_minute(self, symbol: str, flow: _Flow) -> None:
        flow.window.append((flow.buy, flow.sell))
        buys = sum(b for b, _ in flow.window)
        active = buys + sum(s for _, s in flow.window)
        if active >= self.min_active_volume and buys >= self.threshold * active:
            flow.streak += 1
        else:
            flow.streak = 0
        if flow.streak >= self.sustain_minutes and self.ctx.phase == "continuous":
            self._enter(symbol, flow.last_price)

    def _enter(self, symbol: str, price: float) -> None:
        ctx = self.ctx
        if ctx.portfolio.quantity(symbol) != 0 or ctx.open_orders(symbol) or price <= 0:
            return
        quantity = self.quantity
        if quantity is None:
            budget = ctx.portfolio.equity * self.allocation
            quantity = int(budget / Decimal(repr(price))) // ctx.lot_size * ctx.lot_size
        if quantity > 0:
            ctx.submit(OrderRequest.market(symbol, "buy", quantity, tag="active-buy imbalance"))

    def on_phase(self, change: Any) -> None:
        if getattr(change, "phase", change) != "atc":
            return
        ctx = self.ctx
        for position in ctx.portfolio.positions():
            if position.sellable > 0 and not ctx.open_orders(position.symbol):
                ctx.submit(
                    OrderRequest.auction(
                        position.symbol, "sell", position.sellable, "atc", tag="exit in ATC"
                    )
                )
