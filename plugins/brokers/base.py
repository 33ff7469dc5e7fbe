"""What the built-in brokers share: reporting to the engine, and market-data callbacks that do
nothing unless a broker needs them (the Broker contract requires every method)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from core.models import Bar, Quote, Trade
from core.orders import OrderEvent, OrderUpdate
from plugins.interfaces import BrokerContext


class BrokerBase:
    """Holds the ``BrokerContext`` from ``start`` and reports through it. Subclasses override
    the market-data callbacks they use; the rest ignore the event."""

    _ctx: BrokerContext | None = None

    def on_bar(self, bar: Bar) -> None:
        return

    def on_trade(self, trade: Trade) -> None:
        return

    def on_quote(self, quote: Quote) -> None:
        return

    def on_phase(self, phase: Any) -> None:
        return

    def on_day_start(self, trading_date: date) -> None:
        return

    def on_day_end(self, trading_date: date) -> None:
        return

    def _now(self) -> datetime:
        assert self._ctx is not None, "start the broker first"
        return self._ctx.now()

    def _report(self, order_id: str, event: OrderEvent, ts: datetime, **fields: Any) -> None:
        assert self._ctx is not None, "start the broker first"
        self._ctx.report(OrderUpdate(order_id, event, ts, **fields))
