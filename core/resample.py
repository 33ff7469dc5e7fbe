"""The one resample: larger bars (5m ... 1h, 1d) from bars of a smaller interval.

Used by the daemon (a backtest builds a day's generated bars here when the day is loaded; the
live path builds the same bars incrementally with ``daemon.aggregation.bars.BarBuilder``, and a
test proves both equal) and by Dagster (``daily_bars``), so a bar has one meaning everywhere.

Buckets (:func:`bar_buckets`) follow a :class:`~core.sessions.SessionWindow`: aligned to the
start of each regular trading span (the open, then the end of the lunch break), the last bucket
of a span cut at its end, ``1d`` one bucket from the open to the close. Source bars outside
every bucket are ignored. A resampled bar is

- ``ts_event`` the bucket start, ``open`` of the first source bar, ``close`` of the last,
  ``high``/``low`` the max/min, ``volume`` the sum;
- ``trade_count`` the sum of the known counts, None when no count is known;
- ``vwap = sum(w_i * volume_i) / sum(volume_i)`` with ``w_i`` the source bar's vwap, or its
  close when it has none; None when the volume is 0.

Sums are taken in time order (the order an incremental builder adds), so the batch and the
incremental bars are equal to the last bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np

from core.columns import UNKNOWN_COUNT, BarColumns, datetime_to_ns
from core.timeframes import parse_interval

__all__ = ["bar_buckets", "bucket_bounds_ns", "resample"]


def bar_buckets(window: Any, interval: str) -> list[tuple[datetime, datetime]]:
    """The ``[start, end)`` buckets of ``interval`` bars in a session window, in time order.

    ``window`` is a ``SessionWindow`` (anything with ``open``, ``close`` and
    ``trading_spans``). Buckets are aligned to the start of each trading span and the last
    bucket of a span ends at the span's end; ``1d`` is one bucket from the open to the close.
    """
    parsed = parse_interval(interval)
    if parsed.is_daily:
        return [(window.open, window.close)]
    step = parsed.timedelta
    buckets: list[tuple[datetime, datetime]] = []
    for start, end in window.trading_spans:
        current = start
        while current < end:
            stop = current + step
            buckets.append((current, stop if stop < end else end))
            current = stop
    return buckets


def bucket_bounds_ns(window: Any, interval: str) -> tuple[np.ndarray, np.ndarray]:
    """Bucket starts and ends of :func:`bar_buckets` as int64 epoch nanoseconds."""
    return _bounds(window.trading_spans, window.open, window.close, interval)


@lru_cache(maxsize=512)
def _bounds(
    spans: tuple[tuple[datetime, datetime], ...], open_: datetime, close: datetime, interval: str
) -> tuple[np.ndarray, np.ndarray]:
    class _Window:
        trading_spans = spans

    _Window.open = open_  # type: ignore[attr-defined]
    _Window.close = close  # type: ignore[attr-defined]
    buckets = bar_buckets(_Window, interval)
    starts = np.array([datetime_to_ns(s) for s, _ in buckets], dtype=np.int64)
    ends = np.array([datetime_to_ns(e) for _, e in buckets], dtype=np.int64)
    starts.setflags(write=False)
    ends.setflags(write=False)
    return starts, ends


def resample(
    blocks: Sequence[BarColumns], interval: str, window: Any, *, source: str | None = None
) -> list[BarColumns]:
    """Each symbol's ``blocks`` resampled to ``interval`` bars of ``window`` (module doc).

    Returns one block per input block that has bars inside the window, in input order, labelled
    ``interval`` and ``source`` (default: the input block's source).
    """
    starts, ends = bucket_bounds_ns(window, interval)
    if not blocks or starts.size == 0:
        return []
    pieces = []
    for code, block in enumerate(blocks):
        ts = block.ts_ns
        position = np.searchsorted(starts, ts, side="right") - 1
        inside = (position >= 0) & (ts < ends[np.clip(position, 0, None)])
        rows = np.flatnonzero(inside)
        if rows.size:
            pieces.append((code, rows, position[rows]))
    if not pieces:
        return []
    codes = np.concatenate([np.full(len(rows), code) for code, rows, _ in pieces])
    buckets = np.concatenate([position for _, _, position in pieces])

    def column(name: str) -> np.ndarray:
        return np.concatenate([getattr(blocks[code], name)[rows] for code, rows, _ in pieces])

    close = column("close")
    volume = column("volume")
    vwap = column("vwap")
    counts = column("trade_count")
    weight = np.where(np.isnan(vwap), close, vwap)
    new_group = np.r_[True, (buckets[1:] != buckets[:-1]) | (codes[1:] != codes[:-1])]
    first = np.flatnonzero(new_group)
    lengths = np.diff(np.r_[first, len(buckets)])
    last = first + lengths - 1
    total_volume = _sequential_sum(volume, first, lengths)
    pv = _sequential_sum(weight * volume, first, lengths)
    known = counts != UNKNOWN_COUNT
    count_sum = np.add.reduceat(np.where(known, counts, 0), first)
    count_known = np.logical_or.reduceat(known, first)
    with np.errstate(divide="ignore", invalid="ignore"):
        bar_vwap = np.where(total_volume > 0, pv / total_volume, np.nan)
    out_open = column("open")[first]
    out_high = np.maximum.reduceat(column("high"), first)
    out_low = np.minimum.reduceat(column("low"), first)
    out_close = close[last]
    out_count = np.where(count_known, count_sum, UNKNOWN_COUNT).astype(np.int64)
    out_ts = starts[buckets[first]]
    group_codes = codes[first]
    bounds = np.r_[np.flatnonzero(np.r_[True, group_codes[1:] != group_codes[:-1]]), len(first)]
    result = []
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        block = blocks[int(group_codes[a])]
        result.append(
            BarColumns(
                block.symbol,
                interval,
                block.source if source is None else source,
                out_ts[a:b],
                out_open[a:b],
                out_high[a:b],
                out_low[a:b],
                out_close[a:b],
                total_volume[a:b],
                out_count[a:b],
                bar_vwap[a:b],
            )
        )
    return result


def _sequential_sum(values: np.ndarray, first: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per group ``values[first[g] : first[g] + lengths[g]]`` summed left to right (numpy's
    ``reduceat`` sums pairwise, which can differ from an incremental ``+=`` in the last bit)."""
    total = values[first].copy()
    longest = int(lengths.max()) if lengths.size else 0
    if longest <= 1:
        return total
    # groups sorted by length (longest first): the groups still adding at step k are a prefix
    order = np.argsort(-lengths, kind="stable")
    sorted_first = first[order]
    sorted_lengths = lengths[order]
    running = total[order]
    alive = len(order)
    for k in range(1, longest):
        while alive and sorted_lengths[alive - 1] <= k:
            alive -= 1
        running[:alive] += values[sorted_first[:alive] + k]
    total[order] = running
    return total
