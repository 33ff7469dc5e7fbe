"""The store: market data, derived data and session runs in SQLite or PostgreSQL.

``Store.from_url(url)`` opens a store (``None`` means ``SESSIOND_DB_URL`` through
``core.settings``, default ``sqlite:///var/sessiond.db``). The schema is migrated with Alembic
(``core.migrations``) the first time the store is used, so ``sessiond db upgrade`` and first
use agree.

SQLite: WAL journal (readers never block the writer), ``synchronous=NORMAL``, a busy timeout,
and every write transaction starts with ``BEGIN IMMEDIATE`` (the writer takes the lock up
front, so two writers queue instead of failing with "database is locked" on lock upgrade);
reads run in ``BEGIN DEFERRED`` snapshots. PostgreSQL: ``postgresql+psycopg`` (a plain
``postgresql://`` URL is rewritten to that driver).

Every write of market data is an idempotent upsert (``INSERT ... ON CONFLICT DO UPDATE``
compiled by SQLAlchemy Core for the dialect) keyed by the natural key of ``core.tables``: writing
the same rows twice changes nothing, writing changed values updates them; within one call the
last occurrence of a key wins; a row whose values did not change is not rewritten (``ON
CONFLICT ... DO UPDATE ... WHERE`` some value ``IS DISTINCT FROM`` the stored one; tables
without JSON columns). Bulk paths:
SQLite runs the compiled upsert through the DBAPI ``executemany`` with up to 500 rows per
statement (within SQLite's parameter limit); PostgreSQL binary-``COPY``s large batches into a
temporary table and upserts them with one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` (small
batches use ``executemany``). ``benchmarks/store_upsert.py`` measures both.

Events that can share a timestamp (trades, quotes, foreign room, index ticks, statuses) carry an
``event_key``: the vendor trade id when there is one, else a short hash of the event's content
(a trade identical to an earlier one at the same instant in the same call gets ``#2``, ``#3`` ...
appended, so two real identical prints are both kept and re-writing the batch stays idempotent).

Timestamps are aware UTC in and out; a naive datetime raises ``StoreError`` naming the field.
Time ranges are half-open: ``start <= ts < end``.

Why one long module: it is the single place that knows SQL (ten tables, one upsert/read pair
each, over two dialects). The shared machinery comes first (URLs and engines, ``_TableWriter``
for upserts, ``_fetch_raw`` for fast reads), then ``Store`` grouped by table.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from itertools import chain, islice
from math import nan as np_nan
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, Connection, Engine, make_url

from core import tables
from core.errors import StoreError
from core.models import (
    Aggressor,
    Bar,
    ForeignRoom,
    IndexTick,
    IndicatorValue,
    QualityResult,
    Quote,
    SecurityStatus,
    Trade,
)

if TYPE_CHECKING:
    import pandas as pd

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the lock before failing (milliseconds)."""

_CHUNK_ROWS = 100_000
"""Rows converted and sent per round (bounds memory for very large upserts)."""
COPY_MIN_ROWS = 2_000
"""PostgreSQL batches at least this large go through COPY + INSERT ... SELECT."""
SQLITE_ROWS_PER_STATEMENT = 500
"""Rows per multi-row upsert statement on SQLite (capped by SQLite's parameter limit)."""
_PG_MIGRATION_LOCK = 0x5E55_10D0
"""Advisory lock id serialising concurrent first-use migrations on PostgreSQL."""

FRAME_COLUMNS = (
    "symbol",
    "ts",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trade_count",
    "vwap",
    "source",
)
"""Columns of ``Store.read_bars_frame`` (``ts`` is ``datetime64[ns, UTC]``)."""


# --- records the store returns beyond core.models ---------------------------------------------


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


# --- URLs, engines, JSON ----------------------------------------------------------------------


def default_db_url() -> str:
    """The configured store URL (``SESSIOND_DB_URL``, default ``sqlite:///var/sessiond.db``)."""
    from core.settings import get_settings

    return get_settings().db_url


def normalize_url(url: str) -> URL:
    """Parse a store URL; PostgreSQL URLs get the psycopg 3 driver.

    Raises ``StoreError`` for unparsable URLs and unsupported databases.
    """
    text = url.strip()
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://") :]
    try:
        parsed = make_url(text)
    except sa.exc.ArgumentError:
        raise StoreError(
            f"database URL {_redact(text)!r} cannot be parsed: use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise StoreError(
        f"database URL scheme {parsed.drivername!r} is not supported "
        "(use sqlite:///PATH or postgresql://USER@HOST:PORT/DB)"
    )


