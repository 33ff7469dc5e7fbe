"""Market rules the engine checks orders against, per exchange.

=========  ========  ====  =====================  ======  ==========  ===========
exchange   currency  lot   order types            short   settlement  price band
=========  ========  ====  =====================  ======  ==========  ===========
XSTC HOSE  VND       100   + ATO, ATC, MP         no      T+2         ±7 %
XHNX HNX   VND       100   + ATC                  no      T+2         ±10 %
UPCOM      VND       100   (limit / market only)  no      T+2         ±15 %
XNYS (US)  USD       1     market limit stop s-l  config  none        none
=========  ========  ====  =====================  ======  ==========  ===========

Tick grid, bands and the board lot come from ``core.boards`` (``../shared/reference/
vietnam_market.md`` §3). Vietnamese boards forbid short selling and deliver bought shares on
T+2 (``trading_config.settlement_days`` overrides: the shares bought on day T become sellable
on the ``settlement_days``-th trading day after T); US accounts may short only with
``trading_config.allow_short``. Stop and stop-limit orders on Vietnamese boards are the
broker-side conditional orders Vietnamese brokers offer (the exchange has none).

Auction and MP orders are accepted only in the phases that take them: ATO before the opening
auction ends (pre-open, ATO), ATC from the continuous session until the closing auction ends,
MP during continuous matching. Orders cannot be cancelled during the ATO and ATC call periods.
VN30 futures (``VN30F``) are not tradable yet (contract multiplier and margin accounting).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core import boards, calendars
from core.errors import ConfigError
from core.orders import OrderType, to_decimal
from core.phases import Phase

_BASIC = frozenset({OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT})

_ORDER_TYPES: dict[str, frozenset[OrderType]] = {
    "XSTC": _BASIC | {OrderType.ATO, OrderType.ATC, OrderType.MP},
    "XHNX": _BASIC | {OrderType.ATC},
    "UPCOM": _BASIC,
}

ORDER_PHASES: dict[OrderType, frozenset[str | None]] = {
    OrderType.ATO: frozenset({None, Phase.CLOSED, Phase.PRE_OPEN, Phase.ATO}),
    OrderType.ATC: frozenset({Phase.CONTINUOUS, Phase.BREAK, Phase.ATC}),
    OrderType.MP: frozenset({Phase.CONTINUOUS}),
}
"""Phases in which an auction / MP order is accepted (``None``: before the first phase)."""

NO_CANCEL_PHASES: frozenset[str] = frozenset({Phase.ATO, Phase.ATC})
"""Vietnamese call periods in which orders cannot be cancelled or amended."""


@dataclass(frozen=True, slots=True)
class MarketRules:
    """What the pre-trade checks of one exchange need (see the module docstring)."""

    exchange: str
    currency: str
    board: boards.BoardRules
    lot_size: int
    short_selling: bool
    settlement_days: int
    order_types: frozenset[OrderType]
    vietnamese: bool

    @classmethod
    def for_exchange(
        cls,
        exchange: str,
        *,
        allow_short: bool = False,
        settlement_days: int | None = None,
    ) -> MarketRules:
        """The rules of ``exchange`` (calendar name or alias), with the config's overrides."""
        name = calendars.resolve_calendar_name(exchange)
        if name == "VN30F":
            raise ConfigError(
                "strategy: trading VN30 futures (VN_DERIVATIVES) is not supported yet; "
                "use a stock board (HOSE, HNX, UPCOM) or US_EQUITY"
            )
        board = boards.board_rules(name)
        vietnamese = name in _ORDER_TYPES
        return cls(
            exchange=name,
            currency="VND" if vietnamese else "USD",
            board=board,
            lot_size=board.lot if vietnamese else 1,
            short_selling=(not vietnamese) and allow_short,
            settlement_days=(
                settlement_days if settlement_days is not None else (2 if vietnamese else 0)
            ),
            order_types=_ORDER_TYPES.get(name, _BASIC),
            vietnamese=vietnamese,
        )

    @property
    def price_unit(self) -> Decimal:
        """The board's smallest price step (0.01 USD, 1 VND)."""
        return to_decimal(self.board.unit).normalize()

    def on_tick_grid(self, price: Decimal) -> bool:
        return boards.is_on_tick_grid(self.exchange, float(price))

    def band(self, reference: float | None) -> tuple[Decimal, Decimal] | None:
        """``(floor, ceiling)`` around the reference price, or None (no band / no reference)."""
        if reference is None or self.board.limit_pct is None:
            return None
        floor, ceiling = boards.price_limits(self.exchange, reference)
        unit = self.price_unit
        return to_decimal(floor).quantize(unit), to_decimal(ceiling).quantize(unit)
