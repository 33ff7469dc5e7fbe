"""Bars upserted per second into SQLite and PostgreSQL through ``Store.upsert_bars``.

    python benchmarks/store_upsert.py               # 1M bars, 3 repeats, SQLite (+ PostgreSQL)
    python benchmarks/store_upsert.py --rows 200000 --repeat 5
    python benchmarks/store_upsert.py --quick       # 100k bars, 1 repeat

PostgreSQL runs when ``--pg-url`` or ``SESSIOND_TEST_PG_URL`` is set; it works in a scratch
schema it drops afterwards. Each repeat upserts the bars into an empty table ("insert") and then
the same bars again unchanged ("same-again": every row conflicts, nothing is rewritten) and
with changed prices ("changed": every row conflicts and is updated).
Reports the median rows/s of each. Targets on 2 cores (issue 16): >= 300k rows/s SQLite, >= 150k
rows/s PostgreSQL for 1M bars.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.models import replace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from core.models import Bar  # noqa: E402
from core.store import Store, normalize_url  # noqa: E402


def make_bars(rows: int, symbols: int = 100) -> list[Bar]:
    """``rows`` one-minute bars: ``symbols`` symbols x consecutive trading minutes."""
    start = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    per_symbol = -(-rows // symbols)
    minutes = [start + timedelta(days=m // 390, minutes=m % 390) for m in range(per_symbol)]
    bars: list[Bar] = []
    for s in range(symbols):
        symbol = f"S{s:03d}"
        base = 10.0 + s
        for m, ts in enumerate(minutes):
            if len(bars) == rows:
                return bars
            price = base + (m % 17) * 0.01
            bars.append(
                Bar(
                    symbol,
                    "1m",
                    ts,
                    price,
                    price + 0.05,
                    price - 0.05,
                    price + 0.01,
                    1000.0 + m % 97,
                    12,
                    price,
                    "bench",
                )
            )
    return bars


def timed(store: Store, bars: list[Bar]) -> float:
    began = time.perf_counter()
    written = store.upsert_bars(bars)
    elapsed = time.perf_counter() - began
    assert written == len(bars)
    return len(bars) / elapsed


def run(label: str, url_for_repeat, bars: list[Bar], changed: list[Bar], repeat: int) -> None:
    inserts, repeats, updates = [], [], []
    for i in range(repeat):
        url, cleanup = url_for_repeat(i)
        store = Store.from_url(url)
        try:
            store.upgrade()
            inserts.append(timed(store, bars))
            repeats.append(timed(store, bars))
            updates.append(timed(store, changed))
            count = store.count_bars(
                sorted({b.symbol for b in bars}),
                "1m",
                bars[0].ts_event,
                datetime(2100, 1, 1, tzinfo=UTC),
            )
            assert count == len(bars), (count, len(bars))
        finally:
            store.dispose()
            cleanup()
    print(
        f"{label:<11} rows={len(bars):>9,}  insert median {statistics.median(inserts):>10,.0f} rows/s"
        f"  same-again median {statistics.median(repeats):>10,.0f} rows/s"
        f"  changed median {statistics.median(updates):>10,.0f} rows/s"
        f"  (insert runs: {', '.join(f'{x:,.0f}' for x in inserts)})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100k rows, 1 repeat")
    parser.add_argument("--pg-url", default=os.environ.get("SESSIOND_TEST_PG_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat = 100_000, 1

    bars = make_bars(args.rows)
    changed = [replace(b, close=b.close + 0.02, volume=b.volume + 1) for b in bars]
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)

    if not args.skip_sqlite:
        tmp = tempfile.TemporaryDirectory()

        def sqlite_url(i: int):
            path = Path(tmp.name) / f"bench{i}.db"
            return f"sqlite:///{path}", lambda: None

        run("sqlite", sqlite_url, bars, changed, args.repeat)
        tmp.cleanup()

    if args.pg_url:
        base = normalize_url(args.pg_url)
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")

        def pg_url(i: int):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

            def cleanup() -> None:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))

            url = base.update_query_dict({"options": f"-csearch_path={schema}"})
            return url.render_as_string(hide_password=False), cleanup

        run("postgresql", pg_url, bars, changed, args.repeat)
        admin.dispose()
    else:
        print("postgresql  skipped (set SESSIOND_TEST_PG_URL or pass --pg-url)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
