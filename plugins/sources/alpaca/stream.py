"""Alpaca's live stock stream inside the caller's asyncio loop.

alpaca-py's ``StockDataStream.run()`` owns its event loop (``asyncio.run``); sessiond's daemon
already runs one, so the subscription runs the stream's ``_run_forever()`` coroutine as a task
of the running loop. alpaca-py reconnects by itself (and re-sends the full subscription after
every reconnect) but retries rejected credentials forever; this module bounds that:
``max_auth_attempts`` rejected logins in a row end the subscription with ``SourceAuthError``,
``max_connect_attempts`` failed connects in a row with ``SourceError``. A reply of
"insufficient subscription" (e.g. ``sip`` on a free plan) ends it at once.

Messages are taken raw (``raw_data=True``: no pydantic models on the hot path) and turned into
core models by ``parse.event_from_stream``; events outside the kept trading hours are dropped
(status messages always pass). Events reach the consumer in arrival order through a bounded
queue (a slow consumer slows the socket reads rather than growing memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from alpaca.data.enums import DataFeed
from alpaca.data.live.stock import StockDataStream

from core.errors import SourceAuthError, SourceError
from core.models import Bar, MarketEvent, SecurityStatus
from plugins.sources.alpaca.hours import TradingHours
from plugins.sources.alpaca.parse import event_from_stream

log = logging.getLogger(__name__)

CHANNELS: dict[str, str] = {
    "trades": "trades",
    "quotes": "quotes",
    "bars": "bars",
    "1m": "bars",
    "updated_bars": "updatedBars",
    "updatedBars": "updatedBars",
    "daily_bars": "dailyBars",
    "dailyBars": "dailyBars",
    "1d": "dailyBars",
    "status": "statuses",
    "statuses": "statuses",
}
"""Channel names a caller may use -> Alpaca stream channel."""

IGNORED_INTERVALS = frozenset({"5m", "10m", "15m", "30m", "1h"})
"""Larger intervals in a config's streams: built by the session engine from 1m bars."""

_SUBSCRIBE = {
    "trades": "subscribe_trades",
    "quotes": "subscribe_quotes",
    "bars": "subscribe_bars",
    "updatedBars": "subscribe_updated_bars",
    "dailyBars": "subscribe_daily_bars",
    "statuses": "subscribe_trading_statuses",
}

_END = object()
"""Queue sentinel: the stream is over (see ``AlpacaLiveSubscription._error``)."""


def alpaca_channels(channels: Sequence[str]) -> list[str]:
    """Map caller channel names to Alpaca channels (order kept, duplicates dropped)."""
    mapped: list[str] = []
    for channel in channels:
        if channel in IGNORED_INTERVALS:
            continue
        target = CHANNELS.get(channel)
        if target is None:
            raise SourceError(
                f"alpaca cannot stream channel {channel!r} (expected one of "
                f"{', '.join(sorted(set(CHANNELS)))})"
            )
        if target not in mapped:
            mapped.append(target)
    if not mapped:
        raise SourceError(
            f"alpaca subscription needs at least one channel, got {list(channels)!r} "
            "(e.g. 'trades', 'quotes', 'bars')"
        )
    return mapped


