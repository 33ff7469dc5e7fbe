"""Inspecting stored runs: ``sessiond runs list|show``, ``indicators``, ``flow`` and ``report``
(rendered in headless Chromium), on a synthetic US backtest and on the scripted VN30 day
replayed as a backtest (``replays``: per-phase volumes, foreign flows)."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from daemon.cli import app
from daemon.report import REPORT_SECTIONS
from tests.daemon.browser import Browser, chromium_path
from tests.daemon.vn_live_support import DAY, Replay

pytestmark = pytest.mark.xdist_group("vn_live_day")
runner = CliRunner()
needs_chromium = pytest.mark.skipif(
    chromium_path() is None, reason="Debian chromium is not installed"
)


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The README's example backtest (3 US symbols, 2024-07-01..05: 4 trading days)."""
    directory = tmp_path_factory.mktemp("results")
    url = f"sqlite:///{directory / 'example.db'}"
    config = Path(__file__).resolve().parents[2] / "session_configs" / "example_session.json"
    result = runner.invoke(app, ["run", str(config), "--db", url])
    assert result.exit_code == 0, result.output
    assert f"stored in {url} as run 1; next: sessiond runs show 1 --db {url}" in result.stdout
    return url


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_runs_list_shows_the_run_in_exchange_time_and_json_in_iso_8601(example_db: str) -> None:
    table = invoke("runs", "list", "--db", example_db)
    assert table.exit_code == 0, table.output
    row = next(line for line in table.stdout.splitlines() if "example_us_equities" in line)
    assert re.search(
        r"\b1\s+example_us_equities\s+backtest\s+XNYS\s+2024-07-01 \.\. 2024-07-05\s+finished", row
    )
    assert row.rstrip().endswith("4,140")
    listed = json.loads(invoke("runs", "list", "--db", example_db, "--json").stdout)
    assert [r["id"] for r in listed] == [1]
    started = datetime.fromisoformat(listed[0]["started_at"])
    assert started.utcoffset() is not None and listed[0]["events"] == 4140


def test_runs_show_prints_days_in_the_exchanges_time_or_utc(example_db: str) -> None:
    local = invoke("runs", "show", "1", "--db", example_db)
    assert local.exit_code == 0, local.output
    assert "times in America/New_York" in local.stdout
    assert "symbols              AAPL, MSFT, RIVN" in local.stdout
    # 07-03 closes early at 13:00 New York = 17:00 UTC; the other days at 16:00 = 20:00 UTC
    assert re.search(r"2024-07-03\s+630\s.*2024-07-03 13:00:00", local.stdout)
    assert re.search(r"2024-07-05\s+1,170\s.*2024-07-05 16:00:00", local.stdout)
    utc = invoke("runs", "show", "last", "--db", example_db, "--tz", "utc")
    assert re.search(r"2024-07-03\s+630\s.*2024-07-03 17:00:00", utc.stdout)
    assert "event processing" in utc.stdout and "next: sessiond report 1" in utc.stdout
    assert "sma_crossover via simulated" in local.stdout  # the example config trades
    assert re.search(r"trades \(round trips\)\s+\d+", local.stdout)
    shown = json.loads(invoke("runs", "show", "1", "--db", example_db, "--json").stdout)
    assert [d["trading_date"] for d in shown["days"]] == [
        "2024-07-01",
        "2024-07-02",
        "2024-07-03",
        "2024-07-05",
    ]
    assert shown["config"]["session_data_config"]["symbols"] == ["AAPL", "MSFT", "RIVN"]
    assert shown["order_flow"] == []


def test_runs_show_of_a_missing_run_and_a_bad_tz_are_one_line(example_db: str) -> None:
    missing = invoke("runs", "show", "7", "--db", example_db)
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (
        f"error: no session run 7 in {example_db}: 'sessiond runs list' shows the stored runs"
    )
    bad = invoke("runs", "show", "1", "--db", example_db, "--tz", "Mars/Olympus")
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
    assert "'Mars/Olympus' is not exchange, utc or an IANA time zone" in bad.stderr


def test_indicators_lists_the_stored_series_and_shows_values(example_db: str) -> None:
    listed = invoke("indicators", "--db", example_db)
    assert listed.exit_code == 0, listed.output
    assert re.search(
        r"avg_volume\s+AAPL\s+sessiond\s+daily\s+4\s+2024-07-01 09:30\s+2024-07-05 09:30",
        listed.stdout,
    )
    # 390 minutes x 3 full days + 210 on the early close
    assert re.search(r"avg_volume_by_minute\s+MSFT\s+sessiond\s+per minute\s+1,380", listed.stdout)
    values = json.loads(
        invoke("indicators", "avg_volume", "--symbol", "AAPL", "--db", example_db, "--json").stdout
    )
    assert [v["as_of"] for v in values] == [f"2024-07-0{d}T13:30:00+00:00" for d in (1, 2, 3, 5)]
    assert all(v["minute_of_day"] is None and v["value"] > 0 for v in values)
    window = invoke(
        "indicators",
        "avg_volume",
        "--symbol",
        "AAPL",
        "--start",
        "2024-07-03",
        "--end",
        "2024-07-03",
        "--db",
        example_db,
    )
    assert "(1 of 1 values; times in America/New_York)" in window.stdout
    assert "2024-07-03 09:30   AAPL" in window.stdout


