"""The ``exchange_calendars`` side of ``core.calendars``: the Vietnamese calendar classes and
the lookups that need the library (and pandas) — imported only when a calendar index has to be
built, never to answer a query from a cached index (start-up stays light).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import exchange_calendars as xcals
import pandas as pd
from exchange_calendars import ExchangeCalendar
from exchange_calendars.calendar_utils import global_calendar_dispatcher as dispatcher

from core.calendars import (
    DEFAULT_END,
    DEFAULT_START,
    VN_FIRST_DATE,
    VN_HOLIDAYS,
    VN_LAST_DATE,
    VN_TZ,
)
from core.errors import CalendarError

__all__ = [
    "UPCOMExchangeCalendar",
    "VN30FExchangeCalendar",
    "XHNXExchangeCalendar",
    "XSTCExchangeCalendar",
    "build_index",
    "construction_range",
    "dispatcher",
    "get_calendar",
    "register",
]


class _VietnamCalendar(ExchangeCalendar):
    """Shared holiday table, time zone, lunch break and 2024–2026 bounds of the VN calendars."""

    tz = VN_TZ
    break_start_times = ((None, dt.time(11, 30)),)
    break_end_times = ((None, dt.time(13, 0)),)

    @classmethod
    def bound_min(cls) -> pd.Timestamp:
        return pd.Timestamp(VN_FIRST_DATE)

    @classmethod
    def bound_max(cls) -> pd.Timestamp:
        return pd.Timestamp(VN_LAST_DATE)

    def _bound_min_error_msg(self, start: pd.Timestamp) -> str:
        return (
            f"{self.name} knows holidays only from {VN_FIRST_DATE} to {VN_LAST_DATE}; "
            f"start {start.date()} is earlier"
        )

    def _bound_max_error_msg(self, end: pd.Timestamp) -> str:
        return (
            f"{self.name} knows holidays only from {VN_FIRST_DATE} to {VN_LAST_DATE}; "
            f"end {end.date()} is later"
        )

    @property
    def regular_holidays(self) -> None:
        return None

    @property
    def adhoc_holidays(self) -> list[pd.Timestamp]:
        return [pd.Timestamp(day) for days in VN_HOLIDAYS.values() for day in days]


class XSTCExchangeCalendar(_VietnamCalendar):
    """Ho Chi Minh City Stock Exchange (HOSE): 09:00–14:45 local, lunch 11:30–13:00."""

    name = "XSTC"
    open_times = ((None, dt.time(9, 0)),)
    close_times = ((None, dt.time(14, 45)),)


class XHNXExchangeCalendar(_VietnamCalendar):
    """Hanoi Stock Exchange (HNX): 09:00–15:00 local (post-close PLO to 15:00), lunch break."""

    name = "XHNX"
    open_times = ((None, dt.time(9, 0)),)
    close_times = ((None, dt.time(15, 0)),)


class UPCOMExchangeCalendar(_VietnamCalendar):
    """UPCoM board: 09:00–15:00 local, continuous matching only, lunch break."""

    name = "UPCOM"
    open_times = ((None, dt.time(9, 0)),)
    close_times = ((None, dt.time(15, 0)),)


class VN30FExchangeCalendar(_VietnamCalendar):
    """VN30 index futures (HNX derivatives): 08:45–14:45 local, 15 minutes before stocks."""

    name = "VN30F"
    open_times = ((None, dt.time(8, 45)),)
    close_times = ((None, dt.time(14, 45)),)


def register(name: str, cls: Any, aliases: tuple[str, ...]) -> None:
    """Register an ``ExchangeCalendar`` subclass with exchange_calendars."""
    if not (isinstance(cls, type) and issubclass(cls, ExchangeCalendar)):
        raise CalendarError(
            f"calendar {name!r} must be an exchange_calendars.ExchangeCalendar subclass, "
            f"was {cls!r}"
        )
    xcals.register_calendar_type(name, cls, force=True)
    for alias in aliases:
        xcals.register_calendar_alias(alias, name, force=True)


for _vn in (
    XSTCExchangeCalendar,
    XHNXExchangeCalendar,
    UPCOMExchangeCalendar,
    VN30FExchangeCalendar,
):
    register(_vn.name, _vn, {"XSTC": ("HOSE",), "XHNX": ("HNX",)}.get(_vn.name, ()))


def construction_range(cls: type[ExchangeCalendar]) -> tuple[dt.date, dt.date]:
    start, end = DEFAULT_START, DEFAULT_END
    bound_min, bound_max = cls.bound_min(), cls.bound_max()
    if bound_min is not None:
        start = max(start, bound_min.date())
    if bound_max is not None:
        end = min(end, bound_max.date())
    return start, end


def get_calendar(canonical: str) -> ExchangeCalendar:
    """The ``exchange_calendars`` calendar of a canonical name (``XNYS`` built for 1990–2030,
    the Vietnamese calendars for 2024–2026)."""
    cls = dispatcher._calendar_factories.get(canonical)  # the registered class
    if cls is None:  # registered as an instance (exchange_calendars.register_calendar)
        return xcals.get_calendar(canonical)
    start, end = construction_range(cls)
    try:
        # built directly: exchange_calendars' own factory cache survives re-registration
        return cls(start=start.isoformat(), end=end.isoformat())
    except ValueError as error:
        raise CalendarError(f"calendar {canonical} cannot be built: {error}") from None


def _utc_list(series: pd.Series) -> tuple[dt.datetime | None, ...]:
    index = pd.DatetimeIndex(series).tz_convert("UTC")
    missing = index.isna()
    values = index.to_pydatetime()
    return tuple(
        None if gap else value.replace(tzinfo=dt.UTC)
        for value, gap in zip(values, missing, strict=True)
    )


def build_index(calendar: ExchangeCalendar, canonical: str) -> dict[str, Any]:
    """The fields of ``core.calendars``' index of a calendar (plain dates and datetimes)."""
    schedule = calendar.schedule
    sessions = tuple(ts.date() for ts in schedule.index)
    if canonical in dispatcher._calendar_factories:
        start, end = construction_range(type(calendar))
    else:  # an instance registered with exchange_calendars: whatever range it was built for
        start, end = sessions[0], sessions[-1]
    return {
        "name": canonical,
        "tz": str(calendar.tz),
        "start": start,
        "end": end,
        "sessions": sessions,
        "opens": _utc_list(schedule["open"]),  # type: ignore[arg-type]
        "closes": _utc_list(schedule["close"]),  # type: ignore[arg-type]
        "break_starts": _utc_list(schedule["break_start"]),
        "break_ends": _utc_list(schedule["break_end"]),
        "early_closes": frozenset(ts.date() for ts in calendar.early_closes),
    }
