"""core.calendars: XNYS from exchange_calendars, the Vietnamese calendars, and their invariants."""

from __future__ import annotations

import datetime as dt

import exchange_calendars as xcals
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import calendars
from core.calendars import (
    EXCHANGE_GROUPS,
    VN_HOLIDAYS,
    calendar_name_for_group,
    exchange_timezone,
    first_session,
    get_calendar,
    is_session,
    last_session,
    next_session,
    previous_session,
    session_bounds,
    session_minutes,
    sessions_in_range,
)
from core.errors import CalendarError

UTC = dt.UTC
VN_NAMES = ("XSTC", "XHNX", "UPCOM", "VN30F")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_xnys_2024_sessions_equal_exchange_calendars_own() -> None:
    reference = xcals.get_calendar("XNYS", start="2024-01-01", end="2024-12-31")
    expected = [ts.date() for ts in reference.sessions]
    assert sessions_in_range("XNYS", dt.date(2024, 1, 1), dt.date(2024, 12, 31)) == expected
    assert len(expected) == 252


def test_xnys_opens_and_closes_equal_exchange_calendars_own_including_early_closes() -> None:
    reference = xcals.get_calendar("XNYS", start="2024-01-01", end="2024-12-31")
    for ts in reference.sessions:
        bounds = session_bounds("XNYS", ts.date())
        assert bounds.open == reference.session_open(ts).to_pydatetime()
        assert bounds.close == reference.session_close(ts).to_pydatetime()
    early = {ts.date() for ts in reference.early_closes}
    assert early == {dt.date(2024, 7, 3), dt.date(2024, 11, 29), dt.date(2024, 12, 24)}


def test_early_close_on_2024_11_29_is_at_13_00_new_york() -> None:
    bounds = session_bounds("XNYS", dt.date(2024, 11, 29))
    assert bounds.is_early_close
    assert bounds.close == utc(2024, 11, 29, 18, 0)
    assert bounds.close.astimezone(exchange_timezone("XNYS")).time() == dt.time(13, 0)
    assert bounds.break_start is None and bounds.break_end is None
    assert len(session_minutes("XNYS", dt.date(2024, 11, 29))) == 210
    regular = session_bounds("XNYS", dt.date(2024, 11, 27))
    assert not regular.is_early_close
    assert len(session_minutes("XNYS", dt.date(2024, 11, 27))) == 390


def test_hose_2024_has_250_sessions_and_each_year_12_closed_weekdays() -> None:
    assert len(sessions_in_range("HOSE", dt.date(2024, 1, 1), dt.date(2024, 12, 31))) == 250
    for year, holidays in VN_HOLIDAYS.items():
        assert len(holidays) == 12
        assert all(day.weekday() < 5 for day in holidays)
        weekdays = sum(
            1
            for offset in range((dt.date(year, 12, 31) - dt.date(year, 1, 1)).days + 1)
            if (dt.date(year, 1, 1) + dt.timedelta(days=offset)).weekday() < 5
        )
        sessions = sessions_in_range("XSTC", dt.date(year, 1, 1), dt.date(year, 12, 31))
        assert len(sessions) == weekdays - 12


@pytest.mark.parametrize("name", VN_NAMES)
@pytest.mark.parametrize(
    "holiday",
    [
        dt.date(2024, 1, 1),
        dt.date(2024, 2, 8),
        dt.date(2024, 2, 14),
        dt.date(2024, 4, 18),
        dt.date(2024, 4, 29),
        dt.date(2024, 9, 3),
        dt.date(2025, 1, 27),
        dt.date(2025, 4, 7),
        dt.date(2025, 5, 2),
        dt.date(2026, 2, 19),
        dt.date(2026, 4, 27),
        dt.date(2026, 8, 31),
        dt.date(2026, 9, 2),
    ],
)
def test_vietnamese_holidays_are_not_sessions(name: str, holiday: dt.date) -> None:
    assert not is_session(name, holiday)


def test_vietnamese_calendars_trade_around_the_holidays_but_not_on_make_up_saturdays() -> None:
    assert is_session("HOSE", dt.date(2024, 2, 7))
    assert next_session("HOSE", dt.date(2024, 2, 7)) == dt.date(2024, 2, 15)
    assert not is_session("HOSE", dt.date(2024, 5, 4))  # make-up Saturday
    assert next_session("HOSE", dt.date(2026, 2, 13)) == dt.date(2026, 2, 23)
    assert previous_session("HNX", dt.date(2025, 2, 3)) == dt.date(2025, 1, 24)


