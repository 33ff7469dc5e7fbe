"""SQLite under concurrent use: writer processes upsert while a reader reads (WAL + BEGIN IMMEDIATE).

Dagster writes while the daemon reads; two loaders may write at once. None of them may see
"database is locked", and a reader only ever sees whole committed batches.
"""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta

from core.models import Bar
from core.store import Store

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
BATCHES = 15
BATCH_ROWS = 200


def _batch(symbol: str, number: int, close: float) -> list[Bar]:
    first = number * BATCH_ROWS
    return [
        Bar(
            symbol,
            "1m",
            T0 + timedelta(minutes=first + i),
            close,
            close,
            close,
            close,
            1.0,
            source="syn",
        )
        for i in range(BATCH_ROWS)
    ]


def write_batches(url: str, symbol: str, errors: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Child process: upsert BATCHES batches (each one transaction), then re-upsert them changed."""
    try:
        with Store.from_url(url) as store:
            for number in range(BATCHES):
                store.upsert_bars(_batch(symbol, number, 1.0))
            for number in range(BATCHES):
                store.upsert_bars(_batch(symbol, number, 2.0))
    except BaseException as error:  # reported to the parent, which fails the test
        errors.put(f"{symbol}: {type(error).__name__}: {error}")
        raise


def test_two_writer_processes_and_a_reader_never_hit_database_is_locked(sqlite_url: str) -> None:
    """Also covers first use racing: all three open the empty file and migrate it at once."""
    end = T0 + timedelta(days=30)
    with Store.from_url(sqlite_url) as store:
        # nobody has migrated the new file yet: both children and the reader race to do it
        context = multiprocessing.get_context("spawn")
        errors = context.Queue()
        writers = [
            context.Process(target=write_batches, args=(sqlite_url, symbol, errors))
            for symbol in ("AAA", "BBB")
        ]
        for process in writers:
            process.start()

        seen: list[int] = []
        read_errors: list[BaseException] = []
        stop = threading.Event()

        def read_until_done() -> None:
            try:
                while not stop.is_set():
                    counts = [store.count_bars(s, "1m", T0, end) for s in ("AAA", "BBB")]
                    # whole batches only: a partial transaction is never visible
                    assert [n % BATCH_ROWS for n in counts] == [0, 0], counts
                    window = store.read_bars(["AAA", "BBB"], "1m", T0, T0 + timedelta(minutes=5))
                    assert len(window) in (0, 5, 10), len(window)
                    seen.append(sum(counts))
                    stop.wait(0.02)  # leave the writers some CPU on a busy machine
            except BaseException as error:
                read_errors.append(error)

        reader = threading.Thread(target=read_until_done)
        reader.start()
        for process in writers:
            process.join(timeout=120)
        stop.set()
        reader.join(timeout=60)

        reported = []
        while not errors.empty():
            reported.append(errors.get())
        assert reported == []
        assert [p.exitcode for p in writers] == [0, 0]
        assert read_errors == []
        assert len(seen) >= 2
        assert seen == sorted(seen)  # rows only ever appear (re-upserts never duplicate)
        final = store.read_bars(["AAA", "BBB"], "1m", T0, end)
        assert len(final) == 2 * BATCHES * BATCH_ROWS
        assert {b.close for b in final} == {2.0}


def test_writer_threads_sharing_one_store_queue_instead_of_failing(sqlite_url: str) -> None:
    with Store.from_url(sqlite_url) as store:
        failures: list[BaseException] = []

        def write(symbol: str) -> None:
            try:
                for number in range(10):
                    store.upsert_bars(_batch(symbol, number, 3.0))
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=write, args=(f"T{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == []
        symbols = [f"T{i}" for i in range(4)]
        assert store.count_bars(symbols, "1m", T0, T0 + timedelta(days=30)) == 4 * 10 * BATCH_ROWS


def test_opening_a_migrated_store_does_not_wait_for_a_long_write(sqlite_url: str) -> None:
    with Store.from_url(sqlite_url) as writer_store:
        writer_store.upsert_bars(_batch("AAA", 0, 1.0))
        with writer_store.engine.begin(), Store.from_url(sqlite_url) as reader_store:
            # the writer holds the lock; the new store checks its schema in a read snapshot
            end = T0 + timedelta(days=1)
            assert reader_store.count_bars("AAA", "1m", T0, end) == BATCH_ROWS
