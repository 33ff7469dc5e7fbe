"""The store's tables: SQLModel ``table=True`` models only (no behaviour beyond column types).

Every timestamp column is :class:`UTCDateTime`: it accepts only aware datetimes (a naive one
raises ``StoreError``), stores UTC (naive UTC text on SQLite, ``timestamptz`` on PostgreSQL)
and always reads back an aware UTC ``datetime``.

Market-data tables are keyed by their natural key so every write is an idempotent upsert:

- ``bars``: (symbol, interval, ts, source); ``ts`` is the bar's *open*.
- ``trades``, ``quotes``, ``foreign_room``, ``index_ticks``, ``security_status``:
  (symbol, ts, event_key, source) where ``event_key`` tells apart events that share a
  timestamp (vendor trade id, or the content of the event; see ``core.store``).
- ``indicator_values``: (name, symbol, as_of, minute_of_day, source); ``minute_of_day`` is
  :data:`DAILY_MINUTE` (-1) for daily values so the key works on both databases (NULLs are
  never equal in a unique index).
- ``phase_volumes``: (session_name, symbol, trading_date, phase).
- ``quality_results``: (symbol, interval, trading_date, source).
- ``session_runs``: surrogate integer id.
- ``session_leases``: session_name (one row per session a daemon is running; ``core.leases``).
- trading (``daemon.trading.ledger``): ``trading_orders`` (run_id, order_id),
  ``trading_order_events`` (run_id, order_id, seq), ``trading_fills`` (run_id, fill_id),
  ``trading_positions`` (run_id, trading_date, symbol), ``trading_equity`` (run_id, ts);
  money and prices as exact decimal text (:class:`DecimalText`).

On SQLite the market-data tables are ``WITHOUT ROWID`` (one b-tree per table: faster upserts).
The primary keys start with the symbol so reads by symbol and time range use them with or
without a source. Schema changes go through Alembic (``core/migrations``); a test checks the
migrations create exactly this metadata. Key text columns are :data:`KEY_STRING`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from core.errors import StoreError

DAILY_MINUTE = -1
"""``indicator_values.minute_of_day`` of a daily (not per-minute-of-day) value."""

_WITHOUT_ROWID = {"sqlite_with_rowid": False}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An instant in UTC. Binds aware datetimes only; results are aware UTC on every dialect."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise StoreError(f"expected an aware UTC datetime, got {value!r}")
        offset = value.utcoffset()
        if offset is None:
            raise StoreError(
                f"naive datetime {value.isoformat()} cannot be stored: pass an aware UTC "
                "datetime (tzinfo=UTC)"
            )
        if offset or value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


KEY_STRING = sa.String().with_variant(sa.String(collation="C"), "postgresql")
"""Key text columns: byte-order collation on PostgreSQL (``COLLATE "C"``), as SQLite's BINARY.

Both databases then sort symbols identically, and PostgreSQL compares index keys with
``memcmp`` instead of the locale's rules (upserts into large tables are noticeably faster).
"""


def _key() -> Any:
    return Field(primary_key=True, sa_type=KEY_STRING)


def _ts(*, primary_key: bool = False, nullable: bool = False) -> Any:
    return Field(
        sa_type=UTCDateTime,
        primary_key=primary_key,
        nullable=nullable and not primary_key,
    )


# --- market data ----------------------------------------------------------------------------


class BarRow(SQLModel, table=True):
    """One OHLCV bar over ``[ts, ts + interval)``; prices in quote units, volume in shares."""

    __tablename__ = "bars"
    __table_args__ = (_WITHOUT_ROWID,)

    symbol: str = _key()
    interval: str = _key()
    ts: datetime = _ts(primary_key=True)
    source: str = _key()
    open: float
    high: float
    low: float
    close: float
    volume: float
    trade_count: int | None = None
    vwap: float | None = None


class TradeRow(SQLModel, table=True):
    """One trade (match); ``side`` is the vendor's aggressor flag when it sent one."""

    __tablename__ = "trades"
    __table_args__ = (_WITHOUT_ROWID,)

    symbol: str = _key()
    ts: datetime = _ts(primary_key=True)
    event_key: str = _key()
    source: str = _key()
    price: float
    volume: float
    side: str | None = None
    trading_session: str | None = None
    total_volume: float | None = None
    total_value: float | None = None
    trade_id: str | None = None
    ts_received: datetime | None = _ts(nullable=True)