def render_in_chromium(path: Path, screenshot: Path | None = None) -> dict[str, Any]:
    import asyncio

    async def main() -> dict[str, Any]:
        async with Browser() as browser:
            await browser.navigate(path.as_uri())
            plots = await browser.wait_for(
                "document.readyState === 'complete' && "
                "[...document.querySelectorAll('.js-plotly-plot')]"
                ".every(p => p.querySelector('.main-svg')) && "
                "document.querySelectorAll('.js-plotly-plot').length",
                timeout_seconds=30,
            )
            state = await browser.evaluate(
                """({
                  sections: [...document.querySelectorAll('section')].map(s => s.dataset.section),
                  titles: [...document.querySelectorAll('.js-plotly-plot .gtitle')].map(t => t.textContent),
                  candles: document.querySelectorAll('.js-plotly-plot .trace.boxes, .js-plotly-plot g.candlestick').length,
                  bars: document.querySelectorAll('.js-plotly-plot .bars .point').length,
                  axisTitles: [...document.querySelectorAll('.js-plotly-plot .infolayer text')].map(t => t.textContent),
                  external: [...document.querySelectorAll('script[src], link[href]')].length,
                })"""
            )
            if screenshot is not None:
                await browser.screenshot(screenshot)
            state["plots"] = plots
            state["errors"] = list(browser.errors)
            return state

    return asyncio.run(main())


@needs_chromium
def test_the_report_of_a_backtest_renders_offline_without_console_errors(
    example_db: str, tmp_path: Path
) -> None:
    output = tmp_path / "report.html"
    result = invoke("report", "1", "--db", example_db, "--output", str(output))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {output} (")
    text = output.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text)  # plotly.js is embedded
    state = render_in_chromium(output)
    assert state["errors"] == []
    assert state["external"] == 0
    assert state["sections"] == [
        "summary_section",
        "price_section",
        "trading_section",
        "quality_section",
    ]
    # one price chart per symbol, equity and drawdown, quality line + heat map
    assert state["plots"] == 3 + 1 + 2
    assert state["titles"][:3] == ["AAPL", "MSFT", "RIVN"]
    assert "time (America/New_York)" in state["axisTitles"]


def test_report_sections_are_a_documented_extension_point() -> None:
    names = [section.__name__ for section in REPORT_SECTIONS]
    assert names == [
        "summary_section",
        "price_section",
        "order_flow_section",
        "trading_section",
        "quality_section",
    ]
    import daemon.report

    assert "Adding a section" in (daemon.report.__doc__ or "")


def test_flow_shows_a_symbols_phases_and_foreign_flows(live_day: Any) -> None:
    result = invoke("flow", "acb", "--date", DAY.isoformat(), "--db", live_day.db_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    continuous = next(line for line in lines if line.strip().startswith("continuous"))
    # the hand-computed day (test_vn_live.py): buy 1,000; sell 500 + 800 + 200
    assert continuous.split()[:5] == ["continuous", "1,000", "1,500", "0", "40.0"]
    ato = next(line for line in lines if line.strip().startswith("ato"))
    assert ato.split()[:5] == ["ato", "0", "0", "50,000", "–"]
    assert (
        "foreign investors (cumulative at 2026-02-03 09:31:00 Asia/Ho_Chi_Minh): buy 1,500, sell 900, net +600"
        in result.stdout
    )
    as_json = json.loads(
        invoke("flow", "ACB", "--date", DAY.isoformat(), "--db", live_day.db_url, "--json").stdout
    )
    assert as_json["foreign"]["as_of"] == "2026-02-03T02:31:00+00:00"
    missing = invoke("flow", "ACB", "--date", "2026-02-04", "--db", live_day.db_url)
    assert missing.exit_code == 1 and missing.stderr.startswith(
        "error: no order flow of ACB stored for 2026-02-04"
    )


@needs_chromium
def test_the_report_of_the_replayed_vn_day_shows_order_flow_by_phase(
    live_day: Any, replays: list[Replay], tmp_path: Path
) -> None:
    db_url = replays[0].db_url
    run_id = replays[0].summary["run_id"]
    shown = invoke("runs", "show", str(run_id), "--db", db_url)
    assert shown.exit_code == 0, shown.output
    assert re.search(
        # ACB buy 1,000 / sell 1,500 (4 trades), FPT 1,000 / 400 (2), the futures 8 / 0 (2)
        rf"{DAY.isoformat()}\s+continuous\s+2,008\s+1,900\s+0\s+51\.4\s+8\s+3",
        shown.stdout,
    ), shown.stdout
    output = tmp_path / "vn.html"
    screenshot = (
        Path(os.environ["SESSIOND_REPORT_SCREENSHOT"])
        if os.environ.get("SESSIOND_REPORT_SCREENSHOT")
        else None
    )
    assert invoke("report", str(run_id), "--db", db_url, "-o", str(output)).exit_code == 0
    state = render_in_chromium(output, screenshot)
    assert state["errors"] == []
    assert state["sections"] == [
        "summary_section",
        "price_section",
        "order_flow_section",
        "quality_section",
    ]
    assert "Active buy / sell by phase" in state["titles"]
    assert "time (Asia/Ho_Chi_Minh)" in state["axisTitles"]
    assert state["bars"] > 0
