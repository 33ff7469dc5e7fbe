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
Lookups are served from a per-calendar index built once from ``exchange_calendars``
(``core.calendar_types``) and cached in memory and, for the calendars sessiond ships, on disk
(``SESSIOND_CACHE_DIR``, keyed by the library's version and this code): a process whose
calendars are cached never imports exchange_calendars or pandas (``sessiond check-config``
starts fast). A plugin registering a calendar clears the caches; its calendar is never cached
on disk.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import importlib.metadata as metadata
import os
import pickle
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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


# ---------------------------------------------------------------------------------------------
# Registration and lookup
# ---------------------------------------------------------------------------------------------

_BUILTIN: dict[str, str] = {
    "XNYS": "XNYS",
    "NYSE": "XNYS",
    "XSTC": "XSTC",
    "HOSE": "XSTC",
    "XHNX": "XHNX",
    "HNX": "XHNX",
    "UPCOM": "UPCOM",
    "VN30F": "VN30F",
}
"""Names and aliases of the calendars sessiond ships (resolved without exchange_calendars)."""

_REGISTERED: dict[str, tuple[str, ...]] = {}
"""Calendars registered through :func:`register_calendar` (plugins): name -> aliases."""

generation = 0
"""Bumped whenever a calendar is (re)registered; caches of other modules key on it."""


def register_calendar(name: str, cls: type, aliases: tuple[str, ...] = ()) -> None:
    """Register an ``exchange_calendars.ExchangeCalendar`` subclass under ``name`` and
    ``aliases``.

    Called by the plugin manager for every calendar a ``register_calendars`` hook returns.
    Re-registering a name replaces it. Clears the caches.
    """
    from core import calendar_types

    calendar_types.register(name, cls, tuple(aliases))
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
        for registered, aliases in _REGISTERED.items():
            if candidate == registered or candidate in aliases:
                return registered
        if candidate in _BUILTIN:
            return _BUILTIN[candidate]
        if candidate in EXCHANGE_GROUPS:
            return EXCHANGE_GROUPS[candidate]
    from core.calendar_types import dispatcher  # another exchange_calendars name

    for candidate in (name.strip(), name.strip().upper()):
        if dispatcher.has_calendar(candidate):
            return dispatcher.resolve_alias(candidate)
    known = sorted(
        {*EXCHANGE_GROUPS.values(), "HOSE", "HNX", *_REGISTERED}
        | {a for v in _REGISTERED.values() for a in v}
    )
    raise CalendarError(
        f"unknown exchange calendar {name!r} (expected one of {', '.join(known)}, "
        "or another exchange_calendars name)"
    )


@lru_cache(maxsize=32)
def get_calendar(name: str) -> Any:
    """The ``exchange_calendars`` calendar for a name, alias or group (cached per name).

    ``XNYS`` is built for 1990–2030, the Vietnamese calendars for 2024–2026.
    """
    canonical = resolve_calendar_name(name)
    if canonical != name:
        return get_calendar(canonical)
    from core import calendar_types

    return calendar_types.get_calendar(canonical)


def __getattr__(name: str) -> Any:
    """The Vietnamese calendar classes (``XSTCExchangeCalendar`` ...), defined with
    exchange_calendars in ``core.calendar_types`` and imported only when asked for."""
    if name.endswith("ExchangeCalendar"):
        from core import calendar_types

        return getattr(calendar_types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------------------------
# The per-calendar index: plain Python lists so hot lookups avoid pandas, cached on disk
# ---------------------------------------------------------------------------------------------

CACHE_DIR_ENV = "SESSIOND_CACHE_DIR"
"""Where calendar indexes are cached (default ``$XDG_CACHE_HOME/sessiond`` or
``~/.cache/sessiond``); an unwritable directory just means no cache."""


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


def _cache_file(canonical: str) -> Path | None:
    """The cache file of a shipped calendar's index, keyed by the exchange_calendars version
    and the calendar code (None for calendars registered by plugins: never cached)."""
    if canonical not in _BUILTIN.values() or canonical in _REGISTERED:
        return None
    try:
        version = metadata.version("exchange-calendars")
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency
        return None
    here = Path(__file__).parent
    digest = hashlib.blake2b(digest_size=8)
    for part in (
        version,
        (here / "calendars.py").read_bytes(),
        (here / "calendar_types.py").read_bytes(),
    ):
        digest.update(part if isinstance(part, bytes) else part.encode())
    base = os.environ.get(CACHE_DIR_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sessiond"
    )
    return Path(base) / f"calendar-{canonical}-{digest.hexdigest()}.pickle"


def _index_fields(canonical: str) -> dict[str, Any]:
    path = _cache_file(canonical)
    if path is not None:
        try:
            with path.open("rb") as handle:
                fields = pickle.load(handle)
            if isinstance(fields, dict) and fields.get("name") == canonical:
                return fields
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            pass
    from core import calendar_types

    fields = calendar_types.build_index(get_calendar(canonical), canonical)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
                pickle.dump(fields, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(handle.name, path)  # atomic: parallel processes never read half a file
        except OSError:
            pass
    return fields


@lru_cache(maxsize=32)
def _index(name: str) -> _CalendarIndex:
    canonical = resolve_calendar_name(name)
    fields = _index_fields(canonical)
    sessions = fields["sessions"]
    return _CalendarIndex(
        name=canonical,
        tz=ZoneInfo(fields["tz"]),
        start=fields["start"],
        end=fields["end"],
        sessions=sessions,
        position={day: i for i, day in enumerate(sessions)},
        opens=fields["opens"],
        closes=fields["closes"],
        break_starts=fields["break_starts"],
        break_ends=fields["break_ends"],
        early_closes=fields["early_closes"],
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
