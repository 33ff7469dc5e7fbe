"""Helpers of the live VN30 tests: a `sessiond run` subprocess against the fake SSI server.

``LiveDaemon`` starts ``python -m daemon.cli run session_configs/vn30_live.json`` with the SSI
settings pointing at a loopback ``FakeSsiServer``, ``--clock-start`` at a chosen instant and
the API on a loopback port the daemon picks (read from its stderr); ``stop()`` sends SIGINT (Ctrl-C) and waits for the clean exit.
Message builders produce the exact SSI ``Content`` objects of the reference (§2).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.ssi_server import FakeSsiServer

REPO = Path(__file__).resolve().parents[2]
_API_URL = re.compile(r"live API (?:and dashboard )?on http://127\.0\.0\.1:(\d+)/")
LIVE_CONFIG = REPO / "session_configs" / "vn30_live.json"


def trade(
    symbol: str,
    day: str,
    at: str,
    price: float,
    last_vol: float,
    total_vol: float,
    side: str,
    session: str = "LO",
) -> dict[str, Any]:
    """An X-TRADE Content (``day`` dd/mm/yyyy, ``at`` HH:MM:SS local)."""
    return {
        "RType": "X-TRADE",
        "TradingDate": day,
        "Time": at,
        "Isin": symbol,
        "Symbol": symbol,
        "LastPrice": price,
        "LastVol": last_vol,
        "TotalVol": total_vol,
        "TotalVal": price * total_vol,
        "MarketId": "HOSE",
        "Exchange": "HOSE",
        "TradingSession": session,
        "TradingStatus": "N",
        "Side": side,
    }


def quote(symbol: str, day: str, at: str, bid: float, ask: float) -> dict[str, Any]:
    """An X-QUOTE Content with three levels (HOSE) around ``bid``/``ask``."""
    content: dict[str, Any] = {
        "RType": "X-QUOTE",
        "TradingDate": day,
        "Time": at,
        "Symbol": symbol,
        "Exchange": "HOSE",
        "TradingSession": "LO",
    }
    for level in range(1, 11):
        inside = level <= 3
        content[f"BidPrice{level}"] = bid - 50 * (level - 1) if inside else 0.0
        content[f"BidVol{level}"] = 1000.0 * level if inside else 0.0
        content[f"AskPrice{level}"] = ask + 50 * (level - 1) if inside else 0.0
        content[f"AskVol{level}"] = 1000.0 * level if inside else 0.0
    return content


def futures(
    symbol: str, day: str, at: str, price: float, last_vol: float, total_vol: float
) -> dict[str, Any]:
    """An X (trade + quote) Content of a derivatives contract."""
    content: dict[str, Any] = {
        "RType": "X",
        "TradingDate": day,
        "Time": at,
        "Symbol": symbol,
        "LastPrice": price,
        "LastVol": last_vol,
        "TotalVol": total_vol,
        "TotalVal": price * total_vol * 100_000,
        "MarketId": "DER",
        "Exchange": "DER",
        "TradingSession": "LO",
        "Side": "BU",
    }
    for level in range(1, 11):
        content[f"BidPrice{level}"] = price - 0.1 * level
        content[f"BidVol{level}"] = 10.0 * level
        content[f"AskPrice{level}"] = price + 0.1 * level
        content[f"AskVol{level}"] = 10.0 * level
    return content


def index(index_id: str, day: str, at: str, value: float, prior: float) -> dict[str, Any]:
    return {
        "RType": "MI",
        "IndexId": index_id,
        "IndexName": index_id,
        "TradingDate": day,
        "Time": at,
        "IndexValue": value,
        "PriorIndexValue": prior,
        "Change": round(value - prior, 2),
        "RatioChange": round(100 * (value / prior - 1), 2),
        "TotalQtty": 1_000_000.0,
        "TotalValue": 3.0e10,
        "Advances": 18,
        "Declines": 9,
        "NoChanges": 3,
        "Ceilings": 0,
        "Floors": 0,
        "TradingSession": None,
        "Exchange": "HOSE",
    }


def foreign(
    symbol: str, day: str, at: str, buy_vol: float, sell_vol: float, buy_val: float, sell_val: float
) -> dict[str, Any]:
    return {
        "RType": "R",
        "TradingDate": day,
        "Time": at,
        "Isin": symbol,
        "Symbol": symbol,
        "TotalRoom": 2_000_000_000.0,
        "CurrentRoom": 1_000_000_000.0 - buy_vol + sell_vol,
        "BuyVol": buy_vol,
        "SellVol": sell_vol,
        "BuyVal": buy_val,
        "SellVal": sell_val,
        "MarketId": "HOSE",
        "Exchange": "HOSE",
    }


def status(symbol: str, day: str, at: str, session: str) -> dict[str, Any]:
    return {
        "RType": "F",
        "MarketId": "HOSE",
        "TradingDate": day,
        "Time": at,
        "Symbol": symbol,
        "TradingSession": session,
        "TradingStatus": "N",
        "Exchange": "HOSE",
    }


def steps(kind: str, items: list[dict[str, Any]], pause: float = 0.0) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for item in items:
        out.append(("broadcast", kind, item))
        if pause:
            out.append(("sleep", pause))
    return out


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

    def wait_ready(self, timeout: float = 40.0) -> None:
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

    def wait_for_events(self, count: int, timeout: float = 20.0) -> dict[str, Any]:
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

    def wait_until(self, predicate: Any, timeout: float = 15.0) -> None:
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
