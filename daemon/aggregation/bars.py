"""Generated bars (5m, 10m, 15m, 30m, 1h, 1d) of a streamed day, incremental or vectorised.

The bars themselves are defined once, in ``core.resample`` (buckets along the session window,
OHLC, summed volume, trade count and vwap rules). Here they are produced while a day streams,
in two ways that give equal bars **and** equal emission points (tests prove both):

- incremental (live): :class:`BarBuilder` (one symbol, one interval) and :class:`BarAggregator`
  (many) fold one streamed bar at a time; a bucket is emitted as soon as the bar filling its
  last slot arrives, or when a bar of a later bucket arrives; :meth:`BarBuilder.close_day`
  emits the last partial bar. :class:`IncrementalDay` runs them over a day's aggregation
  groups.
- vectorised (backtest): :class:`VectorisedDay` resamples the day's columns when the day is
  loaded (``core.resample``) and computes, for each generated bar, the streamed bar after
  which the incremental path would have emitted it (or that it is flushed when its group ends).

A day's **aggregation groups** (:func:`aggregation_groups`): the regular session (lunch break
inside: its buckets restart after the break), and each included extended segment on its own
(buckets aligned to the segment's start, cut at its end, intraday intervals only), so no
generated bar spans the regular open or close. Bars emitted at one point are in canonical
order (:func:`canonical`): symbol, interval length, bucket start.

Rows are ``core.models.Bar`` records (anything ``BarLike``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from core.columns import BarColumns, datetime_to_ns
from core.errors import ConfigError
from core.models import Bar
from core.resample import bar_buckets, bucket_bounds_ns, resample
from core.sessions import SessionWindow
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
    window = SessionWindow(open_.date(), open_, close, break_start, break_end)
    return tuple((start, end, end - source_step) for start, end in bar_buckets(window, interval))


class BarBuilder:
    """Builds ``interval`` bars of one symbol from source rows of a smaller interval.

    Call :meth:`start_day` with the day's ``SessionWindow`` (anything with ``open, close,
    break_start, break_end``), then :meth:`update` per source row in time order, then
    :meth:`close_day`.
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
        self._make = Bar
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


