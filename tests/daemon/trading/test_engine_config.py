"""``TradingEngine.for_config``: the engine a session config asks for, built through the plugin
manager like the daemon builds it, trading a multi-day synthetic backtest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core import calendars
from core.config import validate_session_config
from core.errors import ConfigError, PluginError
from core.store import Store
from daemon.clock import SimulatedClock
from daemon.trading.engine import TradingEngine
from plugins.manager import load_plugins
from plugins.sources.synthetic import SyntheticSource
from tests.daemon.trading.harness import run_day

EXAMPLE = Path(__file__).resolve().parents[3] / "session_configs" / "example_session.json"


def _config(**changes):
    data = json.loads(EXAMPLE.read_text())
    data["strategy"] = {
        "type": "sma_crossover",
        "params": {"fast": 5, "slow": 20, "allocation": 0.09},
    }
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            data.setdefault(section, {})[field] = value
        else:
            data[section] = value
    host = load_plugins(entry_points=False)
    return validate_session_config(data, **host.config_names()), host


def test_the_example_config_with_a_strategy_trades_through_the_engine(sqlite_url: str) -> None:
    config, host = _config(trading_config__fees={"type": "us_default", "regulatory_fees": True})
    clock = SimulatedClock(datetime(2024, 7, 1, tzinfo=UTC))
    with Store.from_url(sqlite_url) as store:
        engine = TradingEngine.for_config(config, host, clock=clock, store=store, run_id=4)
        assert engine is not None and engine.broker.name == "simulated"
        assert engine.fee_model.regulatory_fees is True
        assert engine.limits.max_per_trade == Decimal("10000.0")
        engine.start()
        source = SyntheticSource(exchange="XNYS", seed=42)
        backtest = config.backtest_config
        for day in calendars.sessions_in_range("XNYS", backtest.start_date, backtest.end_date):
            bounds = calendars.session_bounds("XNYS", day)
            bars = sorted(
                source.request_bars(config.symbols, bounds.open, bounds.close, "1m"),
                key=lambda b: (b.ts_event, b.symbol),
            )
            run_day(engine, day, bars)
        engine.stop()
        results = engine.results()
        assert results.trades > 3 and results.fees > 0
        assert all(o.order_id.startswith("example_us_equities-4-") for o in engine.ledger.orders(4))
        assert {r.reject_reason for r in engine.ledger.orders(4)} <= {None, "max_per_trade"}


def test_no_strategy_no_engine() -> None:
    config, host = _config(strategy=None)
    assert TradingEngine.for_config(config, host, clock=SimulatedClock(datetime.now(UTC))) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"strategy": {"type": "sma_crossover", "params": {"fast": 30, "slow": 10}}},
            "strategy.params: need whole numbers 1 <= fast < slow, were fast=30 slow=10",
        ),
        (
            {"api_config__trade_api_options": {"slippage_ticks": -1}},
            "api_config.trade_api_options: slippage_ticks must be a whole number >= 0, was -1",
        ),
        (
            {"api_config__trade_api_options": {"fill_model": "perfect"}},
            "api_config.trade_api_options: unknown fill_model 'perfect' (known: bars)",
        ),
        (
            {"trading_config__fees": {"type": "vn_default", "commission_rate": -0.1}},
            "trading_config.fees: fee model option commission_rate must be >= 0, was -0.1",
        ),
    ],
)
def test_parameters_a_plugin_refuses_are_one_line_config_errors(changes, message) -> None:
    config, host = _config(**changes)
    with pytest.raises(ConfigError) as error:
        TradingEngine.for_config(config, host, clock=SimulatedClock(datetime.now(UTC)))
    assert str(error.value) == message


def test_an_option_the_broker_does_not_take_names_the_accepted_ones() -> None:
    config, host = _config(api_config__trade_api_options={"slipage_ticks": 1})
    with pytest.raises(PluginError, match="did you mean 'slippage_ticks'"):
        TradingEngine.for_config(config, host, clock=SimulatedClock(datetime.now(UTC)))
