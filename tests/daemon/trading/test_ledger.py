"""The trading ledger on SQLite and PostgreSQL: every table round-trips exactly (Decimal text),
writes are idempotent, and a run reads back for resuming."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.orders import OrderRequest, OrderStatus
from core.store import Store
from daemon.trading.ledger import TradingLedger
from plugins.brokers.fees import VietnamFees
from tests.daemon.trading.harness import MONDAY, Scripted, flat, make_engine, run_day

TUESDAY = date(2024, 3, 5)


def _run(ledger: TradingLedger, run_id: int):
    strategy = Scripted()
    engine = make_engine(
        strategy,
        exchange="XSTC",
        symbols=("HPG",),
        cash=50_000_000,
        fees=VietnamFees(),
        ledger=ledger,
        run_id=run_id,
    )
    engine.start()
    run_day(engine, MONDAY, [flat("HPG", 0, 28_650, exchange="XSTC")])
    engine.submit(OrderRequest.market("HPG", "buy", 300))
    engine.submit(OrderRequest.limit("HPG", "buy", 100, 26_000))
    engine.submit(OrderRequest.market("HPG", "buy", 150))  # lot size: rejected
    run_day(
        engine,
        TUESDAY,
        [flat("HPG", m, 28_700 + 50 * m, exchange="XSTC", day=TUESDAY) for m in range(3)],
    )
    engine.stop()
    return engine


def test_the_ledger_stores_every_table_exactly_and_idempotently(store_url: str) -> None:
    with Store.from_url(store_url) as store:
        ledger = TradingLedger(store)
        engine = _run(ledger, 3)
        orders = {r.order_id: r for r in ledger.orders(3)}
        assert [r.status for r in orders.values()] == ["filled", "expired", "rejected"]
        filled = orders["sd3-000001"]
        assert (filled.filled_quantity, filled.average_fill_price) == (300, Decimal("28700.000000"))
        assert orders["sd3-000003"].reject_reason == "lot_size"
        events = [(e.order_id, e.seq, e.status) for e in ledger.order_events(3)]
        assert events == [
            ("sd3-000001", 0, "submitted"),
            ("sd3-000001", 1, "accepted"),
            ("sd3-000001", 2, "filled"),
            ("sd3-000002", 0, "submitted"),
            ("sd3-000002", 1, "accepted"),
            ("sd3-000002", 2, "expired"),
            ("sd3-000003", 0, "rejected"),
        ]
        (fill,) = ledger.fills(3)
        assert (fill.quantity, fill.price, fill.commission, fill.tax) == (
            300,
            Decimal("28700"),
            Decimal("12915"),
            Decimal("0"),
        )
        (position,) = [p for p in ledger.positions(3) if p.trading_date == TUESDAY]
        assert (position.quantity, position.sellable, position.mark) == (300, 0, Decimal("28800"))
        assert position.cost_basis == Decimal("8610000")
        curve = ledger.equity_curve(3)
        assert (
            curve[-1].equity == engine.portfolio.equity == Decimal("50000000") - 12915 + 300 * 100
        )
        before = {
            name: getattr(ledger, name)(3)
            for name in ("orders", "order_events", "fills", "positions", "equity_curve")
        }
        # the same rows again (a retried flush, a repeated report): nothing changes
        for managed in engine.book:
            ledger.record_order(3, managed)
        for point in engine.equity_points:
            ledger.record_equity(3, point)
        ledger.record_fill(3, *_stored_fill(ledger.load(3)))
        ledger.flush()
        after = {name: getattr(ledger, name)(3) for name in before}
        assert after == before
        stored = ledger.load(3)
        assert [m.status for m in stored.orders] == [
            OrderStatus.FILLED,
            OrderStatus.EXPIRED,
            OrderStatus.REJECTED,
        ]
        assert stored.last_sequence("sd3-") == 3
        assert [f.fill_id for f, *_ in stored.fills] == ["sd3-000001.1"]


def _stored_fill(stored):
    fill, commission, tax, trading_date = stored.fills[0]
    return fill, commission, tax, Decimal(999), trading_date  # a different realized P&L: ignored
