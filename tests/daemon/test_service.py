"""`sessiond daemon`: several sessions in one process, each failing alone; leases (refusal,
takeover of a killed daemon, release); clean stop on SIGTERM with nothing lost; `status`;
health, readiness, metrics and JSON logs.

In-process tests run ``daemon.service.SessionDaemon`` in the test's loop against the loopback
fake SSI server; the subprocess tests run the real ``sessiond daemon`` command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from core.config import load_session_config
from core.leases import read_leases
from core.store import Store
from daemon.api import ApiOptions
from daemon.cli import app
from daemon.demo.ssi_server import FakeSsiServer
from daemon.logs import configure_logging
from daemon.service import SessionDaemon, SessionSpec
from plugins.manager import load_plugins
from plugins.recording import recorded_day
from tests.daemon.vn_live_support import LIVE_CONFIG, REPO, LiveDaemon, started, steps, trade

pytestmark = pytest.mark.timeout(120)

D = "03/02/2026"
CLOCK_START = datetime(2026, 2, 3, 3, 0, tzinfo=UTC)  # 10:00 local


def acb_trades(count: int, start_total: int = 0) -> list[dict[str, Any]]:
    """``count`` distinct ACB trades of 100 shares, one a second from 10:00:00 local
    (TotalVol grows by 100 each; the store keys SSI trades by time and content)."""
    return [
        trade("ACB", D, _local(36000 + i), 22950.0, 100, start_total + 100 * (i + 1), "BU")
        for i in range(count)
    ]


def _local(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def renamed_config(tmp_path: Path, name: str, streams: list[str] | None = None) -> Path:
    """vn30_live.json under another session_name (a second session of the same market),
    streaming ``streams`` when given."""
    data = json.loads(LIVE_CONFIG.read_text())
    data["session_name"] = name
    if streams is not None:
        data["session_data_config"]["streams"] = streams
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def ssi_source(
    host: Any, fake: FakeSsiServer, *, secret: str | None = None, **overrides: Any
) -> Any:
    """The SSI source on ``fake`` (fast reconnects; ``overrides``: other SsiSettings)."""
    from plugins.sources.ssi.settings import SsiSettings

    settings = SsiSettings(
        consumer_id=fake.consumer_id,
        consumer_secret=secret or fake.consumer_secret,
        url=fake.url,
        stream_url=fake.url,
        reconnect_initial_seconds=0.05,
        reconnect_max_seconds=0.5,
        **overrides,
    )
    options = settings.model_dump(mode="python")
    options["consumer_secret"] = settings.consumer_secret.get_secret_value()
    return host.create_source("ssi", exchange="XSTC", **options)


async def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_two_sessions_in_one_daemon_one_failing_the_other_unaffected(
    tmp_path: Path,
) -> None:
    fake = FakeSsiServer(keepalive_interval=0.1).start()
    fake.scripts["X-TRADE"] = [[("sleep", 0.3), *steps("X-TRADE", acb_trades(40))]]
    host = load_plugins()
    broken_path = renamed_config(tmp_path, "vn30_broken")
    store = Store.from_url(f"sqlite:///{tmp_path / 'daemon.db'}")
    log = StringIO()
    handler = configure_logging("json", "INFO", log)
    daemon = SessionDaemon(
        [
            SessionSpec(load_session_config(LIVE_CONFIG), str(LIVE_CONFIG)),
            SessionSpec(load_session_config(broken_path), str(broken_path)),
        ],
        store=store,
        host=host,
        api=ApiOptions(port=0),
        clock_start=CLOCK_START,
        sources={
            "vn30_live": ssi_source(host, fake),
            "vn30_broken": ssi_source(host, fake, secret="wrong-secret"),
        },
        heartbeat_seconds=0.2,
        flush_interval_seconds=0.1,
    )
    try:
        task = await started(daemon)
        async with httpx.AsyncClient(base_url=daemon.api_url, trust_env=False) as client:

            async def all_delivered() -> bool:
                health = (await client.get("/api/sessions/vn30_live/health")).json()
                broken = daemon.sessions["vn30_broken"].status
                return health["events"] >= 40 and broken == "failed"

            await wait_for(all_delivered)
            listed = {s["session_name"]: s for s in (await client.get("/api/sessions")).json()}
            stats = (
                await client.get("/api/sessions/vn30_live/market/volume-stats?symbol=ACB")
            ).json()
            default = (await client.get("/api/market/volume-stats?symbol=ACB")).json()
            unknown = await client.get("/api/sessions/nope/health")
            ready = await client.get("/readyz")
            metrics = (await client.get("/metrics")).text
            _, leases = read_leases(store)
        daemon.stop()
        sessions = await asyncio.wait_for(task, 30)
    finally:
        logging.getLogger().removeHandler(handler)
        fake.stop()
    assert listed["vn30_live"]["state"] in ("running", "streaming")
    assert listed["vn30_broken"]["state"] == "failed"
    assert stats["total_volume"] == 4000 and stats == default  # default = first config
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    assert ready.status_code == 503 and ready.json()["checks"]["sessions"] is False
    assert ready.json()["checks"]["store"] is True and ready.json()["checks"]["streams"] is True
    assert 'sessiond_session_up{session="vn30_live",status="running"} 1.0' in metrics
    assert 'sessiond_session_up{session="vn30_broken",status="failed"} 0.0' in metrics
    assert 'sessiond_events_total{session="vn30_live"} 40.0' in metrics
    assert [lease.session_name for lease in leases] == ["vn30_live"]  # the failed one released
    assert sessions["vn30_live"].status == "stopped" and sessions["vn30_broken"].status == "failed"
    assert "SSI rejected the consumer credentials" in (sessions["vn30_broken"].error or "")
    try:
        runs = {r.session_name: r for r in store.read_session_runs()}
        assert runs["vn30_live"].status == "stopped" and runs["vn30_broken"].status == "failed"
        assert len(recorded_day(store, "XSTC", CLOCK_START.date(), source="ssi")) == 40
        assert read_leases(store)[1] == []  # released on exit
    finally:
        store.dispose()
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    failure = next(r for r in lines if r["message"].startswith("session vn30_broken failed"))
    assert failure["level"] == "ERROR" and failure["session"] == "vn30_broken"
    assert failure["exchange"] == "XSTC" and failure["run_id"] == runs["vn30_broken"].id
    stopped = next(r for r in lines if r["message"].startswith("session vn30_live stopped"))
    assert stopped["run_id"] == runs["vn30_live"].id and stopped["session"] == "vn30_live"
    assert all(fake.consumer_secret not in line for line in log.getvalue().splitlines())


def test_two_configs_with_one_session_name_are_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["daemon", str(LIVE_CONFIG), str(LIVE_CONFIG), "--db", f"sqlite:///{tmp_path / 'x.db'}"],
    )
    assert result.exit_code == 1
    assert "session_name 'vn30_live' is given by several configs" in result.output
    assert "Traceback" not in result.output


# -- the real command, in subprocesses ---------------------------------------------------------


@pytest.fixture
def fake() -> Any:
    server = FakeSsiServer(keepalive_interval=0.1).start()
    yield server
    server.stop()


def daemon_process(fake: FakeSsiServer, db_url: str, workdir: Path, *configs: Path) -> LiveDaemon:
    return LiveDaemon(
        fake,
        db_url,
        workdir,
        "2026-02-03T03:00:00Z",
        command=["daemon", *map(str, configs), "--json", "--heartbeat", "0.2", "--lease-ttl", "30"],
    )


def first_env(daemon: LiveDaemon) -> dict[str, str]:
    """The environment of a sessiond subprocess (SSI settings pointing at nothing)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSI_", "SESSIOND_"))}
    return {**env, "PYTHONPATH": str(REPO), "COLUMNS": "200"}


