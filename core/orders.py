"""Trading records that cross boundaries: what a strategy asks for, what a broker reports.

A strategy (``plugins.interfaces.Strategy``) submits an :class:`OrderRequest`; the engine
(``daemon.trading``) checks it, gives it an id and hands an :class:`Order` to the broker
(``plugins.interfaces.Broker``); the broker reports :class:`OrderUpdate` records (accepted,
fills, cancels, expiries, rejections), each fill as a :class:`Fill`. The engine applies them to
the portfolio, tells the strategy (``on_order``) and stores them (``daemon.trading.ledger``).

Money is :class:`~decimal.Decimal`, never float: prices as the exchange quotes them (a float
from a bar is converted with :func:`to_decimal`, i.e. through its shortest ``repr``, so 187.35
stays 187.35), amounts quantized to the currency's minor unit with :func:`quantize_money`
(VND 0 decimals, USD 2; half-up). Quantities are whole shares (``int``); fractional shares are
not supported. Timestamps are aware UTC.

These are frozen slotted dataclasses like ``core.models``: created in the hot loop, validated
where they enter (the engine's pre-trade checks, the broker parsers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

__all__ = [
    "CURRENCY_DECIMALS",
    "Fill",
    "Order",
    "OrderEvent",
    "OrderRequest",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "RejectReason",
    "TimeInForce",
    "quantize_money",
    "to_decimal",
]


class OrderSide(StrEnum):
    """Buy or sell."""

    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    """How an order is priced.

    ``market`` fills at the next price available; ``limit`` at ``limit_price`` or better;
    ``stop`` becomes a market order once the price touches ``stop_price``; ``stop_limit``
    becomes a limit order at ``limit_price`` once it touches ``stop_price``. HOSE also has
    ``ato`` / ``atc`` (at the opening / closing call auction's price) and ``mp`` (market price
    during continuous matching).
    """

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    ATO = "ato"
    ATC = "atc"
    MP = "mp"


class TimeInForce(StrEnum):
    """How long an order rests: the trading day, until cancelled, or immediately-or-cancel."""

    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"


class OrderStatus(StrEnum):
    """Where an order is (``daemon.trading.orders.ORDER_TRANSITIONS`` has the table).

    ``submitted``: passed the pre-trade checks and handed to the broker; ``accepted``: the
    broker acknowledged it (resting); ``pending_cancel``: a cancel was sent. ``filled``,
    ``canceled``, ``expired``, ``rejected`` and ``replaced`` are final.
    """

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    REPLACED = "replaced"


class OrderEvent(StrEnum):
    """What a broker reports about an order (the trigger of a status change)."""

    ACCEPTED = "accepted"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    REPLACED = "replaced"


class RejectReason(StrEnum):
    """Why an order was rejected before (or by) the broker; stored with the order.

    The engine's pre-trade checks use every value but ``broker``; ``broker`` is a rejection the
    broker reported (its text follows in the order's ``reason``).
    """

    INVALID_ORDER = "invalid_order"
    UNKNOWN_SYMBOL = "unknown_symbol"
    LOT_SIZE = "lot_size"
    TICK_SIZE = "tick_size"
    PRICE_BAND = "price_band"
    ORDER_TYPE = "order_type"
    MARKET_PHASE = "market_phase"
    SHORT_SELLING = "short_selling"
    UNSETTLED = "unsettled"
    BUYING_POWER = "buying_power"
    MAX_BUYING_POWER = "max_buying_power"
    MAX_PER_TRADE = "max_per_trade"
    MAX_PER_SYMBOL = "max_per_symbol"
    MAX_OPEN_POSITIONS = "max_open_positions"
    TRADING_STOPPED = "trading_stopped"
    BROKER = "broker"


CURRENCY_DECIMALS: dict[str, int] = {"USD": 2, "VND": 0}
"""Minor-unit decimals of the currencies sessiond accounts in (ISO 4217)."""

_QUANTUM: dict[str, Decimal] = {
    code: Decimal(1).scaleb(-n) for code, n in CURRENCY_DECIMALS.items()
}


def quantize_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the currency's minor unit (USD 12.345 -> 12.35)."""
    return amount.quantize(_QUANTUM[currency], rounding=ROUND_HALF_UP)


def to_decimal(value: Any) -> Decimal:
    """A price or amount as ``Decimal``: floats through their shortest repr (0.1 -> 0.1)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        return Decimal(value.strip())
    raise TypeError(f"{value!r} is not a number")


def _opt_decimal(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a strategy asks for. Build it with :meth:`market`, :meth:`limit`, :meth:`stop`,
    :meth:`stop_limit` or :meth:`auction`; prices may be given as float, int, str or Decimal
    and are kept as Decimal. ``tag`` is free text kept with the order (e.g. the signal)."""

    symbol: str
    side: OrderSide
    quantity: int
    order_type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tag: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", OrderSide(self.side))
        object.__setattr__(self, "order_type", OrderType(self.order_type))
        object.__setattr__(self, "time_in_force", TimeInForce(self.time_in_force))
        object.__setattr__(self, "limit_price", _opt_decimal(self.limit_price))
        object.__setattr__(self, "stop_price", _opt_decimal(self.stop_price))

    @classmethod
    def market(cls, symbol: str, side: str, quantity: int, **kw: Any) -> OrderRequest:
        return cls(symbol, OrderSide(side), quantity, OrderType.MARKET, **kw)

    @classmethod
    def limit(
        cls, symbol: str, side: str, quantity: int, limit_price: Any, **kw: Any
    ) -> OrderRequest:
        return cls(
            symbol, OrderSide(side), quantity, OrderType.LIMIT, limit_price=limit_price, **kw
        )

    @classmethod
    def stop(
        cls, symbol: str, side: str, quantity: int, stop_price: Any, **kw: Any
    ) -> OrderRequest:
        return cls(symbol, OrderSide(side), quantity, OrderType.STOP, stop_price=stop_price, **kw)

    @classmethod
    def stop_limit(
        cls,
        symbol: str,
        side: str,
        quantity: int,
        stop_price: Any,
        limit_price: Any,
        **kw: Any,
    ) -> OrderRequest:
        return cls(
            symbol,
            OrderSide(side),
            quantity,
            OrderType.STOP_LIMIT,
            stop_price=stop_price,
            limit_price=limit_price,
            **kw,
        )

    @classmethod
    def auction(
        cls, symbol: str, side: str, quantity: int, order_type: str, **kw: Any
    ) -> OrderRequest:
        """An ``ato``, ``atc`` or ``mp`` order (HOSE)."""
        return cls(symbol, OrderSide(side), quantity, OrderType(order_type), **kw)


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the engine hands it to a broker: the request plus its identity.

    ``order_id`` is sessiond's id (deterministic within a run, also the broker's client order
    id, so re-submitting after a restart cannot create a second order); ``created_at`` the
    engine time it was submitted; ``trading_date`` the exchange-local day.
    """

    order_id: str
    request: OrderRequest
    created_at: datetime
    trading_date: Any
    replaces: str | None = None

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def side(self) -> OrderSide:
        return self.request.side

    @property
    def quantity(self) -> int:
        return self.request.quantity

    @property
    def order_type(self) -> OrderType:
        return self.request.order_type

    @property
    def time_in_force(self) -> TimeInForce:
        return self.request.time_in_force

    @property
    def limit_price(self) -> Decimal | None:
        return self.request.limit_price

    @property
    def stop_price(self) -> Decimal | None:
        return self.request.stop_price


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. ``fill_id`` is unique per run (the broker's execution id when it has
    one); ``price`` per share; ``commission`` and ``tax`` in account currency, or None when the
    broker does not report them (the engine's fee model then computes them)."""

    fill_id: str
    order_id: str
    symbol: str
    side: OrderSide
    quantity: int
    price: Decimal
    ts_event: datetime
    commission: Decimal | None = None
    tax: Decimal | None = None

    @property
    def signed_quantity(self) -> int:
        return self.quantity if self.side is OrderSide.BUY else -self.quantity


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """What a broker reports about one order at ``ts_event``.

    ``fill`` is set for ``partial_fill`` / ``fill``; ``filled_quantity`` is the order's
    cumulative filled quantity after this update when the broker knows it (live brokers report
    it; the engine de-duplicates fills with it); ``reason`` explains rejections and cancels;
    ``broker_order_id`` is the broker's own id (stored beside ours); ``new_order_id`` names the
    replacing order of a ``replaced`` update.
    """

    order_id: str
    event: OrderEvent
    ts_event: datetime
    fill: Fill | None = None
    filled_quantity: int | None = None
    reason: str = ""
    broker_order_id: str | None = None
    new_order_id: str | None = None
