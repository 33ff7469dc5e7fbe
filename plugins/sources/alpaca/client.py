"""Alpaca historical stock data through alpaca-py's ``StockHistoricalDataClient``.

Mirrors the three multi-symbol endpoints (``/v2/stocks/bars``, ``/trades``, ``/quotes``).
alpaca-py follows every ``next_page_token`` of one request; this client splits long ranges
into chunks (by time, and bars by groups of symbols) and yields one chunk at a time, so memory
holds at most one chunk of raw rows. Rows stay the API's wire dicts (``raw_data=True``):
``parse.py`` turns them into models.

Retries: HTTP 429 and 5xx and network errors are retried up to ``max_retries`` times, waiting
``Retry-After`` when the server sends it, else ``retry_wait_seconds * 2**attempt`` (capped at
``retry_max_wait_seconds``). alpaca-py's own fixed 3 s retry loop is switched off so that one
policy applies. Any other failure raises ``SourceError`` (``SourceAuthError`` for 401/403)
naming the endpoint, the symbols and the time range; credentials never appear in messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from alpaca.common.exceptions import APIError
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest, StockQuotesRequest, StockTradesRequest

from core.errors import SourceAuthError, SourceError
from plugins.sources.alpaca.parse import timeframe_for

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses worth retrying: rate limit and server-side failures."""

BAR_CHUNK_SPAN: dict[str, timedelta] = {
    "1m": timedelta(days=5),
    "5m": timedelta(days=25),
    "10m": timedelta(days=50),
    "15m": timedelta(days=75),
    "30m": timedelta(days=150),
    "1h": timedelta(days=300),
    "1d": timedelta(days=3650),
}
"""Time span of one bar request: at most ~5 000 rows per symbol (960 extended-hours minutes a day)."""

ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Chunk:
    """Raw rows of one request: ``rows[symbol]`` are wire dicts with ``start <= t < end``."""

    start: datetime
    end: datetime
    rows: dict[str, list[dict[str, Any]]]


