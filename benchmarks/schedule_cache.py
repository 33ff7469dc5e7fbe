"""TradingSchedule cache hit rate over a one-year backtest access pattern.

Pattern per trading day (what the session lifecycle asks): is_trading_day, get_trading_session
(at initialize, activation and end of session), trading_days_back(day, trailing_days) for the
historical phase, session_minutes of each trailing day (quality) and of the day, and
get_next_trading_date at the end of the session; plus get_trading_session once per streamed
1-minute event (the "same query repeatedly" case the last-query slot serves).
Target (issue 3): hit rate >= 99 %. Run: `python benchmarks/schedule_cache.py [--quick]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.schedule import TradingSchedule  # noqa: E402


def run_year(calendar: str, start: date, end: date, trailing_days: int, per_event: bool) -> tuple:
    schedule = TradingSchedule(calendar)
    started = time.perf_counter()
    queries = 0
    day = schedule.get_first_trading_date(start)
    while day <= end:
        schedule.is_trading_day(day)
        session = schedule.get_trading_session(day)
        for history_day in schedule.trading_days_back(day, trailing_days):
            schedule.session_minutes(history_day)
        minutes = schedule.session_minutes(day)
        queries += 4 + trailing_days
        if per_event:
            for _ in minutes:
                schedule.get_trading_session(day)
            queries += len(minutes)
        schedule.get_trading_session(day)
        assert session is not None
        day = schedule.get_next_trading_date(day)
        queries += 2
    elapsed = time.perf_counter() - started
    return schedule.cache_stats(), elapsed, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.parse_args()
    for calendar, year in (("XNYS", 2024), ("XSTC", 2025)):
        for per_event in (False, True):
            times = []
            for _ in range(3):
                stats, elapsed, queries = run_year(
                    calendar, date(year, 1, 1), date(year, 12, 31), 10, per_event
                )
                times.append(elapsed / queries * 1e6)
            label = "with per-event session lookups" if per_event else "lifecycle queries only"
            print(
                f"{calendar} {year} ({label}): hits {stats.hits:,} misses {stats.misses} "
                f"hit rate {stats.hit_rate:.4%} (target >= 99 %: "
                f"{'ok' if stats.hit_rate >= 0.99 else 'MISSED'}); "
                f"median {statistics.median(times):.3f} µs/query"
            )


if __name__ == "__main__":
    main()
