"""Orders inside the engine: their state table and the book of a run's orders.

An order's status changes only through :data:`ORDER_TRANSITIONS`, ``(status, event) ->
status``, applied by :class:`OrderLifecycle` (``daemon.lifecycle.StateMachine``)::

    submitted ─accepted──────▶ accepted ─partial_fill─▶ partially_filled ─fill─▶ filled
        │                         │  └─fill──────────────────────────────────────▶ filled
        │ (venues may skip the ack: fill / partial_fill / canceled / expired from submitted)
        ├─rejected─▶ rejected     ├─pending_cancel─▶ pending_cancel ─canceled─▶ canceled
        │                         ├─canceled─▶ canceled    ├─expired─▶ expired
        │                         └─replaced─▶ replaced (a new order replaces it)

An order that fails a pre-trade check is born ``rejected`` and never reaches the broker.
Repeated reports (a live broker re-sending an ack or a fill after a reconnect) are recognised
and ignored: an ``accepted`` after the order moved on, a fill whose cumulative quantity the
order already has. Anything else off the table raises ``InvalidTransition``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from core.orders import Order, OrderEvent, OrderSide, OrderStatus, RejectReason
from daemon.lifecycle import StateMachine

_S, _E = OrderStatus, OrderEvent
_AVERAGE_QUANTUM = Decimal("0.000001")

ORDER_TRANSITIONS: dict[tuple[OrderStatus, OrderEvent], OrderStatus] = {
    (_S.SUBMITTED, _E.ACCEPTED): _S.ACCEPTED,
    (_S.SUBMITTED, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.SUBMITTED, _E.FILL): _S.FILLED,
    (_S.SUBMITTED, _E.REJECTED): _S.REJECTED,
    (_S.SUBMITTED, _E.CANCELED): _S.CANCELED,
    (_S.SUBMITTED, _E.EXPIRED): _S.EXPIRED,
    (_S.SUBMITTED, _E.PENDING_CANCEL): _S.PENDING_CANCEL,
    (_S.ACCEPTED, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.ACCEPTED, _E.FILL): _S.FILLED,
    (_S.ACCEPTED, _E.PENDING_CANCEL): _S.PENDING_CANCEL,
    (_S.ACCEPTED, _E.CANCELED): _S.CANCELED,
    (_S.ACCEPTED, _E.EXPIRED): _S.EXPIRED,
    (_S.ACCEPTED, _E.REPLACED): _S.REPLACED,
    (_S.ACCEPTED, _E.REJECTED): _S.REJECTED,
    (_S.PARTIALLY_FILLED, _E.PARTIAL_FILL): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _E.FILL): _S.FILLED,
    (_S.PARTIALLY_FILLED, _E.PENDING_CANCEL): _S.PENDING_CANCEL,
    (_S.PARTIALLY_FILLED, _E.CANCELED): _S.CANCELED,
    (_S.PARTIALLY_FILLED, _E.EXPIRED): _S.EXPIRED,
    (_S.PARTIALLY_FILLED, _E.REPLACED): _S.REPLACED,
    (_S.PENDING_CANCEL, _E.PARTIAL_FILL): _S.PENDING_CANCEL,
    (_S.PENDING_CANCEL, _E.FILL): _S.FILLED,
    (_S.PENDING_CANCEL, _E.CANCELED): _S.CANCELED,
    (_S.PENDING_CANCEL, _E.EXPIRED): _S.EXPIRED,
    (_S.PENDING_CANCEL, _E.REPLACED): _S.REPLACED,
}
"""Every legal status change of an order (see the module docstring)."""

FINAL_STATUSES: frozenset[OrderStatus] = frozenset(
    {_S.FILLED, _S.CANCELED, _S.EXPIRED, _S.REJECTED, _S.REPLACED}
)
"""Statuses an order never leaves."""


_REPEATS: dict[OrderEvent, OrderStatus] = {
    _E.CANCELED: _S.CANCELED,
    _E.EXPIRED: _S.EXPIRED,
    _E.REJECTED: _S.REJECTED,
    _E.REPLACED: _S.REPLACED,
}


class OrderLifecycle(StateMachine):
    """The status of one order, changed only through :data:`ORDER_TRANSITIONS`."""

    table = ORDER_TRANSITIONS
    terminal = FINAL_STATUSES


class ManagedOrder:
    """An order and what happened to it: status, fills so far, the broker's id, the reason of a
    rejection or cancel, and the buying power it reserves while open (buys only)."""

    __slots__ = (
        "order",
        "lifecycle",
        "filled",
        "fill_value",
        "reason",
        "broker_order_id",
        "updated_at",
        "reserved",
        "reject_reason",
        "events",
    )

    def __init__(
        self,
        order: Order,
        status: OrderStatus = OrderStatus.SUBMITTED,
        *,
        reason: str = "",
        reserved: Decimal = Decimal(0),
        reject_reason: RejectReason | None = None,
    ) -> None:
        self.order = order
        self.reject_reason = reject_reason
        self.lifecycle = OrderLifecycle(f"order {order.order_id}", status)
        self.filled = 0
        self.fill_value = Decimal(0)
        self.reason = reason
        self.broker_order_id: str | None = None
        self.updated_at: datetime = order.created_at
        self.reserved = reserved
        self.events: list[tuple[OrderStatus, datetime, str]] = [(status, order.created_at, reason)]

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def status(self) -> OrderStatus:
        return self.lifecycle.state  # type: ignore[no-any-return]

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_STATUSES

    @property
    def remaining(self) -> int:
        return self.order.quantity - self.filled

    @property
    def average_price(self) -> Decimal | None:
        if not self.filled:
            return None
        return (self.fill_value / self.filled).quantize(_AVERAGE_QUANTUM)

    def signed_remaining(self) -> int:
        return self.remaining if self.order.side is OrderSide.BUY else -self.remaining

    def apply(self, event: OrderEvent, ts: datetime, reason: str = "") -> bool:
        """Move by ``event``; False (nothing changes) for a repeated acknowledgement."""
        if event is OrderEvent.ACCEPTED and self.status is not OrderStatus.SUBMITTED:
            return False
        if event is OrderEvent.PENDING_CANCEL and self.status is OrderStatus.PENDING_CANCEL:
            return False
        if _REPEATS.get(event) is self.status:  # a final report heard twice
            return False
        status = self.lifecycle.apply(event, reason)
        self.updated_at = ts
        if reason:
            self.reason = reason
        self.events.append((status, ts, reason))
        return True


class OrderBook:
    """Every order of a run by id, and the open ones by symbol."""

    def __init__(self) -> None:
        self._orders: dict[str, ManagedOrder] = {}
        self._open: dict[str, ManagedOrder] = {}

    def __len__(self) -> int:
        return len(self._orders)

    def __iter__(self) -> Iterator[ManagedOrder]:
        return iter(self._orders.values())

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def get(self, order_id: str) -> ManagedOrder | None:
        return self._orders.get(order_id)

    def add(self, managed: ManagedOrder) -> None:
        self._orders[managed.order_id] = managed
        if managed.is_open:
            self._open[managed.order_id] = managed

    def closed(self, managed: ManagedOrder) -> None:
        self._open.pop(managed.order_id, None)

    def open_orders(self, symbol: str | None = None) -> list[ManagedOrder]:
        if symbol is None:
            return list(self._open.values())
        return [m for m in self._open.values() if m.order.symbol == symbol]

    def pending_quantity(self, symbol: str, side: OrderSide) -> int:
        """Unfilled quantity of open orders of ``symbol`` on ``side``."""
        return sum(
            m.remaining
            for m in self._open.values()
            if m.order.symbol == symbol and m.order.side is side
        )

    def reserved(self) -> Decimal:
        """Buying power held by open buy orders."""
        return sum((m.reserved for m in self._open.values()), Decimal(0))
