"""Helpers of the live VN30 tests: a `sessiond run` subprocess against the fake SSI server,
the scripted day (its hand-computed numbers are in test_vn_live.py) and its replay.

``LiveDaemon`` starts ``python -m daemon.cli run session_configs/vn30_live.json`` with the SSI
settings pointing at a loopback ``FakeSsiServer``, ``--clock-start`` at a chosen instant and
the API on a loopback port the daemon picks (read from its stderr); ``stop()`` sends SIGINT (Ctrl-C) and waits for the clean exit.
Message builders produce the exact SSI ``Content`` objects of the reference (§2).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from core.store import Store
from daemon.cli import app
from daemon.demo.messages import foreign, futures, index, quote, status, steps, trade  # noqa: F401  (re-exported for the tests)
from daemon.demo.ssi_server import FakeSsiServer

REPO = Path(__file__).resolve().parents[2]
_API_URL = re.compile(r"live API (?:and dashboard )?on http://127\.0\.0\.1:(\d+)/")
LIVE_CONFIG = REPO / "session_configs" / "vn30_live.json"


class LiveDaemon:
    """``sessiond run CONFIG`` (live) as a subprocess against ``fake``."""

    def __init__(
        self,
        fake: FakeSsiServer,
        db_url: str,
        workdir: Path,
        clock_start: str,
        *,
        config: Path = LIVE_CONFIG,
        extra_env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        """``command``: the sessiond arguments before the common options (default
        ``run CONFIG --json``; e.g. ``daemon CONFIG1 CONFIG2 --json``)."""
        self.port = 0  # the daemon picks a free port and prints it (no race with other tests)
        self.base = ""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SSI_", "SESSIOND_"))}
        env.update(
            {
                "SSI_URL": fake.url,
                "SSI_STREAM_URL": fake.url,
                "SSI_CONSUMER_ID": fake.consumer_id,
                "SSI_CONSUMER_SECRET": fake.consumer_secret,
                "SSI_CONNECT_TIMEOUT_SECONDS": "5",
                "SSI_RECONNECT_INITIAL_SECONDS": "0.05",
                "PYTHONPATH": str(REPO),
                "COLUMNS": "200",
            }
        )
        env.update(extra_env or {})
        name = f"daemon-{time.monotonic_ns()}"
        self.workdir = workdir
        self.stderr_path = workdir / f"{name}.stderr"
        self.stdout_path = workdir / f"{name}.stdout"
        self._stderr = self.stderr_path.open("w")
        self._stdout = self.stdout_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daemon.cli",
                *(command or ["run", str(config), "--json"]),
                "--db",
                db_url,
                "--clock-start",
                clock_start,
                "--api-port",
                "0",
            ],
            cwd=workdir,
            env=env,
            stdout=self._stdout,
            stderr=self._stderr,
        )
        self.client = httpx.Client(timeout=5.0, trust_env=False)

    def wait_ready(self, timeout: float = 120.0) -> None:  # generous: a loaded 2-core box
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited {self.process.returncode}: {self.stderr()}")
            if not self.base:
                found = _API_URL.search(self.stderr())
                if found is None:
                    time.sleep(0.05)
                    continue
                self.port = int(found.group(1))
                self.base = f"http://127.0.0.1:{self.port}"
                self.client.base_url = httpx.URL(self.base)
            try:
                if self.client.get("/api/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"daemon API not up within {timeout} s: {self.stderr()}")

    def get(self, path: str, **params: Any) -> Any:
        reply = self.client.get(path, params=params)
        reply.raise_for_status()
        return reply.json()

    def wait_for_events(self, count: int, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            health = self.get("/api/health")
            if health["events"] >= count:
                return health
            time.sleep(0.05)
        raise AssertionError(
            f"saw {health.get('events')} events, expected {count}: {self.stderr()}"
        )

    def wait_until(self, predicate: Any, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout} s: {self.stderr()}")

    def stop(self, timeout: float = 30.0, signum: int = signal.SIGINT) -> int:
        """Ctrl-C (or ``signum``), then wait for the clean exit; returns the exit code."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._stderr.close()
            self._stdout.close()
        return code

    def stderr(self) -> str:
        return self.stderr_path.read_text()[-3000:]

    def stdout(self) -> str:
        return self.stdout_path.read_text()


