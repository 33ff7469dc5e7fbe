"""core.phases: the phase of given instants, the day's windows, and TradingSession codes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import CalendarError
from core.phases import (
    AUCTION_PHASES,
    Phase,
    normalize_trading_session,
    phase_at,
    phase_for_trading_session,
    phase_windows,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NY = ZoneInfo("America/New_York")


def vn(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=VN)


def ny(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=NY)


@pytest.mark.parametrize(
    ("hhmm", "expected"),
    [
        ("08:00", Phase.CLOSED),
        ("08:30", Phase.PRE_OPEN),
        ("08:59:59", Phase.PRE_OPEN),
        ("09:00", Phase.ATO),
        ("09:14:59", Phase.ATO),
        ("09:15", Phase.CONTINUOUS),
        ("11:29", Phase.CONTINUOUS),
        ("11:30", Phase.BREAK),
        ("12:59", Phase.BREAK),
        ("13:00", Phase.CONTINUOUS),
        ("14:29", Phase.CONTINUOUS),
        ("14:30", Phase.ATC),
        ("14:44:59", Phase.ATC),
        ("14:45", Phase.PUT_THROUGH),
        ("14:59", Phase.PUT_THROUGH),
        ("15:00", Phase.CLOSED),
        ("23:59", Phase.CLOSED),
    ],
)
def test_hose_phase_of_given_instants(hhmm: str, expected: Phase) -> None:
    assert phase_at("HOSE", vn("2025-03-04", hhmm)) is expected
    assert phase_at("XSTC", vn("2025-03-04", hhmm).astimezone(dt.UTC)) is expected


@pytest.mark.parametrize(
    ("exchange", "hhmm", "expected"),
    [
        ("HNX", "09:00", Phase.CONTINUOUS),
        ("HNX", "14:30", Phase.ATC),
        ("HNX", "14:50", Phase.POST_CLOSE),
        ("HNX", "15:00", Phase.CLOSED),
        ("UPCOM", "09:00", Phase.CONTINUOUS),
        ("UPCOM", "12:00", Phase.BREAK),
        ("UPCOM", "14:50", Phase.CONTINUOUS),
        ("UPCOM", "15:00", Phase.CLOSED),
        ("VN30F", "08:44", Phase.PRE_OPEN),
        ("VN30F", "08:45", Phase.ATO),
        ("VN30F", "09:00", Phase.CONTINUOUS),
        ("VN30F", "14:30", Phase.ATC),
        ("VN30F", "14:45", Phase.CLOSED),
        ("VN_DERIVATIVES", "08:50", Phase.ATO),
    ],
)
def test_hnx_upcom_and_vn30_futures_phases_follow_the_reference_table(
    exchange: str, hhmm: str, expected: Phase
) -> None:
    assert phase_at(exchange, vn("2025-03-04", hhmm)) is expected


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (ny("2024-07-01", "03:59"), Phase.CLOSED),
        (ny("2024-07-01", "04:00"), Phase.PRE_MARKET),
        (ny("2024-07-01", "09:29"), Phase.PRE_MARKET),
        (ny("2024-07-01", "09:30"), Phase.CONTINUOUS),
        (ny("2024-07-01", "15:59"), Phase.CONTINUOUS),
        (ny("2024-07-01", "16:00"), Phase.POST_MARKET),
        (ny("2024-07-01", "19:59"), Phase.POST_MARKET),
        (ny("2024-07-01", "20:00"), Phase.CLOSED),
        (ny("2024-11-29", "12:59"), Phase.CONTINUOUS),
        (ny("2024-11-29", "13:00"), Phase.POST_MARKET),  # early close
        (ny("2024-11-29", "17:00"), Phase.CLOSED),
        (ny("2024-07-04", "10:00"), Phase.CLOSED),  # Independence Day
        (ny("2024-07-06", "10:00"), Phase.CLOSED),  # Saturday
    ],
)
def test_us_phases_with_extended_hours_and_early_close(
    instant: dt.datetime, expected: Phase
) -> None:
    assert phase_at("XNYS", instant) is expected
    assert phase_at("US_EQUITY", instant.astimezone(dt.UTC)) is expected


def test_vietnamese_weekends_and_holidays_are_closed_all_day() -> None:
    assert phase_at("HOSE", vn("2024-02-12", "10:00")) is Phase.CLOSED  # Tet
    assert phase_at("HOSE", vn("2024-05-04", "10:00")) is Phase.CLOSED  # make-up Saturday
    windows = phase_windows("HOSE", dt.date(2024, 2, 12))
    assert [w.phase for w in windows] == [Phase.CLOSED]
    assert windows[0].end - windows[0].start == dt.timedelta(days=1)


def test_hose_windows_list_every_phase_in_order() -> None:
    windows = phase_windows("HOSE", dt.date(2025, 3, 4))
    assert [w.phase for w in windows] == [
        Phase.CLOSED,
        Phase.PRE_OPEN,
        Phase.ATO,
        Phase.CONTINUOUS,
        Phase.BREAK,
        Phase.CONTINUOUS,
        Phase.ATC,
        Phase.PUT_THROUGH,
        Phase.CLOSED,
    ]
    ato = windows[2]
    assert (ato.start, ato.end) == (vn("2025-03-04", "09:00"), vn("2025-03-04", "09:15"))
    atc = windows[6]
    assert (atc.start, atc.end) == (vn("2025-03-04", "14:30"), vn("2025-03-04", "14:45"))
    assert all(w.start.tzinfo is dt.UTC for w in windows)


def test_phase_at_refuses_naive_instants_and_unknown_years() -> None:
    with pytest.raises(CalendarError, match="aware datetime"):
        phase_at("HOSE", dt.datetime(2025, 3, 4, 9, 0))
    with pytest.raises(CalendarError, match="outside the XSTC calendar's known range"):
        phase_at("HOSE", vn("2027-03-04", "09:00"))


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["XNYS", "XSTC", "XHNX", "UPCOM", "VN30F"]),
    st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)),
)
def test_phase_windows_tile_the_local_day_without_gaps(name: str, day: dt.date) -> None:
    windows = phase_windows(name, day)
    tz = VN if name != "XNYS" else NY
    assert windows[0].start == dt.datetime.combine(day, dt.time(0), tz)
    assert windows[-1].end == dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
    for before, after in zip(windows, windows[1:], strict=False):
        assert before.end == after.start
        assert before.phase != after.phase
    for window in windows:
        assert window.start < window.end
        assert phase_at(name, window.start) is window.phase
        assert phase_at(name, window.end - dt.timedelta(microseconds=1)) is window.phase


@pytest.mark.parametrize(
    ("raw", "normalised", "phase"),
    [
        ("ATO", "ATO", Phase.ATO),
        (" lo ", "LO", Phase.CONTINUOUS),
        ("ATC", "ATC", Phase.ATC),
        ("PT", "PT", Phase.PUT_THROUGH),
        ("C", "C", Phase.CLOSED),
        ("CLOSE", "C", Phase.CLOSED),
        ("Break", "BREAK", Phase.BREAK),
        ("BREAK", "BREAK", Phase.BREAK),
        ("H", "H", None),
        ("HALT", "H", None),
        ("", None, None),
        ("   ", None, None),
        (None, None, None),
        ("PLO", None, None),
    ],
)
def test_ssi_trading_session_codes_normalise_per_reference(
    raw: str | None, normalised: str | None, phase: Phase | None
) -> None:
    assert normalize_trading_session(raw) == normalised
    assert phase_for_trading_session(raw) is phase


def test_auction_phases_are_ato_and_atc() -> None:
    assert {Phase.ATO, Phase.ATC} == AUCTION_PHASES
    assert Phase.ATO == "ato" and str(Phase.PUT_THROUGH) == "put_through"


def test_phases_follow_a_calendar_registered_by_a_plugin() -> None:
    import exchange_calendars as xcals

    from core import calendars

    class LateCalendar(calendars.XSTCExchangeCalendar):
        name = "LATEX"
        open_times = ((None, dt.time(10, 0)),)

    day = dt.date(2025, 3, 4)
    calendars.register_calendar("LATEX", LateCalendar, ())
    try:
        assert phase_at("LATEX", vn("2025-03-04", "09:30")) is Phase.CLOSED
        assert phase_at("LATEX", vn("2025-03-04", "10:00")) is Phase.CONTINUOUS
        assert phase_at("LATEX", vn("2025-03-04", "12:00")) is Phase.BREAK

        class LaterCalendar(LateCalendar):
            open_times = ((None, dt.time(10, 30)),)

        calendars.register_calendar("LATEX", LaterCalendar, ())
        assert phase_at("LATEX", vn("2025-03-04", "10:15")) is Phase.CLOSED
        assert [w.phase for w in phase_windows("LATEX", day)][:2] == [
            Phase.CLOSED,
            Phase.CONTINUOUS,
        ]
    finally:
        xcals.deregister_calendar("LATEX")
        calendars._REGISTERED.pop("LATEX", None)
        calendars._clear_caches()