def test_sigterm_stops_cleanly_with_nothing_lost_and_a_second_daemon_is_refused(
    fake: FakeSsiServer, tmp_path: Path
) -> None:
    trades = acb_trades(1000)  # the stop comes in the pause between the two halves
    fake.feeds["X-TRADE"] = [
        ("sleep", 0.5),
        *steps("X-TRADE", trades[:500], 0.001),
        ("sleep", 30.0),
        *steps("X-TRADE", trades[500:]),
    ]
    db_url = f"sqlite:///{tmp_path / 'svc.db'}"
    second_config = renamed_config(tmp_path, "vn30_second", streams=["index"])  # no trades
    first = daemon_process(fake, db_url, tmp_path, LIVE_CONFIG, second_config)
    try:
        first.wait_ready()
        first.wait_until(lambda: first.get("/api/sessions/vn30_live/health")["events"] >= 500)
        status = CliRunner().invoke(app, ["status", "--db", db_url, "--json"])
        # a second daemon on one of the same configs and the same store refuses to start
        refused = subprocess.run(
            [sys.executable, "-m", "daemon.cli", "daemon", str(second_config), "--db", db_url],
            capture_output=True,
            text=True,
            timeout=60,
            env=first_env(first),
        )
    finally:
        code = first.stop(signum=signal.SIGTERM)  # mid-stream
    assert code == 0, first.stderr()
    assert refused.returncode == 1, refused.stderr
    error_lines = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "Traceback" not in refused.stderr
    assert "session 'vn30_second' is already running in another daemon" in error_lines[0]
    assert f"pid {first.process.pid}" in error_lines[0]
    assert status.exit_code == 0, (status.output, status.exception)
    held = json.loads(status.output)["sessions"]
    assert {row["session_name"] for row in held} == {"vn30_live", "vn30_second"}
    assert all(row["lease"] == "held" and row["ready"] == "ready" for row in held)
    assert all(row["pid"] == first.process.pid and row["run_id"] for row in held)
    summary = json.loads(first.stdout().strip().splitlines()[-1])
    by_name = {s["session_name"]: s for s in summary["sessions"]}
    assert by_name["vn30_live"]["status"] == "stopped" and summary["exit_code"] == 0
    delivered = fake.broadcasts["X-TRADE"]
    with Store.from_url(db_url) as store:
        recorded = recorded_day(store, "XSTC", CLOCK_START.date(), source="ssi")
        runs = {r.session_name: r for r in store.read_session_runs()}
        assert read_leases(store)[1] == []
    assert delivered == 500  # stopped mid-stream, with 500 trades delivered
    assert len(recorded) == delivered  # nothing lost
    assert by_name["vn30_live"]["events"] >= 500  # trades + the 1m bars built from them
    assert runs["vn30_live"].status == "stopped" and runs["vn30_second"].status == "stopped"
    after = CliRunner().invoke(app, ["status", "--db", db_url])
    assert "no daemon holds a session" in after.output


