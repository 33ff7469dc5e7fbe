"""The contracts of plugins: DataSource, TradeClassifier, Indicator, the BarLike record, and for
trading Strategy, Broker, FeeModel (with FillModel inside simulated brokers).

Plugins return *classes* from the registration hooks (``register_data_sources`` ...); sessiond
instantiates them. Each class carries a unique ``name`` (what session configs refer to) and a
one-line ``description``. Methods marked *optional* may be left out; sessiond checks for them
with ``supports(obj, "method")`` and reports a clear error when a config needs one that is
missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from core.errors import ConfigError, PluginError
from core.models import Aggressor, Bar, IndicatorValue, MarketEvent, Quote, Trade
from core.orders import Fill, Order, OrderRequest, OrderUpdate
from core.timeframes import INDICATOR_GRANULARITIES

# --------------------------------------------------------------------------------------------
# The bar record
# --------------------------------------------------------------------------------------------


@runtime_checkable
class BarLike(Protocol):
    """The one bar record: what data sources yield, the store writes and reads back, and what
    indicators (``compute`` history, ``update``), strategies and stream subscribers receive.

    ``core.models.Bar`` is the implementation sessiond builds and passes everywhere (sources
    must yield ``Bar``); plugins should only *read* these attributes, so that a test double
    with the same attributes works too. Times are aware UTC; ``ts_event`` is the bar's open.

    - ``symbol``, ``interval`` (``1m``, ``5m`` ... ``1d``), ``ts_event``;
    - ``open``, ``high``, ``low``, ``close`` in the instrument's quote units;
    - ``volume`` in shares/contracts; ``trade_count`` (None: unknown); ``vwap`` (None:
      unknown or no volume);
    - ``source``: the data source's name (``sessiond`` for bars the engine generated).
    """

    @property
    def symbol(self) -> str: ...
    @property
    def interval(self) -> str: ...
    @property
    def ts_event(self) -> datetime: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...
    @property
    def trade_count(self) -> int | None: ...
    @property
    def vwap(self) -> float | None: ...
    @property
    def source(self) -> str: ...


# --------------------------------------------------------------------------------------------
# Data sources
# --------------------------------------------------------------------------------------------


@runtime_checkable
class DataSource(Protocol):
    """Historical requests and (optionally) a live stream for one vendor.

    Constructed as ``cls(exchange=..., **options)``: ``exchange`` is the calendar name the
    session runs on (``XNYS``, ``XSTC`` ...); ``options`` come from the session config or the
    Dagster resource. Constructors must not open connections or read secrets eagerly; do that
    on first use so that listing plugins never needs credentials.

    Required: ``request_bars``. Optional: ``request_trades``, ``request_quotes``, ``subscribe``,
    ``close``.
    """

    name: ClassVar[str]
    description: ClassVar[str]

    def request_bars(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: str
    ) -> Iterator[Bar]:
        """Yield bars with ``start <= ts_event < end`` (aware UTC), ordered by (symbol, ts_event)
        or by ts_event; ``interval`` is a supported label (``1m``, ``1d`` ...)."""
        ...


class HistoricalTicksSource(Protocol):
    """Optional part of a DataSource: historical trades and quotes."""

    def request_trades(
        self, symbols: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[Trade]: ...

    def request_quotes(
        self, symbols: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[Quote]: ...


class LiveSubscription(Protocol):
    """What ``DataSource.subscribe`` returns: an async stream of events that can be stopped.

    Optional, read by the daemon's health and metrics (``/readyz``, ``/metrics``):
    ``is_connected`` (property, bool: every connection is up; absent = connected while
    running) and ``counters()`` -> ``{name: int}`` of monotonically growing counts, e.g.
    ``reconnects``, ``silences``, ``token_refreshes``, ``malformed``, ``dropped`` (exported as
    ``sessiond_stream_<name>_total``).
    """

    def __aiter__(self) -> AsyncIterator[MarketEvent]: ...

    async def stop(self) -> None:
        """End the stream; the iterator finishes. Idempotent."""
        ...


class LiveSource(Protocol):
    """Optional part of a DataSource: a live stream."""

    def subscribe(self, symbols: Sequence[str], channels: Sequence[str]) -> LiveSubscription:
        """Start streaming ``channels`` (``trades``, ``quotes``, ``bars``, ``foreign``, ``index``,
        ``status``; vendors may accept their own channel names too) for ``symbols``."""
        ...


# --------------------------------------------------------------------------------------------
# Trade classifiers
# --------------------------------------------------------------------------------------------


@runtime_checkable
class TradeClassifier(Protocol):
    """Decides the aggressor of a trade, or passes (``None``) to the next rule of the chain.

    One instance serves one symbol for one trading day: sessiond creates it with ``cls()`` and
    calls ``reset()`` at the start of each day. Auction (ATO/ATC) and put-through trades never
    reach a classifier: the chain makes them neutral first.

    Required: ``classify``. Optional: ``on_quote(quote)`` (receives every quote *before* the
    trades that follow it), ``observe(trade, aggressor)`` (told the chain's final decision for
    every trade, whichever rule made it; tick tests keep their state here), ``reset()``.
    """

    name: ClassVar[str]
    description: ClassVar[str]

    def classify(self, trade: Trade) -> Aggressor | None:
        """Return BUY / SELL / NEUTRAL when this rule can decide, else None."""
        ...


# --------------------------------------------------------------------------------------------
# Indicators
# --------------------------------------------------------------------------------------------


IndicatorKind = Literal["historical", "streaming", "both"]
"""What an indicator type computes: ``historical`` (``compute``), ``streaming`` (``update``)
or ``both``."""

Granularity = Literal["daily", "intraday", "bar"]
"""What a config's ``granularity`` picks: ``daily`` and ``intraday`` run ``compute``; ``bar``
runs ``update``."""

GRANULARITIES = INDICATOR_GRANULARITIES
"""The granularities each kind accepts; the first is its default (``both`` has none: the config
must pick)."""

HISTORICAL_GRANULARITIES = ("daily", "intraday")


class TrailingBars(Sequence[Bar]):
    """The ``history`` a historical indicator's ``compute`` receives: the trailing trading
    days' bars of one symbol, oldest first (a plain sequence of ``BarLike`` records).

    ``days`` holds the same bars grouped by trading day, ``(date, bars)`` oldest first, with
    an empty tuple for a day without bars. While a day stays in the trailing window its
    ``bars`` are the same object from one call to the next (the engine rolls the window one
    day at a time), so an indicator may cache per-day work keyed on that object (the built-in
    trailing indicators do: each day is reduced once, not once per day of the window).
    """

    __slots__ = ("days", "_flat")

    def __init__(self, days: Sequence[tuple[date, Sequence[Bar]]]) -> None:
        self.days: tuple[tuple[date, Sequence[Bar]], ...] = tuple(days)
        self._flat: list[Bar] | None = None

    @classmethod
    def from_bars(cls, bars: Sequence[Bar], day_of: Any) -> TrailingBars:
        """Group time-ordered ``bars`` by ``day_of(bar)`` (a trading date)."""
        days: dict[date, list[Bar]] = {}
        for bar in bars:
            days.setdefault(day_of(bar), []).append(bar)
        return cls(list(days.items()))

    def _bars(self) -> list[Bar]:
        if self._flat is None:
            self._flat = [bar for _, bars in self.days for bar in bars]
        return self._flat

    def __len__(self) -> int:
        return len(self._bars())

    def __getitem__(self, index: Any) -> Any:
        return self._bars()[index]

    def __iter__(self) -> Iterator[Bar]:
        return iter(self._bars())

    def __repr__(self) -> str:
        return f"TrailingBars(days={len(self.days)}, bars={len(self)})"


@runtime_checkable
class Indicator(Protocol):
    """An indicator type a session config names in ``historical.indicators.<name>.type``.

    **Kind.** The class declares ``kind`` (:data:`IndicatorKind`), and the config entry's
    ``granularity`` picks what sessiond calls:

    - ``"daily"`` (historical, both): ``compute`` once per symbol before each trading day's
      open, over the ``1d`` bars of the trailing ``period``; one value (``minute_of_day``
      None). Dagster's indicator asset makes the same call.
    - ``"intraday"`` (historical, both): ``compute`` likewise over the streamed interval's bars
      of the trailing period; one value per minute of the trading day.
    - ``"bar"`` (streaming, both): ``update`` on every streamed bar of the day, in time order
      (one instance per symbol, ``reset()`` at each day's start when implemented). **What
      ``update`` returns is what is stored**: the value returned for the symbol's last bar of
      the day, stored at the day's end (``as_of`` = the end of the streamed window,
      ``observations`` = bars fed that day, ``complete`` = the value is not None). Dagster's
      indicator asset replays the day's stored bars through ``update`` the same way.

    Historical types default to ``daily``, streaming ones to ``bar``; a ``both`` type needs an
    explicit ``granularity`` in the config. A type whose ``kind`` does not match its methods is
    refused when the plugins load.

    **Construction.** ``cls(name=<config key>, **params)``:

    - ``name``: the config key; the values are stored under it (pass it to ``IndicatorValue``).
    - ``params``: the config entry's other keys as written (``period``: ``"10d"``/``"52w"``
      strings stay strings, bar counts are ints; ``field``; anything your type documents),
      except ``type`` and ``granularity``. An unknown key is a one-line error at start.
    - ``calendar``: the session's exchange calendar name (``XNYS``, ``XSTC`` ...), passed only
      when the constructor has a ``calendar`` parameter (or ``**kwargs``).
    - ``granularity``: the granularity in force (``daily``, ``intraday`` or ``bar``), passed
      only when the constructor has a ``granularity`` parameter (or ``**kwargs``).

    **Methods.** ``compute(symbol, history, as_of)``: ``history`` is :class:`TrailingBars`
    (``BarLike`` records of the ``period`` trading days strictly before the day, oldest first);
    ``as_of`` the day's open (aware UTC); return ``IndicatorValue``s named ``name`` for
    ``symbol`` at ``as_of``. ``update(bar)``: one ``BarLike`` (the streamed interval), return
    the current value (a float, or None while warming up). Optional ``reset()``.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    kind: ClassVar[IndicatorKind]

    def compute(
        self, symbol: str, history: Sequence[BarLike], as_of: datetime
    ) -> list[IndicatorValue]:
        """Historical: values as of ``as_of`` from the trailing ``history`` (oldest first)."""
        ...

    def update(self, bar: BarLike) -> float | None:
        """Streaming: fold in one bar and return the current value (None while warming up);
        the returned value is what sessiond stores."""
        ...


