"""The SSI FastConnect live stream: classic ASP.NET SignalR 1.5 over ``websockets``/asyncio.

ssi-fc-data's ``MarketDataStream`` prints the Authorization header, never reconnects, cannot
be stopped and duplicates handlers on restart (reference §6), so this module speaks the same
protocol itself (reference §3), keeping ssi-fc-data for REST and its constants:

1. ``POST {stream_url}v2.0/signalr/negotiate?connectionData=[{"name": "FcMarketDataV2Hub"}]
   &clientProtocol=1.5`` with ``Authorization: Bearer <jwt>`` -> ``ConnectionToken``,
   ``ProtocolVersion``, ``KeepAliveTimeout``;
2. websocket ``ws(s)://host/v2.0/signalr/connect?transport=webSockets&connectionToken=..``
   with the same header and ``Origin``;
3. ``{"H": "FcMarketDataV2Hub", "M": "SwitchChannels", "A": ["X-TRADE:ACB-SSI"], "I": n}``.

Because SSI leaves open whether ``SwitchChannels`` adds to or replaces a subscription, every
channel string (one channel type and its symbols) gets its own connection ("link"); all links
feed one queue. Each link:

- reconnects after a close, an error or silence (no frame, not even the ``{}`` keep-alive,
  within the keep-alive timeout) with exponential backoff and jitter, negotiating anew with a
  current token and subscribing again; the backoff series restarts only after a connection
  that stayed up ``STABLE_CONNECTION_SECONDS``; gives up after ``reconnect_max_attempts``
  consecutive failures (0 = never), ending the iterator with ``SourceError``;
- refreshes the token before it expires: opens a new connection with a fresh token, drains
  the old one, then closes it (make before break);
- decodes frames with ``parse.py``; a malformed frame or message is counted, logged without
  secrets and skipped; messages are de-duplicated by content (the exact ``Content`` text)
  over a sliding window, so overlap after a reconnect or token refresh is delivered once.

Listeners (``add_listener``) see every event; an exception in one is counted and logged and
never stops the stream. ``stop()`` closes everything and ends the iterator; it is idempotent.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlparse

import httpx
import websockets
from ssi_fc_data.model import api
from websockets.typing import Origin

from core.errors import SourceAuthError, SourceError
from core.models import replace
from plugins.sources.ssi.frames import FrameDecoder, StreamStats
from plugins.sources.ssi.redaction import REDACTOR, redacted_logger
from plugins.sources.ssi.settings import SsiSettings

log = redacted_logger(__name__)
wire_log = redacted_logger(__name__ + ".wire")
"""Given to ``websockets``: its DEBUG records include request headers, so they are scrubbed."""

HUB = api.SIGNALR_HUB_MD
STABLE_CONNECTION_SECONDS = 30.0
"""A connection up at least this long resets the reconnect backoff when it drops."""
CONNECTION_DATA = json.dumps([{"name": HUB}])
_END = object()

TokenProvider = Callable[[bool], Awaitable[str]]
"""``await provider(force)`` -> access token; ``force`` asks for a new one."""


def token_lifetime(token: str, fallback_seconds: float) -> float:
    """Seconds a JWT is valid for, from its own ``exp - iat`` (no wall clock needed); the
    fallback when it has no ``iat`` or cannot be decoded."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.replace("+", "-").replace("/", "_")))
        return float(claims["exp"]) - float(claims["iat"])
    except (IndexError, ValueError, KeyError, TypeError):
        return fallback_seconds


class _CredentialsRejected(SourceAuthError):
    """The token endpoint refused the consumer id / secret (not a stale token)."""


class _Socket:
    """One open SignalR websocket and what negotiate said about it."""

    def __init__(self, ws: Any, token: str, keepalive_timeout: float, refresh_at: float) -> None:
        self.ws = ws
        self.token = token
        self.keepalive_timeout = keepalive_timeout
        self.refresh_at = refresh_at


