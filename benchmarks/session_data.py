"""SessionData micro-benchmarks: append and latest-get, median per operation (µs).

Targets (issue 3): append <= 0.15 µs, latest-get <= 0.10 µs (median). Each timeit repeat runs
`number` operations; the per-operation time is the repeat's total / number; medians over
`repeat` repeats are printed. Run: `python benchmarks/session_data.py [--quick]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.models import Bar  # noqa: E402
from daemon.session_data import SessionData  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    number = 100_000
    repeat = 7 if args.quick else 31

    t0 = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    row = Bar("AAPL", "1m", t0, 1.0, 2.0, 0.5, 1.5, 100.0)
    data = SessionData()
    series = data.series("AAPL", "1m")
    for i in range(1000):
        series.append(Bar("AAPL", "1m", t0 + timedelta(minutes=i), 1.0, 2.0, 0.5, 1.5, 100.0))

    def fresh() -> dict[str, object]:
        s = SessionData().series("AAPL", "1m")
        return {"append": s.append, "row": row, "s": s}

    results: dict[str, list[float]] = {}
    cases = {
        "series.append(row)": ("append(row)", fresh),
        "series.latest()": ("latest()", lambda: {"latest": series.latest}),
        "series.last(10)": ("last(10)", lambda: {"last": series.last}),
        "data.append(sym, key, row)": (
            "append('AAPL', '1m', row)",
            lambda: {"append": SessionData().append, "row": row},
        ),
        "data.latest(sym, key)": ("latest('AAPL', '1m')", lambda: {"latest": data.latest}),
        "series.between(start, end)": (
            "between(a, b)",
            lambda: {
                "between": series.between,
                "a": t0 + timedelta(minutes=100),
                "b": t0 + timedelta(minutes=200),
            },
        ),
    }
    for label, (statement, setup) in cases.items():
        per_op = []
        for _ in range(repeat):
            namespace = setup()
            per_op.append(timeit.timeit(statement, globals=namespace, number=number) / number * 1e6)
        results[label] = per_op

    print(f"SessionData per-operation medians ({repeat} repeats x {number:,} ops)")
    for label, values in results.items():
        print(f"  {label:32s} median {statistics.median(values):.4f} µs   min {min(values):.4f} µs")
    append = statistics.median(results["series.append(row)"])
    latest = statistics.median(results["series.latest()"])
    print(
        f"targets: append {append:.4f} µs (<= 0.15: {'ok' if append <= 0.15 else 'MISSED'}), "
        f"latest {latest:.4f} µs (<= 0.10: {'ok' if latest <= 0.10 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
