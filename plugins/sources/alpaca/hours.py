"""Which parts of the US trading day the Alpaca source keeps.

Alpaca serves (and streams) extended-hours data: pre-market 04:00-09:30 ET and post-market
16:00-20:00 ET (on early-close days the regular session ends at 13:00 ET and post-market
runs 13:00-17:00 ET). Regular hours, early closes and holidays come from the exchange calendar
(``core.calendars``, ``core.phases``); a session config's
``session_data_config.extended_hours {pre_market, post_market}`` decides whether the
extended phases are kept. Everything outside the kept windows (and every non-session day) is
dropped. Windows are computed once per exchange-local date and cached.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from core.calendars import exchange_timezone
from core.errors import CalendarError
from core.phases import Phase, phase_windows


class TradingHours:
    """Regular hours always; pre-market and post-market when asked for.

    ``phase_of(ts)`` names the phase (``continuous``, ``pre_market``, ``post_market``) of an
    aware timestamp when it falls in a kept window, else None.
    """

    __slots__ = ("calendar", "pre_market", "post_market", "_zone", "_windows", "_kept")

    def __init__(
        self, calendar: str = "XNYS", *, pre_market: bool = False, post_market: bool = False
    ):
        self.calendar = calendar
        self.pre_market = bool(pre_market)
        self.post_market = bool(post_market)
        self._zone = exchange_timezone(calendar)
        self._windows: dict[date, tuple[list[datetime], list[tuple[datetime, datetime, str]]]] = {}
        kept = {Phase.CONTINUOUS.value}
        if self.pre_market:
            kept.add(Phase.PRE_MARKET.value)
        if self.post_market:
            kept.add(Phase.POST_MARKET.value)
        self._kept = frozenset(kept)

    @classmethod
    def from_options(
        cls,
        calendar: str,
        extended_hours: Mapping[str, Any] | Any | None = None,
        pre_market: bool | None = None,
        post_market: bool | None = None,
    ) -> TradingHours:
        """Build from a config's ``extended_hours`` (mapping or object) and/or explicit flags."""
        pre, post = False, False
        if extended_hours is not None:
            if isinstance(extended_hours, Mapping):
                pre = bool(extended_hours.get("pre_market", False))
                post = bool(extended_hours.get("post_market", False))
            else:
                pre = bool(getattr(extended_hours, "pre_market", False))
                post = bool(getattr(extended_hours, "post_market", False))
        if pre_market is not None:
            pre = pre_market
        if post_market is not None:
            post = post_market
        return cls(calendar, pre_market=pre, post_market=post)

    @property
    def kept_phases(self) -> frozenset[str]:
        return self._kept

    def windows(self, local_date: date) -> list[tuple[datetime, datetime, str]]:
        """The kept ``(start, end, phase)`` windows (UTC) of an exchange-local date, in order."""
        return self._day(local_date)[1]

    def _day(self, local_date: date) -> tuple[list[datetime], list[tuple[datetime, datetime, str]]]:
        cached = self._windows.get(local_date)
        if cached is None:
            windows = sorted(self._compute(local_date))
            cached = ([start for start, _, _ in windows], windows)
            self._windows[local_date] = cached
        return cached

    def _compute(self, local_date: date) -> list[tuple[datetime, datetime, str]]:
        try:
            raw = phase_windows(self.calendar, local_date)
        except CalendarError:
            return []
        return [
            (window.start, window.end, str(window.phase))
            for window in raw
            if str(window.phase) in self._kept and window.end > window.start
        ]

    def phase_of(self, ts: datetime) -> str | None:
        """The kept phase ``ts`` falls in (windows are ``[start, end)``), else None."""
        starts, windows = self._day(ts.astimezone(self._zone).date())
        index = bisect_right(starts, ts) - 1
        if index < 0:
            return None
        start, end, phase = windows[index]
        return phase if start <= ts < end else None

    def keeps(self, ts: datetime) -> bool:
        """True when an event at ``ts`` belongs to a kept phase."""
        return self.phase_of(ts) is not None

    def keeps_span(self, start: datetime, length: timedelta) -> bool:
        """True when ``[start, start + length)`` overlaps a kept window (bars longer than 1m:
        Alpaca's hourly bars open on the hour, so the 09:00 ET bar holds 09:30-10:00 trading)."""
        end = start + length
        local = start.astimezone(self._zone).date()
        for day in (local, local + timedelta(days=1)) if length > timedelta(hours=1) else (local,):
            for window_start, window_end, _ in self._day(day)[1]:
                if window_start < end and start < window_end:
                    return True
        return False
