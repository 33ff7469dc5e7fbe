"""The dashboard page in a real headless Chromium: it renders, updates live, logs no errors."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.models import Aggressor, ForeignRoom, IndexTick, Quote, Trade
from daemon.api import ApiServer, SessionView, create_app
from daemon.market_state import MarketState
from plugins.classifiers.chain import DEFAULT_CHAIN, ClassifierChain
from plugins.classifiers.rules import BUILTIN_CLASSIFIERS
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
    state.on_event(Trade("41I1G3000", T0 + timedelta(seconds=5), 1304.0, 10, total_volume=10))
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
        "vn30 live", "XSTC", "live", state="streaming", group_symbols=["ACB", "FPT", "HPG"]
    )
    server = ApiServer(create_app(state, view), host="127.0.0.1", port=0)
    await server.start()
    try:
        async with Browser() as browser:
            await browser.navigate(f"http://127.0.0.1:{server.bound_port}/")
            await browser.wait_for("document.querySelectorAll('#volumes tr').length === 3")
            assert await browser.evaluate("document.getElementById('status').textContent") == "live"
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
            screenshot = Path(os.environ.get("SESSIOND_SCREENSHOT", tmp_path / "dashboard.png"))
            await browser.screenshot(screenshot)
            assert screenshot.stat().st_size > 10_000
            assert browser.errors == []
    finally:
        await server.stop()
