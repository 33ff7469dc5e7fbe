"""A loopback fake of SSI FastConnect Data: REST + classic SignalR 1.5, as the reference §5 says.

It serves ``sessiond demo vn-live`` (``daemon.demo``) and the tests of the SSI source and the
live daemon; it shares no code with the SSI plugin (a fake must not agree with the client by
construction).

    fake = FakeSsiServer().start()          # 127.0.0.1, ephemeral port, own thread
    fake.tables["intradayohlc"] = rows      # REST rows (numbers as strings, dd/mm/yyyy)
    fake.scripts["X-TRADE"] = [[("broadcast", "X-TRADE", {...}), ("drop",)], [...]]
    ...
    fake.stop()

REST: ``POST /api/v2/Market/AccessToken`` issues a JWT-shaped token whose payload (standard
base64) holds ``exp``/``iat``; ``GET /api/v2/Market/<Endpoint>`` (case-insensitive) filters
``tables[endpoint.lower()]`` by symbol / index / market / date range and pages it, enforcing
the documented limits (pageIndex 1-10, pageSize in 10/20/50/100/500/1000, at most 30 days per
date range) and returning the string-status envelope. ``rest_failures`` scripts the next
replies: ``"html500"``, ``"garbage"``, ``("hang", seconds)``, ``"401"``.

SignalR: ``/v2.0/signalr/negotiate`` (GET or POST; ``negotiate_failures`` scripts statuses),
``/v2.0/signalr/connect`` websocket (checks the bearer token and connection token, sends the
init frame, answers each ``SwitchChannels`` invoke with ``{"I": ..}``, then plays the script
for that channel type and connection number, sending ``{}`` every ``keepalive_interval``).
Script steps: ``("broadcast", data_type, content)`` (content dict -> double-encoded; a str is
sent as the Content string as is; ``content_as_object=True`` variant: ``("broadcast_object",
dt, content)``), ``("raw", text)``, ``("sleep", s)``, ``("until", seconds_left)`` (sleeps
``seconds_left()`` seconds, re-asked until it is <= 0: pacing by a caller's clock),
``("drop",)`` (close 1011),
``("close", code)``, ``("silence",)`` (no more frames, not even keep-alives),
``("hub_error", text)``, ``("error", text)``.

Fault knobs (fault injection, ``tests/daemon/test_faults.py``):

- ``feeds[channel_type] = steps``: one script shared by *every* connection of that channel
  type, continued where the previous connection stopped (a reconnect resumes the feed), unlike
  ``scripts`` (one script per connection number);
- ``drop_every = N``: close a connection (1011) after every N broadcasts it carried;
- ``stall_every = N``: after every N broadcasts a connection goes silent (no frames, no
  keep-alives) with its socket open, until the client gives up on it;
- ``token_failures``: statuses the access-token endpoint answers next (e.g. 429, 503), and
  ``negotiate_failures`` the same for negotiate;
- ``drop_on_token_expiry`` with a short ``token_lifetime_seconds``: tokens expire mid-stream.

``broadcasts[channel_type]`` counts the broadcast frames written to a socket (what the venue
delivered), ``drops`` / ``stalls`` the faults injected.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

HUB = "FcMarketDataV2Hub"
PAGE_SIZES = {10, 20, 50, 100, 500, 1000}
MAX_RANGE_DAYS = 30


def make_token(exp: float, iat: float, serial: int) -> str:
    header = base64.b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    payload = base64.b64encode(
        json.dumps({"exp": int(exp), "iat": int(iat), "n": serial}).encode()
    ).decode()
    # the real JWT payload is base64url; ssi-fc-data decodes standard base64: avoid - and _
    assert "-" not in payload and "_" not in payload
    return f"{header}.{payload.rstrip('=')}.c2lnbmF0dXJl{serial:04d}"


def broadcast_frame(
    data_type: str, content: Any, message_id: str, *, as_object: bool = False
) -> str:
    """The exact wire frame SSI sends: Content double-encoded (or an object if ``as_object``)."""
    if as_object:
        inner: Any = content
    else:
        inner = content if isinstance(content, str) else json.dumps(content)
    envelope = json.dumps({"DataType": data_type, "Content": inner})
    return json.dumps({"C": message_id, "M": [{"H": HUB, "M": "Broadcast", "A": [envelope]}]})


@dataclass
class FakeConnection:
    """What the fake saw on one websocket connection."""

    index: int
    token: str
    channel_type: str | None = None
    subscriptions: list[str] = field(default_factory=list)
    invokes: list[dict[str, Any]] = field(default_factory=list)
    frames_sent: int = 0
    closed_by_server: bool = False
    closed_by_client: bool = False
    opened_at: float = 0.0


class FakeSsiServer:
    def __init__(
        self,
        *,
        token_lifetime_seconds: float = 8 * 3600,
        keepalive_interval: float = 10.0,
        keepalive_timeout: float = 20.0,
        drop_on_token_expiry: bool = False,
    ) -> None:
        self._defaults = (
            token_lifetime_seconds,
            keepalive_interval,
            keepalive_timeout,
            drop_on_token_expiry,
        )
        self.reset()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def reset(self) -> None:
        """Forget everything a test scripted or the fake recorded (the server keeps running),
        so one server can serve many tests."""
        (
            self.token_lifetime_seconds,
            self.keepalive_interval,
            self.keepalive_timeout,
            self.drop_on_token_expiry,
        ) = self._defaults
        self.consumer_id = "fake-consumer"
        self.consumer_secret = "fake-secret-value"
        self.tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.rest_failures: list[Any] = []
        self.rest_requests: list[tuple[str, dict[str, str]]] = []
        self.rest_tokens: list[str] = []
        self.token_requests = 0
        self.issued_tokens: list[str] = []
        self._token_exp: dict[str, float] = {}
        self.negotiate_failures: list[int] = []
        self.negotiate_tokens: list[str] = []
        self.connection_tokens: set[str] = set()
        self.scripts: dict[str, list[list[tuple[Any, ...]]]] = {}
        self.connections: list[FakeConnection] = []
        self._per_type_count: dict[str, int] = defaultdict(int)
        self._message_counter = 0
        self.feeds: dict[str, list[tuple[Any, ...]]] = {}
        self._feed_cursor: dict[str, Any] = {}
        self.drop_every: int | None = None
        self.stall_every: int | None = None
        self.token_failures: list[int] = []
        self.broadcasts: dict[str, int] = defaultdict(int)
        self.drops = 0
        self.stalls = 0

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeSsiServer:
        app = Starlette(
            routes=[
                Route("/api/v2/Market/AccessToken", self._access_token, methods=["POST"]),
                Route("/api/v2/Market/{endpoint}", self._market, methods=["GET"]),
                Route("/v2.0/signalr/negotiate", self._negotiate, methods=["GET", "POST"]),
                Route("/v2.0/signalr/start", self._start_endpoint, methods=["GET"]),
                WebSocketRoute("/v2.0/signalr/connect", self._connect),
            ]
        )
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="critical",
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-ssi", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake SSI server did not start")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    # ---------------------------------------------------------------- auth
    def issue_token(self) -> str:
        now = time.time()
        with self._lock:
            serial = len(self.issued_tokens) + 1
            token = make_token(now + self.token_lifetime_seconds, now, serial)
            self.issued_tokens.append(token)
            self._token_exp[token] = now + self.token_lifetime_seconds
        return token

    def token_expiry(self, token: str) -> float:
        return self._token_exp[token]

    def token_valid(self, token: str) -> bool:
        exp = self._token_exp.get(token)
        return exp is not None and exp > time.time()

    def _bearer(self, headers: Any) -> str:
        value = headers.get("authorization", "")
        return value[7:] if value.startswith("Bearer ") else ""

    async def _access_token(self, request: Request) -> Response:
        self.token_requests += 1
        if self.token_failures:
            status = self.token_failures.pop(0)
            return JSONResponse({"message": "failure injected", "status": status}, status)
        body = await request.json()
        if (
            body.get("consumerID") != self.consumer_id
            or body.get("consumerSecret") != self.consumer_secret
        ):
            return JSONResponse({"message": "Invalid consumer", "status": 401, "data": None})
        return JSONResponse(
            {"message": "Success", "status": 200, "data": {"accessToken": self.issue_token()}}
        )

    # ---------------------------------------------------------------- REST
    async def _market(self, request: Request) -> Response:
        endpoint = request.path_params["endpoint"].lower()
        params = dict(request.query_params)
        self.rest_requests.append((endpoint, params))
        self.rest_tokens.append(self._bearer(request.headers))
        if self.rest_failures:
            failure = self.rest_failures.pop(0)
            if failure == "html500":
                return HTMLResponse(
                    "<html><body><h1>500 Internal Server Error</h1></body></html>", 500
                )
            if failure == "garbage":
                return Response(b"\x00not json", 200, media_type="application/json")
            if failure == "401":
                return JSONResponse({"message": "Unauthorized", "status": "Unauthorized"}, 401)
            if isinstance(failure, tuple) and failure[0] == "hang":
                await asyncio.sleep(failure[1])
        if not self.token_valid(self._bearer(request.headers)):
            return JSONResponse({"message": "Unauthorized", "status": "Unauthorized"}, 401)
        try:
            page_index = int(params.get("pageIndex") or 1)
            page_size = int(params.get("pageSize") or 100)
        except ValueError:
            return self._bad("pageIndex and pageSize must be integers")
        if not 1 <= page_index <= 10 or page_size not in PAGE_SIZES:
            return self._bad(f"pageIndex {page_index} / pageSize {page_size} out of range")
        rows = list(self.tables.get(endpoint, []))
        start = _parse(params.get("fromDate"))
        end = _parse(params.get("toDate"))
        if start and end:
            if (end - start).days + 1 > MAX_RANGE_DAYS or end < start:
                return self._bad(
                    f"date range {params['fromDate']}..{params['toDate']} exceeds 30 days"
                )
            rows = [r for r in rows if start <= _parse(r["TradingDate"]) <= end]
        for param, column in (
            ("symbol", "Symbol"),
            ("indexId", "IndexId"),
            ("indexCode", "IndexCode"),
            ("market", "Market"),
        ):
            if params.get(param):
                rows = [r for r in rows if str(r.get(column, "")).upper() == params[param].upper()]
        if params.get("ascending", "True") in ("False", "false"):
            rows.reverse()
        page = rows[(page_index - 1) * page_size : page_index * page_size]
        return JSONResponse(
            {"data": page, "message": "Success", "status": "Success", "totalRecord": len(rows)}
        )

    @staticmethod
    def _bad(message: str) -> Response:
        return JSONResponse(
            {"data": None, "message": message, "status": "BadRequest", "totalRecord": 0}, 400
        )

    # ---------------------------------------------------------------- SignalR
    async def _negotiate(self, request: Request) -> Response:
        token = self._bearer(request.headers)
        self.negotiate_tokens.append(token)
        if self.negotiate_failures:
            status = self.negotiate_failures.pop(0)
            return JSONResponse({"message": "negotiate failed"}, status)
        if not self.token_valid(token):
            return Response("Unauthorized", 401)
        if request.query_params.get("clientProtocol") != "1.5":
            return Response("bad protocol", 400)
        with self._lock:
            connection_token = f"ct{len(self.connection_tokens) + 1}/+=="
            self.connection_tokens.add(connection_token)
        return JSONResponse(
            {
                "Url": "/v2.0/signalr",
                "ConnectionToken": connection_token,
                "ConnectionId": "y",
                "KeepAliveTimeout": self.keepalive_timeout,
                "DisconnectTimeout": 30.0,
                "ConnectionTimeout": 110.0,
                "TryWebSockets": True,
                "ProtocolVersion": "1.5",
                "TransportConnectTimeout": 5.0,
                "LongPollDelay": 0.0,
            }
        )

    async def _start_endpoint(self, request: Request) -> Response:
        return JSONResponse({"Response": "started"})

    def _next_message_id(self) -> str:
        with self._lock:
            self._message_counter += 1
            return f"d-FAKE-B,{self._message_counter}|C,0"

    async def _connect(self, websocket: WebSocket) -> None:
        token = self._bearer(websocket.headers)
        query = websocket.query_params
        if (
            not self.token_valid(token)
            or query.get("connectionToken") not in self.connection_tokens
            or query.get("transport") != "webSockets"
        ):
            await websocket.close(code=1008)
            return
        await websocket.accept()
        with self._lock:
            conn = FakeConnection(len(self.connections), token, opened_at=time.time())
            self.connections.append(conn)
        send_lock = asyncio.Lock()
        silent = asyncio.Event()

        async def send(text: str) -> None:
            async with send_lock:
                await websocket.send_text(text)
                conn.frames_sent += 1

        try:
            await send(json.dumps({"C": "s-0,1", "S": 1, "M": []}))
            first = await self._read_invoke(websocket, conn)
            if first is None:
                return
            await send(json.dumps({"I": str(first.get("I"))}))
            channel = str(first["A"][0])
            conn.channel_type = channel.split(":", 1)[0].upper()
            with self._lock:
                number = self._per_type_count[conn.channel_type]
                self._per_type_count[conn.channel_type] += 1
            if conn.channel_type in self.feeds:  # shared across connections: resume it
                with self._lock:
                    cursor = self._feed_cursor.get(conn.channel_type)
                    if cursor is None:
                        cursor = deque(self.feeds[conn.channel_type])
                        self._feed_cursor[conn.channel_type] = cursor
                steps: Any = _Draining(cursor)
            else:
                script = self.scripts.get(conn.channel_type, [])
                steps = script[number] if number < len(script) else []
            carried = 0

            async def keepalive() -> None:
                while not silent.is_set():
                    await asyncio.sleep(self.keepalive_interval)
                    if not silent.is_set():
                        await send("{}")

            async def reader() -> None:
                while True:
                    invoke = await self._read_invoke(websocket, conn)
                    if invoke is None:
                        conn.closed_by_client = not conn.closed_by_server
                        return
                    await send(json.dumps({"I": str(invoke.get("I"))}))

            async def expiry() -> None:
                await asyncio.sleep(max(0.0, self._token_exp.get(token, 0.0) - time.time()))
                conn.closed_by_server = True
                await websocket.close(code=1008)

            tasks = [asyncio.create_task(keepalive()), asyncio.create_task(reader())]
            if self.drop_on_token_expiry:
                tasks.append(asyncio.create_task(expiry()))
            try:
                for step in steps:
                    kind = step[0]
                    if kind == "broadcast":
                        try:
                            await send(broadcast_frame(step[1], step[2], self._next_message_id()))
                        except Exception:  # not delivered: the next connection sends it
                            if isinstance(steps, _Draining):
                                steps.put_back(step)
                            raise
                        self.broadcasts[conn.channel_type] += 1
                        carried += 1
                        if self.drop_every and carried % self.drop_every == 0:
                            self.drops += 1
                            conn.closed_by_server = True
                            await websocket.close(code=1011)
                            return
                        if self.stall_every and carried % self.stall_every == 0:
                            self.stalls += 1
                            silent.set()
                            await tasks[1]  # silent until the client gives up on the socket
                            return
                    elif kind == "broadcast_object":
                        await send(
                            broadcast_frame(
                                step[1], step[2], self._next_message_id(), as_object=True
                            )
                        )
                    elif kind == "raw":
                        await send(step[1])
                    elif kind == "sleep":
                        await asyncio.sleep(step[1])
                    elif kind == "until":
                        while (left := step[1]()) > 0:
                            await asyncio.sleep(min(left, 0.5))
                    elif kind == "hub_error":
                        await send(
                            json.dumps(
                                {
                                    "C": self._next_message_id(),
                                    "M": [{"H": HUB, "M": "Error", "A": [step[1]]}],
                                }
                            )
                        )
                    elif kind == "error":
                        await send(json.dumps({"E": step[1]}))
                    elif kind == "silence":
                        silent.set()
                    elif kind in ("drop", "close"):
                        conn.closed_by_server = True
                        await websocket.close(code=1011 if kind == "drop" else step[1])
                        return
                await tasks[1]  # until the client goes away
            finally:
                for task in tasks:
                    task.cancel()
        except (WebSocketDisconnect, RuntimeError, OSError):
            return

    @staticmethod
    async def _read_invoke(websocket: WebSocket, conn: FakeConnection) -> dict[str, Any] | None:
        try:
            text = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return None
        invoke = json.loads(text)
        conn.invokes.append(invoke)
        if invoke.get("H") != HUB or invoke.get("M") != "SwitchChannels":
            raise RuntimeError(f"unexpected invoke {invoke!r}")
        conn.subscriptions.append(str(invoke["A"][0]))
        return invoke


class _Draining:
    """Iterates a shared deque of steps, taking each out; ``put_back`` returns one."""

    def __init__(self, steps: deque[tuple[Any, ...]]) -> None:
        self.steps = steps

    def __iter__(self) -> _Draining:
        return self

    def __next__(self) -> tuple[Any, ...]:
        try:
            return self.steps.popleft()
        except IndexError:
            raise StopIteration from None

    def put_back(self, step: tuple[Any, ...]) -> None:
        self.steps.appendleft(step)


def _parse(text: str | None) -> date | None:
    if not text:
        return None
    day, month, year = text.split("/")
    return date(int(year), int(month), int(day))
