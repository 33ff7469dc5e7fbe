"""Exchange calendars: which days are sessions, and when each session opens, breaks and closes.

US equities use ``exchange_calendars``' own ``XNYS`` (holidays and early closes). Vietnam has no
calendar there, so this module defines and registers four (same holiday table, different hours;
``../shared/reference/vietnam_market.md`` §1 and §5), all in ``Asia/Ho_Chi_Minh``:

=========  =========  ============  ===============  ==================================
name       alias      open–close    lunch break      market
=========  =========  ============  ===============  ==================================
``XSTC``   ``HOSE``   09:00–14:45   11:30–13:00      Ho Chi Minh City Stock Exchange
``XHNX``   ``HNX``    09:00–15:00   11:30–13:00      Hanoi Stock Exchange
``UPCOM``             09:00–15:00   11:30–13:00      UPCoM board (HNX)
``VN30F``             08:45–14:45   11:30–13:00      VN30 index futures (HNX derivatives)
=========  =========  ============  ===============  ==================================

Vietnamese holidays are lunar and announced year by year, so the calendars only know
2024-01-01..2026-12-31 and raise :class:`~core.errors.CalendarError` for any date outside that
range instead of guessing. ``XNYS`` covers 1990-01-01..2030-12-31.

Dates are exchange-local trading dates (``datetime.date``); instants are aware UTC datetimes.
Lookups are served from a per-calendar index built once (``get_calendar`` and the index are
cached; a plugin registering a calendar clears the caches).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd
from exchange_calendars import ExchangeCalendar
from exchange_calendars.calendar_utils import global_calendar_dispatcher as _dispatcher

from core.errors import CalendarError
from core.sessions import SessionWindow

__all__ = [
    "EXCHANGE_GROUPS",
    "VN_HOLIDAYS",
    "calendar_name_for_group",
    "covered_range",
    "exchange_timezone",
    "first_session",
    "get_calendar",
    "is_session",
    "last_session",
    "next_session",
    "previous_session",
    "register_calendar",
    "resolve_calendar_name",
    "session_bounds",
    "session_minutes",
    "sessions_in_range",
]

EXCHANGE_GROUPS: dict[str, str] = {
    "US_EQUITY": "XNYS",
    "HOSE": "XSTC",
    "HNX": "XHNX",
    "UPCOM": "UPCOM",
    "VN_DERIVATIVES": "VN30F",
}
"""Session-config ``exchange_group`` -> calendar name."""

DEFAULT_START = dt.date(1990, 1, 1)
"""First date of calendars without a lower bound of their own (``XNYS``)."""
DEFAULT_END = dt.date(2030, 12, 31)
"""Last date of calendars without an upper bound of their own (``XNYS``)."""

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _dates(year: int, month: int, *days: int) -> list[dt.date]:
    return [dt.date(year, month, day) for day in days]


VN_HOLIDAYS: dict[int, tuple[dt.date, ...]] = {
    2024: tuple(
        _dates(2024, 1, 1)  # New Year
        + _dates(2024, 2, 8, 9, 12, 13, 14)  # Tet
        + _dates(2024, 4, 18)  # Hung Kings
        + _dates(2024, 4, 29, 30)  # swap day, Reunification
        + _dates(2024, 5, 1)  # Labour Day
        + _dates(2024, 9, 2, 3)  # National Day
    ),
    2025: tuple(
        _dates(2025, 1, 1)  # New Year
        + _dates(2025, 1, 27, 28, 29, 30, 31)  # Tet
        + _dates(2025, 4, 7)  # Hung Kings
        + _dates(2025, 4, 30)  # Reunification
        + _dates(2025, 5, 1, 2)  # Labour Day, swap day
        + _dates(2025, 9, 1, 2)  # National Day
    ),
    2026: tuple(
        _dates(2026, 1, 1)  # New Year
        + _dates(2026, 2, 16, 17, 18, 19, 20)  # Tet
        + _dates(2026, 4, 27)  # Hung Kings
        + _dates(2026, 4, 30)  # Reunification
        + _dates(2026, 5, 1)  # Labour Day
        + _dates(2026, 8, 31)
        + _dates(2026, 9, 1, 2)  # National Day
    ),
}
"""Weekdays the Vietnamese exchanges are closed, by year (vietnam_market.md §5; 12 a year)."""

VN_FIRST_DATE = dt.date(min(VN_HOLIDAYS), 1, 1)
VN_LAST_DATE = dt.date(max(VN_HOLIDAYS), 12, 31)


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


# ---------------------------------------------------------------------------------------------
# Registration and lookup
# ---------------------------------------------------------------------------------------------

_REGISTERED: dict[str, tuple[str, ...]] = {}
"""Calendars registered through this module: name -> aliases."""

generation = 0
"""Bumped whenever a calendar is (re)registered; caches of other modules key on it."""


def register_calendar(
    name: str, cls: type[ExchangeCalendar], aliases: tuple[str, ...] = ()
) -> None:
    """Register an ``ExchangeCalendar`` subclass under ``name`` and ``aliases``.

    Called at import for the Vietnamese calendars and by the plugin manager for every calendar a
    ``register_calendars`` hook returns. Re-registering a name replaces it. Clears the caches.
    """
    if not (isinstance(cls, type) and issubclass(cls, ExchangeCalendar)):
        raise CalendarError(
            f"calendar {name!r} must be an exchange_calendars.ExchangeCalendar subclass, "
            f"was {cls!r}"
        )
    xcals.register_calendar_type(name, cls, force=True)
    for alias in aliases:
        xcals.register_calendar_alias(alias, name, force=True)
    _REGISTERED[name] = tuple(aliases)
    _clear_caches()


def _clear_caches() -> None:
    global generation
    generation += 1
    resolve_calendar_name.cache_clear()
    get_calendar.cache_clear()
    _index.cache_clear()
    session_bounds.cache_clear()
    _session_minutes.cache_clear()


def calendar_name_for_group(group: str) -> str:
    """The calendar of a session-config ``exchange_group`` (``"HOSE"`` -> ``"XSTC"``)."""
    try:
        return EXCHANGE_GROUPS[group]
    except (KeyError, TypeError):
        raise CalendarError(
            f"unknown exchange_group {group!r} (expected one of {', '.join(sorted(EXCHANGE_GROUPS))})"
        ) from None


@lru_cache(maxsize=128)
def resolve_calendar_name(name: str) -> str:
    """Canonical calendar name for a name, alias or exchange group (``"HOSE"`` -> ``"XSTC"``)."""
    if not isinstance(name, str) or not name.strip():
        raise CalendarError(f"calendar name must be a non-empty string, was {name!r}")
    for candidate in (name.strip(), name.strip().upper()):
        if candidate in EXCHANGE_GROUPS and not _dispatcher.has_calendar(candidate):
            return EXCHANGE_GROUPS[candidate]
        if _dispatcher.has_calendar(candidate):
            return _dispatcher.resolve_alias(candidate)
    known = sorted(
        {*EXCHANGE_GROUPS.values(), *_REGISTERED, *(a for v in _REGISTERED.values() for a in v)}
    )
    raise CalendarError(
        f"unknown exchange calendar {name!r} (expected one of {', '.join(known)}, "
        "or another exchange_calendars name)"
    )


def _construction_range(cls: type[ExchangeCalendar]) -> tuple[dt.date, dt.date]:
    start, end = DEFAULT_START, DEFAULT_END
    bound_min, bound_max = cls.bound_min(), cls.bound_max()
    if bound_min is not None:
        start = max(start, bound_min.date())
    if bound_max is not None:
        end = min(end, bound_max.date())
    return start, end


@lru_cache(maxsize=32)
def get_calendar(name: str) -> ExchangeCalendar:
    """The ``exchange_calendars`` calendar for a name, alias or group (cached per name).

    ``XNYS`` is built for 1990–2030, the Vietnamese calendars for 2024–2026.
    """
    canonical = resolve_calendar_name(name)
    if canonical != name:
        return get_calendar(canonical)
    cls = _dispatcher._calendar_factories.get(canonical)  # the registered class
    if cls is None:  # registered as an instance (exchange_calendars.register_calendar)
        return xcals.get_calendar(canonical)
    start, end = _construction_range(cls)
    try:
        # built directly: exchange_calendars' own factory cache survives re-registration
        return cls(start=start.isoformat(), end=end.isoformat())
    except ValueError as error:
        raise CalendarError(f"calendar {canonical} cannot be built: {error}") from None


# ---------------------------------------------------------------------------------------------
# The per-calendar index: plain Python lists so hot lookups avoid pandas
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CalendarIndex:
    name: str
    tz: ZoneInfo
    start: dt.date  # first date the calendar knows (sessions or not)
    end: dt.date
    sessions: tuple[dt.date, ...]
    position: dict[dt.date, int]
    opens: tuple[dt.datetime, ...]
    closes: tuple[dt.datetime, ...]
    break_starts: tuple[dt.datetime | None, ...]
    break_ends: tuple[dt.datetime | None, ...]
    early_closes: frozenset[dt.date]

    def check(self, day: dt.date) -> None:
        if not self.start <= day <= self.end:
            hint = (
                "; add that year's holidays to core/calendars.VN_HOLIDAYS rather than guess"
                if self.tz == VN_TZ
                else ""
            )
            raise CalendarError(
                f"{day} is outside the {self.name} calendar's known range "
                f"{self.start}..{self.end}{hint}"
            )


def _utc_list(series: pd.Series) -> tuple[dt.datetime | None, ...]:
    index = pd.DatetimeIndex(series).tz_convert("UTC")
    missing = index.isna()
    values = index.to_pydatetime()
    return tuple(
        None if gap else value.replace(tzinfo=dt.UTC)
        for value, gap in zip(values, missing, strict=True)
    )


@lru_cache(maxsize=32)
def _index(name: str) -> _CalendarIndex:
    canonical = resolve_calendar_name(name)
    calendar = get_calendar(canonical)
    schedule = calendar.schedule
    sessions = tuple(ts.date() for ts in schedule.index)
    if canonical in _dispatcher._calendar_factories:
        start, end = _construction_range(type(calendar))
    else:  # an instance registered with exchange_calendars: whatever range it was built for
        start, end = sessions[0], sessions[-1]
    return _CalendarIndex(
        name=canonical,
        tz=ZoneInfo(str(calendar.tz)),
        start=start,
        end=end,
        sessions=sessions,
        position={day: i for i, day in enumerate(sessions)},
        opens=_utc_list(schedule["open"]),  # type: ignore[arg-type]
        closes=_utc_list(schedule["close"]),  # type: ignore[arg-type]
        break_starts=_utc_list(schedule["break_start"]),
        break_ends=_utc_list(schedule["break_end"]),
        early_closes=frozenset(ts.date() for ts in calendar.early_closes),
    )


def _as_date(value: dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise CalendarError(
                f"expected a trading date, got the instant {value.isoformat()}; convert it to the "
                "exchange's local date first"
            )
        return value.date()
    if not isinstance(value, dt.date):
        raise CalendarError(f"expected a datetime.date, was {value!r}")
    return value


# ---------------------------------------------------------------------------------------------
# Public queries
# ---------------------------------------------------------------------------------------------


def exchange_timezone(name: str) -> ZoneInfo:
    """The exchange's local time zone (``America/New_York``, ``Asia/Ho_Chi_Minh`` ...)."""
    return _index(name).tz


