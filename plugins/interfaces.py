"""The contracts of plugins: DataSource, TradeClassifier, Indicator, and the BarLike record.

Plugins return *classes* from the registration hooks (``register_data_sources`` ...); sessiond
instantiates them. Each class carries a unique ``name`` (what session configs refer to) and a
one-line ``description``. Methods marked *optional* may be left out; sessiond checks for them
with ``supports(obj, "method")`` and reports a clear error when a config needs one that is
missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from core.errors import ConfigError, PluginError
from core.models import Aggressor, Bar, IndicatorValue, MarketEvent, Quote, Trade
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


def supports(obj: Any, method: str) -> bool:
    """True when a plugin object implements the optional ``method``."""
    return callable(getattr(obj, method, None))


def plugin_name(cls: Any) -> str:
    """The registered name of a plugin class (its ``name`` attribute)."""
    return str(cls.name)


__all__ = [
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
