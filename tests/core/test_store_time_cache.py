"""Bounds of the store's timestamp bind-conversion caches (a live daemon writes thousands of
events a second through them; they must not hold every event's instant)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.models import Trade
from core.store import DATETIME_CACHE_SIZE, Store
from core.store import writer as store_module

T0 = datetime(2026, 2, 3, 3, 0, tzinfo=UTC)


def test_time_cache_never_exceeds_its_bound_after_many_unique_instants() -> None:
    convert = store_module.cached_datetime(None, "t.ts", size=1_000)
    largest = 0
    for k in range(25_000):
        assert convert(T0 + timedelta(microseconds=k)) == T0 + timedelta(microseconds=k)
        largest = max(largest, len(convert.cache))
    assert largest == 1_000


def test_time_cache_returns_the_cached_conversion_for_a_repeated_instant() -> None:
    convert = store_module.cached_datetime(lambda ts: ts.isoformat(), "t.ts", size=10)
    first = convert(T0)
    assert convert(T0) is first
    assert first == "2026-02-03T03:00:00+00:00"


def test_arrival_stamps_are_not_cached_and_event_times_stay_bounded(tmp_path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'cache.db'}")
    try:
        batch = 2_000
        for b in range(12):  # 24,000 trades, each with its own arrival stamp
            trades = [
                Trade(
                    "ACB",
                    T0 + timedelta(seconds=(b * batch + k) // 1_000),
                    20_000.0,
                    100.0,
                    source="ssi",
                    total_volume=100.0 * (b * batch + k + 1),
                    ts_received=T0 + timedelta(microseconds=b * batch + k),
                )
                for k in range(batch)
            ]
            assert store.upsert_trades(trades) == batch
        writer = store._writers["trades"]
        caches = {writer.columns[i]: conv.cache for i, conv in writer._time_converters}
        assert caches["ts_received"] == {}
        assert 0 < len(caches["ts"]) <= DATETIME_CACHE_SIZE
        assert len(store.read_trades(["ACB"], T0, T0 + timedelta(hours=1))) == 24_000
    finally:
        store.dispose()