class QuoteRow(SQLModel, table=True):
    """Best bid/ask; deeper levels as JSON lists of ``[price, size]``."""

    __tablename__ = "quotes"
    __table_args__ = (_WITHOUT_ROWID,)

    symbol: str = _key()
    ts: datetime = _ts(primary_key=True)
    event_key: str = _key()
    source: str = _key()
    bid_price: float
    bid_size: float
    ask_price: float
    ask_size: float
    bids: list[list[float]] = Field(default_factory=list, sa_type=sa.JSON)
    asks: list[list[float]] = Field(default_factory=list, sa_type=sa.JSON)
    trading_session: str | None = None
    ts_received: datetime | None = _ts(nullable=True)


class ForeignRoomRow(SQLModel, table=True):
    """Foreign investor cumulative day totals (volume in shares, value in VND) and room."""

    __tablename__ = "foreign_room"
    __table_args__ = (_WITHOUT_ROWID,)

    symbol: str = _key()
    ts: datetime = _ts(primary_key=True)
    event_key: str = _key()
    source: str = _key()
    buy_volume: float
    sell_volume: float
    buy_value: float
    sell_value: float
    total_room: float | None = None
    current_room: float | None = None
    ts_received: datetime | None = _ts(nullable=True)


class IndexTickRow(SQLModel, table=True):
    """An index value with cumulative day statistics and breadth; ``symbol`` is the index id."""

    __tablename__ = "index_ticks"
    __table_args__ = (_WITHOUT_ROWID,)

    symbol: str = _key()
    ts: datetime = _ts(primary_key=True)
    event_key: str = _key()
    source: str = _key()
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
    ts_received: datetime | None = _ts(nullable=True)


class SecurityStatusRow(SQLModel, table=True):
    """Per-symbol trading status and market phase code as the vendor sent them."""

    __tablename__ = "security_status"
    __table_args__ = (_WITHOUT_ROWID,)

    symbol: str = _key()
    ts: datetime = _ts(primary_key=True)
    event_key: str = _key()
    source: str = _key()
    trading_status: str | None = None
    trading_session: str | None = None
    exchange: str | None = None
    ts_received: datetime | None = _ts(nullable=True)


# --- derived data ---------------------------------------------------------------------------


class PhaseVolumeRow(SQLModel, table=True):
    """Active buy / active sell / neutral volume (shares) and value (quote currency) of one
    symbol in one phase (``ato``, ``continuous``, ``atc``, ``day`` ...) of one trading day;
    ``last_total_volume`` is the vendor's cumulative day volume last counted (for resuming)."""

    __tablename__ = "phase_volumes"

    session_name: str = _key()
    symbol: str = _key()
    trading_date: date = Field(primary_key=True)
    phase: str = _key()
    buy_volume: float = 0.0
    sell_volume: float = 0.0
    neutral_volume: float = 0.0
    buy_value: float = 0.0
    sell_value: float = 0.0
    neutral_value: float = 0.0
    trade_count: int = 0
    last_total_volume: float | None = None


class IndicatorValueRow(SQLModel, table=True):
    """One value of a named indicator; ``minute_of_day`` is -1 for daily values."""

    __tablename__ = "indicator_values"
    __table_args__ = (_WITHOUT_ROWID,)

    name: str = _key()
    symbol: str = _key()
    as_of: datetime = _ts(primary_key=True)
    minute_of_day: int = Field(primary_key=True, default=DAILY_MINUTE)
    source: str = _key()
    value: float | None = None
    complete: bool = True
    observations: int = 0
    details: dict[str, float] = Field(default_factory=dict, sa_type=sa.JSON)


class QualityResultRow(SQLModel, table=True):
    """Bar completeness of one symbol/interval/trading day; ``missing`` lists ISO bar opens."""

    __tablename__ = "quality_results"

    symbol: str = _key()
    interval: str = _key()
    trading_date: date = Field(primary_key=True)
    source: str = _key()
    expected_bars: int
    actual_bars: int
    quality_pct: float
    missing: list[str] = Field(default_factory=list, sa_type=sa.JSON)


class SessionRunRow(SQLModel, table=True):
    """One run of a session config (backtest or live) and its final metrics."""

    __tablename__ = "session_runs"

    id: int | None = Field(default=None, primary_key=True)
    session_name: str = Field(index=True)
    config_path: str
    mode: str
    exchange: str
    start_date: date | None = None
    end_date: date | None = None
    status: str
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class SessionLeaseRow(SQLModel, table=True):
    """The lease of a session config held by a running daemon (``core.leases``): while
    ``expires_at`` lies ahead on the database clock, no other daemon runs that session."""

    __tablename__ = "session_leases"

    session_name: str = _key()
    holder: str
    hostname: str
    pid: int
    config_path: str
    api_url: str | None = None
    run_id: int | None = None
    acquired_at: datetime = _ts()
    heartbeat_at: datetime = _ts()
    expires_at: datetime = _ts()


