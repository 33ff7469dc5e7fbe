"""The built-in strategies on scripted data, through the trading engine."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import pytest

from core.errors import StrategyError
from core.models import Aggressor, PhaseChange
from core.orders import OrderStatus, OrderType
from plugins.brokers.fees import VietnamFees
from plugins.strategies.order_flow import OrderFlowStrategy
from plugins.strategies.sma_crossover import SmaCrossover
from tests.daemon.trading.harness import MONDAY, flat, make_engine, run_day, trade, window

D = Decimal


def _orders(engine):
    return [
        (m.order.side.value, m.order.quantity, m.status.value, m.average_price) for m in engine.book
    ]


def test_sma_crossover_buys_on_the_cross_up_and_sells_on_the_cross_down() -> None:
    closes = [100.0] * 8 + [101.0, 102.0, 103.0, 104.0] + [103.0, 101.0, 99.0, 97.0, 96.0]
    bars = [flat("X", minute, close) for minute, close in enumerate(closes)]
    engine = make_engine(SmaCrossover(fast=2, slow=5, quantity=10))
    engine.start()
    run_day(engine, MONDAY, bars)
    engine.stop()
    # fast (2) crosses above slow (5) at minute 8 (101): bought at minute 9's open (102);
    # crosses below at minute 13 (101 vs 102.8): sold at minute 14's open (99)
    assert _orders(engine) == [
        ("buy", 10, "filled", D("102")),
        ("sell", 10, "filled", D("99")),
    ]
    assert engine.portfolio.realized_pnl == D("-30.00")
    assert engine.results().trades == 1 and engine.results().win_rate == 0.0


def test_sma_crossover_sizes_by_allocation_in_board_lots() -> None:
    closes = [20_000.0] * 6 + [20_100.0, 20_200.0, 20_300.0]
    bars = [flat("HPG", m, c, exchange="XSTC") for m, c in enumerate(closes)]
    engine = make_engine(
        SmaCrossover(fast=2, slow=5, allocation=0.1),
        exchange="XSTC",
        symbols=("HPG",),
        cash=100_000_000,
        fees=VietnamFees(),
    )
    engine.start()
    run_day(engine, MONDAY, bars)
    engine.stop()
    (order,) = list(engine.book)
    # 10 % of 100,000,000 at 20,100 = 497 shares -> 400 (lots of 100)
    assert order.order.quantity == 400


def test_sma_crossover_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="1 <= fast < slow"):
        SmaCrossover(fast=30, slow=10)
    with pytest.raises(ValueError, match="allocation"):
        SmaCrossover(allocation=2)


def _imbalanced_minutes(day: date, start_minute: int, minutes: int, buy_share: float):
    """Trades of ``minutes`` minutes of continuous trading, ``buy_share`` of them active buys."""
    events = []
    for m in range(start_minute, start_minute + minutes):
        for i in range(10):
            side = Aggressor.BUY if i < buy_share * 10 else Aggressor.SELL
            events.append(
                trade("FPT", m * 60 + i * 5, 120_000 + 100 * (i % 3), 1_000, day=day, side=side)
            )
    return events


def test_vn_order_flow_enters_on_sustained_active_buying_and_exits_in_atc_after_t_plus_2() -> None:
    strategy = OrderFlowStrategy(
        window_minutes=5, threshold=0.7, min_active_volume=20_000, sustain_minutes=3, quantity=1_000
    )
    engine = make_engine(
        strategy,
        exchange="XSTC",
        symbols=("FPT",),
        streams=("trades",),
        cash=1_000_000_000,
        fees=VietnamFees(),
    )
    engine.start()
    monday_trades = _imbalanced_minutes(MONDAY, 20, 3, 0.4) + _imbalanced_minutes(
        MONDAY, 23, 8, 0.8
    )
    run_day(engine, MONDAY, monday_trades, phases={0: "continuous"}, end_phases=["atc"])
    (buy,) = list(engine.book)
    assert (buy.order.side.value, buy.order.order_type, buy.status) == (
        "buy",
        OrderType.MARKET,
        OrderStatus.FILLED,
    )
    assert engine.portfolio.position("FPT").sellable == 0  # T: not sellable in today's ATC

    tuesday, wednesday = date(2024, 3, 5), date(2024, 3, 6)
    run_day(
        engine,
        tuesday,
        _imbalanced_minutes(tuesday, 20, 2, 0.5),
        phases={0: "continuous"},
        end_phases=["atc"],
    )
    assert len(engine.book) == 1  # T+1: still nothing to sell, and no second entry while held
    closing = [trade("FPT", 19_800, 121_500, 5_000, day=wednesday, session="ATC")]
    run_day(
        engine,
        wednesday,
        _imbalanced_minutes(wednesday, 20, 2, 0.5) + closing,
        phases={0: "continuous", 20: "atc"},
    )
    engine.stop()
    sell = list(engine.book)[-1]
    assert (sell.order.side.value, sell.order.order_type, sell.status) == (
        "sell",
        OrderType.ATC,
        OrderStatus.FILLED,
    )
    assert sell.average_price == D("121500")
    assert engine.portfolio.position("FPT").quantity == 0


def test_vn_order_flow_needs_the_trades_stream() -> None:
    engine = make_engine(OrderFlowStrategy(), exchange="XSTC", symbols=("FPT",), streams=("1m",))
    with pytest.raises(StrategyError, match='add "trades" to session_data_config.streams'):
        engine.start()


class Broken:
    name = "broken"
    description = "raises on the third bar"
    intervals = ("1m",)

    def on_start(self, ctx):
        self.seen = 0

    def on_bar(self, bar):
        self.seen += 1
        if self.seen == 3:
            raise ZeroDivisionError("division by zero in my signal")


def test_a_strategy_error_stops_the_session_with_the_traceback_logged(caplog) -> None:
    engine = make_engine(Broken())
    engine.start()
    caplog.set_level(logging.ERROR, logger="daemon.trading.engine")
    with pytest.raises(StrategyError) as error:
        run_day(engine, MONDAY, [flat("X", m, 10.0) for m in range(5)])
    assert str(error.value) == (
        "strategy broken raised ZeroDivisionError in on_bar: division by zero in my signal "
        "(traceback in the log)"
    )
    assert isinstance(engine.failed, ZeroDivisionError)
    record = caplog.records[-1]
    assert "strategy broken failed in on_bar" in record.getMessage() and record.exc_info
    engine.stop()  # still stops cleanly (broker stopped, ledger flushed)
    assert engine.stopped


def test_phase_changes_reach_the_strategy_and_the_context_shows_the_phase() -> None:
    seen = []

    class Watcher:
        name = "watcher"
        description = "records phases"
        intervals = ()

        def on_start(self, ctx):
            self.ctx = ctx

        def on_bar(self, bar):
            return

        def on_phase(self, change):
            seen.append((change.phase, self.ctx.phase))

    engine = make_engine(Watcher(), exchange="XSTC", symbols=("FPT",))
    engine.start()
    start = window("XSTC", MONDAY).start
    for phase in ("ato", "continuous", "atc"):
        engine.on_phase(PhaseChange("XSTC", start, phase))
    assert seen == [("ato", "ato"), ("continuous", "continuous"), ("atc", "atc")]
