"""The trading engine: one strategy, one broker, one portfolio, driven by market events.

:class:`TradingEngine` is a stream subscriber: the session's streamer calls, in event order,
``on_day_start(window)``, ``on_bar(bar)`` (streamed and generated intervals, engine clock at
the event), ``on_trade(trade)``, ``on_quote(quote)``, ``on_phase(change)``,
``on_day_end(window)``; ``start()`` before the first and ``stop()`` after the last. It never
reads the wall clock (``clock.now()`` is the engine's clock) and never touches the store
except through its ledger. The same object runs backtests (``simulated`` broker) and live
sessions (``alpaca_paper``, or ``simulated`` on a live feed).

Per event, in this order:

1. streamed-interval bars (and trades) update the marks; when the bar time moves on, the
   equity point of the previous bar close is recorded (cash + positions at the marks);
2. the broker sees the event (a simulated broker fills resting orders on it);
3. the strategy sees it (bars of the intervals it asked for; trades, quotes, phases if it
   implements those callbacks);
4. broker reports are applied in the order they were made — order status, fills into the
   portfolio (fees from the fee model when the broker reports none), the ledger — and each
   is passed to the strategy's ``on_order``; orders the strategy sends from there are handled
   in the same loop, never recursively.

Orders the strategy submits go through ``daemon.trading.checks`` first; a rejected order is
stored with its reason and reported through ``on_order``. An exception raised by the strategy
becomes :class:`~core.errors.StrategyError` (traceback logged): the session stops and its run
is marked failed; the daemon does not. A breached loss limit (``daemon.risk``) stops trading
(open orders cancelled, later orders rejected ``trading_stopped``); the session streams on.

Live brokers may report from another thread: reports wait in a thread-safe queue until the
engine's next event (or ``poll()``). The ledger is written at every day's end in a backtest,
and after every order and report in a live session (a restart then finds every order it sent).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn

from core.errors import (
    ConfigError,
    InvalidTransition,
    RiskLimitError,
    SessionError,
    StrategyError,
)
from core.orders import (
    Order,
    OrderEvent,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
    RejectReason,
    to_decimal,
)
from core.timeframes import SUPPORTED_INTERVALS, parse_interval
from daemon.risk import RiskLimits, TradingSessionGuard
from daemon.trading.checks import OrderRejected, TradingLimits, check_order
from daemon.trading.context import BrokerContextImpl, StrategyContextImpl
from daemon.trading.ledger import TradingLedger
from daemon.trading.orders import ManagedOrder, OrderBook
from daemon.trading.portfolio import Portfolio
from daemon.trading.rules import NO_CANCEL_PHASES, MarketRules
from daemon.trading.statistics import RoundTrip, TradingResults, summarize

log = logging.getLogger(__name__)

ZERO = Decimal(0)


def _import_statistics() -> None:
    """Import the statistics library (scipy underneath: about a second) while the run streams,
    so the summary at the end does not wait for it."""
    try:
        import empyrical  # noqa: F401
    except Exception:  # the summary will raise it where it matters
        log.debug("background import of empyrical failed", exc_info=True)


def _trading_date(window: Any) -> date:
    """The exchange-local date of a day window (``trading_date`` or ``date``), or a date."""
    if isinstance(window, date) and not isinstance(window, datetime):
        return window
    for attribute in ("trading_date", "date"):
        value = getattr(window, attribute, None)
        if isinstance(value, date):
            return value
    raise TypeError(f"{window!r} has no trading_date")


def _window_end(window: Any) -> datetime | None:
    for attribute in ("end", "close"):
        value = getattr(window, attribute, None)
        if isinstance(value, datetime):
            return value
    return None


class DeferredClock:
    """The clock of an owner that makes it later (the coordinator creates its clock when the
    first day opens): ``now()`` asks the owner's ``clock`` at call time."""

    def __init__(self, owner: Any) -> None:
        self._owner = owner

    def now(self) -> datetime:
        return self._owner.clock.now()  # type: ignore[no-any-return]


@dataclasses.dataclass(frozen=True, slots=True)
class EquityPoint:
    """Account value at ``ts`` (a streamed bar's close, or the day's end)."""

    ts: datetime
    trading_date: date
    cash: Decimal
    equity: Decimal
    realized_pnl: Decimal
    fees: Decimal


