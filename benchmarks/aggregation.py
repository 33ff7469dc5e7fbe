"""Bar aggregation throughput: incremental 5m + 15m builders vs the vectorised batch path.

Workload: 30 symbols x 20 XNYS trading days of 1-minute ``Bar`` records, interleaved in
timestamp order as the streamer delivers them. Variants: two independent BarBuilders per
symbol; ``BarAggregator(["5m", "15m"]).update`` (15m chained from 5m); per-symbol
``updater()`` (chained, and straight from the 1m rows as the live path builds them); the
aggregator plus an SMA(20) per symbol; and the batch path a backtest uses
(``core.resample.resample`` per day and interval over the day's columns). Times are CPU
seconds of this process (``time.process_time``), so a box shared with other jobs does not
inflate them. Prints median events/s and µs/event over repeats.
Run: `python benchmarks/aggregation.py [--quick]` (quick: 10 symbols x 5 days).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import calendars  # noqa: E402
from core.columns import BarColumns  # noqa: E402
from core.models import Bar  # noqa: E402
from core.resample import resample  # noqa: E402
from daemon.aggregation.bars import BarAggregator, BarBuilder  # noqa: E402
from plugins.indicators.streaming import SimpleMovingAverage  # noqa: E402


def make_days(symbols: int, days: int) -> list[tuple[object, list[Bar]]]:
    rng = np.random.default_rng(0)
    out = []
    for day in calendars.sessions_in_range("XNYS", date(2024, 3, 1), date(2024, 6, 28))[:days]:
        minutes = calendars.session_minutes("XNYS", day)
        rows = []
        for ts in minutes:
            closes = rng.uniform(90, 110, symbols)
            for s in range(symbols):
                c = float(closes[s])
                rows.append(Bar(f"S{s:02d}", "1m", ts, c, c + 0.3, c - 0.3, c, 1000.0, 10, None))
        out.append((calendars.session_bounds("XNYS", day), rows))
    return out


def run_incremental(days, with_indicator: bool) -> tuple[float, int, int]:
    aggregator = BarAggregator(["5m", "15m"])
    smas: dict[str, SimpleMovingAverage] = {}
    events = generated = 0
    started = time.process_time()
    for session, rows in days:
        aggregator.start_day(session)
        update = aggregator.update
        if with_indicator:
            for row in rows:
                done = update(row)
                if done:
                    generated += len(done)
                sma = smas.get(row.symbol)
                if sma is None:
                    sma = smas[row.symbol] = SimpleMovingAverage(name="sma", period=20)
                sma.update(row)
        else:
            for row in rows:
                done = update(row)
                if done:
                    generated += len(done)
        generated += len(aggregator.close_day())
        events += len(rows)
    return time.process_time() - started, events, generated


def run_updaters(days, chained: bool) -> tuple[float, int, int]:
    """``BarAggregator.updater(symbol)`` per symbol, looked up once (the streamer's way)."""
    aggregator = BarAggregator(["5m", "15m"], chained=chained)
    symbols = sorted({row.symbol for _, rows in days[:1] for row in rows})
    updaters = {symbol: aggregator.updater(symbol) for symbol in symbols}
    events = generated = 0
    started = time.process_time()
    for session, rows in days:
        aggregator.start_day(session)
        for row in rows:
            done = updaters[row.symbol](row)
            if done:
                generated += len(done)
        generated += len(aggregator.close_day())
        events += len(rows)
    return time.process_time() - started, events, generated


def run_two_builders(days) -> tuple[float, int, int]:
    """Independent 5m and 15m BarBuilders per symbol, both fed every source row."""
    builders = {}
    events = generated = 0
    started = time.process_time()
    for session, rows in days:
        for symbol in {row.symbol for row in rows[:64]} | set(builders):
            if symbol not in builders:
                builders[symbol] = (BarBuilder(symbol, "5m"), BarBuilder(symbol, "15m"))
            for builder in builders[symbol]:
                builder.start_day(session)
        for row in rows:
            for builder in builders[row.symbol]:
                done = builder.update(row)
                if done:
                    generated += len(done)
        for pair in builders.values():
            for builder in pair:
                generated += len(builder.close_day())
        events += len(rows)
    return time.process_time() - started, events, generated


def run_batch(days) -> tuple[float, int, int]:
    """``core.resample`` per day and interval over the day's columns (a backtest's way)."""
    columns = [(session, list(BarColumns.from_bars(rows).values())) for session, rows in days]
    events = sum(len(rows) for _, rows in days)
    started = time.process_time()
    generated = 0
    for session, blocks in columns:
        for interval in ("5m", "15m"):
            generated += sum(len(b) for b in resample(blocks, interval, session))
    return time.process_time() - started, events, generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    symbols, n_days, repeat = (10, 5, 3) if args.quick else (30, 20, 5)
    days = make_days(symbols, n_days)
    print(f"workload: {symbols} symbols x {n_days} days = {sum(len(r) for _, r in days):,} events")
    for label, runner in (
        ("two BarBuilders 5m, 15m (Bar)", lambda: run_two_builders(days)),
        ("incremental 5m+15m", lambda: run_incremental(days, False)),
        ("updater() 5m+15m chained", lambda: run_updaters(days, True)),
        ("updater() 5m+15m direct (live)", lambda: run_updaters(days, False)),
        ("incremental 5m+15m + SMA(20)", lambda: run_incremental(days, True)),
        ("batch core.resample 5m+15m", lambda: run_batch(days)),
    ):
        rates, per_event, generated = [], [], 0
        for _ in range(repeat):
            seconds, events, generated = runner()
            rates.append(events / seconds)
            per_event.append(seconds / events * 1e6)
        print(
            f"  {label:32s} median {statistics.median(rates):>12,.0f} events/s "
            f"({statistics.median(per_event):.3f} µs/event), {generated:,} bars generated"
        )


if __name__ == "__main__":
    main()
