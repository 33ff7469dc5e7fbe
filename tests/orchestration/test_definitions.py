"""The code location: it loads and validates, registers per exchange what the configs name,
chooses resources by environment, and runs a backfill of a date range in one run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from dagster import AssetKey, DagsterInstance

from core import calendars
from core.store import Store
from orchestration.catalog import build_catalogs, load_catalogs
from orchestration.definitions import (
    SQLITE_POOL,
    build_definitions,
    source_resources,
    store_pool,
    store_resource,
)
from orchestration.resources import DataSourceResource, StoreResource

from .conftest import write_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_dagster_definitions_validate_passes_on_the_code_location(tmp_path: Path):
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "SESSIOND_DB_URL": f"sqlite:///{tmp_path / 's.db'}",
    }
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-m",
            "orchestration.definitions",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert (
        "Validation successful for code location orchestration.definitions"
        in completed.stdout + completed.stderr
    )
    assert not (tmp_path / "s.db").exists()  # loading the definitions opened no store


def test_the_code_location_registers_each_exchange_of_the_session_configs():
    from orchestration.definitions import defs

    catalogs = load_catalogs()
    # example_session.json and vn30_backtest.json at least; more configs add more exchanges
    assert {"XNYS", "XSTC"} <= set(catalogs)
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    expected = {
        f"{c.key_prefix}/{name}"
        for c in catalogs.values()
        for name in ("historical_bars", "daily_bars", *(spec.name for spec in c.indicators))
    }
    assert keys == expected
    assert {"us_equity/avg_volume", "hose/avg_volume_by_minute"} <= keys
    assert {s.name for s in defs.schedules} == {
        f"{c.key_prefix}_history_job_schedule" for c in catalogs.values()
    }
    assert (
        defs.resolve_job_def("hose_history_job").partitions_def.get_partition_keys()[0]
        == "2024-01-02"
    )
    graph = defs.resolve_asset_graph()
    checks_of = {}
    for check_key in graph.asset_check_keys:
        checks_of.setdefault(check_key.asset_key.to_user_string(), set()).add(check_key.name)
    assert checks_of["us_equity/historical_bars"] == {
        "bars_have_no_gaps",
        "ohlc_is_consistent",
        "no_duplicate_bars",
    }
    assert checks_of["hose/historical_bars"] == {
        *checks_of["us_equity/historical_bars"],
        "prices_within_daily_limits",
    }


def test_resources_and_the_write_pool_follow_the_environment():
    assert store_pool({"SESSIOND_DB_URL": "postgresql+psycopg://u@h/db"}) is None
    assert store_pool({"SESSIOND_DB_URL": "sqlite:///var/x.db"}) == SQLITE_POOL
    assert store_pool({}) == SQLITE_POOL  # the default store is SQLite
    assert store_resource({}).url is None
    catalogs = build_catalogs([])
    assert source_resources(catalogs) == {}
    from orchestration.catalog import ExchangeCatalog, SourceLoad

    vendor = ExchangeCatalog(
        "XNYS",
        "US_EQUITY",
        (
            SourceLoad("alpaca", (), (("1m", ("AAPL",)),)),
            SourceLoad("files", (), (("1m", ("X",)),)),
        ),
        (),
        1,
        1.0,
        None,
    )
    production = source_resources({"XNYS": vendor})
    local = source_resources({"XNYS": vendor}, deployment="local")
    assert {k: v.plugin for k, v in production.items()} == {
        "alpaca_source": "alpaca",
        "files_source": "files",
    }
    assert {k: v.plugin for k, v in local.items()} == {
        "alpaca_source": "synthetic",
        "files_source": "files",
    }


def test_store_writing_assets_share_the_sqlite_pool_and_checks_do_not(tmp_path: Path):
    catalogs = build_catalogs(
        [
            write_config(
                tmp_path,
                "us",
                exchange_group="US_EQUITY",
                symbols=["AAPL"],
                start="2024-07-02",
                end="2024-07-03",
                indicators={"avg_volume": {"type": "trailing_average", "period": "2d"}},
            )
        ]
    )
    resources = {
        "store": StoreResource(),
        "synthetic_source": DataSourceResource(plugin="synthetic"),
    }
    defs = build_definitions(catalogs, resources=resources, pool=SQLITE_POOL)
    graph = defs.resolve_asset_graph()
    for key in ("historical_bars", "daily_bars", "avg_volume"):
        assets_def = graph.get(AssetKey(["us_equity", key])).assets_def
        assert assets_def.op.pool == SQLITE_POOL


def test_a_partition_range_backfill_loads_every_session_of_the_range_in_one_run(tmp_path: Path):
    catalogs = build_catalogs(
        [
            write_config(
                tmp_path,
                "us",
                exchange_group="US_EQUITY",
                symbols=["AAPL", "MSFT"],
                start="2024-07-02",
                end="2024-07-08",
            )
        ]
    )
    url = f"sqlite:///{tmp_path / 's.db'}"
    defs = build_definitions(
        catalogs,
        resources={
            "store": StoreResource(url=url),
            "synthetic_source": DataSourceResource(plugin="synthetic"),
        },
        pool=SQLITE_POOL,
    )
    result = defs.resolve_job_def("us_equity_history_job").execute_in_process(
        instance=DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": "2024-07-02",
            "dagster/asset_partition_range_end": "2024-07-08",
        },
    )
    assert result.success
    sessions = calendars.sessions_in_range("XNYS", date(2024, 7, 2), date(2024, 7, 8))
    assert [d.isoformat() for d in sessions] == [
        "2024-07-02",
        "2024-07-03",
        "2024-07-05",
        "2024-07-08",
    ]
    store = Store.from_url(url)
    start = calendars.session_bounds("XNYS", sessions[0]).open
    end = calendars.session_bounds("XNYS", sessions[-1]).close
    days = store.bar_days("AAPL", "1m", "synthetic", start, end)
    assert days == {
        date(2024, 7, 2): 390,
        date(2024, 7, 3): 210,
        date(2024, 7, 5): 390,
        date(2024, 7, 8): 390,
    }
    assert (
        store.count_bars(
            ["AAPL", "MSFT"], "1d", start - timedelta(hours=14), end, source="synthetic"
        )
        == 8
    )
    (event,) = result.asset_materializations_for_node("us_equity__historical_bars")[:1]
    assert event.metadata["rows_written"].value == 2 * (390 * 3 + 210)
    assert event.metadata["trading_days"].value == 4
    checks = result.get_asset_check_evaluations()
    assert checks and all(e.passed for e in checks)
    store.dispose()


def test_schedule_ticks_through_the_definitions_request_a_valid_partition_of_the_job():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from dagster import build_schedule_context

    from orchestration.definitions import defs

    schedule_def = defs.resolve_schedule_def("hose_history_job_schedule")
    repository = defs.get_repository_def()
    tick = schedule_def.evaluate_tick(
        build_schedule_context(
            repository_def=repository,
            scheduled_execution_time=datetime(
                2025, 5, 6, 0, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")
            ),
        )
    )
    assert [r.partition_key for r in tick.run_requests] == [
        "2025-05-05"
    ]  # first session after 30 Apr-2 May
    holiday = schedule_def.evaluate_tick(
        build_schedule_context(
            repository_def=repository,
            scheduled_execution_time=datetime(
                2025, 5, 3, 0, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")
            ),
        )
    )
    assert holiday.run_requests == [] and "2025-05-02 is not a XSTC session" in holiday.skip_message
    assert {s.name for s in defs.sensors} == {"history_run_failure_sensor"}


def test_two_configs_on_one_exchange_merge_and_conflicting_options_are_named(tmp_path: Path):
    import pytest

    from core.errors import ConfigError

    a = write_config(
        tmp_path,
        "a",
        exchange_group="US_EQUITY",
        symbols=["AAPL"],
        start="2024-07-02",
        end="2024-07-03",
        max_retries=1,
        retry_interval_seconds=5,
    )
    b = write_config(
        tmp_path,
        "b",
        exchange_group="US_EQUITY",
        symbols=["MSFT", "AAPL"],
        start="2024-07-02",
        end="2024-07-03",
        max_retries=4,
        retry_interval_seconds=2,
    )
    (catalog,) = build_catalogs([a, b]).values()
    assert catalog.loads[0].symbols_by_interval == (("1m", ("AAPL", "MSFT")),)
    assert (catalog.max_retries, catalog.retry_interval_seconds) == (4, 5)
    assert catalog.config_files == ("a.json", "b.json")
    c = write_config(
        tmp_path,
        "c",
        exchange_group="US_EQUITY",
        symbols=["AAPL"],
        start="2024-07-02",
        end="2024-07-03",
        data_api_options={"seed": 7},
    )
    with pytest.raises(
        ConfigError,
        match=r"c.json: api_config.data_api_options: differ from a.json for data source 'synthetic' on XNYS",
    ):
        build_catalogs([a, c])


def test_the_failure_sensor_summarizes_job_partition_and_cause():
    from orchestration.sensors import failure_summary

    assert failure_summary(
        "hose_history_job", "2025-05-05", ["XSTC 2025-05-05: data source 'ssi' failed", "x"]
    ) == ("hose_history_job 2025-05-05 failed: XSTC 2025-05-05: data source 'ssi' failed")
    assert failure_summary("j", None, []) == "j (unpartitioned) failed: no step failure recorded"
