"""Trading-day partitions: one partitions definition per exchange calendar.

A partition key is an ISO date (``"2024-07-03"``) and the keys of a calendar are exactly that
exchange's sessions — no weekends, no holidays — taken from ``core.calendars``, the same
calendar the daemon's time manager uses.

Span. Dagster needs a finite, explicit key list (``StaticPartitionsDefinition``; a time-window
partition would include holidays). Each calendar's keys run from ``start`` to the calendar's last
known session, where ``start`` is the later of the calendar's first session and the earlier of
``HISTORY_FLOOR`` and the first date a session config needs (its backtest start minus its
trailing history). Vietnamese calendars only know 2024–2026 (their holiday table), so they span
exactly those years; XNYS spans ``HISTORY_FLOOR`` (or older config dates) to the end of
``exchange_calendars``' horizon (about a year ahead). Keeping the floor recent keeps the key
list (and so every run snapshot and the UI) small; a config that backtests older data moves the
floor down by itself.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from dagster import StaticPartitionsDefinition

from core import calendars

HISTORY_FLOOR = date(2020, 1, 1)
"""Partitions start here (or earlier when a session config needs older days)."""


def partition_key(day: date) -> str:
    """The partition key of a trading day: its ISO date."""
    return day.isoformat()


def partition_date(key: str) -> date:
    """The trading day a partition key names (inverse of :func:`partition_key`)."""
    return date.fromisoformat(key)


def partition_span(calendar_name: str, earliest_needed: date | None = None) -> tuple[date, date]:
    """First and last session covered by ``calendar_name``'s partitions (see module docstring)."""
    first = calendars.first_session(calendar_name)
    last = calendars.last_session(calendar_name)
    floor = HISTORY_FLOOR if earliest_needed is None else min(HISTORY_FLOOR, earliest_needed)
    return max(first, floor), last


@lru_cache(maxsize=32)
def trading_day_partitions(
    calendar_name: str, earliest_needed: date | None = None
) -> StaticPartitionsDefinition:
    """The partitions definition whose keys are ``calendar_name``'s sessions over its span."""
    start, end = partition_span(calendar_name, earliest_needed)
    sessions = calendars.sessions_in_range(calendar_name, start, end)
    return StaticPartitionsDefinition([partition_key(day) for day in sessions])