async def started(runner: Any) -> asyncio.Task[Any]:
    """Start ``runner.run()`` (a LiveSession or a SessionDaemon) in a task and return it once
    its API listens (re-raising what made it end before)."""
    task = asyncio.create_task(runner.run())
    while runner.server is None or not runner.server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return task


# --- the scripted day (2026-02-03, HOSE) ------------------------------------------------------

DAY = date(2026, 2, 3)
D = "03/02/2026"
CONTRACT = "41I1G2000"
CLOCK_START = "2026-02-03T03:00:00Z"  # 10:00 local


def scripted_day() -> dict[str, list[list[tuple[Any, ...]]]]:
    acb = [
        trade("ACB", D, "09:15:00", 22900, 50000, 50000, "BU", "ATO"),
        trade("ACB", D, "09:20:00", 22950, 1000, 51000, "BU"),
        trade("ACB", D, "09:20:01", 22950, 1000, 51000, "BU"),
        trade("ACB", D, "09:21:00", 22900, 500, 51500, ""),
        trade("ACB", D, "09:22:00", 23000, 300, 52300, "SD"),
    ]
    later = [
        trade("ACB", D, "09:23:00", 22950, 200, 52500, ""),
        trade("ACB", D, "14:45:00", 23000, 20000, 72500, "SD", "ATC"),
        trade("FPT", D, "10:00:01", 120000, 1000, 1000, "BU"),
        trade("FPT", D, "10:00:02", 119900, 400, 1400, "SD"),
    ]
    return {
        "X-QUOTE": [
            [
                ("broadcast", "X-QUOTE", quote("ACB", D, "09:14:00", 22900, 22950)),
                ("sleep", 2.0),
                ("broadcast", "X-QUOTE", quote("ACB", D, "09:22:30", 22900, 23000)),
            ]
        ],
        "X-TRADE": [
            [("sleep", 1.0), *steps("X-TRADE", acb), ("sleep", 2.0), *steps("X-TRADE", later)]
        ],
        "MI": [
            [
                ("broadcast", "MI", index("VN30", D, "10:00:00", 1300.0, 1290.0)),
                ("broadcast", "MI", index("VNINDEX", D, "10:00:00", 1250.0, 1245.0)),
                ("sleep", 2.0),
                ("broadcast", "MI", index("VN30", D, "10:00:10", 1302.0, 1290.0)),
            ]
        ],
        "X": [
            [
                ("sleep", 1.0),
                ("broadcast", "X", futures(CONTRACT, D, "10:00:05", 1310.5, 5, 5)),
                ("sleep", 2.5),
                ("broadcast", "X", futures(CONTRACT, D, "10:00:12", 1301.0, 3, 8)),
            ]
        ],
        "R": [
            [
                *steps(
                    "R",
                    [
                        foreign("ACB", D, "09:30:00", 1000, 200, 2.29e7, 4.6e6),
                        foreign("FPT", D, "09:30:00", 100, 0, 1.2e7, 0.0),
                    ],
                    0.3,
                ),
                ("broadcast", "R", foreign("ACB", D, "09:31:00", 1500, 900, 3.44e7, 2.07e7)),
            ]
        ],
        "F": [[("broadcast", "F", status("ACB", D, "10:00:00", "LO"))]],
    }


# trades 7 + 2, quotes 2, futures X 2 x (trade + quote), MI 3, R 3, F 1
SCRIPTED_EVENTS = 9 + 2 + 4 + 3 + 3 + 1


@dataclass
class LiveRun:
    db_url: str
    workdir: Path
    volume_acb: dict[str, Any]
    volume_fpt: dict[str, Any]
    volume_all: dict[str, Any]
    foreign: dict[str, Any]
    foreign_acb: dict[str, Any]
    basis: dict[str, Any]
    indices: dict[str, Any]
    session: dict[str, Any]
    components: dict[str, Any]
    exit_code: int
    stdout: str


