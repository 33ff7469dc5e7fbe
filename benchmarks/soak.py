"""Soak: 2,000 stream messages/s for 10 minutes through `sessiond daemon` with API clients.

    python benchmarks/soak.py                # 10 minutes at 2,000 messages/s
    python benchmarks/soak.py --minutes 2    # a shorter run

The harness of ``benchmarks/live_api_latency.py`` (its paced fake SSI server, RSS and CPU
readers, quantiles), with the real ``sessiond daemon session_configs/vn30_live.json`` in a
subprocess (JSON logs, leases, heartbeat, the recorder writing to a throwaway SQLite store)
and API clients attached the whole time: ``--websockets`` dashboard-like websocket clients
(each receiving every push), one latency poller (``GET /api/sessions/vn30_live/market/
volume-stats?symbol=<probe>`` every ``--poll-ms``; see live_api_latency.py for what the
latency includes) and one Prometheus-like scraper of ``/metrics`` every 5 s.

Reported (targets of issue 13): RSS growth over the second half of the run (< 2 %), p99
message-to-API latency (<= 20 ms), and every message stored (trades in the store after the
clean SIGTERM stop == messages the fake sent), with the daemon's CPU and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from benchmarks.live_api_latency import (  # noqa: E402
    CLOCK_START,
    TimedFake,
    cpu_seconds,
    paced_trades,
    quantile,
    rss_kb,
    rss_parts,
)
from core.config import load_session_config  # noqa: E402
from tests.daemon.vn_live_support import LIVE_CONFIG, LiveDaemon  # noqa: E402

SESSION = "vn30_live"


class WebsocketClients:
    """``count`` websocket clients in threads, each counting the pushes it receives."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.received = [0] * count
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(count)
        ]

    def start(self) -> WebsocketClients:
        for thread in self._threads:
            thread.start()
        return self

    def _run(self, index: int) -> None:
        from websockets.sync.client import connect

        try:
            with connect(self.url, open_timeout=10) as ws:
                while not self._stop.is_set():
                    try:
                        ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    self.received[index] += 1
        except Exception as error:  # reported, not fatal: the soak goes on
            self.errors.append(f"{type(error).__name__}: {error}")

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def stored_trades(db_url: str, symbols: list[str]) -> int:
    from core.store import Store

    with Store.from_url(db_url) as store:
        start = datetime(2026, 2, 3, tzinfo=UTC)
        end = datetime(2026, 2, 4, tzinfo=UTC)
        return len(store.read_trades(symbols, start, end, source="ssi"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of load")
    parser.add_argument("--rate", type=float, default=2000.0, help="messages per second")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="latency poll interval, ms")
    parser.add_argument("--burst", type=int, default=20, help="messages per paced burst")
    parser.add_argument("--websockets", type=int, default=3, help="websocket clients")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds excluded from stats")
    args = parser.parse_args()
    duration = args.minutes * 60

    symbols = [s for s in load_session_config(LIVE_CONFIG).symbols if s != "VN30F1M"]
    probe, probe_index = symbols[0], 0
    started = threading.Event()
    fake = TimedFake(keepalive_interval=1.0).start()
    fake.scripts["X-TRADE"] = [paced_trades(symbols, args.rate, duration, args.burst, started)]
    workdir = Path(tempfile.mkdtemp(prefix="sessiond-soak-"))
    db_url = f"sqlite:///{workdir / 'soak.db'}"
    daemon = LiveDaemon(
        fake,
        db_url,
        workdir,
        CLOCK_START,
        command=["daemon", str(LIVE_CONFIG), "--json", "--log-format", "json"],
    )
    latencies: list[tuple[float, float]] = []
    rss: list[tuple[float, int]] = []
    scrapes = 0
    load_before = load_average()
    wall_started = time.perf_counter()
    try:
        daemon.wait_ready(timeout=60)
        pid = daemon.process.pid
        rss_start = rss_kb(pid)
        cpu_start = cpu_seconds(pid)
        ws_url = daemon.base.replace("http://", "ws://") + f"/ws?session={SESSION}"
        sockets = WebsocketClients(ws_url, args.websockets).start()
        started.wait(timeout=30)
        client = httpx.Client(base_url=daemon.base, timeout=5.0, trust_env=False)
        seen = 0
        total = int(args.rate * duration)
        per_probe = (total - probe_index + len(symbols) - 1) // len(symbols)
        deadline = time.perf_counter() + duration + 30
        next_rss = next_scrape = 0.0
        path = f"/api/sessions/{SESSION}/market/volume-stats"
        while seen < per_probe and time.perf_counter() < deadline:
            reply = client.get(path, params={"symbol": probe})
            now = time.perf_counter()
            if reply.status_code == 200:
                visible = int(reply.json()["total_volume"] // 100)
                sent = fake.sent_at
                while seen < visible and seen * len(symbols) + probe_index < len(sent):
                    k = seen * len(symbols) + probe_index
                    latencies.append((sent[k], now - sent[k]))
                    seen += 1
            if now >= next_rss:
                rss.append((now, rss_kb(pid)))
                next_rss = now + 1.0
            if now >= next_scrape:
                client.get("/metrics").raise_for_status()
                scrapes += 1
                next_scrape = now + 5.0
            time.sleep(args.poll_ms / 1000)
        health = client.get(f"/api/sessions/{SESSION}/health").json()
        settle = time.perf_counter() + 10
        while health["events"] < len(fake.sent_at) and time.perf_counter() < settle:
            time.sleep(0.05)
            health = client.get(f"/api/sessions/{SESSION}/health").json()
        client.close()
        sockets.stop()
        rss_end = rss_kb(pid)
        parts_end = rss_parts(pid)
        cpu_used = cpu_seconds(pid) - cpu_start
    finally:
        code = daemon.stop(timeout=120, signum=signal.SIGTERM)
        fake.stop()
    sent = fake.sent_at
    stored = stored_trades(db_url, symbols)
    wall = time.perf_counter() - wall_started
    if not sent or not latencies:
        raise SystemExit(f"no data: sent {len(sent)}, measured {len(latencies)}; {daemon.stderr()}")
    t0, span = sent[0], sent[-1] - sent[0]
    measured = [lat * 1000 for ts, lat in latencies if ts - t0 >= args.warmup]
    half = [(ts, kb) for ts, kb in rss if ts - t0 >= duration / 2]
    print(f"soak: sessiond daemon {LIVE_CONFIG.name}, {args.minutes:g} min at {args.rate:,.0f}/s")
    print(f"  load average        before {load_before}, after {load_average()} (2 cores)")
    print(f"  messages sent       {len(sent):,} in {span:.1f} s = {len(sent) / span:,.0f}/s")
    print(f"  counted by daemon   {health['events']:,}")
    print(
        f"  stored              {stored:,} trades after SIGTERM (exit {code}): "
        f"{'every message stored' if stored == len(sent) else f'MISSING {len(sent) - stored:,}'}"
    )
    print(
        f"  latency ms          p50 {statistics.median(measured):.1f}  "
        f"p90 {quantile(measured, 0.90):.1f}  p99 {quantile(measured, 0.99):.1f}  "
        f"max {max(measured):.1f} ({len(measured):,} probe trades, target p99 <= 20)"
    )
    if half:
        growth = 100 * (half[-1][1] - half[0][1]) / half[0][1]
        print(
            f"  RSS second half     {half[0][1] / 1024:.1f} -> {half[-1][1] / 1024:.1f} MiB = "
            f"{growth:+.2f} % (target < 2 %); start {rss_start / 1024:.1f}, "
            f"end {rss_end / 1024:.1f} MiB"
        )
    print(f"  RSS split end       {parts_end}")
    print(
        f"  daemon CPU          {cpu_used:.1f} s = {1e6 * cpu_used / len(sent):.0f} µs per "
        f"message ({100 * cpu_used / span:.0f} % of one core)"
    )
    print(
        f"  API clients         {args.websockets} websockets received "
        f"{', '.join(f'{n:,}' for n in sockets.received)} pushes"
        + (f" ({len(sockets.errors)} errors: {sockets.errors[0]})" if sockets.errors else "")
        + f"; {scrapes} /metrics scrapes"
    )
    print(f"  whole run           {wall:.0f} s (start-up, load, settle, clean stop)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
