"""Larger bars (5m, 10m, 15m, 30m, 1h, 1d) built from the streamed smallest interval.

Buckets come from :func:`core.quality.bar_buckets`: aligned to the session open, restarted at
the end of the lunch break, cut at the close (the last bar of a segment may be shorter), and
``1d`` is the whole session. A generated bar is

- ``open`` of the first source bar, ``close`` of the last, ``high``/``low`` the max/min,
- ``volume`` the sum, ``trade_count`` the sum of the known counts (None when none is known),
- ``vwap = sum(w_i * volume_i) / sum(volume_i)`` with ``w_i`` the source bar's vwap, or its
  close when it has none (None when the volume is 0),
- ``ts_event`` the bucket start; ``interval`` the target label; ``source`` the source bars'
  (or the one given).

Two paths give identical bars (a test proves it):

- incremental: :class:`BarBuilder` (one symbol, one interval) and :class:`BarAggregator` (many)
  fold one source row at a time; a bucket is emitted as soon as the row filling its last slot
  arrives (or when a row of a later bucket arrives); :meth:`BarBuilder.close_day` emits the
  last partial bar at the close. Rows outside the session's segments are ignored (``dropped``).
- batch: :func:`aggregate_frame` / :func:`aggregate_bars` (numpy ``reduceat`` per bucket).

Rows are anything with ``Bar``'s attribute names (``Bar``, ``daemon.session_data.BarRow``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.models import Bar
from core.quality import bar_buckets
from core.store import FRAME_COLUMNS  # the frames aggregate_frame reads and writes
from core.timeframes import parse_interval

_FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=256)
def _bucket_table(
    open_: datetime,
    close: datetime,
    break_start: datetime | None,
    break_end: datetime | None,
    interval: str,
    source_step: timedelta,
) -> tuple[tuple[datetime, datetime, datetime], ...]:
    """``(start, end, last source slot)`` of each bucket; shared read-only by every builder of
    the same session and interval (computed once per day, not once per symbol)."""
    session = SimpleNamespace(open=open_, close=close, break_start=break_start, break_end=break_end)
    return tuple((start, end, end - source_step) for start, end in bar_buckets(session, interval))


class BarBuilder:
    """Builds ``interval`` bars of one symbol from source rows of a smaller interval.

    Call :meth:`start_day` with the day's session (anything with ``open, close, break_start,
    break_end``), then :meth:`update` per source row in time order, then :meth:`close_day`.
    ``update`` returns None, or a list of the bars it completed.
    """

    __slots__ = (
        "symbol",
        "interval",
        "source",
        "dropped",
        "_source_step",
        "_buckets",
        "_index",
        "_start",
        "_end",
        "_last",
        "_has",
        "_open_end",
        "_make",
        "_open",
        "_high",
        "_low",
        "_close",
        "_volume",
        "_pv",
        "_count",
        "_has_count",
        "_src",
    )

    def __init__(
        self,
        symbol: str,
        interval: str,
        *,
        source_interval: str = "1m",
        source: str | None = None,
        row_type: Callable[..., Any] = Bar,
    ) -> None:
        target = parse_interval(interval)
        step = parse_interval(source_interval)
        if target <= step:
            raise ConfigError(
                f"interval {interval!r} must be larger than the streamed interval "
                f"{source_interval!r} to be generated from it"
            )
        self.symbol = symbol
        self.interval = interval
        self.source = source
        self.dropped = 0
        """Rows ignored because they fell outside the session's segments."""
        self._make = row_type
        self._source_step: timedelta = step.timedelta
        self._buckets: tuple[tuple[datetime, datetime, datetime], ...] = ()
        self._index = 0
        self._start = self._end = self._last = self._open_end = _FAR_PAST
        self._has = False
        self._reset_accumulators()

    def _reset_accumulators(self) -> None:
        self._open = self._high = self._low = self._close = 0.0
        self._volume = self._pv = 0.0
        self._count = 0
        self._has_count = False
        self._src = ""

    def start_day(self, session: Any) -> None:
        """Prepare the buckets of a session; any unfinished bar of the previous day is discarded
        (call :meth:`close_day` first to keep it)."""
        self._buckets = _bucket_table(
            session.open,
            session.close,
            session.break_start,
            session.break_end,
            self.interval,
            self._source_step,
        )
        self._index = 0
        self._has = False
        self._open_end = _FAR_PAST
        self._reset_accumulators()
        if self._buckets:
            self._start, self._end, self._last = self._buckets[0]

    def update(self, row: Any) -> list[Bar] | None:
        """Fold one source row in; return the bars completed by it, or None."""
        ts = row.ts_event
        if ts < self._open_end:  # the row belongs to the open bucket (fast path)
            high = row.high
            if high > self._high:
                self._high = high
            low = row.low
            if low < self._low:
                self._low = low
            close = row.close
            self._close = close
            volume = row.volume
            self._volume += volume
            weight = row.vwap
            if weight is None or weight != weight:
                weight = close
            self._pv += weight * volume
            count = row.trade_count
            if count is not None and count == count:
                self._count += count
                self._has_count = True
            if ts >= self._last:
                return [self._emit()]
            return None
        return self._roll(
            ts,
            row.open,
            row.high,
            row.low,
            row.close,
            row.volume,
            row.trade_count,
            row.vwap,
            getattr(row, "source", ""),
        )

    def update_values(
        self,
        ts_event: datetime,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        trade_count: int | None = None,
        vwap: float | None = None,
    ) -> list[Bar] | None:
        """:meth:`update` from primitives (no row object needed)."""
        if ts_event < self._open_end:
            if high > self._high:
                self._high = high
            if low < self._low:
                self._low = low
            self._close = close
            self._volume += volume
            if vwap is None or vwap != vwap:
                vwap = close
            self._pv += vwap * volume
            if trade_count is not None and trade_count == trade_count:
                self._count += trade_count
                self._has_count = True
            if ts_event >= self._last:
                return [self._emit()]
            return None
        return self._roll(ts_event, open, high, low, close, volume, trade_count, vwap, "")

    def _roll(
        self,
        ts: datetime,
        open_: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        count: int | None,
        vwap: float | None,
        src: str,
    ) -> list[Bar] | None:
        """Slow path: the row starts a bucket (closing the current one first when needed)."""
        out: list[Bar] = []
        if self._has:
            out.append(self._emit())
        buckets = self._buckets
        index = self._index
        while index < len(buckets) and buckets[index][1] <= ts:
            index += 1
        self._index = index
        if index == len(buckets) or ts < buckets[index][0]:
            self.dropped += 1
            return out or None
        self._start, self._end, self._last = buckets[index]
        self._has = True
        self._open_end = self._end
        self._open = open_
        self._high = high
        self._low = low
        self._close = close
        self._volume = volume
        if vwap is None or vwap != vwap:
            vwap = close
        self._pv = vwap * volume
        if count is not None and count == count:
            self._count = count
            self._has_count = True
        else:
            self._count = 0
            self._has_count = False
        self._src = src
        if ts >= self._last:
            out.append(self._emit())
        return out or None

    def _emit(self) -> Bar:
        volume = self._volume
        bar = self._make(
            self.symbol,
            self.interval,
            self._start,
            self._open,
            self._high,
            self._low,
            self._close,
            volume,
            int(self._count) if self._has_count else None,
            self._pv / volume if volume > 0 else None,
            self.source if self.source is not None else self._src,
        )
        self._has = False
        self._open_end = _FAR_PAST
        return bar

    def close_day(self) -> list[Bar]:
        """Emit the last partial bar (if any) at the close and forget the day's buckets."""
        out = [self._emit()] if self._has else []
        self._buckets = ()
        self._index = 0
        self._start = self._end = self._last = self._open_end = _FAR_PAST
        return out

    def __repr__(self) -> str:
        return f"BarBuilder({self.symbol!r}, {self.interval!r})"


