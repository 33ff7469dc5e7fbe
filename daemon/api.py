"""HTTP API and websocket for the live state of a running session (FastAPI).

Bound to 127.0.0.1 by default. When bound beyond loopback, set ``SESSIOND_API_TOKEN`` and
every request must carry ``Authorization: Bearer <token>`` (the websocket takes it as a
``token`` query parameter, since browsers cannot set headers on websockets).

Routes (OpenAPI at ``/openapi.json``, docs at ``/docs``):

- ``GET /api/health``: liveness and counters.
- ``GET /api/vn30-components``: the session's watchlist group (VN30 components).
- ``GET /api/market/volume-stats?symbol=ACB``: active buy/sell/neutral volume and value for the
  day and for ``ato``, ``continuous``, ``atc`` (all symbols without ``symbol``).
- ``GET /api/market/foreign[?symbol=]``, ``/api/market/indices``, ``/api/market/basis``.
- ``GET /api/sessions/current``: the running session (name, exchange, mode, trading day, state).
- ``WS /ws``: pushes the session (with its clock's exchange time and phase) and the whole
  market snapshot when it changed, at most every 250 ms, and at least every second.
- ``GET /``: the dashboard (one static page, no build step).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from core import calendars, phases
from core.errors import SessiondError
from daemon.clock import perf_seconds
from daemon.market_state import MarketState

PUSH_INTERVAL_SECONDS = 0.25
"""Minimum time between two websocket pushes."""
HEARTBEAT_SECONDS = 1.0
"""A push at least this often even when the market did not change (the clock moves on)."""


@dataclass
class SessionView:
    """What the API shows of the running session; the daemon updates it in place."""

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


class Health(BaseModel):
    status: str
    session_name: str
    state: str
    events: int
    last_event: str | None


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(state: MarketState, session: SessionView, *, token: str | None = None) -> FastAPI:
    """Build the API over a live ``MarketState``; ``token`` enables bearer authentication."""
    app = FastAPI(
        title="sessiond live API",
        version="1",
        description="Live order flow, foreign flows, indices and basis of a running session.",
    )

    def authorize(request: Request) -> None:
        if token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), token):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    guarded = [Depends(authorize)]

    @app.get("/api/health", response_model=Health, dependencies=guarded)
    def health() -> Health:
        return Health(
            status="ok",
            session_name=session.session_name,
            state=session.state,
            events=state.events,
            last_event=state.last_event_ts.isoformat() if state.last_event_ts else None,
        )

    @app.get("/api/vn30-components", dependencies=guarded)
    def vn30_components() -> dict[str, Any]:
        return {"group": state.group_name, "symbols": session.group_symbols}

    @app.get("/api/market/volume-stats", dependencies=guarded)
    def volume_stats(symbol: str | None = Query(None, description="e.g. ACB")) -> dict[str, Any]:
        if symbol is None:
            return {"trading_date": _date(state), "symbols": state.order_flow.snapshot()}
        stats = state.volume_stats(symbol.upper())
        if stats is None:
            raise HTTPException(status_code=404, detail=f"no trades yet for symbol {symbol!r}")
        return {"trading_date": _date(state), **stats}

    @app.get("/api/market/foreign", dependencies=guarded)
    def foreign(symbol: str | None = None) -> dict[str, Any]:
        if symbol is None:
            return state.foreign.snapshot()
        flow = state.foreign.flow(symbol.upper())
        if flow is None:
            raise HTTPException(status_code=404, detail=f"no foreign flow yet for {symbol!r}")
        return flow.to_dict()

    @app.get("/api/market/indices", dependencies=guarded)
    def indices() -> dict[str, Any]:
        return state.indices.snapshot()

    @app.get("/api/market/basis", dependencies=guarded)
    def basis() -> dict[str, Any]:
        return state.basis.snapshot()

    @app.get("/api/sessions/current", dependencies=guarded)
    def current_session() -> dict[str, Any]:
        return {
            "session_name": session.session_name,
            "exchange": session.exchange,
            "mode": session.mode,
            "state": session.state,
            "trading_date": session.trading_date or _date(state),
            "symbols": session.symbols,
            "futures_contract": session.futures_contract,
            **session.extra,
        }

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard() -> str:
        return resources.files("daemon").joinpath("static/dashboard.html").read_text("utf-8")

    @app.websocket("/ws")
    async def updates(websocket: WebSocket) -> None:
        if token is not None and not hmac.compare_digest(
            websocket.query_params.get("token", ""), token
        ):
            await websocket.close(code=1008)
            return
        await websocket.accept()
        sent_version = -1
        sent_at = 0.0
        while True:
            if state.version != sent_version or perf_seconds() - sent_at >= HEARTBEAT_SECONDS:
                sent_version = state.version
                sent_at = perf_seconds()
                try:
                    await websocket.send_json(
                        {"session": _session_dict(session), "market": state.snapshot()}
                    )
                except (WebSocketDisconnect, RuntimeError):
                    return
            try:  # wait for the next push slot, noticing a disconnect (or shutdown) at once
                message = await asyncio.wait_for(websocket.receive(), PUSH_INTERVAL_SECONDS)
            except TimeoutError:
                continue
            if message["type"] == "websocket.disconnect":
                return

    return app


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


class ApiServer:
    """Runs the API with uvicorn inside the daemon's asyncio loop."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 8765) -> None:
        import uvicorn

        self.host, self.port = host, port
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise the bind error
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
