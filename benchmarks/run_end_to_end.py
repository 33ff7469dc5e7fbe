"""``sessiond run`` end to end: the whole run a user waits for, with its breakdown.

Workload (issue 16): the example config (``session_configs/example_session.json``: 1m streamed,
5m + 15m generated, trailing 5 days of 1m and 10 days of 1d history, a daily and a
per-minute-of-day trailing average of volume, quality on) widened to ``--symbols`` synthetic
US symbols x ``--days`` trading days from 2025-03-03. Each repeat runs the real command
(``sessiond run CONFIG --db sqlite:///... --json`` in a subprocess, so interpreter start-up and
imports count) twice: on a **fresh** store (history and streamed days fetched from the
synthetic source and stored first) and again on the now **filled** store (re-run).

Printed per case: median wall seconds of the command, events per wall second, and the
engine's own breakdown from the run summary (``timings``: warm-up = history, indicators and
quality before each day; queue = the days' bars read, records built, generated bars resampled;
streaming = the streaming loops; end of day = generated bars,
streaming indicators and session quality; persistence = store writes inside those steps;
other = process start-up, imports, plugin loading, the run record). ``--scale`` also runs
half and double the symbols and days to show the time is linear in both.

Targets (issue 16, quiet 2-core machine): 30 x 20 <= 5 s fresh, <= 3 s re-run.

    python benchmarks/run_end_to_end.py             # 30 x 20, 3 repeats
    python benchmarks/run_end_to_end.py --scale     # + 15/60 symbols and 10/40 days
    python benchmarks/run_end_to_end.py --quick     # 5 x 3, 1 repeat
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.calendars import sessions_in_range  # noqa: E402

FIRST_DAY = date(2025, 3, 3)
BREAKDOWN = (
    "warmup_seconds",
    "queue_seconds",
    "stream_seconds",
    "end_of_day_seconds",
    "persist_seconds",
)


def config_for(symbols: int, days: int) -> dict[str, Any]:
    """The example config with ``symbols`` synthetic symbols over ``days`` trading days."""
    example = json.loads((ROOT / "session_configs" / "example_session.json").read_text())
    trading = sessions_in_range("XNYS", FIRST_DAY, date(2026, 12, 31))[:days]
    example["session_name"] = f"bench_e2e_{symbols}x{days}"
    example["backtest_config"]["start_date"] = trading[0].isoformat()
    example["backtest_config"]["end_date"] = trading[-1].isoformat()
    example["session_data_config"]["symbols"] = [f"S{i:03d}" for i in range(symbols)]
    example.pop("metadata", None)
    return example


def sessiond_run(config_path: Path, db_url: str) -> tuple[float, dict[str, Any]]:
    """Wall seconds of ``sessiond run --json`` and its summary."""
    command = [str(Path(sys.executable).parent / "sessiond"), "run", str(config_path)]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--db", db_url, "--json"], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"sessiond run failed ({done.returncode}): {done.stderr.strip()}")
    return wall, json.loads(done.stdout)


def breakdown(summary: dict[str, Any], wall: float) -> dict[str, float]:
    timings = dict(summary.get("timings") or {})
    out = {key: float(timings.get(key, float("nan"))) for key in BREAKDOWN}
    engine = sum(out[k] for k in BREAKDOWN if k != "persist_seconds")
    out["other_seconds"] = wall - engine if engine == engine else float("nan")
    return out


def case(symbols: int, days: int, repeat: int) -> None:
    fresh: list[tuple[float, dict[str, Any]]] = []
    rerun: list[tuple[float, dict[str, Any]]] = []
    events = 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            config_path = Path(tmp) / "config.json"
            config_path.write_text(json.dumps(config_for(symbols, days)))
            db_url = f"sqlite:///{tmp}/e2e.db"
            for runs in (fresh, rerun):
                wall, summary = sessiond_run(config_path, db_url)
                events = int(summary["events"])
                runs.append((wall, breakdown(summary, wall)))
    for label, runs in (("fresh store", fresh), ("re-run", rerun)):
        walls = [w for w, _ in runs]
        wall = statistics.median(walls)
        parts = {k: statistics.median(r[k] for _, r in runs) for k in (*BREAKDOWN, "other_seconds")}
        print(
            f"{symbols:>3} symbols x {days:>2} days, {label:<11}: median {wall:6.2f} s wall "
            f"({events / wall:>9,.0f} events/s end to end; runs "
            f"{', '.join(f'{w:.2f}' for w in walls)})"
        )
        print(
            "      breakdown (medians): "
            + ", ".join(f"{k.removesuffix('_seconds')} {v:.2f} s" for k, v in parts.items())
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=30)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", action="store_true", help="also half/double symbols and days")
    parser.add_argument("--quick", action="store_true", help="5 symbols x 3 days, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.symbols, args.days, args.repeat = 5, 3, 1
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    case(args.symbols, args.days, args.repeat)
    if args.scale:
        for symbols, days in (
            (args.symbols // 2, args.days),
            (args.symbols * 2, args.days),
            (args.symbols, args.days // 2),
            (args.symbols, args.days * 2),
        ):
            case(symbols, days, args.repeat)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
