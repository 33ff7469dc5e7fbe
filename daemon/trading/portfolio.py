"""Positions, cash and P&L of a run, in ``Decimal`` quantized to the currency's minor unit.

Accounting (average cost, the method Vietnamese and US brokers report):

- A position keeps its signed ``quantity`` and its signed ``cost`` (what the shares held cost,
  quantized: buys add ``quantity * price``, short sales subtract it). The average price is
  ``cost / quantity``.
- A fill that reduces a position removes the same *share* of the cost (``cost * closed /
  quantity``, quantized); what the closed shares fetched minus that removed cost is the fill's
  **realized P&L**. Closing a position entirely removes exactly the remaining cost, so no
  rounding is ever left behind. A fill that crosses zero closes, then opens the rest.
- ``cash`` moves by every fill's notional and by its commission and tax; ``fees`` adds them.
- **Marks**: a position is valued at the last price seen (bar close or trade) rounded to the
  board's price unit; ``unrealized = quantity * mark - cost``.

So at any instant, exactly (a test checks it over multi-day runs)::

    equity = cash + sum(quantity * mark) = starting_cash + realized + unrealized - fees

**Settlement**: shares bought on trading day T are *sellable* from the ``settlement_days``-th
trading day after T (T+2 on Vietnamese boards; 0 in the US: at once). Cash is available at
once (no cash settlement modelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core import calendars
from core.orders import CURRENCY_DECIMALS, Fill, quantize_money, to_decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A position at one instant (``plugins.interfaces.PositionView``)."""

    symbol: str
    quantity: int
    sellable: int
    average_price: Decimal
    cost_basis: Decimal
    mark: Decimal | None
    market_value: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal


class Position:
    """One symbol's holding: signed quantity, signed cost, realized P&L, unsettled lots."""

    __slots__ = ("symbol", "quantity", "cost", "realized", "unsettled")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.quantity = 0
        self.cost = ZERO
        self.realized = ZERO
        self.unsettled: list[tuple[date, int]] = []

    @property
    def sellable(self) -> int:
        if self.quantity <= 0:
            return 0
        return max(0, self.quantity - sum(quantity for _, quantity in self.unsettled))


