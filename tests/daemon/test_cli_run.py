"""End to end: ``sessiond run`` and ``sessiond load`` on a small config against a tmp SQLite store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core.calendars import session_bounds
from core.store import Store
from daemon.cli import app
from daemon.coordinator import GENERATED_SOURCE

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def write_config(tmp_path: Path, **backtest: Any) -> Path:
    config = {
        "session_name": "cli_e2e",
        "exchange_group": "US_EQUITY",
        "mode": "backtest",
        "backtest_config": {
            "start_date": "2024-07-03",
            "end_date": "2024-07-08",
            "speed_multiplier": 0,
            "prefetch_days": 2,
            **backtest,
        },
        "session_data_config": {
            "symbols": ["AAPL", "MSFT"],
            "streams": ["1m", "5m", "15m"],
            "historical": {
                "enable_quality": True,
                "data": [{"trailing_days": 2, "intervals": ["1m"], "apply_to": "all"}],
                "indicators": {
                    "avg_volume": {
                        "type": "trailing_average",
                        "period": "3d",
                        "granularity": "daily",
                    },
                    "sma_close": {"type": "sma", "period": 20},
                },
            },
        },
        "api_config": {"data_api": "synthetic", "data_api_options": {"seed": 3}},
    }
    path = tmp_path / "session.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_sessiond_run_stores_bars_indicators_quality_and_the_run(
    tmp_path: Path, sqlite_url: str
) -> None:
    config = write_config(tmp_path)
    result = runner.invoke(app, ["run", str(config), "--db", sqlite_url, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # 07-03 early close (210 min), 07-04 holiday, 07-05 and 07-08 full days.
    assert [d["trading_date"] for d in summary["days"]] == [
        "2024-07-03",
        "2024-07-05",
        "2024-07-08",
    ]
    assert summary["status"] == "finished"
    assert summary["events"] == 2 * (210 + 390 + 390)
    assert summary["generated_bars"] == {"5m": 2 * (42 + 78 + 78), "15m": 2 * (14 + 26 + 26)}
    assert summary["quality"] == {"1m": 100.0, "5m": 100.0, "15m": 100.0}
    assert summary["events_per_second"] > 0

    store = Store.from_url(sqlite_url)
    try:
        (run,) = store.read_session_runs()
        assert run.id == summary["run_id"] and run.status == "finished"
        assert run.metrics["trading_days"] == 3 and run.metrics["events"] == summary["events"]
        assert run.config_path == str(config)
        first = session_bounds("XNYS", date(2024, 7, 3))
        last = session_bounds("XNYS", date(2024, 7, 8))
        assert (
            store.count_bars(
                ["AAPL", "MSFT"], "15m", first.open, last.close, source=GENERATED_SOURCE
            )
            == 132
        )
        assert (
            store.count_bars(["AAPL", "MSFT"], "1m", first.open, last.close, source="synthetic")
            == 1980
        )
        daily = store.read_indicator_values("avg_volume", ["AAPL", "MSFT"], first.open, last.close)
        assert len(daily) == 2 * 3 and all(v.complete and v.value > 0 for v in daily)
        sma = store.read_indicator_values(
            "sma_close", ["AAPL"], first.open, last.close + timedelta(seconds=1)
        )
        assert len(sma) == 3 and all(v.value is not None for v in sma)
        quality = store.read_quality(
            ["MSFT"], "5m", date(2024, 7, 3), date(2024, 7, 8), source=GENERATED_SOURCE
        )
        assert [(q.trading_date, q.expected_bars, q.actual_bars) for q in quality] == [
            (date(2024, 7, 3), 42, 42),
            (date(2024, 7, 5), 78, 78),
            (date(2024, 7, 8), 78, 78),
        ]
    finally:
        store.dispose()

    # A second run of the same config reuses the stored history and writes the same results.
    again = runner.invoke(app, ["run", str(config), "--db", sqlite_url, "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["generated_bars"] == summary["generated_bars"]


def test_sessiond_run_overrides_dates_and_prints_a_summary_table(
    tmp_path: Path, sqlite_url: str
) -> None:
    config = write_config(tmp_path)
    result = runner.invoke(
        app,
        ["run", str(config), "--db", sqlite_url, "--start", "2024-07-05", "--end", "2024-07-05"],
    )
    assert result.exit_code == 0, result.output
    assert "cli_e2e: finished" in result.stdout
    assert "trading days" in result.stdout and "780" in result.stdout
    assert "bars generated 5m" in result.stdout and "156" in result.stdout


def test_sessiond_run_rejects_a_bad_date_in_one_line(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path)
    result = runner.invoke(app, ["run", str(config), "--db", sqlite_url, "--start", "2024-13-01"])
    assert result.exit_code == 1
    assert "--start '2024-13-01' is not a date (expected YYYY-MM-DD" in result.output
    assert "Traceback" not in result.output


def test_sessiond_run_reports_an_unknown_source_in_one_line(
    tmp_path: Path, sqlite_url: str
) -> None:
    path = write_config(tmp_path)
    data = json.loads(path.read_text())
    data["api_config"]["data_api"] = "synthetc"
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["run", str(path), "--db", sqlite_url])
    assert result.exit_code == 1
    assert "synthetc" in result.output and "Traceback" not in result.output


def test_sessiond_load_fetches_what_a_config_needs(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path)
    args = ["load", str(config), "--start", "2024-07-05", "--end", "2024-07-08", "--db", sqlite_url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    store = Store.from_url(sqlite_url)
    try:
        # Streamed 1m for 07-05 and 07-08, trailing 2 days of 1m before (07-02, 07-03),
        # daily bars for 3 days before (07-01..07-03) through the end.
        lo = session_bounds("XNYS", date(2024, 7, 2)).open
        hi = session_bounds("XNYS", date(2024, 7, 8)).close
        assert store.count_bars(["AAPL"], "1m", lo, hi, source="synthetic") == 390 + 210 + 390 + 390
        assert store.count_bars(["MSFT"], "1d", lo - timedelta(days=2), hi, source="synthetic") == 5
    finally:
        store.dispose()
    # 1m: 2 x (390 + 210 + 390 + 390); 1d: 2 x 5. The streamed days are fetched first, so the
    # trailing entry finds them stored (4 symbol-days skipped).
    assert "loaded 2,770 bars (18 symbol-days fetched, 4 already stored)" in result.stdout
    again = runner.invoke(app, args)
    assert "loaded 0 bars (0 symbol-days fetched, 22 already stored)" in again.stdout


@pytest.mark.slow
def test_sessiond_load_help_names_the_date_range_options() -> None:
    result = runner.invoke(app, ["load", "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    # Rich draws the help in a box: drop the frame and rewrap to compare the sentence.
    text = " ".join(result.output.replace("│", " ").split())
    assert (
        "Fetch and store the history a config needs from --start to --end (both included)." in text
    )
    assert "Only what the store lacks is fetched." in text
    assert "needs for through" not in text and "for  through" not in result.output


def test_ctrl_c_stops_the_run_cleanly_after_persisting(tmp_path: Path, sqlite_url: str) -> None:
    # Clock-driven at 300x: the 3.5 h early-close day takes ~42 s of wall time, so the interrupt
    # lands mid-day. The daily bars (loaded for the indicator, just before streaming) tell us
    # the run is about to stream.
    config = write_config(tmp_path, speed_multiplier=300)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "run", str(config), "--db", sqlite_url, "--json"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = Store.from_url(sqlite_url)
    first = session_bounds("XNYS", date(2024, 7, 3))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (
                store.read_session_runs()
                and store.count_bars(
                    ["AAPL", "MSFT"], "1d", first.open - timedelta(days=7), first.close
                )
                >= 6
            ):
                break
            time.sleep(0.2)
        time.sleep(2.5)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        summary = json.loads(stdout)
        assert summary["status"] == "stopped"
        (day,) = summary["days"]
        assert day["stopped"] and 0 < day["events"] < 420
        (run,) = store.read_session_runs()
        assert run.status == "stopped"
        bounds = session_bounds("XNYS", date(2024, 7, 3))
        stored = store.count_bars(
            ["AAPL", "MSFT"], "5m", bounds.open, bounds.close, source=GENERATED_SOURCE
        )
        assert stored == summary["generated_bars"]["5m"] > 0
    finally:
        if process.poll() is None:
            process.kill()
        store.dispose()


def test_a_paced_run_reports_processing_time_without_the_waits(
    tmp_path: Path, sqlite_url: str
) -> None:
    # one symbol, one full day at 23,400x: 390 bars over 1 s of waiting for their times
    config = write_config(tmp_path, start_date="2024-07-05", end_date="2024-07-05")
    data = json.loads(config.read_text())
    data["session_data_config"]["symbols"] = ["AAPL"]
    data["session_data_config"]["historical"] = {"enable_quality": False}
    config.write_text(json.dumps(data))
    result = runner.invoke(
        app, ["run", str(config), "--db", sqlite_url, "--json", "--speed", "23400"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    (day,) = summary["days"]
    assert day["events"] == 390
    assert day["stream_seconds"] > 0.8  # the day took its paced second
    assert day["processing_seconds"] < day["stream_seconds"] / 4
    processing = summary["metrics"]["event_processing"]
    assert processing["total"] == pytest.approx(day["processing_seconds"])
    # the mean is of processing, comparable with the sampled quantiles, not ~2.5 ms of waiting
    assert processing["mean"] < 0.5 * day["stream_seconds"] / day["events"]
