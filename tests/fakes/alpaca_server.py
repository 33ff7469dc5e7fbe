"""Loopback fakes of Alpaca's market data API, driven by the real alpaca-py clients.

``FakeAlpacaData``: the historical REST API (``GET /v2/stocks/{bars,trades,quotes}``) on
``127.0.0.1:<ephemeral>`` in a daemon thread. It checks the ``APCA-API-KEY-ID`` /
``APCA-API-SECRET-KEY`` headers (401 otherwise), filters canned rows by ``symbols``,
``timeframe``, ``start`` and ``end`` (inclusive, like Alpaca), orders them by symbol then time,
serves ``min(limit, page_cap)`` rows from the offset in ``page_token`` and answers
``{kind: {symbol: [rows]}, "next_page_token": base64(offset) | null}``. ``fail_next`` injects
statuses (429 carries ``Retry-After``); every request is recorded.

``FakeAlpacaStream``: the stock stream (``websockets`` server in its own thread and loop) speaking
msgpack (JSON for clients that do not send ``Content-Type: application/msgpack``) with ``t`` as
``msgpack.Timestamp``: ``connected``, auth success or ``402 auth failed``, subscription acks,
then the scripted messages whose symbol and channel are subscribed. ``drop_after`` closes the
first connection after that many data messages (to exercise reconnects); ``scripts`` gives each
connection its own messages. Fault knobs: ``feed`` is one message list shared by every
connection, resumed where a dropped connection stopped; ``drop_every`` closes a connection
(1011) after every N data messages it carried; ``delivered`` counts the data messages written
to a socket, ``drops`` the connections dropped.

See ``../shared/reference/alpaca.md`` sections 4-5 for the protocol.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgpack
from websockets.asyncio.server import ServerConnection, serve

KEY = "PKFAKEKEY1234567890"
SECRET = "fakeSecretDoNotLeak0987654321abcdef"

_KINDS = ("bars", "trades", "quotes")


def _ts(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def rfc3339(ts: datetime) -> str:
    """``2024-01-02T14:30:00Z`` (microseconds kept when present), as Alpaca writes times."""
    text = ts.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return text


class FakeAlpacaData:
    """The historical data REST API. Use as a context manager; ``url`` is the base for
    ``url_override`` / ``ALPACA_DATA_URL``.

    ``bars``: ``{timeframe: {symbol: [row, ...]}}`` (rows are wire dicts with ``t`` strings);
    ``trades`` / ``quotes``: ``{symbol: [row, ...]}``.
    """

    def __init__(
        self,
        *,
        bars: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] | None = None,
        trades: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        quotes: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        page_cap: int = 10_000,
        key: str = KEY,
        secret: str = SECRET,
        retry_after: str | None = "0",
    ) -> None:
        self.bars = {tf: {s: list(r) for s, r in by.items()} for tf, by in (bars or {}).items()}
        self.trades = {s: list(r) for s, r in (trades or {}).items()}
        self.quotes = {s: list(r) for s, r in (quotes or {}).items()}
        self.page_cap = page_cap
        self.key = key
        self.secret = secret
        self.retry_after = retry_after
        self.fail_next: list[int] = []
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAlpacaData:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAlpacaData:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling ----------------------------------------------------------------------

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]

    def _reply(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((parts.path, query, dict(handler.headers.items())))
            injected = self.fail_next.pop(0) if self.fail_next else None
        if (
            handler.headers.get("APCA-API-KEY-ID") != self.key
            or handler.headers.get("APCA-API-SECRET-KEY") != self.secret
        ):
            self._reply(handler, 401, {"code": 40110000, "message": "request is not authorized"})
            return
        if injected is not None:
            headers = (
                {"Retry-After": self.retry_after} if injected == 429 and self.retry_after else {}
            )
            message = "too many requests" if injected == 429 else "internal server error"
            self._reply(handler, injected, {"code": injected * 100000, "message": message}, headers)
            return
        kind = parts.path.rsplit("/", 1)[-1]
        if (
            not parts.path.startswith("/v2/stocks/")
            or kind not in _KINDS
            or parts.path.count("/") != 3
        ):
            self._reply(handler, 404, {"code": 40410000, "message": "endpoint not found"})
            return
        try:
            symbols = [s for s in query["symbols"].split(",") if s]
            start = _ts(query["start"]) if "start" in query else None
            end = _ts(query["end"]) if "end" in query else None
            limit = int(query.get("limit", "1000"))
        except (KeyError, ValueError) as error:
            self._reply(handler, 422, {"code": 42210000, "message": f"invalid query: {error}"})
            return
        if kind == "bars":
            source = self.bars.get(query.get("timeframe", ""), {})
        else:
            source = self.trades if kind == "trades" else self.quotes
        rows: list[tuple[str, Mapping[str, Any]]] = []
        for symbol in sorted(set(symbols)):
            for row in sorted(source.get(symbol, ()), key=lambda r: _ts(r["t"])):
                t = _ts(row["t"])
                if (start is None or t >= start) and (end is None or t <= end):
                    rows.append((symbol, row))
        offset = 0
        if query.get("page_token"):
            offset = int(base64.b64decode(query["page_token"]).decode())
        size = max(1, min(limit, self.page_cap))
        page = rows[offset : offset + size]
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for symbol, row in page:
            grouped.setdefault(symbol, []).append(row)
        following = offset + size
        token = (
            base64.b64encode(str(following).encode()).decode() if following < len(rows) else None
        )
        self._reply(handler, 200, {kind: grouped, "next_page_token": token})


# --------------------------------------------------------------------------------------------
# Stream
# --------------------------------------------------------------------------------------------

_CHANNEL_OF_TYPE = {
    "t": "trades",
    "q": "quotes",
    "b": "bars",
    "u": "updatedBars",
    "d": "dailyBars",
    "s": "statuses",
    "l": "lulds",
}
_CHANNELS = (
    "trades",
    "quotes",
    "bars",
    "updatedBars",
    "dailyBars",
    "statuses",
    "lulds",
    "corrections",
    "cancelErrors",
)


def _wire(message: Mapping[str, Any], msgpack_client: bool) -> dict[str, Any]:
    out = dict(message)
    if "t" in out:
        ts = _ts(out["t"])
        out["t"] = msgpack.Timestamp.from_datetime(ts) if msgpack_client else rfc3339(ts)
    return out


class FakeAlpacaStream:
    """The stock stream. ``url`` is the full ``ws://127.0.0.1:<port>/v2/iex`` URL.

    ``messages``: scripted market-data messages (``T``, ``S``, ``t`` as string/datetime) sent
    after each subscription to the connection that subscribed, unless ``scripts`` gives each
    connection (by index) its own list; ``pace_seconds`` waits that long between two scripted
    messages (as a market would). ``received`` records every client message per connection;
    ``auth_attempts`` counts logins.
    """

    def __init__(
        self,
        messages: Iterable[Mapping[str, Any]] = (),
        *,
        scripts: Sequence[Sequence[Mapping[str, Any]]] | None = None,
        key: str = KEY,
        secret: str = SECRET,
        drop_after: int | None = None,
        auth_error: tuple[int, str] = (402, "auth failed"),
        feed: Iterable[Mapping[str, Any]] | None = None,
        drop_every: int | None = None,
        pace_seconds: float = 0.0,
    ) -> None:
        self.pace_seconds = pace_seconds
        self.feed = deque(feed) if feed is not None else None
        self.drop_every = drop_every
        self.delivered = 0
        self.drops = 0
        self.messages = list(messages)
        self.scripts = [list(s) for s in scripts] if scripts is not None else None
        self.key = key
        self.secret = secret
        self.drop_after = drop_after
        self.auth_error = auth_error
        self.received: list[list[dict[str, Any]]] = []
        self.auth_attempts = 0
        self.connections = 0
        self.closed_by_client = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/v2/iex"

    def start(self) -> FakeAlpacaStream:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake alpaca stream did not start")
        return self

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.get_running_loop().create_future()
        async with serve(self._handler, "127.0.0.1", 0) as server:
            self._port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        loop, future = self._loop, self._stop
        if loop is not None and future is not None and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: None if future.done() else future.set_result(None))
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> FakeAlpacaStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscribe message received, in order, across connections."""
        return [m for conn in self.received for m in conn if m.get("action") == "subscribe"]

    async def _handler(self, ws: ServerConnection) -> None:
        index = self.connections
        self.connections += 1
        log: list[dict[str, Any]] = []
        self.received.append(log)
        content_type = ws.request.headers.get("Content-Type") if ws.request else None
        use_msgpack = content_type == "application/msgpack"

        async def send(messages: Sequence[Mapping[str, Any]]) -> None:
            wired = [_wire(m, use_msgpack) for m in messages]
            await ws.send(msgpack.packb(wired) if use_msgpack else json.dumps(wired))

        subscribed: dict[str, set[str]] = {channel: set() for channel in _CHANNELS}
        authed = False
        sent = 0
        await send([{"T": "success", "msg": "connected"}])
        try:
            async for raw in ws:
                message = msgpack.unpackb(raw) if isinstance(raw, bytes) else json.loads(raw)
                log.append(message)
                action = message.get("action")
                if action == "auth":
                    self.auth_attempts += 1
                    if message.get("key") == self.key and message.get("secret") == self.secret:
                        authed = True
                        await send([{"T": "success", "msg": "authenticated"}])
                    else:
                        code, text = self.auth_error
                        await send([{"T": "error", "code": code, "msg": text}])
                elif not authed:
                    await send([{"T": "error", "code": 401, "msg": "not authenticated"}])
                elif action in ("subscribe", "unsubscribe"):
                    for channel in _CHANNELS:
                        for symbol in message.get(channel, ()):
                            if action == "subscribe":
                                subscribed[channel].add(symbol)
                            else:
                                subscribed[channel].discard(symbol)
                    await send(
                        [{"T": "subscription", **{c: sorted(s) for c, s in subscribed.items()}}]
                    )
                    if action == "subscribe" and self.feed is not None:
                        carried = 0
                        while self.feed:
                            item = self.feed.popleft()
                            try:
                                await send([item])
                            except Exception:
                                self.feed.appendleft(item)  # not delivered: the next connection
                                raise
                            self.delivered += 1
                            carried += 1
                            if self.drop_every and carried % self.drop_every == 0:
                                self.drops += 1
                                await ws.close(1011, "fake drop")
                                return
                    elif action == "subscribe":
                        script = self.messages
                        if self.scripts is not None:
                            script = self.scripts[index] if index < len(self.scripts) else []
                        for item in script:
                            channel = _CHANNEL_OF_TYPE.get(item.get("T", ""))
                            wanted = subscribed.get(channel or "", set())
                            if item.get("S") in wanted or "*" in wanted:
                                if self.pace_seconds and sent:
                                    await asyncio.sleep(self.pace_seconds)
                                await send([item])
                                sent += 1
                                if (
                                    self.drop_after is not None
                                    and index == 0
                                    and sent >= self.drop_after
                                ):
                                    await ws.close(1011, "fake drop")
                                    return
                else:
                    await send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
        except Exception:
            return
        self.closed_by_client += 1