class Portfolio:
    """The account of one run (see the module docstring).

    ``unit`` is the board's price unit (marks are rounded to it); ``calendar`` the exchange
    calendar that counts settlement days.
    """

    def __init__(
        self,
        *,
        currency: str,
        starting_cash: Decimal,
        unit: Decimal,
        calendar: str,
        settlement_days: int = 0,
        max_buying_power: Decimal | None = None,
    ) -> None:
        self.currency = currency
        self.decimals = CURRENCY_DECIMALS[currency]
        self.starting_cash = quantize_money(starting_cash, currency)
        self.cash = self.starting_cash
        self.starting_equity = self.starting_cash
        """What the account was worth at start: cash plus adopted positions at cost."""
        self.unit = unit
        self.calendar = calendar
        self.settlement_days = settlement_days
        self.max_buying_power = max_buying_power
        self.commissions = ZERO
        self.taxes = ZERO
        self.realized_pnl = ZERO
        self.reserved = ZERO
        self.positions: dict[str, Position] = {}
        self.last: dict[str, float] = {}
        """Last price seen per symbol (float, as the data carries it)."""
        scale = unit.scaleb(self.decimals)
        if scale != scale.to_integral_value():
            raise ValueError(f"price unit {unit} is finer than {currency}'s minor unit")
        self._scale = int(scale)
        self._per_unit = float(1 / unit)

    # -- reading -----------------------------------------------------------------------------

    @property
    def fees(self) -> Decimal:
        return self.commissions + self.taxes

    def mark(self, symbol: str) -> Decimal | None:
        """The last price of ``symbol`` rounded to the board's price unit (None if none)."""
        last = self.last.get(symbol)
        if last is None:
            return None
        return Decimal(round(last * self._per_unit)) * self.unit

    def market_value(self, position: Position) -> Decimal:
        mark = self.mark(position.symbol)
        if mark is None:  # never priced: valued at cost
            return position.cost
        return quantize_money(mark * position.quantity, self.currency)

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.quantity != 0]

    def positions_value_minor(self) -> int:
        """Sum of ``quantity * mark`` over open positions in minor units (the fast path)."""
        total = 0
        last = self.last
        per_unit = self._per_unit
        for position in self.positions.values():
            quantity = position.quantity
            if quantity:
                price = last.get(position.symbol)
                if price is None:
                    total += int(position.cost.scaleb(self.decimals))
                else:
                    total += quantity * round(price * per_unit) * self._scale
        return total

    @property
    def equity(self) -> Decimal:
        return self.cash + Decimal(self.positions_value_minor()).scaleb(-self.decimals)

    @property
    def unrealized_pnl(self) -> Decimal:
        return sum((self.market_value(p) - p.cost for p in self.open_positions()), ZERO)

    @property
    def invested(self) -> Decimal:
        """Cost of the long positions (what ``max_buying_power`` caps)."""
        return sum((p.cost for p in self.positions.values() if p.quantity > 0), ZERO)

    @property
    def buying_power(self) -> Decimal:
        """Cash less open buy orders' reservations, capped by ``max_buying_power``."""
        power = self.cash - self.reserved
        if self.max_buying_power is not None:
            power = min(power, self.max_buying_power - self.invested - self.reserved)
        return max(power, ZERO)

    def position(self, symbol: str) -> PositionSnapshot:
        held = self.positions.get(symbol) or Position(symbol)
        market_value = self.market_value(held)
        return PositionSnapshot(
            symbol=symbol,
            quantity=held.quantity,
            sellable=held.sellable,
            average_price=(held.cost / held.quantity) if held.quantity else ZERO,
            cost_basis=held.cost,
            mark=self.mark(symbol),
            market_value=market_value,
            unrealized_pnl=market_value - held.cost,
            realized_pnl=held.realized,
        )

    def snapshots(self) -> list[PositionSnapshot]:
        return [self.position(p.symbol) for p in self.open_positions()]

    # -- changing ----------------------------------------------------------------------------

    def apply_fill(
        self, fill: Fill, commission: Decimal, tax: Decimal, trading_date: date | None
    ) -> Decimal:
        """Book one fill; return its realized P&L (before fees)."""
        position = self.positions.get(fill.symbol)
        if position is None:
            position = self.positions[fill.symbol] = Position(fill.symbol)
        currency = self.currency
        quantity = fill.signed_quantity
        price = to_decimal(fill.price)
        realized = ZERO
        held = position.quantity
        if held and (held > 0) != (quantity > 0):
            closing = min(abs(quantity), abs(held))
            closing_signed = closing if quantity > 0 else -closing
            if closing == abs(held):
                removed = position.cost
            else:
                removed = quantize_money(position.cost * closing / abs(held), currency)
            proceeds = quantize_money(price * closing, currency)
            # long: sold closing shares for proceeds; short: bought them back for proceeds
            realized = proceeds - removed if held > 0 else -proceeds - removed
            position.cost -= removed
            position.quantity += closing_signed
            quantity -= closing_signed
            if held > 0:
                self._consume_settled(position, closing)
        if quantity:
            position.cost += quantize_money(price * quantity, currency)
            position.quantity += quantity
            if quantity > 0 and self.settlement_days > 0 and trading_date is not None:
                settles = calendars.next_session(self.calendar, trading_date, self.settlement_days)
                position.unsettled.append((settles, quantity))
        notional = quantize_money(price * fill.quantity, currency)
        self.cash += -notional if fill.side == "buy" else notional
        self.cash -= commission + tax
        self.commissions += commission
        self.taxes += tax
        position.realized += realized
        self.realized_pnl += realized
        if position.quantity == 0:
            position.unsettled.clear()
        return realized

    @staticmethod
    def _consume_settled(position: Position, quantity: int) -> None:
        """Sales come out of settled shares; unsettled lots stay until their day."""
        settled = position.quantity + quantity - sum(q for _, q in position.unsettled)
        if quantity > settled:  # selling unsettled shares (only when checks were bypassed)
            excess = quantity - max(settled, 0)
            while excess > 0 and position.unsettled:
                day, lot = position.unsettled.pop(0)
                if lot > excess:
                    position.unsettled.insert(0, (day, lot - excess))
                    excess = 0
                else:
                    excess -= lot

    def settle(self, trading_date: date) -> None:
        """Release the lots that settle on or before ``trading_date``."""
        for position in self.positions.values():
            if position.unsettled:
                position.unsettled = [(d, q) for d, q in position.unsettled if d > trading_date]

    def restore_cash(self, cash: Decimal) -> None:
        """Start from a broker's reported cash (live brokers)."""
        self.starting_cash = self.cash = quantize_money(cash, self.currency)
        self.starting_equity = self.starting_cash + sum(
            (p.cost for p in self.positions.values()), ZERO
        )

    def restore_position(self, symbol: str, quantity: int, average_price: Decimal) -> None:
        """Adopt a position the broker already holds (settled, at its average price)."""
        position = self.positions.setdefault(symbol, Position(symbol))
        self.starting_equity -= position.cost
        position.quantity = quantity
        position.cost = quantize_money(average_price * quantity, self.currency)
        self.starting_equity += position.cost
