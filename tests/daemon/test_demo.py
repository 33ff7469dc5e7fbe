"""``sessiond demo vn-live`` (what ``make demo`` runs): the generated VN30 day through the live
SSI path, with the dashboard in headless Chromium; Ctrl-C stops it cleanly and the run is
stored. The generated day itself: on the HOSE tick grid, inside the daily limits, phases in
order."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from datetime import time as dtime
from pathlib import Path

import pytest

from core import boards
from core.store import Store
from daemon.demo.vn_day import REFERENCE_PRICES, day_messages
from tests.daemon.browser import Browser, chromium_path

DAY = date(2026, 2, 3)
URL = re.compile(r"live API and dashboard on (http://127\.0\.0\.1:\d+/)")


def test_the_generated_day_is_a_plausible_hose_day() -> None:
    symbols = [*REFERENCE_PRICES, "VN30F1M"]
    messages = day_messages(DAY, symbols, "41I1G2000", seed=7)
    assert messages == day_messages(DAY, symbols, "41I1G2000", seed=7)  # deterministic
    assert [m.at for m in messages] == sorted(m.at for m in messages)
    trades = [m.content for m in messages if m.data_type == "X-TRADE"]
    assert {t["Symbol"] for t in trades} == set(REFERENCE_PRICES)
    for t in trades:
        floor, ceiling = boards.price_limits("XSTC", REFERENCE_PRICES[t["Symbol"]])
        assert floor <= t["LastPrice"] <= ceiling and boards.is_on_tick_grid("XSTC", t["LastPrice"])
    sessions = {(t["Symbol"], t["TradingSession"]) for t in trades}
    assert all((s, "ATO") in sessions and (s, "ATC") in sessions for s in REFERENCE_PRICES)
    continuous = [
        m for m in messages if m.data_type == "X-TRADE" and m.content["TradingSession"] == "LO"
    ]
    local = [m.at.timetz().replace(tzinfo=None) for m in continuous]
    assert all(
        dtime(9, 15) < t <= dtime(14, 30) and not dtime(11, 30) <= t < dtime(13, 0) for t in local
    )
    # cumulative volumes only grow, per symbol
    last: dict[str, float] = {}
    for t in trades:
        assert t["TotalVol"] > last.get(t["Symbol"], 0.0)
        last[t["Symbol"]] = t["TotalVol"]
    kinds = {m.data_type for m in messages}
    assert kinds == {"X-TRADE", "X-QUOTE", "MI", "X", "R"}


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.skipif(chromium_path() is None, reason="Debian chromium is not installed")
def test_the_demo_serves_the_dashboard_and_stores_the_run(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSI_", "SESSIOND_"))}
    script = Path(sys.executable).parent / "sessiond"
    process = subprocess.Popen(
        [str(script), "demo", "vn-live", "--speed", "120", "--api-port", "0", "--db", db_url],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = ""
        deadline = time.monotonic() + 120  # a loaded 2-core machine starts Python slowly
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if URL.search(line) or process.poll() is not None:
                break
        found = URL.search(line)
        assert found, (
            f"no dashboard URL: {line!r} {process.stderr.read() if process.poll() is not None else ''}"
        )
        screenshot = os.environ.get("SESSIOND_DEMO_SCREENSHOT")
        state = asyncio.run(_look(found.group(1), Path(screenshot) if screenshot else None))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert state["errors"] == []
    assert state["rows"] == 31  # the 30 VN30 stocks and the futures contract
    assert state["clock"].endswith("Asia/Ho_Chi_Minh")
    assert state["phase"] in ("ato", "continuous", "break")
    assert "vn30_demo" in state["session"]
    assert process.returncode == 0, err
    assert "stored in" in out and "sessiond report 1" in out
    store = Store.from_url(db_url)
    try:
        (run,) = store.read_session_runs()
        assert (run.session_name, run.mode) == ("vn30_demo", "live")
        assert store.read_phase_volumes("vn30_demo", symbols="ACB")  # recorded order flow
    finally:
        store.dispose()


async def _look(url: str, screenshot: Path | None) -> dict[str, object]:
    async with Browser() as browser:
        await browser.send(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=1000,
            deviceScaleFactor=1,
            mobile=False,
        )
        await browser.navigate(url)
        await browser.wait_for("document.getElementById('status').textContent === 'live'", 20)
        # the continuous session is under way: many symbols have traded
        await browser.wait_for(
            "[...document.querySelectorAll('#volumes tr')].filter(tr => tr.children[6].textContent !== '0').length >= 25",
            timeout_seconds=60,
        )
        await browser.wait_for("document.querySelectorAll('#basisChart polyline').length === 1", 60)
        if screenshot is not None:
            await asyncio.sleep(1.0)
            await browser.screenshot(screenshot)
        return {
            "errors": list(browser.errors),
            "rows": await browser.evaluate("document.querySelectorAll('#volumes tr').length"),
            "clock": await browser.evaluate("document.getElementById('clock').textContent"),
            "phase": await browser.evaluate("document.getElementById('phase').textContent"),
            "session": await browser.evaluate("document.getElementById('session').textContent"),
        }
