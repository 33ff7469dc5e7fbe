"""The columnar bar block: one symbol's bars of one interval as parallel numpy arrays.

The second of the three shapes a bar has (the record ``core.models.Bar``, this block, the table
row of ``core.tables.BarRow``): the store reads the replay path and the warm-up straight into
blocks (``Store.read_bar_columns``), ``core.resample`` aggregates them, and the daemon turns
them into records only where records are consumed (:meth:`BarColumns.to_bars`,
:func:`merge_to_bars`: the day's stream in ``(ts_event, symbol)`` order).

Columns: ``ts_ns`` int64 epoch nanoseconds of the bar opens (sorted, unique), ``open high low
close volume`` float64, ``trade_count`` int64 with :data:`UNKNOWN_COUNT` (-1) for unknown,
``vwap`` float64 with NaN for unknown. Converting back gives exactly the ``Bar`` the store's
``read_bars`` returns (``None`` for the unknowns); every bar of one instant shares one
``datetime`` object (``times``), so the engine can compare instants by identity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any

import numpy as np

from core.models import Bar

__all__ = [
    "UNKNOWN_COUNT",
    "BarColumns",
    "TimeCache",
    "datetime_to_ns",
    "merge_to_bars",
    "ns_to_datetime",
]

UNKNOWN_COUNT = -1
"""``trade_count`` of a bar whose count is unknown (``None`` in the record)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = 1_000_000_000

TimeCache = dict[int, datetime]
"""Epoch nanoseconds -> the one ``datetime`` object used for that instant."""


def ns_to_datetime(ts_ns: int) -> datetime:
    """Integer epoch nanoseconds -> aware UTC datetime (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=ts_ns // 1000)


def datetime_to_ns(ts: datetime) -> int:
    """Aware datetime -> integer epoch nanoseconds."""
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


_new_tuple = tuple.__new__


@dataclass(slots=True)
class BarColumns:
    """One symbol's bars of one interval from one source, sorted by ``ts_ns`` (module doc)."""

    symbol: str
    interval: str
    source: str
    ts_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    trade_count: np.ndarray
    vwap: np.ndarray

    NUMERIC = ("open", "high", "low", "close", "volume", "trade_count", "vwap")
    """The numeric columns after ``ts_ns``, in ``Bar`` field order."""

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    @classmethod
    def empty(cls, symbol: str, interval: str, source: str = "") -> BarColumns:
        floats = np.empty(0, dtype=np.float64)
        return cls(
            symbol,
            interval,
            source,
            np.empty(0, dtype=np.int64),
            floats,
            floats,
            floats,
            floats,
            floats,
            np.empty(0, dtype=np.int64),
            floats,
        )

    def slice(self, a: int, b: int) -> BarColumns:
        """Rows ``[a, b)`` (views, no copy)."""
        return BarColumns(
            self.symbol,
            self.interval,
            self.source,
            self.ts_ns[a:b],
            self.open[a:b],
            self.high[a:b],
            self.low[a:b],
            self.close[a:b],
            self.volume[a:b],
            self.trade_count[a:b],
            self.vwap[a:b],
        )

    def between(self, start: datetime, end: datetime) -> BarColumns:
        """The bars with ``start <= ts_event < end`` (views, no copy)."""
        a, b = np.searchsorted(
            self.ts_ns, [datetime_to_ns(start), datetime_to_ns(end)], side="left"
        ).tolist()
        return self.slice(a, b)

    @staticmethod
    def concat(blocks: Sequence[BarColumns]) -> BarColumns:
        """Blocks of one symbol in time order, joined (the first block's labels)."""
        first = blocks[0]
        if len(blocks) == 1:
            return first
        return BarColumns(
            first.symbol,
            first.interval,
            first.source,
            np.concatenate([b.ts_ns for b in blocks]),
            *(np.concatenate([getattr(b, name) for b in blocks]) for name in BarColumns.NUMERIC),
        )

    def to_bars(self, times: TimeCache | None = None) -> list[Bar]:
        """The bars as records, oldest first (bulk ``tolist`` conversion, records built in C)."""
        n = len(self)
        return _make_bars(
            repeat(self.symbol, n),
            self.interval,
            self.source,
            self.ts_ns,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.trade_count,
            self.vwap,
            {} if times is None else times,
        )

    @staticmethod
    def records(blocks: Sequence[BarColumns], times: TimeCache | None = None) -> list[Bar]:
        """The bars of several blocks (one interval and source) as records, block after block:
        one bulk conversion instead of one per block."""
        if not blocks:
            return []
        first = blocks[0]
        symbols = [b.symbol for b in blocks for _ in range(len(b))]
        return _make_bars(
            symbols,
            first.interval,
            first.source,
            np.concatenate([b.ts_ns for b in blocks]),
            *(np.concatenate([getattr(b, name) for b in blocks]) for name in BarColumns.NUMERIC),
            {} if times is None else times,
        )

    @classmethod
    def from_bars(cls, bars: Iterable[Any]) -> dict[str, BarColumns]:
        """Bar-like records (one interval and source) -> one block per symbol, sorted by time."""
        by_symbol: dict[str, list[Any]] = {}
        for bar in bars:
            by_symbol.setdefault(bar.symbol, []).append(bar)
        out: dict[str, BarColumns] = {}
        for symbol, rows in by_symbol.items():
            rows.sort(key=lambda r: r.ts_event)
            out[symbol] = cls(
                symbol,
                rows[0].interval,
                getattr(rows[0], "source", ""),
                np.array([datetime_to_ns(r.ts_event) for r in rows], dtype=np.int64),
                np.array([r.open for r in rows], dtype=np.float64),
                np.array([r.high for r in rows], dtype=np.float64),
                np.array([r.low for r in rows], dtype=np.float64),
                np.array([r.close for r in rows], dtype=np.float64),
                np.array([r.volume for r in rows], dtype=np.float64),
                np.array(
                    [UNKNOWN_COUNT if r.trade_count is None else r.trade_count for r in rows],
                    dtype=np.int64,
                ),
                np.array([np.nan if r.vwap is None else r.vwap for r in rows], dtype=np.float64),
            )
        return out


