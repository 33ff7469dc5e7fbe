"""``sessiond runs show`` and ``sessiond report`` of a run that traded: the trading sections read
the ledger (and the results the run stored), in the terminal, as JSON and in the HTML report
(rendered in headless Chromium when it is installed)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core import calendars
from core.store import Store
from daemon.cli import app
from daemon.trading.ledger import TradingLedger
from plugins.brokers.fees import USFees
from plugins.sources.synthetic import SyntheticSource
from plugins.strategies.sma_crossover import SmaCrossover
from tests.daemon.browser import chromium_path
from tests.daemon.trading.harness import make_engine, run_day

EXAMPLE = Path(__file__).resolve().parents[3] / "session_configs" / "example_session.json"
runner = CliRunner()


@pytest.fixture(scope="module")
def traded_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A stored run of the example config whose strategy traded two days through the ledger."""
    url = f"sqlite:///{tmp_path_factory.mktemp('traded') / 'runs.db'}"
    days = [date(2024, 7, 1), date(2024, 7, 2)]
    symbols = ("AAPL", "MSFT", "RIVN")
    with Store.from_url(url) as store:
        run_id = store.start_session_run(
            "example_us_equities", str(EXAMPLE), "backtest", "XNYS", *days
        )
        engine = make_engine(
            SmaCrossover(fast=5, slow=20, quantity=10),
            symbols=symbols,
            fees=USFees(regulatory_fees=True),
            ledger=TradingLedger(store),
            run_id=run_id,
        )
        engine.start()
        source = SyntheticSource(exchange="XNYS", seed=42)
        for day in days:
            bounds = calendars.session_bounds("XNYS", day)
            bars = list(source.request_bars(list(symbols), bounds.open, bounds.close, "1m"))
            store.upsert_bars(bars)
            run_day(engine, day, sorted(bars, key=lambda b: (b.ts_event, b.symbol)))
        engine.stop()
        summary = {"trading": engine.results().to_dict(), "events": 2340}
        store.finish_session_run(run_id, "finished", {"summary": summary})
    return url


def test_runs_show_has_a_trading_section_from_the_ledger(traded_db: str) -> None:
    result = runner.invoke(app, ["runs", "show", "1", "--db", traded_db])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "trading" in text and "sma_crossover via simulated" in text
    assert "orders by status" in text and "filled" in text
    assert "fills (stored)" in text and "last equity point" in text
    shown = json.loads(
        runner.invoke(app, ["runs", "show", "1", "--db", traded_db, "--json"]).stdout
    )
    trading = shown["trading"]
    with Store.from_url(traded_db) as store:
        fills = TradingLedger(store).fills(1)
    assert trading["fills"] == len(fills) > 10
    assert trading["orders_by_status"]["filled"] == len({f.order_id for f in fills})
    assert trading["last_equity"] == shown["summary"]["trading"]["final_equity"]


def test_the_report_has_equity_drawdown_and_the_fills(traded_db: str, tmp_path: Path) -> None:
    output = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "1", "--db", traded_db, "--output", str(output)])
    assert result.exit_code == 0, result.output
    text = output.read_text(encoding="utf-8")
    assert 'data-section="trading_section"' in text
    assert "Equity at each bar" in text and "realized P&amp;L" in text
    if chromium_path() is not None:
        from tests.daemon.test_results import render_in_chromium

        state = render_in_chromium(output)
        assert state["errors"] == [] and "trading_section" in state["sections"]


def test_a_run_that_did_not_trade_shows_no_trading_section(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'quiet.db'}"
    with Store.from_url(url) as store:
        run_id = store.start_session_run("example_us_equities", str(EXAMPLE), "backtest", "XNYS")
        store.finish_session_run(run_id, "finished", {"summary": {}})
    result = runner.invoke(app, ["runs", "show", "1", "--db", url])
    assert result.exit_code == 0, result.output
    assert "orders by status" not in result.stdout