def indicator_kind(cls: Any) -> str:
    """The declared ``kind`` of an indicator class; ``PluginError`` naming the class when it is
    missing, unknown, or does not match the methods the class implements."""
    label = f"indicator {getattr(cls, 'name', cls.__name__)!r} ({cls.__module__}.{cls.__qualname__})"
    kind = getattr(cls, "kind", None)
    if kind not in GRANULARITIES:
        raise PluginError(
            f"{label}: class attribute kind must be 'historical' (compute), 'streaming' "
            f"(update) or 'both', was {kind!r}; declare which of its methods sessiond calls"
        )
    needs = {"historical": ("compute",), "streaming": ("update",), "both": ("compute", "update")}
    missing = [m for m in needs[kind] if not callable(getattr(cls, m, None))]
    if missing:
        raise PluginError(f"{label}: kind {kind!r} needs {' and '.join(missing)}(), not found")
    return str(kind)


def indicator_granularity(cls: Any, requested: str | None, where: str = "granularity") -> str:
    """The granularity an indicator of class ``cls`` runs at: ``requested`` (the config's
    value) checked against its kind, else the kind's default. ``ConfigError`` (one line naming
    ``where``) when it does not fit or a ``both`` type was given none."""
    kind = indicator_kind(cls)
    allowed = GRANULARITIES[kind]
    if requested is None:
        if kind == "both":
            raise ConfigError(
                f"{where}: indicator type {cls.name!r} computes both historical and streaming "
                f"values; set granularity to one of {', '.join(allowed)}"
            )
        return allowed[0]
    if requested not in allowed:
        raise ConfigError(
            f"{where}: {requested!r} does not fit indicator type {cls.name!r} (kind {kind}: "
            f"{', '.join(allowed)})"
        )
    return requested