def test_hose_lunch_break_is_11_30_to_13_00_local() -> None:
    bounds = session_bounds("HOSE", dt.date(2025, 3, 4))
    assert bounds.open == utc(2025, 3, 4, 2, 0)  # 09:00 +07
    assert bounds.break_start == utc(2025, 3, 4, 4, 30)  # 11:30
    assert bounds.break_end == utc(2025, 3, 4, 6, 0)  # 13:00
    assert bounds.close == utc(2025, 3, 4, 7, 45)  # 14:45
    minutes = session_minutes("HOSE", dt.date(2025, 3, 4))
    assert len(minutes) == 255
    assert minutes[0] == utc(2025, 3, 4, 2, 0)
    assert minutes[149] == utc(2025, 3, 4, 4, 29)  # last morning minute 11:29
    assert minutes[150] == utc(2025, 3, 4, 6, 0)  # first afternoon minute 13:00
    assert minutes[-1] == utc(2025, 3, 4, 7, 44)
    assert not any(utc(2025, 3, 4, 4, 30) <= m < utc(2025, 3, 4, 6, 0) for m in minutes)


def test_vn30_futures_open_at_08_45_and_close_with_hose() -> None:
    bounds = session_bounds("VN30F", dt.date(2024, 6, 20))
    local = exchange_timezone("VN30F")
    assert bounds.open.astimezone(local).time() == dt.time(8, 45)
    assert bounds.close.astimezone(local).time() == dt.time(14, 45)
    assert len(session_minutes("VN30F", dt.date(2024, 6, 20))) == 270


def test_hnx_and_upcom_close_at_15_00_local() -> None:
    for name in ("HNX", "UPCOM"):
        bounds = session_bounds(name, dt.date(2024, 6, 20))
        assert bounds.close.astimezone(exchange_timezone(name)).time() == dt.time(15, 0)
        assert bounds.break_start is not None


def test_vietnamese_calendars_refuse_dates_outside_2024_to_2026() -> None:
    with pytest.raises(
        CalendarError,
        match=r"2027-01-04 is outside the XSTC calendar's known range 2024-01-01\.\.2026-12-31",
    ):
        is_session("HOSE", dt.date(2027, 1, 4))
    with pytest.raises(CalendarError, match="2023-12-29 is outside the VN30F calendar"):
        sessions_in_range("VN30F", dt.date(2023, 12, 29), dt.date(2024, 1, 5))
    with pytest.raises(CalendarError, match="no session 1 session\\(s\\) after 2026-12-31"):
        next_session("XSTC", dt.date(2026, 12, 31))
    with pytest.raises(CalendarError, match="before 2024-01-02"):
        previous_session("XSTC", dt.date(2024, 1, 2))
    assert first_session("XSTC") == dt.date(2024, 1, 2)
    assert last_session("XSTC") == dt.date(2026, 12, 31)


def test_names_aliases_and_groups_resolve_to_the_same_cached_calendar() -> None:
    assert get_calendar("HOSE") is get_calendar("XSTC")
    assert get_calendar("HNX") is get_calendar("XHNX")
    assert get_calendar("US_EQUITY") is get_calendar("XNYS")
    assert get_calendar("XSTC").name == "XSTC"
    for group, name in EXCHANGE_GROUPS.items():
        assert calendar_name_for_group(group) == name
        assert get_calendar(group).name == name


def test_unknown_names_raise_calendar_errors_naming_the_choices() -> None:
    with pytest.raises(
        CalendarError, match=r"unknown exchange calendar 'NYSEX' \(expected one of .*XNYS.*XSTC"
    ):
        get_calendar("NYSEX")
    with pytest.raises(
        CalendarError,
        match=r"unknown exchange_group 'NYSEX' \(expected one of HNX, HOSE, UPCOM, US_EQUITY, VN_DERIVATIVES\)",
    ):
        calendar_name_for_group("NYSEX")


def test_session_bounds_of_a_holiday_is_an_error() -> None:
    with pytest.raises(CalendarError, match="2024-07-04 is not a XNYS session"):
        session_bounds("XNYS", dt.date(2024, 7, 4))


def test_aware_datetimes_are_refused_as_trading_dates() -> None:
    with pytest.raises(CalendarError, match="expected a trading date"):
        is_session("XNYS", dt.datetime(2024, 7, 1, 15, tzinfo=UTC))


def test_register_calendar_makes_a_plugin_calendar_and_its_aliases_available() -> None:
    class TestXCalendar(calendars.XSTCExchangeCalendar):
        name = "TESTX"
        open_times = ((None, dt.time(10, 0)),)

    calendars.register_calendar("TESTX", TestXCalendar, ("TEST_ALIAS",))
    try:
        bounds = session_bounds("TEST_ALIAS", dt.date(2024, 3, 4))
        assert bounds.open == utc(2024, 3, 4, 3, 0)
        assert get_calendar("TEST_ALIAS").name == "TESTX"
    finally:
        xcals.deregister_calendar("TEST_ALIAS")
        xcals.deregister_calendar("TESTX")
        calendars._REGISTERED.pop("TESTX", None)
        calendars._clear_caches()
    with pytest.raises(CalendarError):
        get_calendar("TESTX")


