"""Trading-day partitions: one partitions definition per exchange calendar.

A partition key is an ISO date (``"2024-07-03"``) and the keys of a calendar are exactly that
exchange's sessions — no weekends, no holidays — taken from ``core.calendars``, the same
calendar the daemon's time manager uses.

Span. Dagster's own daily time-window partitions in the exchange's time zone, with the
weekends and the calendar's weekday holidays as ``exclusions``. Their end is dynamic: Dagster
computes it whenever it lists the keys, up to the current trading day once it is over (local
midnight, Dagster's usual daily partitions), so "backfill all missing" and the schedule never
target the future. (``end_offset=1`` would show the day in progress, but on a weekend or a
holiday Dagster then offers the *next* session.) The keys start at the later of the calendar's first session and the
earlier of ``HISTORY_FLOOR`` and the first date a session config needs (its backtest start
minus its trailing history), and never pass the calendar's last known session (Vietnamese
holiday tables end in 2026; after that the keys stop until the table is extended, rather than
guessing holidays).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

from dagster import DailyPartitionsDefinition

from core import calendars

HISTORY_FLOOR = date(2020, 1, 1)
"""Partitions start here (or earlier when a session config needs older days)."""

WEEKENDS = "0 0 * * 6,0"
"""Cron of the excluded weekend partitions (Saturday and Sunday midnights, exchange time)."""


def partition_key(day: date) -> str:
    """The partition key of a trading day: its ISO date."""
    return day.isoformat()


def partition_date(key: str) -> date:
    """The trading day a partition key names (inverse of :func:`partition_key`)."""
    return date.fromisoformat(key)


def partition_span(calendar_name: str, earliest_needed: date | None = None) -> tuple[date, date]:
    """First session of ``calendar_name``'s partitions and the last session its calendar knows
    (the keys stop earlier, at the current trading day; see the module docstring)."""
    first = calendars.first_session(calendar_name)
    last = calendars.last_session(calendar_name)
    floor = HISTORY_FLOOR if earliest_needed is None else min(HISTORY_FLOOR, earliest_needed)
    return max(first, floor), last


@lru_cache(maxsize=32)
def trading_day_partitions(
    calendar_name: str, earliest_needed: date | None = None
) -> DailyPartitionsDefinition:
    """Daily partitions in the exchange's time zone whose keys are ``calendar_name``'s sessions
    from its span's start to the last one that is over."""
    start, last = partition_span(calendar_name, earliest_needed)
    zone = calendars.exchange_timezone(calendar_name)
    sessions = set(calendars.sessions_in_range(calendar_name, start, last))
    holidays = [
        datetime.combine(day, time(), zone)
        for day in (start + timedelta(days=i) for i in range((last - start).days + 1))
        if day.weekday() < 5 and day not in sessions
    ]
    return DailyPartitionsDefinition(
        start_date=start.isoformat(),
        end_date=(last + timedelta(days=1)).isoformat(),
        timezone=zone.key,
        exclusions=[WEEKENDS, *holidays],
    )