metadata = SQLModel.metadata
"""The metadata holding every table above (the Alembic migrations' target)."""

MARKET_TABLES: tuple[type[SQLModel], ...] = (
    BarRow,
    TradeRow,
    QuoteRow,
    ForeignRoomRow,
    IndexTickRow,
    SecurityStatusRow,
)


# --- trading (daemon.trading.ledger) ------------------------------------------------------------


class DecimalText(sa.types.TypeDecorator[Decimal]):
    """An exact decimal stored as its text (``"187.35"``) on every dialect; reads ``Decimal``.

    Money and prices of the trading tables: SQLite has no exact decimal type, and one text
    form keeps both databases identical. Amounts are already quantized by the engine.
    """

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise StoreError(f"expected a Decimal amount, got {value!r}")
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def _money(*, nullable: bool = False) -> Any:
    return Field(default=None if nullable else Decimal(0), sa_type=DecimalText, nullable=nullable)


class TradingOrderRow(SQLModel, table=True):
    """One order of a run in its latest state (``status``: ``core.orders.OrderStatus``).

    ``order_id`` is sessiond's id (the broker's client order id); ``broker_order_id`` the
    broker's own; ``reject_reason`` a ``core.orders.RejectReason`` code with ``reason`` the
    text; prices are exact decimals.
    """

    __tablename__ = "trading_orders"

    run_id: int = Field(primary_key=True)
    order_id: str = _key()
    broker_order_id: str | None = None
    trading_date: date | None = None
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    quantity: int
    limit_price: Decimal | None = _money(nullable=True)
    stop_price: Decimal | None = _money(nullable=True)
    status: str
    filled_quantity: int = 0
    average_fill_price: Decimal | None = _money(nullable=True)
    reject_reason: str | None = None
    reason: str = ""
    replaces: str | None = None
    tag: str = ""
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class TradingOrderEventRow(SQLModel, table=True):
    """Every status an order went through, in order (``seq`` from 0: its first status)."""

    __tablename__ = "trading_order_events"

    run_id: int = Field(primary_key=True)
    order_id: str = _key()
    seq: int = Field(primary_key=True)
    status: str
    ts: datetime = _ts()
    reason: str = ""


class TradingFillRow(SQLModel, table=True):
    """One execution: quantity (shares) at ``price``; commission, tax and the realized P&L it
    booked (before fees) in account currency."""

    __tablename__ = "trading_fills"

    run_id: int = Field(primary_key=True)
    fill_id: str = _key()
    order_id: str = Field(sa_type=KEY_STRING)
    symbol: str
    side: str
    quantity: int
    price: Decimal = _money()
    commission: Decimal = _money()
    tax: Decimal = _money()
    realized_pnl: Decimal = _money()
    ts_event: datetime = _ts()
    trading_date: date | None = None


class TradingPositionRow(SQLModel, table=True):
    """A position at the end of a trading day, marked at the day's last price."""

    __tablename__ = "trading_positions"

    run_id: int = Field(primary_key=True)
    trading_date: date = Field(primary_key=True)
    symbol: str = _key()
    quantity: int
    sellable: int
    average_price: Decimal = _money()
    cost_basis: Decimal = _money()
    mark: Decimal | None = _money(nullable=True)
    market_value: Decimal = _money()
    unrealized_pnl: Decimal = _money()
    realized_pnl: Decimal = _money()


class TradingEquityRow(SQLModel, table=True):
    """The account at one instant of a run (a streamed bar's close, or a day's end):
    ``equity = cash + positions at their marks``; realized P&L and fees so far."""

    __tablename__ = "trading_equity"

    run_id: int = Field(primary_key=True)
    ts: datetime = _ts(primary_key=True)
    trading_date: date | None = None
    cash: Decimal = _money()
    equity: Decimal = _money()
    realized_pnl: Decimal = _money()
    fees: Decimal = _money()


TRADING_TABLES: tuple[type[SQLModel], ...] = (
    TradingOrderRow,
    TradingOrderEventRow,
    TradingFillRow,
    TradingPositionRow,
    TradingEquityRow,
)
