"""The time manager: trading-day queries over ``core.calendars`` with a cache in front.

:class:`TradingSchedule` answers the questions the session lifecycle asks every day (is this a
trading day, when does it open/close/break, which trading day comes next, which trailing days
precede it) for one exchange calendar.

Caching: the calendar is read one **calendar year at a time** (a *year block*: the year's
sessions and their bounds, clipped to the calendar's covered range), kept in an LRU of
``max_years`` blocks; on top of that a last-query slot answers the most common call — the same
day's session asked again — without even a dict lookup. A query that needs a block not yet
loaded counts as a **miss** (it calls ``core.calendars``); every other query is a **hit**.
A one-year backtest therefore costs two or three misses (the year, the year before for trailing
history, the next year at the end) whatever the number of queries.

Dates are exchange-local trading dates (``datetime.date``); times are aware UTC.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core import calendars
from core.errors import CalendarError, SessionError
from core.sessions import SessionWindow


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Hits and misses of a :class:`TradingSchedule` since creation or the last invalidation."""

    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        """``hits / (hits + misses)`` in 0..1 (1.0 before any query)."""
        total = self.hits + self.misses
        return self.hits / total if total else 1.0


class _YearBlock:
    """Sessions of one calendar year (clipped to the covered range) with their bounds."""

    __slots__ = ("year", "first", "last", "sessions", "by_date", "minutes")

    def __init__(self, calendar: str, year: int, covered: tuple[date, date]) -> None:
        self.year = year
        self.first = max(date(year, 1, 1), covered[0])
        self.last = min(date(year, 12, 31), covered[1])
        days = calendars.sessions_in_range(calendar, self.first, self.last)
        self.sessions: list[date] = days
        self.by_date: dict[date, SessionWindow] = {
            day: calendars.session_bounds(calendar, day) for day in days
        }
        self.minutes: dict[date, tuple[datetime, ...]] = {}


