"""One trading day's window: when it opens, breaks and closes, and the segments it streams.

:class:`SessionWindow` is the one type every layer uses for "a trading day in time": the
calendars return it (``core.calendars.session_bounds``: the regular session), the daemon's
schedule caches it, the history loader fetches its segments, the feeds load and stream it, the
bar builders and ``core.resample`` cut buckets along it, stream subscribers receive it.

A window is a tuple of :class:`Segment` in time order, each ``[start, end)`` aware UTC, of kind
``pre_market``, ``regular``, ``break`` (the lunch break between two regular segments) or
``post_market``. The regular session is ``[open, close)`` (with ``break_start``/``break_end``
inside it on calendars with a lunch break); the extended segments exist only when a session
config includes them (US pre-market 04:00 ET to the open, post-market the close to 20:00 ET,
17:00 on early closes; ``core.phases``). ``start``/``end`` bound the whole window the engine
streams; ``trading_spans`` are the continuous regular spans (bars are bucketed along them).

Building windows reads the calendars (``session_window``); this module imports them lazily so
that the type itself costs nothing to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "ExtendedHoursLike",
    "Segment",
    "SegmentKind",
    "SessionWindow",
    "extended_flags",
    "session_window",
]

_MINUTE = timedelta(minutes=1)


class SegmentKind(StrEnum):
    """What a part of a trading day's window is."""

    PRE_MARKET = "pre_market"
    REGULAR = "regular"
    BREAK = "break"
    POST_MARKET = "post_market"


@dataclass(frozen=True, slots=True)
class Segment:
    """One part ``[start, end)`` (aware UTC) of a trading day's window."""

    kind: SegmentKind
    start: datetime
    end: datetime

    @property
    def is_extended(self) -> bool:
        """True for the pre-market and post-market segments."""
        return self.kind in (SegmentKind.PRE_MARKET, SegmentKind.POST_MARKET)


@dataclass(frozen=True, slots=True)
class SessionWindow:
    """A trading day: regular open/close (aware UTC), the lunch break when there is one, and
    the segments streamed (the regular session, plus extended phases a config includes).

    ``is_early_close`` is True when the close is earlier than the calendar's regular close.
    ``segments`` defaults to the regular session split by its break.
    """

    date: date
    open: datetime
    close: datetime
    break_start: datetime | None = None
    break_end: datetime | None = None
    is_early_close: bool = False
    segments: tuple[Segment, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.segments:
            object.__setattr__(self, "segments", self._regular_segments())

    def _regular_segments(self) -> tuple[Segment, ...]:
        if self.break_start is not None and self.break_end is not None:
            return (
                Segment(SegmentKind.REGULAR, self.open, self.break_start),
                Segment(SegmentKind.BREAK, self.break_start, self.break_end),
                Segment(SegmentKind.REGULAR, self.break_end, self.close),
            )
        return (Segment(SegmentKind.REGULAR, self.open, self.close),)

    # -- the streamed window ---------------------------------------------------------------------

    @property
    def start(self) -> datetime:
        """Where the streamed window starts (the open, or the pre-market's start)."""
        return self.segments[0].start

    @property
    def end(self) -> datetime:
        """Where the streamed window ends (the close, or the post-market's end)."""
        return self.segments[-1].end

    @property
    def extended_segments(self) -> tuple[Segment, ...]:
        """The pre-/post-market segments included (none for a regular window)."""
        return tuple(s for s in self.segments if s.is_extended)

    @property
    def regular(self) -> SessionWindow:
        """This day without its extended segments."""
        if not self.extended_segments:
            return self
        return replace(self, segments=self._regular_segments())

    def with_extended(self, *extended: Segment) -> SessionWindow:
        """This day with the given pre-/post-market segments around the regular session."""
        before = tuple(s for s in extended if s.end <= self.open)
        after = tuple(s for s in extended if s.start >= self.close)
        return replace(self, segments=(*before, *self._regular_segments(), *after))

    # -- the regular session -------------------------------------------------------------------

    @property
    def trading_spans(self) -> tuple[tuple[datetime, datetime], ...]:
        """The continuous regular trading spans: ``((open, close),)`` or
        ``((open, break_start), (break_end, close))``."""
        return tuple((s.start, s.end) for s in self.segments if s.kind is SegmentKind.REGULAR)

    def contains(self, ts: datetime) -> bool:
        """True when ``ts`` lies in the regular session outside the break."""
        return any(start <= ts < end for start, end in self.trading_spans)

    def in_break(self, ts: datetime) -> bool:
        """True when ``ts`` lies in the lunch break."""
        if self.break_start is None or self.break_end is None:
            return False
        return self.break_start <= ts < self.break_end

    @property
    def duration_seconds(self) -> float:
        """Regular trading time in seconds, the lunch break excluded."""
        return sum((end - start).total_seconds() for start, end in self.trading_spans)

    @property
    def trading_minutes(self) -> int:
        """Minutes of regular trading, the lunch break excluded."""
        return sum((end - start) // _MINUTE for start, end in self.trading_spans)

    def minutes(self) -> list[datetime]:
        """Bar-open time (aware UTC) of every regular trading minute, the break excluded."""
        out: list[datetime] = []
        for start, end in self.trading_spans:
            out.extend(start + i * _MINUTE for i in range((end - start) // _MINUTE))
        return out


# --------------------------------------------------------------------------------------------
# Building windows from the calendars
# --------------------------------------------------------------------------------------------

ExtendedHoursLike = Any
"""``None`` (regular hours only), an object or mapping with ``pre_market``/``post_market``
booleans (``SessionConfig.session_data_config.extended_hours``), or a ``(pre, post)`` pair."""


def extended_flags(extended_hours: ExtendedHoursLike) -> tuple[bool, bool]:
    """``(pre_market, post_market)`` of any :data:`ExtendedHoursLike` value."""
    if extended_hours is None:
        return False, False
    if isinstance(extended_hours, tuple):
        pre, post = extended_hours
        return bool(pre), bool(post)
    if isinstance(extended_hours, Mapping):
        return bool(extended_hours.get("pre_market")), bool(extended_hours.get("post_market"))
    return (
        bool(getattr(extended_hours, "pre_market", False)),
        bool(getattr(extended_hours, "post_market", False)),
    )


def session_window(
    calendar: str, trading_date: date, extended_hours: ExtendedHoursLike = None
) -> SessionWindow:
    """The window of ``trading_date`` on ``calendar``: the regular session and, around it, the
    extended phases ``extended_hours`` includes (``core.phases`` windows: XNYS pre-market 04:00
    ET to the open, post-market the close to 20:00 ET, 17:00 on early closes). Calendars
    without extended phases give the regular session only. ``CalendarError`` when the date is
    not a session."""
    from core import calendars, phases

    regular = calendars.session_bounds(calendar, trading_date)
    pre, post = extended_flags(extended_hours)
    if not (pre or post):
        return regular
    extended: list[Segment] = []
    for window in phases.phase_windows(calendar, trading_date):
        if window.phase == phases.Phase.PRE_MARKET and pre and window.end <= regular.open:
            extended.append(Segment(SegmentKind.PRE_MARKET, window.start, window.end))
        elif window.phase == phases.Phase.POST_MARKET and post and window.start >= regular.close:
            extended.append(Segment(SegmentKind.POST_MARKET, window.start, window.end))
    return regular.with_extended(*extended) if extended else regular