def feeder_plan(intervals: Sequence[str], source_interval: str = "1m") -> dict[str, str]:
    """For each target interval, the interval it is built from: the largest other target that
    divides it (its buckets nest exactly, being aligned to the same segment starts and cut at
    the same segment ends), else the streamed ``source_interval``. ``1d`` is fed by the largest
    intraday target. E.g. ``["5m", "15m", "1h"]`` -> ``{"5m": "1m", "15m": "5m", "1h": "15m"}``.
    """
    parsed = sorted({parse_interval(i) for i in intervals})
    plan: dict[str, str] = {}
    for position, target in enumerate(parsed):
        feeder = source_interval
        for smaller in reversed(parsed[:position]):
            if target.is_daily or target.seconds % smaller.seconds == 0:
                feeder = smaller.label
                break
        plan[target.label] = feeder
    return plan


class _SymbolChain:
    """The builders of one symbol: roots fed by source rows, children fed by their parent."""

    __slots__ = ("roots", "children", "builders")

    def __init__(self, builders: dict[str, BarBuilder], plan: dict[str, str], source: str) -> None:
        self.builders = list(builders.values())
        self.roots = [b for label, b in builders.items() if plan[label] == source]
        self.children: dict[int, list[BarBuilder]] = {}
        for label, builder in builders.items():
            feeder = plan[label]
            if feeder != source:
                self.children.setdefault(id(builders[feeder]), []).append(builder)


