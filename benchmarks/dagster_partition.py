"""Materialize one trading-day partition of 30 symbols of 1-minute bars (synthetic source).

What is timed: one in-process Dagster run of an exchange's whole asset group for one XNYS
session — ``historical_bars`` (30 x 390 bars fetched and upserted), ``daily_bars``, a daily
and a per-minute-of-day trailing-average indicator and the three bar checks — into a fresh
SQLite store each repetition (``--store-url`` for another store, e.g. PostgreSQL; then the
rows are upserted over the previous repetition's). Also timed: a re-materialization of the same
partition (every row upserted again, nothing changes). Prints the medians.

Target (issue 4): under 10 s on 2 cores.

    python benchmarks/dagster_partition.py [--repeat 5] [--symbols 30] [--store-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PARTITION = "2024-07-05"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--symbols", type=int, default=30)
    parser.add_argument("--store-url", default=None)
    parser.add_argument("--quick", action="store_true", help="3 repetitions")
    args = parser.parse_args()
    repeat = 3 if args.quick else args.repeat

    started = time.perf_counter()
    from dagster import DagsterInstance, materialize

    from orchestration.assets import build_exchange_definitions
    from orchestration.catalog import ExchangeCatalog, IndicatorSpec, SourceLoad
    from orchestration.resources import DataSourceResource, StoreResource

    imported = time.perf_counter() - started
    symbols = tuple(f"SYM{i:02d}" for i in range(args.symbols))
    indicators = tuple(
        IndicatorSpec(
            name,
            "trailing_average",
            (("granularity", granularity), ("period", "10d")),
            symbols,
            "synthetic",
        )
        for name, granularity in (("avg_volume", "daily"), ("avg_volume_by_minute", "intraday"))
    )
    catalog = ExchangeCatalog(
        calendar="XNYS",
        exchange_group="US_EQUITY",
        loads=(SourceLoad("synthetic", (("seed", 42),), (("1m", symbols),)),),
        indicators=indicators,
        max_retries=0,
        retry_interval_seconds=1.0,
        earliest_needed=None,
    )
    exchange = build_exchange_definitions(catalog, pool=None)
    selection = [*exchange.assets, *exchange.checks]
    instance = DagsterInstance.ephemeral()

    first_runs: list[float] = []
    reruns: list[float] = []
    with tempfile.TemporaryDirectory() as directory:
        for i in range(repeat):
            url = args.store_url or f"sqlite:///{Path(directory) / f'run{i}.db'}"
            resources = {
                "store": StoreResource(url=url),
                "synthetic_source": DataSourceResource(plugin="synthetic"),
            }
            for timings in (first_runs, reruns):
                t0 = time.perf_counter()
                result = materialize(
                    selection,
                    partition_key=PARTITION,
                    resources=resources,
                    instance=instance,
                    run_config=QUIET,
                )
                timings.append(time.perf_counter() - t0)
                assert result.success
            (event,) = result.asset_materializations_for_node("us_equity__historical_bars")
            assert event.metadata["dagster/row_count"].value == 390 * args.symbols

    print(f"dagster + orchestration import: {imported:.2f} s")
    print(f"partition {PARTITION}, {args.symbols} symbols x 390 one-minute bars, {repeat} runs")
    print(
        f"  first materialization  median {statistics.median(first_runs):.2f} s  (min {min(first_runs):.2f}, max {max(first_runs):.2f})"
    )
    print(
        f"  re-materialization     median {statistics.median(reruns):.2f} s  (min {min(reruns):.2f}, max {max(reruns):.2f})"
    )
    print(f"  target: < 10 s -> {'OK' if statistics.median(first_runs) < 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