def time_chunks(
    start: datetime, end: datetime, span: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """Split ``[start, end)`` into consecutive ``[a, b)`` of at most ``span``."""
    cursor = start
    while cursor < end:
        stop = min(cursor + span, end)
        yield cursor, stop
        cursor = stop


def _range_text(symbols: Sequence[str], start: datetime, end: datetime) -> str:
    return f"{','.join(symbols)} from {start.isoformat()} to {end.isoformat()}"


class AlpacaHistoricalClient:
    """Chunked, retried access to Alpaca's historical stock endpoints.

    ``base_url`` is the REST base without ``/v2``; ``feed`` ``iex``/``sip``; ``adjustment``
    ``raw``/``split``/``dividend``/``all`` (bars only). ``sleep`` waits between retries (tests
    pass a recorder).
    """

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        *,
        base_url: str,
        feed: str = "iex",
        adjustment: str = "raw",
        max_retries: int = 5,
        retry_wait_seconds: float = 1.0,
        retry_max_wait_seconds: float = 30.0,
        symbols_per_request: int = 10,
        tick_chunk: timedelta = timedelta(hours=1),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        try:
            self.feed = DataFeed(feed)
            self.adjustment = Adjustment(adjustment)
        except ValueError as error:
            raise SourceError(
                f"alpaca option invalid: {error} (feed: iex, sip; adjustment: raw, split, "
                "dividend, all)"
            ) from None
        self.base_url = base_url
        self.max_retries = max_retries
        self.retry_wait_seconds = retry_wait_seconds
        self.retry_max_wait_seconds = retry_max_wait_seconds
        self.symbols_per_request = max(1, symbols_per_request)
        self.tick_chunk = tick_chunk
        self._sleep = sleep
        self._client = StockHistoricalDataClient(
            api_key, secret_key, raw_data=True, url_override=base_url
        )
        # One retry policy (ours): alpaca-py would otherwise sleep a fixed 3 s on 429/504.
        self._client._retry = 0
        self.requests_made = 0

    # -- endpoints -------------------------------------------------------------------------

    def bar_chunks(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: str
    ) -> Iterator[Chunk]:
        """Bars of ``interval`` for ``[start, end)``, one chunk (symbol group x span) at a time."""
        timeframe = timeframe_for(interval)
        span = BAR_CHUNK_SPAN[interval]
        for group in self._groups(symbols, self.symbols_per_request):
            for chunk_start, chunk_end in time_chunks(start, end, span):
                request = StockBarsRequest(
                    symbol_or_symbols=list(group),
                    start=chunk_start,
                    end=chunk_end - ONE_MICROSECOND,  # Alpaca's end is inclusive
                    timeframe=timeframe,
                    adjustment=self.adjustment,
                    feed=self.feed,
                )
                rows = self._call(
                    f"{interval} bars",
                    group,
                    chunk_start,
                    chunk_end,
                    self._client.get_stock_bars,
                    request,
                )
                yield Chunk(chunk_start, chunk_end, rows)

    def trade_chunks(
        self, symbols: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[Chunk]:
        """Trades for ``[start, end)``, one symbol and ``tick_chunk`` of time per chunk."""
        yield from self._tick_chunks(
            "trades", StockTradesRequest, self._client.get_stock_trades, symbols, start, end
        )

    def quote_chunks(
        self, symbols: Sequence[str], start: datetime, end: datetime
    ) -> Iterator[Chunk]:
        """Quotes (NBBO) for ``[start, end)``, one symbol and ``tick_chunk`` of time per chunk."""
        yield from self._tick_chunks(
            "quotes", StockQuotesRequest, self._client.get_stock_quotes, symbols, start, end
        )

    def _tick_chunks(
        self,
        what: str,
        request_type: type,
        call: Callable[[Any], Any],
        symbols: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> Iterator[Chunk]:
        for group in self._groups(symbols, 1):
            for chunk_start, chunk_end in time_chunks(start, end, self.tick_chunk):
                request = request_type(
                    symbol_or_symbols=list(group),
                    start=chunk_start,
                    end=chunk_end - ONE_MICROSECOND,
                    feed=self.feed,
                )
                rows = self._call(what, group, chunk_start, chunk_end, call, request)
                yield Chunk(chunk_start, chunk_end, rows)

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _groups(symbols: Sequence[str], size: int) -> Iterator[tuple[str, ...]]:
        for index in range(0, len(symbols), size):
            yield tuple(symbols[index : index + size])

    def _call(
        self,
        what: str,
        symbols: Sequence[str],
        start: datetime,
        end: datetime,
        call: Callable[[Any], Any],
        request: Any,
    ) -> dict[str, list[dict[str, Any]]]:
        attempt = 0
        while True:
            self.requests_made += 1
            try:
                result = call(request)
                return dict(result or {})
            except APIError as error:
                status = error.status_code
                if status in RETRY_STATUSES and attempt < self.max_retries:
                    wait = self._wait_seconds(attempt, error.response)
                    log.warning(
                        "alpaca %s for %s: HTTP %s, retry %d/%d in %.1fs",
                        what,
                        ",".join(symbols),
                        status,
                        attempt + 1,
                        self.max_retries,
                        wait,
                    )
                    attempt += 1
                    self._sleep(wait)
                    continue
                body = str(error)[:300]
                where = f"alpaca {what} for {_range_text(symbols, start, end)}"
                if status in (401, 403):
                    raise SourceAuthError(
                        f"{where} failed: HTTP {status} {body} (check ALPACA_API_KEY and "
                        "ALPACA_SECRET_KEY, and that the feed is in your subscription)"
                    ) from error
                retried = f" after {attempt} retries" if attempt else ""
                raise SourceError(f"{where} failed{retried}: HTTP {status} {body}") from error
            except requests.RequestException as error:
                if attempt < self.max_retries:
                    wait = self._wait_seconds(attempt, None)
                    log.warning(
                        "alpaca %s for %s: %s, retry %d/%d in %.1fs",
                        what,
                        ",".join(symbols),
                        type(error).__name__,
                        attempt + 1,
                        self.max_retries,
                        wait,
                    )
                    attempt += 1
                    self._sleep(wait)
                    continue
                raise SourceError(
                    f"alpaca {what} for {_range_text(symbols, start, end)} failed after "
                    f"{attempt} retries: {type(error).__name__} (is {self.base_url} reachable?)"
                ) from error
            except ValueError as error:
                raise SourceError(
                    f"alpaca {what} for {_range_text(symbols, start, end)}: malformed reply "
                    f"({error})"
                ) from error

    def _wait_seconds(self, attempt: int, response: Any) -> float:
        header = None if response is None else response.headers.get("Retry-After")
        if header is not None:
            try:
                return min(max(float(header), 0.0), self.retry_max_wait_seconds)
            except ValueError:
                pass
        return min(self.retry_wait_seconds * 2**attempt, self.retry_max_wait_seconds)

    def close(self) -> None:
        """Close the HTTP session (connections are pooled by requests)."""
        self._client._session.close()
