"""ReplayFeed: one read per prefetch, per-day split, k-way merge order and the two merge paths."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import Bar
from daemon.feeds.replay import (
    DayWindow,
    ReplayFeed,
    columns_from_frame,
    datetime_to_ns,
    ns_to_datetime,
    row_to_bar,
)

D1 = date(2025, 7, 1)
D2 = date(2025, 7, 2)
OPEN1 = datetime(2025, 7, 1, 13, 30, tzinfo=UTC)
OPEN2 = datetime(2025, 7, 2, 13, 30, tzinfo=UTC)
W1 = DayWindow(D1, OPEN1, OPEN1 + timedelta(hours=6, minutes=30))
W2 = DayWindow(D2, OPEN2, OPEN2 + timedelta(hours=6, minutes=30))


def _frame(rows: list[tuple[str, datetime, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": [r[0] for r in rows],
            "ts": pd.to_datetime([r[1] for r in rows], utc=True),
            "open": [r[2] for r in rows],
            "high": [r[2] + 1 for r in rows],
            "low": [r[2] - 1 for r in rows],
            "close": [r[2] + 0.5 for r in rows],
            "volume": [100.0 for _ in rows],
            "trade_count": pd.array([None if i % 2 else 7 for i in range(len(rows))], "Int64"),
            "vwap": [None if i % 3 == 0 else r[2] for i, r in enumerate(rows)],
            "source": ["test"] * len(rows),
        }
    )


class RecordingReader:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.calls: list[tuple[tuple[str, ...], str, datetime, datetime]] = []

    def __call__(self, symbols, interval, start, end):  # type: ignore[no-untyped-def]
        self.calls.append((tuple(symbols), interval, start, end))
        ts = self.frame["ts"]
        return self.frame[(ts >= start) & (ts < end) & self.frame["symbol"].isin(symbols)]


def _minute(day_open: datetime, i: int) -> datetime:
    return day_open + timedelta(minutes=i)


def test_prefetch_reads_once_and_splits_days_by_window() -> None:
    rows = [("MSFT", _minute(OPEN1, i), 10.0 + i) for i in range(3)]
    rows += [("AAPL", _minute(OPEN1, i), 20.0 + i) for i in range(2)]
    rows += [("AAPL", _minute(OPEN2, i), 30.0 + i) for i in range(4)]
    rows += [("AAPL", OPEN2 + timedelta(hours=7), 99.0)]  # after the close: outside the window
    reader = RecordingReader(_frame(rows))
    feed = ReplayFeed(reader, symbols=["MSFT", "AAPL"], interval="1m", source="test")
    assert feed.prefetch([W1, W2]) == 9
    assert len(reader.calls) == 1
    assert reader.calls[0][2:] == (W1.start, W2.end)
    assert feed.prefetch([W1, W2]) == 0  # already loaded: no second read
    assert len(reader.calls) == 1
    day1, day2 = feed.day(W1), feed.day(W2)
    assert day1.event_count == 5 and day2.event_count == 4
    assert sorted(day2.columns) == ["AAPL"]
    feed.release(D1)
    assert not feed.is_loaded(D1) and feed.is_loaded(D2)


def test_merge_orders_by_time_then_symbol_for_every_strategy() -> None:
    # MSFT has a bar every minute, AAPL every other minute, ZZZ only at minute 3: ties at 0, 2.
    rows = [("MSFT", _minute(OPEN1, i), 1.0) for i in range(5)]
    rows += [("AAPL", _minute(OPEN1, i), 2.0) for i in (0, 2, 4)]
    rows += [("ZZZ", _minute(OPEN1, 3), 3.0)]
    feed = ReplayFeed(RecordingReader(_frame(rows)), symbols=["ZZZ", "MSFT", "AAPL"], interval="1m")
    expected = [
        (0, "AAPL"), (0, "MSFT"), (1, "MSFT"), (2, "AAPL"), (2, "MSFT"),
        (3, "MSFT"), (3, "ZZZ"), (4, "AAPL"), (4, "MSFT"),
    ]  # fmt: skip
    for merge in ("heap", "sorted"):
        got = [
            (int((r.ts_event - OPEN1).total_seconds() // 60), r.symbol)
            for r in feed.day(W1).rows(merge)
        ]
        assert got == expected, merge


def test_rows_carry_the_stored_values_and_none_for_missing_fields() -> None:
    rows = [("AAPL", _minute(OPEN1, i), 10.0 + i) for i in range(4)]
    frame = _frame(rows)
    feed = ReplayFeed(RecordingReader(frame), symbols=["AAPL"], interval="1m", source="test")
    got = list(feed.day(W1).rows())
    assert [r.open for r in got] == [10.0, 11.0, 12.0, 13.0]
    assert [r.high for r in got] == [11.0, 12.0, 13.0, 14.0]
    assert [r.trade_count for r in got] == [7, None, 7, None]
    assert [r.vwap for r in got] == [None, 11.0, 12.0, None]
    bar = row_to_bar(got[1])
    assert bar == Bar(
        "AAPL", "1m", _minute(OPEN1, 1), 11.0, 12.0, 10.0, 11.5, 100.0, None, 11.0, "test"
    )
    assert got[0].ts_event.tzinfo is not None


def test_unknown_merge_strategy_is_refused() -> None:
    feed = ReplayFeed(RecordingReader(_frame([])), symbols=["AAPL"], interval="1m")
    with pytest.raises(ValueError, match="'bogus'"):
        feed.day(W1).rows("bogus")  # type: ignore[arg-type]


def test_ns_round_trip() -> None:
    ts = datetime(2025, 7, 1, 13, 30, 0, 123456, tzinfo=UTC)
    assert ns_to_datetime(datetime_to_ns(ts)) == ts
    assert datetime_to_ns(ts) == pd.Timestamp(ts).value


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["AAA", "BBB", "CCC", "DDD"]),
        st.sets(st.integers(min_value=0, max_value=389), min_size=1, max_size=40),
        min_size=1,
    )
)
def test_heap_and_sorted_merges_agree_and_are_time_ordered(minutes: dict[str, set[int]]) -> None:
    rows = [(s, _minute(OPEN1, m), float(m)) for s, ms in minutes.items() for m in sorted(ms)]
    columns = columns_from_frame(_frame(rows))
    feed = ReplayFeed(RecordingReader(_frame(rows)), symbols=list(minutes), interval="1m")
    day = feed.day(W1)
    assert sum(len(c) for c in columns.values()) == len(rows)
    heap = list(day.rows("heap"))
    flat = list(day.rows("sorted"))
    assert heap == flat
    keys = [(r.ts_event, r.symbol) for r in heap]
    assert keys == sorted(keys)
    assert len(heap) == len(rows)
    assert np.all(np.diff([datetime_to_ns(r.ts_event) for r in heap]) >= 0)
