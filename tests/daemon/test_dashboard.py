"""The dashboard page in a real headless Chromium: it renders, updates live, logs no errors.

Two set-ups: the API over an in-process MarketState, and the real daemon (`sessiond run
session_configs/vn30_live.json`) fed by the loopback fake SSI server, whose new trades are
released by the test once the page shows the first ones. The second writes the README
screenshot to ``SESSIOND_SCREENSHOT`` when set (e.g. docs/dashboard.png).
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.models import Aggressor, ForeignRoom, IndexTick, Quote, Trade
from daemon.api import ApiServer, SessionView, create_app
from daemon.demo.ssi_server import FakeSsiServer
from daemon.market_state import MarketState
from plugins.classification import DEFAULT_CHAIN, ClassifierChain
from plugins.classifiers.rules import BUILTIN_CLASSIFIERS
from tests.daemon import vn_live_support as vn
from tests.daemon.browser import Browser, chromium_path

pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason="Debian chromium is not installed"),
    pytest.mark.slow,
]
RULES = {cls.name: cls for cls in BUILTIN_CLASSIFIERS}
T0 = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)  # 10:00 local


def feed_morning(state: MarketState) -> None:
    state.reset(date(2025, 3, 3))
    state.on_event(
        IndexTick("VN30", T0, 1300.0, prior_value=1295.0, change=5.0, advances=19, declines=9)
    )
    for i, (symbol, price, side) in enumerate(
        [
            ("ACB", 22950, Aggressor.BUY),
            ("FPT", 120000, Aggressor.SELL),
            ("HPG", 27100, Aggressor.BUY),
        ]
    ):
        state.on_event(Quote(symbol, T0, price - 50, 1000, price, 1000))
        state.on_event(
            Trade(
                symbol,
                T0 + timedelta(seconds=i),
                price,
                1000,
                side=side,
                trading_session="LO",
                total_volume=1000,
            )
        )
    state.on_event(Trade("41I1G3000", T0 + timedelta(seconds=5), 1306.5, 10, total_volume=10))
    state.on_event(Trade("41I1G3000", T0 + timedelta(seconds=65), 1304.0, 5, total_volume=15))
    state.on_event(ForeignRoom("ACB", T0 + timedelta(seconds=6), 5000, 1000, 1.1e8, 2.3e7))


@pytest.mark.asyncio
async def test_dashboard_renders_updates_on_new_trades_and_has_no_console_errors(
    tmp_path: Path,
) -> None:
    state = MarketState(
        "XSTC",
        lambda: ClassifierChain([RULES[n]() for n in DEFAULT_CHAIN]),
        group_symbols=["ACB", "FPT", "HPG"],
        futures_contract="41I1G3000",
    )
    feed_morning(state)
    view = SessionView(
        "vn30 live",
        "XSTC",
        "live",
        state="streaming",
        symbols=["ACB", "FPT", "HPG", "VNM", "41I1G3000"],  # VNM subscribed, never traded
        group_symbols=["ACB", "FPT", "HPG"],
        clock=lambda: T0 + timedelta(minutes=30),
    )
    server = ApiServer(create_app(state, view), host="127.0.0.1", port=0)
    await server.start()
    try:
        async with Browser() as browser:
            await browser.navigate(f"http://127.0.0.1:{server.bound_port}/")
            await browser.wait_for("document.querySelectorAll('#volumes tr').length === 5")
            assert await browser.evaluate("document.getElementById('status').textContent") == "live"
            # the exchange's time and phase at the session clock (03:30 UTC = 10:30 local)
            assert await browser.evaluate("document.getElementById('clock').textContent") == (
                "10:30:00 Asia/Ho_Chi_Minh"
            )
            assert await browser.evaluate("document.getElementById('phase').textContent") == (
                "continuous"
            )
            # every subscribed symbol listed, traded or not
            vnm_total = (
                "document.querySelector('#volumes tr[data-symbol=VNM] td:nth-child(7)').textContent"
            )
            assert await browser.evaluate(vnm_total) == "0"
            # the basis chart has labelled axes: the value scale and the first/last times
            labels = await browser.evaluate(
                "[...document.querySelectorAll('#basisChart text')].map(t => t.textContent)"
            )
            assert "0" in labels and any(
                label.endswith("Asia/Ho_Chi_Minh time") for label in labels
            )
            assert await browser.evaluate("document.getElementById('basis').textContent") == "4"
            acb_buy = (
                "document.querySelector('#volumes tr[data-symbol=ACB] td:nth-child(5)').textContent"
            )
            assert await browser.evaluate(acb_buy) == "1,000"

            state.on_event(
                Trade(
                    "ACB",
                    T0 + timedelta(seconds=60),
                    23000,
                    2500,
                    side=Aggressor.BUY,
                    trading_session="LO",
                    total_volume=3500,
                )
            )
            await browser.wait_for(f"{acb_buy} === '3,500'")
            # continuous bars share one scale: the largest total fills its bar, the others less
            widths = await browser.evaluate(
                """Object.fromEntries([...document.querySelectorAll('#volumes tr')].map(tr =>
                  [tr.dataset.symbol, [...tr.children[2].querySelectorAll('i')]
                    .reduce((sum, i) => sum + parseFloat(i.style.width || '0'), 0)]))"""
            )
            assert widths["ACB"] == pytest.approx(100.0, abs=0.1)
            assert widths["FPT"] == pytest.approx(100 * 1000 / 3500, abs=0.1)
            assert widths["VNM"] == 0
            screenshot = tmp_path / "dashboard.png"
            await browser.screenshot(screenshot)
            assert screenshot.stat().st_size > 10_000
            assert browser.errors == []
    finally:
        await server.stop()


# --- the real daemon fed by the fake SSI server ------------------------------------------------

D = "03/02/2026"
DASHBOARD_SYMBOLS = ["ACB", "FPT", "HPG", "MBB", "SSI", "TCB", "VCB", "VNM", "VHM", "MWG"]


def gated(
    first: list[tuple[Any, ...]], gate: threading.Event, later: list[tuple[Any, ...]]
) -> Iterator[tuple[Any, ...]]:
    """Fake-server steps: ``first``, then wait (in small sleeps) for ``gate``, then ``later``."""
    yield from first
    while not gate.is_set():
        yield ("sleep", 0.05)
    yield from later


def morning_script(gate: threading.Event) -> dict[str, list[Any]]:
    rng = random.Random(7)
    trades: list[dict[str, Any]] = []
    quotes: list[dict[str, Any]] = []
    rooms: list[dict[str, Any]] = []
    for symbol in DASHBOARD_SYMBOLS:
        price = float(rng.randrange(200, 1200) * 100)
        quotes.append(vn.quote(symbol, D, "09:14:00", price - 100, price))
        total = float(rng.randrange(50, 400) * 100)
        trades.append(vn.trade(symbol, D, "09:15:00", price, total, total, "", "ATO"))
        for minute in range(20, 40, 2):
            volume = float(rng.randrange(1, 60) * 100)
            total += volume
            side = rng.choice(["BU", "BU", "SD", "SD", ""])
            trades.append(
                vn.trade(
                    symbol,
                    D,
                    f"09:{minute}:00",
                    price + rng.choice([-100, 0, 100]),
                    volume,
                    total,
                    side,
                )
            )
        atc = float(rng.randrange(20, 200) * 100)
        trades.append(vn.trade(symbol, D, "14:45:00", price, atc, total + atc, "", "ATC"))
        buy = float(rng.randrange(10, 200) * 1000)
        sell = float(rng.randrange(10, 200) * 1000)
        rooms.append(vn.foreign(symbol, D, "09:40:00", buy, sell, buy * price, sell * price))
    acb = vn.trade("ACB", D, "09:20:00", 22950, 1000, 1000, "BU")
    trades = [t for t in trades if t["Symbol"] != "ACB"] + [acb]
    quotes = [q for q in quotes if q["Symbol"] != "ACB"] + [
        vn.quote("ACB", D, "09:14:00", 22900, 22950)
    ]
    later = [vn.trade("ACB", D, "09:45:00", 23000, 2500, 3500, "BU")]
    premium = [2, 3.5, 5, 6, 4.5, 3, 1.5, -0.5, -1, 0.5, 2, 3.5, 5, 4.5, 4]  # the last is 4
    futures = [
        vn.futures(
            "41I1G2000", D, f"09:{m}:30", 1300.0 + (m - 30) / 10 + premium[m - 30], 3, 3 * (m - 29)
        )
        for m in range(30, 45)
    ]
    index_ticks = [
        vn.index("VN30", D, f"09:{m}:00", 1300.0 + (m - 30) / 10, 1292.0) for m in range(30, 45)
    ]
    return {
        "X-QUOTE": [vn.steps("X-QUOTE", quotes)],
        "X-TRADE": [
            gated([("sleep", 1.0), *vn.steps("X-TRADE", trades)], gate, vn.steps("X-TRADE", later))
        ],
        "MI": [
            [
                *vn.steps("MI", index_ticks),
                ("broadcast", "MI", vn.index("VNINDEX", D, "09:44:00", 1262.4, 1255.1)),
            ]
        ],
        "X": [[("sleep", 1.0), *vn.steps("X", futures)]],
        "R": [vn.steps("R", rooms)],
    }


@pytest.mark.asyncio
async def test_dashboard_of_the_live_daemon_fed_by_the_fake_ssi_server(tmp_path: Path) -> None:
    gate = threading.Event()
    fake = FakeSsiServer(keepalive_interval=0.1).start()
    fake.scripts.update(morning_script(gate))
    daemon = vn.LiveDaemon(
        fake, f"sqlite:///{tmp_path / 'live.db'}", tmp_path, "2026-02-03T03:00:00Z"
    )
    try:
        await asyncio.to_thread(daemon.wait_ready)
        async with Browser() as browser:
            await browser.navigate(f"{daemon.base}/")
            rows = "document.querySelectorAll('#volumes tr').length"
            # the config's 30 VN30 stocks and the futures contract, traded or not
            await browser.wait_for(f"{rows} === 31", timeout_seconds=20)
            await browser.wait_for(
                "document.getElementById('basis').textContent === '4'", timeout_seconds=20
            )
            assert await browser.evaluate("document.getElementById('status').textContent") == "live"
            assert "vn30_live" in await browser.evaluate(
                "document.getElementById('session').textContent"
            )
            acb_buy = (
                "document.querySelector('#volumes tr[data-symbol=ACB] td:nth-child(5)').textContent"
            )
            # the trades and the futures are sent at once: ACB's (the last trade) may land after
            # the basis reached 4
            await browser.wait_for(f"{acb_buy} === '1,000'", timeout_seconds=20)

            gate.set()  # the fake now sends ACB's next trade: buy 2,500 more
            await browser.wait_for(f"{acb_buy} === '3,500'", timeout_seconds=20)
            await browser.wait_for(
                "document.getElementById('indices').textContent.includes('VNINDEX')"
            )
            screenshot = Path(os.environ.get("SESSIOND_SCREENSHOT", tmp_path / "dashboard.png"))
            await browser.screenshot(screenshot)
            assert screenshot.stat().st_size > 10_000
            assert browser.errors == []
    finally:
        gate.set()
        assert await asyncio.to_thread(daemon.stop) == 0
        fake.stop()
