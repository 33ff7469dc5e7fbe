"""Data quality of a session: its trailing history and each streamed day, one way.

A (symbol, interval, trading day) is assessed against the exchange calendar by
``core.quality`` (expected bar opens of the day, missing ones, ``quality_pct``); with quality
disabled in the config it is 100 % (``core.quality.full_quality``). Both the warm-up's
history quality (``historical.enable_quality``) and the end-of-day session quality
(``gap_filler.enable_session_quality``) go through :func:`assess`; a symbol's percentage over
several days is ``100 * actual / expected`` summed over them, and a day's summary per interval
is the mean over the symbols (:func:`mean_by_interval`). Session quality counts regular-session
bars only (extended-hours bars are not expected).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from operator import attrgetter

import numpy as np

from core.columns import datetime_to_ns
from core.models import QualityResult
from core.quality import expected_bar_opens, full_quality, quality_pct
from core.sessions import SessionWindow
from daemon.session_data import SessionData

_TS = attrgetter("ts_event")


@lru_cache(maxsize=4096)
def _expected(calendar: str, day: date, interval: str) -> tuple[tuple[datetime, ...], np.ndarray]:
    opens = tuple(expected_bar_opens(calendar, day, interval))
    return opens, np.array([datetime_to_ns(ts) for ts in opens], dtype=np.int64)


def assess(
    calendar: str,
    symbol: str,
    interval: str,
    day: date,
    times_ns: np.ndarray,
    *,
    enabled: bool,
    source: str,
) -> QualityResult:
    """The quality of one symbol's ``interval`` bars on ``day``; ``times_ns``: their opens
    (int64 epoch ns). Times not expected (outside the session, in the break) neither fill nor
    create gaps."""
    if not enabled:
        return full_quality(symbol, interval, day, source, len(times_ns))
    opens, opens_ns = _expected(calendar, day, interval)
    present = np.isin(opens_ns, times_ns)
    actual = int(present.sum())
    missing = tuple(ts for ts, found in zip(opens, present.tolist(), strict=True) if not found)
    return QualityResult(
        symbol=symbol,
        interval=interval,
        trading_date=day,
        expected_bars=len(opens),
        actual_bars=actual,
        quality_pct=quality_pct(len(opens), actual),
        missing=missing,
        source=source,
    )


def combined_pct(results: Iterable[QualityResult], *, enabled: bool) -> float:
    """One symbol's quality over several days: ``100 * sum(actual) / sum(expected)``."""
    expected = actual = 0
    for result in results:
        expected += result.expected_bars
        actual += result.actual_bars
    if not enabled or expected == 0:
        return 100.0
    return min(100.0, 100.0 * actual / expected)


def mean_by_interval(pcts: Iterable[tuple[str, float]]) -> dict[str, float]:
    """``{interval: mean pct}`` of ``(interval, pct)`` pairs (a day's summary)."""
    per_interval: dict[str, list[float]] = defaultdict(list)
    for interval, pct in pcts:
        per_interval[interval].append(pct)
    return {k: sum(v) / len(v) for k, v in per_interval.items()}


def session_quality(
    calendar: str,
    data: SessionData,
    symbols: Sequence[str],
    intervals: Sequence[str],
    window: SessionWindow,
    *,
    enabled: bool,
    source: str,
) -> tuple[list[QualityResult], dict[str, float]]:
    """The streamed day's quality per symbol and interval (recorded in ``data``), and the
    day's summary per interval."""
    results: list[QualityResult] = []
    lo, hi = datetime_to_ns(window.open), datetime_to_ns(window.close)
    known: dict[datetime, int] = {}  # bars of many symbols share their instants
    for interval in intervals:
        for symbol in symbols:
            series = data.series(symbol, interval)
            if not enabled:  # 100 %: only the count of regular-session bars is kept
                count = len(series.between(window.open, window.close))
                result = full_quality(symbol, interval, window.date, source, count)
                data.set_quality(symbol, interval, result.quality_pct, result)
                results.append(result)
                continue
            stamps = list(map(_TS, series))
            for ts in set(stamps).difference(known):
                known[ts] = datetime_to_ns(ts)
            times = np.array(list(map(known.__getitem__, stamps)), dtype=np.int64)
            times = times[(times >= lo) & (times < hi)]
            result = assess(
                calendar, symbol, interval, window.date, times, enabled=enabled, source=source
            )
            data.set_quality(symbol, interval, result.quality_pct, result)
            results.append(result)
    return results, mean_by_interval((r.interval, r.quality_pct) for r in results)
