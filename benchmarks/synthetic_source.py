"""Synthetic source throughput: 30 symbols x 20 trading days of 1-minute bars.

Three timings per exchange (CPU seconds of this process, ``time.process_time``, median of
repeats, caches warm after one untimed run):

- ``bar_frame``: the vectorised generation (numpy arrays: prices, volumes, trade counts and
  the vwap of the trades behind each bar);
- ``request_bars``: the same plus one ``core.models.Bar`` object per bar (what sources return);
- ``Bar objects only``: constructing the same number of ``Bar`` objects from constants, the
  floor ``request_bars`` cannot go below.

Run: ``python benchmarks/synthetic_source.py [--quick]`` (quick: 5 symbols x 5 days).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import calendars  # noqa: E402
from core.models import Bar  # noqa: E402
from plugins.manager import load_plugins  # noqa: E402


def cpu_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 symbols x 5 days")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n_symbols, n_days = (5, 5) if args.quick else (30, 20)
    host = load_plugins(entry_points=False)
    symbols = [f"S{i:02d}" for i in range(n_symbols)]
    for exchange in ("XNYS", "HOSE"):
        days = calendars.sessions_in_range(exchange, dt.date(2024, 3, 1), dt.date(2024, 6, 28))
        days = days[:n_days]
        start = calendars.session_bounds(exchange, days[0]).open
        end = calendars.session_bounds(exchange, days[-1]).close
        source = host.create_source("synthetic", exchange=exchange, seed=42)
        bars = list(source.request_bars(symbols, start, end, "1m"))  # warm caches
        count = len(bars)
        ts = bars[0].ts_event

        def frame_only(source=source, start=start, end=end) -> None:
            source.bar_frame(symbols, start, end, "1m")

        def with_objects(source=source, start=start, end=end) -> None:
            list(source.request_bars(symbols, start, end, "1m"))

        def objects_only(ts=ts, count=count) -> None:
            [Bar("S", "1m", ts, 1.0, 1.0, 1.0, 1.0, 1.0, 1, 1.0, "s") for _ in range(count)]

        frame = cpu_seconds(frame_only, args.repeats)
        objects = cpu_seconds(with_objects, args.repeats)
        floor = cpu_seconds(objects_only, args.repeats)
        print(
            f"{exchange}: {n_symbols} symbols x {len(days)} days = {count:,} bars | "
            f"bar_frame {frame * 1000:.0f} ms ({count / frame / 1e6:.2f} M bars/s) | "
            f"request_bars {objects * 1000:.0f} ms | Bar objects only {floor * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