def feeder_plan(
    intervals: Sequence[str], source_interval: str = "1m", *, chained: bool = True
) -> dict[str, str]:
    """For each target interval, the interval it is built from: the largest other target that
    divides it (its buckets nest exactly, being aligned to the same segment starts and cut at
    the same segment ends), else the streamed ``source_interval``. ``1d`` is fed by the largest
    intraday target. E.g. ``["5m", "15m", "1h"]`` -> ``{"5m": "1m", "15m": "5m", "1h": "15m"}``.
    ``chained=False``: every target from ``source_interval``.
    """
    parsed = sorted({parse_interval(i) for i in intervals})
    plan: dict[str, str] = {}
    for position, target in enumerate(parsed):
        feeder = source_interval
        if not chained:
            plan[target.label] = feeder
            continue
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

    ``update(row)`` dispatches by ``row.symbol`` (builders are created on first sight). With
    ``chained`` (the default) larger intervals are built from smaller generated ones when they
    nest (:func:`feeder_plan`), so per source event only the smallest target does work; the
    bars are the same as building each interval from the source (a test proves it; vwap may
    differ in the last ulp, and a bar may be emitted later when its last smaller bucket is
    empty). ``chained=False`` builds each interval straight from the source rows: the
    emission points of ``core.resample``'s vectorised counterpart (:class:`VectorisedDay`).
    """

    __slots__ = (
        "intervals",
        "source_interval",
        "source",
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
        chained: bool = True,
    ) -> None:
        self.intervals = tuple(intervals)
        for interval in self.intervals:  # validate early
            BarBuilder("_", interval, source_interval=source_interval)
        self.source_interval = source_interval
        self.source = source
        self.plan = feeder_plan(self.intervals, source_interval, chained=chained)
        self._chains: dict[str, _SymbolChain] = {}
        self._session: Any = None

    def _chain(self, symbol: str) -> _SymbolChain:
        builders = {
            label: BarBuilder(symbol, label, source_interval=feeder, source=self.source)
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
# A streamed day's generated bars: groups, canonical order, incremental and vectorised days
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AggregationGroup:
    """A span of the day whose bars are bucketed together: ``window`` gives the buckets
    (``core.resample.bar_buckets``), ``intervals`` the generated intervals built in it."""

    start: datetime
    end: datetime
    window: SessionWindow
    intervals: tuple[str, ...]


def aggregation_groups(window: SessionWindow, intervals: Sequence[str]) -> list[AggregationGroup]:
    """The regular session (every interval) and each extended segment (intraday intervals
    only, buckets aligned to the segment's start), in time order; groups without an interval
    are left out."""
    intraday = tuple(i for i in intervals if not parse_interval(i).is_daily)
    groups = []
    regular = window.regular
    for segment in window.extended_segments:
        if segment.end <= window.open and intraday:
            sub = SessionWindow(window.date, segment.start, segment.end)
            groups.append(AggregationGroup(segment.start, segment.end, sub, intraday))
    if intervals:
        groups.append(AggregationGroup(window.open, window.close, regular, tuple(intervals)))
    for segment in window.extended_segments:
        if segment.start >= window.close and intraday:
            sub = SessionWindow(window.date, segment.start, segment.end)
            groups.append(AggregationGroup(segment.start, segment.end, sub, intraday))
    return groups


def _canonical_key(bar: Bar) -> tuple[str, int, datetime]:
    return bar.symbol, parse_interval(bar.interval).seconds, bar.ts_event


def canonical(bars: list[Bar]) -> list[Bar]:
    """Bars emitted at one point of the stream in their canonical order: symbol, interval
    length, bucket start."""
    if len(bars) > 1:
        bars.sort(key=_canonical_key)
    return bars


@dataclass(frozen=True, slots=True)
class GeneratedBars:
    """What a session generates: ``intervals`` from the streamed ``source_interval``, stored
    under ``source``; makes each day's :class:`IncrementalDay` or :class:`VectorisedDay`."""

    intervals: tuple[str, ...]
    source_interval: str
    source: str

    def incremental(self) -> IncrementalDay | None:
        if not self.intervals:
            return None
        return IncrementalDay(
            self.intervals, source_interval=self.source_interval, source=self.source
        )

    def vectorised(
        self, window: SessionWindow, columns: dict[str, BarColumns], bars: Sequence[Bar] | None
    ) -> VectorisedDay | None:
        """The day's bars from its ``columns``; with the day's records ``bars`` also the
        emission points (subscribers need them)."""
        if not self.intervals:
            return None
        rows: dict[str, list[Bar]] | None = None
        if bars is not None:
            rows = {symbol: [] for symbol in columns}
            for bar in bars:
                found = rows.get(bar.symbol)
                if found is not None:
                    found.append(bar)
        return VectorisedDay(
            aggregation_groups(window, self.intervals),
            columns,
            rows,
            step=parse_interval(self.source_interval).timedelta,
            source=self.source,
        )


class IncrementalDay:
    """The live path: builders fed bar by bar, one aggregator per aggregation group (built
    straight from the streamed interval: ``chained=False``).

    :meth:`enter` starts a group, :meth:`updater` gives a symbol's per-bar callable for it
    (returning the bars it completed, canonical order, or None), :meth:`flush` ends the group
    (its partial bars, canonical order). ``bars`` collects everything emitted.
    """

    def __init__(self, intervals: Sequence[str], *, source_interval: str, source: str) -> None:
        self.intervals = tuple(intervals)
        self.source_interval = source_interval
        self.source = source
        self.bars: list[Bar] = []
        self._aggregators: dict[tuple[str, ...], BarAggregator] = {}
        self._active: BarAggregator | None = None

    def _aggregator(self, intervals: tuple[str, ...]) -> BarAggregator:
        found = self._aggregators.get(intervals)
        if found is None:
            found = self._aggregators[intervals] = BarAggregator(
                intervals, source_interval=self.source_interval, source=self.source, chained=False
            )
        return found

    def enter(self, group: AggregationGroup) -> None:
        self._active = self._aggregator(group.intervals)
        self._active.start_day(group.window)

    def updater(self, symbol: str) -> Callable[[Any], list[Bar] | None]:
        assert self._active is not None
        update = self._active.updater(symbol)
        collect = self.bars.extend

        def emit(row: Any) -> list[Bar] | None:
            done = update(row)
            if done:
                collect(canonical(done))
            return done

        return emit

    def flush(self) -> list[Bar]:
        if self._active is None:
            return []
        done = canonical(self._active.close_day())
        self._active = None
        self.bars.extend(done)
        return done

    def start(self) -> None:
        """A new day: nothing emitted yet."""
        self.bars = []
        self._active = None


class VectorisedDay:
    """The backtest path: a day's generated bars resampled from its columns when the day is
    loaded (``core.resample``), with the emission point of each, as the incremental path would
    emit it: after the streamed bar that completes it (``triggers``: ``id(bar)`` -> the bars
    emitted after it, canonical order) or when its group ends (``flushes[group]``).

    ``columns``: the streamed interval's columns per symbol; ``rows``: each symbol's records
    in time order (the very objects the stream delivers); ``step``: the streamed interval.
    """

    def __init__(
        self,
        groups: Sequence[AggregationGroup],
        columns: dict[str, BarColumns],
        rows: dict[str, list[Bar]] | None,
        *,
        step: timedelta,
        source: str,
    ) -> None:
        self.groups = tuple(groups)
        self.columns = columns
        self.rows = rows
        self.step = step
        self.source = source
        self.bars: list[Bar] = []
        self.triggers: dict[int, list[Bar]] = {}
        """``id(streamed bar)`` -> the generated bars emitted after it (only with ``rows``)."""
        self.flushes: list[list[Bar]] = [[] for _ in groups]
        step_ns = int(step.total_seconds() * 1_000_000_000)
        symbols = sorted(columns)
        for index, group in enumerate(groups):
            lo, hi = datetime_to_ns(group.start), datetime_to_ns(group.end)
            blocks, offsets = [], []
            for symbol in symbols:
                block = columns[symbol]
                a, b = np.searchsorted(block.ts_ns, [lo, hi], side="left").tolist()
                blocks.append(block.slice(a, b))
                offsets.append(a)
            for interval in group.intervals:
                starts, ends = bucket_bounds_ns(group.window, interval)
                outs = resample(blocks, interval, group.window, source=source)
                every = BarColumns.records(outs)  # one bulk conversion for all symbols
                self.bars.extend(every)
                if rows is None:
                    continue
                cut = 0
                for out in outs:
                    generated, cut = every[cut : cut + len(out)], cut + len(out)
                    k = symbols.index(out.symbol)
                    block = blocks[k]
                    emit_after = _completing_rows(block.ts_ns, out.ts_ns, starts, ends, step_ns)
                    symbol_rows = rows[out.symbol]
                    for bar, position in zip(generated, emit_after.tolist(), strict=True):
                        if position < len(block):
                            row = symbol_rows[offsets[k] + position]
                            self.triggers.setdefault(id(row), []).append(bar)
                        else:
                            self.flushes[index].append(bar)
        for emitted in self.triggers.values():
            canonical(emitted)
        for flushed in self.flushes:
            canonical(flushed)

    def until(self, end: datetime) -> VectorisedDay:
        """The same day as if its stream had stopped before ``end`` (a stop request): built from
        the bars before ``end`` only, so its last bars are partial like the incremental ones."""
        cut = datetime_to_ns(end)
        columns = {}
        rows = None if self.rows is None else {}
        for symbol, block in self.columns.items():
            n = int(np.searchsorted(block.ts_ns, cut, side="left"))
            columns[symbol] = block.slice(0, n)
            if rows is not None and self.rows is not None:
                rows[symbol] = self.rows[symbol][:n]
        return VectorisedDay(self.groups, columns, rows, step=self.step, source=self.source)


def _completing_rows(
    rows_ns: np.ndarray,
    bars_ns: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    step_ns: int,
) -> np.ndarray:
    """For each generated bar (bucket start in ``bars_ns``), the index of the streamed row that
    completes it: the first row in the bucket's last slot or in a later bucket; ``len(rows)``
    when no row does (the bar is flushed when its group ends). Rows outside every bucket (the
    break) never reach the builders and are ignored."""
    position = np.searchsorted(starts, rows_ns, side="right") - 1
    inside = (position >= 0) & (rows_ns < ends[np.clip(position, 0, None)])
    index = np.flatnonzero(inside)
    if not index.size:
        return np.full(len(bars_ns), len(rows_ns))
    position = position[inside]
    last_slot = ends[position] - step_ns
    key = 2 * position + (rows_ns[index] >= last_slot)
    buckets = np.searchsorted(starts, bars_ns, side="left")
    found = np.searchsorted(key, 2 * buckets + 1, side="left")
    return np.where(found < len(index), index[np.minimum(found, len(index) - 1)], len(rows_ns))
