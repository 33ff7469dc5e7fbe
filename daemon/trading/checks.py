"""Pre-trade checks: every order passes them before it reaches a broker.

:func:`check_order` returns the buying power an accepted order holds, or raises
:class:`OrderRejected` with a ``RejectReason`` and a message; the engine stores a rejected order
with both and reports it to the strategy (``on_order``). In order:

1. ``invalid_order``: quantity not a whole number > 0, a price missing for the order type or
   not > 0, a symbol the session does not trade (``unknown_symbol``), no price known yet to
   value a market order.
2. ``order_type`` / ``market_phase``: the exchange lacks the type (ATO/ATC/MP are HOSE's), or
   the current phase does not take it (``daemon.trading.rules.ORDER_PHASES``).
3. ``lot_size``: Vietnamese boards trade round lots (100 shares).
4. ``tick_size`` / ``price_band``: limit and stop prices on the board's tick grid and inside
   the day's floor/ceiling around the reference price (the previous close seen).
5. sells: ``short_selling`` (more than held, less what open sells already take, where shorting
   is not allowed) and ``unsettled`` (more than the settled, sellable shares: T+2).
6. buys (and short sales): ``buying_power`` (cost plus estimated fees over cash less open buy
   reservations), and the ``trading_config`` limits ``max_buying_power`` (cost of long
   positions plus open buys plus this order), ``max_per_trade`` (this order's notional),
   ``max_per_symbol`` (the symbol's position plus open orders on the same side plus this
   order, at this price) and ``max_open_positions`` (symbols held or being bought).

Orders are valued at their limit price, else their stop price, else the last price seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.orders import (
    Fill,
    OrderRequest,
    OrderSide,
    OrderType,
    RejectReason,
    to_decimal,
)
from daemon.trading.orders import OrderBook
from daemon.trading.portfolio import Portfolio
from daemon.trading.rules import ORDER_PHASES, MarketRules

_NONE = Decimal(0)


@dataclass(frozen=True, slots=True)
class TradingLimits:
    """``trading_config`` limits as Decimal (None: no limit)."""

    max_buying_power: Decimal | None = None
    max_per_trade: Decimal | None = None
    max_per_symbol: Decimal | None = None
    max_open_positions: int | None = None

    @classmethod
    def from_config(cls, trading_config: object) -> TradingLimits:
        def dec(name: str) -> Decimal | None:
            value = getattr(trading_config, name, None)
            return None if value is None else to_decimal(value)

        return cls(
            max_buying_power=dec("max_buying_power"),
            max_per_trade=dec("max_per_trade"),
            max_per_symbol=dec("max_per_symbol"),
            max_open_positions=getattr(trading_config, "max_open_positions", None),
        )


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}" if currency == "USD" else f"{amount:,.0f} {currency}"


class OrderRejected(Exception):
    """An order failed a pre-trade check: ``reason`` (a ``RejectReason``) and ``message``."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message


