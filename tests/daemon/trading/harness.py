"""A scripted harness for the trading engine: hand-written bars and trades fed through the
engine's subscriber methods (``on_day_start`` / ``on_bar`` / ``on_trade`` / ``on_phase`` /
``on_day_end``) with the engine clock at each event, a strategy that submits what the test
scripts and records every order update."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core import calendars
from core.models import Bar, PhaseChange, Trade
from core.orders import OrderRequest, OrderUpdate
from daemon.clock import SimulatedClock
from daemon.trading.checks import TradingLimits
from daemon.trading.engine import TradingEngine
from daemon.trading.rules import MarketRules
from plugins.brokers.fees import USFees, VietnamFees, ZeroFees
from plugins.brokers.simulated import SimulatedBroker

MONDAY = date(2024, 3, 4)
"""A regular XNYS and XSTC session."""

Action = Callable[[Any], Any]


@dataclass(frozen=True)
class Window:
    """A day window as the streamer passes it (only ``trading_date``/``start``/``end`` used)."""

    trading_date: date
    start: datetime
    end: datetime


def window(exchange: str, day: date) -> Window:
    bounds = calendars.session_bounds(exchange, day)
    return Window(day, bounds.open, bounds.close)


class Scripted:
    """A strategy that runs ``actions[(symbol, minute)]`` (callables of ``ctx``) on that bar,
    ``on_trade_actions[i]`` on the i-th trade, and records every order update."""

    name = "scripted"
    description = "Does what the test says"

    def __init__(self, intervals: Sequence[str] = ("1m",)) -> None:
        self.intervals = tuple(intervals)
        self.actions: dict[tuple[str, int], list[Action]] = {}
        self.phase_actions: dict[str, list[Action]] = {}
        self.updates: list[OrderUpdate] = []
        self.bars: list[Bar] = []
        self.trades: list[Any] = []
        self.ids: list[str] = []
        self.ctx: Any = None
        self.day_open: datetime | None = None

    def at(self, symbol: str, minute: int, *actions: Action) -> Scripted:
        self.actions.setdefault((symbol, minute), []).extend(actions)
        return self

    def on_phase_do(self, phase: str, *actions: Action) -> Scripted:
        self.phase_actions.setdefault(phase, []).extend(actions)
        return self

    def on_start(self, ctx: Any) -> None:
        self.ctx = ctx

    def on_day_start(self, trading_date: date) -> None:
        self.day_open = calendars.session_bounds(self.ctx.exchange, trading_date).open

    def on_bar(self, bar: Bar) -> None:
        self.bars.append(bar)
        minute = int((bar.ts_event - self.day_open) / timedelta(minutes=1))
        for action in self.actions.pop((bar.symbol, minute), ()):
            result = action(self.ctx)
            if isinstance(result, str):
                self.ids.append(result)

    def on_trade(self, trade: Any) -> None:
        self.trades.append(trade)

    def on_phase(self, change: Any) -> None:
        for action in self.phase_actions.pop(change.phase, ()):
            result = action(self.ctx)
            if isinstance(result, str):
                self.ids.append(result)

    def on_order(self, update: OrderUpdate) -> None:
        self.updates.append(update)

    def events(self, order_id: str) -> list[str]:
        return [u.event.value for u in self.updates if u.order_id == order_id]

    def fills(self, order_id: str | None = None) -> list[tuple[int, Decimal]]:
        return [
            (u.fill.quantity, u.fill.price)
            for u in self.updates
            if u.fill is not None and (order_id is None or u.order_id == order_id)
        ]


def submit(request: OrderRequest) -> Action:
    return lambda ctx: ctx.submit(request)


FEES = {"zero": ZeroFees, "us": USFees, "vn": VietnamFees}


def make_engine(
    strategy: Any,
    *,
    exchange: str = "XNYS",
    symbols: Sequence[str] = ("X",),
    streams: Sequence[str] = ("1m",),
    cash: Decimal | int = 100_000,
    fees: Any = None,
    limits: TradingLimits | None = None,
    ledger: Any = None,
    run_id: int | None = None,
    broker: Any = None,
    broker_options: dict[str, Any] | None = None,
    settlement_days: int | None = None,
    allow_short: bool = False,
    guard: Any = None,
) -> TradingEngine:
    rules = MarketRules.for_exchange(
        exchange, allow_short=allow_short, settlement_days=settlement_days
    )
    if fees is None:
        fees = ZeroFees(currency=rules.currency)
    clock = SimulatedClock(datetime(2024, 1, 2, tzinfo=UTC))
    return TradingEngine(
        strategy=strategy,
        broker=broker or SimulatedBroker(exchange, **(broker_options or {})),
        fee_model=fees,
        rules=rules,
        clock=clock,
        session_name="scripted",
        symbols=symbols,
        streams=streams,
        starting_cash=Decimal(cash),
        limits=limits,
        ledger=ledger,
        run_id=run_id,
        guard=guard,
    )


def bar(
    symbol: str,
    minute: int,
    open_: float,
    high: float,
    low: float,
    close: float,
    volume: float = 10_000,
    *,
    exchange: str = "XNYS",
    day: date = MONDAY,
    interval: str = "1m",
) -> Bar:
    start = calendars.session_bounds(exchange, day).open
    return Bar(symbol, interval, start + timedelta(minutes=minute), open_, high, low, close, volume)


def flat(symbol: str, minute: int, price: float, **kw: Any) -> Bar:
    return bar(symbol, minute, price, price, price, price, **kw)


def trade(
    symbol: str,
    seconds: float,
    price: float,
    volume: float = 100,
    *,
    exchange: str = "XSTC",
    day: date = MONDAY,
    side: str | None = None,
    session: str | None = "LO",
) -> Trade:
    start = calendars.session_bounds(exchange, day).open
    return Trade(
        symbol,
        start + timedelta(seconds=seconds),
        price,
        volume,
        side=side,
        trading_session=session,
    )


def run_day(
    engine: TradingEngine,
    day: date,
    events: Iterable[Any],
    *,
    phases: dict[int, str] | None = None,
    end_phases: Sequence[str] = (),
) -> None:
    """One trading day: ``events`` are bars and trades in time order; ``phases`` maps an event
    index to a phase change delivered before it, ``end_phases`` come after the last event. The
    clock is at each bar's close and at each trade's time when the engine sees it."""
    day_window = window(engine.rules.exchange, day)
    clock = engine.clock
    if clock.now() < day_window.start:
        clock.jump_to(day_window.start)
    engine.on_day_start(day_window)
    for index, event in enumerate(events):
        if phases and index in phases:
            ts = event.ts_event
            engine.on_phase(PhaseChange(engine.rules.exchange, ts, phases[index]))
        at = event.ts_event + (timedelta(minutes=1) if isinstance(event, Bar) else timedelta(0))
        if clock.now() < at:
            clock.jump_to(at)
        if isinstance(event, Bar):
            engine.on_bar(event)
        else:
            engine.on_trade(event)
    for phase in end_phases:
        engine.on_phase(PhaseChange(engine.rules.exchange, clock.now(), phase))
    if clock.now() < day_window.end:
        clock.jump_to(day_window.end)
    engine.on_day_end(day_window)
