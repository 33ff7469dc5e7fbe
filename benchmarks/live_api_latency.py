"""End-to-end latency of the live VN30 daemon: fake SSI server -> daemon -> API-visible stats.

    python benchmarks/live_api_latency.py                 # 30 s at 2,000 messages/s
    python benchmarks/live_api_latency.py --duration 300  # the full 5-minute run

A loopback ``FakeSsiServer`` (thread in this process) streams X-TRADE messages for the 30
VN30 symbols of ``session_configs/vn30_live.json`` round-robin at ``--rate`` messages/s
(paced against an absolute schedule, sent in small bursts), each with ``TotalVol`` growing by
100 per symbol. The daemon is the real ``sessiond run`` in a subprocess (``--clock-start``
10:00 local on 2026-02-03, a throwaway SQLite store, the recorder and per-phase persistence
on). The fake stamps each message with ``time.perf_counter()`` right before writing it to the
socket; a client polls ``GET /api/market/volume-stats?symbol=<probe>`` every
``--poll-ms`` and, for each response, every probe-symbol trade newly counted in
``total_volume`` gets latency = response time - send time. Latency therefore includes up to
one poll interval plus an HTTP round trip (the websocket pushes at most every 250 ms by
design, so it is not the measuring channel).

Also printed: messages sent and counted by the daemon, achieved rate, RSS of the daemon after
start-up (before load), after warm-up, at the end, its min/max and slope over the second half,
its anonymous/file-backed split (a heap leak grows ``anon``; SQLite mappings would grow
``file``/``shmem``) and a sample every ~15 s.

``--tracemalloc 10,40`` (diagnosis only, slows the daemon): the daemon subprocess runs with
``PYTHONTRACEMALLOC=12`` and a benchmark-only ``sitecustomize`` (written to the run's temp dir,
never part of the product) that dumps a tracemalloc snapshot on SIGUSR1; the benchmark signals
it at those seconds of load and prints the top 25 growths between the first and the last
snapshot by traceback (and by line).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from core.config import load_session_config  # noqa: E402
from daemon.demo.ssi_server import FakeSsiServer  # noqa: E402
from tests.daemon.vn_live_support import LIVE_CONFIG, LiveDaemon, trade  # noqa: E402

DAY = "03/02/2026"
CLOCK_START = "2026-02-03T03:00:00Z"  # 10:00 local


class TimedFake(FakeSsiServer):
    """The fake SSI server, recording when each broadcast is about to be written."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent_at: list[float] = []

    def _next_message_id(self) -> str:  # called right before each broadcast frame is sent
        self.sent_at.append(time.perf_counter())
        return super()._next_message_id()


def paced_trades(
    symbols: list[str], rate: float, duration: float, burst: int, started: threading.Event
) -> Iterator[tuple[Any, ...]]:
    """Script steps: ``rate * duration`` trades round-robin over ``symbols``, paced."""
    total = int(rate * duration)
    counts = dict.fromkeys(symbols, 0)
    started.set()
    t0 = time.perf_counter()
    for k in range(total):
        if k and k % burst == 0:
            delay = t0 + k / rate - time.perf_counter()
            yield ("sleep", max(0.0, delay))
        symbol = symbols[k % len(symbols)]
        counts[symbol] += 1
        n = counts[symbol]
        seconds = 36000 + int(k / rate)
        at = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        yield (
            "broadcast",
            "X-TRADE",
            trade(
                symbol, DAY, at, 20000.0 + 50 * (n % 3), 100.0, 100.0 * n, "BU" if n % 2 else "SD"
            ),
        )


SITECUSTOMIZE = """\
import signal, tracemalloc, os
_n = [0]
def _dump(*_):
    _n[0] += 1
    tracemalloc.take_snapshot().dump(os.path.join({out!r}, "snap%d.pickle" % _n[0]))
signal.signal(signal.SIGUSR1, _dump)
"""