class _BoundedStockDataStream(StockDataStream):
    """alpaca-py's stock stream, reporting each connect/auth outcome to the subscription."""

    def __init__(self, *args: Any, subscription: AlpacaLiveSubscription, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._subscription = subscription

    async def _connect(self) -> None:
        try:
            await super()._connect()
        except Exception as error:
            await self._subscription._connect_failed(self, error)
            raise

    async def _auth(self) -> None:
        try:
            await super()._auth()
        except ValueError as error:
            await self._subscription._auth_failed(self, str(error))
            raise
        self._subscription._authenticated()


class AlpacaLiveSubscription:
    """An async iterator of core models from Alpaca's stock stream; ``stop()`` ends it.

    The stream starts when iteration starts (``async for`` inside a running loop) or on
    ``await start()``. Iteration raises ``SourceAuthError``/``SourceError`` when the stream
    gives up (see the module docstring) and simply finishes after ``stop()``.
    """

    def __init__(
        self,
        *,
        api_key: str,
        secret_key: str,
        endpoint: str,
        feed: str,
        symbols: Sequence[str],
        channels: Sequence[str],
        hours: TradingHours | None,
        max_auth_attempts: int = 3,
        max_connect_attempts: int = 10,
        reconnect_min_backoff_seconds: float = 1.0,
        reconnect_max_backoff_seconds: float = 30.0,
        queue_size: int = 10_000,
        received_clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not symbols:
            raise SourceError("alpaca subscription needs at least one symbol")
        self.symbols = list(dict.fromkeys(symbol.upper() for symbol in symbols))
        self.channels = alpaca_channels(channels)
        self.endpoint = endpoint
        self.max_auth_attempts = max(1, max_auth_attempts)
        self.max_connect_attempts = max(1, max_connect_attempts)
        self.hours = hours
        self.connections = 0
        """Successful logins so far (1 + the number of reconnects)."""
        self.dropped = 0
        """Messages dropped: outside the kept hours, or unparseable."""
        self._received_clock = received_clock
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._error: SourceError | None = None
        self._stopped = False
        self._finished = False
        self._auth_failures = 0
        self._connect_failures = 0
        self._stream = _BoundedStockDataStream(
            api_key,
            secret_key,
            raw_data=True,
            feed=DataFeed(feed),
            url_override=endpoint,
            subscription=self,
        )
        self._stream._reconnect_min_backoff = reconnect_min_backoff_seconds
        self._stream._reconnect_max_backoff = max(
            reconnect_max_backoff_seconds, reconnect_min_backoff_seconds
        )
        for channel in self.channels:
            getattr(self._stream, _SUBSCRIBE[channel])(self._on_message, *self.symbols)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the stream in the running loop (idempotent; iteration calls it)."""
        if self._task is None and not self._stopped:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"alpaca-stream-{','.join(self.symbols)}"
            )

    async def stop(self) -> None:
        """Unsubscribe and close the socket; iteration finishes. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        await self._stream.stop_ws()
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self._stream.close()
        self._finish(None)

    async def _run(self) -> None:
        error: SourceError | None = None
        try:
            await self._stream._run_forever()
        except asyncio.CancelledError:
            raise
        except Exception as unexpected:  # alpaca-py logs and retries; this is a bug path
            error = SourceError(f"alpaca stream {self.endpoint} failed: {unexpected}")
        if error is None and self._error is None and not self._stopped:
            # _run_forever returns on its own only for "insufficient subscription".
            error = SourceAuthError(
                f"alpaca stream {self.endpoint} refused the subscription (insufficient "
                "subscription: set ALPACA_FEED=iex or upgrade the Alpaca market data plan)"
            )
        with contextlib.suppress(Exception):
            await self._stream.close()
        self._finish(error or self._error)

    def _finish(self, error: SourceError | None) -> None:
        if self._finished:
            return
        self._finished = True
        if error is not None and self._error is None:
            self._error = error
        while not self._queue.empty():  # nobody wants events after the end
            if self._stopped:
                self._queue.get_nowait()
            else:
                break
        try:
            self._queue.put_nowait(_END)
        except asyncio.QueueFull:
            self._queue.get_nowait()
            self._queue.put_nowait(_END)

    # -- callbacks from the stream -------------------------------------------------------------

    async def _connect_failed(self, stream: StockDataStream, error: Exception) -> None:
        self._connect_failures += 1
        log.warning(
            "alpaca stream %s: connect failed (%d/%d): %s",
            self.endpoint,
            self._connect_failures,
            self.max_connect_attempts,
            type(error).__name__,
        )
        if self._connect_failures >= self.max_connect_attempts:
            self._error = SourceError(
                f"alpaca stream {self.endpoint}: {self._connect_failures} connection attempts "
                f"failed in a row (last: {type(error).__name__}: {error}); check "
                "ALPACA_STREAM_URL and the network"
            )
            await stream.stop_ws()

    async def _auth_failed(self, stream: StockDataStream, message: str) -> None:
        if "connection limit" in message:
            await self._connect_failed(stream, SourceError(message))
            return
        if "insufficient subscription" in message:
            return  # alpaca-py ends _run_forever itself; _run reports it
        self._auth_failures += 1
        log.warning(
            "alpaca stream %s: login rejected (%d/%d): %s",
            self.endpoint,
            self._auth_failures,
            self.max_auth_attempts,
            message,
        )
        if self._auth_failures >= self.max_auth_attempts:
            self._error = SourceAuthError(
                f"alpaca stream {self.endpoint} rejected the credentials "
                f"{self._auth_failures} times in a row ({message!r}); check ALPACA_API_KEY "
                "and ALPACA_SECRET_KEY"
            )
            await stream.stop_ws()

    def _authenticated(self) -> None:
        self._auth_failures = 0
        self._connect_failures = 0
        self.connections += 1
        if self.connections > 1:
            log.info(
                "alpaca stream %s: reconnected (connection %d), re-subscribing %s",
                self.endpoint,
                self.connections,
                ",".join(self.channels),
            )

    async def _on_message(self, message: dict[str, Any]) -> None:
        received = self._received_clock() if self._received_clock is not None else None
        try:
            event = event_from_stream(message, received=received)
        except Exception as error:  # a malformed message must not end the stream
            self.dropped += 1
            log.warning("alpaca stream: dropped malformed %s message: %s", message.get("T"), error)
            return
        if event is None:
            return
        hours = self.hours
        if hours is not None and not isinstance(event, SecurityStatus):
            if isinstance(event, Bar) and event.interval == "1d":
                pass
            elif isinstance(event, Bar):
                if not hours.keeps_span(event.ts_event, timedelta(minutes=1)):
                    self.dropped += 1
                    return
            elif not hours.keeps(event.ts_event):
                self.dropped += 1
                return
        if not self._stopped:
            await self._queue.put(event)

    @property
    def is_connected(self) -> bool:
        """True once logged in and until stopped or finished."""
        return self.connections > 0 and not self._stopped and not self._finished

    def counters(self) -> dict[str, int]:
        """The stream's counters (``LiveSubscription.counters``): reconnects, dropped
        messages, current consecutive connect and login failures."""
        return {
            "reconnects": max(0, self.connections - 1),
            "dropped": self.dropped,
            "connect_failures": self._connect_failures,
            "auth_failures": self._auth_failures,
        }

    # -- iteration ---------------------------------------------------------------------------

    def __aiter__(self) -> AlpacaLiveSubscription:
        return self

    async def __anext__(self) -> MarketEvent:
        if self._task is None and not self._stopped:
            await self.start()
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # stay finished for later calls
            if self._error is not None:
                raise self._error
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]