def test_register_calendar_rejects_non_calendar_classes() -> None:
    with pytest.raises(
        CalendarError, match="must be an exchange_calendars.ExchangeCalendar subclass"
    ):
        calendars.register_calendar("BAD", dict, ())  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------------

ALL_NAMES = ("XNYS", *VN_NAMES)


def _dates_for(name: str) -> st.SearchStrategy[dt.date]:
    if name == "XNYS":
        return st.dates(dt.date(1991, 1, 1), dt.date(2029, 12, 31))
    return st.dates(dt.date(2024, 1, 15), dt.date(2026, 12, 15))


@st.composite
def name_and_range(draw: st.DrawFn) -> tuple[str, dt.date, dt.date]:
    name = draw(st.sampled_from(ALL_NAMES))
    start = draw(_dates_for(name))
    length = draw(st.integers(0, 40))
    end = min(start + dt.timedelta(days=length), calendars.covered_range(name)[1])
    return name, start, end


@settings(max_examples=150, deadline=None)
@given(name_and_range())
def test_sessions_in_range_never_contains_weekends_or_holidays(
    case: tuple[str, dt.date, dt.date],
) -> None:
    name, start, end = case
    sessions = sessions_in_range(name, start, end)
    assert sessions == sorted(set(sessions))
    for day in sessions:
        assert start <= day <= end
        assert day.weekday() < 5
        assert is_session(name, day)
        if name != "XNYS":
            assert day not in VN_HOLIDAYS[day.year]
    expected = [
        start + dt.timedelta(days=i)
        for i in range((end - start).days + 1)
        if is_session(name, start + dt.timedelta(days=i))
    ]
    assert sessions == expected


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(ALL_NAMES).flatmap(
        lambda n: st.tuples(st.just(n), _dates_for(n), st.integers(1, 5))
    )
)
def test_next_and_previous_session_are_inverse(case: tuple[str, dt.date, int]) -> None:
    name, day, n = case
    after = next_session(name, day, n)
    assert after > day and is_session(name, after)
    assert len(sessions_in_range(name, day + dt.timedelta(days=1), after)) == n
    back = previous_session(name, after, n)
    if is_session(name, day):
        assert back == day
    else:
        assert back == previous_session(name, day)
    assert next_session(name, previous_session(name, after)) == after


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ALL_NAMES).flatmap(lambda n: st.tuples(st.just(n), _dates_for(n))))
def test_session_minutes_are_one_minute_apart_inside_the_bounds(case: tuple[str, dt.date]) -> None:
    name, day = case
    if not is_session(name, day):
        with pytest.raises(CalendarError):
            session_minutes(name, day)
        return
    bounds = session_bounds(name, day)
    minutes = session_minutes(name, day)
    assert len(minutes) == bounds.trading_minutes
    assert minutes[0] == bounds.open
    assert minutes[-1] == bounds.close - dt.timedelta(minutes=1)
    steps = {b - a for a, b in zip(minutes, minutes[1:], strict=False)}
    one = dt.timedelta(minutes=1)
    if bounds.break_start is None:
        assert steps == {one}
    else:
        assert steps == {one, bounds.break_end - bounds.break_start + one}
        assert all(not (bounds.break_start <= m < bounds.break_end) for m in minutes)
    assert all(m.tzinfo is UTC for m in minutes)


def test_a_cached_calendar_index_answers_without_importing_exchange_calendars(tmp_path) -> None:
    """The shipped calendars' indexes are cached on disk: a second process answers from the
    cache (same answers) without importing exchange_calendars or pandas (fast start-up)."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json, sys, datetime as dt\n"
        "from core import calendars as c\n"
        "days = c.sessions_in_range('HOSE', dt.date(2025, 1, 20), dt.date(2025, 2, 7))\n"
        "b = c.session_bounds('XNYS', dt.date(2024, 7, 3))\n"
        "print(json.dumps({'days': [d.isoformat() for d in days], 'close': b.close.isoformat(),"
        " 'early': b.is_early_close, 'tz': str(c.exchange_timezone('XSTC')),"
        " 'loaded': [m for m in ('exchange_calendars', 'pandas') if m in sys.modules]}))\n"
    )
    env = {**os.environ, "SESSIOND_CACHE_DIR": str(tmp_path / "cache")}

    def run() -> dict:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        return json.loads(done.stdout)

    first = run()
    assert first["loaded"] == ["exchange_calendars", "pandas"]  # built, then cached
    assert len(list((tmp_path / "cache").glob("calendar-*.pickle"))) == 2
    second = run()
    assert second["loaded"] == []
    assert {k: v for k, v in first.items() if k != "loaded"} == {
        k: v for k, v in second.items() if k != "loaded"
    }
    assert "2025-01-27" not in second["days"] and second["early"] is True  # Tet; 07-03
    env["SESSIOND_CACHE_DIR"] = "/proc/no/such/dir"  # unwritable: still answers, uncached
    assert {k: v for k, v in run().items() if k != "loaded"} == {
        k: v for k, v in first.items() if k != "loaded"
    }