class BarAggregator:
    """Bar builders for every symbol and every target interval of a session.

    ``update(row)`` dispatches by ``row.symbol`` (builders are created on first sight). Larger
    intervals are built from smaller generated ones when they nest (:func:`feeder_plan`), so
    per source event only the smallest target does work; the bars are the same as building
    each interval from the source (a test proves it; vwap may differ in the last ulp).
    ``row_type`` is the class of the emitted bars (``Bar``, or the cheaper ``BarRow``).
    """

    __slots__ = (
        "intervals",
        "source_interval",
        "source",
        "row_type",
        "plan",
        "_chains",
        "_session",
    )

    def __init__(
        self,
        intervals: Sequence[str],
        *,
        source_interval: str = "1m",
        source: str | None = None,
        row_type: Callable[..., Any] = Bar,
    ) -> None:
        self.intervals = tuple(intervals)
        for interval in self.intervals:  # validate early
            BarBuilder("_", interval, source_interval=source_interval)
        self.source_interval = source_interval
        self.source = source
        self.row_type = row_type
        self.plan = feeder_plan(self.intervals, source_interval)
        self._chains: dict[str, _SymbolChain] = {}
        self._session: Any = None

    def _chain(self, symbol: str) -> _SymbolChain:
        builders = {
            label: BarBuilder(
                symbol,
                label,
                source_interval=feeder,
                source=self.source,
                row_type=self.row_type,
            )
            for label, feeder in self.plan.items()
        }
        chain = _SymbolChain(builders, self.plan, self.source_interval)
        if self._session is not None:
            for builder in chain.builders:
                builder.start_day(self._session)
        self._chains[symbol] = chain
        return chain

    def builders(self, symbol: str) -> list[BarBuilder]:
        """The builders of ``symbol`` (one per interval, smallest first), created on first use."""
        chain = self._chains.get(symbol)
        return (chain if chain is not None else self._chain(symbol)).builders

    def updater(self, symbol: str) -> Callable[[Any], list[Any] | None]:
        """A fast per-symbol ``update(row)`` for hot loops: no symbol lookup, and with one root
        builder (the usual case) a single call plus the cascade only when a bar completes.

        Stays valid across :meth:`start_day` / :meth:`close_day` (builders are reused).
        """
        chain = self._chains.get(symbol)
        if chain is None:
            chain = self._chain(symbol)
        if len(chain.roots) != 1:
            roots = tuple(chain.roots)
            cascade = self._cascade

            def update_many(row: Any) -> list[Any] | None:
                out: list[Any] | None = None
                for builder in roots:
                    done = builder.update(row)
                    if done:
                        if out is None:
                            out = []
                        cascade(chain, builder, done, out)
                return out

            return update_many
        root = chain.roots[0]
        if not chain.children.get(id(root)):
            return root.update
        root_update = root.update
        cascade = self._cascade

        def update_chain(row: Any) -> list[Any] | None:
            done = root_update(row)
            if done:
                out: list[Any] = []
                cascade(chain, root, done, out)
                return out
            return None

        return update_chain

    def start_day(self, session: Any) -> None:
        """Start every builder (present and future) on ``session``."""
        self._session = session
        for chain in self._chains.values():
            for builder in chain.builders:
                builder.start_day(session)

    def update(self, row: Any) -> list[Any] | None:
        """Fold one source row into its symbol's builders; return completed bars or None."""
        chain = self._chains.get(row.symbol)
        if chain is None:
            chain = self._chain(row.symbol)
        out: list[Any] | None = None
        for builder in chain.roots:
            done = builder.update(row)
            if done:
                if out is None:
                    out = []
                self._cascade(chain, builder, done, out)
        return out

    @staticmethod
    def _cascade(chain: _SymbolChain, builder: BarBuilder, done: list[Any], out: list[Any]) -> None:
        out.extend(done)
        children = chain.children.get(id(builder))
        if children:
            for bar in done:
                for child in children:
                    more = child.update(bar)
                    if more:
                        BarAggregator._cascade(chain, child, more, out)

    def close_day(self) -> list[Any]:
        """Flush every symbol's partial bars at the close (parents first, into their children)."""
        out: list[Any] = []
        for chain in self._chains.values():
            for builder in chain.builders:  # smallest first: a parent's flush feeds its children
                flushed = builder.close_day()
                out.extend(flushed)
                for bar in flushed:
                    for child in chain.children.get(id(builder), ()):
                        more = child.update(bar)
                        if more:
                            self._cascade(chain, child, more, out)
        self._session = None
        return out


