"""The three contracts a plugin can implement: DataSource, TradeClassifier, Indicator.

Plugins return *classes* from the registration hooks (``register_data_sources`` ...); sessiond
instantiates them. Each class carries a unique ``name`` (what session configs refer to) and a
one-line ``description``. Methods marked *optional* may be left out; sessiond checks for them
with ``supports(obj, "method")`` and reports a clear error when a config needs one that is
missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from core.models import Aggressor, Bar, IndicatorValue, MarketEvent, Quote, Trade

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


@runtime_checkable
class Indicator(Protocol):
    """An indicator type a session config names in ``historical.indicators.<name>.type``.

    Constructed as ``cls(name=<config key>, calendar=<exchange calendar>, **params)`` where
    ``params`` are the config entry's other keys (``period``, ``granularity``, ``field`` ...)
    and ``calendar`` the session's calendar name (``XNYS``, ``XSTC`` ...; the daemon and the
    Dagster assets always pass it). Historical indicators implement ``compute``; streaming ones
    implement ``update`` and keep its latest result in the attribute ``value``, which sessiond
    stores (as of the session's open) when each session ends. An indicator with ``update`` is
    streaming even when it also has ``compute``.
    """

    value: float | None
    """Streaming indicators: the latest ``update`` result (None while warming up)."""

    name: ClassVar[str]
    description: ClassVar[str]

    def compute(self, symbol: str, history: Sequence[Bar], as_of: datetime) -> list[IndicatorValue]:
        """Historical: values as of ``as_of`` from the trailing ``history`` (oldest first)."""
        ...

    def update(self, bar: Bar) -> float | None:
        """Streaming: fold in one bar and return the current value (None while warming up)."""
        ...


def supports(obj: Any, method: str) -> bool:
    """True when a plugin object implements the optional ``method``."""
    return callable(getattr(obj, method, None))


def plugin_name(cls: Any) -> str:
    """The registered name of a plugin class (its ``name`` attribute)."""
    return str(cls.name)


__all__ = [
    "DataSource",
    "HistoricalTicksSource",
    "Indicator",
    "LiveSource",
    "LiveSubscription",
    "TradeClassifier",
    "plugin_name",
    "supports",
    "Iterable",
]
