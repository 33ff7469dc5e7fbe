"""``Store``: typed reads and idempotent writes over one database (SQLite or PostgreSQL).

``Store.from_url(url)`` opens a store (``None`` means ``SESSIOND_DB_URL`` through
``core.settings``, default ``sqlite:///var/sessiond.db``). The schema is migrated with Alembic
(``core.migrations``) the first time the store is used, so ``sessiond db upgrade`` and first
use agree.

Every write of a record goes through its mapping (``core.store.mappings``) and the table's
upsert writer (``core.store.writer``): idempotent, keyed by the table's natural key. Events
that can share a timestamp (trades, quotes, foreign room, index ticks, statuses) carry an
``event_key``: the vendor trade id when there is one, else a short hash of the event's content
(a trade identical to an earlier one at the same instant in the same call gets ``#2``, ``#3``
... appended, so two real identical prints are both kept and re-writing the batch stays
idempotent). Reads run compiled SELECTs on the driver's cursor (``core.store.reads``); bars
also read as columns (:meth:`Store.read_bar_columns`, the replay path and the warm-up).

Timestamps are aware UTC in and out; a naive datetime raises ``StoreError`` naming the field.
Time ranges are half-open: ``start <= ts < end``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from itertools import repeat
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.columns import BarColumns
from core.errors import StoreError
from core.models import (
    Bar,
    ForeignRoom,
    IndexTick,
    IndicatorSeries,
    IndicatorValue,
    PhaseVolume,
    QualityResult,
    Quote,
    SecurityStatus,
    SessionRun,
    Trade,
)
from core.store import mappings
from core.store.engine import (
    Database,
    aware,
    json_safe,
    symbol_list,
)
from core.store.mappings import RecordMapping
from core.store.reads import (
    bar_columns_select,
    bars_frame,
    fetch_bar_columns,
    fetch_raw,
    indicator_series_select,
    ranges_subquery,
    result_datetime_converter,
    to_date,
)
from core.store.writer import COPY_MIN_ROWS, SQLITE_ROWS_PER_STATEMENT, TableWriter

if TYPE_CHECKING:
    import pandas as pd

Symbols = str | Sequence[str]
Src = str | None
"""A data source name; None: every source."""


class Store(Database):
    """Typed reads and idempotent writes over one database (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._writers: dict[str, TableWriter] = {}
        self._builders: dict[str, Any] = {}
        self.copy_min_rows = COPY_MIN_ROWS
        """PostgreSQL: batches at least this large are staged with COPY (tests lower it)."""
        self.sqlite_rows_per_statement = SQLITE_ROWS_PER_STATEMENT
        """SQLite: rows per multi-row upsert statement (tests lower it)."""

    # --- the generic write and read of a mapped record ------------------------------------------

    def _writer(self, mapping: RecordMapping) -> TableWriter:
        table = mapping.core_table
        writer = self._writers.get(table.name)
        if writer is None:
            writer = TableWriter(
                table,
                self.engine,
                mapping.field_labels(),
                copy_min_rows=self.copy_min_rows,
                sqlite_rows_per_statement=self.sqlite_rows_per_statement,
            )
            self._writers[table.name] = writer
        return writer

    def _write(self, mapping: RecordMapping, records: Iterable[Any], **parameters: Any) -> int:
        """Upsert ``records`` through their mapping; returns how many were given."""
        writer = self._writer(mapping)
        build = self._builders.get(writer.table.name)
        if build is None:
            build = self._builders[writer.table.name] = mapping.row_builder(
                writer.builder_converters
            )
        state: dict[Any, Any] = {}
        rows = map(build, records, repeat(state), repeat(parameters))
        with self._connect_write() as conn:
            return writer.write(conn, rows, times_converted=True)

    def _read(
        self, mapping: RecordMapping, where: Sequence[Any], limit: int | None = None
    ) -> list[Any]:
        """Records of ``mapping`` matching ``where``, in the mapping's read order."""
        table = mapping.core_table
        stmt = sa.select(table).where(*where).order_by(*mapping.order_by())
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._connect_read() as conn:
            rows = fetch_raw(conn, stmt)
        make = mapping.record_builder(result_datetime_converter())
        return list(map(make, rows))

    # --- bars ---------------------------------------------------------------------------------

    def upsert_bars(self, bars: Iterable[Bar]) -> int:
        """Insert or update bars keyed by (symbol, interval, ts_event, source); returns the count."""
        return self._write(mappings.BARS, bars)

    def _bar_filter(
        self, symbols: Symbols, interval: str, start: datetime, end: datetime, source: str | None
    ) -> list[sa.ColumnElement[bool]]:
        table = mappings.BARS.core_table
        names = symbol_list(symbols) or []
        clauses = [
            table.c.symbol.in_(names) if len(names) != 1 else table.c.symbol == names[0],
            table.c.interval == interval,
            table.c.ts >= aware(start, "start"),
            table.c.ts < aware(end, "end"),
        ]
        if source is not None:
            clauses.append(table.c.source == source)
        return clauses

    def read_bars(
        self, symbols: Symbols, interval: str, start: datetime, end: datetime, source: Src = None
    ) -> list[Bar]:
        """Bars with ``start <= ts_event < end``, ordered by ts_event, symbol, source."""
        return self._read(mappings.BARS, self._bar_filter(symbols, interval, start, end, source))

    def read_bar_columns(
        self, symbols: Symbols, interval: str, start: datetime, end: datetime, source: Src = None
    ) -> list[BarColumns]:
        """The bars of ``read_bars`` as columns: one ``BarColumns`` per (symbol, source), in
        (symbol, source) order, each sorted by time. Read straight from the database cursor
        into numpy arrays (no record, no DataFrame): the replay path and the warm-up."""
        where = self._bar_filter(symbols, interval, start, end, source)
        stmt = bar_columns_select(mappings.BARS.core_table, self.dialect, where)
        with self._connect_read() as conn:
            return fetch_bar_columns(conn, stmt, interval)

    def read_bars_frame(
        self, symbols: Symbols, interval: str, start: datetime, end: datetime, source: Src = None
    ) -> pd.DataFrame:
        """``read_bars`` as a DataFrame with :data:`FRAME_COLUMNS` (``ts`` in UTC), ordered by
        ts, symbol, source: a thin wrapper of :meth:`read_bar_columns` for the CLI and
        Dagster."""
        return bars_frame(self.read_bar_columns(symbols, interval, start, end, source))

    def count_bars(
        self, symbols: Symbols, interval: str, start: datetime, end: datetime, source: Src = None
    ) -> int:
        """How many bars ``read_bars`` would return."""
        stmt = sa.select(sa.func.count()).where(
            *self._bar_filter(symbols, interval, start, end, source)
        )
        with self._connect_read() as conn:
            return int(conn.execute(stmt).scalar_one())

    def bar_counts(
        self,
        symbols: Symbols,
        interval: str,
        ranges: Sequence[tuple[datetime, datetime]],
        source: str | None = None,
    ) -> dict[tuple[str, int], int]:
        """Bars per (symbol, index of the range in ``ranges``) with ``start <= ts < end``, for
        every range at once: one query (ranges must not overlap; absent keys have no bars)."""
        if not ranges:
            return {}
        table = mappings.BARS.core_table
        names = symbol_list(symbols) or []
        spans = ranges_subquery(ranges)
        clauses = [
            table.c.symbol.in_(names),
            table.c.interval == interval,
            table.c.ts >= spans.c.lo,
            table.c.ts < spans.c.hi,
        ]
        if source is not None:
            clauses.append(table.c.source == source)
        stmt = (
            sa.select(table.c.symbol, spans.c.i, sa.func.count())
            .select_from(spans)
            .join(table, sa.and_(*clauses))
            .group_by(table.c.symbol, spans.c.i)
        )
        with self._connect_read() as conn:
            return {(symbol, int(i)): int(n) for symbol, i, n in fetch_raw(conn, stmt)}

    def bar_days(
        self, symbol: str, interval: str, source: str | None, start: datetime, end: datetime
    ) -> dict[date, int]:
        """Bars per UTC calendar date of ``ts`` within ``[start, end)`` (dates without bars absent)."""
        table = mappings.BARS.core_table
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
            return {to_date(d): int(n) for d, n in conn.execute(stmt)}

    def delete_bars(
        self, symbols: Symbols, interval: str, start: datetime, end: datetime, source: Src = None
    ) -> int:
        """Delete bars with ``start <= ts_event < end``; returns how many were deleted."""
        table = mappings.BARS.core_table
        stmt = sa.delete(table).where(*self._bar_filter(symbols, interval, start, end, source))
        with self._connect_write() as conn:
            return int(conn.execute(stmt).rowcount or 0)

    # --- events sharing timestamps --------------------------------------------------------------

    def _event_filter(
        self, mapping: RecordMapping, symbols: Symbols, start: datetime, end: datetime,
        source: str | None,
    ) -> list[Any]:  # fmt: skip
        table = mapping.core_table
        clauses = [
            table.c.symbol.in_(symbol_list(symbols) or []),
            table.c.ts >= aware(start, "start"),
            table.c.ts < aware(end, "end"),
        ]
        if source is not None:
            clauses.append(table.c.source == source)
        return clauses

    def upsert_trades(self, trades: Iterable[Trade]) -> int:
        """Insert or update trades keyed by (symbol, ts_event, trade id or content, source)."""
        return self._write(mappings.TRADES, trades)

    def read_trades(
        self, symbols: Symbols, start: datetime, end: datetime, source: str | None = None
    ) -> list[Trade]:
        """Trades in ``[start, end)`` ordered by ts_event, symbol, cumulative volume, arrival."""
        where = self._event_filter(mappings.TRADES, symbols, start, end, source)
        return self._read(mappings.TRADES, where)

    def upsert_quotes(self, quotes: Iterable[Quote]) -> int:
        """Insert or update quotes keyed by (symbol, ts_event, content, source)."""
        return self._write(mappings.QUOTES, quotes)

    def read_quotes(
        self, symbols: Symbols, start: datetime, end: datetime, source: str | None = None
    ) -> list[Quote]:
        """Quotes in ``[start, end)`` ordered by ts_event, symbol, arrival."""
        where = self._event_filter(mappings.QUOTES, symbols, start, end, source)
        return self._read(mappings.QUOTES, where)

    def upsert_foreign(self, rows: Iterable[ForeignRoom]) -> int:
        """Insert or update foreign-room snapshots keyed by (symbol, ts_event, content, source)."""
        return self._write(mappings.FOREIGN_ROOM, rows)

    def read_foreign(
        self, symbols: Symbols, start: datetime, end: datetime, source: str | None = None
    ) -> list[ForeignRoom]:
        """Foreign-room snapshots in ``[start, end)`` ordered by ts_event, symbol, cumulative
        volume."""
        where = self._event_filter(mappings.FOREIGN_ROOM, symbols, start, end, source)
        return self._read(mappings.FOREIGN_ROOM, where)

    def upsert_index_ticks(self, ticks: Iterable[IndexTick]) -> int:
        """Insert or update index ticks keyed by (index_id, ts_event, content, source)."""
        return self._write(mappings.INDEX_TICKS, ticks)

    def read_index_ticks(
        self, index_ids: Symbols, start: datetime, end: datetime, source: str | None = None
    ) -> list[IndexTick]:
        """Index ticks in ``[start, end)`` ordered by ts_event, index id, cumulative volume."""
        where = self._event_filter(mappings.INDEX_TICKS, index_ids, start, end, source)
        return self._read(mappings.INDEX_TICKS, where)

    def upsert_statuses(self, statuses: Iterable[SecurityStatus]) -> int:
        """Insert or update security statuses keyed by (symbol, ts_event, content, source)."""
        return self._write(mappings.STATUSES, statuses)

    def read_statuses(
        self, symbols: Symbols, start: datetime, end: datetime, source: str | None = None
    ) -> list[SecurityStatus]:
        """Security statuses in ``[start, end)`` ordered by ts_event, symbol, arrival."""
        where = self._event_filter(mappings.STATUSES, symbols, start, end, source)
        return self._read(mappings.STATUSES, where)

    # --- derived data ---------------------------------------------------------------------------

    def upsert_indicator_values(self, values: Iterable[IndicatorValue], source: str) -> int:
        """Insert or update indicator values keyed by (name, symbol, as_of, minute_of_day,
        source)."""
        return self._write(mappings.INDICATOR_VALUES, values, source=source)

    def read_indicator_values(
        self,
        name: str | Sequence[str],
        symbols: Symbols,
        as_of_start: datetime,
        as_of_end: datetime,
        source: str | None = None,
    ) -> list[IndicatorValue]:
        """Values of indicator ``name`` (or of several names) with ``as_of_start <= as_of <
        as_of_end``, ordered by as_of, symbol, minute_of_day (daily values first)."""
        table = mappings.INDICATOR_VALUES.core_table
        where = [
            table.c.name.in_(symbol_list(name) or []),
            table.c.symbol.in_(symbol_list(symbols) or []),
            table.c.as_of >= aware(as_of_start, "as_of_start"),
            table.c.as_of < aware(as_of_end, "as_of_end"),
        ]
        if source is not None:
            where.append(table.c.source == source)
        return self._read(mappings.INDICATOR_VALUES, where)

    def read_indicator_series(
        self, names: Symbols | None = None, symbols: Symbols | None = None
    ) -> list[IndicatorSeries]:
        """One :class:`~core.models.IndicatorSeries` per (name, symbol, source, daily / per
        minute) stored, ordered by name, symbol, source."""
        stmt = indicator_series_select(
            mappings.INDICATOR_VALUES.core_table, symbol_list(names), symbol_list(symbols)
        )
        with self._connect_read() as conn:
            return [
                IndicatorSeries(r.name, r.symbol, r.source, bool(r.per_minute), *r[4:])
                for r in conn.execute(stmt)
            ]

    def upsert_quality(self, rows: Iterable[QualityResult]) -> int:
        """Insert or update quality results keyed by (symbol, interval, trading_date, source)."""
        return self._write(mappings.QUALITY, rows)

    def read_quality(
        self,
        symbols: Symbols | None = None,
        interval: str | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
        source: str | None = None,
    ) -> list[QualityResult]:
        """Quality results (dates inclusive), ordered by trading_date, symbol, interval."""
        table = mappings.QUALITY.core_table
        where = _optional(
            (table.c.symbol.in_, symbol_list(symbols)),
            (table.c.interval.__eq__, interval),
            (table.c.trading_date.__ge__, start_date),
            (table.c.trading_date.__le__, end_date),
            (table.c.source.__eq__, source),
        )
        return self._read(mappings.QUALITY, where)

    def upsert_phase_volumes(self, rows: Iterable[PhaseVolume]) -> int:
        """Insert or update per-phase volumes keyed by (session_name, symbol, trading_date,
        phase)."""
        return self._write(mappings.PHASE_VOLUMES, rows)

    def read_phase_volumes(
        self,
        session_name: str | None = None,
        symbols: Symbols | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
    ) -> list[PhaseVolume]:
        """Per-phase volumes (dates inclusive), ordered by trading_date, symbol, phase."""
        table = mappings.PHASE_VOLUMES.core_table
        where = _optional(
            (table.c.session_name.__eq__, session_name),
            (table.c.symbol.in_, symbol_list(symbols)),
            (table.c.trading_date.__ge__, start_date),
            (table.c.trading_date.__le__, end_date),
        )
        return self._read(mappings.PHASE_VOLUMES, where)

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
        table = mappings.SESSION_RUNS.core_table
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
                    aware(started_at, "started_at")
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
        table = mappings.SESSION_RUNS.core_table
        stmt = (
            sa.update(table)
            .where(table.c.id == run_id)
            .values(
                status=status,
                metrics=json_safe(dict(metrics)),
                finished_at=(
                    aware(finished_at, "finished_at")
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
        table = mappings.SESSION_RUNS.core_table
        where = _optional((table.c.session_name.__eq__, session_name), (table.c.id.__eq__, run_id))
        return self._read(mappings.SESSION_RUNS, where, limit)


def _optional(*conditions: tuple[Any, Any]) -> list[Any]:
    """``make(value)`` for every (make, value) whose value is not None."""
    return [make(value) for make, value in conditions if value is not None]