class TradingEngine:
    """Runs one strategy against one broker (see the module docstring).

    ``clock``: the engine clock (``now()``); ``rules``: the exchange's ``MarketRules``;
    ``streams``: the session's streams (intervals and ``trades``/``quotes``...);
    ``starting_cash``: the account at start for simulated brokers (live brokers report
    theirs); ``limits``: ``trading_config`` limits; ``ledger``: where orders, fills, positions
    and the equity curve are stored (None: nothing stored); ``run_id`` and
    ``order_id_prefix`` make order ids unique (``<prefix><seq>``, deterministic within a
    run; ``{run}`` in the prefix becomes the run id); ``indicators(name, symbol)`` serves ``ctx.indicator``; ``session_data`` is shown as
    ``ctx.session_data``; ``guard``: the loss-limit/duration guard (``daemon.risk``).
    """

    def __init__(
        self,
        *,
        strategy: Any,
        broker: Any,
        fee_model: Any,
        rules: MarketRules,
        clock: Any,
        session_name: str,
        symbols: Sequence[str],
        streams: Sequence[str],
        starting_cash: Decimal,
        mode: str = "backtest",
        limits: TradingLimits | None = None,
        ledger: TradingLedger | None = None,
        run_id: int | None = None,
        order_id_prefix: str | None = None,
        indicators: Callable[[str, str], float | None] | None = None,
        session_data: Any = None,
        guard: Any = None,
    ) -> None:
        self.strategy = strategy
        self.strategy_name = str(getattr(strategy, "name", type(strategy).__name__))
        self.broker = broker
        self.fee_model = fee_model
        self.rules = rules
        self.clock = clock
        self.session_name = session_name
        self.mode = mode
        self.symbols = tuple(symbols)
        self._symbol_set = frozenset(self.symbols)
        self.streams = tuple(streams)
        intervals = sorted(
            (s for s in self.streams if s in SUPPORTED_INTERVALS),
            key=lambda label: parse_interval(label).seconds,
        )
        self.streamed_interval: str | None = intervals[0] if intervals else None
        self._bar_span = (
            parse_interval(self.streamed_interval).timedelta
            if self.streamed_interval
            else timedelta(0)
        )
        self.limits = limits or TradingLimits()
        self.ledger = ledger
        self.run_id = run_id
        self._prefix_base = order_id_prefix
        self.order_id_prefix = self._order_prefix()
        self.indicators = indicators
        self.session_data = session_data
        self.guard = guard
        self.portfolio = Portfolio(
            currency=rules.currency,
            starting_cash=starting_cash,
            unit=rules.price_unit,
            calendar=rules.exchange,
            settlement_days=rules.settlement_days,
            max_buying_power=self.limits.max_buying_power,
        )
        self.book = OrderBook()
        self.trading_date: date | None = None
        self.phase: str | None = None
        self.started = False
        self.stopped = False
        self.failed: BaseException | None = None
        self.trading_stopped: str | None = None
        self.equity_points: list[EquityPoint] = []
        self.daily_equity: dict[date, Decimal] = {}
        self.round_trips: list[RoundTrip] = []
        self.fill_count = 0
        self._open_trips: dict[str, RoundTrip] = {}
        self._reports: deque[tuple[OrderUpdate, bool]] = deque()
        self._fill_ids: set[str] = set()
        self._seq = 0
        self._bar_ts: datetime | None = None
        self._points_today = 0
        self._draining = False
        self._strategy_intervals: frozenset[str] = frozenset()
        self._strategy_on_bar: Callable[[Any], None] | None = None
        self._callbacks: dict[str, Callable[..., Any] | None] = {}
        self._reference: dict[str, float] = {}
        self._day_last: dict[str, float] = {}
        self._trip_fees: dict[str, Decimal] = {}
        self._run_of: Callable[[], int | None] | None = None

    @classmethod
    def for_config(
        cls,
        config: Any,
        host: Any,
        *,
        clock: Any,
        store: Any = None,
        run_id: int | None = None,
        indicators: Callable[[str, str], float | None] | None = None,
        session_data: Any = None,
    ) -> TradingEngine | None:
        """The engine a ``core.config.SessionConfig`` asks for (None without a strategy).

        ``host`` is the ``PluginHost`` (strategy, broker and fee model by name); ``store``
        (optional) receives the ledger; ``run_id`` identifies the run. A plugin refusing its
        parameters becomes a one-line ``ConfigError`` naming the config field.
        """
        if config.strategy is None:
            return None
        trading = config.trading_config
        rules = MarketRules.for_exchange(
            config.calendar_name,
            allow_short=trading.allow_short,
            settlement_days=trading.settlement_days,
        )

        def build(field: str, factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return factory(*args, **kwargs)
            except (TypeError, ValueError) as error:
                raise ConfigError(f"{field}: {' '.join(str(error).split())[:200]}") from None

        strategy = build(
            "strategy.params", host.create_strategy, config.strategy.type, **config.strategy.params
        )
        broker = build(
            "api_config.trade_api_options",
            host.create_broker,
            config.broker_name,
            exchange=config.calendar_name,
            **config.api_config.trade_api_options,
        )
        fees = config.fees
        fee_model = build(
            "trading_config.fees",
            host.create_fee_model,
            fees.type,
            currency=rules.currency,
            **fees.params,
        )
        guard = None
        risk = RiskLimits.from_config(trading)
        if risk.max_loss is not None or risk.max_duration is not None:
            guard = TradingSessionGuard(f"trading of {config.session_name}", risk, clock)
        prefix = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in config.session_name)
        return cls(
            strategy=strategy,
            broker=broker,
            fee_model=fee_model,
            rules=rules,
            clock=clock,
            session_name=config.session_name,
            symbols=config.symbols,
            streams=config.session_data_config.streams,
            starting_cash=to_decimal(config.starting_cash),
            mode=config.mode,
            limits=TradingLimits.from_config(trading),
            ledger=TradingLedger(store) if store is not None else None,
            run_id=run_id,
            order_id_prefix=f"{prefix[:60]}-{{run}}-",
            indicators=indicators,
            session_data=session_data,
            guard=guard,
        )

    @classmethod
    def for_run(cls, coordinator: Any, store: Any = None) -> TradingEngine | None:
        """The engine of a ``SessionCoordinator``'s config (None without a strategy): the
        clock, run id, session data and streaming indicators are the coordinator's, looked up
        when used (its clock and run exist only once the run starts)."""
        config = coordinator.config
        if config.strategy is None:
            return None
        engine = cls.for_config(
            config,
            coordinator.host,
            clock=DeferredClock(coordinator),
            store=store,
            indicators=lambda name, symbol: coordinator.streamer.indicator_value(name, symbol),
            session_data=coordinator.session_data,
        )
        assert engine is not None
        engine._run_of = lambda: coordinator.run_id
        return engine

    def summary(self) -> dict[str, Any] | None:
        """The run's trading results as JSON-able data (None before the engine started)."""
        return self.results().to_dict() if self.started else None

    # -- lifecycle ---------------------------------------------------------------------------

    def _order_prefix(self) -> str:
        run = self.run_id if self.run_id is not None else 0
        if self._prefix_base is None:
            return f"sd{self.run_id}-" if self.run_id is not None else "sd-"
        return self._prefix_base.replace("{run}", str(run))

    def start(self, run_id: int | None = None) -> None:
        """Start the broker (reconciling with its account), then the strategy. ``run_id``
        (when the run is only known now) identifies the run in the ledger and order ids."""
        if self.started:
            raise SessionError(f"trading engine of {self.session_name} is already started")
        if run_id is not None:
            self.run_id = run_id
            self.order_id_prefix = self._order_prefix()
        self.started = True
        self._check_strategy_intervals()
        if self.ledger is not None and self.run_id is not None:
            self._restore(self.ledger.load(self.run_id))
        snapshot = self.broker.start(BrokerContextImpl(self))
        self._reconcile(snapshot)
        if self.guard is not None:
            self.guard.start()
        self._callbacks = {
            name: getattr(self.strategy, name, None)
            for name in (
                "on_trade",
                "on_quote",
                "on_phase",
                "on_order",
                "on_day_start",
                "on_day_end",
                "on_stop",
            )
        }
        self._callbacks = {k: v for k, v in self._callbacks.items() if callable(v)}
        log.info(
            "strategy %s on %s: bars %s, callbacks %s",
            self.strategy_name,
            self.session_name,
            ", ".join(sorted(self._strategy_intervals)) or "none",
            ", ".join(sorted(self._callbacks)) or "none",
        )
        self._strategy_on_bar = self.strategy.on_bar
        threading.Thread(target=_import_statistics, name="import-empyrical", daemon=True).start()
        self._call(self.strategy.on_start, StrategyContextImpl(self))
        self._drain()

    def stop(self) -> None:
        """Stop the strategy and the broker; store what is left. Idempotent."""
        if self.stopped or not self.started:
            return
        self.stopped = True
        try:
            if self.failed is None and "on_stop" in self._callbacks:
                self._call(self._callbacks["on_stop"])
                self._drain()
        finally:
            self.broker.stop()
            self._drain_quietly()
            if self.guard is not None and self.guard.state.value == "active":
                self.guard.complete()
            if self.ledger is not None:
                self.ledger.flush()

    def poll(self) -> None:
        """Apply broker reports that arrived since the last event (live brokers)."""
        if self._reports:
            self._drain()

    # -- events (the stream subscriber seam) --------------------------------------------------

    def on_day_start(self, window: Any) -> None:
        if not self.started:  # the first day: the clock and the run exist now
            self.start(self._run_of() if self._run_of is not None else None)
        trading_date = _trading_date(window)
        self.trading_date = trading_date
        self._points_today = 0
        self._reference.update(self._day_last)
        self._day_last = {}
        self.portfolio.settle(trading_date)
        self.broker.on_day_start(trading_date)
        self._drain()
        callback = self._callbacks.get("on_day_start")
        if callback is not None:
            self._call(callback, trading_date)
            self._drain()

    def on_bar(self, bar: Any) -> None:
        interval = bar.interval
        if interval == self.streamed_interval:
            ts = bar.ts_event
            if ts != self._bar_ts:
                if self._bar_ts is not None:
                    self._record_point(self._bar_ts + self._bar_span)
                self._bar_ts = ts
            self.portfolio.last[bar.symbol] = self._day_last[bar.symbol] = bar.close
            self.broker.on_bar(bar)
            if self._reports:
                self._drain()
        if interval in self._strategy_intervals:
            try:
                self._strategy_on_bar(bar)  # type: ignore[misc]
            except Exception as error:
                self._strategy_failed(error, "on_bar")
            if self._reports:
                self._drain()

    def on_trade(self, trade: Any) -> None:
        raw = getattr(trade, "trade", trade)  # a ClassifiedTrade carries the trade inside
        if self.streamed_interval is None:
            self.portfolio.last[raw.symbol] = self._day_last[raw.symbol] = raw.price
        self.broker.on_trade(raw)
        if self._reports:
            self._drain()
        callback = self._callbacks.get("on_trade")
        if callback is not None:
            self._call(callback, trade)
            if self._reports:
                self._drain()

    def on_quote(self, quote: Any) -> None:
        self.broker.on_quote(quote)
        callback = self._callbacks.get("on_quote")
        if callback is not None:
            self._call(callback, quote)
        if self._reports:
            self._drain()

    def on_phase(self, change: Any) -> None:
        self.phase = str(getattr(change, "phase", change))
        self.broker.on_phase(change)
        self._drain()
        callback = self._callbacks.get("on_phase")
        if callback is not None:
            self._call(callback, change)
            self._drain()

    def on_day_end(self, window: Any) -> None:
        trading_date = _trading_date(window)
        callback = self._callbacks.get("on_day_end")
        if callback is not None:
            self._call(callback, trading_date)
            self._drain()
        self.broker.on_day_end(trading_date)
        self._drain()
        if self._bar_ts is not None:
            self._record_point(self._bar_ts + self._bar_span)
            self._bar_ts = None
        elif self._points_today == 0:
            self._record_point(_window_end(window) or self.clock.now())
        self.daily_equity[trading_date] = self.equity_points[-1].equity
        if self.ledger is not None and self.run_id is not None:
            self.ledger.record_positions(
                self.run_id, trading_date, self.portfolio.snapshots(), self.portfolio
            )
            self.ledger.flush()
        if self.guard is not None and self.trading_stopped is None and self.guard.check_time():
            self._stop_trading("max_duration_minutes reached")

    # -- orders (what the strategy context calls) ---------------------------------------------

    def submit(self, request: OrderRequest) -> str:
        """Check ``request``; send it to the broker or store it rejected. Returns its id."""
        if not isinstance(request, OrderRequest):
            raise StrategyError(
                f"strategy {self.strategy_name} submitted {request!r}; submit an "
                "core.orders.OrderRequest (OrderRequest.market(...), .limit(...) ...)"
            )
        self._seq += 1
        order_id = f"{self.order_id_prefix}{self._seq:06d}"
        now = self.clock.now()
        order = Order(order_id, request, now, self.trading_date)
        reserved = ZERO
        if self.trading_stopped is not None:
            rejection: tuple[RejectReason, str] | None = (
                RejectReason.TRADING_STOPPED,
                f"trading stopped: {self.trading_stopped}",
            )
        else:
            rejection, reserved = self._check(request)
        if rejection is not None:
            code, message = rejection
            managed = ManagedOrder(order, OrderStatus.REJECTED, reason=message, reject_reason=code)
            self.book.add(managed)
            self._store_order(managed)
            log.info("order %s rejected (%s): %s", order_id, code.value, message)
            self._reports.append(
                (
                    OrderUpdate(
                        order_id, OrderEvent.REJECTED, now, reason=f"{code.value}: {message}"
                    ),
                    True,
                )
            )
            return order_id
        managed = ManagedOrder(order, reserved=reserved)
        self.portfolio.reserved += reserved
        self.book.add(managed)
        self._store_order(managed)
        if self.mode == "live" and self.ledger is not None:
            self.ledger.flush()  # stored before the venue hears of it
        self.broker.submit(order)
        return order_id

    def cancel(self, order_id: str) -> bool:
        """Ask the broker to cancel; False when the order is final or the phase forbids it."""
        managed = self.book.get(order_id)
        if managed is None or not managed.is_open:
            return False
        if self.rules.vietnamese and self.phase in NO_CANCEL_PHASES:
            log.warning(
                "order %s not cancelled: no cancels during the %s call", order_id, self.phase
            )
            return False
        if managed.status is not OrderStatus.PENDING_CANCEL:
            managed.apply(OrderEvent.PENDING_CANCEL, self.clock.now())
            self._store_order(managed)
        self.broker.cancel(order_id)
        return True

    def replace(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Any = None,
        stop_price: Any = None,
    ) -> str | None:
        """Replace an open order (checks run on the new order); return the new id or None."""
        managed = self.book.get(order_id)
        if managed is None or not managed.is_open or managed.status is OrderStatus.PENDING_CANCEL:
            return None
        if self.rules.vietnamese and self.phase in NO_CANCEL_PHASES:
            return None
        old = managed.order.request
        request = dataclasses.replace(
            old,
            quantity=quantity if quantity is not None else managed.remaining,
            limit_price=limit_price if limit_price is not None else old.limit_price,
            stop_price=stop_price if stop_price is not None else old.stop_price,
        )
        self.book.closed(managed)  # the old order does not count against the new one
        self.portfolio.reserved -= managed.reserved
        rejection, reserved = self._check(request)
        self.book.add(managed)
        self.portfolio.reserved += managed.reserved
        if rejection is not None:
            log.info("replace of %s refused (%s): %s", order_id, *rejection)
            return None
        self._seq += 1
        new_id = f"{self.order_id_prefix}{self._seq:06d}"
        new_order = Order(new_id, request, self.clock.now(), self.trading_date, replaces=order_id)
        new_managed = ManagedOrder(new_order, reserved=reserved)
        self.portfolio.reserved += reserved
        self.book.add(new_managed)
        self._store_order(new_managed)
        self.broker.replace(managed.order, new_order)
        return new_id

    def flatten(self, symbol: str | None = None) -> list[str]:
        """Cancel open orders and close positions (of ``symbol`` or all) with market orders."""
        for managed in self.book.open_orders(symbol):
            self.cancel(managed.order_id)
        ids = []
        for position in list(self.portfolio.open_positions()):
            if symbol is not None and position.symbol != symbol:
                continue
            quantity = position.quantity
            if quantity > 0:
                quantity = min(quantity, position.sellable)
                side = OrderSide.SELL
            else:
                quantity, side = -quantity, OrderSide.BUY
            if quantity > 0:
                ids.append(
                    self.submit(
                        OrderRequest(
                            position.symbol, side, quantity, OrderType.MARKET, tag="flatten"
                        )
                    )
                )
        return ids

    def report(self, update: OrderUpdate) -> None:
        """A broker's report (any thread); applied at the next event."""
        self._reports.append((update, False))

    # -- results -----------------------------------------------------------------------------

    def results(self) -> TradingResults:
        return summarize(self)

    # -- internals ---------------------------------------------------------------------------

    def _check_strategy_intervals(self) -> None:
        wanted = tuple(getattr(self.strategy, "intervals", ()) or ())
        streamed = [s for s in self.streams if s in SUPPORTED_INTERVALS]
        missing = [i for i in wanted if i not in streamed]
        if missing:
            raise ConfigError(
                f"strategy.params: {self.strategy_name} wants {', '.join(missing)} bars but "
                f"session_data_config.streams has {', '.join(streamed) or 'no bar interval'}; "
                f"add {', '.join(repr(m) for m in missing)} to the streams"
            )
        self._strategy_intervals = frozenset(wanted)

    def _check(self, request: OrderRequest) -> tuple[tuple[RejectReason, str] | None, Decimal]:
        """``(None, reservation)`` for an order that may go, ``((reason, message), 0)`` else."""
        try:
            reserved = check_order(
                request,
                rules=self.rules,
                limits=self.limits,
                portfolio=self.portfolio,
                book=self.book,
                symbols=self._symbol_set,
                phase=self.phase,
                reference=self._reference.get(request.symbol),
                fee_model=self.fee_model,
            )
        except OrderRejected as rejected:
            return (rejected.reason, rejected.message), ZERO
        return None, reserved

    def _call(self, function: Callable[..., Any] | None, *args: Any) -> Any:
        if function is None:
            return None
        try:
            return function(*args)
        except Exception as error:
            self._strategy_failed(error, getattr(function, "__name__", "callback"))

    def _strategy_failed(self, error: Exception, where: str) -> NoReturn:
        """Log the traceback and stop the session with a one-line ``StrategyError``."""
        if isinstance(error, StrategyError):
            raise error
        self.failed = error
        log.error(
            "strategy %s failed in %s at %s; stopping the session",
            self.strategy_name,
            where,
            self.clock.now().isoformat(),
            exc_info=error,
        )
        raise StrategyError(
            f"strategy {self.strategy_name} raised {type(error).__name__} in {where}: "
            f"{' '.join(str(error).split())[:200]} (traceback in the log)"
        ) from error

    def _drain(self) -> None:
        if self._draining:
            return
        self._draining = True
        try:
            reports = self._reports
            while reports:
                update, local = reports.popleft()
                if local or self._apply(update):
                    callback = self._callbacks.get("on_order")
                    if callback is not None:
                        self._call(callback, update)
        finally:
            self._draining = False
        if self.mode == "live" and self.ledger is not None:
            self.ledger.flush()  # live: an order or fill is stored as soon as it happens

    def _drain_quietly(self) -> None:
        """Apply what is left at stop without calling the strategy."""
        while self._reports:
            update, local = self._reports.popleft()
            if not local:
                self._apply(update)

    def _apply(self, update: OrderUpdate) -> bool:
        """Apply one broker report; False when it changes nothing (duplicate, unknown)."""
        managed = self.book.get(update.order_id)
        if managed is None:
            log.warning("report for unknown order %s ignored: %s", update.order_id, update.event)
            return False
        if update.broker_order_id:
            managed.broker_order_id = update.broker_order_id
        fill = update.fill
        if fill is not None and self._is_duplicate_fill(managed, update):
            log.debug("duplicate fill %s of %s ignored", fill.fill_id, update.order_id)
            return False
        try:
            changed = managed.apply(update.event, update.ts_event, update.reason)
        except InvalidTransition as error:
            log.error("broker report ignored: %s", error)
            return False
        if fill is not None:
            self._book_fill(managed, fill)
        if not managed.is_open:
            self.book.closed(managed)
            self.portfolio.reserved -= managed.reserved
            managed.reserved = ZERO
            if update.event is OrderEvent.REJECTED:
                managed.reject_reason = RejectReason.BROKER
        self._store_order(managed)
        return changed or fill is not None

    def _is_duplicate_fill(self, managed: ManagedOrder, update: OrderUpdate) -> bool:
        """A fill seen before: same fill id, or a cumulative quantity the order already has."""
        assert update.fill is not None
        if update.fill.fill_id in self._fill_ids:
            return True
        return update.filled_quantity is not None and update.filled_quantity <= managed.filled

    def _book_fill(self, managed: ManagedOrder, fill: Any) -> None:
        self._fill_ids.add(fill.fill_id)
        commission, tax = fill.commission, fill.tax
        if commission is None or tax is None:
            commission, tax = self.fee_model.fees(fill)
        symbol = fill.symbol
        before = self.portfolio.positions.get(symbol)
        held_before = before.quantity if before is not None else 0
        realized = self.portfolio.apply_fill(fill, commission, tax, self.trading_date)
        managed.filled += fill.quantity
        managed.fill_value += fill.price * fill.quantity
        if managed.reserved:
            release = managed.reserved * fill.quantity / managed.order.quantity
            release = min(release, managed.reserved)
            managed.reserved -= release
            self.portfolio.reserved -= release
        self.fill_count += 1
        self._track_round_trip(fill, held_before, realized, commission + tax)
        if self.ledger is not None and self.run_id is not None:
            self.ledger.record_fill(self.run_id, fill, commission, tax, realized, self.trading_date)
        if self.guard is not None and self.trading_stopped is None:
            try:
                self.guard.record_fill(float(realized - commission - tax))
            except RiskLimitError as error:
                self._stop_trading(str(error))

    def _track_round_trip(
        self, fill: Any, held_before: int, realized: Decimal, fees: Decimal
    ) -> None:
        symbol = fill.symbol
        trip = self._open_trips.get(symbol)
        if trip is None:
            trip = self._open_trips[symbol] = RoundTrip(
                symbol, fill.ts_event, "long" if fill.side is OrderSide.BUY else "short"
            )
        trip.realized += realized
        trip.fees += fees
        position = self.portfolio.positions[symbol].quantity
        if position == 0 or (held_before and (held_before > 0) != (position > 0)):
            trip.closed_at = fill.ts_event
            self.round_trips.append(trip)
            del self._open_trips[symbol]
            if position != 0:  # flipped through zero: the rest opens a new trip
                self._open_trips[symbol] = RoundTrip(
                    symbol, fill.ts_event, "long" if position > 0 else "short"
                )

    def _stop_trading(self, reason: str) -> None:
        self.trading_stopped = reason
        log.warning("trading of %s stopped: %s", self.session_name, reason)
        for managed in self.book.open_orders():
            self.cancel(managed.order_id)

    def _record_point(self, ts: datetime) -> None:
        portfolio = self.portfolio
        point = EquityPoint(
            ts,
            self.trading_date,  # type: ignore[arg-type]
            portfolio.cash,
            portfolio.equity,
            portfolio.realized_pnl,
            portfolio.fees,
        )
        if self.equity_points and self.equity_points[-1].ts == ts:
            self.equity_points[-1] = point
        else:
            self.equity_points.append(point)
        self._points_today += 1
        if self.ledger is not None and self.run_id is not None:
            self.ledger.record_equity(self.run_id, point)

    def _store_order(self, managed: ManagedOrder) -> None:
        if self.ledger is not None and self.run_id is not None:
            self.ledger.record_order(self.run_id, managed)

    def _restore(self, stored: Any) -> None:
        """Rebuild the book (and, for simulated brokers, the portfolio) of a resumed run."""
        for managed in stored.orders:
            self.book.add(managed)
        self._seq = max(self._seq, stored.last_sequence(self.order_id_prefix))
        for fill, commission, tax, trading_date in stored.fills:
            self._fill_ids.add(fill.fill_id)
            if getattr(self.broker, "simulated", True):
                self.portfolio.apply_fill(fill, commission, tax, trading_date)
        if stored.orders:
            log.info(
                "resumed %d orders and %d fills of run %s",
                len(stored.orders),
                len(stored.fills),
                self.run_id,
            )

    def _reconcile(self, snapshot: Any) -> None:
        """Adopt a live broker's account: cash, positions, our open orders."""
        if snapshot is None:
            return
        if snapshot.cash is not None:
            self.portfolio.restore_cash(snapshot.cash)
        for position in snapshot.positions:
            self.portfolio.restore_position(
                position.symbol, position.quantity, position.average_price
            )
        for order in snapshot.orders:
            managed = self.book.get(order.order_id)
            if managed is None:
                managed = ManagedOrder(order, OrderStatus.ACCEPTED)
                self.book.add(managed)
            managed.filled = max(managed.filled, snapshot.filled.get(order.order_id, 0))
            broker_id = snapshot.broker_ids.get(order.order_id)
            if broker_id:
                managed.broker_order_id = broker_id
            self._store_order(managed)
        if snapshot.positions or snapshot.orders or snapshot.foreign_orders:
            log.info(
                "reconciled with broker %s: cash %s, %d positions, %d open orders of ours, "
                "%d other open orders left alone",
                getattr(self.broker, "name", "?"),
                self.portfolio.cash,
                len(snapshot.positions),
                len(snapshot.orders),
                snapshot.foreign_orders,
            )