# --------------------------------------------------------------------------------------------
# Trading: strategies, brokers, fee models, fill models (see docs/strategies.md)
# --------------------------------------------------------------------------------------------


@runtime_checkable
class PositionView(Protocol):
    """One symbol's holding as a strategy sees it (read-only).

    ``quantity`` is signed shares (negative: short); ``sellable`` what may be sold now (shares
    bought within the settlement period are not, e.g. T+2 on Vietnamese boards);
    ``average_price``, ``cost_basis``, ``market_value``, ``unrealized_pnl`` and
    ``realized_pnl`` are ``Decimal`` in account currency.
    """

    symbol: str
    quantity: int
    sellable: int
    average_price: Decimal
    cost_basis: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal


@runtime_checkable
class PortfolioView(Protocol):
    """The account as a strategy sees it: ``Decimal`` amounts in ``currency``.

    ``equity`` = cash + market value of the positions, marked at the last price seen;
    ``buying_power`` = cash less what open buy orders reserve (capped by
    ``trading_config.max_buying_power``).
    """

    currency: str
    cash: Decimal
    equity: Decimal
    buying_power: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal

    def position(self, symbol: str) -> PositionView:
        """The holding of ``symbol`` (quantity 0 when flat)."""
        ...

    def positions(self) -> list[PositionView]:
        """Every open (non-zero) position."""
        ...


