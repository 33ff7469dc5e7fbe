"""``alpaca``: US equities from Alpaca (historical REST and the live stock stream).

Options (``api_config.data_api_options`` of a session config, or keyword arguments):

- ``feed``: ``iex``/``sip``; default ``ALPACA_FEED`` (``iex``).
- ``adjustment``: bars' corporate-action adjustment ``raw`` (default), ``split``, ``dividend``, ``all``.
- ``extended_hours``: ``{"pre_market": bool, "post_market": bool}`` (the session config's
  ``session_data_config.extended_hours``), or the flags ``pre_market``/``post_market``;
  default regular hours only. Intraday bars, trades and quotes outside the kept phases are
  dropped (pre-market 04:00-09:30 ET, post-market 16:00 (13:00 on early closes)-20:00 ET);
  daily bars are kept whole.
- ``data_url``/``stream_url``: override ``ALPACA_DATA_URL``/``ALPACA_STREAM_URL``.
- ``max_retries`` (5), ``retry_wait_seconds`` (1.0), ``retry_max_wait_seconds`` (30.0): REST
  retries of 429/5xx/network errors; ``tick_chunk_minutes`` (60): time span of one trades or
  quotes request; ``symbols_per_request`` (10): bars.
- ``max_auth_attempts`` (3), ``max_connect_attempts`` (10), ``reconnect_min_backoff_seconds``
  (1.0), ``reconnect_max_backoff_seconds`` (30.0): live stream bounds.

Credentials (``ALPACA_API_KEY``, ``ALPACA_SECRET_KEY``) are read on first use, never at import or
construction, so listing plugins needs none.

Daily bars (``1d``) are anchored at the session's regular open (UTC), like every other bar
whose ``ts_event`` is its open; Alpaca itself stamps them at midnight ET.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from core.calendars import exchange_timezone, session_bounds
from core.errors import CalendarError, SourceError
from core.models import Bar, Quote, Trade
from core.timeframes import parse_interval
from plugins.sources.alpaca.hours import TradingHours
from plugins.sources.alpaca.parse import (
    SOURCE_NAME,
    bar_from_wire,
    parse_time,
    quote_from_wire,
    timeframe_for,
    trade_from_wire,
)

if TYPE_CHECKING:  # alpaca-py, requests, pydantic-settings: imported on first use
    from plugins.sources.alpaca.client import AlpacaHistoricalClient, Chunk
    from plugins.sources.alpaca.settings import AlpacaSettings
    from plugins.sources.alpaca.stream import AlpacaLiveSubscription

US_CALENDARS = frozenset({"XNYS", "XNAS", "NYSE", "NASDAQ", "US_EQUITY"})


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise SourceError(
            f"alpaca request range must be aware UTC datetimes, got {start!r} .. {end!r}"
        )


def _symbols(symbols: Sequence[str] | str) -> list[str]:
    if isinstance(symbols, str):
        symbols = [symbols]
    cleaned = list(dict.fromkeys(symbol.strip().upper() for symbol in symbols if symbol.strip()))
    if not cleaned:
        raise SourceError("alpaca request needs at least one symbol")
    return cleaned


class AlpacaSource:
    """Historical bars/trades/quotes and a live stream for US equities from Alpaca."""

    name: ClassVar[str] = SOURCE_NAME
    description: ClassVar[str] = (
        "US equities from Alpaca: historical bars, trades, quotes (REST) and a live stream"
    )
    default_classifiers: ClassVar[tuple[str, ...]] = ("lee_ready",)
    """Alpaca trades carry no aggressor: Lee-Ready (quote rule, then tick rule) decides."""

    def __init__(
        self,
        exchange: str = "XNYS",
        *,
        feed: str | None = None,
        adjustment: str = "raw",
        extended_hours: Mapping[str, Any] | Any | None = None,
        pre_market: bool | None = None,
        post_market: bool | None = None,
        data_url: str | None = None,
        stream_url: str | None = None,
        max_retries: int = 5,
        retry_wait_seconds: float = 1.0,
        retry_max_wait_seconds: float = 30.0,
        tick_chunk_minutes: float = 60.0,
        symbols_per_request: int = 10,
        max_auth_attempts: int = 3,
        max_connect_attempts: int = 10,
        reconnect_min_backoff_seconds: float = 1.0,
        reconnect_max_backoff_seconds: float = 30.0,
        received_clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.exchange = "XNYS" if exchange.upper() in US_CALENDARS else exchange
        self.hours = TradingHours.from_options(
            self.exchange, extended_hours, pre_market=pre_market, post_market=post_market
        )
        self.adjustment = adjustment
        self._overrides = {"feed": feed, "data_url": data_url, "stream_url": stream_url}
        self._client_options: dict[str, Any] = {
            "max_retries": max_retries,
            "retry_wait_seconds": retry_wait_seconds,
            "retry_max_wait_seconds": retry_max_wait_seconds,
            "tick_chunk": timedelta(minutes=tick_chunk_minutes),
            "symbols_per_request": symbols_per_request,
        }
        if sleep is not None:
            self._client_options["sleep"] = sleep
        self._stream_options: dict[str, Any] = {
            "max_auth_attempts": max_auth_attempts,
            "max_connect_attempts": max_connect_attempts,
            "reconnect_min_backoff_seconds": reconnect_min_backoff_seconds,
            "reconnect_max_backoff_seconds": reconnect_max_backoff_seconds,
            "received_clock": received_clock,
        }
        self._settings: AlpacaSettings | None = None
        self._client: AlpacaHistoricalClient | None = None
        self._zone = exchange_timezone(self.exchange)

    # -- lazily built pieces -------------------------------------------------------------------

    @property
    def settings(self) -> AlpacaSettings:
        if self._settings is None:
            from plugins.sources.alpaca.settings import load_alpaca_settings

            self._settings = load_alpaca_settings(**self._overrides)
        return self._settings

    @property
    def client(self) -> AlpacaHistoricalClient:
        if self._client is None:
            key, secret = self.settings.credentials()
            from plugins.sources.alpaca.client import AlpacaHistoricalClient

            self._client = AlpacaHistoricalClient(
                key,
                secret,
                base_url=self.settings.rest_base_url,
                feed=self.settings.feed,
                adjustment=self.adjustment,
                **self._client_options,
            )
        return self._client

    # -- historical --------------------------------------------------------------------------

    def request_bars(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: str
    ) -> Iterator[Bar]:
        """Bars with ``start <= ts_event < end``, ordered by (ts_event, symbol), chunk by chunk."""
        _check_range(start, end)
        timeframe_for(interval)  # unsupported interval: fail before any request
        names = _symbols(symbols)
        if interval == "1d":
            yield from self._daily_bars(names, start, end)
            return
        length = parse_interval(interval).timedelta
        hours = self.hours
        for chunk in self.client.bar_chunks(names, start, end, interval):
            bars = [
                bar
                for bar in self._bars_of(chunk, interval)
                if start <= bar.ts_event < end and hours.keeps_span(bar.ts_event, length)
            ]
            bars.sort(key=lambda bar: (bar.ts_event, bar.symbol))
            yield from bars

    def _bars_of(self, chunk: Chunk, interval: str) -> Iterator[Bar]:
        for symbol, rows in chunk.rows.items():
            for row in rows:
                yield bar_from_wire(symbol, row, interval)

    def _daily_bars(self, names: list[str], start: datetime, end: datetime) -> Iterator[Bar]:
        # Alpaca stamps a daily bar at midnight ET: ask from the local midnight of start's date.
        local_start = start.astimezone(self._zone).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        for chunk in self.client.bar_chunks(names, local_start, end, "1d"):
            bars = []
            for symbol, rows in chunk.rows.items():
                for row in rows:
                    bar = bar_from_wire(symbol, row, "1d", ts_event=self._session_open(row["t"]))
                    if start <= bar.ts_event < end:
                        bars.append(bar)
            bars.sort(key=lambda bar: (bar.ts_event, bar.symbol))
            yield from bars

    def _session_open(self, stamp: Any) -> datetime:
        ts = parse_time(stamp)
        try:
            return session_bounds(self.exchange, ts.astimezone(self._zone).date()).open
        except CalendarError:
            return ts

    def request_trades(
        self, symbols: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[Trade]:
        """Trades with ``start <= ts_event < end`` in kept hours, ordered by (ts_event, symbol)
        within each chunk (one symbol per chunk)."""
        _check_range(start, end)
        keeps = self.hours.keeps
        for chunk in self.client.trade_chunks(_symbols(symbols), start, end):
            for symbol, rows in chunk.rows.items():
                for row in rows:
                    trade = trade_from_wire(symbol, row)
                    if start <= trade.ts_event < end and keeps(trade.ts_event):
                        yield trade

    def request_quotes(
        self, symbols: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[Quote]:
        """Quotes (NBBO) with ``start <= ts_event < end`` in kept hours, per symbol in time order."""
        _check_range(start, end)
        keeps = self.hours.keeps
        for chunk in self.client.quote_chunks(_symbols(symbols), start, end):
            for symbol, rows in chunk.rows.items():
                for row in rows:
                    quote = quote_from_wire(symbol, row)
                    if start <= quote.ts_event < end and keeps(quote.ts_event):
                        yield quote

    # -- live --------------------------------------------------------------------------------

    def subscribe(self, symbols: Sequence[str], channels: Sequence[str]) -> AlpacaLiveSubscription:
        """A live subscription to ``channels`` (``trades``, ``quotes``, ``bars``/``1m``,
        ``updated_bars``, ``daily_bars``/``1d``, ``status``) for ``symbols``; larger intervals
        are ignored (the session engine builds them from 1m bars)."""
        key, secret = self.settings.credentials()
        from plugins.sources.alpaca.stream import AlpacaLiveSubscription

        return AlpacaLiveSubscription(
            api_key=key,
            secret_key=secret,
            endpoint=self.settings.stream_endpoint,
            feed=self.settings.feed,
            symbols=_symbols(symbols),
            channels=channels,
            hours=self.hours,
            **self._stream_options,
        )

    def close(self) -> None:
        """Release the HTTP session."""
        if self._client is not None:
            self._client.close()
            self._client = None
