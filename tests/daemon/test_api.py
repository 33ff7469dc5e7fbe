"""The live API over a MarketState: routes, websocket pushes, bearer token, OpenAPI."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from core.models import Aggressor, IndexTick, Trade
from daemon.api import ApiServer, SessionView, create_app, is_loopback
from daemon.market_state import MarketState
from plugins.classification import DEFAULT_CHAIN, ClassifierChain
from plugins.classifiers.rules import BUILTIN_CLASSIFIERS

RULES = {cls.name: cls for cls in BUILTIN_CLASSIFIERS}
DAY = date(2025, 3, 3)
T0 = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)  # 10:00 local
LOCAL = "http://127.0.0.1:8765"  # the Host header must name an allowed (loopback) host


def make_state() -> tuple[MarketState, SessionView]:
    state = MarketState(
        "XSTC",
        lambda: ClassifierChain([RULES[n]() for n in DEFAULT_CHAIN]),
        group_symbols=["ACB", "FPT"],
        futures_contract="41I1G3000",
    )
    state.reset(DAY)
    view = SessionView("vn30 test", "XSTC", "live", state="streaming", group_symbols=["ACB", "FPT"])
    return state, view


def test_volume_stats_route_has_the_phase_objects() -> None:
    state, view = make_state()
    state.on_event(
        Trade("ACB", T0, 22950, 100, side=Aggressor.BUY, trading_session="LO", total_volume=100)
    )
    client = TestClient(create_app(state, view), base_url=LOCAL)
    body = client.get("/api/market/volume-stats", params={"symbol": "acb"}).json()
    assert body["trading_date"] == "2025-03-03"
    for phase in ("ato", "continuous", "atc"):
        assert set(body[phase]) >= {
            "mua_chu_dong_volume",
            "ban_chu_dong_volume",
            "neutral_volume",
            "total_volume",
        }
    assert body["continuous"]["mua_chu_dong_volume"] == 100
    assert body["mua_chu_dong_value"] == 100 * 22950
    missing = client.get("/api/market/volume-stats", params={"symbol": "XYZ"})
    assert missing.status_code == 404 and "XYZ" in missing.json()["detail"]


def test_health_components_session_indices_and_openapi() -> None:
    state, view = make_state()
    state.on_event(IndexTick("VN30", T0, 1301.2, change=3.1, advances=18, declines=10))
    client = TestClient(create_app(state, view), base_url=LOCAL)
    assert client.get("/api/health").json()["events"] == 1
    assert client.get("/api/vn30-components").json() == {"group": "VN30", "symbols": ["ACB", "FPT"]}
    assert client.get("/api/sessions/current").json()["state"] == "streaming"
    assert client.get("/api/market/indices").json()["VN30"]["value"] == 1301.2
    assert client.get("/api/market/basis").json()["contract"] == "41I1G3000"
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/api/health",
        "/api/market/volume-stats",
        "/api/market/foreign",
        "/api/market/basis",
    } <= set(paths)
    assert "<title>sessiond" in client.get("/").text


def test_websocket_pushes_when_the_state_changes_and_at_most_every_250_ms() -> None:
    state, view = make_state()
    client = TestClient(create_app(state, view), base_url=LOCAL)
    with client.websocket_connect("/ws", headers={"host": "127.0.0.1:8765"}) as ws:
        first = ws.receive_json()
        assert first["market"]["version"] == state.version
        state.on_event(Trade("FPT", T0, 120000, 10, side=Aggressor.SELL, total_volume=10))
        started = time.monotonic()
        second = ws.receive_json()
        assert second["market"]["volume_stats"]["FPT"]["ban_chu_dong_volume"] == 10
        assert time.monotonic() - started <= 1.0


def test_bearer_token_is_required_when_configured() -> None:
    state, view = make_state()
    client = TestClient(create_app(state, view, token="s3cret"), base_url=LOCAL)
    assert client.get("/api/health").status_code == 401
    ok = client.get("/api/health", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")


@pytest.mark.asyncio
async def test_api_server_serves_on_loopback_inside_the_running_loop() -> None:
    state, view = make_state()
    server = ApiServer(create_app(state, view), host="127.0.0.1", port=0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.bound_port}") as client:
            response = await client.get("/api/health")
        assert response.json()["session_name"] == "vn30 test"
    finally:
        await asyncio.wait_for(server.stop(), timeout=5)


def test_state_reset_clears_previous_day_stats_through_the_api() -> None:
    state, view = make_state()
    state.on_event(Trade("ACB", T0, 22950, 100, side=Aggressor.BUY, total_volume=100))
    state.roll(T0 + timedelta(hours=5))  # 15:00 local
    client = TestClient(create_app(state, view), base_url=LOCAL)
    assert client.get("/api/market/volume-stats", params={"symbol": "ACB"}).status_code == 404
