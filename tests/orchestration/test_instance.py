"""Dagster as its users run it: ``dagster asset materialize`` with ``DAGSTER_HOME`` (what
``make dagster`` sets) records into the instance the UI reads; ``SESSIOND_CONFIG_DIR`` picks
the configs; the shipped local instance config keeps telemetry off; partitions end today."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from core import calendars
from orchestration.catalog import load_catalogs
from orchestration.partitions import trading_day_partitions
from tests.orchestration.conftest import write_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_cli_materialization_is_recorded_in_the_instance_the_ui_reads(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "docs" / "dagster.local.yaml", home / "dagster.yaml")
    configs = tmp_path / "configs"
    configs.mkdir()
    write_config(
        configs,
        "cli_us",
        exchange_group="US_EQUITY",
        symbols=["AAPL"],
        start="2024-07-05",
        end="2024-07-05",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIOND_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        SESSIOND_CONFIG_DIR=str(configs),
        SESSIOND_DB_URL=f"sqlite:///{tmp_path / 'store.db'}",
    )
    dagster = Path(sys.executable).parent / "dagster"
    done = subprocess.run(
        [
            str(dagster),
            "asset",
            "materialize",
            "-m",
            "orchestration.definitions",
            "--select",
            "us_equity/historical_bars",
            "--partition",
            "2024-07-05",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    instance = DagsterInstance.from_config(str(home))
    try:
        assert instance.telemetry_enabled is False
        event = instance.get_latest_materialization_event(
            AssetKey(["us_equity", "historical_bars"])
        )
        assert event is not None and event.asset_materialization is not None
        assert event.asset_materialization.partition == "2024-07-05"
        assert event.asset_materialization.metadata["dagster/row_count"].value == 390
    finally:
        instance.dispose()


def test_sessiond_config_dir_chooses_the_configs_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(
        tmp_path,
        "only_hose",
        exchange_group="HOSE",
        symbols=["ACB"],
        start="2025-03-03",
        end="2025-03-04",
    )
    monkeypatch.setenv("SESSIOND_CONFIG_DIR", str(tmp_path))
    assert set(load_catalogs()) == {"XSTC"}
    monkeypatch.setenv("SESSIOND_CONFIG_DIR", str(tmp_path / "nowhere"))
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="SESSIOND_CONFIG_DIR .*nowhere' is not a folder"):
        load_catalogs()


@pytest.mark.parametrize("calendar", ["XNYS", "XSTC"])
def test_partitions_end_at_the_current_trading_day_once_it_is_over(calendar: str) -> None:
    zone = calendars.exchange_timezone(calendar)
    yesterday = datetime.now(zone).date() - timedelta(days=1)
    last_known = calendars.last_session(calendar)
    if yesterday > last_known:
        expected = last_known  # beyond the holiday table: the keys stop, no guessed holidays
    elif calendars.is_session(calendar, yesterday):
        expected = yesterday
    else:
        expected = calendars.previous_session(calendar, yesterday)
    keys = trading_day_partitions(calendar).get_partition_keys()
    assert keys[-1] == expected.isoformat()


@pytest.mark.parametrize(
    ("calendar", "now", "last_key"),
    [
        ("XNYS", "2024-07-05T23:59:00-04:00", "2024-07-03"),  # the day in progress: not yet
        ("XNYS", "2024-07-06T00:00:00-04:00", "2024-07-05"),  # over at local midnight
        ("XNYS", "2024-07-04T12:00:00-04:00", "2024-07-03"),  # Independence Day
        ("XNYS", "2024-07-07T12:00:00-04:00", "2024-07-05"),  # Sunday
        ("XSTC", "2025-01-29T10:00:00+07:00", "2025-01-24"),  # Tet 2025
        ("XSTC", "2025-01-25T00:00:00+07:00", "2025-01-24"),  # midnight in Ho Chi Minh City
        ("XSTC", "2027-03-01T10:00:00+07:00", "2026-12-31"),  # past the holiday table
    ],
)
def test_the_last_partition_follows_the_clock_and_the_calendar_never_the_future(
    calendar: str, now: str, last_key: str
) -> None:
    at = datetime.fromisoformat(now)
    keys = trading_day_partitions(calendar).get_partition_keys(current_time=at)
    assert keys[-1] == last_key
    assert date.fromisoformat(last_key) < at.date()
    assert calendars.is_session(calendar, date.fromisoformat(last_key))
