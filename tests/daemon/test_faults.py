"""Fault injection: the daemon recovers, reports each fault in its logs and metrics, and stores
everything the venue delivered (counts compared with the fake's).

Each test runs ``daemon.service.SessionDaemon`` with the live VN30 config in this process
against the loopback fake SSI server (``tests/fakes/ssi_server.py`` fault knobs) and a store
(SQLite, or PostgreSQL behind ``tests/fakes/tcp_proxy.py``), streams a few hundred distinct
trades, waits until the daemon counted them all, stops it cleanly and compares:
trades the fake wrote to a socket == trades the daemon applied == trades stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from core.config import load_session_config
from core.store import Store
from daemon.api import ApiOptions
from daemon.demo.ssi_server import FakeSsiServer
from daemon.logs import configure_logging
from daemon.service import SessionDaemon, SessionSpec
from plugins.manager import load_plugins
from plugins.recording import recorded_day
from tests.daemon.test_service import acb_trades, ssi_source
from tests.daemon.vn_live_support import LIVE_CONFIG, started, steps
from tests.fakes.tcp_proxy import TcpProxy

pytestmark = pytest.mark.timeout(120)

CLOCK_START = datetime(2026, 2, 3, 3, 0, tzinfo=UTC)  # 10:00 local
_SERIES = re.compile(r"([a-z_]+)(?:\{(.*)\})? ([0-9.e+-]+)")
_LABEL = re.compile(r'([a-z_]+)="([^"]*)"')


@dataclass
class FaultRun:
    """Trades the fake wrote to a socket, the daemon applied and the store holds; the
    ``/metrics`` text and the JSON log records of the run."""

    delivered: int
    applied: int
    stored: int
    metrics: str
    logs: list[dict[str, Any]]

    def metric(self, name: str, **labels: str) -> float:
        """The value of one series of the /metrics text (0 when absent)."""
        for line in self.metrics.splitlines():
            found = _SERIES.fullmatch(line)
            if found is None or found.group(1) != name:
                continue
            series = dict(_LABEL.findall(found.group(2) or ""))
            if series == labels:
                return float(found.group(3))
        return 0.0

    def logged(self, session: str, logger: str) -> float:
        """Warnings ``logger`` logged for ``session``, as /metrics counts them."""
        return self.metric(
            "sessiond_log_messages_total", session=session, level="WARNING", logger=logger
        )

    def warnings(self, text: str) -> list[dict[str, Any]]:
        return [r for r in self.logs if r["level"] in ("WARNING", "ERROR") and text in r["message"]]


async def run_with_faults(
    fake: FakeSsiServer,
    db_url: str,
    trades: int,
    *,
    pause: float = 0.002,
    during: Any = None,
    settings: dict[str, Any] | None = None,
) -> FaultRun:
    """Stream ``trades`` ACB trades through a daemon; ``during(daemon)`` (async) injects a
    fault while they flow."""
    fake.feeds["X-TRADE"] = [("sleep", 0.3), *steps("X-TRADE", acb_trades(trades), pause)]
    host = load_plugins()
    store = Store.from_url(db_url)
    spec = SessionSpec(load_session_config(LIVE_CONFIG), str(LIVE_CONFIG))
    sources = {"vn30_live": ssi_source(host, fake, **(settings or {}))}
    try:
        run = await drive(store, host, spec, trades, CLOCK_START, during, sources=sources)
        run.stored = len(recorded_day(store, "XSTC", CLOCK_START.date(), source="ssi"))
    finally:
        store.dispose()
    run.delivered = fake.broadcasts["X-TRADE"]
    return run


async def drive(
    store: Store,
    host: Any,
    spec: SessionSpec,
    events: int,
    clock_start: datetime,
    during: Any = None,
    *,
    sources: dict[str, Any] | None = None,
) -> FaultRun:
    """Run one session in a daemon (JSON logs captured) until its API counted ``events``
    and everything was recorded, scrape ``/metrics``, stop it cleanly."""
    name = spec.config.session_name
    log = StringIO()
    handler = configure_logging("json", "INFO", log)
    daemon = SessionDaemon(
        [spec],
        store=store,
        host=host,
        api=ApiOptions(port=0),
        clock_start=clock_start,
        sources=sources,
        heartbeat_seconds=0.2,
        flush_interval_seconds=0.1,
    )
    try:
        task = await started(daemon)
        async with httpx.AsyncClient(base_url=daemon.api_url, trust_env=False) as client:
            if during is not None:
                await during(daemon)
            deadline = time.monotonic() + 60
            health: dict[str, Any] = {}
            while time.monotonic() < deadline:
                health = (await client.get(f"/api/sessions/{name}/health")).json()
                live = daemon.sessions[name].live
                if health["events"] >= events and live.recorder.pending == 0:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # one more flush and heartbeat
            metrics = (await client.get("/metrics")).text
        daemon.stop()
        await asyncio.wait_for(task, 30)
    finally:
        logging.getLogger().removeHandler(handler)
    return FaultRun(
        delivered=-1,
        applied=health.get("events", -1),
        stored=-1,
        metrics=metrics,
        logs=[json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")],
    )


@pytest.fixture
def fake() -> Any:
    server = FakeSsiServer(keepalive_interval=0.1, keepalive_timeout=0.6).start()
    yield server
    server.stop()


def assert_nothing_lost(run: FaultRun, trades: int) -> None:
    assert run.delivered == trades, "the fake did not deliver every trade"
    assert run.applied == trades and run.stored == trades


async def test_connections_dropped_every_n_messages(fake: FakeSsiServer, tmp_path: Path) -> None:
    fake.drop_every = 40
    run = await run_with_faults(fake, f"sqlite:///{tmp_path / 'drops.db'}", 300)
    assert_nothing_lost(run, 300)
    assert fake.drops == 7
    assert run.metric("sessiond_stream_reconnects_total", session="vn30_live") >= 7
    lost = run.warnings("connection lost or failed")
    assert len(lost) >= 7 and all(r["session"] == "vn30_live" for r in lost)
    assert run.logged("vn30_live", "plugins.sources.ssi.stream") >= 7


async def test_stalled_sockets_without_keep_alives(fake: FakeSsiServer, tmp_path: Path) -> None:
    fake.stall_every = 100
    run = await run_with_faults(fake, f"sqlite:///{tmp_path / 'stalls.db'}", 250)
    assert_nothing_lost(run, 250)
    assert fake.stalls == 2
    assert run.metric("sessiond_stream_silences_total", session="vn30_live") >= 2
    assert run.metric("sessiond_stream_reconnects_total", session="vn30_live") >= 2
    assert len(run.warnings("silent connection")) >= 2


async def test_token_expiry_mid_stream(tmp_path: Path) -> None:
    fake = FakeSsiServer(
        keepalive_interval=0.1, token_lifetime_seconds=1.5, drop_on_token_expiry=True
    ).start()
    try:
        run = await run_with_faults(
            fake,
            f"sqlite:///{tmp_path / 'tokens.db'}",
            300,
            pause=0.01,  # ~3 s of stream: the token expires at least once
            settings={"token_refresh_margin_seconds": 0.5},
        )
    finally:
        fake.stop()
    assert_nothing_lost(run, 300)
    assert len(fake.issued_tokens) >= 2  # a fresh token was fetched mid-stream
    refreshes = run.metric("sessiond_stream_token_refreshes_total", session="vn30_live")
    reconnects = run.metric("sessiond_stream_reconnects_total", session="vn30_live")
    assert refreshes + reconnects >= 1


async def test_http_429_and_5xx_storm_on_reconnect(fake: FakeSsiServer, tmp_path: Path) -> None:
    fake.drop_every = 100
    fake.negotiate_failures = [429, 503, 500, 429, 502, 503, 429, 500]
    run = await run_with_faults(fake, f"sqlite:///{tmp_path / 'storm.db'}", 250)
    assert_nothing_lost(run, 250)
    assert fake.negotiate_failures == []  # the whole storm was met
    storm = run.warnings("SSI negotiate answered HTTP")
    assert {
        code for r in storm for code in ("429", "503", "500", "502") if code in r["message"]
    } == {
        "429",
        "503",
        "500",
        "502",
    }
    assert run.logged("vn30_live", "plugins.sources.ssi.stream") >= 8


async def test_sqlite_busy_while_another_connection_holds_the_write_lock(
    fake: FakeSsiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.store.engine

    monkeypatch.setattr(core.store.engine, "SQLITE_BUSY_TIMEOUT_MS", 200)  # give up waiting quickly
    path = tmp_path / "busy.db"
    Store.from_url(f"sqlite:///{path}").upgrade()

    async def hold_the_write_lock(daemon: SessionDaemon) -> None:
        await asyncio.sleep(0.6)  # trades are flowing
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer (e.g. a Dagster load) holds the lock
        await asyncio.sleep(2.0)
        other.execute("ROLLBACK")
        other.close()

    run = await run_with_faults(
        fake, f"sqlite:///{path}", 300, pause=0.01, during=hold_the_write_lock
    )
    assert_nothing_lost(run, 300)
    failures = run.metric(
        "sessiond_store_write_failures_total", session="vn30_live", writer="recorder"
    )
    assert failures >= 1
    locked = run.warnings("recording")
    assert locked and all(r["session"] == "vn30_live" for r in locked)


@pytest.mark.postgres
async def test_postgresql_restarted_during_a_session(fake: FakeSsiServer, pg_url: str) -> None:
    port = urlsplit(pg_url).port or 5432
    proxy = TcpProxy(port).start()
    proxied = pg_url.replace(f"127.0.0.1:{port}", f"127.0.0.1:{proxy.port}")
    Store.from_url(proxied).upgrade()

    readiness: list[dict[str, Any]] = []

    async def restart_postgresql(daemon: SessionDaemon) -> None:
        await asyncio.sleep(0.8)
        proxy.cut()  # every connection reset, new ones refused
        async with httpx.AsyncClient(base_url=daemon.api_url, trust_env=False) as client:
            down = await client.get("/readyz")
            readiness.append({**down.json(), "http": down.status_code})
            await asyncio.sleep(2.0)
            proxy.restore()
            await asyncio.sleep(0.5)
            up = await client.get("/readyz")
            readiness.append({**up.json(), "http": up.status_code})

    try:
        run = await run_with_faults(fake, proxied, 300, pause=0.01, during=restart_postgresql)
    finally:
        proxy.stop()
    assert_nothing_lost(run, 300)
    assert proxy.cuts == 1 and proxy.connections_made >= 2  # reconnected after the restart
    down, up = readiness
    assert down["http"] == 503 and down["checks"]["store"] is False
    assert up["http"] == 200 and all(up["checks"].values())
    failures = run.metric(
        "sessiond_store_write_failures_total", session="vn30_live", writer="recorder"
    )
    renew = run.metric("sessiond_lease_renew_failures_total")
    assert failures + renew >= 1
    assert run.warnings("failed") or run.warnings("lease heartbeat failed")


# -- Alpaca: dropped stream connections, REST 429/5xx storm ------------------------------------

US_DAY = datetime(2024, 7, 1, 14, 0, tzinfo=UTC)  # 10:00 ET, a regular session


async def test_alpaca_connections_dropped_and_a_rest_429_5xx_storm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.config import validate_session_config
    from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpacaData, FakeAlpacaStream

    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("ALPACA_DATA_URL", "ALPACA_STREAM_URL", "ALPACA_FEED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALPACA_API_KEY", KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)
    trades = [
        {
            "T": "t",
            "S": "AAPL" if i % 2 else "MSFT",
            "t": (US_DAY.replace(second=0) + timedelta(milliseconds=10 * i)).isoformat(),
            "x": "V",
            "p": 200.0 + (i % 7) / 100,
            "s": 10 + i,
            "c": ["@"],
            "i": 1000 + i,
            "z": "C",
        }
        for i in range(240)
    ]
    stream = FakeAlpacaStream(feed=trades, drop_every=50).start()
    rest = FakeAlpacaData(retry_after=None).start()
    rest.fail_next = [429, 503, 500, 429, 502]  # the trailing-day history load meets a storm
    config = validate_session_config(
        {
            "session_name": "us_live",
            "exchange_group": "US_EQUITY",
            "mode": "live",
            "session_data_config": {
                "symbols": ["AAPL", "MSFT"],
                "streams": ["1m", "trades"],
                "historical": {
                    "enable_quality": False,
                    "data": [{"trailing_days": 1, "intervals": ["1m"]}],
                    "indicators": {},
                },
            },
            "api_config": {
                "data_api": "alpaca",
                "data_api_options": {
                    "stream_url": stream.url,
                    "data_url": rest.url,
                    "reconnect_min_backoff_seconds": 0.05,
                    "reconnect_max_backoff_seconds": 0.2,
                    "retry_wait_seconds": 0.05,
                },
            },
        }
    )
    store = Store.from_url(f"sqlite:///{tmp_path / 'us.db'}")
    try:
        run = await drive(store, load_plugins(), SessionSpec(config, "us.json"), 240, US_DAY)
        run.stored = len(recorded_day(store, "XNYS", US_DAY.date(), source="alpaca"))
    finally:
        store.dispose()
        stream.stop()
        rest.stop()
    run.delivered = stream.delivered
    assert_nothing_lost(run, len(trades))
    assert stream.drops == 4 and stream.connections >= 5
    assert run.metric("sessiond_stream_reconnects_total", session="us_live") >= 4
    assert rest.fail_next == []  # the storm was met and passed
    retries = run.warnings("retry")
    assert {s for r in retries for s in ("429", "503", "500", "502") if s in r["message"]} == {
        "429",
        "503",
        "500",
        "502",
    }
    assert all(r["session"] == "us_live" for r in retries)
    assert run.logged("us_live", "plugins.sources.alpaca.client") >= 5
