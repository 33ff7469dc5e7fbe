"""Bar completeness: which bars a trading day should have, which are missing, quality percent.

The expected bars of a day follow the exchange calendar (``core.calendars``): one bar per
interval-sized bucket (``core.resample.bar_buckets``) aligned to the session open, restarting at the end of the lunch break and
cut at the close (a half-size last bucket is still one expected bar). The lunch break and the
time after an early close are therefore never gaps.

``quality_pct = 100 * actual / expected`` (100 when nothing is expected). Sessions configured
with ``enable_quality: false`` get :func:`full_quality` (100 %, nothing missing).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from core import calendars
from core.models import QualityResult
from core.resample import bar_buckets


def expected_bar_opens(calendar: str, trading_date: date, interval: str = "1m") -> list[datetime]:
    """Open times (aware UTC) of every bar ``interval`` should have on ``trading_date``.

    Empty when ``trading_date`` is not a session of ``calendar``.
    """
    if not calendars.is_session(calendar, trading_date):
        return []
    if interval == "1m":
        return calendars.session_minutes(calendar, trading_date)
    bounds = calendars.session_bounds(calendar, trading_date)
    return [start for start, _ in bar_buckets(bounds, interval)]


def find_gaps(
    calendar: str, trading_date: date, bar_times: Iterable[datetime], interval: str = "1m"
) -> list[datetime]:
    """Expected bar opens of ``trading_date`` that are absent from ``bar_times`` (sorted).

    Times in ``bar_times`` that are not expected (outside the session, in the break) are
    ignored: they neither fill nor create gaps.
    """
    present = {_as_utc(ts) for ts in bar_times}
    return [ts for ts in expected_bar_opens(calendar, trading_date, interval) if ts not in present]


def quality_pct(expected: int, actual: int) -> float:
    """``100 * actual / expected``, capped at 100; 100.0 when ``expected`` is 0."""
    if expected <= 0:
        return 100.0
    return min(100.0, 100.0 * actual / expected)


def assess_quality(
    calendar: str,
    symbol: str,
    interval: str,
    trading_date: date,
    bar_times: Iterable[datetime],
    source: str = "",
) -> QualityResult:
    """Count expected vs present bars of one symbol/interval/day and list the missing opens."""
    expected = expected_bar_opens(calendar, trading_date, interval)
    expected_set = set(expected)
    present = {_as_utc(ts) for ts in bar_times} & expected_set
    missing = tuple(ts for ts in expected if ts not in present)
    return QualityResult(
        symbol=symbol,
        interval=interval,
        trading_date=trading_date,
        expected_bars=len(expected),
        actual_bars=len(present),
        quality_pct=quality_pct(len(expected), len(present)),
        missing=missing,
        source=source,
    )


def full_quality(
    symbol: str, interval: str, trading_date: date, source: str = "", actual_bars: int = 0
) -> QualityResult:
    """The result recorded when quality checking is disabled (``enable_quality: false``): 100 %."""
    return QualityResult(
        symbol=symbol,
        interval=interval,
        trading_date=trading_date,
        expected_bars=actual_bars,
        actual_bars=actual_bars,
        quality_pct=100.0,
        missing=(),
        source=source,
    )


def _as_utc(ts: datetime) -> datetime:
    """Check ``ts`` is aware (aware datetimes hash and compare by instant, whatever the zone)."""
    if ts.utcoffset() is None:
        raise ValueError(f"bar time must be an aware UTC datetime, was naive {ts.isoformat()}")
    return ts


__all__ = [
    "assess_quality",
    "expected_bar_opens",
    "find_gaps",
    "full_quality",
    "quality_pct",
]