def print_growth(snapshots: list[Path], top: int = 25) -> None:
    """Top ``top`` allocation growths between the first and last snapshot (line, traceback)."""
    import tracemalloc

    first, last = (tracemalloc.Snapshot.load(str(p)) for p in (snapshots[0], snapshots[-1]))
    skip = [tracemalloc.Filter(False, tracemalloc.__file__)]
    first, last = first.filter_traces(skip), last.filter_traces(skip)
    total = sum(s.size for s in last.statistics("filename")) - sum(
        s.size for s in first.statistics("filename")
    )
    print(f"tracemalloc: traced memory grew {total / 2**20:.2f} MiB between snapshots")
    print("top growth by line:")
    for stat in last.compare_to(first, "lineno")[:top]:
        print(
            f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8d} blocks  "
            f"{stat.traceback[0].filename}:{stat.traceback[0].lineno}"
        )
    print("top growth by traceback:")
    for stat in last.compare_to(first, "traceback")[:10]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8d} blocks")
        for line in stat.traceback.format()[-16:]:
            print("      " + line)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rss_parts(pid: int) -> str:
    """The daemon's RSS split (anonymous heap vs file-backed/shared mappings) and threads."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "RssShmem", "Threads"):
            fields[key] = value.split()[0]
    return (
        f"anon {int(fields['RssAnon']) / 1024:.1f}  file {int(fields['RssFile']) / 1024:.1f}  "
        f"shmem {int(fields['RssShmem']) / 1024:.1f} MiB, {fields['Threads']} threads"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (seconds)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=30.0, help="seconds of load (300 = 5 min)"
    )
    parser.add_argument("--rate", type=float, default=2000.0, help="messages per second")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="API poll interval, ms")
    parser.add_argument("--burst", type=int, default=20, help="messages per paced burst")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds excluded from stats")
    parser.add_argument(
        "--tracemalloc",
        default="",
        metavar="T1,T2",
        help="diagnosis: tracemalloc snapshots in the daemon at these seconds",
    )
    args = parser.parse_args()
    snap_times = [float(t) for t in args.tracemalloc.split(",") if t]

    symbols = [s for s in load_session_config(LIVE_CONFIG).symbols if s != "VN30F1M"]
    probe, probe_index = symbols[0], 0
    started = threading.Event()
    fake = TimedFake(keepalive_interval=1.0).start()
    fake.scripts["X-TRADE"] = [paced_trades(symbols, args.rate, args.duration, args.burst, started)]
    workdir = Path(tempfile.mkdtemp(prefix="sessiond-bench-"))
    extra_env: dict[str, str] = {}
    if snap_times:
        hook = workdir / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(SITECUSTOMIZE.format(out=str(workdir)))
        extra_env = {"PYTHONTRACEMALLOC": "12", "PYTHONPATH": f"{hook}:{REPO}"}
    daemon = LiveDaemon(
        fake, f"sqlite:///{workdir / 'bench.db'}", workdir, CLOCK_START, extra_env=extra_env
    )
    latencies: list[tuple[float, float]] = []  # (send time, latency)
    rss: list[tuple[float, int]] = []
    try:
        daemon.wait_ready(timeout=300 if snap_times else 60)
        pid = daemon.process.pid
        rss_start = rss_kb(pid)
        parts_start = rss_parts(pid)
        cpu_start = cpu_seconds(pid)
        started.wait(timeout=30)
        client = httpx.Client(
            base_url=daemon.base, timeout=120.0 if snap_times else 5.0, trust_env=False
        )
        seen = 0
        total_expected = int(args.rate * args.duration)
        per_probe = (total_expected - probe_index + len(symbols) - 1) // len(symbols)
        deadline = time.perf_counter() + args.duration + 30
        next_rss = 0.0
        poll = args.poll_ms / 1000
        load_t0 = time.perf_counter()
        pending_snaps = sorted(snap_times)
        while seen < per_probe and time.perf_counter() < deadline:
            reply = client.get("/api/market/volume-stats", params={"symbol": probe})
            now = time.perf_counter()
            if reply.status_code == 200:
                visible = int(reply.json()["total_volume"] // 100)
                sent = fake.sent_at
                while seen < visible:
                    k = seen * len(symbols) + probe_index
                    if k >= len(sent):
                        break
                    latencies.append((sent[k], now - sent[k]))
                    seen += 1
            if pending_snaps and now - load_t0 >= pending_snaps[0]:
                import os
                import signal

                os.kill(pid, signal.SIGUSR1)
                pending_snaps.pop(0)
            if now >= next_rss:
                rss.append((now, rss_kb(pid)))
                next_rss = now + 1.0
            time.sleep(poll)
        health = client.get("/api/health").json()
        settle = time.perf_counter() + 10
        while health["events"] < len(fake.sent_at) and time.perf_counter() < settle:
            time.sleep(0.05)
            health = client.get("/api/health").json()
        client.close()
        rss_end = rss_kb(pid)
        parts_end = rss_parts(pid)
        cpu_used = cpu_seconds(pid) - cpu_start
    finally:
        daemon.stop(timeout=60)
        fake.stop()

    sent = fake.sent_at
    if not sent or not latencies:
        raise SystemExit(f"no data: sent {len(sent)}, measured {len(latencies)}; {daemon.stderr()}")
    span = sent[-1] - sent[0]
    t0 = sent[0]
    measured = [lat * 1000 for ts, lat in latencies if ts - t0 >= args.warmup]
    second_half = [(ts, kb) for ts, kb in rss if ts - t0 >= args.duration / 2]
    warm = [kb for ts, kb in rss if ts - t0 >= args.warmup]
    print(f"live API latency, fake SSI -> sessiond run -> GET volume-stats ({probe} probe)")
    print(
        f"  messages sent       {len(sent):,} in {span:.1f} s = {len(sent) / span:,.0f}/s "
        f"(target {args.rate:,.0f}/s)"
    )
    print(f"  events counted      {health['events']:,} by the daemon")
    print(
        f"  samples             {len(measured):,} probe trades after {args.warmup:g} s warm-up "
        f"(poll every {args.poll_ms:g} ms)"
    )
    print(
        f"  latency ms          p50 {statistics.median(measured):.1f}  "
        f"p90 {quantile(measured, 0.90):.1f}  p99 {quantile(measured, 0.99):.1f}  "
        f"max {max(measured):.1f}"
    )
    print(
        f"  daemon CPU          {cpu_used:.1f} s = {1e6 * cpu_used / len(sent):.0f} µs per "
        f"message ({100 * cpu_used / span:.0f} % of one core)"
    )
    print(
        f"  daemon RSS MiB      start {rss_start / 1024:.1f}  after warm-up "
        f"{(warm[0] if warm else rss_start) / 1024:.1f}  end {rss_end / 1024:.1f}"
    )
    print(f"  RSS split start     {parts_start}")
    print(f"  RSS split end       {parts_end}")
    if second_half:
        slope = (
            (second_half[-1][1] - second_half[0][1])
            / 1024
            / max(1e-9, second_half[-1][0] - second_half[0][0])
        )
        print(
            f"  RSS second half     min {min(kb for _, kb in second_half) / 1024:.1f}  "
            f"max {max(kb for _, kb in second_half) / 1024:.1f} MiB, "
            f"slope {slope * 60:+.2f} MiB/min (first to last sample)"
        )
    timeline = "  ".join(f"{ts - t0:.0f}s {kb / 1024:.1f}" for ts, kb in rss[::15])
    print(f"  RSS MiB every ~15 s {timeline}")
    snapshots = sorted(workdir.glob("snap*.pickle"))
    if len(snapshots) >= 2:
        print_growth(snapshots)
    shutil.rmtree(workdir, ignore_errors=True)  # the day's store and snapshots (~70 MiB)


if __name__ == "__main__":
    main()
