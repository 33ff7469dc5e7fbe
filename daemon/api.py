"""HTTP API and websocket for the live state of running sessions (FastAPI).

One app serves every session of a process: ``sessiond run`` has one, ``sessiond daemon`` as
many as it was given configs. Routes (OpenAPI at ``/openapi.json``, docs at ``/docs``):

- ``GET /healthz``: the process is up. ``GET /readyz``: the store is reachable, the streams
  are connected and the clock is sane (``503`` naming the failed checks otherwise). Both are
  unauthenticated and say nothing else (no names, URLs, errors or counts).
- ``GET /metrics``: Prometheus text exposition (``daemon.prometheus``), when the process
  provides it.
- ``GET /api/sessions``: the sessions served (name, exchange, mode, state, trading day).
- ``GET /api/sessions/{session}``: one session; ``/api/sessions/{session}/health``,
  ``/api/sessions/{session}/market/...`` ...: its routes below, scoped. Without the scope
  (``/api/health``, ``/api/market/...``, ``/api/sessions/current``, ``/ws``, the dashboard)
  the routes serve the *default* session: the only one, or the first config given.
- ``GET /api/health``: liveness and counters of the session.
- ``GET /api/vn30-components``: the session's watchlist group (VN30 components).
- ``GET /api/market/volume-stats?symbol=ACB``: active buy/sell/neutral volume and value for the
  day and for ``ato``, ``continuous``, ``atc`` (all symbols without ``symbol``).
- ``GET /api/market/foreign[?symbol=]``, ``/api/market/indices``, ``/api/market/basis``.
- ``GET /api/sessions/current``: the default session (name, exchange, mode, trading day, state).
- ``WS /ws[?session=NAME]``: pushes the session (with its clock's exchange time and phase) and
  the whole market snapshot when it changed, at most every 250 ms, and at least every second.
- ``GET /``: the dashboard (one static page, no build step).

**Security** (:class:`ApiOptions`, from ``SESSIOND_API_*``; see docs/operations.md):

- Bound to 127.0.0.1 by default; beyond loopback a token is required. With
  ``SESSIOND_API_TOKEN`` set, *every* route but ``/healthz`` and ``/readyz`` needs
  ``Authorization: Bearer <token>``, docs and OpenAPI included; the pages a browser opens
  (``/``, ``/docs``, ``/redoc``, ``/openapi.json``) and ``/ws`` also take ``?token=``.
  Tokens are compared in constant time as bytes: a malformed or non-ASCII credential is a
  ``401``, never a server error.
- ``Host`` must name an allowed host (loopback names, the bound address, and
  ``SESSIOND_API_ALLOWED_HOSTS``), else ``400``: a DNS-rebinding page cannot reach the API.
- ``/ws`` refuses (``403``) a browser ``Origin`` whose host is not allowed (or listed in
  ``SESSIOND_API_CORS_ORIGINS``): a page of another site cannot read the live data.
- CORS is off unless ``SESSIOND_API_CORS_ORIGINS`` lists origins (GET only).
- Server limits (header size and read time, keep-alive, connections, websocket message size):
  ``daemon.http_limits``.

(No ``from __future__ import annotations`` here: FastAPI resolves the ``Annotated``
dependencies of the route closures from their annotations at definition time.)
"""

import asyncio
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    HTTPException,
    Path,
    Query,
    Request,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from core import calendars, phases
from core.errors import SessiondError, SettingsError
from daemon.clock import perf_seconds
from daemon.http_limits import ServerLimits, uvicorn_options
from daemon.market_state import MarketState

PUSH_INTERVAL_SECONDS = 0.25
"""Minimum time between two websocket pushes."""
HEARTBEAT_SECONDS = 1.0
"""A push at least this often even when the market did not change (the clock moves on)."""

DEFAULT_API_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8765
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
"""``Host`` names always allowed (a browser on the daemon's machine)."""

