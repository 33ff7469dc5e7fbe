"""The engine's notion of "now": the only module of sessiond that reads the wall clock.

Two clocks share one small interface (``now``, ``advance_to``, ``advance_to_async``,
``jump_to``):

- :class:`SimulatedClock` for backtests. With ``speed_multiplier == 0`` (data-driven) it jumps
  to each event's time instantly. With ``speed_multiplier > 0`` (clock-driven) ``advance_to``
  waits so that simulated time runs ``speed_multiplier`` times faster than wall time (360 -> a
  6.5-hour session in 65 s). Pacing is computed against an absolute anchor (wall instant,
  simulated instant), so sleep overshoots never accumulate into drift. ``jump_to`` moves time
  forward without pacing (lunch break, jump to the close, next day's open) and re-anchors.
- :class:`LiveClock` for live sessions: wall-clock UTC, optionally shifted so that a session
  can start "at" any instant (``--clock-start``) and run in real time from there.

Both are monotonic: asking to move backwards raises :class:`ClockError`.

:func:`perf_seconds` is the sanctioned stopwatch (``time.perf_counter``, seconds) for metrics.

Both clocks read and wait on the wall through a :class:`WallTimer` (default :data:`REAL_WALL`:
``time.time``, ``time.monotonic``, ``time.sleep``, ``asyncio.sleep``); tests pass a manual one,
so pacing is checked exactly, whatever the machine's load.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol

from core.errors import SessionError

perf_seconds = time.perf_counter
"""A monotonic high-resolution stopwatch in seconds (``time.perf_counter``); for metrics only."""

_MIN_SLEEP_SECONDS = 0.0005
"""Waits shorter than this (0.5 ms) are skipped: pacing is anchored, so nothing is lost."""


class WallTimer(Protocol):
    """Where clocks read and wait on the wall (seconds)."""

    def time(self) -> float:
        """Seconds since the epoch (``time.time``)."""
        ...

    def monotonic(self) -> float:
        """A monotonic reading (``time.monotonic``)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        ...

    async def sleep_async(self, seconds: float) -> None:
        """Wait ``seconds`` in the event loop."""
        ...


