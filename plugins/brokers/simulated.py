"""The ``simulated`` broker: fills orders from the session's own market data.

Used by backtests (the default ``api_config.trade_api``) and by live Vietnamese sessions (SSI
FastConnect Data has no order entry, so orders are simulated on the live feed). It starts flat
with the config's ``starting_cash`` and reports every outcome through the engine's
``BrokerContext.report``, synchronously inside the call that caused it.

Life of an order: ``submit`` -> ``accepted`` at once; it then rests until the fill model
(``plugins.brokers.fills``) fills it on market data that arrived **after** the submission —
on bars, only bars that open after the last bar seen at submission time (an order sent while
handling the 10:00 bar, i.e. at its 10:01 close, can first fill on the 10:01 bar); on trades,
only trades delivered after it. Time in force: ``ioc`` orders get one chance (the first
eligible bar or trade) and their remainder is cancelled; ``day`` orders still open at the day's
end expire; ``gtc`` orders rest across days until filled or cancelled.

Auction orders (HOSE): ``ato`` fills in full at the opening print — the first trade of the
``ATO`` session, or on bars the open of the first eligible bar; ``atc`` at the closing print —
the ``ATC`` session's trade, or at the day's end the last price seen (on bars, the last bar's
close), timestamped at that last bar. ``mp`` behaves as a market order.

Options (``api_config.trade_api_options``): ``fill_model`` (``"bars"``), ``fill_on``
(``"auto"``: trades when the session streams trades, else bars; ``"bars"``; ``"trades"``),
``slippage_ticks`` (default 0), ``volume_participation`` (default none: no cap).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Literal

from core.models import Bar, Trade
from core.orders import (
    Fill,
    Order,
    OrderEvent,
    OrderType,
    TimeInForce,
    to_decimal,
)
from plugins.brokers.base import BrokerBase
from plugins.brokers.fills import BarFillModel
from plugins.interfaces import BrokerContext, BrokerSnapshot

log = logging.getLogger(__name__)

FILL_MODELS: dict[str, type] = {"bars": BarFillModel}
"""Built-in fill models by ``fill_model`` option name."""


class _Working:
    """A resting order inside the broker: the order, what is left, and its trigger state."""

    __slots__ = (
        "order",
        "order_id",
        "symbol",
        "side",
        "order_type",
        "time_in_force",
        "limit_price",
        "stop_price",
        "remaining",
        "filled",
        "fills",
        "triggered",
        "after_ts",
        "after_seq",
    )

    def __init__(self, order: Order, after_ts: datetime | None, after_seq: int) -> None:
        self.order = order
        self.order_id = order.order_id
        self.symbol = order.symbol
        self.side = order.side
        self.order_type = order.order_type
        self.time_in_force = order.time_in_force
        self.limit_price = order.limit_price
        self.stop_price = order.stop_price
        self.remaining = order.quantity
        self.filled = 0
        self.fills = 0
        self.triggered = False
        self.after_ts = after_ts
        self.after_seq = after_seq


class SimulatedBroker(BrokerBase):
    """Simulated execution on the session's bars or trades (see the module docstring)."""

    name: ClassVar[str] = "simulated"
    description: ClassVar[str] = (
        "Simulated fills on the session's bars/trades: next-bar-open market orders, touch and "
        "gap-through limits and stops, slippage, volume cap, auctions"
    )
    simulated: ClassVar[bool] = True
    fill_model_class: ClassVar[type | None] = None
    """Subclasses set a custom fill model class (``cls(exchange, **fill_options)``)."""

    def __init__(
        self,
        exchange: str,
        fill_model: str = "bars",
        fill_on: Literal["auto", "bars", "trades"] = "auto",
        slippage_ticks: int = 0,
        volume_participation: float | None = None,
    ) -> None:
        if fill_on not in ("auto", "bars", "trades"):
            raise ValueError(f"fill_on must be 'auto', 'bars' or 'trades', was {fill_on!r}")
        cls = self.fill_model_class or FILL_MODELS.get(fill_model)
        if cls is None:
            known = ", ".join(sorted(FILL_MODELS))
            raise ValueError(f"unknown fill_model {fill_model!r} (known: {known})")
        self.exchange = exchange
        self.fill_on = fill_on
        self.model = cls(
            exchange, slippage_ticks=slippage_ticks, volume_participation=volume_participation
        )
        self._ctx: BrokerContext | None = None
        self._on_trades = False
        self._by_symbol: dict[str, list[_Working]] = {}
        self._by_id: dict[str, _Working] = {}
        self._last_ts: datetime | None = None
        self._seq = 0
        self._last_price: dict[str, float] = {}
        self._last_bar_ts: dict[str, datetime] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, ctx: BrokerContext) -> BrokerSnapshot:
        self._ctx = ctx
        streams = tuple(getattr(ctx, "streams", ()) or ())
        self._on_trades = self.fill_on == "trades" or (
            self.fill_on == "auto" and "trades" in streams
        )
        return BrokerSnapshot()

    def stop(self) -> None:
        self._ctx = None

    # -- orders ------------------------------------------------------------------------------

    def submit(self, order: Order) -> None:
        working = _Working(order, self._last_ts, self._seq)
        self._by_id[order.order_id] = working
        self._by_symbol.setdefault(order.symbol, []).append(working)
        self._report(order.order_id, OrderEvent.ACCEPTED, self._now())

    def cancel(self, order_id: str) -> None:
        working = self._by_id.get(order_id)
        if working is not None:
            self._remove(working)
            self._report(order_id, OrderEvent.CANCELED, self._now(), reason="cancelled on request")

    def replace(self, order: Order, new_order: Order) -> None:
        working = self._by_id.get(order.order_id)
        if working is None:
            self._report(
                new_order.order_id,
                OrderEvent.REJECTED,
                self._now(),
                reason=f"order {order.order_id} is no longer open",
            )
            return
        self._remove(working)
        self._report(
            order.order_id, OrderEvent.REPLACED, self._now(), new_order_id=new_order.order_id
        )
        self.submit(new_order)

    # -- market data -------------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> None:
        symbol = bar.symbol
        self._last_bar_ts[symbol] = bar.ts_event
        if self._on_trades:
            return
        self._last_price[symbol] = bar.close
        resting = self._by_symbol.get(symbol)
        if resting:
            self._fill_on_bar(bar, resting)
        self._last_ts = bar.ts_event

    def on_trade(self, trade: Trade) -> None:
        self._seq += 1
        symbol = trade.symbol
        if not self._on_trades:
            return
        self._last_price[symbol] = trade.price
        resting = self._by_symbol.get(symbol)
        if resting:
            self._fill_on_trade(trade, resting)

    def on_day_end(self, trading_date: date) -> None:
        now = self._now()
        for working in list(self._by_id.values()):
            if working.order_type is OrderType.ATC:
                price = self._last_price.get(working.symbol)
                if price is not None:
                    ts = self._last_bar_ts.get(working.symbol, now)
                    self._fill(working, to_decimal(price), working.remaining, ts)
                    continue
            if working.time_in_force is not TimeInForce.GTC:
                self._remove(working)
                self._report(
                    working.order_id, OrderEvent.EXPIRED, now, reason="day order expired at close"
                )

    # -- fills -------------------------------------------------------------------------------

    def _fill_on_bar(self, bar: Bar, resting: list[_Working]) -> None:
        ts = bar.ts_event
        for working in list(resting):
            if working.after_ts is not None and ts <= working.after_ts:
                continue
            kind = working.order_type
            if kind is OrderType.ATC:
                continue
            if kind is OrderType.ATO:
                self._fill(working, to_decimal(bar.open), working.remaining, ts)
                continue
            result = self.model.on_bar(working, bar, working.remaining)
            if result is not None:
                self._fill(working, result[0], result[1], ts)
            if working.time_in_force is TimeInForce.IOC and working.remaining > 0:
                self._cancel_remainder(working, ts)

    def _fill_on_trade(self, trade: Trade, resting: list[_Working]) -> None:
        ts = trade.ts_event
        session = trade.trading_session
        for working in list(resting):
            if self._seq <= working.after_seq:
                continue
            kind = working.order_type
            if kind is OrderType.ATC:
                if session == "ATC":
                    self._fill(working, to_decimal(trade.price), working.remaining, ts)
                continue
            if kind is OrderType.ATO:
                if session in ("ATO", None):
                    self._fill(working, to_decimal(trade.price), working.remaining, ts)
                continue
            result = self.model.on_trade(working, trade, working.remaining)
            if result is not None:
                self._fill(working, result[0], result[1], ts)
            if working.time_in_force is TimeInForce.IOC and working.remaining > 0:
                self._cancel_remainder(working, ts)

    def _fill(self, working: _Working, price: Decimal, quantity: int, ts: datetime) -> None:
        if quantity <= 0:
            return
        working.remaining -= quantity
        working.filled += quantity
        working.fills += 1
        fill = Fill(
            fill_id=f"{working.order_id}.{working.fills}",
            order_id=working.order_id,
            symbol=working.symbol,
            side=working.side,
            quantity=quantity,
            price=price,
            ts_event=ts,
        )
        done = working.remaining == 0
        if done:
            self._remove(working)
        self._report(
            working.order_id,
            OrderEvent.FILL if done else OrderEvent.PARTIAL_FILL,
            ts,
            fill=fill,
            filled_quantity=working.filled,
        )

    def _cancel_remainder(self, working: _Working, ts: datetime) -> None:
        self._remove(working)
        self._report(
            working.order_id,
            OrderEvent.CANCELED,
            ts,
            reason=f"IOC remainder of {working.remaining} cancelled",
        )

    def _remove(self, working: _Working) -> None:
        self._by_id.pop(working.order_id, None)
        resting = self._by_symbol.get(working.symbol)
        if resting is not None:
            resting.remove(working)
            if not resting:
                del self._by_symbol[working.symbol]
