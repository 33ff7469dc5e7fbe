"""session_configs/vn30_order_flow.json through ``TradingEngine.for_config``: synthetic HOSE
trades, bars and phases in event order; entries in continuous trading, exits in the ATC only
once the shares settled (T+2), VN fees and tax, the accounting identity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from core import calendars
from core.config import load_session_config
from core.models import PhaseChange
from core.phases import phase_windows
from daemon.clock import SimulatedClock
from daemon.trading.engine import TradingEngine
from plugins.manager import load_plugins
from plugins.sources.synthetic import SyntheticSource
from tests.daemon.trading.harness import window

CONFIG = Path(__file__).resolve().parents[3] / "session_configs" / "vn30_order_flow.json"


def test_the_vn_order_flow_config_trades_and_exits_in_atc_after_settlement() -> None:
    host = load_plugins(entry_points=False)
    config = load_session_config(CONFIG, **host.config_names()).with_overrides(
        end_date=date(2025, 5, 5)
    )
    engine = TradingEngine.for_config(
        config, host, clock=SimulatedClock(datetime(2025, 4, 1, tzinfo=UTC))
    )
    assert engine is not None
    engine.start()
    source = SyntheticSource(exchange="XSTC", seed=42)
    symbols = config.symbols
    days = calendars.sessions_in_range("XSTC", config.backtest_config.start_date, date(2025, 5, 5))
    for day in days:
        bounds = calendars.session_bounds("XSTC", day)
        events = [
            (t.ts_event, 1, engine.on_trade, t)
            for t in source.request_trades(symbols, bounds.open, bounds.close)
        ]
        events += [
            (b.ts_event + timedelta(minutes=1), 2, engine.on_bar, b)
            for b in source.request_bars(symbols, bounds.open, bounds.close, "1m")
        ]
        events += [
            (w.start, 0, engine.on_phase, PhaseChange("XSTC", w.start, w.phase.value))
            for w in phase_windows("XSTC", day)
            if bounds.open <= w.start <= bounds.close
        ]
        events.sort(key=lambda e: (e[0], e[1]))
        engine.on_day_start(window("XSTC", day))
        for ts, _, handler, event in events:
            if engine.clock.now() < ts:
                engine.clock.jump_to(ts)
            handler(event)
        engine.on_day_end(window("XSTC", day))
    engine.stop()

    buys = [m for m in engine.book if m.order.side.value == "buy"]
    sells = [m for m in engine.book if m.order.side.value == "sell"]
    assert buys and sells and all(m.order.order_type.value == "atc" for m in sells)
    assert all(m.order.quantity % 100 == 0 for m in engine.book)
    for sell in sells:
        buy_day = max(
            b.order.trading_date
            for b in buys
            if b.order.symbol == sell.order.symbol
            and b.order.trading_date < sell.order.trading_date
        )
        assert calendars.sessions_in_range("XSTC", buy_day, sell.order.trading_date)[2:], (
            "sold before T+2"
        )
    portfolio = engine.portfolio
    assert portfolio.taxes > 0 and portfolio.commissions > 0
    assert (
        portfolio.equity
        == portfolio.starting_cash
        + portfolio.realized_pnl
        + portfolio.unrealized_pnl
        - portfolio.fees
    )