class SsiStream:
    """Channels of the SSI stream as one async iterator of core models (see module doc)."""

    def __init__(
        self,
        settings: SsiSettings,
        channels: Sequence[str],
        token_provider: TokenProvider,
        *,
        clock: Callable[[], datetime] | None = None,
        default_trading_date: str | None = None,
        symbol_map: dict[str, str] | None = None,
        transform: Callable[[Any], Iterable[Any]] | None = None,
        frame_sink: Callable[[str, str | bytes], Any] | None = None,
        dedupe_window: int = 50_000,
        rng: random.Random | None = None,
    ) -> None:
        if not channels:
            raise SourceError("SSI stream needs at least one channel (e.g. 'X-TRADE:ACB')")
        self._settings = settings
        self.channels = list(dict.fromkeys(channels))
        self._token_provider = token_provider
        self._clock = clock
        self._symbol_map = symbol_map or {}
        self._transform = transform
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._listeners: list[Callable[[Any], Any]] = []
        self._rng = rng or random.Random()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._stopped = False
        self._stopper: asyncio.Task[None] | None = None
        self.stats = StreamStats()
        self._decoder = FrameDecoder(
            self.stats, default_trading_date=default_trading_date, dedupe_window=dedupe_window
        )
        self._frame_sink = frame_sink
        self.connected = asyncio.Event()
        """Set once every link has received its first frame."""
        self._connected_links: set[str] = set()

    # ------------------------------------------------------------------ public API
    def add_listener(self, listener: Callable[[Any], Any]) -> None:
        """Call ``listener(event)`` for every event (before it is queued for iteration)."""
        self._listeners.append(listener)

    async def start(self) -> None:
        """Start one supervised link per channel (returns at once; idempotent)."""
        if self._started or self._stopped:
            return
        self._started = True
        for channel in self.channels:
            self._tasks.append(asyncio.create_task(self._run_link(channel), name=f"ssi-{channel}"))

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        if not self._started:
            await self.start()
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._queue.put_nowait(_END)
            raise item
        return item

    async def stop(self) -> None:
        """Close every connection and end the iterator. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._queue.put_nowait(_END)

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def is_connected(self) -> bool:
        """True while every link has an open, subscribed connection."""
        return not self._stopped and len(self._connected_links) == len(self.channels)

    def counters(self) -> dict[str, int]:
        """The stream's counters (``LiveSubscription.counters``): reconnects, silences,
        token refreshes, auth failures, malformed and duplicate messages, server errors."""
        stats = self.stats
        return {
            "reconnects": stats.reconnects,
            "silences": stats.silences,
            "token_refreshes": stats.token_refreshes,
            "auth_failures": stats.auth_failures,
            "malformed": stats.malformed,
            "duplicates": stats.duplicates,
            "server_errors": stats.server_errors,
            "handler_errors": stats.handler_errors,
        }

    # ------------------------------------------------------------------ supervision
    async def _run_link(self, channel: str) -> None:
        failures = 0
        ever_connected = False
        new_token = False  # after a rejected token, ask for a fresh one
        socket: _Socket | None = None
        loop = asyncio.get_running_loop()
        try:
            while not self._stopped:
                opened_at: float | None = None
                try:
                    socket = await self._open(channel, force_token=new_token)
                    opened_at = loop.time()
                    if ever_connected:
                        self.stats.reconnects += 1
                    ever_connected = True
                    new_token = False
                    self._mark_connected(channel)
                    await self._pump(channel, socket)
                except asyncio.CancelledError:
                    raise
                except _CredentialsRejected as error:
                    # retrying cannot help: end the stream with the reason
                    self._queue.put_nowait(SourceAuthError(str(error)))
                    self._stopper = asyncio.get_running_loop().create_task(self.stop())
                    return
                except SourceAuthError as error:
                    new_token = True
                    self.stats.auth_failures += 1
                    failures += 1
                    log.warning("SSI stream %s: %s", channel, error)
                except Exception as error:  # network, protocol, silence: all retried
                    failures += 1
                    log.warning(
                        "SSI stream %s: connection lost or failed (%s: %s)",
                        channel,
                        type(error).__name__,
                        REDACTOR.scrub(str(error))[:200],
                    )
                finally:
                    self._connected_links.discard(channel)
                    if socket is not None:
                        await self._close(socket)
                        socket = None
                if self._stopped:
                    return
                if opened_at is not None and loop.time() - opened_at >= STABLE_CONNECTION_SECONDS:
                    failures = 1  # it was up long enough: this drop starts a new series
                # (a connection that drops right after opening keeps the series growing, so a
                # server that accepts and drops at once is not hammered)
                limit = self._settings.reconnect_max_attempts
                if limit and failures > limit:
                    self._queue.put_nowait(
                        SourceError(
                            f"SSI stream {channel}: gave up after {limit} failed reconnect attempts "
                            "(SSI_RECONNECT_MAX_ATTEMPTS); check the network and SSI_STREAM_URL"
                        )
                    )
                    # the whole stream ends: close the other links too
                    self._stopper = asyncio.get_running_loop().create_task(self.stop())
                    return
                await asyncio.sleep(self._backoff(max(failures, 1)))
        except asyncio.CancelledError:
            return

    def _backoff(self, failures: int) -> float:
        base = self._settings.reconnect_initial_seconds * (2 ** (failures - 1))
        delay = min(self._settings.reconnect_max_seconds, base) * self._rng.uniform(0.5, 1.0)
        self.stats.backoff_delays.append(delay)
        del self.stats.backoff_delays[:-100]
        return delay

    def _mark_connected(self, channel: str) -> None:
        self._connected_links.add(channel)
        if len(self._connected_links) == len(self.channels):
            self.connected.set()

    async def _pump(self, channel: str, socket: _Socket) -> None:
        """Read frames until the socket closes or goes silent; refresh the token on time.

        The caller closes ``socket``; a socket opened here by a token refresh is closed here.
        """
        loop = asyncio.get_running_loop()
        original = socket
        try:
            while not self._stopped:
                until_refresh = socket.refresh_at - loop.time()
                if until_refresh <= 0:
                    socket = await self._refresh(channel, socket)
                    continue
                wait = min(socket.keepalive_timeout, until_refresh)
                try:
                    text = await asyncio.wait_for(socket.ws.recv(), wait)
                except TimeoutError:
                    if socket.refresh_at - loop.time() <= 0:
                        continue
                    self.stats.silences += 1
                    raise SourceError(
                        f"no frame or keep-alive for {socket.keepalive_timeout:g} s "
                        "(silent connection)"
                    ) from None
                self._on_frame(channel, text)
        finally:
            if socket is not original:
                await self._close(socket)

    async def _refresh(self, channel: str, old: _Socket) -> _Socket:
        """Make before break: connect with a fresh token, drain the old socket, close it."""
        try:
            new = await self._open(channel, force_token=True)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning(
                "SSI stream %s: token refresh failed (%s); will retry",
                channel,
                REDACTOR.scrub(str(error))[:200],
            )
            old.refresh_at = asyncio.get_running_loop().time() + max(1.0, old.keepalive_timeout)
            return old
        self.stats.token_refreshes += 1
        with contextlib.suppress(Exception):
            while True:
                text = await asyncio.wait_for(old.ws.recv(), 0.05)
                self._on_frame(channel, text)
        await self._close(old)
        return new

    # ------------------------------------------------------------------ connecting
    async def _open(self, channel: str, *, force_token: bool = False) -> _Socket:
        settings = self._settings
        try:
            token = await self._token_provider(force_token)
        except SourceAuthError as error:
            raise _CredentialsRejected(str(error)) from None
        REDACTOR.add(token)
        loop = asyncio.get_running_loop()
        lifetime = token_lifetime(token, settings.token_lifetime_seconds)
        refresh_at = loop.time() + max(0.05, lifetime - settings.token_refresh_margin_seconds)
        headers = {"Authorization": f"Bearer {token}"}
        base = settings.stream_url + api.SIGNALR
        query = urlencode({"connectionData": CONNECTION_DATA, "clientProtocol": "1.5"})
        async with httpx.AsyncClient(
            timeout=settings.connect_timeout_seconds, trust_env=False
        ) as http:
            try:
                reply = await http.post(f"{base}/negotiate?{query}", headers=headers)
            except httpx.HTTPError as error:
                raise SourceError(f"SSI negotiate failed: {type(error).__name__}") from None
        if reply.status_code == 401:
            raise SourceAuthError(
                "SSI negotiate answered 401 (token rejected); fetching a new token"
            )
        if reply.status_code != 200:
            raise SourceError(f"SSI negotiate answered HTTP {reply.status_code}")
        try:
            negotiated = reply.json()
            connection_token = str(negotiated["ConnectionToken"])
            protocol = str(negotiated.get("ProtocolVersion") or "1.5")
            server_keepalive = negotiated.get("KeepAliveTimeout")
        except (ValueError, KeyError, TypeError):
            raise SourceError(
                "SSI negotiate reply is not the SignalR JSON (no ConnectionToken)"
            ) from None
        keepalive = settings.keepalive_timeout_seconds or float(server_keepalive or 20.0)

        parsed = urlparse(base)
        scheme = "wss" if parsed.scheme == "https" else "ws"
        connect_query = urlencode(
            {
                "transport": "webSockets",
                "connectionToken": connection_token,
                "connectionData": CONNECTION_DATA,
                "clientProtocol": protocol,
            },
            quote_via=quote,
        )
        uri = f"{scheme}://{parsed.netloc}{parsed.path}/connect?{connect_query}"
        try:
            ws = await asyncio.wait_for(
                websockets.connect(
                    uri,
                    additional_headers=headers,
                    origin=Origin(f"{parsed.scheme}://{parsed.netloc}"),
                    open_timeout=settings.connect_timeout_seconds,
                    ping_interval=None,
                    compression=None,
                    proxy=None,
                    max_size=16 * 2**20,
                    logger=wire_log,
                ),
                settings.connect_timeout_seconds,
            )
        except websockets.InvalidStatus as error:
            status = error.response.status_code
            if status in (401, 403):
                raise SourceAuthError(f"SSI stream connect refused (HTTP {status})") from None
            raise SourceError(f"SSI stream connect answered HTTP {status}") from None
        socket = _Socket(ws, token, keepalive, refresh_at)
        try:
            # invocation ids count per connection from 0, as ssi-fc-data does
            await ws.send(json.dumps({"H": HUB, "M": "SwitchChannels", "A": [channel], "I": 0}))
            # the first frame (init, invoke result or data) confirms the connection
            text = await asyncio.wait_for(ws.recv(), settings.connect_timeout_seconds)
        except BaseException:
            await self._close(socket)
            raise
        self.stats.connects += 1
        log.info("SSI stream %s: connected and subscribed", channel)
        self._on_frame(channel, text)
        return socket

    @staticmethod
    async def _close(socket: _Socket) -> None:
        try:
            await asyncio.wait_for(socket.ws.close(), 1.0)
        except BaseException:  # noqa: BLE001 - closing is best effort
            transport = getattr(socket.ws, "transport", None)
            if transport is not None:
                transport.abort()

    # ------------------------------------------------------------------ frames -> events
    def _on_frame(self, channel: str, text: str | bytes) -> None:
        if self._frame_sink is not None:
            try:
                self._frame_sink(channel, text)
            except Exception:  # noqa: BLE001 - journaling never stops the stream
                self.stats.handler_errors += 1
                log.exception("SSI stream frame sink failed")
        ts_received = self._clock() if self._clock is not None else None
        for event in self._decoder.decode(channel, text, ts_received):
            self._deliver(event)

    def _deliver(self, event: Any) -> None:
        if self._symbol_map:
            symbol = getattr(event, "symbol", None)
            mapped = self._symbol_map.get(symbol) if symbol is not None else None
            if mapped is not None and mapped != symbol:
                event = replace(event, symbol=mapped)
        if self._transform is None:
            self._emit(event)
            return
        try:
            produced = list(self._transform(event))
        except Exception:  # noqa: BLE001 - like a listener: never kills the stream
            self.stats.handler_errors += 1
            log.exception("SSI stream transform failed on a %s event", type(event).__name__)
            return
        for item in produced:
            self._emit(item)

    def _emit(self, event: Any) -> None:
        self.stats.events += 1
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a listener never kills the stream
                self.stats.handler_errors += 1
                log.exception(
                    "SSI stream listener %r failed on a %s event",
                    getattr(listener, "__name__", listener),
                    type(event).__name__,
                )
        self._queue.put_nowait(event)
