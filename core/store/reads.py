"""Fast reads: compiled SELECTs run on the DBAPI cursor, and the columnar bar read.

SQLAlchemy's ``Row`` processing costs microseconds per row; the replay path and the warm-up
read hundreds of thousands of bars. :func:`fetch_raw` runs a compiled SELECT on the driver's
cursor and returns plain tuples; the record mappings (``core.store.mappings``) decode them.
:func:`fetch_bar_columns` goes one step further for bars: the cursor's rows become per-symbol
numpy columns (``core.columns.BarColumns``) without any per-bar Python object.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.columns import UNKNOWN_COUNT, BarColumns
from core.store.engine import aware
from core.tables import DAILY_MINUTE, UTCDateTime

_TIME_CACHE_LIMIT = 200_000
"""Distinct instants a result time converter remembers before it starts over."""


def fetch_raw(connection: Connection, stmt: sa.Select[Any]) -> list[tuple[Any, ...]]:
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


def result_datetime_converter() -> Callable[[Any], datetime]:
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
        if len(cache) > _TIME_CACHE_LIMIT:
            cache.clear()
        cache[value] = out
        return out

    return convert


def to_date(value: Any) -> date:
    """A date column's value (SQLite text, PostgreSQL ``date``) as a ``date``."""
    return date.fromisoformat(value) if isinstance(value, str) else value


FRAME_COLUMNS = (
    "symbol", "ts", "open", "high", "low", "close", "volume", "trade_count", "vwap", "source",
)  # fmt: skip
"""Columns of ``Store.read_bars_frame`` (``ts`` is ``datetime64[ns, UTC]``)."""


# --- the columnar bar read ----------------------------------------------------------------------

BAR_COLUMN_ORDER = ("symbol", "source", "ts", "open", "high", "low", "close", "volume")


def bar_columns_select(table: sa.Table, dialect: str, where: list[Any]) -> sa.Select[Any]:
    """The SELECT :func:`fetch_bar_columns` runs: bars ordered by (symbol, source, ts), the time
    as the driver can hand it to numpy fastest (SQLite text; PostgreSQL integer microseconds),
    unknown trade counts as :data:`~core.columns.UNKNOWN_COUNT`."""
    ts: Any = table.c.ts
    if dialect == "postgresql":
        ts = sa.cast(sa.extract("epoch", table.c.ts) * 1_000_000, sa.BigInteger)
    return (
        sa.select(
            *(table.c[name] for name in BAR_COLUMN_ORDER[:2]),
            ts,
            *(table.c[name] for name in BAR_COLUMN_ORDER[3:]),
            sa.func.coalesce(table.c.trade_count, UNKNOWN_COUNT),
            table.c.vwap,
        )
        .where(*where)
        .order_by(table.c.symbol, table.c.source, table.c.ts)
    )


def fetch_bar_columns(
    connection: Connection, stmt: sa.Select[Any], interval: str
) -> list[BarColumns]:
    """Run a :func:`bar_columns_select` and split its rows into one block per (symbol, source),
    in (symbol, source) order: the rows become columns in C (``zip``) and numpy arrays in
    bulk; no per-bar object is made."""
    rows = fetch_raw(connection, stmt)
    if not rows:
        return []
    (symbols, sources, ts, open_, high, low, close, volume, counts, vwap) = zip(*rows, strict=True)
    if isinstance(ts[0], str):  # SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)
        ts_ns = np.array(ts, dtype="datetime64[us]").astype("datetime64[ns]").view(np.int64)
    else:  # PostgreSQL: integer epoch microseconds
        ts_ns = np.array(ts, dtype=np.int64) * 1000
    columns = {
        "open": np.array(open_, dtype=np.float64),
        "high": np.array(high, dtype=np.float64),
        "low": np.array(low, dtype=np.float64),
        "close": np.array(close, dtype=np.float64),
        "volume": np.array(volume, dtype=np.float64),
        "trade_count": np.array(counts, dtype=np.int64),
        "vwap": np.array(vwap, dtype=np.float64),  # None -> NaN
    }
    keys = list(zip(symbols, sources, strict=True))
    blocks: list[BarColumns] = []
    position = 0
    while position < len(keys):
        key = keys[position]
        end = bisect_right(keys, key, lo=position)
        a, b = position, end
        blocks.append(
            BarColumns(
                key[0],
                interval,
                key[1],
                ts_ns[a:b],
                *(columns[name][a:b] for name in BarColumns.NUMERIC),
            )
        )
        position = end
    return blocks


def ranges_subquery(ranges: Sequence[tuple[datetime, datetime]]) -> Any:
    """``ranges`` as a subquery ``spans(i, lo, hi)`` (a UNION ALL of literal rows: portable to
    SQLite and PostgreSQL) to join bars against: one query answers for many time ranges."""
    return sa.union_all(
        *(
            sa.select(
                sa.literal(i).label("i"),
                sa.literal(aware(lo, "start"), UTCDateTime).label("lo"),
                sa.literal(aware(hi, "end"), UTCDateTime).label("hi"),
            )
            for i, (lo, hi) in enumerate(ranges)
        )
    ).subquery("spans")


def indicator_series_select(
    table: sa.Table, names: list[str] | None, symbols: list[str] | None
) -> sa.Select[Any]:
    """Per (name, symbol, source, per minute or daily): the count and the first and last
    ``as_of`` of the stored indicator values (``Store.read_indicator_series``)."""
    per_minute = table.c.minute_of_day != DAILY_MINUTE
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
        stmt = stmt.where(table.c.name.in_(names))
    if symbols is not None:
        stmt = stmt.where(table.c.symbol.in_(symbols))
    return stmt.order_by(table.c.name, table.c.symbol, table.c.source, per_minute)


def bars_frame(blocks: list[BarColumns]) -> Any:
    """Blocks as one pandas DataFrame with :data:`FRAME_COLUMNS`, ordered by ts, symbol,
    source (``trade_count`` nullable ``Int64``, ``vwap`` NaN when unknown)."""
    import pandas as pd

    sizes = [len(b) for b in blocks]

    def joined(name: str, dtype: Any) -> np.ndarray:
        if not blocks:
            return np.empty(0, dtype=dtype)
        return np.concatenate([getattr(b, name) for b in blocks])

    counts = joined("trade_count", np.int64)
    frame = pd.DataFrame(
        {
            "symbol": pd.Series(np.repeat([b.symbol for b in blocks], sizes), dtype=object),
            "ts": pd.to_datetime(joined("ts_ns", np.int64), utc=True),
            **{name: joined(name, np.float64) for name in ("open", "high", "low", "close")},
            "volume": joined("volume", np.float64),
            "trade_count": pd.Series(counts, dtype="Int64").mask(counts < 0),
            "vwap": joined("vwap", np.float64),
            "source": pd.Series(np.repeat([b.source for b in blocks], sizes), dtype=object),
        },
        columns=list(FRAME_COLUMNS),
    )
    return frame.sort_values(["ts", "symbol", "source"], kind="stable", ignore_index=True)


__all__ = [
    "FRAME_COLUMNS",
    "bars_frame",
    "ranges_subquery",
    "bar_columns_select",
    "fetch_bar_columns",
    "fetch_raw",
    "indicator_series_select",
    "result_datetime_converter",
    "to_date",
]
