"""The simulated broker's fill model on scripted bars and trades, through the engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.orders import OrderRequest, OrderStatus
from tests.daemon.trading.harness import (
    MONDAY,
    Scripted,
    bar,
    flat,
    make_engine,
    run_day,
    submit,
    trade,
)

D = Decimal
FRIDAY = date(2024, 3, 1)


def _run(strategy: Scripted, bars, **kw):
    engine = make_engine(strategy, **kw)
    engine.start()
    run_day(engine, MONDAY, bars)
    engine.stop()
    return engine


def test_market_order_fills_at_the_next_bars_open_never_on_the_bar_it_was_sent_on() -> None:
    strategy = Scripted().at("X", 0, submit(OrderRequest.market("X", "buy", 10)))
    engine = _run(strategy, [bar("X", 0, 100, 101, 99, 100.5), bar("X", 1, 100.75, 102, 100, 101)])
    (order_id,) = strategy.ids
    assert strategy.fills(order_id) == [(10, D("100.75"))]
    assert strategy.events(order_id) == ["accepted", "fill"]
    fill_update = strategy.updates[-1]
    assert fill_update.fill.ts_event == bar("X", 1, 1, 1, 1, 1).ts_event
    assert engine.portfolio.cash == D("100000") - D("1007.50")


def test_an_order_sent_on_one_symbols_bar_does_not_fill_on_another_symbols_bar_of_that_minute() -> (
    None
):
    strategy = Scripted().at("A", 1, submit(OrderRequest.market("B", "buy", 1)))
    bars = [flat(s, m, p + m) for m in range(3) for s, p in (("A", 10), ("B", 20))]
    _run(strategy, bars, symbols=("A", "B"))
    assert strategy.fills() == [(1, D("22"))]  # B's minute-2 open, not its minute-1 bar


def test_limit_buy_fills_at_the_limit_on_touch_and_at_the_open_on_a_gap_through() -> None:
    strategy = Scripted().at(
        "X",
        0,
        submit(OrderRequest.limit("X", "buy", 5, "99.50")),
        submit(OrderRequest.limit("X", "buy", 5, "98.00")),
        submit(OrderRequest.limit("X", "buy", 5, "95.00")),
    )
    _run(
        strategy,
        [
            flat("X", 0, 100),
            bar("X", 1, 100.0, 100.2, 99.4, 100.0),  # touches 99.50
            bar("X", 2, 97.5, 98.5, 97.0, 98.0),  # opens below 98.00: gap through
        ],
    )
    touch, gap, far = strategy.ids
    assert strategy.fills(touch) == [(5, D("99.50"))]
    assert strategy.fills(gap) == [(5, D("97.5"))]
    assert strategy.fills(far) == []
    assert strategy.events(far) == ["accepted", "expired"]  # a day order at the close


def test_limit_sell_mirrors_on_the_high() -> None:
    strategy = Scripted().at(
        "X",
        1,
        submit(OrderRequest.limit("X", "sell", 5, "101.00")),
        submit(OrderRequest.limit("X", "sell", 5, "102.00")),
    )
    strategy.at("X", 0, submit(OrderRequest.market("X", "buy", 10)))
    _run(
        strategy,
        [
            flat("X", 0, 100),
            flat("X", 1, 100),
            bar("X", 2, 100.5, 101.2, 100.4, 101.0),
            bar("X", 3, 102.5, 103, 102, 102.5),
        ],
    )
    _, touch, gap = strategy.ids
    assert strategy.fills(touch) == [(5, D("101.00"))]
    assert strategy.fills(gap) == [(5, D("102.5"))]


def test_stops_trigger_on_the_range_and_fill_at_the_stop_or_the_gapped_open_plus_slippage() -> None:
    strategy = Scripted().at(
        "X",
        0,
        submit(OrderRequest.stop("X", "buy", 1, "101.00")),
        submit(OrderRequest.stop("X", "buy", 1, "103.00")),
    )
    _run(
        strategy,
        [
            flat("X", 0, 100),
            bar("X", 1, 100.5, 101.5, 100.0, 101.2),  # high reaches 101: fills at 101 + 1 tick
            bar("X", 2, 104.0, 104.5, 103.5, 104.0),  # opens above 103: fills at 104 + 1 tick
        ],
        broker_options={"slippage_ticks": 1},
    )
    touch, gap = strategy.ids
    assert strategy.fills(touch) == [(1, D("101.01"))]
    assert strategy.fills(gap) == [(1, D("104.01"))]


def test_stop_limit_fills_when_the_trigger_is_within_the_limit_else_rests_as_a_limit() -> None:
    strategy = Scripted().at(
        "X",
        0,
        submit(OrderRequest.stop_limit("X", "buy", 1, "101.00", "101.50")),
        submit(OrderRequest.stop_limit("X", "buy", 1, "101.00", "101.20")),
    )
    _run(
        strategy,
        [
            flat("X", 0, 100),
            bar("X", 1, 101.4, 102, 101.3, 101.8),  # gaps over the stop to 101.40
            bar("X", 2, 101.6, 101.7, 101.1, 101.3),  # back to 101.10: the second fills at 101.20
        ],
    )
    within, above = strategy.ids
    assert strategy.fills(within) == [(1, D("101.4"))]
    assert strategy.fills(above) == [(1, D("101.20"))]


def test_volume_participation_caps_each_bar_and_fills_the_rest_on_later_bars() -> None:
    strategy = Scripted().at("X", 0, submit(OrderRequest.market("X", "buy", 250)))
    engine = _run(
        strategy,
        [
            flat("X", 0, 10.0),
            flat("X", 1, 10.5, volume=1000),  # 10 % -> 100
            flat("X", 2, 11.0, volume=1000),  # 100
            flat("X", 3, 11.5, volume=5000),  # the last 50
        ],
        broker_options={"volume_participation": 0.1},
    )
    (order_id,) = strategy.ids
    assert strategy.fills(order_id) == [(100, D("10.5")), (100, D("11.0")), (50, D("11.5"))]
    assert strategy.events(order_id) == ["accepted", "partial_fill", "partial_fill", "fill"]
    managed = engine.book.get(order_id)
    assert managed.status is OrderStatus.FILLED
    assert managed.average_price == D("10.9")  # (1050 + 1100 + 575) / 250


def test_ioc_fills_what_the_first_bar_allows_and_cancels_the_remainder() -> None:
    strategy = Scripted().at(
        "X", 0, submit(OrderRequest.market("X", "buy", 300, time_in_force="ioc"))
    )
    engine = _run(
        strategy,
        [flat("X", 0, 10.0), flat("X", 1, 10.5, volume=1000), flat("X", 2, 11.0, volume=9000)],
        broker_options={"volume_participation": 0.1},
    )
    (order_id,) = strategy.ids
    assert strategy.fills(order_id) == [(100, D("10.5"))]
    assert strategy.events(order_id) == ["accepted", "partial_fill", "canceled"]
    assert "IOC remainder of 200" in engine.book.get(order_id).reason


def test_day_orders_expire_at_the_close_and_gtc_orders_rest_into_the_next_day() -> None:
    strategy = Scripted().at(
        "X",
        0,
        submit(OrderRequest.limit("X", "buy", 1, "90.00")),
        submit(OrderRequest.limit("X", "buy", 1, "90.00", time_in_force="gtc")),
    )
    engine = make_engine(strategy)
    engine.start()
    run_day(engine, MONDAY, [flat("X", 0, 100), flat("X", 1, 100)])
    day_order, gtc = strategy.ids
    assert strategy.events(day_order) == ["accepted", "expired"]
    assert engine.book.get(gtc).status is OrderStatus.ACCEPTED
    tuesday = date(2024, 3, 5)
    run_day(engine, tuesday, [bar("X", 0, 95, 96, 89.5, 92, day=tuesday)])
    engine.stop()
    assert strategy.fills(gtc) == [(1, D("90.00"))]


def test_hose_auction_orders_fill_at_the_opening_and_closing_prints_on_bars() -> None:
    strategy = Scripted().at("ACB", 1, submit(OrderRequest.auction("ACB", "buy", 100, "atc")))
    engine = make_engine(
        strategy, exchange="XSTC", symbols=("ACB",), cash=100_000_000, settlement_days=0
    )
    engine.start()
    run_day(
        engine, FRIDAY, [bar("ACB", 0, 22_900, 22_900, 22_900, 22_900, exchange="XSTC", day=FRIDAY)]
    )
    engine.on_phase(_phase("pre_open"))
    ato = engine.submit(OrderRequest.auction("ACB", "buy", 100, "ato"))
    run_day(
        engine,
        MONDAY,
        [
            bar("ACB", 0, 22_900, 23_000, 22_850, 22_950, exchange="XSTC"),
            bar("ACB", 1, 23_000, 23_100, 22_950, 23_050, exchange="XSTC"),
            bar("ACB", 2, 23_050, 23_100, 23_000, 23_100, exchange="XSTC"),
        ],
        phases={1: "continuous"},
    )
    engine.stop()
    (atc,) = strategy.ids
    assert engine.book.get(ato).average_price == D("22900")  # the first bar's open
    assert strategy.fills(atc) == [(100, D("23100"))]  # the last bar's close at the day's end
    atc_fill = next(u.fill for u in strategy.updates if u.order_id == atc and u.fill)
    assert atc_fill.ts_event == bar("ACB", 2, 1, 1, 1, 1, exchange="XSTC").ts_event


def test_on_streamed_trades_orders_fill_at_trade_prices_and_auctions_at_their_prints() -> None:
    strategy = Scripted(intervals=())
    engine = make_engine(
        strategy,
        exchange="XSTC",
        symbols=("FPT",),
        streams=("trades",),
        cash=500_000_000,
        settlement_days=0,
    )
    engine.start()
    run_day(engine, FRIDAY, [trade("FPT", 1000, 119_000, day=FRIDAY)])
    engine.on_phase(_phase("pre_open"))
    ato = engine.submit(OrderRequest.auction("FPT", "buy", 100, "ato"))
    events = [
        trade("FPT", 900, 120_000, session="ATO"),  # 09:15 opening print
        trade("FPT", 960, 120_500),
        trade("FPT", 1020, 119_800),
        trade("FPT", 1080, 119_500),
        trade("FPT", 19_800, 121_000, session="ATC"),  # 14:30 + closing print
    ]
    engine.on_day_start(_window(MONDAY))
    engine.clock.jump_to(events[0].ts_event)
    engine.on_trade(events[0])
    engine.on_phase(_phase("continuous"))
    market = engine.submit(OrderRequest.market("FPT", "buy", 100))
    limit = engine.submit(OrderRequest.limit("FPT", "buy", 100, 119_900))
    for event in events[1:4]:
        engine.clock.jump_to(event.ts_event)
        engine.on_trade(event)
    atc = engine.submit(OrderRequest.auction("FPT", "sell", 100, "atc"))
    engine.clock.jump_to(events[4].ts_event)
    engine.on_trade(events[4])
    engine.on_day_end(_window(MONDAY))
    engine.stop()
    price = {oid: engine.book.get(oid).average_price for oid in (ato, market, limit, atc)}
    assert price == {ato: D("120000"), market: D("120500"), limit: D("119900"), atc: D("121000")}


def _phase(name: str):
    from core.models import PhaseChange
    from tests.daemon.trading.harness import window

    return PhaseChange("XSTC", window("XSTC", MONDAY).start, name)


def _window(day):
    from tests.daemon.trading.harness import window

    return window("XSTC", day)
