"""The live API as an attacker probes it (issue 13): each probe a test, plus a schemathesis run
against the OpenAPI schema (bounded, deterministic examples) with 0 server errors.

Probes run against the real uvicorn server (``ApiServer`` on a loopback port) with real
clients (httpx, websockets, raw sockets) where the server's own behaviour matters (limits,
raw headers); the rest go through Starlette's TestClient.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import schemathesis
import websockets
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from starlette.websockets import WebSocketDisconnect

from daemon.api import ApiOptions, ApiServer, create_app
from daemon.http_limits import ServerLimits
from tests.daemon.test_api import make_state

TOKEN = "s3cret-token"
LOCAL = "http://127.0.0.1:8765"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAGES = ("/docs", "/redoc", "/openapi.json", "/")


def client(**options: object) -> TestClient:
    state, view = make_state()
    return TestClient(create_app(state, view, options=ApiOptions(**options)), base_url=LOCAL)  # type: ignore[arg-type]


# -- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_with_a_token_the_docs_openapi_and_dashboard_need_it(path: str) -> None:
    api = client(token=TOKEN)
    denied = api.get(path)
    assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"
    assert api.get(path, headers=AUTH).status_code == 200
    assert api.get(path, params={"token": TOKEN}).status_code == 200  # a browser opens it so
    assert api.get(path, params={"token": "wrong"}).status_code == 401


def test_with_a_token_every_schema_route_needs_it_but_health_and_readiness() -> None:
    api = client(token=TOKEN)
    paths = api.get("/openapi.json", headers=AUTH).json()["paths"]
    open_paths = {"/healthz", "/readyz"}
    for path in paths:
        concrete = path.replace("{session}", "vn30 test")
        status = api.get(concrete).status_code
        assert status == (200 if path in open_paths else 401), path
        if path not in open_paths:
            assert api.get(concrete, params={"token": TOKEN}).status_code == 401, path
    assert api.get("/healthz").json() == {"status": "ok"}


def test_docs_can_be_turned_off() -> None:
    api = client(docs=False)
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert api.get(path).status_code == 404


@pytest.mark.parametrize(
    "header",
    [
        "Bearer \xc3\xa9",  # UTF-8 bytes of é, as the server decodes them (latin-1)
        "Bearer é",
        "Bearer",
        "Basic czNjcmV0",
        "bearer  " + TOKEN + "x",
        "Bearer " + "\x00",
        "",
    ],
)
def test_malformed_credentials_are_401_never_500(header: str) -> None:
    api = client(token=TOKEN)
    response = api.get("/api/health", headers={"Authorization": header.encode("latin-1")})
    assert response.status_code == 401


@pytest.fixture
async def server() -> AsyncIterator[tuple[ApiServer, str]]:
    state, view = make_state()
    limits = ServerLimits(
        max_header_bytes=8 * 1024,
        header_read_timeout_seconds=0.5,
        keep_alive_seconds=0.5,
        max_connections=40,
    )
    options = ApiOptions(port=0, token=TOKEN, limits=limits)
    api = ApiServer(create_app(state, view, options=options), "127.0.0.1", 0, limits=limits)
    await api.start()
    try:
        yield api, f"127.0.0.1:{api.bound_port}"
    finally:
        await asyncio.wait_for(api.stop(), 10)


async def test_a_non_ascii_bearer_header_on_the_real_server_is_401(
    server: tuple[ApiServer, str],
) -> None:
    _, address = server
    reader, writer = await asyncio.open_connection(*address.split(":"))
    writer.write(
        b"GET /api/health HTTP/1.1\r\nHost: " + address.encode() + b"\r\n"
        b"Authorization: Bearer \xc3\xa9\xff\r\nConnection: close\r\n\r\n"
    )
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert reply.startswith(b"HTTP/1.1 401 ")


@pytest.mark.parametrize("query", ["?token=%C3%A9", "?token=%FF", "?token=", ""])
async def test_websocket_with_a_malformed_token_is_refused_not_a_server_error(
    server: tuple[ApiServer, str], query: str
) -> None:
    _, address = server
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"ws://{address}/ws{query}"):
            pass
    assert refused.value.response.status_code == 403


async def test_websocket_with_the_token_is_served(server: tuple[ApiServer, str]) -> None:
    _, address = server
    async with websockets.connect(f"ws://{address}/ws?token={TOKEN}") as ws:
        first = await asyncio.wait_for(ws.recv(), 5)
    assert '"session_name": "vn30 test"' in first or '"session_name":"vn30 test"' in first


# -- Origin, Host, CORS --------------------------------------------------------------------------


def test_websocket_refuses_a_foreign_origin_and_accepts_its_own() -> None:
    api = client()  # the default setup: loopback, no token
    host = {"host": "127.0.0.1:8765"}
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        api.websocket_connect("/ws", headers={**host, "origin": "http://attacker.example"}) as ws,
    ):
        ws.receive_json()
    assert refused.value.code == 1008  # closed before accept: HTTP 403 on a real server
    for origin in ("http://127.0.0.1:8765", "http://localhost:8765", None):
        headers = host if origin is None else {**host, "origin": origin}
        with api.websocket_connect("/ws", headers=headers) as ws:
            assert ws.receive_json()["session"]["session_name"] == "vn30 test"


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8765", "192.168.1.9"])
def test_http_refuses_a_host_not_in_the_allowlist(host: str) -> None:
    api = client()
    assert api.get("/api/health", headers={"host": host}).status_code == 400
    assert api.get("/healthz", headers={"host": host}).status_code == 400


def test_loopback_names_and_configured_hosts_are_allowed() -> None:
    api = client(allowed_hosts=("sessiond.internal",))
    for host in ("127.0.0.1:8765", "localhost", "[::1]:8765", "sessiond.internal:8765"):
        assert api.get("/api/health", headers={"host": host}).status_code == 200, host


def test_cors_is_off_unless_configured() -> None:
    origin = {"origin": "https://ops.example"}
    off = client().get("/api/health", headers=origin)
    assert off.status_code == 200 and "access-control-allow-origin" not in off.headers
    on = client(cors_origins=("https://ops.example",)).get("/api/health", headers=origin)
    assert on.headers["access-control-allow-origin"] == "https://ops.example"
    other = client(cors_origins=("https://ops.example",)).get(
        "/api/health", headers={"origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers


# -- server limits -------------------------------------------------------------------------------


async def test_a_one_megabyte_header_is_rejected(server: tuple[ApiServer, str]) -> None:
    _, address = server
    async with httpx.AsyncClient(base_url=f"http://{address}", trust_env=False) as http:
        try:
            response = await http.get("/api/health", headers={"X-Big": "a" * 1_000_000, **AUTH})
        except httpx.HTTPError:  # the server may close before reading it all
            status = None
        else:
            status = response.status_code
        assert status in (400, 431, None)
        assert (await http.get("/api/health", headers=AUTH)).status_code == 200


async def test_half_open_connections_are_closed_after_the_header_read_timeout(
    server: tuple[ApiServer, str],
) -> None:
    _, address = server
    host, port = address.split(":")

    def slow_clients() -> tuple[int, float]:
        """60 clients that send nothing or half a request head; how many the server closed
        and how long the last one took (this thread blocks, the server runs in the loop)."""
        started = time.monotonic()
        sockets = []
        for i in range(60):  # 40 may be open at once; the others are closed at once
            sock = socket.create_connection((host, int(port)))
            if i % 2:
                sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")  # never finished
            sockets.append(sock)
        closed = 0
        for sock in sockets:
            sock.settimeout(5)
            try:
                closed += sock.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except TimeoutError:
                pass
            finally:
                sock.close()
        return closed, time.monotonic() - started

    closed, seconds = await asyncio.to_thread(slow_clients)
    assert closed == 60 and seconds < 3
    async with httpx.AsyncClient(base_url=f"http://{address}", trust_env=False) as http:
        assert (await http.get("/api/health", headers=AUTH)).status_code == 200


async def test_idle_keep_alive_connections_are_closed(server: tuple[ApiServer, str]) -> None:
    _, address = server
    reader, writer = await asyncio.open_connection(*address.split(":"))
    writer.write(f"GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200")
    await asyncio.wait_for(
        reader.readexactly(int(head.split(b"content-length: ")[1].split(b"\r\n")[0])), 5
    )
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
    assert time.monotonic() - started < 3
    writer.close()


# -- schemathesis ----------------------------------------------------------------------------------

_state, _view = make_state()
_APP = create_app(_state, _view, options=ApiOptions(token=TOKEN, allowed_hosts=("testserver",)))
schema = schemathesis.openapi.from_asgi(f"/openapi.json?token={TOKEN}", _APP)


@schema.parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_openapi_schema_gives_no_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, checks=[not_a_server_error])
    unauthenticated = case.call()
    assert unauthenticated.status_code < 500


async def test_real_server_refuses_a_websocket_from_a_foreign_origin(
    server: tuple[ApiServer, str],
) -> None:
    _, address = server
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(
            f"ws://{address}/ws?token={TOKEN}",
            origin="http://attacker.example",  # type: ignore[arg-type]
        ):
            pass
    assert refused.value.response.status_code == 403
    async with websockets.connect(
        f"ws://{address}/ws?token={TOKEN}",
        origin=f"http://{address}",  # type: ignore[arg-type]
    ) as ws:
        assert "vn30 test" in await asyncio.wait_for(ws.recv(), 5)
