"""The same strategy on the same bars sends the same orders in a backtest (the simulated broker
over bars in the store) and live on Alpaca paper: bars from the loopback stock-stream fake through
the live SessionCoordinator, orders to the loopback trading fake through ``alpaca_paper``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.config import load_session_config
from core.models import Bar
from core.store import Store
from daemon.clock import LiveClock
from daemon.coordinator import RunObserver, SessionCoordinator
from daemon.trading.ledger import TradingLedger
from plugins.manager import load_plugins
from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpacaStream
from tests.fakes.alpaca_trading_server import FakeAlpacaTrading

ET = ZoneInfo("America/New_York")


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("ALPACA_DATA_URL", "ALPACA_STREAM_URL", "ALPACA_FEED", "ALPACA_TRADING_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALPACA_API_KEY", KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)


BLACK_FRIDAY = date(2024, 11, 29)
EARLY_CLOSE = datetime(2024, 11, 29, 18, 0, tzinfo=UTC)  # 13:00 ET


def _stream_bar(symbol: str, local: time, price: float) -> dict[str, Any]:
    ts = datetime.combine(BLACK_FRIDAY, local, ET).astimezone(UTC)
    return {"T": "b", "S": symbol, "t": ts, "o": price, "h": price + 0.2, "l": price - 0.2,
            "c": price, "v": 1000, "n": 5, "vw": price}  # fmt: skip


PRICES = [100, 101, 102, 103, 102, 100, 98, 97, 99, 101, 103, 104, 102, 99]


def _config(tmp_path: Path, mode: str, api: dict[str, Any]) -> Path:
    config = {
        "session_name": f"paper_{mode}",
        "exchange_group": "US_EQUITY",
        "mode": mode,
        "session_data_config": {
            "symbols": ["AAPL", "MSFT"],
            "streams": ["1m", "5m"],
            "historical": {"enable_quality": False, "data": [], "indicators": {}},
            "gap_filler": {"enable_session_quality": False},
        },
        "strategy": {"type": "sma_crossover", "params": {"fast": 2, "slow": 4, "quantity": 5}},
        "api_config": api,
    }
    if mode == "backtest":
        config["backtest_config"] = {"start_date": "2024-11-29", "end_date": "2024-11-29"}
    path = tmp_path / f"{mode}.json"
    path.write_text(json.dumps(config))
    return path


class StopAfterFirstDay(RunObserver):
    coordinator: Any = None

    def day_ended(self, result: Any) -> None:
        self.coordinator.stop()


async def _live(tmp_path: Path, host: Any, stream_url: str) -> tuple[list[tuple], list[str], Any]:
    """Bars from the data-stream fake, orders to the trading fake; stops after the day."""
    with FakeAlpacaTrading(prices={"AAPL": 100.0, "MSFT": 150.0}) as trading:
        live_config = load_session_config(
            _config(
                tmp_path,
                "live",
                {
                    "data_api": "alpaca",
                    "data_api_options": {
                        "stream_url": stream_url,
                        "data_url": "http://127.0.0.1:9",
                    },
                    "trade_api": "alpaca_paper",
                    "trade_api_options": {
                        "trading_url": trading.url,
                        "trading_stream_url": trading.stream_url,
                        "reconnect_wait_seconds": 0.05,
                    },
                },
            ),
            **host.config_names(),
        )
        live_store = Store.from_url(f"sqlite:///{tmp_path / 'live.db'}")
        observer = StopAfterFirstDay()
        live = SessionCoordinator.for_config(
            live_config, store=live_store, host=host, observer=observer
        )
        observer.coordinator = live
        live.clock = LiveClock(start_at=EARLY_CLOSE - timedelta(seconds=8))
        summary = await live.run()
        live_orders = [
            (r.symbol, r.side, r.quantity, r.order_type, r.status, r.broker_order_id is not None)
            for r in TradingLedger(live_store).orders(summary.run_id)
        ]
        at_alpaca = sorted(o["client_order_id"] for o in trading.orders.values())
        live_store.dispose()

    return live_orders, at_alpaca, summary


async def test_the_same_strategy_sends_the_same_orders_in_a_backtest_and_live_on_alpaca_paper(
    credentials: None, tmp_path: Path
) -> None:
    minutes = [time(12, 46 + i) for i in range(len(PRICES))]
    script = [
        _stream_bar(symbol, minute, price + (50 if symbol == "MSFT" else 0))
        for minute, price in zip(minutes, PRICES, strict=True)
        for symbol in ("AAPL", "MSFT")
    ]
    host = load_plugins(entry_points=False)
    # a bar every 0.15 s: the venue's fill reaches the engine before the next bar, as it would
    # with bars a minute apart (the strategy's decisions depend on the position)
    with FakeAlpacaStream(script, pace_seconds=0.15) as stream:
        live_orders, at_alpaca, summary = await _live(tmp_path, host, stream.url)

    # backtest: the same bars from the store, the simulated broker
    backtest_store = Store.from_url(f"sqlite:///{tmp_path / 'backtest.db'}")
    bars = [
        Bar(m["S"], "1m", m["t"], m["o"], m["h"], m["l"], m["c"], m["v"], m["n"], m["vw"], "alpaca")
        for m in script
    ]
    backtest_store.upsert_bars(bars)
    backtest_config = load_session_config(
        _config(tmp_path, "backtest", {"data_api": "alpaca"}), **host.config_names()
    )
    backtest = SessionCoordinator.for_config(backtest_config, store=backtest_store, host=host)
    result = await backtest.run()
    backtest_orders = [
        (r.symbol, r.side, r.quantity, r.order_type, r.status, r.broker_order_id is not None)
        for r in TradingLedger(backtest_store).orders(result.run_id)
    ]
    backtest_store.dispose()

    assert summary.trading is not None and summary.trading["fills"] >= 2
    assert [o[:4] for o in live_orders] == [o[:4] for o in backtest_orders]
    assert len(live_orders) >= 2 and all(o[5] for o in live_orders)  # Alpaca's ids stored
    assert len(at_alpaca) == len(live_orders)