_BROWSER_PAGES = frozenset({"/", "/docs", "/redoc", "/openapi.json"})
"""GET routes a browser opens by URL: they also accept the token as ``?token=``."""


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """Where the live API listens and whom it lets in (see the module doc).

    ``token`` is required when ``host`` is not loopback. ``allowed_hosts``: ``Host`` names
    allowed besides the loopback names and ``host`` itself. ``cors_origins``: origins allowed
    cross-origin reads (and ``/ws``). ``docs``: serve ``/docs``, ``/redoc``, ``/openapi.json``.
    """

    host: str = DEFAULT_API_HOST
    port: int = DEFAULT_API_PORT
    token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    docs: bool = True
    limits: ServerLimits = field(default_factory=ServerLimits)

    def check(self) -> None:
        if not is_loopback(self.host) and not self.token:
            raise SettingsError(
                f"--api-host {self.host} is not a loopback address: set SESSIOND_API_TOKEN "
                "(clients then send 'Authorization: Bearer <token>'), or bind 127.0.0.1"
            )

    def host_allowlist(self) -> list[str]:
        """``Host`` names the API answers: loopback, the bound address, ``allowed_hosts``."""
        hosts = list(LOOPBACK_HOSTS)
        bound = self.host
        if bound not in ("0.0.0.0", "::", ""):
            hosts.append(f"[{bound}]" if ":" in bound and not bound.startswith("[") else bound)
        hosts.extend(h.lower() for h in self.allowed_hosts)
        return list(dict.fromkeys(h.lower() for h in hosts))


class ApiSettings(BaseSettings):
    """``SESSIOND_API_*`` (env or ``.env``): the live API's security settings.

    ``SESSIOND_API_TOKEN``: bearer token (never logged). ``SESSIOND_API_ALLOWED_HOSTS``:
    comma-separated ``Host`` names to allow besides loopback (e.g. ``sessiond.internal``).
    ``SESSIOND_API_CORS_ORIGINS``: comma-separated origins (``https://ops.example``) allowed
    cross-origin reads; empty = CORS off. ``SESSIOND_API_DOCS``: ``false`` turns off the docs
    routes.
    """

    model_config = SettingsConfigDict(env_prefix="SESSIOND_API_", env_file=".env", extra="ignore")

    token: SecretStr | None = None
    allowed_hosts: str = ""
    cors_origins: str = ""
    docs: bool = True

    def token_value(self) -> str | None:
        value = self.token.get_secret_value().strip() if self.token is not None else ""
        return value or None

    def options(self, host: str = DEFAULT_API_HOST, port: int = DEFAULT_API_PORT) -> ApiOptions:
        return ApiOptions(
            host,
            port,
            self.token_value(),
            allowed_hosts=_split(self.allowed_hosts),
            cors_origins=_split(self.cors_origins),
            docs=self.docs,
        )


# --------------------------------------------------------------------------------------------
# What the API serves
# --------------------------------------------------------------------------------------------


@dataclass
class SessionView:
    """What the API shows of a running session; the daemon updates it in place."""

    session_name: str
    exchange: str
    mode: str
    state: str = "created"
    trading_date: str | None = None
    symbols: list[str] = field(default_factory=list)
    group_symbols: list[str] = field(default_factory=list)
    futures_contract: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], datetime] | None = None
    """The session's clock (live, or a demo's faster one): the dashboard shows its time and the
    exchange phase at it."""


@dataclass
class ApiSession:
    """One session the API serves: its view and its live market state (None for sessions
    without one, e.g. backtests run by the daemon)."""

    view: SessionView
    state: MarketState | None
    _push: tuple[Any, str] | None = field(default=None, repr=False)

    def push_text(self) -> str:
        """The websocket push of the state's current version (and the session's clock second),
        serialized once for every client (a dashboard per operator costs one snapshot, not
        one each)."""
        assert self.state is not None
        session = _session_dict(self.view)
        key = (self.state.version, session["local_time"], session["state"])
        cached = self._push
        if cached is None or cached[0] != key:
            payload = {"session": session, "market": self.state.snapshot()}
            cached = self._push = (key, json.dumps(payload))
        return cached[1]


class Health(BaseModel):
    status: str
    session_name: str
    state: str
    events: int
    last_event: str | None


class Readiness(BaseModel):
    """``/readyz``: ``ready`` or ``not ready`` and each check's outcome (names only)."""

    status: str
    checks: dict[str, bool]


ReadinessProbe = Callable[[], Awaitable[dict[str, bool]]]
"""``await probe()`` -> ``{check name: passed}`` (``store``, ``streams``, ``clock``)."""