@runtime_checkable
class StrategyContext(Protocol):
    """What a strategy is given in ``on_start``: the session, the engine clock, data, the
    portfolio and order entry. Strategies never read the wall clock or the store.

    Attributes: ``session_name``; ``exchange`` (calendar name, ``XNYS``, ``XSTC``...);
    ``symbols``; ``currency`` (``USD``/``VND``); ``mode`` (``backtest``/``live``);
    ``streamed_interval`` (``1m``...); ``trading_date`` (exchange-local, None before the first
    day); ``phase`` (``core.phases.Phase`` value, None until the first phase change);
    ``portfolio`` (:class:`PortfolioView`); ``session_data`` (the engine's per-session data,
    or None where the engine has none); ``log`` (a ``logging.Logger`` named after the strategy).
    """

    session_name: str
    exchange: str
    symbols: tuple[str, ...]
    currency: str
    mode: str
    streamed_interval: str | None
    trading_date: date | None
    phase: str | None
    portfolio: PortfolioView
    session_data: Any
    log: Any

    def now(self) -> datetime:
        """The engine clock (simulated time in a backtest), aware UTC."""
        ...

    def last_price(self, symbol: str) -> Decimal | None:
        """The last price seen for ``symbol`` (bar close or trade), or None."""
        ...

    def indicator(self, name: str, symbol: str) -> float | None:
        """The latest value of the session's indicator ``name`` for ``symbol`` (None if none)."""
        ...

    def submit(self, request: OrderRequest) -> str:
        """Check and send an order; return its id. A rejected order keeps its id, is stored
        with its reason and reported through ``on_order`` (never raises for a rejection)."""
        ...

    def cancel(self, order_id: str) -> None:
        """Ask the broker to cancel an open order (no-op for a finished one)."""
        ...

    def replace(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Any = None,
        stop_price: Any = None,
    ) -> str | None:
        """Replace an open order's quantity / prices; return the new order's id (None when the
        order is no longer open). The old order ends ``replaced``."""
        ...

    def flatten(self, symbol: str | None = None) -> list[str]:
        """Cancel open orders and close the position(s) with market orders; return their ids."""
        ...

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders not yet final (optionally of one symbol)."""
        ...


@runtime_checkable
class Strategy(Protocol):
    """A trading strategy a session config names in ``strategy.type``.

    Constructed as ``cls(**params)`` with ``strategy.params`` of the config (unknown params fail
    the config with "did you mean"); constructors must be cheap and deterministic.

    Required: ``intervals`` (instance or class attribute: the bar intervals ``on_bar`` receives,
    each a streamed or generated interval of the session; empty for tick-only strategies),
    ``on_start(ctx)``, ``on_bar(bar)``. Optional (checked by name once at start, logged):
    ``on_trade(trade)`` and ``on_quote(quote)`` when those stream, ``on_phase(phase)`` with a
    ``core.models.PhaseChange``, ``on_order(update)`` with every ``core.orders.OrderUpdate``
    of its orders, ``on_day_start(trading_date)``, ``on_day_end(trading_date)``,
    ``on_stop()``. An exception raised by any of them stops the session (traceback logged, run
    marked failed); it never stops the daemon.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    intervals: tuple[str, ...]

    def on_start(self, ctx: StrategyContext) -> None:
        """Called once before the first event; keep ``ctx`` for later."""
        ...

    def on_bar(self, bar: Bar) -> None:
        """A closed bar of one of ``intervals`` (the engine clock is at the bar's close)."""
        ...


