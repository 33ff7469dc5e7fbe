"""Trading-day partitions and the after-close schedules, against the exchange calendars."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
from dagster import AssetSelection, RunRequest, SkipReason, build_schedule_context, define_asset_job

from core import calendars
from orchestration.partitions import partition_span, trading_day_partitions
from orchestration.schedules import SCHEDULE_LOCAL_TIME, build_history_schedule

NEW_YORK = ZoneInfo("America/New_York")
HO_CHI_MINH = ZoneInfo("Asia/Ho_Chi_Minh")


def _keys_in_year(calendar: str, year: int) -> list[str]:
    keys = trading_day_partitions(calendar).get_partition_keys()
    return [k for k in keys if k.startswith(f"{year}-")]


def test_xnys_2024_partition_keys_are_exactly_the_nyse_sessions():
    independent = xcals.get_calendar("XNYS").sessions_in_range("2024-01-01", "2024-12-31")
    expected = [ts.date().isoformat() for ts in independent]
    keys = _keys_in_year("XNYS", 2024)
    assert keys == expected
    assert len(keys) == 252
    assert "2024-07-04" not in keys and "2024-12-25" not in keys and "2024-07-06" not in keys


def test_hose_2025_partition_keys_are_exactly_the_hose_sessions():
    keys = _keys_in_year("XSTC", 2025)
    expected = [
        d.isoformat()
        for d in calendars.sessions_in_range("XSTC", date(2025, 1, 1), date(2025, 12, 31))
    ]
    assert keys == expected
    # Tet 2025 (27-31 January) and Reunification / Labour days (30 April, 1-2 May) are holidays
    for holiday in ("2025-01-27", "2025-01-31", "2025-04-30", "2025-05-01"):
        assert holiday not in keys
    assert "2025-02-03" in keys
    assert all(date.fromisoformat(k).weekday() < 5 for k in keys)


def test_vietnamese_partitions_start_with_the_holiday_table():
    assert partition_span("XSTC") == (date(2024, 1, 2), calendars.last_session("XSTC"))
    assert trading_day_partitions("XSTC").get_partition_keys()[0] == "2024-01-02"


def test_a_config_older_than_the_history_floor_moves_the_xnys_span_down():
    start, _ = partition_span("XNYS", date(2018, 3, 1))
    assert start == date(2018, 3, 1)
    assert trading_day_partitions("XNYS", date(2018, 3, 1)).get_partition_keys()[0] == "2018-03-01"


def _schedule(calendar: str):
    job = define_asset_job(
        f"{calendar.lower()}_history_job", selection=AssetSelection.groups(calendar.lower())
    )
    return build_history_schedule(calendar, job)


def _tick(schedule_def, local: datetime) -> tuple[list[RunRequest], str | None]:
    """Invoke the schedule as a function at ``local`` (what the Dagster daemon's tick does)."""
    result = schedule_def(build_schedule_context(scheduled_execution_time=local))
    if isinstance(result, SkipReason):
        return [], result.skip_message
    return [result], None


def test_schedules_fire_the_morning_after_each_session_in_the_exchange_time_zone():
    assert SCHEDULE_LOCAL_TIME == (0, 30)
    schedule_def = _schedule("XNYS")
    assert schedule_def.cron_schedule == "30 0 * * 2-6"
    assert schedule_def.execution_timezone == "America/New_York"
    assert _schedule("XSTC").execution_timezone == "Asia/Ho_Chi_Minh"


def test_xnys_schedule_skips_independence_day_with_a_reason():
    requests, skip = _tick(_schedule("XNYS"), datetime(2024, 7, 5, 0, 30, tzinfo=NEW_YORK))
    assert requests == []
    assert "2024-07-04 is not a XNYS session" in skip
    assert "next session 2024-07-05" in skip


def test_xnys_schedule_targets_the_session_of_the_day_before():
    requests, skip = _tick(_schedule("XNYS"), datetime(2024, 7, 6, 0, 30, tzinfo=NEW_YORK))
    assert skip is None
    assert [r.partition_key for r in requests] == ["2024-07-05"]
    assert requests[0].run_key == "XNYS-2024-07-05"


def test_hose_schedule_skips_tet_and_targets_the_first_session_after_it():
    schedule_def = _schedule("XSTC")
    requests, skip = _tick(schedule_def, datetime(2025, 2, 1, 0, 30, tzinfo=HO_CHI_MINH))
    assert requests == [] and "2025-01-31 is not a XSTC session" in skip
    requests, skip = _tick(schedule_def, datetime(2025, 2, 4, 0, 30, tzinfo=HO_CHI_MINH))
    assert [r.partition_key for r in requests] == ["2025-02-03"]


def test_the_requested_partition_exists_when_the_tick_fires():
    from orchestration.schedules import evaluate_tick

    tick = datetime(2024, 7, 6, 0, 30, tzinfo=NEW_YORK)
    result = evaluate_tick("XNYS", tick)
    assert isinstance(result, RunRequest)
    keys = trading_day_partitions("XNYS").get_partition_keys(current_time=tick)
    assert keys[-1] == result.partition_key == "2024-07-05"


def test_a_tick_outside_the_vietnamese_holiday_table_skips_naming_the_calendar():
    from orchestration.schedules import evaluate_tick

    result = evaluate_tick("XSTC", datetime(2027, 3, 2, 0, 30, tzinfo=HO_CHI_MINH))
    assert isinstance(result, SkipReason)
    assert "XSTC calendar cannot answer for 2027-03-01" in (result.skip_message or "")