MetricsExposition = Callable[[], tuple[bytes, str]]
"""``exposition()`` -> (body, content type) of ``/metrics``."""


# --------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------


def create_app(
    state: MarketState,
    session: SessionView,
    *,
    token: str | None = None,
    options: ApiOptions | None = None,
    readiness: ReadinessProbe | None = None,
    metrics: MetricsExposition | None = None,
) -> FastAPI:
    """The API over one session's live ``MarketState`` (``sessiond run``); ``token``
    enables bearer authentication (overrides ``options.token``)."""
    if options is None:
        options = ApiOptions(token=token)
    elif token is not None:
        options = ApiOptions(**{**_fields(options), "token": token})
    sessions = {session.session_name: ApiSession(session, state)}
    return create_service_app(sessions, options=options, readiness=readiness, metrics=metrics)


def _fields(options: ApiOptions) -> dict[str, Any]:
    return {name: getattr(options, name) for name in ApiOptions.__dataclass_fields__}


def create_service_app(
    sessions: Mapping[str, ApiSession],
    *,
    options: ApiOptions | None = None,
    default: str | None = None,
    readiness: ReadinessProbe | None = None,
    metrics: MetricsExposition | None = None,
) -> FastAPI:
    """The API over several sessions (``sessiond daemon``); ``sessions`` may grow while it
    serves. ``default``: the session of the unscoped routes (else the first one)."""
    options = options or ApiOptions()
    token = options.token.encode("utf-8") if options.token else None
    allowed_hosts = options.host_allowlist()
    allowed_origins = frozenset(o.rstrip("/").lower() for o in options.cors_origins)
    app = FastAPI(
        title="sessiond live API",
        version="1",
        description="Live order flow, foreign flows, indices and basis of running sessions.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    def credential_ok(request: Request | WebSocket, *, query: bool) -> bool:
        if token is None:
            return True
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, value = header.strip().partition(" ")
            return scheme.lower() == "bearer" and _same(value.strip(), token)
        given = request.query_params.get("token") if query else None
        return given is not None and _same(given, token)

    def authorize(request: Request) -> None:
        if not credential_ok(request, query=request.url.path in _BROWSER_PAGES):
            raise HTTPException(
                status_code=401,
                detail="missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    guarded = [Depends(authorize)]

    def default_session() -> ApiSession:
        name = default if default in sessions else next(iter(sessions), None)
        if name is None:
            raise HTTPException(status_code=404, detail="no session is running")
        return sessions[name]

    def scoped_session(
        session: str = Path(..., description="session_name of a running session config"),
    ) -> ApiSession:
        found = sessions.get(session)
        if found is None:
            raise HTTPException(
                status_code=404,
                detail=f"no session {session[:80]!r} in this daemon (GET /api/sessions lists them)",
            )
        return found

    # -- operations (unauthenticated health; metrics behind the token) ---------------------

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up (no other information)."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        response_model=Readiness,
        responses={503: {"model": Readiness}},
    )
    async def readyz() -> JSONResponse:
        """The store is reachable, the streams are connected and the clock is sane."""
        checks = await readiness() if readiness is not None else {}
        ready = all(checks.values())
        body = Readiness(status="ready" if ready else "not ready", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    if metrics is not None:

        @app.get(
            "/metrics",
            tags=["operations"],
            dependencies=guarded,
            response_class=Response,
            responses={200: {"content": {"text/plain": {}}}},
        )
        def prometheus_metrics() -> Response:
            """Prometheus text exposition of the process's metrics."""
            body, content_type = metrics()
            return Response(body, media_type=content_type)

    @app.get("/api/sessions", dependencies=guarded, tags=["sessions"])
    def list_sessions() -> list[dict[str, Any]]:
        """The sessions this process serves."""
        return [_session_summary(entry) for entry in list(sessions.values())]

    @app.get("/api/sessions/current", dependencies=guarded, tags=["sessions"])
    def current_session(entry: Annotated[ApiSession, Depends(default_session)]) -> dict[str, Any]:
        """The default session (the only one, or the first config given)."""
        return _session_detail(entry)

    app.include_router(_session_router(default_session), prefix="/api", dependencies=guarded)
    app.include_router(
        _session_router(scoped_session),
        prefix="/api/sessions/{session}",
        dependencies=guarded,
    )

    @app.get("/api/sessions/{session}", dependencies=guarded, tags=["sessions"])
    def session_detail(entry: Annotated[ApiSession, Depends(scoped_session)]) -> dict[str, Any]:
        """One session: name, exchange, mode, state, trading day, symbols."""
        return _session_detail(entry)

    # -- browser pages ---------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False, dependencies=guarded)
    def dashboard() -> str:
        return resources.files("daemon").joinpath("static/dashboard.html").read_text("utf-8")

    if options.docs:

        @app.get("/openapi.json", include_in_schema=False, dependencies=guarded)
        def openapi() -> JSONResponse:
            return JSONResponse(app.openapi())

        def schema_url(request: Request) -> str:
            given = request.query_params.get("token")
            return "/openapi.json" if given is None else f"/openapi.json?token={given}"

        @app.get("/docs", include_in_schema=False, dependencies=guarded)
        def swagger(request: Request) -> HTMLResponse:
            return get_swagger_ui_html(openapi_url=schema_url(request), title=app.title)

        @app.get("/redoc", include_in_schema=False, dependencies=guarded)
        def redoc(request: Request) -> HTMLResponse:
            return get_redoc_html(openapi_url=schema_url(request), title=app.title)

    # -- websocket -------------------------------------------------------------------------

    @app.websocket("/ws")
    async def updates(websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        if origin is not None and not _origin_allowed(origin, allowed_hosts, allowed_origins):
            await websocket.close(code=1008)  # before accept: HTTP 403
            return
        if not credential_ok(websocket, query=True):
            await websocket.close(code=1008)
            return
        name = websocket.query_params.get("session")
        entry = sessions.get(name) if name is not None else None
        if entry is None and name is None and sessions:
            entry = default_session()
        if entry is None or entry.state is None:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        await _push_updates(websocket, entry)

    # Outermost first: Host check, then CORS (preflights never reach the routes).
    if options.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(options.cors_origins),
            allow_methods=["GET"],
            allow_headers=["Authorization"],
        )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts, www_redirect=False)
    return app


def _session_router(resolve: Callable[..., ApiSession]) -> APIRouter:
    """The per-session routes, resolved by ``resolve`` (default or path-scoped session)."""
    router = APIRouter(tags=["market"])

    def market(entry: Annotated[ApiSession, Depends(resolve)]) -> tuple[MarketState, SessionView]:
        if entry.state is None:
            raise HTTPException(
                status_code=404,
                detail=f"session {entry.view.session_name!r} has no live market state",
            )
        return entry.state, entry.view

    @router.get("/health", response_model=Health)
    def health(entry: Annotated[ApiSession, Depends(resolve)]) -> Health:
        state = entry.state
        return Health(
            status="ok",
            session_name=entry.view.session_name,
            state=entry.view.state,
            events=state.events if state is not None else 0,
            last_event=(
                state.last_event_ts.isoformat()
                if state is not None and state.last_event_ts
                else None
            ),
        )

    @router.get("/vn30-components")
    def vn30_components(found: Annotated[Any, Depends(market)]) -> dict[str, Any]:
        state, view = found
        return {"group": state.group_name, "symbols": view.group_symbols}

    @router.get("/market/volume-stats")
    def volume_stats(
        found: Annotated[Any, Depends(market)],
        symbol: Annotated[str | None, Query(description="e.g. ACB", max_length=64)] = None,
    ) -> dict[str, Any]:
        state, _ = found
        if symbol is None:
            return {"trading_date": _date(state), "symbols": state.order_flow.snapshot()}
        stats = state.volume_stats(symbol.upper())
        if stats is None:
            raise HTTPException(status_code=404, detail=f"no trades yet for symbol {symbol!r}")
        return {"trading_date": _date(state), **stats}

    @router.get("/market/foreign")
    def foreign(
        found: Annotated[Any, Depends(market)],
        symbol: Annotated[str | None, Query(max_length=64)] = None,
    ) -> dict[str, Any]:
        state, _ = found
        if symbol is None:
            return state.foreign.snapshot()
        flow = state.foreign.flow(symbol.upper())
        if flow is None:
            raise HTTPException(status_code=404, detail=f"no foreign flow yet for {symbol!r}")
        return flow.to_dict()

    @router.get("/market/indices")
    def indices(found: Annotated[Any, Depends(market)]) -> dict[str, Any]:
        return found[0].indices.snapshot()

    @router.get("/market/basis")
    def basis(found: Annotated[Any, Depends(market)]) -> dict[str, Any]:
        return found[0].basis.snapshot()

    return router


async def _push_updates(websocket: WebSocket, entry: ApiSession) -> None:
    state = entry.state
    assert state is not None
    sent_version = -1
    sent_at = 0.0
    while True:
        if state.version != sent_version or perf_seconds() - sent_at >= HEARTBEAT_SECONDS:
            sent_version = state.version
            sent_at = perf_seconds()
            try:
                await websocket.send_text(entry.push_text())
            except (WebSocketDisconnect, RuntimeError):
                return
        try:  # wait for the next push slot, noticing a disconnect (or shutdown) at once
            message = await asyncio.wait_for(websocket.receive(), PUSH_INTERVAL_SECONDS)
        except TimeoutError:
            continue
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return


def _same(given: str, token: bytes) -> bool:
    """Constant-time comparison of a presented credential (any text) with the token."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), token)


def _origin_allowed(origin: str, hosts: list[str], origins: frozenset[str]) -> bool:
    if origin.rstrip("/").lower() in origins:
        return True
    try:
        parsed = urlsplit(origin)
        host = parsed.hostname
    except ValueError:
        return False
    if parsed.scheme not in ("http", "https") or not host:
        return False
    host = f"[{host}]" if ":" in host else host
    return host.lower() in hosts


def _date(state: MarketState) -> str | None:
    return state.trading_date.isoformat() if state.trading_date else None


def _session_dict(session: SessionView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "session_name": session.session_name,
        "exchange": session.exchange,
        "mode": session.mode,
        "state": session.state,
        "trading_date": session.trading_date,
        "symbols": session.symbols,
        "group_symbols": session.group_symbols,
        "futures_contract": session.futures_contract,
        "clock": None,
        "local_time": None,
        "timezone": None,
        "phase": None,
    }
    if session.clock is not None:
        now = session.clock()
        try:
            zone = calendars.exchange_timezone(session.exchange)
            phase = phases.phase_at(session.exchange, now).value
        except SessiondError:  # an exchange the calendars do not know: the time in UTC
            zone, phase = UTC, None
        out.update(
            clock=now.isoformat(),
            local_time=now.astimezone(zone).strftime("%H:%M:%S"),
            timezone=str(getattr(zone, "key", "UTC")),
            phase=phase,
        )
    return out


def _session_summary(entry: ApiSession) -> dict[str, Any]:
    view = entry.view
    return {
        "session_name": view.session_name,
        "exchange": view.exchange,
        "mode": view.mode,
        "state": view.state,
        "trading_date": view.trading_date
        or (_date(entry.state) if entry.state is not None else None),
    }


def _session_detail(entry: ApiSession) -> dict[str, Any]:
    view = entry.view
    return {
        **_session_summary(entry),
        "symbols": view.symbols,
        "futures_contract": view.futures_contract,
        **view.extra,
    }


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class ApiServer:
    """Runs the API with uvicorn inside the daemon's asyncio loop, with ``limits``."""

    def __init__(
        self,
        app: FastAPI,
        host: str = DEFAULT_API_HOST,
        port: int = DEFAULT_API_PORT,
        *,
        limits: ServerLimits | None = None,
    ) -> None:
        import uvicorn

        self.host, self.port = host, port
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            **uvicorn_options(limits or ServerLimits()),
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise the bind error
                raise SettingsError(
                    f"the live API cannot listen on {self.host}:{self.port} (address in use?): "
                    "pick another --api-port"
                )
            await asyncio.sleep(0.01)

    @property
    def started(self) -> bool:
        """True once the server listens."""
        return bool(self._server.started)

    @property
    def bound_port(self) -> int:
        """The actual port (useful with port 0)."""
        for server in getattr(self._server, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.port

    async def stop(self, grace_seconds: float = 2.0) -> None:
        """Stop serving; open websockets get ``grace_seconds`` before they are cut."""
        self._server.should_exit = True
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace_seconds)
        except TimeoutError:
            self._server.force_exit = True
            await self._task
