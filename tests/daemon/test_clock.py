"""SimulatedClock (data-driven and paced) and LiveClock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import SessionError
from daemon.clock import ClockError, LiveClock, SimulatedClock

OPEN = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)


def test_data_driven_clock_jumps_to_each_event_instantly():
    clock = SimulatedClock(OPEN)
    started = time.perf_counter()
    for minute in range(390):
        clock.advance_to(OPEN + timedelta(minutes=minute))
    assert clock.now() == OPEN + timedelta(minutes=389)
    assert time.perf_counter() - started < 2.0
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
    clock = SimulatedClock(OPEN, speed_multiplier=1200.0)  # 60 simulated s -> 50 ms wall
    started = time.perf_counter()
    for second in range(0, 61, 5):
        clock.advance_to(OPEN + timedelta(seconds=second))
    elapsed = time.perf_counter() - started
    assert 0.048 <= elapsed < 2.0  # never faster than the speed; generous under CI load
    report = clock.pacing_report()
    assert report["simulated_seconds"] == 60.0
    assert 300.0 < report["ratio"] <= 1200.0 * 1.01


async def test_paced_clock_waits_with_asyncio_sleep():
    clock = SimulatedClock(OPEN, speed_multiplier=600.0)  # 30 s -> 50 ms
    started = time.perf_counter()
    await clock.advance_to_async(OPEN + timedelta(seconds=30))
    assert time.perf_counter() - started >= 0.048
    assert clock.now() == OPEN + timedelta(seconds=30)


def test_jump_to_skips_the_lunch_break_without_waiting_and_reanchors_pacing():
    clock = SimulatedClock(OPEN, speed_multiplier=360.0)
    started = time.perf_counter()
    clock.jump_to(OPEN + timedelta(minutes=90))  # 90 min would be 15 s paced
    assert time.perf_counter() - started < 1.0  # paced, the jump would take 15 s
    clock.advance_to(OPEN + timedelta(minutes=90, seconds=18))  # 18 s at 360x = 50 ms
    elapsed = time.perf_counter() - started
    assert 0.045 <= elapsed < 2.0
    assert clock.pacing_report()["simulated_seconds"] == 18.0


def test_live_clock_starts_at_the_requested_instant_and_runs_in_real_time():
    start = datetime(2025, 1, 2, 2, 0, tzinfo=UTC)
    clock = LiveClock(start_at=start)
    first = clock.now()
    assert abs((first - start).total_seconds()) < 0.5
    time.sleep(0.03)
    second = clock.now()
    assert 0.025 <= (second - first).total_seconds() < 2.0


def test_live_clock_waits_until_a_future_instant_and_not_for_a_past_one():
    clock = LiveClock()
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 0.5
    started = time.perf_counter()
    clock.advance_to(clock.now() - timedelta(hours=1))
    assert time.perf_counter() - started < 0.5  # the target was an hour ago
    target = clock.now() + timedelta(milliseconds=60)
    clock.jump_to(target)
    assert clock.now() >= target


async def test_live_clock_async_wait_reaches_the_target():
    clock = LiveClock()
    target = clock.now() + timedelta(milliseconds=40)
    await clock.advance_to_async(target)
    assert clock.now() >= target
