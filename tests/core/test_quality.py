"""Gap detection and quality percent against the exchange calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import calendars
from core.quality import (
    assess_quality,
    expected_bar_opens,
    find_gaps,
    full_quality,
    quality_pct,
)

XNYS_DAY = date(2024, 3, 5)
HOSE_DAY = date(2024, 11, 29)


def test_a_complete_day_has_no_gaps_and_full_quality():
    minutes = calendars.session_minutes("XNYS", XNYS_DAY)
    assert find_gaps("XNYS", XNYS_DAY, minutes) == []
    result = assess_quality("XNYS", "AAPL", "1m", XNYS_DAY, minutes, source="synthetic")
    assert (result.expected_bars, result.actual_bars, result.quality_pct) == (390, 390, 100.0)
    assert result.missing == () and result.source == "synthetic"


def test_gaps_are_found_exactly_where_rows_were_deleted():
    minutes = calendars.session_minutes("XNYS", XNYS_DAY)
    deleted = {0, 1, 57, 200, 389}
    kept = [m for i, m in enumerate(minutes) if i not in deleted]
    gaps = find_gaps("XNYS", XNYS_DAY, kept)
    assert gaps == [minutes[i] for i in sorted(deleted)]
    result = assess_quality("XNYS", "AAPL", "1m", XNYS_DAY, kept)
    assert result.actual_bars == 385
    assert result.quality_pct == pytest.approx(100 * 385 / 390)
    assert result.missing == tuple(gaps)


def test_the_lunch_break_is_not_a_gap():
    minutes = calendars.session_minutes("HOSE", HOSE_DAY)
    assert len(minutes) == 255
    assert find_gaps("HOSE", HOSE_DAY, minutes) == []
    # bars inside the lunch break neither fill nor create gaps
    lunch = datetime(2024, 11, 29, 5, 0, tzinfo=UTC)
    assert find_gaps("HOSE", HOSE_DAY, [*minutes, lunch]) == []
    result = assess_quality("HOSE", "VNM", "1m", HOSE_DAY, [*minutes, lunch])
    assert result.actual_bars == 255 and result.quality_pct == 100.0


def test_an_early_close_expects_only_the_minutes_until_the_close():
    early = date(2024, 11, 29)  # XNYS closes 13:00 ET
    minutes = calendars.session_minutes("XNYS", early)
    assert len(expected_bar_opens("XNYS", early)) == 210
    assert find_gaps("XNYS", early, minutes) == []
    assert (
        assess_quality(
            "XNYS", "SPY", "5m", early, [m for m in minutes if m.minute % 5 == 0]
        ).expected_bars
        == 42
    )


def test_expected_five_minute_bars_restart_at_the_end_of_the_lunch_break():
    opens = expected_bar_opens("HOSE", HOSE_DAY, "5m")
    assert len(opens) == 30 + 21  # 09:00-11:30 and 13:00-14:45
    assert opens[30] == datetime(2024, 11, 29, 6, 0, tzinfo=UTC)
    assert expected_bar_opens("HOSE", HOSE_DAY, "1h")[-1] == datetime(
        2024, 11, 29, 7, 0, tzinfo=UTC
    )
    assert expected_bar_opens("HOSE", HOSE_DAY, "1d") == [datetime(2024, 11, 29, 2, 0, tzinfo=UTC)]


def test_non_trading_day_expects_nothing_and_scores_full_quality():
    saturday = date(2024, 3, 9)
    assert expected_bar_opens("XNYS", saturday) == []
    result = assess_quality("XNYS", "AAPL", "1m", saturday, [])
    assert result.expected_bars == 0 and result.quality_pct == 100.0


def test_bar_times_in_the_exchange_time_zone_match_the_utc_calendar():
    new_york = ZoneInfo("America/New_York")
    minutes = [m.astimezone(new_york) for m in calendars.session_minutes("XNYS", XNYS_DAY)]
    assert find_gaps("XNYS", XNYS_DAY, minutes[1:]) == [datetime(2024, 3, 5, 14, 30, tzinfo=UTC)]


def test_quality_pct_is_actual_over_expected():
    assert quality_pct(390, 351) == 90.0
    assert quality_pct(0, 0) == 100.0
    assert quality_pct(10, 12) == 100.0


def test_disabled_quality_assigns_100_percent():
    result = full_quality("AAPL", "1m", XNYS_DAY, source="store", actual_bars=200)
    assert result.quality_pct == 100.0 and result.missing == ()
    assert (result.expected_bars, result.actual_bars) == (200, 200)


@settings(max_examples=40, deadline=None)
@given(
    day=st.dates(date(2024, 1, 2), date(2026, 12, 30)),
    deleted=st.sets(st.integers(0, 254), max_size=60),
    calendar=st.sampled_from(["XNYS", "XSTC"]),
)
def test_gaps_are_exactly_the_deleted_minutes(day, deleted, calendar):
    minutes = (
        calendars.session_minutes(calendar, day) if calendars.is_session(calendar, day) else []
    )
    deleted = {i for i in deleted if i < len(minutes)}
    kept = [m for i, m in enumerate(minutes) if i not in deleted]
    assert find_gaps(calendar, day, kept) == [minutes[i] for i in sorted(deleted)]
    result = assess_quality(calendar, "X", "1m", day, kept)
    assert result.actual_bars + len(result.missing) == result.expected_bars == len(minutes)
    if minutes:
        assert result.quality_pct == pytest.approx(100 * len(kept) / len(minutes))


def test_a_naive_bar_time_is_rejected():
    with pytest.raises(ValueError, match="naive"):
        find_gaps("XNYS", XNYS_DAY, [datetime(2024, 3, 5, 14, 30) + timedelta(0)])