def _redact(text: str) -> str:
    try:
        return make_url(text).render_as_string(hide_password=True)
    except Exception:
        return text.split("@")[-1]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return _json_safe(value.value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _json_safe(value.item())
    return value


def _json_dumps(value: Any) -> str:
    return json.dumps(_json_safe(value), separators=(",", ":"))


def _adapt_numpy_scalars() -> None:
    """Let sqlite3 bind numpy integers and floats (sources build bars from numpy arrays)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return
    import sqlite3

    integers: tuple[type[Any], ...] = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16)
    for integer in (*integers, np.uint32):
        sqlite3.register_adapter(integer, operator.index)
    for real in (np.float16, np.float32):  # np.float64 is a float already
        sqlite3.register_adapter(real, _as_float)


def _as_float(value: Any) -> float:
    return float(value)


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, json_serializer=_json_dumps, pool_pre_ping=True)
    database = url.database or ""
    memory = database in ("", ":memory:") or "mode=memory" in database
    if not memory and not database.startswith("file:"):  # file: URIs are the caller's business
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"json_serializer": _json_dumps}
    if memory:
        options["poolclass"] = sa.pool.StaticPool
        options["connect_args"] = {"check_same_thread": False}
    engine = sa.create_engine(url, **options)

    _adapt_numpy_scalars()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The pysqlite recipe: stop the driver's own BEGIN handling so SQLAlchemy's "begin"
        # event below decides how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


# --- UTC checks -------------------------------------------------------------------------------


def _aware(value: datetime, name: str) -> datetime:
    """``value`` as aware UTC; ``StoreError`` naming ``name`` when naive or not a datetime."""
    if not isinstance(value, datetime):
        raise StoreError(f"{name}: expected an aware UTC datetime, got {value!r}")
    if value.utcoffset() is None:
        raise StoreError(
            f"{name}: naive datetime {value.isoformat()} cannot be stored or compared; pass an "
            "aware UTC datetime (tzinfo=UTC)"
        )
    return value.astimezone(UTC)


def _symbol_list(symbols: str | Sequence[str] | None) -> list[str] | None:
    if symbols is None:
        return None
    if isinstance(symbols, str):
        return [symbols]
    return list(symbols)


def _one_line(error: object) -> str:
    """A driver's (possibly multi-line) message on one line, for the CLI's one-line errors."""
    return " ".join(str(error).split())


def _table(model: type[tables.SQLModel]) -> sa.Table:
    """The Core table of a ``core.tables`` model."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def _content_key(*parts: Any) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


# --- the bulk upsert --------------------------------------------------------------------------


class _TableWriter:
    """Idempotent bulk upsert of row tuples (in ``columns`` order) into one table."""

    def __init__(
        self,
        table: sa.Table,
        engine: Engine,
        field_names: dict[str, str] | None = None,
        *,
        copy_min_rows: int = COPY_MIN_ROWS,
        sqlite_rows_per_statement: int = SQLITE_ROWS_PER_STATEMENT,
    ) -> None:
        self.table = table
        self.copy_min_rows = copy_min_rows
        self._rows_per_statement = sqlite_rows_per_statement
        self.dialect = engine.dialect
        self.columns = tuple(c.name for c in table.columns)
        self.key = tuple(c.name for c in table.primary_key.columns)
        self.key_index = tuple(self.columns.index(k) for k in self.key)
        names = field_names or {}
        self._converters: list[tuple[int, Callable[[Any], Any]]] = []  # raw DBAPI paths
        self._time_converters: list[tuple[int, Callable[[Any], Any]]] = []  # every path
        for index, column in enumerate(table.columns):
            processor = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
            if isinstance(column.type, tables.UTCDateTime):
                label = names.get(column.name, f"{table.name}.{column.name}")
                size = 0 if column.name in UNIQUE_TIME_COLUMNS else DATETIME_CACHE_SIZE
                converter = _cached_datetime(processor, label, size)
                self._converters.append((index, converter))
                self._time_converters.append((index, converter))
            elif processor is not None and self.dialect.name == "sqlite":
                self._converters.append((index, processor))
            elif isinstance(column.type, sa.JSON):
                self._converters.append((index, _json_dumps))
        self._has_json = any(isinstance(c.type, sa.JSON) for c in table.columns)
        self._build_statements()

    def _changed(self, excluded: Any, updates: list[str]) -> sa.ColumnElement[bool] | None:
        """ON CONFLICT ... WHERE some value differs: re-writing identical rows writes nothing.

        None for tables with JSON columns (PostgreSQL ``json`` has no equality operator).
        """
        if self._has_json or not updates:
            return None
        return sa.or_(*[self.table.c[c].is_distinct_from(excluded[c]) for c in updates])

    def _build_statements(self) -> None:
        table = self.table
        updates = [c for c in self.columns if c not in self.key]
        if self.dialect.name == "sqlite":
            stmt = sqlite_dialect.insert(table).values({c: sa.bindparam(c) for c in self.columns})
            stmt = stmt.on_conflict_do_update(
                index_elements=list(self.key),
                set_={c: stmt.excluded[c] for c in updates},
                where=self._changed(stmt.excluded, updates),
            )
            compiled = stmt.compile(dialect=self.dialect)
            order = list(compiled.positiontup or ())
            assert order == list(self.columns), order  # rows are built in column order
            self.sqlite_sql = compiled.string
            # the same upsert over many rows per statement, within SQLite's parameter limit
            width = len(self.columns)
            self.sqlite_rows_per_statement = max(
                1, min(self._rows_per_statement, _sqlite_max_parameters() // width)
            )
            multi = sqlite_dialect.insert(table).values(
                [
                    {c: sa.bindparam(f"{c}_{i}") for c in self.columns}
                    for i in range(self.sqlite_rows_per_statement)
                ]
            )
            multi = multi.on_conflict_do_update(
                index_elements=list(self.key),
                set_={c: multi.excluded[c] for c in updates},
                where=self._changed(multi.excluded, updates),
            )
            compiled_multi = multi.compile(dialect=self.dialect)
            expected = [
                f"{c}_{i}" for i in range(self.sqlite_rows_per_statement) for c in self.columns
            ]
            assert list(compiled_multi.positiontup or ()) == expected  # row-major flattening
            self.sqlite_multi_sql = compiled_multi.string
            return
        pg_insert = pg_dialect.insert(table)
        self.pg_statement = pg_insert.on_conflict_do_update(
            index_elements=list(self.key),
            set_={c: pg_insert.excluded[c] for c in updates},
            where=self._changed(pg_insert.excluded, updates),
        )
        stage = sa.table("_sessiond_stage", *[sa.column(c) for c in self.columns])
        self.pg_copy_upsert_sql, self.pg_copy_upsert_distinct_sql = (
            str(self._from_select(select, updates).compile(dialect=self.dialect))
            for select in (
                sa.select(*[stage.c[c] for c in self.columns]),
                # several rows with one key: keep the last one COPY wrote (physical order)
                sa.select(*[stage.c[c] for c in self.columns])
                .distinct(*[stage.c[k] for k in self.key])
                .order_by(
                    *[stage.c[k] for k in self.key],
                    sa.literal_column("_sessiond_stage.ctid").desc(),
                ),
            )
        )
        quoted = ", ".join(self.dialect.identifier_preparer.quote(c) for c in self.columns)
        name = self.dialect.identifier_preparer.format_table(table)
        self.pg_stage_sql = (
            f"CREATE TEMP TABLE _sessiond_stage (LIKE {name} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        self.pg_copy_sql = f"COPY _sessiond_stage ({quoted}) FROM STDIN (FORMAT BINARY)"
        if not self._has_json:
            self.pg_copy_types = [_pg_type_name(c.type) for c in table.columns]

    def _from_select(self, select: sa.Select[Any], updates: list[str]) -> Any:
        insert = pg_dialect.insert(self.table).from_select(list(self.columns), select)
        return insert.on_conflict_do_update(
            index_elements=list(self.key),
            set_={c: insert.excluded[c] for c in updates},
            where=self._changed(insert.excluded, updates),
        )

    def _convert(
        self, rows: list[tuple[Any, ...]], converters: list[tuple[int, Callable[[Any], Any]]]
    ) -> list[tuple[Any, ...]]:
        if not converters:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for index, convert in converters:
                value = values[index]
                if value is not None:
                    values[index] = convert(value)
            out.append(tuple(values))
        return out

    def converter(self, column: str) -> Callable[[Any], Any]:
        """The bind converter of ``column`` (for callers that build ``prepared`` rows)."""
        index = self.columns.index(column)
        return next(convert for i, convert in self._converters if i == index)

    def write(
        self, connection: Connection, rows: Iterable[tuple[Any, ...]], *, prepared: bool = False
    ) -> int:
        """Upsert every row in ``connection``'s transaction; returns how many were given.

        ``prepared``: the caller already applied every column's ``converter`` (hot paths).
        """
        iterator = iter(rows)
        total = 0
        staged = False
        while chunk := list(islice(iterator, _CHUNK_ROWS)):
            total += len(chunk)
            if self.dialect.name == "sqlite":
                cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
                try:
                    values = chunk if prepared else self._convert(chunk, self._converters)
                    self._sqlite_upsert(cursor, values)
                finally:
                    cursor.close()
            elif len(chunk) >= self.copy_min_rows and not self._has_json:
                values = chunk if prepared else self._convert(chunk, self._converters)
                self._copy_upsert(connection, values, create_stage=not staged)
                staged = True
            else:
                checked = chunk if prepared else self._convert(chunk, self._time_converters)
                connection.execute(
                    self.pg_statement,
                    [dict(zip(self.columns, row, strict=True)) for row in checked],
                )
        return total

    def _sqlite_upsert(self, cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        """Rows in order (a later row with the same key updates the earlier one)."""
        per = self.sqlite_rows_per_statement
        full = len(rows) - len(rows) % per if per > 1 else 0
        if full:
            flatten = chain.from_iterable
            cursor.executemany(
                self.sqlite_multi_sql,
                (tuple(flatten(rows[i : i + per])) for i in range(0, full, per)),
            )
        if full < len(rows):
            cursor.executemany(self.sqlite_sql, rows[full:])

    def _copy_upsert(
        self, connection: Connection, rows: list[tuple[Any, ...]], *, create_stage: bool
    ) -> None:
        import psycopg

        driver = connection.connection.driver_connection
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            if create_stage:
                cursor.execute(self.pg_stage_sql)
            else:
                cursor.execute("TRUNCATE _sessiond_stage")
            with cursor.copy(self.pg_copy_sql) as copy:
                copy.set_types(self.pg_copy_types)
                for row in rows:
                    copy.write_row(row)
            cursor.execute("SAVEPOINT sessiond_upsert")
            try:
                cursor.execute(self.pg_copy_upsert_sql)
            except psycopg.errors.CardinalityViolation:  # a key twice in the batch
                cursor.execute("ROLLBACK TO SAVEPOINT sessiond_upsert")
                cursor.execute(self.pg_copy_upsert_distinct_sql)
            cursor.execute("RELEASE SAVEPOINT sessiond_upsert")


_PG_COPY_TYPES: tuple[tuple[type[sa.types.TypeEngine[Any]], str], ...] = (
    (sa.DateTime, "timestamptz"),
    (sa.Float, "float8"),
    (sa.Boolean, "bool"),
    (sa.Date, "date"),
    (sa.Integer, "int4"),
    (sa.String, "text"),
)


def _sqlite_max_parameters() -> int:
    """SQLITE_MAX_VARIABLE_NUMBER of the linked SQLite (32766 since 3.32, 999 before)."""
    import sqlite3

    return 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def _pg_type_name(type_: sa.types.TypeEngine[Any]) -> str:
    """The PostgreSQL type name binary COPY dumps a column's values as."""
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    for sa_type, name in _PG_COPY_TYPES:
        if isinstance(type_, sa_type):
            return name
    raise TypeError(f"no COPY type for {type_!r}")  # JSON tables never use COPY


DATETIME_CACHE_SIZE = 16_384
"""Bound of each UTC column's bind-conversion cache (entries; about 170 bytes each with the
key kept alive, so under 3 MiB): recent instants repeat (bars of many symbols share a minute;
a symbol's 20 days of 1-minute bars are 7,800), and a full cache is cleared."""

UNIQUE_TIME_COLUMNS = frozenset({"ts_received"})
"""Columns whose values are unique per row (arrival stamps made strictly increasing by the
recorder): never cached — a cache would only hold every recorded event's stamp (at 2,000
events/s a 100,000-entry cache was ~17 MiB of a live daemon's heap, for no hit)."""


def _cached_datetime(
    processor: Callable[[Any], Any] | None, label: str, size: int = DATETIME_CACHE_SIZE
) -> Callable[[datetime], Any]:
    """A bind converter for a UTC column that remembers up to ``size`` recent instants
    (0: none). ``convert.cache`` is the cache (tests check its bound)."""
    cache: dict[datetime, Any] = {}

    def convert(value: datetime) -> Any:
        try:
            return cache[value]
        except KeyError:
            pass
        except TypeError:
            raise StoreError(f"{label}: expected an aware UTC datetime, got {value!r}") from None
        aware = _aware(value, label)
        out = processor(aware) if processor is not None else aware
        if size:
            if len(cache) >= size:
                cache.clear()
            cache[value] = out
        return out

    convert.cache = cache  # type: ignore[attr-defined]
    return convert


def _fetch_raw(connection: Connection, stmt: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """Run ``stmt`` on the DBAPI cursor of ``connection``: plain tuples, no type processing.

    Bound values go through their column types' bind processors (so UTC checks and the SQLite
    timestamp format apply); result columns come back as the driver returns them.
    """
    dialect = connection.dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()

    def bound(name: str) -> Any:
        value = values[name]
        bind = compiled.binds.get(name)
        if bind is None:  # one value of an expanded IN (...)
            bind = compiled.binds[name.rsplit("_", 1)[0]]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        return value if processor is None or value is None else processor(value)

    if compiled.positional:
        parameters: Any = tuple(bound(name) for name in compiled.positiontup or ())
    else:
        parameters = {name: bound(name) for name in values}
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.string, parameters)
        return cursor.fetchall()
    finally:
        cursor.close()


def _result_datetime_converter(dialect: str) -> Callable[[Any], datetime]:
    """Driver timestamp (SQLite text, PostgreSQL aware datetime) -> aware UTC, cached."""
    cache: dict[Any, datetime] = {}

    def convert(value: Any) -> datetime:
        try:
            return cache[value]
        except KeyError:
            pass
        if isinstance(value, str):
            out = datetime.fromisoformat(value).replace(tzinfo=UTC)
        elif value.tzinfo is None:
            out = value.replace(tzinfo=UTC)
        else:
            out = value.astimezone(UTC)
        if len(cache) > 200_000:
            cache.clear()
        cache[value] = out
        return out

    return convert


# --- the store --------------------------------------------------------------------------------


class Store:
    """Typed reads and idempotent writes over one database (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name
        self._ready = False
        self._lock = threading.Lock()
        self._writers: dict[str, _TableWriter] = {}
        self.copy_min_rows = COPY_MIN_ROWS
        """PostgreSQL: batches at least this large are staged with COPY (tests lower it)."""
        self.sqlite_rows_per_statement = SQLITE_ROWS_PER_STATEMENT
        """SQLite: rows per multi-row upsert statement (tests lower it)."""

    @classmethod
    def from_url(cls, url: str | None = None) -> Store:
        """Open the store at ``url`` (``None``: the configured ``SESSIOND_DB_URL``).

        Nothing is connected until first use; then the schema is migrated to head.
        """
        return cls(_create_engine(normalize_url(url if url is not None else default_db_url())))

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # --- schema -------------------------------------------------------------------------------

    def upgrade(self) -> str:
        """Migrate the schema to the newest revision (idempotent); returns that revision."""
        from core import migrations

        head = migrations.head_revision()
        try:
            with self.engine.begin() as conn:  # BEGIN IMMEDIATE on SQLite: one migrator
                if self.dialect == "postgresql":
                    conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
                current = migrations.current_revision(conn)
                if current != head:
                    migrations.upgrade(conn)
        except sa.exc.DBAPIError as error:
            raise StoreError(
                f"cannot migrate the store at {self.url}: {_one_line(error.orig)}; check the URL and that "
                "the database is reachable"
            ) from None
        except Exception as error:  # alembic: a revision this sessiond does not know
            if type(error).__module__.startswith("alembic"):
                raise StoreError(
                    f"cannot migrate the store at {self.url}: {_one_line(error)} (the database may have "
                    "been migrated by a newer sessiond)"
                ) from None
            raise
        self._ready = True
        return head

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        from core import migrations

        with self._connect_read(ensure=False) as conn:
            return migrations.current_revision(conn)

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        from core import migrations

        with self._lock:
            if self._ready:
                return
            # usually at head already: check in a read snapshot, so first use never waits
            # behind another process's long write transaction just to learn that
            if self.revision() == migrations.head_revision():
                self._ready = True
            else:
                self.upgrade()

    @contextmanager
    def _connect_read(self, *, ensure: bool = True) -> Iterator[Connection]:
        if ensure:
            self._ensure_ready()
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn.execution_options(sqlite_begin="DEFERRED")
                with conn.begin():
                    yield conn
        except sa.exc.DBAPIError as error:
            raise StoreError(
                f"cannot read the store at {self.url}: {_one_line(error.orig)}"
            ) from None
        except self._driver_errors as error:  # raised on the DBAPI cursor of a fast path
            raise StoreError(f"cannot read the store at {self.url}: {_one_line(error)}") from None

    @contextmanager
    def _connect_write(self) -> Iterator[Connection]:
        self._ensure_ready()
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.DBAPIError as error:
            raise StoreError(
                f"cannot write the store at {self.url}: {_one_line(error.orig)}"
            ) from None
        except sa.exc.StatementError as error:  # a bind check of core.tables failed
            if isinstance(error.orig, StoreError):
                raise error.orig from None
            raise
        except self._driver_errors as error:  # raised on the DBAPI cursor of a fast path
            raise StoreError(f"cannot write the store at {self.url}: {_one_line(error)}") from None

    @property
    def _driver_errors(self) -> type[Exception]:
        return self.engine.dialect.dbapi.Error  # type: ignore[union-attr,no-any-return]

    def _writer(self, table: type[tables.SQLModel], field_names: dict[str, str]) -> _TableWriter:
        core_table = _table(table)
        writer = self._writers.get(core_table.name)
        if writer is None:
            writer = _TableWriter(
                core_table,
                self.engine,
                field_names,
                copy_min_rows=self.copy_min_rows,
                sqlite_rows_per_statement=self.sqlite_rows_per_statement,
            )
            self._writers[core_table.name] = writer
        return writer

    def _upsert(
        self,
        table: type[tables.SQLModel],
        rows: Iterable[tuple[Any, ...]],
        field_names: dict[str, str],
    ) -> int:
        writer = self._writer(table, field_names)
        with self._connect_write() as conn:
            return writer.write(conn, rows)

    # --- bars ---------------------------------------------------------------------------------

    def upsert_bars(self, bars: Iterable[Bar]) -> int:
        """Insert or update bars keyed by (symbol, interval, ts_event, source); returns the count."""
        writer = self._writer(tables.BarRow, {"ts": "Bar.ts_event"})
        ts = writer.converter("ts")  # the only column needing conversion: done while building
        rows = (
            (
                b.symbol,
                b.interval,
                ts(b.ts_event),
                b.source,
                b.open,
                b.high,
                b.low,
                b.close,
                b.volume,
                b.trade_count,
                b.vwap,
            )
            for b in bars
        )
        with self._connect_write() as conn:
            return writer.write(conn, rows, prepared=True)

    def _bar_filter(
        self,
        symbols: str | Sequence[str],
        interval: str,
        start: datetime,
        end: datetime,
        source: str | None,
    ) -> list[sa.ColumnElement[bool]]:
        table = _table(tables.BarRow)
        names = _symbol_list(symbols) or []
        clauses = [
            table.c.symbol.in_(names) if len(names) != 1 else table.c.symbol == names[0],
            table.c.interval == interval,
            table.c.ts >= _aware(start, "start"),
            table.c.ts < _aware(end, "end"),
        ]
        if source is not None:
            clauses.append(table.c.source == source)
        return clauses

    def _bar_rows(
        self,
        symbols: str | Sequence[str],
        interval: str,
        start: datetime,
        end: datetime,
        source: str | None,
    ) -> list[tuple[Any, ...]]:
        """Raw bar tuples (symbol, interval, ts, open, high, low, close, volume, trade_count,
        vwap, source) ordered by ts, symbol, source; ``ts`` aware UTC.

        Runs the compiled SELECT on the DBAPI cursor and converts each distinct timestamp once
        (bars of many symbols share their minutes): several times faster than Row processing.
        """
        table = _table(tables.BarRow)
        stmt = (
            sa.select(
                table.c.symbol,
                table.c.interval,
                table.c.ts,
                table.c.open,
                table.c.high,
                table.c.low,
                table.c.close,
                table.c.volume,
                table.c.trade_count,
                table.c.vwap,
                table.c.source,
            )
            .where(*self._bar_filter(symbols, interval, start, end, source))
            .order_by(table.c.ts, table.c.symbol, table.c.source)
        )
        with self._connect_read() as conn:
            rows = _fetch_raw(conn, stmt)
        to_utc = _result_datetime_converter(self.dialect)
        return [(r[0], r[1], to_utc(r[2]), *r[3:]) for r in rows]

    def read_bars(
        self,
        symbols: str | Sequence[str],
        interval: str,
        start: datetime,
        end: datetime,
        source: str | None = None,
    ) -> list[Bar]:
        """Bars with ``start <= ts_event < end``, ordered by ts_event, symbol, source."""
        return [
            Bar(sym, itv, ts, o, h, lo, c, v, n, vw, src)
            for sym, itv, ts, o, h, lo, c, v, n, vw, src in self._bar_rows(
                symbols, interval, start, end, source
            )
        ]

    def read_bars_frame(
        self,
        symbols: str | Sequence[str],
        interval: str,
        start: datetime,
        end: datetime,
        source: str | None = None,
    ) -> pd.DataFrame:
        """``read_bars`` as a DataFrame with :data:`FRAME_COLUMNS` (``ts`` in UTC)."""
        import pandas as pd

        rows = self._bar_rows(symbols, interval, start, end, source)
        columns = list(zip(*rows, strict=True)) if rows else [()] * 11
        sym, _itv, ts, o, h, lo, c, v, n, vw, src = columns
        return pd.DataFrame(
            {
                "symbol": pd.Series(sym, dtype=object),
                "ts": pd.to_datetime(pd.Series(ts, dtype=object), utc=True),
                "open": pd.Series(o, dtype="float64"),
                "high": pd.Series(h, dtype="float64"),
                "low": pd.Series(lo, dtype="float64"),
                "close": pd.Series(c, dtype="float64"),
                "volume": pd.Series(v, dtype="float64"),
                "trade_count": pd.Series(n, dtype="Int64"),
                "vwap": pd.Series([np_nan if x is None else x for x in vw], dtype="float64"),
                "source": pd.Series(src, dtype=object),
            },
            columns=list(FRAME_COLUMNS),
        )

    def count_bars(
        self,
        symbols: str | Sequence[str],
        interval: str,
        start: datetime,
        end: datetime,
        source: str | None = None,
    ) -> int:
        """How many bars ``read_bars`` would return."""
        stmt = sa.select(sa.func.count()).where(
            *self._bar_filter(symbols, interval, start, end, source)
        )
        with self._connect_read() as conn:
            return int(conn.execute(stmt).scalar_one())

    def bar_days(
        self,
        symbol: str,
        interval: str,
        source: str | None,
        start: datetime,
        end: datetime,
    ) -> dict[date, int]:
        """Bars per UTC calendar date of ``ts`` within ``[start, end)`` (dates without bars absent)."""
        table = _table(tables.BarRow)
        day: sa.ColumnElement[Any]
        if self.dialect == "sqlite":
            day = sa.func.substr(table.c.ts, 1, 10)
        else:
            day = sa.cast(sa.func.timezone("UTC", table.c.ts), sa.Date)
        stmt = (
            sa.select(day.label("day"), sa.func.count())
            .where(*self._bar_filter(symbol, interval, start, end, source))
            .group_by(day)
            .order_by(day)
        )
        with self._connect_read() as conn:
            return {
                (d if isinstance(d, date) else date.fromisoformat(d)): int(n)
                for d, n in conn.execute(stmt)
            }

    def delete_bars(
        self,
        symbols: str | Sequence[str],
        interval: str,
        start: datetime,
        end: datetime,
        source: str | None = None,
    ) -> int:
        """Delete bars with ``start <= ts_event < end``; returns how many were deleted."""
        table = _table(tables.BarRow)
        stmt = sa.delete(table).where(*self._bar_filter(symbols, interval, start, end, source))
        with self._connect_write() as conn:
            return int(conn.execute(stmt).rowcount or 0)

    # --- events sharing timestamps --------------------------------------------------------------

    def _event_select(
        self,
        table: sa.Table,
        symbols: str | Sequence[str],
        start: datetime,
        end: datetime,
        source: str | None,
        order: Sequence[Any] = (),
    ) -> sa.Select[Any]:
        names = _symbol_list(symbols) or []
        stmt = sa.select(table).where(
            table.c.symbol.in_(names),
            table.c.ts >= _aware(start, "start"),
            table.c.ts < _aware(end, "end"),
        )
        if source is not None:
            stmt = stmt.where(table.c.source == source)
        return stmt.order_by(table.c.ts, table.c.symbol, *order, table.c.event_key)

    def upsert_trades(self, trades: Iterable[Trade]) -> int:
        """Insert or update trades keyed by (symbol, ts_event, trade id or content, source)."""
        seen: dict[tuple[Any, ...], int] = {}

        def rows() -> Iterator[tuple[Any, ...]]:
            for t in trades:
                side = t.side.value if t.side is not None else None
                if t.trade_id:
                    key = f"id:{t.trade_id}"
                else:
                    content = _content_key(
                        t.price, t.volume, side, t.trading_session, t.total_volume, t.total_value
                    )
                    marker = (t.symbol, t.ts_event, t.source, content)
                    count = seen.get(marker, 0) + 1
                    seen[marker] = count
                    key = content if count == 1 else f"{content}#{count}"
                yield (
                    t.symbol,
                    t.ts_event,
                    key,
                    t.source,
                    t.price,
                    t.volume,
                    side,
                    t.trading_session,
                    t.total_volume,
                    t.total_value,
                    t.trade_id,
                    t.ts_received,
                )

        return self._upsert(
            tables.TradeRow, rows(), {"ts": "Trade.ts_event", "ts_received": "Trade.ts_received"}
        )

    def read_trades(
        self,
        symbols: str | Sequence[str],
        start: datetime,
        end: datetime,
        source: str | None = None,
    ) -> list[Trade]:
        """Trades in ``[start, end)`` ordered by ts_event, symbol, cumulative volume, arrival."""
        table = _table(tables.TradeRow)
        stmt = self._event_select(
            table,
            symbols,
            start,
            end,
            source,
            (table.c.total_volume.asc().nulls_last(), table.c.ts_received.asc().nulls_last()),
        )
        with self._connect_read() as conn:
            rows = _fetch_raw(conn, stmt)  # trades are replayed by the hundred thousand
        to_utc = _result_datetime_converter(self.dialect)
        sides = {side.value: side for side in Aggressor}
        return [
            Trade(
                symbol,
                to_utc(ts),
                price,
                volume,
                sides.get(side),  # type: ignore[arg-type]
                trading_session,
                total_volume,
                total_value,
                trade_id,
                source_,
                None if received is None else to_utc(received),
            )
            for (
                symbol,
                ts,
                _event_key,
                source_,
                price,
                volume,
                side,
                trading_session,
                total_volume,
                total_value,
                trade_id,
                received,
            ) in rows
        ]

    def upsert_quotes(self, quotes: Iterable[Quote]) -> int:
        """Insert or update quotes keyed by (symbol, ts_event, content, source)."""
        rows = (
            (
                q.symbol,
                q.ts_event,
                _content_key(
                    q.bid_price,
                    q.bid_size,
                    q.ask_price,
                    q.ask_size,
                    q.bids,
                    q.asks,
                    q.trading_session,
                ),
                q.source,
                q.bid_price,
                q.bid_size,
                q.ask_price,
                q.ask_size,
                [list(level) for level in q.bids],
                [list(level) for level in q.asks],
                q.trading_session,
                q.ts_received,
            )
            for q in quotes
        )
        return self._upsert(
            tables.QuoteRow, rows, {"ts": "Quote.ts_event", "ts_received": "Quote.ts_received"}
        )

    def read_quotes(
        self,
        symbols: str | Sequence[str],
        start: datetime,
        end: datetime,
        source: str | None = None,
    ) -> list[Quote]:
        """Quotes in ``[start, end)`` ordered by ts_event, symbol, arrival."""
        table = _table(tables.QuoteRow)
        stmt = self._event_select(
            table, symbols, start, end, source, (table.c.ts_received.asc().nulls_last(),)
        )
        with self._connect_read() as conn:
            return [
                Quote(
                    symbol=r.symbol,
                    ts_event=r.ts,
                    bid_price=r.bid_price,
                    bid_size=r.bid_size,
                    ask_price=r.ask_price,
                    ask_size=r.ask_size,
                    bids=tuple((float(p), float(s)) for p, s in r.bids),
                    asks=tuple((float(p), float(s)) for p, s in r.asks),
                    trading_session=r.trading_session,
                    source=r.source,
                    ts_received=r.ts_received,
                )
                for r in conn.execute(stmt)
            ]

    def upsert_foreign(self, rows: Iterable[ForeignRoom]) -> int:
        """Insert or update foreign-room snapshots keyed by (symbol, ts_event, content, source)."""
        values = (
            (
                f.symbol,
                f.ts_event,
                _content_key(
                    f.buy_volume,
                    f.sell_volume,
                    f.buy_value,
                    f.sell_value,
                    f.total_room,
                    f.current_room,
                ),
                f.source,
                f.buy_volume,
                f.sell_volume,
                f.buy_value,
                f.sell_value,
                f.total_room,
                f.current_room,
                f.ts_received,
            )
            for f in rows
        )
        return self._upsert(
            tables.ForeignRoomRow,
            values,
            {"ts": "ForeignRoom.ts_event", "ts_received": "ForeignRoom.ts_received"},
        )

    def read_foreign(
        self,
        symbols: str | Sequence[str],
        start: datetime,
        end: datetime,
        source: str | None = None,
    ) -> list[ForeignRoom]:
        """Foreign-room snapshots in ``[start, end)`` ordered by ts_event, symbol, cumulative volume."""
        table = _table(tables.ForeignRoomRow)
        stmt = self._event_select(
            table,
            symbols,
            start,
            end,
            source,
            (table.c.buy_volume + table.c.sell_volume, table.c.ts_received.asc().nulls_last()),
        )
        with self._connect_read() as conn:
            return [
                ForeignRoom(
                    symbol=r.symbol,
                    ts_event=r.ts,
                    buy_volume=r.buy_volume,
                    sell_volume=r.sell_volume,
                    buy_value=r.buy_value,
                    sell_value=r.sell_value,
                    total_room=r.total_room,
                    current_room=r.current_room,
                    source=r.source,
                    ts_received=r.ts_received,
                )
                for r in conn.execute(stmt)
            ]

    def upsert_index_ticks(self, ticks: Iterable[IndexTick]) -> int:
        """Insert or update index ticks keyed by (index_id, ts_event, content, source)."""
        rows = (
            (
                i.index_id,
                i.ts_event,
                _content_key(
                    i.value,
                    i.prior_value,
                    i.change,
                    i.ratio_change,
                    i.total_volume,
                    i.total_value,
                    i.advances,
                    i.declines,
                    i.no_changes,
                    i.ceilings,
                    i.floors,
                    i.trading_session,
                ),
                i.source,
                i.value,
                i.prior_value,
                i.change,
                i.ratio_change,
                i.total_volume,
                i.total_value,
                i.advances,
                i.declines,
                i.no_changes,
                i.ceilings,
                i.floors,
                i.trading_session,
                i.ts_received,
            )
            for i in ticks
        )
        return self._upsert(
            tables.IndexTickRow,
            rows,
            {"ts": "IndexTick.ts_event", "ts_received": "IndexTick.ts_received"},
        )

    def read_index_ticks(
        self,
        index_ids: str | Sequence[str],
        start: datetime,
        end: datetime,
        source: str | None = None,
    ) -> list[IndexTick]:
        """Index ticks in ``[start, end)`` ordered by ts_event, index id, cumulative volume."""
        table = _table(tables.IndexTickRow)
        stmt = self._event_select(
            table,
            index_ids,
            start,
            end,
            source,
            (table.c.total_volume.asc().nulls_last(), table.c.ts_received.asc().nulls_last()),
        )
        with self._connect_read() as conn:
            return [
                IndexTick(
                    index_id=r.symbol,
                    ts_event=r.ts,
                    value=r.value,
                    prior_value=r.prior_value,
                    change=r.change,
                    ratio_change=r.ratio_change,
                    total_volume=r.total_volume,
                    total_value=r.total_value,
                    advances=r.advances,
                    declines=r.declines,
                    no_changes=r.no_changes,
                    ceilings=r.ceilings,
                    floors=r.floors,
                    trading_session=r.trading_session,
                    source=r.source,
                    ts_received=r.ts_received,
                )
                for r in conn.execute(stmt)
            ]

    def upsert_statuses(self, statuses: Iterable[SecurityStatus]) -> int:
        """Insert or update security statuses keyed by (symbol, ts_event, content, source)."""
        rows = (
            (
                s.symbol,
                s.ts_event,
                _content_key(s.trading_status, s.trading_session, s.exchange),
                s.source,
                s.trading_status,
                s.trading_session,
                s.exchange,
                s.ts_received,
            )
            for s in statuses
        )
        return self._upsert(
            tables.SecurityStatusRow,
            rows,
            {"ts": "SecurityStatus.ts_event", "ts_received": "SecurityStatus.ts_received"},
        )

    def read_statuses(
        self,
        symbols: str | Sequence[str],
        start: datetime,
        end: datetime,
        source: str | None = None,
    ) -> list[SecurityStatus]:
        """Security statuses in ``[start, end)`` ordered by ts_event, symbol, arrival."""
        table = _table(tables.SecurityStatusRow)
        stmt = self._event_select(
            table, symbols, start, end, source, (table.c.ts_received.asc().nulls_last(),)
        )
        with self._connect_read() as conn:
            return [
                SecurityStatus(
                    symbol=r.symbol,
                    ts_event=r.ts,
                    trading_status=r.trading_status,
                    trading_session=r.trading_session,
                    exchange=r.exchange,
                    source=r.source,
                    ts_received=r.ts_received,
                )
                for r in conn.execute(stmt)
            ]

    # --- derived data ---------------------------------------------------------------------------

    def upsert_indicator_values(self, values: Iterable[IndicatorValue], source: str) -> int:
        """Insert or update indicator values keyed by (name, symbol, as_of, minute_of_day, source)."""
        rows = (
            (
                v.name,
                v.symbol,
                v.as_of,
                tables.DAILY_MINUTE if v.minute_of_day is None else v.minute_of_day,
                source,
                v.value,
                bool(v.complete),
                int(v.observations),
                dict(v.details),
            )
            for v in values
        )
        return self._upsert(tables.IndicatorValueRow, rows, {"as_of": "IndicatorValue.as_of"})

    def read_indicator_values(
        self,
        name: str,
        symbols: str | Sequence[str],
        as_of_start: datetime,
        as_of_end: datetime,
        source: str | None = None,
    ) -> list[IndicatorValue]:
        """Values of indicator ``name`` with ``as_of_start <= as_of < as_of_end``, ordered by
        as_of, symbol, minute_of_day (daily values first)."""
        table = _table(tables.IndicatorValueRow)
        stmt = sa.select(table).where(
            table.c.name == name,
            table.c.symbol.in_(_symbol_list(symbols) or []),
            table.c.as_of >= _aware(as_of_start, "as_of_start"),
            table.c.as_of < _aware(as_of_end, "as_of_end"),
        )
        if source is not None:
            stmt = stmt.where(table.c.source == source)
        stmt = stmt.order_by(table.c.as_of, table.c.symbol, table.c.minute_of_day, table.c.source)
        with self._connect_read() as conn:
            return [
                IndicatorValue(
                    name=r.name,
                    symbol=r.symbol,
                    as_of=r.as_of,
                    value=r.value,
                    complete=bool(r.complete),
                    observations=r.observations,
                    minute_of_day=None
                    if r.minute_of_day == tables.DAILY_MINUTE
                    else r.minute_of_day,
                    details=dict(r.details or {}),
                )
                for r in conn.execute(stmt)
            ]

    def read_indicator_series(
        self, names: str | Sequence[str] | None = None, symbols: str | Sequence[str] | None = None
    ) -> list[IndicatorSeries]:
        """One :class:`IndicatorSeries` per (name, symbol, source, daily / per minute) stored,
        ordered by name, symbol, source."""
        table = _table(tables.IndicatorValueRow)
        per_minute = table.c.minute_of_day != tables.DAILY_MINUTE
        stmt = sa.select(
            table.c.name,
            table.c.symbol,
            table.c.source,
            per_minute.label("per_minute"),
            sa.func.count().label("values"),
            sa.func.min(table.c.as_of, type_=table.c.as_of.type).label("first"),
            sa.func.max(table.c.as_of, type_=table.c.as_of.type).label("last"),
        ).group_by(table.c.name, table.c.symbol, table.c.source, per_minute)
        if names is not None:
            stmt = stmt.where(table.c.name.in_(_symbol_list(names) or []))
        if symbols is not None:
            stmt = stmt.where(table.c.symbol.in_(_symbol_list(symbols) or []))
        stmt = stmt.order_by(table.c.name, table.c.symbol, table.c.source, per_minute)
        with self._connect_read() as conn:
            return [
                IndicatorSeries(
                    r.name, r.symbol, r.source, bool(r.per_minute), r.values, r.first, r.last
                )
                for r in conn.execute(stmt)
            ]

    def upsert_quality(self, rows: Iterable[QualityResult]) -> int:
        """Insert or update quality results keyed by (symbol, interval, trading_date, source)."""
        values = (
            (
                q.symbol,
                q.interval,
                q.trading_date,
                q.source,
                q.expected_bars,
                q.actual_bars,
                q.quality_pct,
                [_aware(m, "QualityResult.missing").isoformat() for m in q.missing],
            )
            for q in rows
        )
        return self._upsert(tables.QualityResultRow, values, {})

    def read_quality(
        self,
        symbols: str | Sequence[str] | None = None,
        interval: str | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        source: str | None = None,
    ) -> list[QualityResult]:
        """Quality results (dates inclusive), ordered by trading_date, symbol, interval."""
        table = _table(tables.QualityResultRow)
        stmt = sa.select(table)
        names = _symbol_list(symbols)
        if names is not None:
            stmt = stmt.where(table.c.symbol.in_(names))
        if interval is not None:
            stmt = stmt.where(table.c.interval == interval)
        if start_date is not None:
            stmt = stmt.where(table.c.trading_date >= start_date)
        if end_date is not None:
            stmt = stmt.where(table.c.trading_date <= end_date)
        if source is not None:
            stmt = stmt.where(table.c.source == source)
        stmt = stmt.order_by(table.c.trading_date, table.c.symbol, table.c.interval, table.c.source)
        with self._connect_read() as conn:
            return [
                QualityResult(
                    symbol=r.symbol,
                    interval=r.interval,
                    trading_date=r.trading_date,
                    expected_bars=r.expected_bars,
                    actual_bars=r.actual_bars,
                    quality_pct=r.quality_pct,
                    missing=tuple(datetime.fromisoformat(m) for m in r.missing or ()),
                    source=r.source,
                )
                for r in conn.execute(stmt)
            ]

    def upsert_phase_volumes(self, rows: Iterable[PhaseVolume]) -> int:
        """Insert or update per-phase volumes keyed by (session_name, symbol, trading_date, phase)."""
        values = (
            (
                p.session_name,
                p.symbol,
                p.trading_date,
                p.phase,
                p.buy_volume,
                p.sell_volume,
                p.neutral_volume,
                p.buy_value,
                p.sell_value,
                p.neutral_value,
                p.trade_count,
                p.last_total_volume,
            )
            for p in rows
        )
        return self._upsert(tables.PhaseVolumeRow, values, {})

    def read_phase_volumes(
        self,
        session_name: str | None = None,
        symbols: str | Sequence[str] | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
    ) -> list[PhaseVolume]:
        """Per-phase volumes (dates inclusive), ordered by trading_date, symbol, phase."""
        table = _table(tables.PhaseVolumeRow)
        stmt = sa.select(table)
        if session_name is not None:
            stmt = stmt.where(table.c.session_name == session_name)
        names = _symbol_list(symbols)
        if names is not None:
            stmt = stmt.where(table.c.symbol.in_(names))
        if start_date is not None:
            stmt = stmt.where(table.c.trading_date >= start_date)
        if end_date is not None:
            stmt = stmt.where(table.c.trading_date <= end_date)
        stmt = stmt.order_by(
            table.c.trading_date, table.c.symbol, table.c.phase, table.c.session_name
        )
        with self._connect_read() as conn:
            return [
                PhaseVolume(
                    session_name=r.session_name,
                    symbol=r.symbol,
                    trading_date=r.trading_date,
                    phase=r.phase,
                    buy_volume=r.buy_volume,
                    sell_volume=r.sell_volume,
                    neutral_volume=r.neutral_volume,
                    buy_value=r.buy_value,
                    sell_value=r.sell_value,
                    neutral_value=r.neutral_value,
                    trade_count=r.trade_count,
                    last_total_volume=r.last_total_volume,
                )
                for r in conn.execute(stmt)
            ]

    # --- session runs ---------------------------------------------------------------------------

    def start_session_run(
        self,
        session_name: str,
        config_path: str,
        mode: str,
        exchange: str,
        start_date: date | None = None,
        end_date: date | None = None,
        *,
        started_at: datetime | None = None,
    ) -> int:
        """Record a run as ``running``; returns its id. ``started_at`` defaults to the
        database's current time (sessiond code does not read the wall clock)."""
        table = _table(tables.SessionRunRow)
        stmt = (
            sa.insert(table)
            .values(
                session_name=session_name,
                config_path=str(config_path),
                mode=mode,
                exchange=exchange,
                start_date=start_date,
                end_date=end_date,
                status="running",
                started_at=(
                    _aware(started_at, "started_at")
                    if started_at is not None
                    else sa.func.current_timestamp()
                ),
                metrics={},
            )
            .returning(table.c.id)
        )
        with self._connect_write() as conn:
            return int(conn.execute(stmt).scalar_one())

    def finish_session_run(
        self,
        run_id: int,
        status: str,
        metrics: dict[str, Any],
        *,
        finished_at: datetime | None = None,
    ) -> None:
        """Set a run's final ``status`` and ``metrics`` (JSON: non-finite floats become null)."""
        table = _table(tables.SessionRunRow)
        stmt = (
            sa.update(table)
            .where(table.c.id == run_id)
            .values(
                status=status,
                metrics=_json_safe(dict(metrics)),
                finished_at=(
                    _aware(finished_at, "finished_at")
                    if finished_at is not None
                    else sa.func.current_timestamp()
                ),
            )
        )
        with self._connect_write() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise StoreError(f"session run {run_id} does not exist; start it first")

    def read_session_runs(
        self,
        session_name: str | None = None,
        limit: int | None = None,
        *,
        run_id: int | None = None,
    ) -> list[SessionRun]:
        """Session runs, newest first (optionally one session's or the one ``run_id``, at
        most ``limit``)."""
        table = _table(tables.SessionRunRow)
        stmt = sa.select(table).order_by(table.c.id.desc())
        if session_name is not None:
            stmt = stmt.where(table.c.session_name == session_name)
        if run_id is not None:
            stmt = stmt.where(table.c.id == run_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._connect_read() as conn:
            return [
                SessionRun(
                    id=r.id,
                    session_name=r.session_name,
                    config_path=r.config_path,
                    mode=r.mode,
                    exchange=r.exchange,
                    start_date=r.start_date,
                    end_date=r.end_date,
                    status=r.status,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    metrics=dict(r.metrics or {}),
                )
                for r in conn.execute(stmt)
            ]
