"""SSI FastConnect REST, through ssi-fc-data's ``MarketDataClient``, made safe to depend on.

The library call paths are used as they are (token endpoint, ``requests`` GETs, the access
token cached until fewer than 3600 s remain); around them this module adds what the library
lacks (``../shared/reference/ssi_fastconnect.md`` §6):

- a deadline on every call, the token fetch in the constructor included: the call runs in a
  daemon worker thread that is abandoned (with its client) when it misses the deadline;
- retries with exponential backoff and jitter on transient failures (timeouts, connection
  errors, HTML or otherwise non-JSON replies, 401 with a stale token);
- envelope checks (``status`` "Success", ``data`` present) -> ``SourceError``;
- paging (``pageIndex`` 1-10 x ``pageSize`` 1000) and splitting of date ranges into windows
  of at most 30 days, bisected further when a window holds more than ten pages;
- secrets (consumer secret, token) never in messages or logs.

Methods return parsed rows (``parse.py``), dates are ``date`` objects (requests use dd/mm/yyyy).
"""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import requests
from ssi_fc_data import model
from ssi_fc_data.fc_md_client import MarketDataClient

from core.errors import SourceAuthError, SourceError
from plugins.sources.ssi import parse
from plugins.sources.ssi.redaction import REDACTOR, redacted_logger
from plugins.sources.ssi.settings import SsiSettings

log = redacted_logger(__name__)

MAX_PAGES = 10
PAGE_SIZE = 1000
MAX_WINDOW_DAYS = 30


class _Transient(Exception):
    """A failure worth retrying (message already free of secrets)."""


class _TooManyRows(SourceError):
    def __init__(self, total: int) -> None:
        super().__init__(
            f"SSI reply has {total} rows, more than {MAX_PAGES} pages of {PAGE_SIZE}; ask for less"
        )
        self.total = total


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]
    total: int


def date_windows(
    start: date, end: date, max_days: int = MAX_WINDOW_DAYS
) -> list[tuple[date, date]]:
    """Split the inclusive range ``[start, end]`` into consecutive inclusive windows of at most
    ``max_days`` calendar days."""
    if end < start:
        return []
    windows = []
    cursor = start
    step = timedelta(days=max_days - 1)
    while cursor <= end:
        window_end = min(end, cursor + step)
        windows.append((cursor, window_end))
        cursor = window_end + timedelta(days=1)
    return windows