def test_a_killed_daemons_sessions_are_taken_over_by_the_next(
    fake: FakeSsiServer, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'takeover.db'}"
    first = daemon_process(fake, db_url, tmp_path, LIVE_CONFIG)
    first.wait_ready()
    first.process.kill()  # no clean exit: its lease row stays behind, unexpired
    first.process.wait()
    with Store.from_url(db_url) as store:
        _, leases = read_leases(store)
    assert [(x.session_name, x.pid) for x in leases] == [("vn30_live", first.process.pid)]
    second = daemon_process(fake, db_url, tmp_path, LIVE_CONFIG)
    try:
        second.wait_ready()
        with Store.from_url(db_url) as store:
            _, leases = read_leases(store)
        assert [(x.session_name, x.pid) for x in leases] == [("vn30_live", second.process.pid)]
        assert "taking over the lease of pid" in second.stderr()
    finally:
        assert second.stop(signum=signal.SIGTERM) == 0


async def test_a_session_whose_lease_is_taken_over_is_stopped(tmp_path: Path) -> None:
    from core.leases import LeaseHolder, LeaseStore

    fake = FakeSsiServer(keepalive_interval=0.1).start()
    fake.feeds["X-TRADE"] = [("sleep", 0.3), *steps("X-TRADE", acb_trades(20))]
    host = load_plugins()
    store = Store.from_url(f"sqlite:///{tmp_path / 'lost.db'}")
    daemon = SessionDaemon(
        [SessionSpec(load_session_config(LIVE_CONFIG), str(LIVE_CONFIG))],
        store=store,
        host=host,
        api=ApiOptions(port=0),
        clock_start=CLOCK_START,
        sources={"vn30_live": ssi_source(host, fake)},
        heartbeat_seconds=0.2,
        flush_interval_seconds=0.1,
    )
    try:
        task = await started(daemon)
        await wait_for(lambda: _true_when(daemon.sessions["vn30_live"].events >= 20))
        other = LeaseHolder("elsewhere:1:cafe", "elsewhere", 1)
        LeaseStore(store, other).acquire(
            "vn30_live", str(LIVE_CONFIG), take_over=daemon.holder.holder
        )
        sessions = await asyncio.wait_for(task, 30)  # the only session stops: the daemon ends
        _, leases = read_leases(store)
    finally:
        fake.stop()
        store.dispose()
    assert sessions["vn30_live"].status == "stopped"
    assert sessions["vn30_live"].error == "lease lost to another daemon"
    assert [(x.session_name, x.holder) for x in leases] == [("vn30_live", other.holder)]


async def _true_when(condition: bool) -> bool:
    return condition