def run_live_day(workdir: Path) -> LiveRun:
    """The scripted day through ``sessiond run vn30_live.json`` (about 25 s): what the API
    served, then the clean stop. Built once per test session (``tests/daemon/conftest.py``)."""
    db_url = f"sqlite:///{workdir / 'live.db'}"
    fake = FakeSsiServer(keepalive_interval=0.1).start()
    fake.scripts.update(scripted_day())
    daemon = LiveDaemon(fake, db_url, workdir, CLOCK_START)
    try:
        daemon.wait_ready()
        daemon.wait_for_events(SCRIPTED_EVENTS)
        daemon.wait_until(
            lambda: (
                daemon.get("/api/market/basis")["latest"] is not None
                and len(daemon.get("/api/market/basis")["series"]) == 2
            )
        )
        run = LiveRun(
            db_url,
            workdir,
            daemon.get("/api/market/volume-stats", symbol="ACB"),
            daemon.get("/api/market/volume-stats", symbol="fpt"),
            daemon.get("/api/market/volume-stats"),
            daemon.get("/api/market/foreign"),
            daemon.get("/api/market/foreign", symbol="ACB"),
            daemon.get("/api/market/basis"),
            daemon.get("/api/market/indices"),
            daemon.get("/api/sessions/current"),
            daemon.get("/api/vn30-components"),
            exit_code=-1,
            stdout="",
        )
        subscriptions = sorted(s for c in fake.connections for s in c.subscriptions)
        run.session["subscriptions"] = subscriptions
    finally:
        code = daemon.stop()
        fake.stop()
    run.exit_code = code
    run.stdout = daemon.stdout()
    return run


# --- its replay as a backtest (vn30_replay.json) -----------------------------------------------

REPLAY_CONFIG = REPO / "session_configs" / "vn30_replay.json"
BAR_MINUTES = 60


def intraday_rows(symbol: str, price: float) -> list[dict[str, str]]:
    """IntradayOhlc rows (strings, local times) of ``symbol`` on DAY, 09:15-10:14."""
    start = datetime(2000, 1, 1, 9, 15)
    rows = []
    for minute in range(BAR_MINUTES):
        at = (start + timedelta(minutes=minute)).strftime("%H:%M:%S")
        p = price + 50 * (minute % 5)
        rows.append(
            {
                "Symbol": symbol,
                "Value": str(p),
                "TradingDate": DAY.strftime("%d/%m/%Y"),
                "Time": at,
                "Open": str(p),
                "High": str(p + 50),
                "Low": str(p - 50),
                "Close": str(p),
                "Volume": str(1000 + minute),
            }
        )
    return rows


@dataclass
class Replay:
    exit_code: int
    output: str
    summary: dict[str, Any]
    rows: dict[tuple[str, str], dict[str, Any]]
    db_url: str


def phase_rows(store: Store, session_name: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Persisted per-phase volumes without the session name, by (symbol, phase)."""
    rows = {}
    for row in store.read_phase_volumes(session_name):
        fields = asdict(row)
        del fields["session_name"]
        rows[(row.symbol, row.phase)] = fields
    return rows


def run_replays(live_day: LiveRun, workdir: Path) -> list[Replay]:
    """``sessiond run vn30_replay.json`` twice on a copy of the live day's store (bars from
    the fake's SSI REST)."""
    shutil.copy(live_day.db_url.removeprefix("sqlite:///"), workdir / "replay.db")
    db_url = f"sqlite:///{workdir / 'replay.db'}"
    fake = FakeSsiServer().start()
    fake.tables["intradayohlc"] = intraday_rows("ACB", 22900) + intraday_rows("FPT", 120000)
    env = {
        "SSI_URL": fake.url,
        "SSI_STREAM_URL": fake.url,
        "SSI_CONSUMER_ID": fake.consumer_id,
        "SSI_CONSUMER_SECRET": fake.consumer_secret,
        "SESSIOND_DB_URL": db_url,
    }
    out: list[Replay] = []
    try:
        for _ in range(2):
            result = CliRunner().invoke(
                app,
                [
                    "run",
                    str(REPLAY_CONFIG),
                    "--start",
                    DAY.isoformat(),
                    "--end",
                    DAY.isoformat(),
                    "--db",
                    db_url,
                    "--json",
                ],
                env=env,
            )
            lines = result.output.strip().splitlines()
            summary = json.loads(lines[-1]) if result.exit_code == 0 else {}
            store = Store.from_url(db_url)
            try:
                rows = phase_rows(store, "vn30_replay")
            finally:
                store.dispose()
            out.append(Replay(result.exit_code, result.output, summary, rows, db_url))
    finally:
        fake.stop()
    return out
