"""A backtest that trades: the SMA crossover through the simulated broker, events per second.

Workload (issue 10): 30 symbols x 20 trading days of 1-minute bars from the synthetic source in a
SQLite store, replayed by the real ``SessionCoordinator`` with 5m and 15m bars generated, the
``sma_crossover`` strategy (10/30 one-minute closes, market orders, 1 tick of slippage, US
regulatory fees) trading every symbol through the ``simulated`` broker, the trading ledger
writing every order, fill, end-of-day position and equity point. Targets: >= 250,000
events/s for the whole run, peak RSS <= 300 MB.

Reported per configuration (median of ``--repeat`` fresh processes, each on its own store):

- **whole run**: ``SessionCoordinator.run_sync`` wall time (queue loading, streaming, the
  strategy and broker, end of day, the ledger) -> streamed events / s;
- **loop**: the streaming loops alone (``DayResult.stream_seconds``, strategy and broker
  included) -> events / s;
- peak RSS of the process (``ru_maxrss``, setup included);
- the same run without a strategy, for the cost of trading.

Events are the streamed 1-minute bars (as in ``benchmarks/replay_coordinator.py``); the 5m/15m
bars each streamed bar completes are delivered too but not counted.

    python benchmarks/replay_trading.py              # 30 x 20, 3 repeats, medians
    python benchmarks/replay_trading.py --quick      # 5 x 3, 1 repeat
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FIRST_DAY = date(2025, 3, 3)


def make_config(symbols: list[str], days: list[date], trading: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "session_name": "bench_trading",
        "exchange_group": "US_EQUITY",
        "mode": "backtest",
        "backtest_config": {
            "start_date": days[0].isoformat(),
            "end_date": days[-1].isoformat(),
            "speed_multiplier": 0,
            "prefetch_days": 5,
        },
        "session_data_config": {
            "symbols": symbols,
            "streams": ["1m", "5m", "15m"],
            "historical": {"enable_quality": False, "data": [], "indicators": {}},
            "gap_filler": {"enable_session_quality": False},
        },
        "api_config": {"data_api": "synthetic", "data_api_options": {"seed": 42}},
    }
    if trading:
        config["strategy"] = {
            "type": "sma_crossover",
            "params": {"fast": 10, "slow": 30, "interval": "1m", "allocation": 0.03},
        }
        config["trading_config"] = {
            "starting_cash": 1_000_000.0,
            "fees": {"type": "us_default", "regulatory_fees": True},
        }
        config["api_config"]["trade_api"] = "simulated"
        config["api_config"]["trade_api_options"] = {"slippage_ticks": 1}
    return config


def child(symbol_count: int, day_count: int, trading: bool) -> dict[str, Any]:
    """One measured run in this (fresh) process; returns its figures."""
    from core import calendars
    from core.config import validate_session_config
    from core.store import Store
    from daemon.coordinator import SessionCoordinator
    from plugins.manager import load_plugins

    symbols = [f"S{i:03d}" for i in range(symbol_count)]
    days = calendars.sessions_in_range("XNYS", FIRST_DAY, date(2025, 12, 31))[:day_count]
    host = load_plugins(entry_points=False)
    config = validate_session_config(make_config(symbols, days, trading), **host.config_names())
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.from_url(f"sqlite:///{tmp}/bench.db")
        source = host.create_source("synthetic", exchange="XNYS", seed=42)
        first = calendars.session_bounds("XNYS", days[0]).open
        last = calendars.session_bounds("XNYS", days[-1]).close
        store.upsert_bars(source.request_bars(symbols, first, last, "1m"))
        coordinator = SessionCoordinator.for_config(config, store=store, host=host)
        started = time.perf_counter()
        summary = coordinator.run_sync()
        whole = time.perf_counter() - started
        store.dispose()
    trading_results = getattr(summary, "trading", None) or {}
    return {
        "events": summary.events,
        "whole_seconds": whole,
        "loop_seconds": summary.stream_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "orders": trading_results.get("orders", 0),
        "fills": trading_results.get("fills", 0),
        "status": summary.status,
    }


def measure(symbols: int, days: int, trading: bool, repeat: int) -> list[dict[str, Any]]:
    runs = []
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(symbols), str(days), str(int(trading))],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    return runs


def report(label: str, runs: list[dict[str, Any]]) -> dict[str, float]:
    events = runs[0]["events"]
    whole = statistics.median(r["whole_seconds"] for r in runs)
    loop = statistics.median(r["loop_seconds"] for r in runs)
    rss = statistics.median(r["peak_rss_mb"] for r in runs)
    print(
        f"{label:<22} {events:>9,} events  whole run {whole:6.2f} s = {events / whole:>9,.0f}/s"
        f"   loop {loop:6.2f} s = {events / loop:>9,.0f}/s   peak RSS {rss:6.1f} MB"
        + (
            f"   orders {runs[0]['orders']:,} fills {runs[0]['fills']:,}"
            if runs[0]["orders"]
            else ""
        )
    )
    return {"whole": events / whole, "loop": events / loop, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 symbols x 3 days, 1 repeat")
    parser.add_argument("--symbols", type=int, default=30)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        symbols, days, trading = (int(v) for v in args.child)
        print(json.dumps(child(symbols, days, bool(trading))))
        return
    if args.quick:
        args.symbols, args.days, args.repeat = 5, 3, 1
    print(
        f"replay_trading: {args.symbols} symbols x {args.days} days of 1m bars, 5m + 15m "
        f"generated, median of {args.repeat} runs (fresh process and store each); load "
        f"{os.getloadavg()[0]:.2f}"
    )
    report("no strategy", measure(args.symbols, args.days, False, args.repeat))
    figures = report("sma_crossover", measure(args.symbols, args.days, True, args.repeat))
    print(
        f"targets: whole run >= 250,000/s ({'met' if figures['whole'] >= 250_000 else 'NOT met'}), "
        f"peak RSS <= 300 MB ({'met' if figures['rss'] <= 300 else 'NOT met'}); load after "
        f"{os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
