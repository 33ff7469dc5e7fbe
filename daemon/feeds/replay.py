"""ReplayFeed: the streamed interval's stored bars, day by day, as columns and then records.

The backtest half of "one engine, two clocks". Queue loading asks the feed to ``prefetch``
the windows (``core.sessions.SessionWindow``: the session plus included extended hours) of the
next ``prefetch_days`` trading days: **one** columnar store read (``Store.read_bar_columns``:
per-symbol numpy columns straight from the database cursor, no DataFrame), sliced per day
into a :class:`DayBlock`. Streaming a day asks the block for its records: one stable
``lexsort`` by (ts_event, symbol) of the day's columns, and ``core.models.Bar`` records built
in bulk (``core.columns.merge_to_bars``), every record of one instant sharing one ``datetime``;
ties (several symbols with a bar at the same minute) are broken by symbol name, so a replay is
deterministic. The block also gives the streamer the columns it resamples the day's generated
bars from (``core.resample``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from core.columns import BarColumns, TimeCache, datetime_to_ns, merge_to_bars
from core.models import Bar
from core.sessions import SessionWindow
from daemon.aggregation.bars import GeneratedBars, IncrementalDay, VectorisedDay
from daemon.feeds.ticks import TickDay


@dataclass(slots=True)
class OpenDay:
    """A trading day ready to stream: its event ``chunks``, how many events are expected (None
    live), and where its generated bars come from (None: nothing is generated)."""

    chunks: AsyncIterator[Iterable[Any]]
    expected: int | None
    generated: IncrementalDay | VectorisedDay | None


ColumnReader = Callable[[Sequence[str], str, datetime, datetime], list[BarColumns]]
"""``(symbols, interval, start, end) -> blocks``: ``Store.read_bar_columns`` with the source
fixed (or any function with that shape, e.g. over in-memory columns for benchmarks)."""


@dataclass(slots=True)
class DayBlock:
    """The streamed interval's bars of one trading day: one ``BarColumns`` per symbol."""

    window: SessionWindow
    interval: str
    columns: dict[str, BarColumns] = field(default_factory=dict)

    @property
    def event_count(self) -> int:
        return sum(len(c) for c in self.columns.values())

    def bars(self, times: TimeCache | None = None) -> list[Bar]:
        """Every bar of the day as records in (ts_event, symbol) order."""
        bars, _ = merge_to_bars([self.columns[s] for s in sorted(self.columns)], times)
        return bars


class ReplayFeed:
    """Replays the streamed interval's bars of the session's symbols, day by day.

    ``reader`` reads columns (:data:`ColumnReader`); prefetched days are kept until
    ``release``.
    """

    def __init__(self, reader: ColumnReader, *, symbols: Sequence[str], interval: str) -> None:
        self._reader = reader
        self.symbols = tuple(sorted(set(symbols)))
        self.interval = interval
        self._days: dict[date, DayBlock] = {}
        self.reads = 0
        """Store reads made (one per prefetch batch)."""

    @classmethod
    def from_store(
        cls, store: Any, *, symbols: Sequence[str], interval: str, source: str | None
    ) -> ReplayFeed:
        """A feed over ``store``'s bars of data source ``source``."""

        def reader(names: Sequence[str], label: str, start: datetime, end: datetime) -> Any:
            return store.read_bar_columns(list(names), label, start, end, source=source)

        return cls(reader, symbols=symbols, interval=interval)

    def prefetch(self, windows: Sequence[SessionWindow]) -> int:
        """Load every window not loaded yet with one read; returns the bars loaded."""
        todo = [w for w in windows if w.date not in self._days]
        if not todo:
            return 0
        start = min(w.start for w in todo)
        end = max(w.end for w in todo)
        blocks = self._reader(self.symbols, self.interval, start, end)
        self.reads += 1
        loaded = 0
        for window in todo:
            lo, hi = datetime_to_ns(window.start), datetime_to_ns(window.end)
            day = DayBlock(window, self.interval)
            for block in blocks:
                a, b = np.searchsorted(block.ts_ns, [lo, hi], side="left").tolist()
                if b > a:
                    day.columns[block.symbol] = block.slice(a, b)
                    loaded += b - a
            self._days[window.date] = day
        return loaded

    def is_loaded(self, trading_date: date) -> bool:
        return trading_date in self._days

    def day(self, window: SessionWindow) -> DayBlock:
        """The day's block, prefetching this one day if queue loading has not already."""
        if window.date not in self._days:
            self.prefetch([window])
        return self._days[window.date]

    def release(self, trading_date: date) -> None:
        """Forget a streamed day (end of session)."""
        self._days.pop(trading_date, None)

    def open_day(
        self,
        window: SessionWindow,
        generated: GeneratedBars,
        *,
        symbols: Sequence[str],
        triggers: bool,
        ticks: TickDay | None,
    ) -> OpenDay:
        """The day to stream: its records (merged with the recorded ``ticks`` by time) as one
        chunk, and its generated bars resampled now (with their emission points when
        ``triggers``: stream subscribers want them)."""
        day = self.day(window)
        bars = day.bars()
        columns = {s: c for s, c in day.columns.items() if s in symbols}
        expected = len(bars) + (ticks.event_count if ticks is not None else 0)
        events: Iterable[Any] = bars if ticks is None else ticks.merge(bars)
        return OpenDay(
            _one_chunk(events),
            expected,
            generated.vectorised(window, columns, bars if triggers else None),
        )


async def _one_chunk(events: Iterable[Any]) -> AsyncIterator[Iterable[Any]]:
    """A replayed day is one chunk: the loop runs without an await per event."""
    yield events


__all__ = ["ColumnReader", "DayBlock", "OpenDay", "ReplayFeed"]
