"""Data-driven replay through the full SessionCoordinator: the whole run beside the loop.

Workload (issues 3 and 16): 30 symbols x 20 trading days of 1-minute bars from the synthetic
source, replayed day by day through the real coordinator — the ReplayFeed's columnar day blocks
merged by (ts_event, symbol) into ``Bar`` records, SimulatedClock (data-driven), SessionData
append, one streaming indicator (``sma`` period 20) per symbol — once without generated
intervals and once with 5m + 15m (resampled per day when the day is loaded).

Two figures per case, both events per second:

- **whole run** (``run_sync`` wall time: queue loading — the columnar read, the records, the
  generated bars —, streaming and the end of day; ``persist=False``, no history): what a user
  waits for. Targets: >= 800,000 without generated intervals, >= 500,000 with 5m + 15m.
- **streaming loop** (``DayResult.stream_seconds``): the hot loop alone.

Reference: a plain Python loop over the same records doing the same per-event work (append,
SMA update; with 5m + 15m also two incremental bar builders per symbol).

Data source: ``--source arrays`` (default) replays the synthetic bars from in-memory columns;
``--source sqlite`` first upserts them into a SQLite store in a temporary directory and
replays from there (``Store.read_bar_columns``).

    python benchmarks/replay_coordinator.py            # 30 x 20, 5 repeats, medians
    python benchmarks/replay_coordinator.py --quick    # 5 x 3, 3 repeats
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.calendars import session_bounds, sessions_in_range  # noqa: E402
from core.columns import BarColumns, merge_to_bars  # noqa: E402
from core.config import validate_session_config  # noqa: E402
from core.store import Store  # noqa: E402
from daemon.aggregation.bars import BarBuilder  # noqa: E402
from daemon.coordinator import SessionCoordinator  # noqa: E402
from daemon.feeds.replay import ReplayFeed  # noqa: E402
from plugins.indicators.streaming import SimpleMovingAverage  # noqa: E402
from plugins.manager import load_plugins  # noqa: E402

FIRST_DAY = date(2025, 3, 3)


def symbols_for(count: int) -> list[str]:
    return [f"S{i:03d}" for i in range(count)]


def make_config(symbols: list[str], start: date, end: date, generated: bool) -> Any:
    return validate_session_config(
        {
            "session_name": "bench_replay",
            "exchange_group": "US_EQUITY",
            "mode": "backtest",
            "backtest_config": {
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "speed_multiplier": 0,
                "prefetch_days": 5,
            },
            "session_data_config": {
                "symbols": symbols,
                "streams": ["1m", "5m", "15m"] if generated else ["1m"],
                "historical": {
                    "enable_quality": False,
                    "data": [],
                    "indicators": {"sma_close": {"type": "sma", "period": 20}},
                },
                "gap_filler": {"enable_session_quality": False},
            },
            "api_config": {"data_api": "synthetic", "data_api_options": {"seed": 42}},
        }
    )


def synthetic_columns(host: Any, symbols: list[str], days: list[date]) -> list[BarColumns]:
    source = host.create_source("synthetic", exchange="XNYS", seed=42)
    start = session_bounds("XNYS", days[0]).open
    end = session_bounds("XNYS", days[-1]).close
    blocks = BarColumns.from_bars(source.request_bars(symbols, start, end, "1m"))
    return [blocks[s] for s in sorted(blocks)]


def column_reader(blocks: list[BarColumns]) -> Any:
    def read(symbols: Any, interval: str, start: Any, end: Any) -> list[BarColumns]:
        return [b.between(start, end) for b in blocks]

    return read


def run_once(config: Any, host: Any, store: Store, reader: Any) -> tuple[Any, float]:
    feed = ReplayFeed(reader, symbols=config.symbols, interval="1m")
    coordinator = SessionCoordinator(
        config, store=store, host=host, feed=feed, source=None, persist=False
    )
    started = time.perf_counter()
    summary = coordinator.run_sync()
    return summary, time.perf_counter() - started


def plain_loop(blocks: list[BarColumns], days: list[date], generated: bool) -> float:
    """Reference: a plain Python loop over the day's records doing the same per-event work
    (append to a list per symbol, SMA(20) update; 5m and 15m builders when ``generated``), GC
    paused as in the coordinator's run; returns events per wall second (records built too)."""
    events = 0
    seconds = 0.0
    for d in days:
        window = session_bounds("XNYS", d)
        day_blocks = [b.between(window.open, window.close) for b in blocks]
        gc.disable()
        started = time.perf_counter()
        bars, _ = merge_to_bars(day_blocks)
        series: dict[str, list[Any]] = {b.symbol: [] for b in day_blocks}
        smas = {s: SimpleMovingAverage(name="sma", period=20).update for s in series}
        builders: dict[str, tuple[Any, ...]] = {}
        if generated:
            for symbol in series:
                pair = (BarBuilder(symbol, "5m"), BarBuilder(symbol, "15m"))
                for builder in pair:
                    builder.start_day(window)
                builders[symbol] = (pair[0].update, pair[1].update)
            for bar in bars:
                series[bar.symbol].append(bar)
                smas[bar.symbol](bar)
                a, b = builders[bar.symbol]
                a(bar)
                b(bar)
        else:
            for bar in bars:
                series[bar.symbol].append(bar)
                smas[bar.symbol](bar)
        seconds += time.perf_counter() - started
        gc.enable()
        events += len(bars)
    return events / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=30)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--source", choices=["arrays", "sqlite"], default="arrays")
    parser.add_argument("--quick", action="store_true", help="5 symbols x 3 days, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.symbols, args.days, args.repeat = 5, 3, 3

    host = load_plugins(entry_points=False)
    days = sessions_in_range("XNYS", FIRST_DAY, date(2025, 12, 31))[: args.days]
    symbols = symbols_for(args.symbols)
    t0 = time.perf_counter()
    blocks = synthetic_columns(host, symbols, days)
    total = sum(len(b) for b in blocks)
    print(
        f"synthetic data: {total:,} bars ({args.symbols} symbols x {len(days)} days) "
        f"in {time.perf_counter() - t0:.2f} s; load average {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.from_url(f"sqlite:///{tmp}/bench.db")
        if args.source == "sqlite":
            t0 = time.perf_counter()
            store.upsert_bars(bar for block in blocks for bar in block.to_bars())
            print(f"pre-loaded into SQLite in {time.perf_counter() - t0:.1f} s")

            def reader(names: Any, interval: str, start: Any, end: Any) -> Any:
                return store.read_bar_columns(list(names), interval, start, end, "synthetic")
        else:
            reader = column_reader(blocks)
        for generated, target in ((False, 800_000), (True, 500_000)):
            config = make_config(symbols, days[0], days[-1], generated)
            whole, loop = [], []
            for _ in range(args.repeat):
                summary, wall = run_once(config, host, store, reader)
                assert summary.events == total, (summary.events, total)
                whole.append(summary.events / wall)
                loop.append(summary.events_per_second)
            plain = statistics.median(plain_loop(blocks, days, generated) for _ in range(3))
            label = "with 5m + 15m" if generated else "no generated intervals"
            print(
                f"{label:<23} whole run median {statistics.median(whole):>10,.0f} events/s "
                f"(target >= {target:,}; runs {', '.join(f'{r:,.0f}' for r in whole)})\n"
                f"{'':<23} streaming loop    {statistics.median(loop):>10,.0f} events/s; "
                f"plain Python loop, same work {plain:,.0f} events/s"
            )
        store.dispose()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
