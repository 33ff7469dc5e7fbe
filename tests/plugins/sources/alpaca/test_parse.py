"""Wire rows and stream messages -> core models; interval -> Alpaca timeframe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import SourceError
from plugins.sources.alpaca.parse import (
    ALPACA_INTERVALS,
    auction_code,
    bar_from_wire,
    event_from_stream,
    interval_for,
    parse_time,
    timeframe_for,
    trade_from_wire,
)

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
prices = st.floats(min_value=0.0001, max_value=1e6, allow_nan=False, allow_infinity=False)


def test_every_interval_label_maps_to_the_alpaca_timeframe_and_back():
    expected = {
        "1m": "1Min",
        "5m": "5Min",
        "10m": "10Min",
        "15m": "15Min",
        "30m": "30Min",
        "1h": "1Hour",
        "1d": "1Day",
    }
    assert {label: str(timeframe_for(label)) for label in ALPACA_INTERVALS} == expected
    assert {interval_for(tf): label for label, tf in expected.items()} == {
        label: label for label in expected
    }
    with pytest.raises(SourceError, match=r"interval '1s' is not available from alpaca"):
        timeframe_for("1s")


@given(instants)
def test_rest_string_msgpack_timestamp_and_offset_forms_give_the_same_utc_instant(ts):
    text = ts.isoformat().replace("+00:00", "Z")
    offset = ts.astimezone(timezone(timedelta(hours=-5))).isoformat()
    stamp = msgpack.Timestamp.from_datetime(ts)
    parsed = [parse_time(text), parse_time(offset), parse_time(stamp)]
    assert parsed == [ts, ts, ts]
    assert all(p.utcoffset() == timedelta(0) for p in parsed)


def test_nanosecond_timestamps_are_truncated_to_microseconds():
    assert parse_time("2024-01-02T14:30:00.123456789Z") == datetime(
        2024, 1, 2, 14, 30, 0, 123456, tzinfo=UTC
    )


@given(instants, prices, prices, prices, prices, st.integers(0, 10**9), st.integers(0, 10**6))
def test_bar_rows_become_bars_with_every_field(ts, o, h, low, c, volume, count):
    row = {
        "t": ts.isoformat(),
        "o": o,
        "h": h,
        "l": low,
        "c": c,
        "v": volume,
        "n": count,
        "vw": (o + c) / 2,
    }
    bar = bar_from_wire("AAPL", row, "5m")
    assert (bar.symbol, bar.interval, bar.ts_event, bar.source) == ("AAPL", "5m", ts, "alpaca")
    assert (bar.open, bar.high, bar.low, bar.close) == (o, h, low, c)
    assert (bar.volume, bar.trade_count, bar.vwap) == (float(volume), count, (o + c) / 2)


@given(st.lists(st.sampled_from(["@", "T", "I", "F", "O", "Q", "6", "M", "Z"]), max_size=4))
def test_auction_code_marks_opening_and_closing_cross_prints(conditions):
    code = auction_code(conditions)
    first = next((c for c in conditions if c in {"O", "Q", "6", "M"}), None)
    assert code == {"O": "ATO", "Q": "ATO", "6": "ATC", "M": "ATC", None: None}[first]


def test_stream_messages_become_models_and_unknown_types_are_ignored():
    stamp = msgpack.Timestamp.from_datetime(datetime(2024, 1, 2, 14, 30, tzinfo=UTC))
    trade = event_from_stream(
        {"T": "t", "S": "AAPL", "t": stamp, "p": 10.5, "s": 3, "i": 99, "c": ["@"], "x": "V"}
    )
    assert trade == trade_from_wire(
        "AAPL", {"t": "2024-01-02T14:30:00Z", "p": 10.5, "s": 3, "i": 99, "c": ["@"]}
    )
    daily = event_from_stream(
        {"T": "d", "S": "AAPL", "t": stamp, "o": 1, "h": 1, "l": 1, "c": 1, "v": 1, "n": 1, "vw": 1}
    )
    assert daily is not None and daily.interval == "1d"
    assert event_from_stream({"T": "l", "S": "AAPL", "t": stamp, "u": 11.0, "d": 9.0}) is None
    assert event_from_stream({"T": "t", "t": stamp, "p": 1, "s": 1}) is None  # no symbol
