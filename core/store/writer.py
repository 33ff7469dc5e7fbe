"""The idempotent bulk upsert of row tuples into one table, for SQLite and PostgreSQL.

``INSERT ... ON CONFLICT DO UPDATE`` compiled by SQLAlchemy Core for the dialect, keyed by the
table's primary key: writing the same rows twice changes nothing, writing changed values updates
them; within one call the last occurrence of a key wins; a row whose values did not change is
not rewritten (``ON CONFLICT ... DO UPDATE ... WHERE`` some value ``IS DISTINCT FROM`` the
stored one; tables without JSON columns). SQLite runs the compiled upsert through the DBAPI
``executemany`` with up to 500 rows per statement (within SQLite's parameter limit);
PostgreSQL binary-``COPY``s large batches into a temporary table and upserts them with one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` (small batches use ``executemany``).
``benchmarks/store_upsert.py`` measures both.

Timestamp columns are converted by bounded per-column caches (:func:`cached_datetime`): bars of
many symbols share their minutes, so each distinct instant is checked and converted once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from itertools import chain, islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from core import tables
from core.errors import StoreError
from core.store.engine import aware, json_dumps

_CHUNK_ROWS = 100_000
"""Rows converted and sent per round (bounds memory for very large upserts)."""
COPY_MIN_ROWS = 2_000
"""PostgreSQL batches at least this large go through COPY + INSERT ... SELECT."""
SQLITE_ROWS_PER_STATEMENT = 500
"""Rows per multi-row upsert statement on SQLite (capped by SQLite's parameter limit)."""


class TableWriter:
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
        self.time_converters: dict[str, Callable[[Any], Any]] = {}
        """Column -> its cached UTC converter (row builders apply them; every path)."""
        self._time_converters: list[tuple[int, Callable[[Any], Any]]] = []
        self._other_converters: list[tuple[int, Callable[[Any], Any]]] = []  # raw DBAPI paths
        for index, column in enumerate(table.columns):
            processor = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
            if isinstance(column.type, tables.UTCDateTime):
                label = names.get(column.name, f"{table.name}.{column.name}")
                size = 0 if column.name in UNIQUE_TIME_COLUMNS else DATETIME_CACHE_SIZE
                converter = cached_datetime(processor, label, size)
                self.time_converters[column.name] = converter
                self._time_converters.append((index, converter))
            elif isinstance(column.type, sa.Float):
                continue  # floats (and numpy scalars, adapted in core.store.engine) bind as is
            elif processor is not None and self.dialect.name == "sqlite":
                self._other_converters.append((index, processor))
            elif isinstance(column.type, sa.JSON):
                self._other_converters.append((index, json_dumps))
        self._has_json = any(isinstance(c.type, sa.JSON) for c in table.columns)
        self.builder_converters: dict[str, Callable[[Any], Any]] = dict(self.time_converters)
        """Column -> the converter a row builder applies: the UTC converters, and on SQLite
        (whose rows always go to the driver as they are) the others too."""
        if self.dialect.name == "sqlite":
            for index, convert in self._other_converters:
                self.builder_converters[self.columns[index]] = convert
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
            # The compiled single-row statement with its one VALUES group repeated: the same
            # SQL SQLAlchemy compiles for a multi-row insert (the ON CONFLICT clause refers to
            # ``excluded`` columns only), without compiling thousands of bind parameters.
            group = "(" + ", ".join(["?"] * width) + ")"
            assert self.sqlite_sql.count(group) == 1, self.sqlite_sql
            self.sqlite_multi_sql = self.sqlite_sql.replace(
                group, ", ".join([group] * self.sqlite_rows_per_statement)
            )
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

    def write(
        self,
        connection: Connection,
        rows: Iterable[tuple[Any, ...]],
        *,
        times_converted: bool = False,
    ) -> int:
        """Upsert every row in ``connection``'s transaction; returns how many were given.

        ``times_converted``: the rows were built with :attr:`builder_converters` applied (the
        record mappings build rows that way).
        """
        iterator = iter(rows)
        total = 0
        staged = False
        sqlite = self.dialect.name == "sqlite"
        if times_converted:  # built with builder_converters: on SQLite that is all of them
            raw = [] if sqlite else self._other_converters
        else:
            raw = self._other_converters + self._time_converters
        while chunk := list(islice(iterator, _CHUNK_ROWS)):
            total += len(chunk)
            if sqlite:
                cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
                try:
                    self._sqlite_upsert(cursor, self._convert(chunk, raw))
                finally:
                    cursor.close()
            elif len(chunk) >= self.copy_min_rows and not self._has_json:
                self._copy_upsert(connection, self._convert(chunk, raw), create_stage=not staged)
                staged = True
            else:
                checked = chunk if times_converted else self._convert(chunk, self._time_converters)
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


def cached_datetime(
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
        checked = aware(value, label)
        out = processor(checked) if processor is not None else checked
        if size:
            if len(cache) >= size:
                cache.clear()
            cache[value] = out
        return out

    convert.cache = cache  # type: ignore[attr-defined]
    return convert
