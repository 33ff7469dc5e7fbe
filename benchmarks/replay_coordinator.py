"""Data-driven replay through the full SessionCoordinator: events per second of the streaming loop.

Workload (issue 3): 30 symbols x 20 trading days of 1-minute bars from the synthetic source,
replayed day by day through the real coordinator — ReplayFeed k-way merge by (ts_event,
symbol) (``--merge sorted``: numpy lexsort, the default; ``--merge heap``: heapq.merge), SimulatedClock (data-driven), SessionData append, 5m + 15m BarBuilders and
one streaming indicator (``sma`` period 20) per symbol. Target: >= 300,000 events/s.

The timed part is the streaming loop of each day (``DayResult.stream_seconds``: building the
day's rows from the prefetched columns, the merge, and every per-event step). Queue loading
(one vectorised read per prefetch batch) and the end of day (quality, flushing partial bars) are
reported separately as wall time per day.

Data source: ``--source arrays`` (default) replays the synthetic bars from an in-memory frame
with the store's frame layout; ``--source sqlite`` first upserts them into a SQLite store in a
temporary directory and replays from there (``Store.read_bars_frame``).

    python benchmarks/replay_coordinator.py            # 30 x 20, 5 repeats, medians
    python benchmarks/replay_coordinator.py --quick    # 5 x 3, 3 repeats
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from core.calendars import session_bounds, sessions_in_range  # noqa: E402
from core.config import validate_session_config  # noqa: E402
from core.store import Store  # noqa: E402
from daemon.aggregation.bars import BarBuilder  # noqa: E402
from daemon.coordinator import RunObserver, SessionCoordinator  # noqa: E402
from daemon.feeds.replay import DayWindow, ReplayFeed, columns_from_frame  # noqa: E402
from plugins.manager import load_plugins  # noqa: E402

FIRST_DAY = date(2025, 3, 3)


def symbols_for(count: int) -> list[str]:
    return [f"S{i:03d}" for i in range(count)]


def make_config(symbols: list[str], start: date, end: date) -> Any:
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
                "streams": ["1m", "5m", "15m"],
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


def synthetic_frame(host: Any, symbols: list[str], days: list[date]) -> pd.DataFrame:
    source = host.create_source("synthetic", exchange="XNYS", seed=42)
    start = session_bounds("XNYS", days[0]).open
    end = session_bounds("XNYS", days[-1]).close
    bars = list(source.request_bars(symbols, start, end, "1m"))
    return pd.DataFrame(
        {
            "symbol": [b.symbol for b in bars],
            "ts": pd.to_datetime([b.ts_event for b in bars], utc=True),
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
            "trade_count": pd.array([b.trade_count for b in bars], dtype="Int64"),
            "vwap": [b.vwap for b in bars],
            "source": "synthetic",
        }
    )


def frame_reader(frame: pd.DataFrame) -> Any:
    ts = frame["ts"]

    def read(symbols: Any, interval: str, start: Any, end: Any) -> pd.DataFrame:
        return frame[(ts >= start) & (ts < end)]

    return read


class CpuObserver(RunObserver):
    """Process CPU time of each day's streaming loop (day_started -> day_streamed).

    On a shared machine wall time includes waiting for a core; CPU time does not.
    """

    def __init__(self) -> None:
        self.cpu_seconds = 0.0
        self._started = 0.0

    def day_started(self, trading_date: Any, expected_events: Any) -> None:
        self._started = time.process_time()

    def day_streamed(self, trading_date: Any, events: int) -> None:
        self.cpu_seconds += time.process_time() - self._started


def run_once(config: Any, host: Any, store: Store, reader: Any, merge: str) -> Any:
    feed = ReplayFeed(
        reader, symbols=config.symbols, interval="1m", source="synthetic", merge=merge
    )
    observer = CpuObserver()
    coordinator = SessionCoordinator(
        config, store=store, host=host, feed=feed, source=None, persist=False, observer=observer
    )
    started = time.perf_counter()
    summary = coordinator.run_sync()
    return summary, time.perf_counter() - started, observer.cpu_seconds


def bare_merge_loop(frame: pd.DataFrame, days: list[date], merge: str) -> tuple[float, float]:
    """Reference: the merge + two independent 5m/15m BarBuilders per symbol (no clock, session
    data, indicator, cascade), GC paused like the coordinator's loop;
    returns (events per wall second, events per CPU second)."""
    events = 0
    seconds = cpu = 0.0
    columns_all = columns_from_frame(frame)
    reader = frame_reader(frame)
    feed = ReplayFeed(reader, symbols=list(columns_all), interval="1m", source="synthetic")
    for d in days:
        bounds = session_bounds("XNYS", d)
        window = DayWindow(d, bounds.open, bounds.close)
        feed.prefetch([window])
        builders = {}
        for symbol in columns_all:
            pair = (BarBuilder(symbol, "5m"), BarBuilder(symbol, "15m"))
            for b in pair:
                b.start_day(bounds)
            builders[symbol] = (pair[0].update, pair[1].update)
        started = time.perf_counter()
        cpu_started = time.process_time()
        gc.disable()  # as the coordinator does while a backtest day streams
        for row in feed.day(window).rows(merge):  # type: ignore[arg-type]
            a, b = builders[row.symbol]
            a(row)
            b(row)
            events += 1
        gc.enable()
        seconds += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        feed.release(d)
    return events / seconds, events / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=30)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--merge", choices=["heap", "sorted"], default="sorted")
    parser.add_argument("--source", choices=["arrays", "sqlite"], default="arrays")
    parser.add_argument("--quick", action="store_true", help="5 symbols x 3 days, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.symbols, args.days, args.repeat = 5, 3, 3

    host = load_plugins(entry_points=False)
    all_days = sessions_in_range("XNYS", FIRST_DAY, date(2025, 12, 31))
    days = all_days[: args.days]
    symbols = symbols_for(args.symbols)
    config = make_config(symbols, days[0], days[-1])
    t0 = time.perf_counter()
    frame = synthetic_frame(host, symbols, days)
    print(
        f"synthetic data: {len(frame):,} bars ({args.symbols} symbols x {len(days)} days) "
        f"in {time.perf_counter() - t0:.2f} s"
    )

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.from_url(f"sqlite:///{tmp}/bench.db")
        if args.source == "sqlite":
            from core.models import Bar

            t0 = time.perf_counter()
            store.upsert_bars(
                Bar(
                    r.symbol,
                    "1m",
                    r.ts.to_pydatetime(),
                    r.open,
                    r.high,
                    r.low,
                    r.close,
                    r.volume,
                    int(r.trade_count),
                    r.vwap,
                    "synthetic",
                )
                for r in frame.itertuples(index=False)
            )
            print(f"pre-loaded into SQLite in {time.perf_counter() - t0:.1f} s")

            def reader(symbols: Any, interval: str, start: Any, end: Any) -> pd.DataFrame:
                return store.read_bars_frame(
                    list(symbols), interval, start, end, source="synthetic"
                )
        else:
            reader = frame_reader(frame)

        rates, cpu_rates, walls, per_day = [], [], [], []
        for i in range(args.repeat):
            summary, wall, cpu = run_once(config, host, store, reader, args.merge)
            assert summary.events == len(frame), (summary.events, len(frame))
            rates.append(summary.events_per_second)
            cpu_rates.append(summary.events / cpu if cpu > 0 else float("nan"))
            walls.append(wall)
            per_day.extend(d.stream_seconds for d in summary.days)
            print(
                f"  run {i + 1}: {summary.events:,} events, streaming {summary.stream_seconds:.3f} s "
                f"-> {summary.events_per_second:,.0f} events/s (CPU time: {cpu_rates[-1]:,.0f}/s); "
                f"whole run {wall:.2f} s"
            )
        store.dispose()

    bare = [bare_merge_loop(frame, days, args.merge) for _ in range(max(1, args.repeat // 2))]
    events_per_day = len(frame) / len(days)
    print()
    print(
        f"full coordinator, merge={args.merge}, source={args.source}: "
        f"median {statistics.median(rates):,.0f} events/s "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f}; target >= 300,000)"
    )
    print(
        f"  per CPU second (process time, excludes waiting for a core): "
        f"median {statistics.median(cpu_rates):,.0f} events/s"
    )
    print(
        f"  median streaming time per day: {statistics.median(per_day) * 1000:.1f} ms "
        f"for {events_per_day:,.0f} events"
    )
    print(
        f"  median whole run (incl. queue loading, end of day): {statistics.median(walls):.2f} s "
        f"for {len(days)} days"
    )
    print(
        f"reference: bare merge ({args.merge}) + 5m/15m builders only: median "
        f"{statistics.median(b[0] for b in bare):,.0f} events/s "
        f"({statistics.median(b[1] for b in bare):,.0f} per CPU second)"
    )


if __name__ == "__main__":
    main()