STRATEGY_CALLBACKS: tuple[str, ...] = (
    "on_trade",
    "on_quote",
    "on_phase",
    "on_order",
    "on_day_start",
    "on_day_end",
    "on_stop",
)
"""Optional ``Strategy`` methods, looked up once at start."""


@runtime_checkable
class BrokerContext(Protocol):
    """What the engine gives a broker in ``start``.

    ``exchange`` (calendar name), ``currency``, ``symbols``, ``mode``, ``session_name``,
    ``streams`` (the session's ``session_data_config.streams``);
    ``now()`` the engine clock; ``report(update)`` hands an ``OrderUpdate`` to the engine —
    from the engine's thread (simulated brokers, inside ``on_bar`` etc.) or from any other
    thread (live brokers); the engine applies reports in order at its next event.
    ``known_orders()`` the orders of this run the engine already holds (after a restart), so
    a live broker can match the venue's open orders to them.
    """

    exchange: str
    currency: str
    symbols: tuple[str, ...]
    mode: str
    session_name: str
    streams: tuple[str, ...]

    def now(self) -> datetime: ...

    def report(self, update: OrderUpdate) -> None: ...

    def known_orders(self) -> list[Order]: ...


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    """A position the broker holds: signed ``quantity`` and ``average_price`` (Decimal)."""

    symbol: str
    quantity: int
    average_price: Decimal


@dataclass(frozen=True, slots=True)
class BrokerSnapshot:
    """The broker's account at start: ``cash`` (None: the broker does not say; the config's
    ``starting_cash`` is used), positions, and open orders by our order id (``orders``) with
    their cumulative filled quantity (``filled``) and the broker's ids (``broker_ids``);
    ``foreign_orders`` counts open orders not placed by sessiond (left alone)."""

    cash: Decimal | None = None
    positions: tuple[BrokerPosition, ...] = ()
    orders: tuple[Order, ...] = ()
    filled: dict[str, int] = field(default_factory=dict)
    broker_ids: dict[str, str] = field(default_factory=dict)
    foreign_orders: int = 0


