"""TradingSchedule: trading-day queries over core.calendars, cached by year block."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import calendars
from core.errors import CalendarError
from daemon.schedule import TradingSchedule


def test_weekends_and_holidays_are_not_trading_days():
    schedule = TradingSchedule("XNYS")
    assert schedule.is_trading_day(date(2024, 7, 3))
    assert not schedule.is_trading_day(date(2024, 7, 4))  # Independence Day
    assert not schedule.is_trading_day(date(2024, 7, 6))  # Saturday
    assert schedule.get_trading_session(date(2024, 7, 6)) is None


def test_trading_session_of_an_early_close_and_of_a_hose_day_with_a_lunch_break():
    schedule = TradingSchedule("XNYS")
    early = schedule.get_trading_session(date(2024, 7, 3))
    assert early.is_early_close
    assert early.open == datetime(2024, 7, 3, 13, 30, tzinfo=UTC)
    assert early.close == datetime(2024, 7, 3, 17, 0, tzinfo=UTC)
    assert early.trading_spans == ((early.open, early.close),)
    assert [s.kind for s in early.segments] == ["regular"]
    assert len(schedule.session_minutes(date(2024, 7, 3))) == 210
    hose = TradingSchedule("HOSE").get_trading_session(date(2024, 11, 29))
    assert hose.break_start == datetime(2024, 11, 29, 4, 30, tzinfo=UTC)
    assert hose.break_end == datetime(2024, 11, 29, 6, 0, tzinfo=UTC)
    assert hose.duration_seconds == 255 * 60
    assert [s.kind for s in hose.segments] == ["regular", "break", "regular"]
    assert hose.trading_spans == (
        (hose.open, hose.break_start),
        (hose.break_end, hose.close),
    )
    assert hose.contains(datetime(2024, 11, 29, 4, 29, tzinfo=UTC))
    assert not hose.contains(datetime(2024, 11, 29, 5, 0, tzinfo=UTC))
    assert hose.in_break(datetime(2024, 11, 29, 5, 0, tzinfo=UTC))
    assert not hose.contains(hose.close)


def test_next_trading_date_skips_weekends_holidays_and_crosses_years():
    schedule = TradingSchedule("XNYS")
    assert schedule.get_next_trading_date(date(2024, 7, 3)) == date(2024, 7, 5)
    assert schedule.get_next_trading_date(date(2024, 7, 5)) == date(2024, 7, 8)
    assert schedule.get_next_trading_date(date(2024, 12, 31)) == date(2025, 1, 2)
    assert schedule.get_next_trading_date(date(2024, 12, 30), n=3) == date(2025, 1, 3)
    assert schedule.get_previous_trading_date(date(2025, 1, 2)) == date(2024, 12, 31)


def test_first_trading_date_is_inclusive():
    schedule = TradingSchedule("XNYS")
    assert schedule.get_first_trading_date(date(2024, 7, 3)) == date(2024, 7, 3)
    assert schedule.get_first_trading_date(date(2024, 7, 4)) == date(2024, 7, 5)
    assert schedule.get_first_trading_date(date(2024, 7, 6)) == date(2024, 7, 8)


def test_trading_days_back_counts_trading_days_before_the_date_oldest_first():
    schedule = TradingSchedule("XNYS")
    assert schedule.trading_days_back(date(2024, 7, 8), 3) == [
        date(2024, 7, 2),
        date(2024, 7, 3),
        date(2024, 7, 5),
    ]
    back = schedule.trading_days_back(date(2024, 1, 3), 5)
    assert back == [
        date(2023, 12, 26),
        date(2023, 12, 27),
        date(2023, 12, 28),
        date(2023, 12, 29),
        date(2024, 1, 2),
    ]
    assert schedule.trading_days_back(date(2024, 1, 3), 0) == []


def test_hose_holidays_are_skipped():
    schedule = TradingSchedule("HOSE")
    # Tet 2025: 2025-01-27 .. 2025-01-31 closed
    assert schedule.get_next_trading_date(date(2025, 1, 24)) == calendars.next_session(
        "XSTC", date(2025, 1, 24)
    )
    assert not schedule.is_trading_day(date(2025, 1, 29))


def test_queries_outside_the_calendar_raise_calendar_errors():
    schedule = TradingSchedule("HOSE")
    with pytest.raises(CalendarError, match="outside the XSTC calendar's known range"):
        schedule.is_trading_day(date(2030, 1, 2))
    with pytest.raises(CalendarError, match="n must be >= 1"):
        schedule.get_next_trading_date(date(2024, 3, 1), 0)


def test_cache_counts_hits_and_misses_and_invalidate_resets_them():
    schedule = TradingSchedule("XNYS")
    assert schedule.cache_stats().hit_rate == 1.0
    schedule.get_trading_session(date(2024, 3, 5))  # loads 2024: miss
    schedule.get_trading_session(date(2024, 3, 5))  # last-query: hit
    schedule.get_trading_session(date(2024, 3, 6))  # same block: hit
    schedule.is_trading_day(date(2024, 3, 6))  # hit
    stats = schedule.cache_stats()
    assert (stats.hits, stats.misses) == (3, 1)
    assert stats.hit_rate == 0.75
    schedule.get_next_trading_date(date(2024, 12, 31))  # needs 2025: miss
    assert schedule.cache_stats().misses == 2
    schedule.invalidate_cache()
    assert (schedule.cache_stats().hits, schedule.cache_stats().misses) == (0, 0)
    schedule.get_trading_session(date(2024, 3, 5))
    assert schedule.cache_stats().misses == 1


def test_a_one_year_backtest_access_pattern_hits_the_cache_over_99_percent():
    schedule = TradingSchedule("XNYS")
    day = schedule.get_first_trading_date(date(2024, 1, 1))
    while day <= date(2024, 12, 31):
        schedule.get_trading_session(day)
        schedule.trading_days_back(day, 10)
        for history_day in schedule.trading_days_back(day, 3):
            schedule.session_minutes(history_day)
        schedule.is_trading_day(day)
        day = schedule.get_next_trading_date(day)
    assert schedule.cache_stats().hit_rate >= 0.99


@settings(max_examples=50, deadline=None)
@given(day=st.dates(date(2024, 1, 10), date(2026, 12, 20)), n=st.integers(1, 30))
def test_schedule_agrees_with_the_calendar(day, n):
    schedule = TradingSchedule("HOSE", max_years=2)
    assert schedule.is_trading_day(day) == calendars.is_session("XSTC", day)
    if day <= date(2026, 11, 1):
        assert schedule.get_next_trading_date(day, n) == calendars.next_session("XSTC", day, n)
    if day >= date(2024, 3, 1):
        expected = [calendars.previous_session("XSTC", day, k) for k in range(n, 0, -1)]
        assert schedule.trading_days_back(day, n) == expected
    if schedule.is_trading_day(day):
        assert schedule.session_minutes(day) == calendars.session_minutes("XSTC", day)