# ---------------------------------------------------------------------------------------------
# Batch path
# ---------------------------------------------------------------------------------------------


def _to_ns(values: Any) -> np.ndarray:
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).asi8


def _bucket_arrays(sessions: Iterable[Any], interval: str) -> tuple[np.ndarray, np.ndarray]:
    starts: list[datetime] = []
    ends: list[datetime] = []
    for session in sorted(sessions, key=lambda s: s.open):
        for start, end in bar_buckets(session, interval):
            starts.append(start)
            ends.append(end)
    if not starts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return _to_ns(starts), _to_ns(ends)


def aggregate_frame(
    frame: pd.DataFrame, interval: str, sessions: Iterable[Any], *, source: str | None = None
) -> pd.DataFrame:
    """Aggregate a frame of source bars (columns of :data:`FRAME_COLUMNS`, ``ts`` = bar open,
    any number of symbols and sessions) into ``interval`` bars of the given sessions.

    Rows outside every session's segments are dropped. The result has :data:`FRAME_COLUMNS`,
    ordered by (symbol, ts); ``trade_count`` is a nullable Int64 column, ``vwap`` float (NaN
    when volume is 0).
    """
    bucket_starts, bucket_ends = _bucket_arrays(sessions, interval)
    if frame.empty or bucket_starts.size == 0:
        return _empty_frame()
    codes, symbols = pd.factorize(frame["symbol"], sort=True)
    ts = _to_ns(frame["ts"])
    order = np.lexsort((ts, codes))  # by symbol, then time; stable for equal keys
    ts = ts[order]
    position = np.searchsorted(bucket_starts, ts, side="right") - 1
    inside = (position >= 0) & (ts < bucket_ends[np.clip(position, 0, None)])
    if not inside.any():
        return _empty_frame()
    rows = order[inside]
    position = position[inside]
    codes = codes[rows]

    def column(name: str) -> np.ndarray:
        if name not in frame:
            return np.full(len(rows), np.nan)
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)[rows]

    close = column("close")
    volume = column("volume")
    vwap = column("vwap")
    counts = column("trade_count")
    weight = np.where(np.isnan(vwap), close, vwap)
    starts_group = np.r_[True, (position[1:] != position[:-1]) | (codes[1:] != codes[:-1])]
    first = np.flatnonzero(starts_group)
    last = np.r_[first[1:] - 1, len(position) - 1]
    total_volume = np.add.reduceat(volume, first)
    pv = np.add.reduceat(weight * volume, first)
    known = ~np.isnan(counts)
    count_sum = np.add.reduceat(np.where(known, counts, 0.0), first)
    count_known = np.logical_or.reduceat(known, first)
    with np.errstate(divide="ignore", invalid="ignore"):
        bar_vwap = np.where(total_volume > 0, pv / total_volume, np.nan)
    if source is not None:
        sources: Any = source
    elif "source" in frame:
        sources = frame["source"].to_numpy()[rows][first]
    else:
        sources = ""
    result = pd.DataFrame(
        {
            "symbol": np.asarray(symbols)[codes[first]],
            "ts": pd.to_datetime(bucket_starts[position[first]], utc=True),
            "open": column("open")[first],
            "high": np.maximum.reduceat(column("high"), first),
            "low": np.minimum.reduceat(column("low"), first),
            "close": close[last],
            "volume": total_volume,
            "trade_count": pd.array(
                np.where(count_known, count_sum, np.nan), dtype="Float64"
            ).astype("Int64"),
            "vwap": bar_vwap,
            "source": sources,
        }
    )
    return result[list(FRAME_COLUMNS)]


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame({column: [] for column in FRAME_COLUMNS})


