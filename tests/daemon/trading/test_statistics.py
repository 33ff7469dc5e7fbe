"""Run results: round trips, win rate, P&L, fees, return, drawdown and Sharpe (empyrical)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import empyrical
import pandas as pd
import pytest

from core.orders import OrderRequest
from daemon.trading.statistics import TradingResults, daily_returns
from plugins.brokers.fees import USFees
from tests.daemon.trading.harness import Scripted, flat, make_engine, run_day

DAYS = [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6), date(2024, 3, 7), date(2024, 3, 8)]


def test_results_count_round_trips_and_take_return_drawdown_and_sharpe_from_empyrical() -> None:
    engine = make_engine(Scripted(), cash=10_000, fees=USFees(commission_per_share="0.01"))
    engine.start()
    plan = [
        (100.0, OrderRequest.market("X", "buy", 10)),  # day 1: buy, filled day 2 at 101
        (101.0, OrderRequest.market("X", "sell", 10)),  # day 2: sell, filled day 3 at 105 (win)
        (105.0, OrderRequest.market("X", "buy", 10)),  # day 3: buy, filled day 4 at 103
        (103.0, OrderRequest.market("X", "sell", 10)),  # day 4: sell, filled day 5 at 99 (loss)
        (99.0, None),
    ]
    for day, (price, request) in zip(DAYS, plan, strict=True):
        run_day(engine, day, [flat("X", 0, price, day=day)])
        if request is not None:
            engine.submit(request)
    engine.stop()
    results = engine.results()
    # trip 1: +40 - 0.20 fees; trip 2: -40 - 0.20
    assert (results.trades, results.win_rate, results.fills, results.orders) == (2, 0.5, 4, 4)
    assert results.realized_pnl == Decimal("0.00") and results.fees == Decimal("0.40")
    assert results.final_equity == Decimal("9999.60") and results.unrealized_pnl == 0
    assert results.total_return == pytest.approx(-0.00004)
    equity = [10_000.0] + [float(engine.daily_equity[d]) for d in DAYS]
    returns = pd.Series(
        [b / a - 1 for a, b in zip(equity, equity[1:], strict=False)],
        index=pd.DatetimeIndex([pd.Timestamp(d, tz="UTC") for d in DAYS]),
    )
    pd.testing.assert_series_equal(daily_returns(Decimal(10_000), engine.daily_equity), returns)
    assert (
        results.max_drawdown == pytest.approx(empyrical.max_drawdown(returns))
        and results.max_drawdown < 0
    )
    assert results.sharpe == pytest.approx(empyrical.sharpe_ratio(returns))
    assert json.loads(json.dumps(results.to_dict()))["final_equity"] == "9999.60"
    assert TradingResults.from_dict(json.loads(json.dumps(results.to_dict()))) == results
    rows = dict(results.rows())
    assert rows["trades (round trips)"] == "2" and rows["win rate"] == "50.0 %"
    assert rows["equity USD"] == "10,000.00 -> 9,999.60" and rows["return"] == "-0.00 %"
    assert rows["fees and taxes USD"] == "0.40"


def test_a_run_without_trades_reports_none_for_what_it_cannot_know() -> None:
    engine = make_engine(Scripted())
    engine.start()
    run_day(engine, DAYS[0], [flat("X", 0, 10.0)])
    engine.stop()
    results = engine.results()
    assert (results.trades, results.win_rate, results.sharpe, results.max_drawdown) == (
        0,
        None,
        None,
        0.0,
    )
    assert results.total_return == 0.0
