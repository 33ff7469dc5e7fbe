"""SimulatedClock (data-driven and paced) and LiveClock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import SessionError
from daemon.clock import ClockError, LiveClock, SimulatedClock

OPEN = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)


class ManualWall:
    """A wall clock that moves only when waited on: pacing checked exactly, whatever the load."""

    def __init__(self, epoch: float = 0.0) -> None:
        self.now = epoch
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def sleep_async(self, seconds: float) -> None:
        self.sleep(seconds)

    def advance(self, seconds: float) -> None:
        """Wall time passing while the code does something else (processing)."""
        self.now += seconds


def test_data_driven_clock_jumps_to_each_event_instantly():
    wall = ManualWall()
    clock = SimulatedClock(OPEN, wall=wall)
    for minute in range(390):
        clock.advance_to(OPEN + timedelta(minutes=minute))
    assert clock.now() == OPEN + timedelta(minutes=389)
    assert wall.sleeps == []  # never waits
    assert not clock.is_paced


def test_clock_refuses_to_move_backwards_and_names_both_times():
    clock = SimulatedClock(OPEN)
    clock.advance_to(OPEN + timedelta(minutes=5))
    clock.advance_to(OPEN + timedelta(minutes=5))  # same instant is fine
    with pytest.raises(ClockError, match="cannot move backwards: now is 2024-03-05T14:35:00"):
        clock.advance_to(OPEN)
    with pytest.raises(SessionError):
        clock.jump_to(OPEN)
    assert clock.now() == OPEN + timedelta(minutes=5)


def test_clock_rejects_naive_start_and_negative_speed():
    with pytest.raises(ClockError, match="naive"):
        SimulatedClock(datetime(2024, 3, 5, 14, 30))
    with pytest.raises(ClockError, match="speed_multiplier must be >= 0"):
        SimulatedClock(OPEN, speed_multiplier=-1)


def test_paced_clock_runs_simulated_time_at_the_speed_multiplier():
    wall = ManualWall()
    clock = SimulatedClock(OPEN, speed_multiplier=1200.0, wall=wall)  # 60 sim s -> 50 ms wall
    for second in range(0, 61, 5):
        clock.advance_to(OPEN + timedelta(seconds=second))
    assert sum(wall.sleeps) == pytest.approx(0.05)
    assert wall.sleeps == pytest.approx([5 / 1200] * 12)  # first event at the anchor: no wait
    report = clock.pacing_report()
    assert report["simulated_seconds"] == 60.0
    assert report["ratio"] == pytest.approx(1200.0)


def test_pacing_is_anchored_so_processing_time_is_not_added_to_the_waits():
    wall = ManualWall()
    clock = SimulatedClock(OPEN, speed_multiplier=60.0, wall=wall)  # 1 sim min -> 1 s wall
    clock.advance_to(OPEN + timedelta(minutes=1))
    wall.advance(0.4)  # processing the event took 0.4 s
    clock.advance_to(OPEN + timedelta(minutes=2))
    assert wall.sleeps == pytest.approx([1.0, 0.6])  # the second wait is shortened
    wall.advance(3.0)  # behind schedule: the next events do not wait at all
    clock.advance_to(OPEN + timedelta(minutes=3))
    assert len(wall.sleeps) == 2
    assert clock.pacing_report()["ratio"] == pytest.approx(180 / 5.0)


async def test_paced_clock_waits_with_asyncio_sleep():
    wall = ManualWall()
    clock = SimulatedClock(OPEN, speed_multiplier=600.0, wall=wall)  # 30 s -> 50 ms
    await clock.advance_to_async(OPEN + timedelta(seconds=30))
    assert wall.sleeps == pytest.approx([0.05])
    assert clock.now() == OPEN + timedelta(seconds=30)


async def test_the_real_wall_really_waits():
    clock = SimulatedClock(OPEN, speed_multiplier=600.0)
    started = time.perf_counter()
    await clock.advance_to_async(OPEN + timedelta(seconds=30))
    assert time.perf_counter() - started >= 0.048  # a lower bound: never faster than the speed


def test_jump_to_skips_the_lunch_break_without_waiting_and_reanchors_pacing():
    wall = ManualWall()
    clock = SimulatedClock(OPEN, speed_multiplier=360.0, wall=wall)
    clock.jump_to(OPEN + timedelta(minutes=90))  # 90 min would be 15 s paced
    assert wall.sleeps == []
    clock.advance_to(OPEN + timedelta(minutes=90, seconds=18))  # 18 s at 360x = 50 ms
    assert wall.sleeps == pytest.approx([0.05])
    assert clock.pacing_report()["simulated_seconds"] == 18.0


def test_live_clock_starts_at_the_requested_instant_and_runs_in_real_time():
    wall = ManualWall()
    start = datetime(2025, 1, 2, 2, 0, tzinfo=UTC)
    clock = LiveClock(start_at=start, wall=wall)
    assert clock.now() == start
    wall.advance(0.03)
    assert clock.now() == start + timedelta(seconds=0.03)


def test_a_faster_live_clock_runs_at_its_speed_and_waits_in_wall_seconds():
    wall = ManualWall()
    start = datetime(2026, 2, 3, 2, 0, tzinfo=UTC)
    clock = LiveClock(start_at=start, speed_multiplier=60.0, wall=wall)
    wall.advance(1.0)
    assert clock.now() == start + timedelta(minutes=1)
    target = start + timedelta(minutes=3)
    assert clock.seconds_until(target) == pytest.approx(2.0)
    clock.advance_to(target)
    assert sum(wall.sleeps) == pytest.approx(2.0) and clock.now() >= target
    with pytest.raises(ClockError, match="speed_multiplier must be > 0"):
        LiveClock(speed_multiplier=0)


def test_live_clock_waits_until_a_future_instant_and_not_for_a_past_one():
    wall = ManualWall()
    clock = LiveClock(wall=wall)
    assert clock.now() == datetime.fromtimestamp(wall.now, UTC)
    clock.advance_to(clock.now() - timedelta(hours=1))
    assert wall.sleeps == []  # the target was an hour ago
    target = clock.now() + timedelta(milliseconds=60)
    clock.jump_to(target)
    assert wall.sleeps == pytest.approx([0.06]) and clock.now() >= target


def test_the_real_live_clock_follows_the_machines_time():
    clock = LiveClock()
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5.0
