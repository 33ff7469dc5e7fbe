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

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.models import Bar
from core.quality import bar_buckets
from core.timeframes import parse_interval

_FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)


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
        self._source_step: timedelta = step.timedelta
        self._buckets: list[tuple[datetime, datetime, datetime]] = []
        self._index = 0
        self._start = self._end = self._last = _FAR_PAST
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
        step = self._source_step
        self._buckets = [
            (start, end, end - step) for start, end in bar_buckets(session, self.interval)
        ]
        self._index = 0
        self._has = False
        self._reset_accumulators()
        if self._buckets:
            self._start, self._end, self._last = self._buckets[0]

    def update(self, row: Any) -> list[Bar] | None:
        """Fold one source row in; return the bars completed by it, or None."""
        ts = row.ts_event
        if self._has and ts < self._end:
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
        if self._has and ts_event < self._end:
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
        bar = Bar(
            symbol=self.symbol,
            interval=self.interval,
            ts_event=self._start,
            open=self._open,
            high=self._high,
            low=self._low,
            close=self._close,
            volume=volume,
            trade_count=int(self._count) if self._has_count else None,
            vwap=self._pv / volume if volume > 0 else None,
            source=self.source if self.source is not None else self._src,
        )
        self._has = False
        return bar

    def close_day(self) -> list[Bar]:
        """Emit the last partial bar (if any) at the close and forget the day's buckets."""
        out = [self._emit()] if self._has else []
        self._buckets = []
        self._index = 0
        self._start = self._end = self._last = _FAR_PAST
        return out

    def __repr__(self) -> str:
        return f"BarBuilder({self.symbol!r}, {self.interval!r})"


class BarAggregator:
    """Bar builders for every symbol and every target interval of a session.

    ``update(row)`` dispatches by ``row.symbol`` (builders are created on first sight).
    """

    __slots__ = ("intervals", "source_interval", "source", "_builders", "_session")

    def __init__(
        self,
        intervals: Sequence[str],
        *,
        source_interval: str = "1m",
        source: str | None = None,
    ) -> None:
        self.intervals = tuple(intervals)
        for interval in self.intervals:  # validate early
            BarBuilder("_", interval, source_interval=source_interval)
        self.source_interval = source_interval
        self.source = source
        self._builders: dict[str, list[BarBuilder]] = {}
        self._session: Any = None

    def builders(self, symbol: str) -> list[BarBuilder]:
        """The builders of ``symbol`` (one per interval), created and started on first use."""
        found = self._builders.get(symbol)
        if found is None:
            found = [
                BarBuilder(
                    symbol, interval, source_interval=self.source_interval, source=self.source
                )
                for interval in self.intervals
            ]
            if self._session is not None:
                for builder in found:
                    builder.start_day(self._session)
            self._builders[symbol] = found
        return found

    def start_day(self, session: Any) -> None:
        """Start every builder (present and future) on ``session``."""
        self._session = session
        for builders in self._builders.values():
            for builder in builders:
                builder.start_day(session)

    def update(self, row: Any) -> list[Bar] | None:
        """Fold one source row into its symbol's builders; return completed bars or None."""
        builders = self._builders.get(row.symbol)
        if builders is None:
            builders = self.builders(row.symbol)
        out: list[Bar] | None = None
        for builder in builders:
            done = builder.update(row)
            if done:
                if out is None:
                    out = done
                else:
                    out.extend(done)
        return out

    def close_day(self) -> list[Bar]:
        """Flush every symbol's partial bars at the close."""
        out: list[Bar] = []
        for builders in self._builders.values():
            for builder in builders:
                out.extend(builder.close_day())
        self._session = None
        return out


# ---------------------------------------------------------------------------------------------
# Batch path
# ---------------------------------------------------------------------------------------------

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
"""Columns of the frames :func:`aggregate_frame` reads and writes (the store's bar frame)."""


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
    pieces: list[pd.DataFrame] = []
    if frame.empty or bucket_starts.size == 0:
        return _empty_frame()
    for symbol, group in frame.groupby("symbol", sort=True):
        group = group.sort_values("ts", kind="stable")
        ts = _to_ns(group["ts"])
        position = np.searchsorted(bucket_starts, ts, side="right") - 1
        inside = (position >= 0) & (ts < bucket_ends[np.clip(position, 0, None)])
        if not inside.any():
            continue
        position = position[inside]
        sub = group.loc[inside]
        close = sub["close"].to_numpy(dtype=float)
        volume = sub["volume"].to_numpy(dtype=float)
        vwap = sub["vwap"].to_numpy(dtype=float) if "vwap" in sub else np.full(len(sub), np.nan)
        weight = np.where(np.isnan(vwap), close, vwap)
        counts = (
            pd.to_numeric(sub["trade_count"], errors="coerce").to_numpy(dtype=float)
            if "trade_count" in sub
            else np.full(len(sub), np.nan)
        )
        first = np.flatnonzero(np.r_[True, position[1:] != position[:-1]])
        last = np.r_[first[1:] - 1, len(position) - 1]
        total_volume = np.add.reduceat(volume, first)
        pv = np.add.reduceat(weight * volume, first)
        known = ~np.isnan(counts)
        count_sum = np.add.reduceat(np.where(known, counts, 0.0), first)
        count_known = np.logical_or.reduceat(known, first)
        with np.errstate(divide="ignore", invalid="ignore"):
            bar_vwap = np.where(total_volume > 0, pv / total_volume, np.nan)
        sources = sub["source"].to_numpy()[first] if "source" in sub else np.full(len(first), "")
        pieces.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "ts": pd.to_datetime(bucket_starts[position[first]], utc=True),
                    "open": sub["open"].to_numpy(dtype=float)[first],
                    "high": np.maximum.reduceat(sub["high"].to_numpy(dtype=float), first),
                    "low": np.minimum.reduceat(sub["low"].to_numpy(dtype=float), first),
                    "close": close[last],
                    "volume": total_volume,
                    "trade_count": pd.array(
                        np.where(count_known, count_sum, np.nan), dtype="Float64"
                    ).astype("Int64"),
                    "vwap": bar_vwap,
                    "source": sources if source is None else source,
                }
            )
        )
    if not pieces:
        return _empty_frame()
    return pd.concat(pieces, ignore_index=True)[list(FRAME_COLUMNS)]


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
    "BarAggregator",
    "BarBuilder",
    "aggregate_bars",
    "aggregate_frame",
    "frame_to_bars",
    "rows_to_frame",
]
