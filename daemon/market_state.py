"""The live market state of a session: order flow by phase, foreign flows, indices, basis.

``MarketState`` consumes the non-bar events of a session (trades, quotes, foreign room, index
ticks, statuses) in arrival order, for live and replayed sessions alike:

    trade ─▶ volume from ΔTotalVol (repeats dropped) ─▶ phase (TradingSession, else clock)
          ─▶ classifier chain of the symbol ─▶ OrderFlowAggregator (ato / continuous / atc)
          ─▶ BasisTracker (primary futures contract against VN30)
    quote ─▶ the symbol's classifier chain (quote in force for the next trades)
    foreign room ─▶ ForeignFlowTracker;  index tick ─▶ IndexTracker

Day boundary: the statistics belong to one trading day and reset when the exchange's last
phase of the day ends (``core.phases``: 15:00 local on HOSE and HNX after put-through /
post-close, 20:00 ET on XNYS after post-market) or on the first event of a later day,
whichever comes first, so yesterday's numbers never leak into today's opening. ``version``
increases on every change (the API's websocket pushes only when it moved).

Construction is shared by the live session and by backtests that replay recorded days
(``daemon.feeds.ticks``): :func:`market_setup` resolves the session's symbols for a trading day
through the source (``resolve_symbols``, e.g. SSI's ``VN30F1M`` -> the front-month contract,
which becomes the basis contract; the symbols that resolve to themselves form the watchlist
group), picks the classifier chain (:func:`classifier_names`) and builds the ``MarketState``;
:func:`event_router` is the per-event fan-out of a session (market state, ``SessionData``, the
recorder); :func:`phase_volume_rows` turns the state into ``store.upsert_phase_volumes`` rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.calendars import exchange_timezone
from core.config import STREAM_KINDS
from core.models import (
    ForeignRoom,
    IndexTick,
    MarketEvent,
    PhaseVolume,
    Quote,
    SecurityStatus,
    Trade,
)
from core.phases import Phase, phase_at, phase_for_trading_session, phase_windows
from daemon.aggregation.foreign import ForeignFlowTracker
from daemon.aggregation.market import BasisTracker, IndexTracker
from daemon.aggregation.order_flow import OrderFlowAggregator, VolumeBreakdown
from plugins.classification import DEFAULT_CHAIN, ClassifierChain, build_chain
from plugins.interfaces import supports

_CLOCK_PHASES = {None, Phase.CLOSED, Phase.BREAK}


def trade_phase(exchange: str, trade: Trade) -> str:
    """A trade's ``core.phases.Phase`` value: from its TradingSession code, falling back to
    the exchange clock at ``ts_event`` when the code is absent or names no trading phase."""
    phase = phase_for_trading_session(trade.trading_session)
    if phase in _CLOCK_PHASES:
        phase = phase_at(exchange, trade.ts_event)
    return str(phase)


class MarketState:
    """Order flow, foreign flows, indices and basis for one exchange, one day at a time."""

    def __init__(
        self,
        exchange: str,
        chain_factory: Callable[[], ClassifierChain],
        *,
        group_symbols: Iterable[str] = (),
        group_name: str = "VN30",
        futures_contract: str | None = None,
        basis_index: str = "VN30",
    ) -> None:
        self.exchange = exchange
        self._tz = exchange_timezone(exchange)
        self._chain_factory = chain_factory
        self._chains: dict[str, ClassifierChain] = {}
        self.order_flow = OrderFlowAggregator()
        self.foreign = ForeignFlowTracker(groups={group_name: list(group_symbols)})
        self.indices = IndexTracker()
        self.basis = BasisTracker(self.indices, contract=futures_contract, index_id=basis_index)
        self.group_name = group_name
        self.trading_date: date | None = None
        self.statuses: dict[str, SecurityStatus] = {}
        self.version = 0
        self.events = 0
        self.stale_events = 0
        self.last_event_ts: datetime | None = None
        self._roll_instants: dict[date, datetime] = {}

    # -- day boundary --------------------------------------------------------------------------

    def roll_instant(self, local_day: date) -> datetime:
        """When the statistics of ``local_day`` end: the end of its last non-closed phase
        (midnight at its start on a day without trading, so its events count for the next)."""
        instant = self._roll_instants.get(local_day)
        if instant is None:
            trading = [
                w for w in phase_windows(self.exchange, local_day) if w.phase != Phase.CLOSED
            ]
            if trading:
                instant = trading[-1].end
            else:
                midnight = datetime(local_day.year, local_day.month, local_day.day, tzinfo=self._tz)
                instant = midnight.astimezone(UTC)
            self._roll_instants[local_day] = instant
        return instant

    def stats_day(self, ts: datetime) -> date:
        """The trading day whose statistics an event at ``ts`` belongs to."""
        local_day = ts.astimezone(self._tz).date()
        return local_day + timedelta(days=1) if ts >= self.roll_instant(local_day) else local_day

    def reset(self, trading_date: date) -> None:
        """Start the statistics of ``trading_date`` from zero."""
        self.trading_date = trading_date
        self.order_flow.reset(trading_date)
        self.foreign.reset()
        self.indices.reset()
        self.basis.reset()
        self.statuses.clear()
        for chain in self._chains.values():
            chain.reset()
        self.version += 1

    def roll(self, now: datetime) -> bool:
        """Reset when ``now`` belongs to a later statistics day; True when it reset."""
        day = self.stats_day(now)
        if self.trading_date is None or day > self.trading_date:
            self.reset(day)
            return True
        return False

    # -- events --------------------------------------------------------------------------------

    def on_event(self, event: MarketEvent) -> None:
        """Dispatch one event by type (bars and phase changes are not market-state events)."""
        if isinstance(event, Trade):
            self.on_trade(event)
        elif isinstance(event, Quote):
            self.on_quote(event)
        elif isinstance(event, ForeignRoom):
            self.on_foreign(event)
        elif isinstance(event, IndexTick):
            self.on_index(event)
        elif isinstance(event, SecurityStatus) and self._touch(event.ts_event):
            self.statuses[event.symbol] = event

    def _touch(self, ts: datetime) -> bool:
        """Roll the day if ``ts`` belongs to a later one; False for an event of an earlier
        statistics day (e.g. yesterday's post-close messages delivered late), which is
        dropped and counted in ``stale_events``."""
        day = self.stats_day(ts)
        current = self.trading_date
        if current is None or day > current:
            self.reset(day)
        elif day < current:
            self.stale_events += 1
            return False
        self.events += 1
        self.version += 1
        self.last_event_ts = ts
        return True

    def _chain(self, symbol: str) -> ClassifierChain:
        chain = self._chains.get(symbol)
        if chain is None:
            chain = self._chains[symbol] = self._chain_factory()
        return chain

    def phase_of(self, trade: Trade) -> str:
        """The trade's phase: its TradingSession code, else the exchange clock."""
        return trade_phase(self.exchange, trade)

    def on_quote(self, quote: Quote) -> None:
        if self._touch(quote.ts_event):
            self._chain(quote.symbol).on_quote(quote)

    def on_trade(self, trade: Trade) -> None:
        if not self._touch(trade.ts_event):
            return
        self.basis.apply(trade)
        volume = self.order_flow.accept(trade)
        if volume is None:
            return
        classified = self._chain(trade.symbol).classify(trade, self.phase_of(trade))
        self.order_flow.add(classified, volume)

    def on_foreign(self, room: ForeignRoom) -> None:
        if self._touch(room.ts_event):
            self.foreign.apply(room)

    def on_index(self, tick: IndexTick) -> None:
        if self._touch(tick.ts_event):
            self.indices.apply(tick)

    def set_futures_contract(self, contract: str | None) -> None:
        """The primary futures contract whose trades make the basis (it rolls monthly)."""
        if contract != self.basis.contract:
            self.basis.reset(contract)
            self.basis.contract = contract
            self.version += 1

    # -- views ---------------------------------------------------------------------------------

    def volume_stats(self, symbol: str) -> dict[str, Any] | None:
        flow = self.order_flow.stats(symbol)
        return None if flow is None else flow.to_dict()

    def snapshot(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "trading_date": self.trading_date.isoformat() if self.trading_date else None,
            "version": self.version,
            "events": self.events,
            "last_event": self.last_event_ts.isoformat() if self.last_event_ts else None,
            "volume_stats": self.order_flow.snapshot(),
            "foreign": self.foreign.snapshot(),
            "indices": self.indices.snapshot(),
            "basis": self.basis.snapshot(),
        }

    def phase_volume_rows(self) -> list[tuple[str, str, VolumeBreakdown, float | None]]:
        """(symbol, phase, breakdown, last TotalVol) of the day, for persisting."""
        return list(self.order_flow.rows())

    def restore_phase_volumes(
        self, rows: Iterable[tuple[str, str, VolumeBreakdown, float | None]]
    ) -> None:
        """Resume a day from persisted rows (restart mid-day without double counting)."""
        for symbol, phase, bucket, last_total in rows:
            self.order_flow.restore(symbol, phase, bucket, last_total)
        self.version += 1


# --------------------------------------------------------------------------------------------
# Construction, shared by the live session and the replay of recorded days
# --------------------------------------------------------------------------------------------

STREAM_TYPES: dict[str, type] = {
    "trades": Trade,
    "quotes": Quote,
    "foreign": ForeignRoom,
    "index": IndexTick,
    "status": SecurityStatus,
}
"""Non-bar stream name of a session config (``core.config.STREAM_KINDS``) -> its event type."""

_TICKS = (Trade, Quote)


def tick_streams(config: Any) -> list[str]:
    """The non-bar streams a config names (trades, quotes, foreign, index, status), in order."""
    return [s for s in config.session_data_config.streams if s in STREAM_KINDS]


def classifier_names(config: Any, source: Any) -> tuple[str, ...]:
    """The chain: config, else the source class's ``default_classifiers``, else the default."""
    configured = config.session_data_config.classifiers
    if configured:
        return tuple(configured)
    default = getattr(type(source), "default_classifiers", None)
    return tuple(default) if default else DEFAULT_CHAIN


def resolve_symbols(source: Any, symbols: Sequence[str], day: date) -> list[str]:
    """Session symbols as traded on ``day`` (the source's ``resolve_symbols``, else as is)."""
    if source is not None and supports(source, "resolve_symbols"):
        return list(source.resolve_symbols(list(symbols), day))
    return list(symbols)


def futures_contract_of(symbols: Sequence[str], resolved: Sequence[str]) -> str | None:
    """The first symbol the source resolved to another code (a front-month alias)."""
    for configured, actual in zip(symbols, resolved, strict=True):
        if configured != actual:
            return actual
    return None


@dataclass(slots=True)
class MarketSetup:
    """A session's market state and how it was built for its first trading day.

    ``symbols`` as configured; ``resolved`` as traded that day; ``group_symbols`` those that
    resolve to themselves (the watchlist group, without the futures contract);
    ``futures_contract`` the basis contract (None without an alias); ``classifiers`` the chain.
    """

    symbols: list[str]
    resolved: list[str]
    group_symbols: list[str]
    futures_contract: str | None
    classifiers: tuple[str, ...]
    state: MarketState

    def contract_on(self, source: Any, day: date) -> str | None:
        """The basis contract on ``day`` (the front month rolls after expiry)."""
        return futures_contract_of(self.symbols, resolve_symbols(source, self.symbols, day))


def market_setup(config: Any, *, host: Any, source: Any, trading_date: date) -> MarketSetup:
    """Resolve the config's symbols for ``trading_date``, pick the classifier chain (unknown
    names fail here, not at the first trade) and build the ``MarketState``."""
    calendar = config.calendar_name
    symbols = list(config.session_data_config.symbols)
    resolved = resolve_symbols(source, symbols, trading_date)
    contract = futures_contract_of(symbols, resolved)
    group = [s for s, r in zip(symbols, resolved, strict=True) if s == r and s != contract]
    classifiers = classifier_names(config, source)
    for name in classifiers:
        host.create_classifier(name)
    state = MarketState(
        calendar,
        lambda: build_chain(classifiers, host.create_classifier),
        group_symbols=group,
        futures_contract=contract,
    )
    return MarketSetup(symbols, resolved, group, contract, classifiers, state)


def event_router(
    state: MarketState,
    on_other_event: Callable[[Any], None],
    record: Callable[[Any], None] | None = None,
    *,
    keep_ticks: bool = False,
) -> Callable[[Any], None]:
    """The per-event fan-out of a session: trades and quotes (thousands a second) go to the
    market state (and the recorder) only — not kept in ``SessionData`` for the day, unless
    ``keep_ticks`` — while the low-rate kinds (foreign room, index ticks, statuses) also reach
    ``on_other_event``."""
    state_event = state.on_event
    ticks = _TICKS

    if record is None:

        def route(event: Any) -> None:
            if keep_ticks or type(event) not in ticks:
                on_other_event(event)
            state_event(event)

        return route

    def route_and_record(event: Any) -> None:
        if keep_ticks or type(event) not in ticks:
            on_other_event(event)
        state_event(event)
        record(event)

    return route_and_record


def phase_volume_rows(state: MarketState, session_name: str) -> list[PhaseVolume]:
    """The state's per-phase volumes of its day as store rows (copied: safe to write in a
    thread)."""
    day = state.trading_date
    if day is None:
        return []
    return [
        PhaseVolume(
            session_name,
            symbol,
            day,
            phase,
            b.buy_volume,
            b.sell_volume,
            b.neutral_volume,
            b.buy_value,
            b.sell_value,
            b.neutral_value,
            b.trade_count,
            last_total,
        )
        for symbol, phase, b, last_total in state.phase_volume_rows()
    ]
