"""The example package's plugins through sessiond's conformance kit and its real engine."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sessiond_vn_extras import plugin
from sessiond_vn_extras.classifier import DepthImbalanceClassifier
from sessiond_vn_extras.indicator import RsiIndicator
from sessiond_vn_extras.source import RandomWalkSource
from typer.testing import CliRunner

from core.models import Aggressor, Quote, Trade
from core.store import Store
from daemon.cli import app
from plugins.manager import load_plugins
from plugins.testing import (
    check_data_source,
    check_indicator,
    check_indicator_paths,
    check_plugin,
    check_trade_classifier,
    sample_trades,
)


def test_the_installed_entry_point_registers_the_four_plugins() -> None:
    host = load_plugins()
    assert host.data_sources["random_walk"] is RandomWalkSource
    assert host.classifiers["depth_imbalance"] is DepthImbalanceClassifier
    assert host.indicators["rsi"] is RsiIndicator
    assert host.strategies["rsi_reversion"].__module__ == "sessiond_vn_extras.strategy"
    assert host.distribution_of("data_sources", "random_walk") == "sessiond-vn-extras"
    assert host.distribution_of("strategies", "rsi_reversion") == "sessiond-vn-extras"


def test_the_plugin_module_passes_check_plugin() -> None:
    host = check_plugin(plugin)
    assert {"random_walk"} <= set(host.data_sources)


def test_random_walk_passes_the_kit_on_hose_and_nyse() -> None:
    bars = check_data_source(
        RandomWalkSource, exchange="XSTC", symbols=["ACB", "FPT"], options={"seed": 3}
    )
    assert len(bars) == 2 * 255  # 09:00-11:30 and 13:00-14:45, no lunch-break bars
    us = check_data_source(
        RandomWalkSource, exchange="XNYS", symbols=["AAPL"], options={"start_price": 180.0}
    )
    assert len(us) == 390 and all(b.low > 0 for b in us)


def test_depth_imbalance_passes_the_kit_and_decides_inside_the_spread() -> None:
    answers = check_trade_classifier(DepthImbalanceClassifier, trades=sample_trades("ACB"))
    assert any(a is not None for a in answers)
    rule = DepthImbalanceClassifier()
    t0 = dt.datetime(2024, 3, 4, 2, 30, tzinfo=dt.UTC)
    rule.on_quote(Quote("ACB", t0, 22_900, 30_000, 23_000, 10_000))  # bid 3x deeper
    assert rule.classify(Trade("ACB", t0, 22_950, 100)) is Aggressor.SELL
    assert rule.classify(Trade("ACB", t0, 23_000, 100)) is Aggressor.BUY
    rule.on_quote(Quote("ACB", t0, 22_900, 10_000, 23_000, 12_000))  # balanced: pass
    assert rule.classify(Trade("ACB", t0, 22_950, 100)) is None


def test_rsi_passes_the_kit_with_a_history_and_params() -> None:
    out = check_indicator(RsiIndicator, params={"period": 5}, exchange="XSTC", symbol="ACB")
    (daily,) = out["compute"]
    assert daily.value is not None and 0 <= daily.value <= 100
    assert out["update"][:5] == [None] * 5 and out["update"][5] is not None


def test_rsi_stores_the_same_values_from_the_daemon_and_dagster(tmp_path: Path) -> None:
    for granularity in ("intraday", "bar"):  # a bar-count period: the day before
        out = check_indicator_paths(
            RsiIndicator,
            params={"period": 5},
            granularity=granularity,
            exchange="XSTC",
            symbols=["ACB"],
            directory=tmp_path / granularity,
        )
        assert any(v.value is not None for v in out["daemon"])


def test_a_backtest_on_random_walk_stores_rsi_values(tmp_path: Path) -> None:
    config = {
        "session_name": "vn_extras_backtest",
        "exchange_group": "HOSE",
        "mode": "backtest",
        "backtest_config": {
            "start_date": "2024-03-05",
            "end_date": "2024-03-06",
            "speed_multiplier": 0,
        },
        "session_data_config": {
            "symbols": ["ACB"],
            "streams": ["1m", "15m"],
            "historical": {
                "data": [{"trailing_days": 2, "intervals": ["1m"], "apply_to": "all"}],
                "indicators": {"rsi_14": {"type": "rsi", "granularity": "bar", "period": 14}},
            },
        },
        "api_config": {"data_api": "random_walk", "data_api_options": {"seed": 9}},
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    db = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(app, ["run", str(path), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [d["events"] for d in summary["days"]] == [255, 255]
    with Store.from_url(db) as store:
        values = store.read_indicator_values(
            "rsi_14",
            "ACB",
            dt.datetime(2024, 3, 4, tzinfo=dt.UTC),
            dt.datetime(2024, 3, 7, tzinfo=dt.UTC),
        )
    assert values and all(v.value is None or 0 <= v.value <= 100 for v in values)
    assert any(v.value is not None for v in values)


def test_rsi_reversion_passes_the_kit_and_trades_through_the_engine() -> None:
    from decimal import Decimal

    from sessiond_vn_extras.strategy import RsiReversionStrategy

    from core import calendars
    from daemon.clock import SimulatedClock
    from daemon.trading.engine import TradingEngine
    from daemon.trading.rules import MarketRules
    from plugins.brokers.fees import VietnamFees
    from plugins.brokers.simulated import SimulatedBroker
    from plugins.testing import check_strategy

    orders = check_strategy(
        RsiReversionStrategy,
        params={"period": 5, "lots": 2},
        exchange="XSTC",
        symbols=["ACB"],
        streams=("1m",),
    )
    assert orders and all(o.quantity == 200 and o.side.value == "buy" for o in orders)

    host = load_plugins()
    assert host.strategies["rsi_reversion"] is RsiReversionStrategy
    days = calendars.sessions_in_range("XSTC", dt.date(2024, 3, 4), dt.date(2024, 3, 8))
    engine = TradingEngine(
        strategy=host.create_strategy("rsi_reversion", period=5),
        broker=SimulatedBroker("XSTC"),
        fee_model=VietnamFees(),
        rules=MarketRules.for_exchange("XSTC"),
        clock=SimulatedClock(dt.datetime(2024, 3, 1, tzinfo=dt.UTC)),
        session_name="rsi",
        symbols=["ACB", "FPT"],
        streams=["1m"],
        starting_cash=Decimal(1_000_000_000),
    )
    engine.start()
    source = RandomWalkSource(exchange="XSTC", seed=3)
    for day in days:
        bounds = calendars.session_bounds("XSTC", day)
        engine.on_day_start(day)
        bars = sorted(
            source.request_bars(["ACB", "FPT"], bounds.open, bounds.close, "1m"),
            key=lambda b: (b.ts_event, b.symbol),
        )
        for bar in bars:
            at = bar.ts_event + dt.timedelta(minutes=1)
            if engine.clock.now() < at:
                engine.clock.jump_to(at)
            engine.on_bar(bar)
        engine.on_day_end(day)
    engine.stop()
    sides = {m.order.side.value for m in engine.book if m.status.value == "filled"}
    assert sides == {"buy", "sell"}  # bought oversold, sold overbought once settled
    for managed in engine.book:
        assert managed.reject_reason is None or managed.reject_reason.value == "unsettled"