def _stamps(ts_ns: np.ndarray, times: TimeCache) -> list[datetime]:
    """One shared datetime per distinct instant (``times`` is filled as needed)."""
    for ts in np.unique(ts_ns).tolist():
        if ts not in times:
            times[ts] = ns_to_datetime(ts)
    return list(map(times.__getitem__, ts_ns.tolist()))


def _make_bars(
    symbols: Iterable[str],
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
    times: TimeCache,
) -> list[Bar]:
    stamps = _stamps(ts_ns, times)
    counts: list[Any] = trade_count.tolist()
    if (trade_count < 0).any():
        counts = [None if c < 0 else c for c in counts]
    vwaps: list[Any] = vwap.tolist()
    if np.isnan(vwap).any():
        vwaps = [None if v != v else v for v in vwaps]
    n = len(stamps)
    # tuple.__new__(Bar, fields) builds the record in C (Bar(...) runs a Python __new__).
    return list(
        map(
            _new_tuple,
            repeat(Bar, n),
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
                repeat(None, n),
                strict=False,
            ),
        )
    )


def merge_to_bars(
    blocks: Sequence[BarColumns], times: TimeCache | None = None
) -> tuple[list[Bar], np.ndarray]:
    """The bars of several symbols' blocks as one list in ``(ts_event, symbol)`` order (one
    stable ``lexsort``; ties between symbols broken by name), and for each bar the index of
    its block in ``blocks``."""
    if not blocks:
        return [], np.empty(0, dtype=np.int64)
    ranked = sorted(range(len(blocks)), key=lambda i: blocks[i].symbol)
    cols = [blocks[i] for i in ranked]
    ts = np.concatenate([c.ts_ns for c in cols])
    rank = np.concatenate([np.full(len(c), i, dtype=np.int64) for i, c in enumerate(cols)])
    order = np.lexsort((rank, ts))
    rank = rank[order]
    names = np.array([c.symbol for c in cols], dtype=object)[rank].tolist()
    first = cols[0]

    def take(name: str) -> np.ndarray:
        return np.concatenate([getattr(c, name) for c in cols])[order]

    bars = _make_bars(
        names,
        first.interval,
        first.source,
        ts[order],
        *(take(name) for name in BarColumns.NUMERIC),
        {} if times is None else times,
    )
    return bars, np.asarray(ranked, dtype=np.int64)[rank]
