"""Frozen records that cross boundaries between sources, the engine, the store and the API.

Every timestamp is an aware UTC ``datetime``: ``ts_event`` is when the exchange says it
happened (a bar's ``ts_event`` is the bar's *open*), ``ts_received`` when sessiond got it
(``None`` for data replayed from the store). Parsers convert exchange-local times at the edge.

These are frozen slotted dataclasses, not pydantic models: the engine creates hundreds of
thousands per second. :class:`Bar` (and :class:`IndicatorValue`) are ``NamedTuple``s instead:
the bar is the record the replay
path builds in bulk from the store's columns (``tuple.__new__`` mapped over zipped columns runs
in C, about seven times cheaper than a dataclass ``__init__``), and the one record every layer
passes (sources yield it, the store writes it, the streamer, indicators and subscribers receive
it; ``plugins.interfaces.BarLike`` is its read-only contract). Change any record's fields with
:func:`replace`. Validation happens where data enters (parsers, config, store).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar


class Aggressor(StrEnum):
    """Who initiated a trade: the active side ("mua chủ động" / "bán chủ động") or nobody."""

    BUY = "buy"
    SELL = "sell"
    NEUTRAL = "neutral"


class Bar(NamedTuple):
    """OHLCV over ``[ts_event, ts_event + interval)``; prices in the instrument's quote units,
    ``volume`` in shares/contracts, ``trade_count`` None when unknown, ``vwap`` None when unknown
    (or no volume), ``source`` the data source's name, ``ts_received`` None for stored data.

    Immutable like the other records; equal to another ``Bar`` with equal fields. Build many
    from columns with ``core.columns.BarColumns.to_bars`` (one shared ``datetime`` per instant).
    """

    symbol: str
    interval: str
    ts_event: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    trade_count: int | None = None
    vwap: float | None = None
    source: str = ""
    ts_received: datetime | None = None


@dataclass(frozen=True, slots=True)
class Trade:
    """One match (or several merged by the vendor).

    ``side`` is the vendor's aggressor flag when it sends one (SSI ``BU``/``SD``), else ``None``.
    ``trading_session`` is the normalised phase code the vendor attached (``ATO``, ``LO``,
    ``ATC``, ``PT`` ...) or ``None``. ``total_volume`` is the vendor's cumulative day volume
    when available (per-trade volume is derived from its change).
    """

    symbol: str
    ts_event: datetime
    price: float
    volume: float
    side: Aggressor | None = None
    trading_session: str | None = None
    total_volume: float | None = None
    total_value: float | None = None
    trade_id: str | None = None
    source: str = ""
    ts_received: datetime | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid/ask snapshot; deeper levels, when sent, in ``bids``/``asks`` as (price, size)."""

    symbol: str
    ts_event: datetime
    bid_price: float
    bid_size: float
    ask_price: float
    ask_size: float
    bids: tuple[tuple[float, float], ...] = ()
    asks: tuple[tuple[float, float], ...] = ()
    trading_session: str | None = None
    source: str = ""
    ts_received: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClassifiedTrade:
    """A trade with its aggressor, the phase it belongs to and the rule that decided it."""

    trade: Trade
    aggressor: Aggressor
    phase: str
    classifier: str


@dataclass(frozen=True, slots=True)
class ForeignRoom:
    """Foreign investor flows for one symbol: cumulative day totals as the vendor sends them."""

    symbol: str
    ts_event: datetime
    buy_volume: float
    sell_volume: float
    buy_value: float
    sell_value: float
    total_room: float | None = None
    current_room: float | None = None
    source: str = ""
    ts_received: datetime | None = None


@dataclass(frozen=True, slots=True)
class IndexTick:
    """An index value with day statistics (cumulative) and breadth."""

    index_id: str
    ts_event: datetime
    value: float
    prior_value: float | None = None
    change: float | None = None
    ratio_change: float | None = None
    total_volume: float | None = None
    total_value: float | None = None
    advances: int | None = None
    declines: int | None = None
    no_changes: int | None = None
    ceilings: int | None = None
    floors: int | None = None
    trading_session: str | None = None
    source: str = ""
    ts_received: datetime | None = None


