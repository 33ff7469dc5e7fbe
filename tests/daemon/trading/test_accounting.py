"""Accounting over multi-day runs driven through the engine's subscriber methods: the identity
equity = starting cash + realized + unrealized - fees, the stored equity curve against an
independent recomputation from the stored fills and bars, exact Decimal fees, and a resumed
run that stores exactly what an uninterrupted one does (no order or fill twice)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from core import calendars
from core.orders import Fill, OrderRequest, OrderSide, quantize_money
from core.store import Store
from daemon.trading.ledger import TradingLedger
from plugins.brokers.fees import USFees, VietnamFees
from plugins.sources.synthetic import SyntheticSource
from plugins.strategies.sma_crossover import SmaCrossover
from tests.daemon.trading.harness import Scripted, make_engine, run_day

D = Decimal

MARKETS = {
    # exchange, symbols, days, fee model, strategy params
    "XNYS": (
        ("AAPL", "MSFT", "RIVN"),
        (date(2024, 7, 1), date(2024, 7, 5)),
        USFees(regulatory_fees=True),
    ),
    "XSTC": (("ACB", "FPT", "HPG"), (date(2025, 4, 24), date(2025, 5, 7)), VietnamFees()),
}


def _bars(exchange: str, symbols, days: list[date]) -> dict[date, list[Any]]:
    source = SyntheticSource(exchange=exchange, seed=42)
    out = {}
    for day in days:
        bounds = calendars.session_bounds(exchange, day)
        bars = source.request_bars(list(symbols), bounds.open, bounds.close, "1m")
        out[day] = sorted(bars, key=lambda b: (b.ts_event, b.symbol))
    return out


@pytest.fixture
def store(sqlite_url: str):
    with Store.from_url(sqlite_url) as store:
        yield store


def _recompute_equity(store: Store, ledger: TradingLedger, run_id: int, exchange: str, start: D):
    """The equity curve rebuilt from the stored fills and the stored bars alone."""
    currency = "USD" if exchange == "XNYS" else "VND"
    unit = D("0.01") if exchange == "XNYS" else D(1)
    fills = ledger.fills(run_id)
    points = ledger.equity_curve(run_id)
    symbols = sorted({f.symbol for f in fills})
    closes: dict[str, list[tuple[Any, float]]] = {}
    for symbol in symbols:
        bars = store.read_bars(symbol, "1m", points[0].ts - timedelta(days=10), points[-1].ts)
        closes[symbol] = [(b.ts_event + timedelta(minutes=1), b.close) for b in bars]
    recomputed = []
    for point in points:
        cash, held = start, defaultdict(int)
        for f in fills:
            if f.ts_event >= point.ts:
                continue
            notional = quantize_money(f.price * f.quantity, currency)
            signed = f.quantity if f.side == "buy" else -f.quantity
            cash += (-notional if signed > 0 else notional) - f.commission - f.tax
            held[f.symbol] += signed
        value = D(0)
        for symbol, quantity in held.items():
            if quantity:
                last = [c for ts, c in closes[symbol] if ts <= point.ts][-1]
                mark = (D(repr(last)) / unit).quantize(D(1), rounding=ROUND_HALF_UP) * unit
                value += quantize_money(mark * quantity, currency)
        recomputed.append((point.ts, cash + value))
    return recomputed


@pytest.mark.parametrize("exchange", sorted(MARKETS))
def test_multi_day_run_keeps_the_accounting_identity_and_its_stored_curve_recomputes(
    exchange: str, store: Store
) -> None:
    symbols, (first, last), fees = MARKETS[exchange]
    days = calendars.sessions_in_range(exchange, first, last)
    by_day = _bars(exchange, symbols, days)
    for bars in by_day.values():
        store.upsert_bars(bars)
    ledger = TradingLedger(store)
    strategy = SmaCrossover(fast=5, slow=20, allocation=0.2)
    cash = 100_000 if exchange == "XNYS" else 1_000_000_000
    engine = make_engine(
        strategy,
        exchange=exchange,
        symbols=symbols,
        cash=cash,
        fees=fees,
        ledger=ledger,
        run_id=1,
        broker_options={"slippage_ticks": 1},
    )
    engine.start()
    for day in days:
        run_day(engine, day, by_day[day])
        portfolio = engine.portfolio
        assert portfolio.equity == (
            portfolio.starting_cash
            + portfolio.realized_pnl
            + portfolio.unrealized_pnl
            - portfolio.fees
        )
    engine.stop()

    fills = ledger.fills(1)
    results = engine.results()
    assert results.fills == len(fills) > 20 and results.trades > 5
    assert results.rejected == 0 or exchange == "XSTC"  # T+2 may refuse a quick exit
    # final identity from the stored rows alone
    realized = sum((f.realized_pnl for f in fills), D(0))
    paid = sum((f.commission + f.tax for f in fills), D(0))
    unrealized = sum(
        (p.unrealized_pnl for p in ledger.positions(1) if p.trading_date == days[-1]), D(0)
    )
    final = ledger.equity_curve(1)[-1].equity
    assert final == D(cash) + realized + unrealized - paid
    assert paid > 0 and str(final) == str(quantize_money(final, portfolio.currency))
    # the stored curve, point by point, against the recomputation
    stored = [(p.ts, p.equity) for p in ledger.equity_curve(1)]
    assert len(stored) == len(days) * (390 if exchange == "XNYS" else 255) - (
        180 if exchange == "XNYS" else 0  # 2024-07-03 closes at 13:00
    )
    assert stored == _recompute_equity(store, ledger, 1, exchange, D(cash))


def test_vn_fees_and_tax_are_exact_decimals() -> None:
    model = VietnamFees()
    buy = Fill("f1", "o1", "HPG", OrderSide.BUY, 300, D("28650"), None)  # type: ignore[arg-type]
    sell = Fill("f2", "o1", "HPG", OrderSide.SELL, 300, D("28650"), None)  # type: ignore[arg-type]
    assert model.fees(buy) == (D("12893"), D("0"))  # 8,595,000 x 0.15 % = 12,892.5 -> half up
    assert model.fees(sell) == (D("12893"), D("8595"))  # + 0.1 % sales tax
    custom = VietnamFees(commission_rate="0.0025", min_commission=20_000)
    assert custom.fees(buy) == (D("21488"), D("0"))
    small = Fill("f3", "o1", "HPG", OrderSide.BUY, 100, D("10000"), None)  # type: ignore[arg-type]
    assert custom.fees(small) == (D("20000"), D("0"))


def test_us_fees_are_zero_commission_with_optional_regulatory_fees_rounded_up() -> None:
    sell = Fill("f1", "o1", "AAPL", OrderSide.SELL, 100, D("187.35"), None)  # type: ignore[arg-type]
    buy = Fill("f2", "o1", "AAPL", OrderSide.BUY, 100, D("187.35"), None)  # type: ignore[arg-type]
    assert USFees().fees(sell) == (D("0.00"), D("0"))
    regulated = USFees(regulatory_fees=True)
    # SEC 18,735 x 0.0000278 = 0.520833 -> 0.53; TAF 100 x 0.000166 = 0.0166 -> 0.02
    assert regulated.fees(sell) == (D("0.55"), D("0"))
    assert regulated.fees(buy) == (D("0.00"), D("0"))
    big = Fill("f3", "o1", "X", OrderSide.SELL, 60_000, D("10"), None)  # type: ignore[arg-type]
    assert regulated.fees(big) == (D("16.68") + D("8.30"), D("0"))  # TAF capped at 8.30


def test_fees_reach_the_cash_to_the_dong() -> None:
    strategy = Scripted()
    engine = make_engine(
        strategy,
        exchange="XSTC",
        symbols=("HPG",),
        cash=100_000_000,
        fees=VietnamFees(),
        settlement_days=0,
    )
    engine.start()
    run_day(engine, date(2024, 3, 4), [_flat("HPG", 0, 28_650)])
    engine.submit(OrderRequest.market("HPG", "buy", 300))
    run_day(engine, date(2024, 3, 5), [_flat("HPG", 0, 28_650, date(2024, 3, 5))])
    engine.submit(OrderRequest.market("HPG", "sell", 300))
    run_day(engine, date(2024, 3, 6), [_flat("HPG", 0, 29_000, date(2024, 3, 6))])
    engine.stop()
    # buy: -8,595,000 - 12,893; sell: +8,700,000 - 13,050 (commission) - 8,700 (tax)
    assert engine.portfolio.cash == D(100_000_000) - 8_595_000 - 12_893 + 8_700_000 - 13_050 - 8_700
    assert engine.portfolio.realized_pnl == D(105_000)
    assert engine.portfolio.fees == D(12_893 + 13_050 + 8_700)
    assert engine.portfolio.equity == engine.portfolio.cash


def _flat(symbol: str, minute: int, price: float, day: date = date(2024, 3, 4)):
    from tests.daemon.trading.harness import flat

    return flat(symbol, minute, price, exchange="XSTC", day=day)


class DailyRoundTrip:
    """Stateless across restarts: buys at minute 5 when flat, sells what is sellable at 200."""

    name = "daily_round_trip"
    description = "test strategy"
    intervals = ("1m",)

    def on_start(self, ctx: Any) -> None:
        self.ctx = ctx

    def on_bar(self, bar: Any) -> None:
        ctx = self.ctx
        minute = int(
            (bar.ts_event - calendars.session_bounds("XNYS", ctx.trading_date).open)
            / timedelta(minutes=1)
        )
        if (
            minute == 5
            and ctx.portfolio.quantity(bar.symbol) == 0
            and not ctx.open_orders(bar.symbol)
        ):
            ctx.submit(OrderRequest.market(bar.symbol, "buy", 7))
        elif minute == 200 and ctx.portfolio.quantity(bar.symbol) > 0:
            ctx.submit(OrderRequest.limit(bar.symbol, "sell", 7, str(round(bar.close * 1.002, 2))))


def _tables(ledger: TradingLedger, run_id: int) -> dict[str, list[tuple]]:
    prefix = f"sd{run_id}-"

    def plain(value: Any) -> Any:  # order ids carry the run id: compare them without it
        return value.replace(prefix, "") if isinstance(value, str) else value

    def rows(items: list[Any], drop: tuple[str, ...] = ()) -> list[tuple]:
        return [tuple(plain(v) for k, v in r._mapping.items() if k not in drop) for r in items]

    return {
        "orders": rows(ledger.orders(run_id), ("run_id",)),
        "events": rows(ledger.order_events(run_id), ("run_id",)),
        "fills": rows(ledger.fills(run_id), ("run_id",)),
        "positions": rows(ledger.positions(run_id), ("run_id",)),
        "equity": rows(ledger.equity_curve(run_id), ("run_id",)),
    }


def test_a_resumed_run_stores_exactly_what_an_uninterrupted_one_does(store: Store) -> None:
    symbols = ("AAPL", "MSFT")
    days = calendars.sessions_in_range("XNYS", date(2024, 7, 8), date(2024, 7, 11))
    by_day = _bars("XNYS", symbols, days)
    ledger = TradingLedger(store)

    whole = make_engine(
        DailyRoundTrip(),
        symbols=symbols,
        ledger=ledger,
        run_id=1,
        fees=USFees(regulatory_fees=True),
    )
    whole.start()
    for day in days:
        run_day(whole, day, by_day[day])
    whole.stop()

    first = make_engine(
        DailyRoundTrip(),
        symbols=symbols,
        ledger=ledger,
        run_id=2,
        fees=USFees(regulatory_fees=True),
    )
    first.start()
    for day in days[:2]:
        run_day(first, day, by_day[day])
    # crash in the middle of day 3: what it did that day never reached the store
    first.on_day_start(by_day[days[2]][0].ts_event.date())
    for b in by_day[days[2]][:800]:
        first.on_bar(b)
    del first
    resumed = make_engine(
        DailyRoundTrip(),
        symbols=symbols,
        ledger=ledger,
        run_id=2,
        fees=USFees(regulatory_fees=True),
    )
    resumed.start()
    assert resumed.portfolio.cash != D(100_000)  # rebuilt from the stored fills
    for day in days[2:]:
        run_day(resumed, day, by_day[day])
    resumed.stop()

    assert _tables(ledger, 2) == _tables(ledger, 1)
    assert len(ledger.fills(1)) == len({r.fill_id for r in ledger.fills(1)}) >= 14
    # flushing the same rows again changes nothing
    for managed in resumed.book:
        ledger.record_order(2, managed)
    ledger.flush()
    assert _tables(ledger, 2) == _tables(ledger, 1)
