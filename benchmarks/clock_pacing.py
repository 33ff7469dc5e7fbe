"""Clock-driven pacing accuracy: simulated/wall ratio of a SimulatedClock at speed 360.

Replays one session's 1-minute events through ``advance_to`` (sync) or ``advance_to_async``,
jumping over the lunch break with ``jump_to`` (HOSE), and reports the achieved ratio of
simulated to wall seconds over the paced spans. Target (issue 3): within 2 % of 360 over a day.

A full XNYS day (390 minutes) at 360x takes 65 s of wall time (mostly sleeping, little CPU);
``--quick`` paces a 60-minute slice (10 s). Run: `python benchmarks/clock_pacing.py [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import calendars  # noqa: E402
from daemon.clock import SimulatedClock  # noqa: E402

SPEED = 360.0


def replay(calendar: str, day: date, limit_minutes: int | None, use_async: bool) -> dict:
    bounds = calendars.session_bounds(calendar, day)
    minutes = calendars.session_minutes(calendar, day)
    if limit_minutes is not None:
        minutes = minutes[:limit_minutes]
    # events arrive at each bar's close (open + 1 minute), as a replay of 1m bars does
    events = [m + timedelta(minutes=1) for m in minutes]
    clock = SimulatedClock(bounds.open, speed_multiplier=SPEED)
    wall_started = time.perf_counter()

    async def run_async() -> None:
        for ts in events:
            if (
                bounds.break_start is not None
                and clock.now() <= bounds.break_start < ts - timedelta(minutes=1)
            ):
                await clock.advance_to_async(bounds.break_start)
                clock.jump_to(bounds.break_end)
            await clock.advance_to_async(ts)

    if use_async:
        asyncio.run(run_async())
    else:
        for ts in events:
            if (
                bounds.break_start is not None
                and clock.now() <= bounds.break_start < ts - timedelta(minutes=1)
            ):
                clock.advance_to(bounds.break_start)
                clock.jump_to(bounds.break_end)
            clock.advance_to(ts)
    report = clock.pacing_report()
    report["total_wall_seconds"] = time.perf_counter() - wall_started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="pace a 60-minute slice only")
    parser.add_argument("--hose", action="store_true", help="also pace a HOSE day (lunch jump)")
    args = parser.parse_args()
    limit = 60 if args.quick else None
    runs = [("XNYS", date(2024, 3, 5), False), ("XNYS", date(2024, 3, 5), True)]
    if args.hose:
        runs.append(("XSTC", date(2024, 11, 29), False))
    for calendar, day, use_async in runs:
        report = replay(calendar, day, limit, use_async)
        error = report["ratio"] / SPEED - 1
        mode = "async" if use_async else "sync"
        print(
            f"{calendar} {day} {mode}: simulated {report['simulated_seconds']:.0f} s in "
            f"{report['wall_seconds']:.3f} s paced wall (total {report['total_wall_seconds']:.3f} s) "
            f"-> ratio {report['ratio']:.2f} (error {error:+.3%}; within 2 %: "
            f"{'ok' if abs(error) <= 0.02 else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
