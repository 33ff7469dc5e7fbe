"""Every pre-trade rejection kind, stored with its reason; T+2 settlement; the loss limit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.orders import OrderRequest, OrderStatus, RejectReason
from core.store import Store
from daemon.risk import RiskLimits, TradingSessionGuard
from daemon.trading.checks import TradingLimits
from daemon.trading.ledger import TradingLedger
from plugins.brokers.fees import VietnamFees
from tests.daemon.trading.harness import MONDAY, Scripted, flat, make_engine, run_day

D = Decimal
TUESDAY, WEDNESDAY, THURSDAY = date(2024, 3, 5), date(2024, 3, 6), date(2024, 3, 7)


def _hose(strategy: Scripted, **kw):
    return make_engine(
        strategy,
        exchange="XSTC",
        symbols=("ACB", "FPT", "HPG"),
        cash=kw.pop("cash", 100_000_000),
        fees=VietnamFees(),
        **kw,
    )


@pytest.fixture
def ledger(sqlite_url: str):
    store = Store.from_url(sqlite_url)
    yield TradingLedger(store)
    store.dispose()


def _priced_day(engine, day=MONDAY, prices=(("ACB", 22_900), ("FPT", 120_000), ("HPG", 28_600))):
    run_day(engine, day, [flat(s, 0, p, exchange="XSTC", day=day) for s, p in prices])


CASES = [
    (OrderRequest.market("VIC", "buy", 100), RejectReason.UNKNOWN_SYMBOL, "'VIC' is not a symbol"),
    (OrderRequest.market("ACB", "buy", 0), RejectReason.INVALID_ORDER, "quantity must be"),
    (OrderRequest.limit("ACB", "buy", 100, 0), RejectReason.INVALID_ORDER, "needs limit_price > 0"),
    (
        OrderRequest.auction("ACB", "buy", 100, "mp"),
        RejectReason.MARKET_PHASE,
        "not accepted in phase pre_open",
    ),
    (
        OrderRequest.market("ACB", "buy", 150),
        RejectReason.LOT_SIZE,
        "not a multiple of the XSTC lot 100",
    ),
    (
        OrderRequest.limit("ACB", "buy", 100, 22_920),
        RejectReason.TICK_SIZE,
        "off the XSTC tick grid",
    ),
    (
        OrderRequest.limit("ACB", "buy", 100, 24_600),
        RejectReason.PRICE_BAND,
        "outside today's band 21300..24500",
    ),
    (
        OrderRequest.market("ACB", "sell", 100),
        RejectReason.SHORT_SELLING,
        "short selling is not allowed",
    ),
    (OrderRequest.market("FPT", "buy", 1_000), RejectReason.BUYING_POWER, "buying power"),
]


@pytest.mark.parametrize(("request_", "reason", "text"), CASES, ids=[c[1].value for c in CASES])
def test_each_rejection_is_stored_with_its_reason(request_, reason, text, ledger) -> None:
    strategy = Scripted()
    engine = _hose(strategy, ledger=ledger, run_id=7)
    engine.start()
    _priced_day(engine)  # reference prices: Tuesday's band is around Monday's close
    engine.on_day_start(_window(TUESDAY))
    engine.on_phase(_phase("pre_open"))
    order_id = engine.submit(request_)
    engine.poll()
    engine.stop()
    assert strategy.events(order_id) == ["rejected"]
    update = strategy.updates[-1]
    assert update.reason.startswith(f"{reason.value}: ") and text in update.reason
    (row,) = [r for r in ledger.orders(7) if r.order_id == order_id]
    assert (row.status, row.reject_reason) == ("rejected", reason.value)
    assert text in row.reason
    assert [e.status for e in ledger.order_events(7) if e.order_id == order_id] == ["rejected"]


def test_us_order_types_the_board_lacks_are_rejected() -> None:
    strategy = Scripted()
    engine = make_engine(strategy)
    engine.start()
    order_id = engine.submit(OrderRequest.auction("X", "buy", 1, "atc"))
    engine.poll()
    assert engine.book.get(order_id).reject_reason is RejectReason.ORDER_TYPE


LIMIT_CASES = [
    (
        TradingLimits(max_per_trade=D(4_000_000)),
        RejectReason.MAX_PER_TRADE,
        "exceeds max_per_trade",
    ),
    (
        TradingLimits(max_buying_power=D(3_000_000)),
        RejectReason.MAX_BUYING_POWER,
        "max_buying_power",
    ),
    (TradingLimits(max_per_symbol=D(4_000_000)), RejectReason.MAX_PER_SYMBOL, "ACB exposure"),
    (
        TradingLimits(max_open_positions=1),
        RejectReason.MAX_OPEN_POSITIONS,
        "max_open_positions is 1",
    ),
]


@pytest.mark.parametrize(
    ("limits", "reason", "text"), LIMIT_CASES, ids=[c[1].value for c in LIMIT_CASES]
)
def test_trading_config_limits_reject_with_the_amounts(limits, reason, text, ledger) -> None:
    strategy = Scripted()
    engine = _hose(strategy, limits=limits, ledger=ledger, run_id=8)
    engine.start()
    _priced_day(engine)
    first = engine.submit(OrderRequest.market("HPG", "buy", 100))  # 2.86 M VND: passes all
    run_day(engine, TUESDAY, [flat("HPG", 0, 28_600, exchange="XSTC", day=TUESDAY)])
    # ACB 100 at 22,900 = 2.29 M; 200 = 4.58 M
    second = engine.submit(OrderRequest.market("ACB", "buy", 200))
    engine.poll()
    engine.stop()
    assert engine.book.get(first).status is OrderStatus.FILLED
    managed = engine.book.get(second)
    assert managed.reject_reason is reason and text in managed.reason
    (row,) = [r for r in ledger.orders(8) if r.order_id == second]
    assert row.reject_reason == reason.value


def test_shares_bought_on_t_are_sellable_from_t_plus_2() -> None:
    strategy = Scripted()
    engine = _hose(strategy)
    engine.start()
    _priced_day(engine)
    engine.submit(OrderRequest.market("FPT", "buy", 200))
    run_day(engine, TUESDAY, [flat("FPT", 0, 121_000, exchange="XSTC", day=TUESDAY)])
    engine.on_day_start(_window(WEDNESDAY))
    rejected = engine.submit(OrderRequest.market("FPT", "sell", 200))
    engine.poll()
    managed = engine.book.get(rejected)
    assert managed.reject_reason is RejectReason.UNSETTLED
    assert "0 settled shares available (bought shares settle T+2)" in managed.reason
    engine.on_day_end(_window(WEDNESDAY))
    engine.on_day_start(_window(THURSDAY))  # T+2
    assert engine.portfolio.position("FPT").sellable == 200
    accepted = engine.submit(OrderRequest.market("FPT", "sell", 200))
    engine.poll()
    assert engine.book.get(accepted).status is OrderStatus.ACCEPTED


def test_settlement_days_zero_makes_bought_shares_sellable_at_once() -> None:
    engine = _hose(Scripted(), settlement_days=0)
    engine.start()
    _priced_day(engine)
    engine.submit(OrderRequest.market("FPT", "buy", 100))
    run_day(engine, TUESDAY, [flat("FPT", 0, 121_000, exchange="XSTC", day=TUESDAY)])
    assert engine.portfolio.position("FPT").sellable == 100


def test_open_sells_count_against_what_may_still_be_sold() -> None:
    engine = _hose(Scripted(), settlement_days=0)
    engine.start()
    _priced_day(engine)
    engine.submit(OrderRequest.market("FPT", "buy", 100))
    run_day(engine, TUESDAY, [flat("FPT", 0, 121_000, exchange="XSTC", day=TUESDAY)])
    engine.submit(OrderRequest.limit("FPT", "sell", 100, 125_000))
    second = engine.submit(OrderRequest.limit("FPT", "sell", 100, 125_000))
    engine.poll()
    assert engine.book.get(second).reject_reason is RejectReason.SHORT_SELLING


def test_us_short_sales_need_allow_short() -> None:
    for allow, expected in ((False, OrderStatus.REJECTED), (True, OrderStatus.ACCEPTED)):
        engine = make_engine(Scripted(), allow_short=allow)
        engine.start()
        run_day(engine, MONDAY, [flat("X", 0, 50.0)])
        order_id = engine.submit(OrderRequest.market("X", "sell", 10))
        engine.poll()
        assert engine.book.get(order_id).status is expected


def test_a_breached_loss_limit_stops_trading_and_later_orders_are_rejected() -> None:
    strategy = Scripted()
    engine = make_engine(strategy, settlement_days=0)
    engine.guard = TradingSessionGuard(
        "trading session 1", RiskLimits(loss_limit_amount=50.0), engine.clock
    )
    engine.start()
    run_day(engine, MONDAY, [flat("X", 0, 100.0)])
    engine.submit(OrderRequest.market("X", "buy", 10))
    resting = engine.submit(OrderRequest.limit("X", "buy", 1, "50.00", time_in_force="gtc"))
    run_day(engine, TUESDAY, [flat("X", 0, 100.0, day=TUESDAY), flat("X", 1, 94.0, day=TUESDAY)])
    engine.submit(OrderRequest.market("X", "sell", 10))  # realizes -60: limit 50 breached
    run_day(engine, WEDNESDAY, [flat("X", 0, 94.0, day=WEDNESDAY)])
    assert (
        engine.trading_stopped is not None
        and "loss 60.00 reached the limit 50.00" in engine.trading_stopped
    )
    later = engine.submit(OrderRequest.market("X", "buy", 1))
    engine.poll()
    assert engine.book.get(later).reject_reason is RejectReason.TRADING_STOPPED
    assert engine.guard.state.value == "stopped"
    assert engine.book.get(resting).status is OrderStatus.CANCELED


def _phase(name: str):
    from core.models import PhaseChange
    from tests.daemon.trading.harness import window

    return PhaseChange("XSTC", window("XSTC", TUESDAY).start, name)


def _window(day: date):
    from tests.daemon.trading.harness import window

    return window("XSTC", day)