class TradingSchedule:
    """Cached trading-day queries for one exchange calendar (name or alias: "XNYS", "HOSE").

    ``max_years`` is the number of year blocks kept (LRU).
    """

    def __init__(self, calendar: str, *, max_years: int = 16) -> None:
        self.calendar = calendars.resolve_calendar_name(calendar)
        self.timezone = calendars.exchange_timezone(self.calendar)
        self.max_years = max_years
        self._covered = calendars.covered_range(self.calendar)
        self._blocks: OrderedDict[int, _YearBlock] = OrderedDict()
        self._hits = 0
        self._misses = 0
        self._loaded = False
        self._last_date: date | None = None
        self._last_session: SessionWindow | None = None

    # -- cache --------------------------------------------------------------------------------

    def _block(self, year: int) -> _YearBlock:
        """The block of ``year``; records a miss when it has to be loaded."""
        block = self._blocks.get(year)
        if block is None:
            if not self._covered[0].year <= year <= self._covered[1].year:
                raise CalendarError(
                    f"year {year} is outside the {self.calendar} calendar's known range "
                    f"{self._covered[0]}..{self._covered[1]}"
                )
            block = _YearBlock(self.calendar, year, self._covered)
            self._blocks[year] = block
            self._loaded = True
            if len(self._blocks) > self.max_years:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(year)
        return block

    def _begin(self) -> None:
        self._loaded = False

    def _end(self) -> None:
        if self._loaded:
            self._misses += 1
        else:
            self._hits += 1

    def _check(self, day: date) -> None:
        if not self._covered[0] <= day <= self._covered[1]:
            raise CalendarError(
                f"{day} is outside the {self.calendar} calendar's known range "
                f"{self._covered[0]}..{self._covered[1]}"
            )

    def invalidate_cache(self) -> None:
        """Forget every cached block and reset the statistics."""
        self._blocks.clear()
        self._hits = self._misses = 0
        self._last_date = None
        self._last_session = None

    def cache_stats(self) -> CacheStats:
        """Hits and misses since creation or :meth:`invalidate_cache`."""
        return CacheStats(self._hits, self._misses)

    # -- queries ------------------------------------------------------------------------------

    def is_trading_day(self, day: date) -> bool:
        """True when ``day`` is a session of the calendar."""
        if day == self._last_date:
            self._hits += 1
            return self._last_session is not None
        return self.get_trading_session(day) is not None

    def get_trading_session(self, day: date) -> SessionWindow | None:
        """Open/close/break of ``day``; None when ``day`` is not a trading day."""
        if day == self._last_date:
            self._hits += 1
            return self._last_session
        self._check(day)
        self._begin()
        session = self._block(day.year).by_date.get(day)
        self._end()
        self._last_date = day
        self._last_session = session
        return session

    def get_next_trading_date(self, day: date, n: int = 1) -> date:
        """The ``n``-th trading day strictly after ``day`` (``day`` need not trade)."""
        if n < 1:
            raise CalendarError(f"n must be >= 1, was {n}")
        self._check(day)
        self._begin()
        try:
            year = day.year
            block = self._block(year)
            position = bisect_right(block.sessions, day)
            remaining = n
            while position + remaining > len(block.sessions):
                remaining -= len(block.sessions) - position
                year += 1
                if year > self._covered[1].year:
                    raise CalendarError(
                        f"{self.calendar} has no trading day {n} day(s) after {day} within its "
                        f"known range {self._covered[0]}..{self._covered[1]}"
                    )
                block = self._block(year)
                position = 0
            return block.sessions[position + remaining - 1]
        finally:
            self._end()

    def get_previous_trading_date(self, day: date, n: int = 1) -> date:
        """The ``n``-th trading day strictly before ``day``."""
        if n < 1:
            raise CalendarError(f"n must be >= 1, was {n}")
        return self.trading_days_back(day, n)[0]

    def get_first_trading_date(self, day: date) -> date:
        """``day`` itself when it is a trading day, else the next one (inclusive search)."""
        if self.is_trading_day(day):
            return day
        return self.get_next_trading_date(day)

    def backtest_days(self, start: date | None, end: date | None) -> list[date]:
        """The trading days of a backtest ``[start, end]``; ``SessionError`` naming what is
        wrong when a date is missing or the range holds no trading day."""
        if start is None or end is None:
            raise SessionError(
                "backtest needs backtest_config.start_date and end_date (or --start/--end)"
            )
        days = self.trading_days_between(start, end)
        if not days:
            raise SessionError(
                f"no trading day of {self.calendar} between {start.isoformat()} and "
                f"{end.isoformat()}: pick a range that contains a session"
            )
        return days

    def first_day_ending_after(self, now: datetime, window: Callable[[date], Any]) -> date:
        """The first trading day whose streamed ``window(day)`` has not ended at ``now`` (a
        live session starting: today, or the next trading day once today is over)."""
        first = self.get_first_trading_date(now.astimezone(self.timezone).date())
        if now >= window(first).end:
            first = self.get_next_trading_date(first)
        return first

    def trading_days_back(self, day: date, n: int) -> list[date]:
        """The ``n`` trading days strictly before ``day``, oldest first (for trailing history)."""
        if n < 0:
            raise CalendarError(f"n must be >= 0, was {n}")
        if n == 0:
            return []
        self._check(day)
        self._begin()
        try:
            year = day.year
            block = self._block(year)
            collected = block.sessions[: bisect_left(block.sessions, day)][-n:]
            while len(collected) < n:
                year -= 1
                if year < self._covered[0].year:
                    raise CalendarError(
                        f"{self.calendar} has only {len(collected)} trading day(s) before {day} "
                        f"within its known range {self._covered[0]}..{self._covered[1]} "
                        f"({n} asked)"
                    )
                block = self._block(year)
                collected = block.sessions[-(n - len(collected)) :] + collected
            return collected
        finally:
            self._end()

    def trading_days_between(self, start: date, end: date) -> list[date]:
        """Trading days from ``start`` to ``end``, both inclusive (empty when start > end)."""
        if start > end:
            return []
        self._check(start)
        self._check(end)
        self._begin()
        try:
            out: list[date] = []
            for year in range(start.year, end.year + 1):
                sessions = self._block(year).sessions
                out.extend(sessions[bisect_left(sessions, start) : bisect_right(sessions, end)])
            return out
        finally:
            self._end()

    def session_minutes(self, day: date) -> list[datetime]:
        """UTC bar-open times of every trading minute of ``day`` (empty on a non-trading day)."""
        session = self.get_trading_session(day)
        if session is None:
            return []
        block = self._blocks.get(day.year)
        if block is None:  # evicted since: derive from the session (no calendar call)
            return session.minutes()
        minutes = block.minutes.get(day)
        if minutes is None:
            minutes = block.minutes[day] = tuple(session.minutes())
        return list(minutes)

    def __repr__(self) -> str:
        stats = self.cache_stats()
        return (
            f"TradingSchedule({self.calendar!r}, years={list(self._blocks)}, "
            f"hits={stats.hits}, misses={stats.misses})"
        )


__all__ = ["CacheStats", "TradingSchedule"]
