"""ReplayFeed: one columnar read per prefetch, per-day split, (time, symbol) merge order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from core.columns import BarColumns, datetime_to_ns, ns_to_datetime
from core.models import Bar
from core.sessions import SessionWindow
from daemon.feeds.replay import ReplayFeed

D1 = date(2025, 7, 1)
D2 = date(2025, 7, 2)
OPEN1 = datetime(2025, 7, 1, 13, 30, tzinfo=UTC)
OPEN2 = datetime(2025, 7, 2, 13, 30, tzinfo=UTC)
W1 = SessionWindow(D1, OPEN1, OPEN1 + timedelta(hours=6, minutes=30))
W2 = SessionWindow(D2, OPEN2, OPEN2 + timedelta(hours=6, minutes=30))


def _bars(rows: list[tuple[str, datetime, float]]) -> list[Bar]:
    return [
        Bar(
            symbol,
            "1m",
            ts,
            price,
            price + 1,
            price - 1,
            price + 0.5,
            100.0,
            None if i % 2 else 7,
            None if i % 3 == 0 else price,
            "test",
        )
        for i, (symbol, ts, price) in enumerate(rows)
    ]


class RecordingReader:
    """Serves columns of fixed bars as ``Store.read_bar_columns`` would; records the calls."""

    def __init__(self, bars: list[Bar]) -> None:
        self.bars = bars
        self.calls: list[tuple[tuple[str, ...], str, datetime, datetime]] = []

    def __call__(self, symbols, interval, start, end):  # type: ignore[no-untyped-def]
        self.calls.append((tuple(symbols), interval, start, end))
        inside = [b for b in self.bars if start <= b.ts_event < end and b.symbol in symbols]
        blocks = BarColumns.from_bars(inside)
        return [blocks[s] for s in sorted(blocks)]


def _minute(day_open: datetime, i: int) -> datetime:
    return day_open + timedelta(minutes=i)


def test_prefetch_reads_once_and_splits_days_by_window() -> None:
    rows = [("MSFT", _minute(OPEN1, i), 10.0 + i) for i in range(3)]
    rows += [("AAPL", _minute(OPEN1, i), 20.0 + i) for i in range(2)]
    rows += [("AAPL", _minute(OPEN2, i), 30.0 + i) for i in range(4)]
    rows += [("AAPL", OPEN2 + timedelta(hours=7), 99.0)]  # after the close: outside the window
    reader = RecordingReader(_bars(rows))
    feed = ReplayFeed(reader, symbols=["MSFT", "AAPL"], interval="1m")
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


def test_merge_orders_by_time_then_symbol() -> None:
    # MSFT has a bar every minute, AAPL every other minute, ZZZ only at minute 3: ties at 0, 2.
    rows = [("MSFT", _minute(OPEN1, i), 1.0) for i in range(5)]
    rows += [("AAPL", _minute(OPEN1, i), 2.0) for i in (0, 2, 4)]
    rows += [("ZZZ", _minute(OPEN1, 3), 3.0)]
    feed = ReplayFeed(RecordingReader(_bars(rows)), symbols=["ZZZ", "MSFT", "AAPL"], interval="1m")
    expected = [
        (0, "AAPL"), (0, "MSFT"), (1, "MSFT"), (2, "AAPL"), (2, "MSFT"),
        (3, "MSFT"), (3, "ZZZ"), (4, "AAPL"), (4, "MSFT"),
    ]  # fmt: skip
    got = [
        (int((r.ts_event - OPEN1).total_seconds() // 60), r.symbol) for r in feed.day(W1).bars()
    ]
    assert got == expected


def test_records_carry_the_stored_values_and_none_for_missing_fields() -> None:
    rows = [("AAPL", _minute(OPEN1, i), 10.0 + i) for i in range(4)]
    bars = _bars(rows)
    feed = ReplayFeed(RecordingReader(bars), symbols=["AAPL"], interval="1m")
    got = feed.day(W1).bars()
    assert got == bars  # the very records, unknowns None again
    assert [r.trade_count for r in got] == [7, None, 7, None]
    assert [r.vwap for r in got] == [None, 11.0, 12.0, None]
    assert all(type(r) is Bar for r in got)
    assert got[0].ts_event.tzinfo is not None


def test_bars_of_one_instant_share_one_datetime_object() -> None:
    rows = [(s, _minute(OPEN1, i), 1.0) for s in ("A", "B", "C") for i in range(3)]
    got = ReplayFeed(RecordingReader(_bars(rows)), symbols=["A", "B", "C"], interval="1m").day(W1)
    bars = got.bars()
    for i in range(0, 9, 3):
        assert bars[i].ts_event is bars[i + 1].ts_event is bars[i + 2].ts_event


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
def test_the_merge_is_a_time_then_symbol_ordering_of_every_bar(minutes: dict[str, set[int]]) -> None:
    rows = [(s, _minute(OPEN1, m), float(m)) for s, ms in minutes.items() for m in sorted(ms)]
    feed = ReplayFeed(RecordingReader(_bars(rows)), symbols=list(minutes), interval="1m")
    merged = feed.day(W1).bars()
    keys = [(r.ts_event, r.symbol) for r in merged]
    assert keys == sorted((ts, s) for s, ts, _ in rows)
    assert np.all(np.diff([datetime_to_ns(r.ts_event) for r in merged]) >= 0)