class _RealWall:
    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)
    time = staticmethod(time.time)  # last: the name shadows the module inside this class

    async def sleep_async(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


REAL_WALL: WallTimer = _RealWall()
"""The machine's wall clock (what sessiond runs on)."""


class ClockError(SessionError):
    """A clock was asked to move backwards or was given a naive datetime."""


def _check_aware(ts: datetime, what: str) -> None:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ClockError(f"{what} must be an aware UTC datetime, was naive {ts.isoformat()}")


def _backwards(now: datetime, ts: datetime) -> ClockError:
    return ClockError(
        f"clock cannot move backwards: now is {now.isoformat()}, asked for {ts.isoformat()} "
        "(events must be fed in timestamp order)"
    )


class SimulatedClock:
    """Backtest time: data-driven (``speed_multiplier == 0``) or paced (``> 0``).

    ``start`` is the initial simulated instant (aware UTC). ``speed_multiplier`` is simulated
    seconds per wall second (0 = as fast as possible).
    """

    __slots__ = (
        "_now",
        "speed_multiplier",
        "_anchor_sim",
        "_anchor_wall",
        "_paced_sim_seconds",
        "_paced_wall_seconds",
        "_span_start_wall",
        "_wall",
    )

    def __init__(
        self, start: datetime, speed_multiplier: float = 0.0, *, wall: WallTimer = REAL_WALL
    ) -> None:
        _check_aware(start, "SimulatedClock start")
        if speed_multiplier < 0:
            raise ClockError(
                f"speed_multiplier must be >= 0 (0 = data-driven), was {speed_multiplier}"
            )
        self._wall = wall
        self._now = start
        self.speed_multiplier = float(speed_multiplier)
        self._anchor_sim = start
        self._anchor_wall = wall.monotonic()
        self._paced_sim_seconds = 0.0
        self._paced_wall_seconds = 0.0
        self._span_start_wall: float | None = None

    @property
    def is_paced(self) -> bool:
        """True in clock-driven mode (``speed_multiplier > 0``)."""
        return self.speed_multiplier > 0

    def now(self) -> datetime:
        """The current simulated instant (aware UTC)."""
        return self._now

    def _wall_delay(self, ts: datetime) -> float:
        """Seconds of wall time still to wait before simulated time may reach ``ts``."""
        target = self._anchor_wall + (ts - self._anchor_sim).total_seconds() / self.speed_multiplier
        return target - self._wall.monotonic()

    def _begin(self) -> None:
        """Open a paced span (for :meth:`pacing_report`) at the current anchor."""
        if self._span_start_wall is None:
            self._span_start_wall = self._anchor_wall

    def _finish(self, ts: datetime) -> None:
        self._paced_sim_seconds += (ts - self._now).total_seconds()
        self._now = ts

    def advance_to(self, ts: datetime) -> None:
        """Move simulated time forward to ``ts`` (blocking while paced).

        Data-driven: a comparison and an attribute store. Paced: sleeps (``time.sleep``) until
        the wall clock reaches the anchored target. ``ts == now()`` is allowed; earlier raises.
        """
        if ts < self._now:
            raise _backwards(self._now, ts)
        if self.speed_multiplier <= 0:
            self._now = ts
            return
        self._begin()
        delay = self._wall_delay(ts)
        if delay > _MIN_SLEEP_SECONDS:
            self._wall.sleep(delay)
        self._finish(ts)

    async def advance_to_async(self, ts: datetime) -> None:
        """Like :meth:`advance_to` but waits with ``asyncio.sleep`` (for use in the event loop)."""
        if ts < self._now:
            raise _backwards(self._now, ts)
        if self.speed_multiplier <= 0:
            self._now = ts
            return
        self._begin()
        delay = self._wall_delay(ts)
        if delay > _MIN_SLEEP_SECONDS:
            await self._wall.sleep_async(delay)
        self._finish(ts)

    def jump_to(self, ts: datetime) -> None:
        """Move forward to ``ts`` instantly (no pacing) and re-anchor pacing there.

        Used to skip the lunch break, to jump to the close when data is exhausted and to move
        to the next session's open. Backwards raises :class:`ClockError`.
        """
        if ts < self._now:
            raise _backwards(self._now, ts)
        self._close_span()
        self._now = ts
        self._anchor_sim = ts
        self._anchor_wall = self._wall.monotonic()

    def _close_span(self) -> None:
        if self._span_start_wall is not None:
            self._paced_wall_seconds += self._wall.monotonic() - self._span_start_wall
            self._span_start_wall = None

    def pacing_report(self) -> dict[str, float]:
        """Paced spans so far: simulated seconds, wall seconds and their ratio (speed achieved).

        Jumps are excluded from both. ``ratio`` is 0.0 before any paced move.
        """
        wall = self._paced_wall_seconds
        if self._span_start_wall is not None:
            wall += self._wall.monotonic() - self._span_start_wall
        sim = self._paced_sim_seconds
        return {
            "simulated_seconds": sim,
            "wall_seconds": wall,
            "ratio": sim / wall if wall > 0 else 0.0,
            "speed_multiplier": self.speed_multiplier,
        }


class LiveClock:
    """Wall-clock UTC, optionally shifted so that the first reading equals ``start_at``, and
    optionally faster than real time.

    With ``start_at`` the clock runs from that instant (a live session "started" at any
    moment, e.g. for replaying a live feed or demos). ``speed_multiplier`` > 1 makes it run
    that many times faster than the wall clock (``sessiond demo vn-live`` plays a trading day
    in minutes); waiting means real waiting, for ``seconds_until`` wall seconds.
    """

    __slots__ = ("_start_wall", "_start_sim", "_speed", "_last", "_wall")

    def __init__(
        self,
        start_at: datetime | None = None,
        speed_multiplier: float = 1.0,
        *,
        wall: WallTimer = REAL_WALL,
    ) -> None:
        if not speed_multiplier > 0:
            raise ClockError(f"LiveClock speed_multiplier must be > 0, was {speed_multiplier}")
        self._wall = wall
        self._start_wall = wall.time()
        if start_at is not None:
            _check_aware(start_at, "LiveClock start_at")
            self._start_sim = start_at.timestamp()
        else:
            self._start_sim = self._start_wall
        self._speed = float(speed_multiplier)
        self._last = datetime.fromtimestamp(self._start_sim, UTC)

    @property
    def speed_multiplier(self) -> float:
        """How many clock seconds pass per wall second (1 = real time)."""
        return self._speed

    @staticmethod
    def wall_now() -> datetime:
        """The unshifted wall clock (aware UTC)."""
        return datetime.now(UTC)

    def now(self) -> datetime:
        """Current (possibly shifted) UTC instant; never earlier than a previous reading."""
        elapsed = self._wall.time() - self._start_wall
        current = datetime.fromtimestamp(self._start_sim + elapsed * self._speed, UTC)
        if current < self._last:  # the OS clock stepped back: hold still rather than rewind
            return self._last
        self._last = current
        return current

    def seconds_until(self, ts: datetime) -> float:
        """Wall seconds until ``now()`` reaches ``ts`` (<= 0 when already past)."""
        return (ts - self.now()).total_seconds() / self._speed

    def advance_to(self, ts: datetime) -> None:
        """Block until ``now() >= ts`` (returns at once when already past)."""
        _check_aware(ts, "advance_to ts")
        while (delay := self.seconds_until(ts)) > 0:
            self._wall.sleep(min(delay, 60.0))

    async def advance_to_async(self, ts: datetime) -> None:
        """Wait (``asyncio.sleep``) until ``now() >= ts``; cancellable."""
        _check_aware(ts, "advance_to ts")
        while (delay := self.seconds_until(ts)) > 0:
            await self._wall.sleep_async(min(delay, 60.0))

    def jump_to(self, ts: datetime) -> None:
        """A live clock cannot skip time: same as :meth:`advance_to` (it waits)."""
        self.advance_to(ts)


__all__ = ["REAL_WALL", "ClockError", "LiveClock", "SimulatedClock", "WallTimer", "perf_seconds"]