def check_order(
    request: OrderRequest,
    *,
    rules: MarketRules,
    limits: TradingLimits,
    portfolio: Portfolio,
    book: OrderBook,
    symbols: frozenset[str],
    phase: str | None,
    reference: float | None,
    fee_model: object,
) -> Decimal:
    """The buying power ``request`` holds while open (a buy's value plus estimated fees; 0 for
    sales), or ``OrderRejected`` naming the first check it fails (see the module docstring)."""
    symbol, side, quantity, kind = (
        request.symbol,
        request.side,
        request.quantity,
        request.order_type,
    )
    if symbol not in symbols:
        raise OrderRejected(
            RejectReason.UNKNOWN_SYMBOL, f"{symbol!r} is not a symbol of this session"
        )
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise OrderRejected(
            RejectReason.INVALID_ORDER, f"quantity must be a whole number > 0, was {quantity!r}"
        )
    needs_limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = kind in (OrderType.STOP, OrderType.STOP_LIMIT)
    for needed, price, label in (
        (needs_limit, request.limit_price, "limit_price"),
        (needs_stop, request.stop_price, "stop_price"),
    ):
        if needed and (price is None or not price > 0):
            raise OrderRejected(
                RejectReason.INVALID_ORDER,
                f"a {kind.value} order needs {label} > 0, was {price}",
            )
        if not needed and price is not None:
            raise OrderRejected(
                RejectReason.INVALID_ORDER, f"a {kind.value} order takes no {label}"
            )

    if kind not in rules.order_types:
        allowed = ", ".join(sorted(t.value for t in rules.order_types))
        raise OrderRejected(
            RejectReason.ORDER_TYPE, f"{rules.exchange} takes no {kind.value} orders ({allowed})"
        )
    phases = ORDER_PHASES.get(kind)
    if phases is not None and phase not in phases:
        raise OrderRejected(
            RejectReason.MARKET_PHASE, f"{kind.value} orders are not accepted in phase {phase}"
        )

    if quantity % rules.lot_size:
        raise OrderRejected(
            RejectReason.LOT_SIZE,
            f"quantity {quantity} is not a multiple of the {rules.exchange} lot {rules.lot_size}",
        )

    band = rules.band(reference)
    for price, label in ((request.limit_price, "limit"), (request.stop_price, "stop")):
        if price is None:
            continue
        if not rules.on_tick_grid(price):
            raise OrderRejected(
                RejectReason.TICK_SIZE,
                f"{label} price {price} is off the {rules.exchange} tick grid",
            )
        if band is not None and not band[0] <= price <= band[1]:
            raise OrderRejected(
                RejectReason.PRICE_BAND,
                f"{label} price {price} is outside today's band {band[0]}..{band[1]}",
            )

    price = request.limit_price or request.stop_price
    if price is None:
        price = portfolio.mark(symbol)
        if price is None:
            raise OrderRejected(
                RejectReason.INVALID_ORDER,
                f"no price seen yet for {symbol}: cannot value the order",
            )
    notional = price * quantity
    held = portfolio.positions.get(symbol)
    position = held.quantity if held is not None else 0

    if side is OrderSide.SELL:
        pending_sells = book.pending_quantity(symbol, OrderSide.SELL)
        available = position - pending_sells
        if quantity > available and not rules.short_selling:
            raise OrderRejected(
                RejectReason.SHORT_SELLING,
                f"selling {quantity} {symbol} with {max(available, 0)} available (held "
                f"{position}, open sells {pending_sells}); short selling is not allowed",
            )
        sellable = (held.sellable if held is not None else 0) - pending_sells
        if quantity > sellable and (not rules.short_selling or quantity <= available):
            raise OrderRejected(
                RejectReason.UNSETTLED,
                f"selling {quantity} {symbol} with {max(sellable, 0)} settled shares available "
                f"(bought shares settle T+{rules.settlement_days})",
            )
        opening = max(0, quantity - max(position, 0))  # the part that opens a short
        if not opening:
            return _NONE
        cost = price * opening
    else:
        cost = notional

    currency = portfolio.currency
    if limits.max_per_trade is not None and notional > limits.max_per_trade:
        raise OrderRejected(
            RejectReason.MAX_PER_TRADE,
            f"order notional {_money(notional, currency)} exceeds max_per_trade "
            f"{_money(limits.max_per_trade, currency)}",
        )
    needed = cost + estimated_fees(fee_model, request, price)
    available_cash = portfolio.cash - portfolio.reserved
    if needed > available_cash:
        raise OrderRejected(
            RejectReason.BUYING_POWER,
            f"order needs {_money(needed, currency)} with {_money(max(available_cash, Decimal(0)), currency)} "
            "buying power",
        )
    if limits.max_buying_power is not None:
        deployed = portfolio.invested + portfolio.reserved + cost
        if deployed > limits.max_buying_power:
            raise OrderRejected(
                RejectReason.MAX_BUYING_POWER,
                f"deploying {_money(deployed, currency)} exceeds max_buying_power "
                f"{_money(limits.max_buying_power, currency)}",
            )
    if limits.max_per_symbol is not None:
        same_side = book.pending_quantity(symbol, side)
        exposure = (abs(position) + same_side + quantity) * price
        if exposure > limits.max_per_symbol:
            raise OrderRejected(
                RejectReason.MAX_PER_SYMBOL,
                f"{symbol} exposure {_money(exposure, currency)} exceeds max_per_symbol "
                f"{_money(limits.max_per_symbol, currency)}",
            )
    if limits.max_open_positions is not None and position == 0:
        busy = {p.symbol for p in portfolio.open_positions()}
        busy |= {m.order.symbol for m in book.open_orders()}
        if symbol not in busy and len(busy) >= limits.max_open_positions:
            raise OrderRejected(
                RejectReason.MAX_OPEN_POSITIONS,
                f"{len(busy)} symbols held or being traded; max_open_positions is "
                f"{limits.max_open_positions}",
            )
    return needed if side is OrderSide.BUY else _NONE


def estimated_fees(fee_model: object, request: OrderRequest, price: Decimal) -> Decimal:
    """Commission and tax of ``request`` filled in full at ``price``."""
    fill = Fill("estimate", "estimate", request.symbol, request.side, request.quantity, price, None)  # type: ignore[arg-type]
    commission, tax = fee_model.fees(fill)  # type: ignore[attr-defined]
    return commission + tax
