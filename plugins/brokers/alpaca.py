"""The ``alpaca_paper`` broker: orders on Alpaca's paper-trading account through alpaca-py.

REST through ``alpaca.trading.TradingClient`` (account, positions, orders), fills through the
``trade_updates`` websocket (``alpaca.trading.stream.TradingStream``) running in a daemon
thread; every outcome goes to the engine with ``BrokerContext.report`` (thread-safe: the engine
applies reports at its next event). Settings: ``ALPACA_API_KEY`` / ``ALPACA_SECRET_KEY`` and
``ALPACA_TRADING_URL`` / ``ALPACA_TRADING_STREAM_URL`` (``plugins/sources/alpaca/settings.py``);
read in ``start``, never at import or construction. Credentials never reach a message.

Identity: sessiond's order id is sent as Alpaca's ``client_order_id``; Alpaca's order id is
reported back and stored beside ours. Alpaca refuses a second order with the same client id, so
re-submitting after a restart cannot create a duplicate: the existing order is adopted.

Start (reconciliation): the account's cash, its positions and its open orders are read; open
orders whose client id the engine knows (``ctx.known_orders()``) are ours and are returned in
the snapshot, others are counted and left alone; known orders that closed while sessiond was
away are fetched and their fills and final status reported.

Reconnects: alpaca-py reconnects the stream by itself; after every reconnect (and at stop) this
broker fetches each of its open orders again and reports what the stream missed — a fill as the
difference between Alpaca's cumulative ``filled_qty`` / ``filled_avg_price`` and what was
reported, then the final status. Every fill report carries the order's cumulative quantity, so
the engine drops anything it has already booked: no fill is counted twice.

Fees: Alpaca reports no commission; the engine applies the run's fee model (``us_default``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from core.errors import BrokerError
from core.orders import Fill, Order, OrderEvent, OrderSide, OrderType, to_decimal
from plugins.brokers.base import BrokerBase
from plugins.interfaces import BrokerContext, BrokerPosition, BrokerSnapshot

log = logging.getLogger(__name__)

_EVENTS: dict[str, OrderEvent] = {
    "new": OrderEvent.ACCEPTED,
    "accepted": OrderEvent.ACCEPTED,
    "pending_new": OrderEvent.ACCEPTED,
    "partial_fill": OrderEvent.PARTIAL_FILL,
    "fill": OrderEvent.FILL,
    "pending_cancel": OrderEvent.PENDING_CANCEL,
    "canceled": OrderEvent.CANCELED,
    "expired": OrderEvent.EXPIRED,
    "rejected": OrderEvent.REJECTED,
    "replaced": OrderEvent.REPLACED,
}
"""Trade-update events that move an order; the others (``pending_replace``, ``restated``,
``done_for_day``, ``calculated``) change nothing sessiond tracks."""

_FINAL_STATUS: dict[str, OrderEvent] = {
    "filled": OrderEvent.FILL,
    "canceled": OrderEvent.CANCELED,
    "expired": OrderEvent.EXPIRED,
    "rejected": OrderEvent.REJECTED,
    "replaced": OrderEvent.REPLACED,
    "done_for_day": OrderEvent.EXPIRED,
}

SUBMIT_ATTEMPTS = 3
"""Network failures of an order submission are retried this often (safe: the client order id
makes a repeat a no-op)."""


def _value(raw: Any) -> str:
    return str(getattr(raw, "value", raw))


class AlpacaPaperBroker(BrokerBase):
    """Alpaca paper trading (see the module docstring). ``exchange`` must be a US calendar."""

    name: ClassVar[str] = "alpaca_paper"
    description: ClassVar[str] = (
        "Alpaca paper trading: orders via TradingClient, fills via the trade_updates stream"
    )
    simulated: ClassVar[bool] = False

    def __init__(
        self,
        exchange: str,
        trading_url: str | None = None,
        trading_stream_url: str | None = None,
        stop_timeout_seconds: float = 10.0,
        reconnect_wait_seconds: float = 1.0,
    ) -> None:
        self.exchange = exchange
        self.reconnect_wait_seconds = reconnect_wait_seconds
        self._trading_url = trading_url
        self._stream_url = trading_stream_url
        self.stop_timeout_seconds = stop_timeout_seconds
        self._ctx: BrokerContext | None = None
        self._client: Any = None
        self._stream: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._orders: dict[str, Order] = {}  # ours, by client order id
        self._broker_ids: dict[str, str] = {}  # client order id -> Alpaca order id
        self._client_ids: dict[str, str] = {}  # Alpaca order id -> client order id
        self._reported: dict[str, tuple[int, Decimal]] = {}  # filled qty, filled value
        self._closed: set[str] = set()
        self.connections = 0
        """How many times the trade-updates stream (re)connected (tests read it)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, ctx: BrokerContext) -> BrokerSnapshot:
        from alpaca.common.exceptions import APIError
        from alpaca.trading.client import TradingClient
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        from plugins.sources.alpaca.settings import load_alpaca_settings

        settings = load_alpaca_settings(
            trading_url=self._trading_url, trading_stream_url=self._stream_url
        )
        key, secret = settings.credentials()
        self._ctx = ctx
        self._client = TradingClient(
            key, secret, paper=True, url_override=settings.trading_base_url
        )
        try:
            account = self._client.get_account()
            positions = self._client.get_all_positions()
            open_orders = self._client.get_orders(
                GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500)
            )
        except (APIError, OSError) as error:
            raise BrokerError(
                f"alpaca_paper: cannot read the account: {_describe(error)}"
            ) from None
        known = {order.order_id: order for order in ctx.known_orders()}
        snapshot_orders, filled, foreign = [], {}, 0
        open_ids = set()
        for venue in open_orders:
            client_id = venue.client_order_id
            order = known.get(client_id)
            if order is None:
                foreign += 1
                continue
            open_ids.add(client_id)
            self._track(order, str(venue.id))
            quantity, value = _filled(venue)
            self._reported[client_id] = (quantity, value)
            snapshot_orders.append(order)
            filled[client_id] = quantity
        self._start_stream(key, secret, settings.trading_stream_endpoint)
        for client_id, order in known.items():
            if client_id not in open_ids:
                self._track(order, None)
                self._refresh(client_id)
        return BrokerSnapshot(
            cash=to_decimal(account.cash) if account.cash is not None else None,
            positions=tuple(
                BrokerPosition(
                    p.symbol,
                    int(Decimal(p.qty)) * (-1 if _value(p.side) == "short" else 1),
                    to_decimal(p.avg_entry_price),
                )
                for p in positions
            ),
            orders=tuple(snapshot_orders),
            filled=filled,
            broker_ids={cid: self._broker_ids[cid] for cid in open_ids},
            foreign_orders=foreign,
        )

    def stop(self) -> None:
        """Fetch every order still open (what the stream had not delivered yet is reported),
        then close the stream."""
        if self._client is not None and self._ctx is not None:
            with self._lock:
                open_ids = [cid for cid in self._orders if cid not in self._closed]
            for client_id in open_ids:
                self._refresh(client_id)
        stream, thread = self._stream, self._thread
        self._stream = self._thread = None
        if stream is not None:
            loop = stream._loop  # alpaca-py keeps its loop private; stop() needs it running
            try:
                if loop is not None and loop.is_running():
                    stream.stop()  # no reconnect from now on
                    # close the socket so the stream's 5 s receive wait ends at once
                    asyncio.run_coroutine_threadsafe(stream.close(), loop).result(5)
            except Exception:  # the loop may be closing already
                log.debug("alpaca trade stream stop", exc_info=True)
        if thread is not None:
            thread.join(self.stop_timeout_seconds)

    # -- orders ------------------------------------------------------------------------------

    def submit(self, order: Order) -> None:
        from alpaca.common.exceptions import APIError

        self._track(order, None)
        request = self._request(order)
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            try:
                venue = self._client.submit_order(request)
            except APIError as error:
                if error.status_code == 422 and "client_order_id" in str(error):
                    log.info("order %s already at Alpaca: adopting it", order.order_id)
                    self._refresh(order.order_id)
                    return
                self._report(
                    order.order_id, OrderEvent.REJECTED, self._now(), reason=_describe(error)
                )
                return
            except OSError as error:
                if attempt == SUBMIT_ATTEMPTS:
                    self._report(
                        order.order_id, OrderEvent.REJECTED, self._now(), reason=_describe(error)
                    )
                    return
                time.sleep(0.2 * attempt)
                continue
            broker_id = str(venue.id)
            self._track(order, broker_id)
            self._report(
                order.order_id, OrderEvent.ACCEPTED, self._now(), broker_order_id=broker_id
            )
            return

    def cancel(self, order_id: str) -> None:
        from alpaca.common.exceptions import APIError

        broker_id = self._broker_ids.get(order_id)
        if broker_id is None:
            return
        try:
            self._client.cancel_order_by_id(broker_id)
        except APIError as error:  # 422: already filled or cancelled; the stream says which
            log.info("cancel of %s refused by Alpaca: %s", order_id, _describe(error))

    def replace(self, order: Order, new_order: Order) -> None:
        from alpaca.common.exceptions import APIError
        from alpaca.trading.requests import ReplaceOrderRequest

        broker_id = self._broker_ids.get(order.order_id)
        self._track(new_order, None)
        if broker_id is None:
            self._report(
                new_order.order_id, OrderEvent.REJECTED, self._now(), reason="unknown order"
            )
            return
        request = ReplaceOrderRequest(
            qty=new_order.quantity,
            limit_price=_float(new_order.limit_price),
            stop_price=_float(new_order.stop_price),
            client_order_id=new_order.order_id,
        )
        try:
            venue = self._client.replace_order_by_id(broker_id, request)
        except APIError as error:
            self._report(
                new_order.order_id, OrderEvent.REJECTED, self._now(), reason=_describe(error)
            )
            return
        new_id = str(venue.id)
        self._track(new_order, new_id)
        now = self._now()
        self._report(order.order_id, OrderEvent.REPLACED, now, new_order_id=new_order.order_id)
        self._report(new_order.order_id, OrderEvent.ACCEPTED, now, broker_order_id=new_id)

    # market data: fills come from Alpaca, not from the session's data (BrokerBase ignores it)

    # -- the trade-updates stream -------------------------------------------------------------

    def _start_stream(self, key: str, secret: str, url: str) -> None:
        from alpaca.trading.stream import TradingStream

        broker = self

        class _Stream(TradingStream):  # type: ignore[misc]
            """alpaca-py's stream, telling the broker each time it (re)connects."""

            async def _start_ws(self) -> None:
                await super()._start_ws()
                await asyncio.get_running_loop().run_in_executor(None, broker._connected)

        self._stream = _Stream(key, secret, paper=True, url_override=url)
        # first reconnect wait (alpaca-py backs off from here up to 30 s); no public setter
        self._stream._reconnect_min_backoff = self.reconnect_wait_seconds
        self._stream.subscribe_trade_updates(self._on_trade_update)
        self._thread = threading.Thread(
            target=self._stream.run, name="alpaca-trade-updates", daemon=True
        )
        self._thread.start()

    def _connected(self) -> None:
        with self._lock:
            self.connections += 1
            reconnect = self.connections > 1
            open_ids = [cid for cid in self._orders if cid not in self._closed]
        if reconnect:
            log.info("alpaca trade stream reconnected: reconciling %d open orders", len(open_ids))
            for client_id in open_ids:
                self._refresh(client_id)

    async def _on_trade_update(self, update: Any) -> None:
        try:
            self._handle_update(update)
        except Exception:  # one bad message never stops the stream
            log.exception("alpaca trade update not understood")

    def _handle_update(self, update: Any) -> None:
        venue = update.order
        client_id = venue.client_order_id
        event = _EVENTS.get(_value(update.event))
        if event is None or client_id not in self._orders:
            return
        if str(venue.id) != self._broker_ids.get(client_id):
            self._track(self._orders[client_id], str(venue.id))
        ts = update.timestamp
        if event in (OrderEvent.PARTIAL_FILL, OrderEvent.FILL):
            self._report_fill(
                client_id,
                venue,
                ts,
                execution_id=str(update.execution_id) if update.execution_id else None,
                quantity=update.qty,
                price=update.price,
                final=event is OrderEvent.FILL,
            )
            return
        fields: dict[str, Any] = {"broker_order_id": str(venue.id)}
        if event is OrderEvent.REPLACED and venue.replaced_by is not None:
            fields["new_order_id"] = self._client_ids.get(str(venue.replaced_by))
        if event in (OrderEvent.REJECTED, OrderEvent.CANCELED, OrderEvent.EXPIRED):
            fields["reason"] = f"alpaca: {_value(update.event)}"
        self._close_if_final(client_id, event)
        self._report(client_id, event, ts, **fields)

    # -- reconciliation ------------------------------------------------------------------------

    def _refresh(self, client_id: str) -> None:
        """Fetch one of our orders and report what sessiond has not heard about yet."""
        from alpaca.common.exceptions import APIError

        try:
            venue = self._client.get_order_by_client_id(client_id)
        except (APIError, OSError) as error:
            log.warning("cannot refresh order %s from Alpaca: %s", client_id, _describe(error))
            return
        self._track(self._orders[client_id], str(venue.id))
        ts = venue.updated_at or self._now()
        status = _value(venue.status)
        quantity, _ = _filled(venue)
        reported = self._reported.get(client_id, (0, Decimal(0)))[0]
        if quantity > reported:
            self._report_fill(
                client_id,
                venue,
                ts,
                execution_id=None,
                quantity=None,
                price=None,
                final=status == "filled",
            )
        elif status in ("new", "accepted", "pending_new", "partially_filled"):
            self._report(client_id, OrderEvent.ACCEPTED, ts, broker_order_id=str(venue.id))
        final = _FINAL_STATUS.get(status)
        if final is not None and final is not OrderEvent.FILL:
            fields: dict[str, Any] = {
                "broker_order_id": str(venue.id),
                "reason": f"alpaca: {status}",
            }
            if final is OrderEvent.REPLACED and venue.replaced_by is not None:
                fields["new_order_id"] = self._client_ids.get(str(venue.replaced_by))
            self._close_if_final(client_id, final)
            self._report(client_id, final, ts, **fields)

    def _report_fill(
        self,
        client_id: str,
        venue: Any,
        ts: datetime,
        *,
        execution_id: str | None,
        quantity: Any,
        price: Any,
        final: bool,
    ) -> None:
        """Report the part of the order's cumulative fill that was not reported yet."""
        total_quantity, total_value = _filled(venue)
        with self._lock:
            done_quantity, done_value = self._reported.get(client_id, (0, Decimal(0)))
            if total_quantity <= done_quantity:
                return
            missing = total_quantity - done_quantity
            if price is not None and quantity is not None and int(float(quantity)) == missing:
                fill_price = to_decimal(price)
            else:  # several executions missed: their average from the cumulative figures
                fill_price = ((total_value - done_value) / missing).quantize(Decimal("0.000001"))
            self._reported[client_id] = (total_quantity, done_value + fill_price * missing)
        order = self._orders[client_id]
        fill = Fill(
            fill_id=execution_id or f"{client_id}.q{total_quantity}",
            order_id=client_id,
            symbol=order.symbol,
            side=order.side,
            quantity=missing,
            price=fill_price,
            ts_event=ts,
        )
        event = (
            OrderEvent.FILL
            if final or total_quantity >= order.quantity
            else OrderEvent.PARTIAL_FILL
        )
        if event is OrderEvent.FILL:
            self._close_if_final(client_id, event)
        self._report(
            client_id,
            event,
            ts,
            fill=fill,
            filled_quantity=total_quantity,
            broker_order_id=str(venue.id),
        )

    # -- helpers -------------------------------------------------------------------------------

    def _track(self, order: Order, broker_id: str | None) -> None:
        with self._lock:
            self._orders[order.order_id] = order
            if broker_id is not None:
                self._broker_ids[order.order_id] = broker_id
                self._client_ids[broker_id] = order.order_id

    def _close_if_final(self, client_id: str, event: OrderEvent) -> None:
        if event in (
            OrderEvent.FILL,
            OrderEvent.CANCELED,
            OrderEvent.EXPIRED,
            OrderEvent.REJECTED,
            OrderEvent.REPLACED,
        ):
            with self._lock:
                self._closed.add(client_id)

    def _request(self, order: Order) -> Any:
        from alpaca.trading.enums import OrderSide as AlpacaSide
        from alpaca.trading.enums import TimeInForce as AlpacaTif
        from alpaca.trading.requests import (
            LimitOrderRequest,
            MarketOrderRequest,
            StopLimitOrderRequest,
            StopOrderRequest,
        )

        common = {
            "symbol": order.symbol,
            "qty": order.quantity,
            "side": AlpacaSide.BUY if order.side is OrderSide.BUY else AlpacaSide.SELL,
            "time_in_force": AlpacaTif(order.time_in_force.value),
            "client_order_id": order.order_id,
        }
        kind = order.order_type
        if kind is OrderType.MARKET:
            return MarketOrderRequest(**common)
        if kind is OrderType.LIMIT:
            return LimitOrderRequest(limit_price=_float(order.limit_price), **common)
        if kind is OrderType.STOP:
            return StopOrderRequest(stop_price=_float(order.stop_price), **common)
        if kind is OrderType.STOP_LIMIT:
            return StopLimitOrderRequest(
                stop_price=_float(order.stop_price), limit_price=_float(order.limit_price), **common
            )
        raise BrokerError(f"alpaca_paper: {kind.value} orders are not supported by Alpaca")


def _filled(venue: Any) -> tuple[int, Decimal]:
    quantity = int(Decimal(str(venue.filled_qty or 0)))
    price = venue.filled_avg_price
    value = to_decimal(str(price)) * quantity if price not in (None, "") else Decimal(0)
    return quantity, value


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _describe(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    text = " ".join(str(error).split())[:200]
    return f"HTTP {status}: {text}" if status else f"{type(error).__name__}: {text}"
