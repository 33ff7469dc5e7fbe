"""Trading through the real session paths: a backtest run by ``sessiond run`` stores an equity
curve that an independent recomputation from the stored fills and bars reproduces; a strategy
error fails its run (traceback logged, one line for the user), not the process."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core.orders import quantize_money
from core.store import Store
from daemon.cli import app
from daemon.coordinator import SessionCoordinator
from daemon.trading.ledger import TradingLedger
from plugins.manager import load_plugins

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


def test_the_stored_equity_curve_of_a_sessiond_run_backtest_recomputes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'run.db'}"
    result = runner.invoke(
        app, ["run", str(REPO / "session_configs" / "example_session.json"), "--db", url, "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    trading = summary["trading"]
    assert trading["trades"] > 10 and trading["fills"] == trading["orders"] - trading["rejected"]
    with Store.from_url(url) as store:
        ledger = TradingLedger(store)
        fills = ledger.fills(1)
        points = ledger.equity_curve(1)
        closes: dict[str, list[tuple[datetime, float]]] = {}
        for symbol in {f.symbol for f in fills}:
            bars = store.read_bars(symbol, "1m", points[0].ts - timedelta(days=1), points[-1].ts)
            closes[symbol] = [(b.ts_event + timedelta(minutes=1), b.close) for b in bars]
    assert len(points) == 4 * 390 - 180  # a point per minute; 07-03 closed at 13:00
    start = Decimal(trading["starting_equity"])
    recomputed = []
    for point in points:
        cash, held = start, defaultdict(int)
        for fill in fills:
            if fill.ts_event < point.ts:
                notional = quantize_money(fill.price * fill.quantity, "USD")
                buy = fill.side == "buy"
                cash += (-notional if buy else notional) - fill.commission - fill.tax
                held[fill.symbol] += fill.quantity if buy else -fill.quantity
        value = Decimal(0)
        for symbol, quantity in held.items():
            if quantity:
                last = [c for ts, c in closes[symbol] if ts <= point.ts][-1]
                mark = (Decimal(repr(last)) * 100).quantize(Decimal(1), ROUND_HALF_UP) / 100
                value += quantize_money(mark * quantity, "USD")
        recomputed.append(cash + value)
    assert [p.equity for p in points] == recomputed
    assert str(points[-1].equity) == trading["final_equity"]


def test_a_strategy_error_fails_the_run_in_one_line_and_the_run_is_marked_failed(
    tmp_path: Path,
) -> None:
    config = json.loads((REPO / "session_configs" / "example_session.json").read_text())
    config["strategy"] = {
        "type": "sma_crossover",
        "params": {"fast": 2, "slow": 3, "interval": "15m"},
    }
    config["session_data_config"]["streams"] = ["1m", "5m"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    result = runner.invoke(app, ["run", str(path), "--db", url])
    assert result.exit_code == 1
    assert "sma_crossover wants 15m bars" in result.stderr and "Traceback" not in result.stderr
    with Store.from_url(url) as store:
        (run,) = store.read_session_runs()
    assert run.status == "failed" and "15m" in run.metrics["error"]


class Exploding:
    name = "exploding"
    description = "raises on its 30th bar"
    intervals = ("1m",)

    def on_start(self, ctx: Any) -> None:
        self.seen = 0

    def on_bar(self, bar: Any) -> None:
        self.seen += 1
        if self.seen == 30:
            raise KeyError("no such signal")


class ExplodingPlugin:
    from plugins import hookimpl

    @hookimpl
    def register_strategies(self) -> list[type]:
        return [Exploding]


def test_a_strategy_raising_stops_its_session_logs_the_traceback_and_fails_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from core.config import validate_session_config
    from core.errors import StrategyError

    data = json.loads((REPO / "session_configs" / "example_session.json").read_text())
    data["strategy"] = {"type": "exploding", "params": {}}
    host = load_plugins(entry_points=False, extra=[ExplodingPlugin()])
    config = validate_session_config(data, **host.config_names())
    with Store.from_url(f"sqlite:///{tmp_path / 'x.db'}") as store:
        coordinator = SessionCoordinator.for_config(config, store=store, host=host)
        with pytest.raises(StrategyError, match="strategy exploding raised KeyError in on_bar"):
            coordinator.run_sync()
        (run,) = store.read_session_runs()
    assert run.status == "failed" and "StrategyError" in run.metrics["error"]
    logged = [r for r in caplog.records if "strategy exploding failed in on_bar" in r.getMessage()]
    assert logged and logged[0].exc_info is not None