def covered_range(name: str) -> tuple[dt.date, dt.date]:
    """The first and last date the calendar knows (inclusive); outside it queries raise."""
    index = _index(name)
    return index.start, index.end


def first_session(name: str) -> dt.date:
    """The first session the calendar knows (``XSTC``: 2024-01-02)."""
    return _index(name).sessions[0]


def last_session(name: str) -> dt.date:
    """The last session the calendar knows (``XSTC``: 2026-12-31)."""
    return _index(name).sessions[-1]


def is_session(name: str, day: dt.date) -> bool:
    """True when ``day`` is a trading session (raises outside the calendar's known range)."""
    index = _index(name)
    day = _as_date(day)
    index.check(day)
    return day in index.position


def sessions_in_range(name: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """Sessions from ``start`` to ``end``, both inclusive (empty when ``start > end``)."""
    index = _index(name)
    start, end = _as_date(start), _as_date(end)
    if start > end:
        return []
    index.check(start)
    index.check(end)
    low = bisect.bisect_left(index.sessions, start)
    high = bisect.bisect_right(index.sessions, end)
    return list(index.sessions[low:high])


def next_session(name: str, day: dt.date, n: int = 1) -> dt.date:
    """The ``n``-th session strictly after ``day`` (``day`` need not be a session)."""
    if n < 1:
        raise CalendarError(f"n must be >= 1, was {n}")
    index = _index(name)
    day = _as_date(day)
    index.check(day)
    position = bisect.bisect_right(index.sessions, day) + n - 1
    if position >= len(index.sessions):
        raise CalendarError(
            f"{index.name} has no session {n} session(s) after {day} within its known range "
            f"{index.start}..{index.end}"
        )
    return index.sessions[position]


def previous_session(name: str, day: dt.date, n: int = 1) -> dt.date:
    """The ``n``-th session strictly before ``day`` (``day`` need not be a session)."""
    if n < 1:
        raise CalendarError(f"n must be >= 1, was {n}")
    index = _index(name)
    day = _as_date(day)
    index.check(day)
    position = bisect.bisect_left(index.sessions, day) - n
    if position < 0:
        raise CalendarError(
            f"{index.name} has no session {n} session(s) before {day} within its known range "
            f"{index.start}..{index.end}"
        )
    return index.sessions[position]


@lru_cache(maxsize=4096)
def session_bounds(name: str, day: dt.date) -> SessionWindow:
    """The regular session of ``day``: open, close and break (aware UTC) as a
    ``core.sessions.SessionWindow``; CalendarError if ``day`` is no session."""
    index = _index(name)
    day = _as_date(day)
    index.check(day)
    position = index.position.get(day)
    if position is None:
        raise CalendarError(f"{day} is not a {index.name} session (weekend or holiday)")
    return SessionWindow(
        date=day,
        open=index.opens[position],
        close=index.closes[position],
        break_start=index.break_starts[position],
        break_end=index.break_ends[position],
        is_early_close=day in index.early_closes,
    )


_MINUTE = dt.timedelta(minutes=1)


@lru_cache(maxsize=512)
def _session_minutes(name: str, day: dt.date) -> tuple[dt.datetime, ...]:
    bounds = session_bounds(name, day)
    minutes: list[dt.datetime] = []
    spans = (
        [(bounds.open, bounds.break_start), (bounds.break_end, bounds.close)]
        if bounds.break_start is not None and bounds.break_end is not None
        else [(bounds.open, bounds.close)]
    )
    for start, end in spans:
        count = (end - start) // _MINUTE
        minutes.extend(start + i * _MINUTE for i in range(count))
    return tuple(minutes)


def session_minutes(name: str, day: dt.date) -> list[dt.datetime]:
    """The UTC bar-open time of every trading minute of a session, breaks excluded.

    390 for a regular ``XNYS`` day, 210 on an early close (13:00 ET), 255 for ``XSTC``
    (09:00–11:30 and 13:00–14:45 local).
    """
    return list(_session_minutes(name, _as_date(day)))


register_calendar("XSTC", XSTCExchangeCalendar, ("HOSE",))
register_calendar("XHNX", XHNXExchangeCalendar, ("HNX",))
register_calendar("UPCOM", UPCOMExchangeCalendar)
register_calendar("VN30F", VN30FExchangeCalendar)