def run_with_deadline(fn: Callable[[], Any], timeout_seconds: float, what: str) -> Any:
    """Run ``fn`` in a daemon thread; raise ``TimeoutError`` if it has not returned in time
    (the thread is abandoned: threads cannot be cancelled)."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as error:  # noqa: BLE001 - handed back to the caller
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=work, name=f"ssi-{what}", daemon=True).start()
    if not done.wait(timeout_seconds):
        raise TimeoutError(f"{what} did not answer within {timeout_seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class SsiRestClient:
    """One consumer's REST session (thread-safe; calls are serialised)."""

    def __init__(
        self, settings: SsiSettings, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._settings = settings
        secret = settings.consumer_secret.get_secret_value()
        REDACTOR.add(secret)
        self._config = SimpleNamespace(
            auth_type="Bearer",
            consumerID=settings.consumer_id,
            consumerSecret=secret,
            url=settings.url,
            stream_url=settings.stream_url,
        )
        self._client: MarketDataClient | None = None
        self._lock = threading.Lock()
        self._sleep = sleep
        self.calls = 0
        """REST calls attempted (for diagnostics and tests)."""

    # ------------------------------------------------------------------ core call path
    def _attempt(self, what: str, call: Callable[[MarketDataClient], Any]) -> Any:
        snapshot = self._client

        def work() -> tuple[MarketDataClient, Any]:
            client = snapshot if snapshot is not None else MarketDataClient(self._config)
            return client, call(client)

        try:
            client, reply = run_with_deadline(work, self._settings.request_timeout_seconds, what)
        except TimeoutError as error:
            self._client = None  # the abandoned thread may still use it
            raise _Transient(str(error)) from None
        except NameError as error:  # the library's way of saying the token request failed
            self._client = None
            raise SourceAuthError(
                f"SSI rejected the consumer credentials ({REDACTOR.scrub(str(error))!s}); "
                "check SSI_CONSUMER_ID and SSI_CONSUMER_SECRET"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            self._client = None if snapshot is None else snapshot
            raise _Transient(
                "reply is not JSON (an HTML error page or garbage); check SSI_URL"
            ) from None
        except requests.RequestException as error:
            self._client = None
            raise _Transient(
                f"{type(error).__name__}: {REDACTOR.scrub(str(error))[:200]}"
            ) from None
        except (TypeError, KeyError, IndexError, ValueError, AttributeError) as error:
            self._client = None
            raise SourceError(
                f"SSI {what} reply is malformed ({type(error).__name__}: "
                f"{REDACTOR.scrub(str(error))[:200]})"
            ) from None
        self._client = client
        token = getattr(getattr(client, "_access_token", None), "_access_token", None)
        REDACTOR.add(token)
        return reply

    def _call(self, what: str, call: Callable[[MarketDataClient], Any]) -> Any:
        attempts = self._settings.request_retries + 1
        problem = ""
        with self._lock:
            for attempt in range(attempts):
                self.calls += 1
                try:
                    reply = self._attempt(what, call)
                    return self._check_envelope(what, reply)
                except _Transient as error:
                    problem = str(error)
                if attempt + 1 < attempts:
                    delay = self._settings.retry_backoff_seconds * (2**attempt)
                    delay *= random.uniform(0.5, 1.0)
                    log.warning(
                        "SSI %s failed (%s); retry %d/%d in %.2f s",
                        what,
                        problem,
                        attempt + 1,
                        attempts - 1,
                        delay,
                    )
                    self._sleep(delay)
        raise SourceError(f"SSI {what} failed after {attempts} attempts: {problem}")

    def _check_envelope(self, what: str, reply: Any) -> Any:
        if not isinstance(reply, dict):
            raise _Transient(f"reply is a JSON {type(reply).__name__}, not an object")
        status = reply.get("status")
        if isinstance(status, str) and status.lower() == "success" or status == 200:
            return reply
        message = REDACTOR.scrub(str(reply.get("message", "")))[:200]
        if "unauthori" in message.lower() or str(status).lower() == "unauthorized":
            self._client = None  # fetch a fresh token on the retry
            raise _Transient(f"token rejected ({message})")
        raise SourceError(f"SSI {what} answered status {status!r}: {message!r}")

    # ------------------------------------------------------------------ token
    def token(self, force: bool = False) -> str:
        """The current access token (fetched or refreshed by the library when < 1 h remains;
        ``force`` discards the cached client so that a new token is fetched)."""
        if force:
            with self._lock:
                self._client = None
        return str(
            self._call("AccessToken", lambda c: {"status": 200, "data": c._get_access_token()})[
                "data"
            ]
        )

    # ------------------------------------------------------------------ paging
    def _page(self, what: str, call: Callable[[MarketDataClient], Any]) -> Page:
        reply = self._call(what, call)
        data = reply.get("data")
        if data is None:
            data = []
        if not isinstance(data, list):
            raise SourceError(
                f"SSI {what} reply field 'data' is a {type(data).__name__}, not a list"
            )
        try:
            total = int(reply.get("totalRecord") or len(data))
        except (TypeError, ValueError):
            raise SourceError(
                f"SSI {what} reply has a bad totalRecord {reply.get('totalRecord')!r}"
            ) from None
        return Page([row for row in data if isinstance(row, dict)], total)

    def _all_pages(
        self,
        what: str,
        make: Callable[[int, int], Callable[[MarketDataClient], Any]],
        page_size: int = PAGE_SIZE,
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for page_index in range(1, MAX_PAGES + 1):
            page = self._page(f"{what} page {page_index}", make(page_index, page_size))
            if page.total > MAX_PAGES * page_size:
                raise _TooManyRows(page.total)
            rows.extend(page.rows)
            if not page.rows or len(rows) >= page.total or len(page.rows) < page_size:
                break
        return rows

    def _windowed(
        self,
        what: str,
        start: date,
        end: date,
        make: Callable[[date, date, int, int], Callable[[MarketDataClient], Any]],
        max_days: int = MAX_WINDOW_DAYS,
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        pending = list(reversed(date_windows(start, end, max_days)))
        while pending:
            lo, hi = pending.pop()
            pager = functools.partial(make, lo, hi)
            try:
                rows.extend(
                    self._all_pages(
                        f"{what} {parse.format_date(lo)}-{parse.format_date(hi)}", pager
                    )
                )
            except _TooManyRows as error:
                if lo == hi:
                    raise SourceError(
                        f"SSI {what} for {lo.isoformat()} has {error.total} rows, more than "
                        f"{MAX_PAGES} pages of {PAGE_SIZE}"
                    ) from None
                middle = lo + (hi - lo) // 2
                pending.append((middle + timedelta(days=1), hi))
                pending.append((lo, middle))
        return rows

    # ------------------------------------------------------------------ endpoints
    def securities(self, market: str = "") -> list[parse.Security]:
        rows = self._all_pages(
            f"Securities {market or 'all'}",
            lambda index, size: (
                lambda c: c.securities(self._config, model.securities(market, index, size))
            ),
        )
        return [parse.parse_security_row(row) for row in rows]

    def index_components(self, index_code: str = "VN30") -> list[str]:
        rows = self._all_pages(
            f"IndexComponents {index_code}",
            lambda index, size: (
                lambda c: c.index_components(
                    self._config, model.index_components(index_code, index, size)
                )
            ),
            page_size=100,
        )
        symbols: list[str] = []
        for row in rows:
            if str(row.get("IndexCode", index_code)).upper() == index_code.upper():
                symbols.extend(parse.parse_index_components(row))
        return list(dict.fromkeys(symbols))

    def daily_ohlc(self, symbol: str, start: date, end: date) -> list[Any]:
        rows = self._windowed(
            f"DailyOhlc {symbol}",
            start,
            end,
            lambda lo, hi, index, size: (
                lambda c: c.daily_ohlc(
                    self._config,
                    model.daily_ohlc(
                        symbol, parse.format_date(lo), parse.format_date(hi), index, size, True
                    ),
                )
            ),
        )
        return [parse.parse_daily_ohlc_row(row, symbol) for row in rows]

    def intraday_ohlc(self, symbol: str, start: date, end: date) -> list[Any]:
        rows = self._windowed(
            f"IntradayOhlc {symbol}",
            start,
            end,
            lambda lo, hi, index, size: (
                lambda c: c.intraday_ohlc(
                    self._config,
                    model.intraday_ohlc(
                        symbol, parse.format_date(lo), parse.format_date(hi), index, size, True, 1
                    ),
                )
            ),
        )
        return [parse.parse_intraday_ohlc_row(row, symbol) for row in rows]

    def daily_index(self, index_id: str, start: date, end: date) -> list[Any]:
        rows = self._windowed(
            f"DailyIndex {index_id}",
            start,
            end,
            lambda lo, hi, index, size: (
                lambda c: c.daily_index(
                    self._config,
                    model.daily_index(
                        "",
                        index_id,
                        parse.format_date(lo),
                        parse.format_date(hi),
                        index,
                        size,
                        "",
                        "",
                    ),
                )
            ),
        )
        return [parse.parse_daily_index_row(row) for row in rows]

    def daily_stock_price(self, symbol: str, start: date, end: date, market: str = "") -> list[Any]:
        rows = self._windowed(
            f"DailyStockPrice {symbol}",
            start,
            end,
            lambda lo, hi, index, size: (
                lambda c: c.daily_stock_price(
                    self._config,
                    model.daily_stock_price(
                        symbol, parse.format_date(lo), parse.format_date(hi), index, size, market
                    ),
                )
            ),
        )
        return [parse.parse_daily_stock_price_row(row) for row in rows]