@runtime_checkable
class Broker(Protocol):
    """Where orders go: a simulation on the session's data, or a venue (Alpaca paper).

    Constructed as ``cls(exchange=<calendar name>, **api_config.trade_api_options)``; must
    not connect or read secrets before ``start``. ``simulated`` (class attribute) says which
    kind it is: ``True`` brokers fill from the market events the engine forwards and start
    flat with the config's ``starting_cash``; ``False`` brokers route to a venue, whose account
    (cash, positions, open orders) ``start`` returns for reconciliation.

    Every method is required. The engine calls, in order: ``start(ctx)`` once (returns a
    :class:`BrokerSnapshot`), then for every event ``on_bar`` / ``on_trade`` / ``on_quote`` /
    ``on_phase`` (a simulated broker fills resting orders here; a live one may deliver queued
    venue updates), ``on_day_start(trading_date)`` / ``on_day_end(trading_date)`` at day
    boundaries (expire day orders, fill closing auctions), ``submit(order)``,
    ``cancel(order_id)``, ``replace(order, new_order)`` as the strategy asks, and ``stop()``
    once. Outcomes are reported through ``ctx.report``, never returned.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    simulated: ClassVar[bool]

    def start(self, ctx: BrokerContext) -> BrokerSnapshot: ...

    def submit(self, order: Order) -> None: ...

    def cancel(self, order_id: str) -> None: ...

    def replace(self, order: Order, new_order: Order) -> None: ...

    def on_bar(self, bar: Bar) -> None: ...

    def on_trade(self, trade: Trade) -> None: ...

    def on_quote(self, quote: Quote) -> None: ...

    def on_phase(self, phase: Any) -> None: ...

    def on_day_start(self, trading_date: date) -> None: ...

    def on_day_end(self, trading_date: date) -> None: ...

    def stop(self) -> None: ...


@runtime_checkable
class FeeModel(Protocol):
    """Commission and taxes of one fill (``trading_config.fees.type`` names it).

    Constructed as ``cls(currency=<USD|VND>, **params)`` with the config entry's other keys.
    ``fees`` returns ``(commission, tax)``: non-negative ``Decimal`` amounts already quantized
    to the currency's minor unit (``core.orders.quantize_money``).
    """

    name: ClassVar[str]
    description: ClassVar[str]

    def fees(self, fill: Fill) -> tuple[Decimal, Decimal]: ...


@runtime_checkable
class FillModel(Protocol):
    """How a simulated broker turns market data into fills (``docs/strategies.md``).

    ``on_bar(order, bar, remaining)`` / ``on_trade(order, trade, remaining)`` return
    ``(price, quantity)`` of a fill of a resting order, or None; ``remaining`` is the order's
    unfilled quantity; ``order`` is the broker's working order: the ``core.orders.Order``
    fields (``side``, ``order_type``, ``limit_price``, ``stop_price`` ...) plus a writable
    ``triggered`` flag for stop-limit orders. The broker owns eligibility (only market data
    after the submission), time in force and auction orders (filled at the auction print).
    """

    def on_bar(self, order: Any, bar: Bar, remaining: int) -> tuple[Decimal, int] | None: ...

    def on_trade(self, order: Any, trade: Trade, remaining: int) -> tuple[Decimal, int] | None: ...


def supports(obj: Any, method: str) -> bool:
    """True when a plugin object implements the optional ``method``."""
    return callable(getattr(obj, method, None))


def plugin_name(cls: Any) -> str:
    """The registered name of a plugin class (its ``name`` attribute)."""
    return str(cls.name)


__all__ = [
    "STRATEGY_CALLBACKS",
    "Broker",
    "BrokerContext",
    "BrokerPosition",
    "BrokerSnapshot",
    "DataSource",
    "FeeModel",
    "FillModel",
    "PortfolioView",
    "PositionView",
    "Strategy",
    "StrategyContext",
    "GRANULARITIES",
    "BarLike",
    "DataSource",
    "Granularity",
    "IndicatorKind",
    "TrailingBars",
    "indicator_granularity",
    "indicator_kind",
    "HistoricalTicksSource",
    "Indicator",
    "LiveSource",
    "LiveSubscription",
    "TradeClassifier",
    "plugin_name",
    "supports",
    "Iterable",
]