def rows_to_frame(rows: Iterable[Any]) -> pd.DataFrame:
    """Source rows (Bar-like) as a frame with :data:`FRAME_COLUMNS`."""
    records = [
        (
            row.symbol,
            row.ts_event,
            row.open,
            row.high,
            row.low,
            row.close,
            row.volume,
            row.trade_count,
            row.vwap,
            getattr(row, "source", ""),
        )
        for row in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=list(FRAME_COLUMNS))
    frame["vwap"] = pd.to_numeric(frame["vwap"], errors="coerce").astype(float)
    return frame


def frame_to_bars(frame: pd.DataFrame, interval: str) -> list[Bar]:
    """Turn an :func:`aggregate_frame` result into ``Bar`` records."""
    bars: list[Bar] = []
    for row in frame.itertuples(index=False):
        count = row.trade_count
        vwap = row.vwap
        bars.append(
            Bar(
                symbol=row.symbol,
                interval=interval,
                ts_event=row.ts.to_pydatetime(),
                open=float(row.open),
                high=float(row.high),
                low=float(row.low),
                close=float(row.close),
                volume=float(row.volume),
                trade_count=None if count is pd.NA or count is None else int(count),
                vwap=None if vwap != vwap else float(vwap),
                source=row.source,
            )
        )
    return bars


def aggregate_bars(
    rows: Iterable[Any], interval: str, sessions: Iterable[Any], *, source: str | None = None
) -> list[Bar]:
    """Batch (vectorised) aggregation of Bar-like rows; the same bars the incremental path
    builds, ordered by (symbol, ts_event)."""
    return frame_to_bars(
        aggregate_frame(rows_to_frame(rows), interval, sessions, source=source), interval
    )


__all__ = [
    "FRAME_COLUMNS",
    "feeder_plan",
    "BarAggregator",
    "BarBuilder",
    "aggregate_bars",
    "aggregate_frame",
    "frame_to_bars",
    "rows_to_frame",
]
