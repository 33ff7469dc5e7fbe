"""The ``alpaca_paper`` broker through alpaca-py against the loopback trading fake: round trips,
reconciliation at start, restart without duplicate orders, reconnects without duplicate fills,
and the same orders as a backtest on the same bars."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core import calendars
from core.orders import OrderRequest, OrderStatus, RejectReason
from core.store import Store
from daemon.trading.ledger import TradingLedger
from plugins.brokers.alpaca import AlpacaPaperBroker
from plugins.brokers.fees import USFees
from plugins.sources.synthetic import SyntheticSource
from plugins.strategies.sma_crossover import SmaCrossover
from tests.daemon.trading.harness import Scripted, flat, make_engine, run_day
from tests.fakes.alpaca_server import KEY, SECRET
from tests.fakes.alpaca_trading_server import FakeAlpacaTrading

D = Decimal
MONDAY = date(2024, 7, 1)


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPACA_API_KEY", KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)
    monkeypatch.delenv("ALPACA_TRADING_URL", raising=False)


@pytest.fixture
def fake() -> Iterator[FakeAlpacaTrading]:
    with FakeAlpacaTrading(prices={"AAPL": 190.25, "MSFT": 410.0}) as server:
        yield server


def broker_for(fake: FakeAlpacaTrading) -> AlpacaPaperBroker:
    return AlpacaPaperBroker(
        "XNYS",
        trading_url=fake.url,
        trading_stream_url=fake.stream_url,
        reconnect_wait_seconds=0.05,
    )


def wait_until(engine: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine.poll()
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met within the timeout")


def live_engine(fake: FakeAlpacaTrading, strategy: Any = None, **kw: Any) -> Any:
    broker = broker_for(fake)
    engine = make_engine(
        strategy or Scripted(intervals=()),
        symbols=("AAPL", "MSFT"),
        broker=broker,
        fees=USFees(),
        **kw,
    )
    engine.mode = "live"
    engine.start()
    wait_until(engine, lambda: broker.connections >= 1 and fake.listening() >= 1)
    return engine


def test_start_adopts_the_accounts_cash_and_positions_and_leaves_foreign_orders_alone(
    fake: FakeAlpacaTrading,
) -> None:
    fake.positions = {"MSFT": (10, D("400"))}
    fake.cash = D("50000")
    fake._new_order(
        {
            "symbol": "AAPL",
            "qty": "1",
            "side": "buy",
            "type": "limit",
            "time_in_force": "gtc",
            "limit_price": "150",
            "client_order_id": "someone-else",
        }
    )
    engine = live_engine(fake)
    try:
        assert engine.portfolio.cash == D("50000.00")
        position = engine.portfolio.position("MSFT")
        assert (position.quantity, position.average_price) == (10, D("400"))
        assert engine.portfolio.starting_equity == D("54000.00")
        assert engine.book.open_orders() == []  # the foreign order is not ours
    finally:
        engine.stop()


def test_market_limit_cancel_replace_and_reject_round_trips(fake: FakeAlpacaTrading) -> None:
    strategy = Scripted(intervals=())
    engine = live_engine(fake, strategy)
    try:
        engine.portfolio.last.update({"AAPL": 190.25, "MSFT": 410.0})
        market = engine.submit(OrderRequest.market("AAPL", "buy", 10))
        wait_until(engine, lambda: engine.book.get(market).status is OrderStatus.FILLED)
        assert strategy.fills(market) == [(10, D("190.25"))]
        assert engine.book.get(market).broker_order_id == fake.order(market)["id"]
        assert engine.portfolio.cash == D("100000") - D("1902.50")

        limit = engine.submit(OrderRequest.limit("MSFT", "buy", 10, "405.00", time_in_force="gtc"))
        wait_until(engine, lambda: engine.book.get(limit).status is OrderStatus.ACCEPTED)
        fake.fill(limit, 4, 405.0)
        wait_until(engine, lambda: engine.book.get(limit).filled == 4)
        assert engine.book.get(limit).status is OrderStatus.PARTIALLY_FILLED

        replacement = engine.replace(limit, quantity=6, limit_price="404.00")
        wait_until(engine, lambda: engine.book.get(replacement).status is OrderStatus.ACCEPTED)
        assert engine.book.get(limit).status is OrderStatus.REPLACED
        assert fake.order(replacement)["limit_price"] in ("404.0", "404")

        engine.cancel(replacement)
        wait_until(engine, lambda: engine.book.get(replacement).status is OrderStatus.CANCELED)

        too_big = engine.submit(OrderRequest.limit("MSFT", "buy", 300, "410.00"))
        wait_until(engine, lambda: not engine.book.get(too_big).is_open)
        managed = engine.book.get(too_big)
        assert managed.status is OrderStatus.REJECTED
        assert managed.reject_reason is RejectReason.BUYING_POWER  # our check, before Alpaca
        assert engine.portfolio.position("MSFT").quantity == 4
    finally:
        engine.stop()
    assert [e for e in strategy.events(market)] == ["accepted", "fill"]


def test_the_venue_rejecting_an_order_is_stored_with_its_reason(fake: FakeAlpacaTrading) -> None:
    engine = live_engine(fake, cash=10_000_000)  # our limits allow it; Alpaca's cash does not
    try:
        engine.portfolio.last.update({"AAPL": 190.25})
        engine.portfolio.cash = D("10000000")
        order_id = engine.submit(OrderRequest.limit("AAPL", "buy", 1000, "190.00"))
        wait_until(engine, lambda: not engine.book.get(order_id).is_open)
        managed = engine.book.get(order_id)
        assert managed.reject_reason is RejectReason.BROKER
        assert "HTTP 403" in managed.reason and "insufficient buying power" in managed.reason
        assert KEY not in managed.reason and SECRET not in managed.reason
    finally:
        engine.stop()


def test_a_restart_adopts_its_open_orders_and_never_submits_one_twice(
    fake: FakeAlpacaTrading, sqlite_url: str
) -> None:
    with Store.from_url(sqlite_url) as store:
        ledger = TradingLedger(store)
        first = live_engine(fake, ledger=ledger, run_id=5)
        first.portfolio.last.update({"MSFT": 410.0})
        order_id = first.submit(OrderRequest.limit("MSFT", "buy", 5, "400.00", time_in_force="gtc"))
        wait_until(first, lambda: first.book.get(order_id).status is OrderStatus.ACCEPTED)
        # live: stored at once, with Alpaca's id, before any day end (a crash loses nothing)
        (row,) = ledger.orders(5)
        assert (row.order_id, row.status) == (order_id, "accepted")
        assert row.broker_order_id == fake.order(order_id)["id"]
        first.broker.stop()  # the process dies here: no stop(), no day end; the order rests
        fake.fill(order_id, 2, 400.0)  # filled while nobody listened

        second = live_engine(fake, ledger=ledger, run_id=5)
        try:
            wait_until(second, lambda: second.book.get(order_id).filled == 2)
            assert second.portfolio.position("MSFT").quantity == 2  # from Alpaca's positions
            assert second.book.get(order_id).broker_order_id == fake.order(order_id)["id"]
            # the same client order id again (e.g. a retried submission): adopted, not doubled
            second.broker.submit(second.book.get(order_id).order)
            second.poll()
            assert sum(1 for o in fake.orders.values() if o["client_order_id"] == order_id) == 1
            second.portfolio.last["MSFT"] = 401.0
            following = second.submit(OrderRequest.market("MSFT", "buy", 1))
            assert following != order_id and following.endswith("000002")
        finally:
            second.stop()
        posts = [r for r in fake.requests if r[0] == "POST"]
        assert len(posts) == 3  # the first order, the retried one (refused 422), the next one


def test_a_dropped_stream_reconnects_and_reconciles_without_duplicate_fills(
    fake: FakeAlpacaTrading,
) -> None:
    strategy = Scripted(intervals=())
    engine = live_engine(fake, strategy)
    broker = engine.broker
    try:
        engine.portfolio.last.update({"MSFT": 410.0})
        order_id = engine.submit(
            OrderRequest.limit("MSFT", "buy", 10, "405.00", time_in_force="gtc")
        )
        wait_until(engine, lambda: engine.book.get(order_id).status is OrderStatus.ACCEPTED)
        fake.fill(order_id, 3, 405.0)
        wait_until(engine, lambda: engine.book.get(order_id).filled == 3)

        fake.pause_stream = True  # what happens now is lost on the wire
        fake.drop_streams()
        fake.fill(order_id, 4, 404.5)
        fake.pause_stream = False
        wait_until(engine, lambda: engine.book.get(order_id).filled == 7)
        assert broker.connections >= 2

        fake.fill(order_id, 3, 404.0)  # the stream is back: the last fill arrives normally
        wait_until(engine, lambda: engine.book.get(order_id).status is OrderStatus.FILLED)
        # a re-sent fill (Alpaca repeating itself) changes nothing
        fake._event("fill", fake.order(order_id), execution_id="x", price="404.0", qty="3")
        time.sleep(0.2)
        engine.poll()
    finally:
        engine.stop()
    assert strategy.fills(order_id) == [(3, D("405.0")), (4, D("404.500000")), (3, D("404.0"))]
    assert engine.portfolio.position("MSFT").quantity == 10
    assert engine.fill_count == 3
    assert engine.portfolio.cash == D("100000") - D("1215.00") - D("1618.00") - D("1212.00")


def test_the_same_strategy_on_the_same_bars_sends_the_same_orders_in_backtest_and_live_paper(
    fake: FakeAlpacaTrading,
) -> None:
    symbols = ("AAPL", "MSFT")
    bounds = calendars.session_bounds("XNYS", MONDAY)
    source = SyntheticSource(exchange="XNYS", seed=7)
    bars = sorted(
        source.request_bars(list(symbols), bounds.open, bounds.close, "1m"),
        key=lambda b: (b.ts_event, b.symbol),
    )[:300]

    def orders_of(engine: Any) -> list[tuple]:
        return [
            (
                m.order.symbol,
                m.order.side.value,
                m.order.quantity,
                m.order.order_type.value,
                m.order.created_at,
            )
            for m in engine.book
        ]

    backtest = make_engine(SmaCrossover(fast=3, slow=8, quantity=5), symbols=symbols, fees=USFees())
    backtest.start()
    run_day(backtest, MONDAY, bars)
    backtest.stop()

    live = live_engine(fake, SmaCrossover(fast=3, slow=8, quantity=5))
    try:
        live.on_day_start(MONDAY)
        for bar in bars:
            fake.prices[bar.symbol] = bar.close
            at = bar.ts_event + timedelta(minutes=1)
            if live.clock.now() < at:
                live.clock.jump_to(at)
            live.on_bar(bar)
            wait_until(live, lambda: not live.book.open_orders())
        live.on_day_end(MONDAY)
    finally:
        live.stop()
    assert len(orders_of(backtest)) >= 6
    assert orders_of(live) == orders_of(backtest)
    assert all(m.status is OrderStatus.FILLED for m in live.book)


def test_alpaca_paper_does_not_fill_from_the_sessions_market_data(fake: FakeAlpacaTrading) -> None:
    engine = live_engine(fake)
    try:
        run_day(engine, MONDAY, [flat("AAPL", 0, 190.0)])  # bars reach the broker: no fills
        assert engine.fill_count == 0
    finally:
        engine.stop()