@dataclass(frozen=True, slots=True)
class SecurityStatus:
    """Per-symbol status (SSI channel F): trading status and the market phase code."""

    symbol: str
    ts_event: datetime
    trading_status: str | None
    trading_session: str | None
    exchange: str | None = None
    source: str = ""
    ts_received: datetime | None = None


@dataclass(frozen=True, slots=True)
class PhaseChange:
    """The intraday phase of an exchange changed at ``ts_event`` (see ``core.phases.Phase``)."""

    exchange: str
    ts_event: datetime
    phase: str
    previous: str | None = None


_Record = TypeVar("_Record")


def replace(record: _Record, **changes: Any) -> _Record:
    """A copy of ``record`` (any record of this module) with ``changes`` applied."""
    if isinstance(record, tuple):  # Bar, IndicatorValue
        return record._replace(**changes)  # type: ignore[attr-defined,no-any-return]
    return dataclasses.replace(record, **changes)  # type: ignore[type-var]


MarketEvent = Bar | Trade | Quote | ForeignRoom | IndexTick | SecurityStatus | PhaseChange
"""Anything a feed can deliver to the engine."""


class IndicatorValue(NamedTuple):
    """One value of a named indicator for a symbol.

    ``minute_of_day`` is ``None`` for daily values and the 0-based index of the trading
    minute for intraday (per-minute-of-day) values. ``complete`` is False when the history
    was shorter than the period asked for (``observations`` says how much there was).
    ``details``: extra named numbers (read-only; empty by default). A ``NamedTuple`` like
    :class:`Bar`: intraday indicators make and read hundreds of thousands.
    """

    name: str
    symbol: str
    as_of: datetime
    value: float | None
    complete: bool = True
    observations: int = 0
    minute_of_day: int | None = None
    details: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class QualityResult:
    """Completeness of one symbol's bars of one interval for one trading day.

    ``quality_pct`` is ``100 * actual_bars / expected_bars`` (100 when nothing was expected or
    quality checking is disabled); ``missing`` lists the expected bar-open times not present.
    """

    symbol: str
    interval: str
    trading_date: date
    expected_bars: int
    actual_bars: int
    quality_pct: float
    missing: tuple[datetime, ...] = ()
    source: str = ""


@dataclass(frozen=True, slots=True)
class PhaseVolume:
    """Active buy / active sell / neutral volume (shares) and value of one symbol in one phase
    (``ato``, ``continuous``, ``atc``, ``day`` ...) of one trading day of a session.

    ``last_total_volume`` is the vendor's cumulative day volume (SSI ``TotalVol``) of the last
    trade counted, so a session restarted mid-day drops repeats instead of counting them twice.
    """

    session_name: str
    symbol: str
    trading_date: date
    phase: str
    buy_volume: float = 0.0
    sell_volume: float = 0.0
    neutral_volume: float = 0.0
    buy_value: float = 0.0
    sell_value: float = 0.0
    neutral_value: float = 0.0
    trade_count: int = 0
    last_total_volume: float | None = None


@dataclass(frozen=True, slots=True)
class IndicatorSeries:
    """What the store holds of one indicator for one symbol and source: how many values,
    the first and last ``as_of``, and whether they are per minute of day or daily."""

    name: str
    symbol: str
    source: str
    per_minute: bool
    values: int
    first_as_of: datetime
    last_as_of: datetime


@dataclass(frozen=True, slots=True)
class SessionRun:
    """One run of a session config; ``status`` is ``running`` until it is finished."""

    id: int
    session_name: str
    config_path: str
    mode: str
    exchange: str
    start_date: date | None
    end_date: date | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    metrics: dict[str, Any] = field(default_factory=dict)
