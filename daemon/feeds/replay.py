"""ReplayFeed: bars from the store (or from arrays) as one time-ordered event stream per day.

The backtest half of "one engine, two clocks". Queue loading asks the feed to ``prefetch`` the
windows ``[start, end)`` (the session, plus included extended hours) of the next
``prefetch_days`` trading days: that is **one** vectorised store read (``read_bars_frame``)
split into per-day, per-symbol sorted columns (numpy). Streaming
a day then walks a k-way merge of those columns by ``ts_event``; ties (several symbols with a
bar at the same minute) are broken by symbol name, so a replay is deterministic.

The engine's hot loop consumes ``daemon.session_data.BarRow`` namedtuples (``Bar``'s field
names, a plain tuple underneath): building them is a bulk ``map`` over ``tolist()`` columns, and
every row of one minute shares one ``datetime`` object. ``trade_count``/``vwap`` are None where
the store had none, exactly as in the ``Bar`` that ``Store.read_bars`` would return.

Two merge strategies give the same sequence (a test proves it): ``"heap"`` — ``heapq.merge``
over the per-symbol row lists keyed on (ts, symbol rank), the classic k-way merge; ``"sorted"``
— the same merge done by one stable numpy ``lexsort`` of the day's columns by (ts, symbol
rank), the default (about 2 µs per event cheaper: no Python-level heap operation per event).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
from operator import itemgetter
from typing import Any, Literal

import numpy as np

from core.models import Bar
from daemon.session_data import BarRow

FrameReader = Callable[[Sequence[str], str, datetime, datetime], Any]
"""``(symbols, interval, start, end) -> DataFrame`` with the columns of ``Store.read_bars_frame``."""

MergeStrategy = Literal["heap", "sorted"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = 1_000_000_000


def ns_to_datetime(ts_ns: int) -> datetime:
    """Integer epoch nanoseconds -> aware UTC datetime (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=ts_ns // 1000)


def datetime_to_ns(ts: datetime) -> int:
    """Aware datetime -> integer epoch nanoseconds."""
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


def row_to_bar(row: BarRow) -> Bar:
    """The frozen ``Bar`` a row stands for (for persisting or handing to subscribers)."""
    return Bar(*row)


@dataclass(slots=True)
class SymbolColumns:
    """One symbol's bars of one day as parallel numpy arrays sorted by ``ts_ns``."""

    symbol: str
    ts_ns: np.ndarray  # int64 epoch ns (bar open)
    open: np.ndarray  # float64
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    trade_count: np.ndarray  # int64, -1 = unknown
    vwap: np.ndarray  # float64, NaN = unknown

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    def slice(self, a: int, b: int) -> SymbolColumns:
        return SymbolColumns(
            self.symbol,
            self.ts_ns[a:b],
            self.open[a:b],
            self.high[a:b],
            self.low[a:b],
            self.close[a:b],
            self.volume[a:b],
            self.trade_count[a:b],
            self.vwap[a:b],
        )

    def rows(self, interval: str, source: str, times: dict[int, datetime]) -> list[BarRow]:
        """This symbol's rows, oldest first (bulk ``tolist`` conversion, no per-row numpy)."""
        return _make_rows(
            [self.symbol] * len(self),
            interval,
            source,
            self.ts_ns,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.trade_count,
            self.vwap,
            times,
        )


def _make_rows(
    symbols: list[str],
    interval: str,
    source: str,
    ts_ns: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    trade_count: np.ndarray,
    vwap: np.ndarray,
    times: dict[int, datetime],
) -> list[BarRow]:
    """Columns -> BarRows; one datetime per distinct timestamp (shared through ``times``)."""
    for ts in np.unique(ts_ns).tolist():
        if ts not in times:
            times[ts] = ns_to_datetime(ts)
    stamps = list(map(times.__getitem__, ts_ns.tolist()))
    counts: list[Any] = trade_count.tolist()
    if (trade_count < 0).any():
        counts = [None if c < 0 else c for c in counts]
    vwaps: list[Any] = vwap.tolist()
    if np.isnan(vwap).any():
        vwaps = [None if v != v else v for v in vwaps]
    n = len(stamps)
    # tuple.__new__(BarRow, fields) builds the namedtuple in C (BarRow(...) would run the
    # generated Python __new__ per row, ~4x slower).
    return list(
        map(
            _new_tuple,
            repeat(BarRow, n),
            zip(
                symbols,
                repeat(interval, n),
                stamps,
                open_.tolist(),
                high.tolist(),
                low.tolist(),
                close.tolist(),
                volume.tolist(),
                counts,
                vwaps,
                repeat(source, n),
                strict=True,
            ),
        )
    )


_new_tuple = tuple.__new__


@dataclass(slots=True)
class DayBars:
    """The streamed interval's bars of one trading day, per symbol (symbols sorted by name)."""

    trading_date: date
    interval: str
    start: datetime
    end: datetime
    source: str = ""
    columns: dict[str, SymbolColumns] = field(default_factory=dict)

    @property
    def event_count(self) -> int:
        return sum(len(c) for c in self.columns.values())

    def rows(self, merge: MergeStrategy = "sorted") -> Iterator[BarRow]:
        """Every row of the day in (ts_event, symbol) order.

        ``"heap"``: ``heapq.merge`` of the per-symbol row lists keyed on (ts_ns, symbol rank).
        ``"sorted"``: one stable numpy ``lexsort`` over the concatenated columns.
        """
        symbols = sorted(self.columns)
        times: dict[int, datetime] = {}
        if merge == "heap":
            keyed = [
                zip(
                    self.columns[s].ts_ns.tolist(),
                    repeat(rank),
                    self.columns[s].rows(self.interval, self.source, times),
                    strict=False,
                )
                for rank, s in enumerate(symbols)
            ]
            return map(_third, heapq.merge(*keyed))
        if merge != "sorted":
            raise ValueError(f"merge strategy {merge!r} is not one of 'heap', 'sorted'")
        if not symbols:
            return iter(())
        cols = [self.columns[s] for s in symbols]
        ts = np.concatenate([c.ts_ns for c in cols])
        rank = np.concatenate([np.full(len(c), i, dtype=np.int32) for i, c in enumerate(cols)])
        order = np.lexsort((rank, ts))
        names = np.array(symbols, dtype=object)[rank[order]].tolist()

        def take(attr: str) -> np.ndarray:
            return np.concatenate([getattr(c, attr) for c in cols])[order]

        return iter(
            _make_rows(
                names,
                self.interval,
                self.source,
                ts[order],
                take("open"),
                take("high"),
                take("low"),
                take("close"),
                take("volume"),
                take("trade_count"),
                take("vwap"),
                times,
            )
        )


_third = itemgetter(2)


def columns_from_frame(
    frame: Any, symbols: Sequence[str] | None = None
) -> dict[str, SymbolColumns]:
    """Split a ``read_bars_frame``-shaped DataFrame into per-symbol sorted columns."""
    out: dict[str, SymbolColumns] = {}
    if frame is None or len(frame) == 0:
        return out
    ts_all = _ts_ns(frame["ts"])
    sym_all = frame["symbol"].to_numpy().astype(str)
    order = np.lexsort((ts_all, sym_all))
    sym_sorted = sym_all[order]
    uniq, starts = np.unique(sym_sorted, return_index=True)
    bounds = [*starts.tolist(), len(order)]
    numeric = {
        name: frame[name].to_numpy(dtype=np.float64, na_value=np.nan)[order]
        for name in ("open", "high", "low", "close", "volume", "vwap")
    }
    counts = frame["trade_count"].to_numpy(dtype=np.float64, na_value=np.nan)[order]
    counts = np.where(np.isnan(counts), -1, counts).astype(np.int64)
    ts_sorted = ts_all[order]
    wanted = None if symbols is None else set(symbols)
    for i, symbol in enumerate(uniq.tolist()):
        if wanted is not None and symbol not in wanted:
            continue
        a, b = bounds[i], bounds[i + 1]
        out[symbol] = SymbolColumns(
            symbol,
            ts_sorted[a:b],
            numeric["open"][a:b],
            numeric["high"][a:b],
            numeric["low"][a:b],
            numeric["close"][a:b],
            numeric["volume"][a:b],
            counts[a:b],
            numeric["vwap"][a:b],
        )
    return out


def _ts_ns(series: Any) -> np.ndarray:
    """A pandas datetime column (aware, naive = UTC, or objects) -> int64 epoch ns."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        values = series.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(dtype):
        values = series
    else:  # objects: parse once (slow path; the store hands out datetime64 columns)
        values = pd.to_datetime(series, utc=True).dt.tz_localize(None)
    return values.to_numpy().astype("datetime64[ns]").astype(np.int64)


@dataclass(frozen=True, slots=True)
class DayWindow:
    """A trading day's streaming window ``[start, end)`` (UTC): the session's open and close,
    widened to the extended phases the session includes (``plugins.history.day_segments``)."""

    trading_date: date
    start: datetime
    end: datetime


class ReplayFeed:
    """Replays the streamed interval's bars of the session's symbols, day by day.

    ``reader`` is ``Store.read_bars_frame`` (or any function with its signature, e.g. one over
    in-memory frames for benchmarks). Prefetched days are kept until ``release``. ``merge`` is
    the strategy the coordinator streams a day with (``"sorted"`` or ``"heap"``).
    """

    def __init__(
        self,
        reader: FrameReader,
        *,
        symbols: Sequence[str],
        interval: str,
        source: str | None = None,
        merge: MergeStrategy = "sorted",
    ) -> None:
        if merge not in ("sorted", "heap"):
            raise ValueError(f"merge strategy {merge!r} is not one of 'heap', 'sorted'")
        self.merge: MergeStrategy = merge
        self._reader = reader
        self.symbols = tuple(sorted(set(symbols)))
        self.interval = interval
        self.source = source
        self._days: dict[date, DayBars] = {}
        self.reads = 0  # store reads made (one per prefetch batch)

    @classmethod
    def from_store(cls, store: Any, **kwargs: Any) -> ReplayFeed:
        source = kwargs.get("source")

        def reader(symbols: Sequence[str], interval: str, start: datetime, end: datetime) -> Any:
            return store.read_bars_frame(list(symbols), interval, start, end, source=source)

        return cls(reader, **kwargs)

    def prefetch(self, windows: Sequence[DayWindow]) -> int:
        """Load every window not loaded yet with one read; returns the rows loaded."""
        todo = [w for w in windows if w.trading_date not in self._days]
        if not todo:
            return 0
        start = min(w.start for w in todo)
        end = max(w.end for w in todo)
        frame = self._reader(self.symbols, self.interval, start, end)
        self.reads += 1
        columns = columns_from_frame(frame, self.symbols)
        loaded = 0
        for window in todo:
            lo, hi = datetime_to_ns(window.start), datetime_to_ns(window.end)
            day = DayBars(
                window.trading_date, self.interval, window.start, window.end, self.source or ""
            )
            for symbol, col in columns.items():
                a, b = np.searchsorted(col.ts_ns, [lo, hi], side="left").tolist()
                if b > a:
                    day.columns[symbol] = col.slice(a, b)
                    loaded += b - a
            self._days[window.trading_date] = day
        return loaded

    def is_loaded(self, trading_date: date) -> bool:
        return trading_date in self._days

    def day(self, window: DayWindow) -> DayBars:
        """The day's bars, prefetching this one day if queue loading has not already."""
        if window.trading_date not in self._days:
            self.prefetch([window])
        return self._days[window.trading_date]

    def release(self, trading_date: date) -> None:
        """Forget a streamed day (end of session)."""
        self._days.pop(trading_date, None)
