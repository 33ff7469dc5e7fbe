"""Generated bars: the incremental builders, core.resample (the batch path) and an independent
pandas resample agree; the vectorised day emits what the incremental day emits, where it does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import calendars
from core.columns import BarColumns
from core.errors import ConfigError
from core.models import Bar
from core.resample import resample
from core.sessions import SessionWindow as Session
from daemon.aggregation.bars import BarAggregator, BarBuilder, feeder_plan


def aggregate_bars(rows, interval: str, sessions) -> list[Bar]:
    """The batch path: ``core.resample`` per session over the rows' columns, as (symbol, ts)."""
    out: list[Bar] = []
    for session in sessions:
        inside = [r for r in rows if session.open <= r.ts_event < session.close]
        blocks = list(BarColumns.from_bars(inside).values())
        for block in resample(blocks, interval, session):
            out.extend(block.to_bars())
    return sorted(out, key=lambda b: (b.symbol, b.ts_event))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def minute_rows(symbol: str, times: list[datetime], seed: int = 1) -> list[Bar]:
    rng = np.random.default_rng(seed)
    rows = []
    price = 100.0
    for ts in times:
        open_ = price
        close = round(open_ + float(rng.normal(0, 0.3)), 2)
        high = round(max(open_, close) + float(rng.uniform(0, 0.2)), 2)
        low = round(min(open_, close) - float(rng.uniform(0, 0.2)), 2)
        volume = float(rng.integers(0, 5000))
        count = int(rng.integers(1, 50))
        vwap = None if rng.random() < 0.3 else round((high + low + close) / 3, 4)
        rows.append(Bar(symbol, "1m", ts, open_, high, low, close, volume, count, vwap, "test"))
        price = close
    return rows


def build_incremental(rows, interval, sessions) -> list:
    builder = BarBuilder(rows[0].symbol if rows else "X", interval)
    out = []
    by_day: dict[date, list] = {}
    for session in sessions:
        by_day[session.date] = [r for r in rows if session.open <= r.ts_event < session.close]
    for session in sessions:
        builder.start_day(session)
        for row in by_day[session.date]:
            done = builder.update(row)
            if done:
                out.extend(done)
        out.extend(builder.close_day())
    return out


def pandas_resample(rows, interval: str, sessions) -> pd.DataFrame:
    """Independent reference: pandas resample per trading segment, origin at the segment start."""
    frame = pd.DataFrame(
        {
            "ts": [r.ts_event for r in rows],
            "open": [r.open for r in rows],
            "high": [r.high for r in rows],
            "low": [r.low for r in rows],
            "close": [r.close for r in rows],
            "volume": [r.volume for r in rows],
            "pv": [(r.vwap if r.vwap is not None else r.close) * r.volume for r in rows],
            "trade_count": [r.trade_count for r in rows],
        }
    ).set_index("ts")
    rule = {"5m": "5min", "10m": "10min", "15m": "15min", "30m": "30min", "1h": "60min"}[interval]
    parts = []
    for session in sessions:
        segments = (
            [(session.open, session.break_start), (session.break_end, session.close)]
            if session.break_start
            else [(session.open, session.close)]
        )
        for start, end in segments:
            seg = frame[(frame.index >= start) & (frame.index < end)]
            if seg.empty:
                continue
            agg = seg.resample(rule, origin=pd.Timestamp(start), closed="left", label="left").agg(
                {
                    "open": "first",
                    "high": "max",
                    "low": "min",
                    "close": "last",
                    "volume": "sum",
                    "pv": "sum",
                    "trade_count": "sum",
                }
            )
            agg = agg[seg.resample(rule, origin=pd.Timestamp(start)).size() > 0]
            parts.append(agg)
    result = pd.concat(parts)
    result["vwap"] = np.where(result["volume"] > 0, result["pv"] / result["volume"], np.nan)
    return result


def assert_same_bars(got, expected) -> None:
    """Equal field by field; vwap to 1e-12 (sums grouped differently differ in the last ulp)."""
    assert len(got) == len(expected)
    for x, y in zip(got, expected, strict=True):
        fields = ("symbol", "interval", "ts_event", "open", "high", "low", "close", "volume")
        assert tuple(getattr(x, f) for f in fields) == tuple(getattr(y, f) for f in fields)
        assert (x.trade_count, x.source) == (y.trade_count, y.source)
        assert x.vwap == (None if y.vwap is None else pytest.approx(y.vwap, rel=1e-12))


def assert_equal_to_reference(bars, reference: pd.DataFrame) -> None:
    assert [b.ts_event for b in bars] == [t.to_pydatetime() for t in reference.index]
    assert [b.open for b in bars] == reference["open"].tolist()
    assert [b.high for b in bars] == reference["high"].tolist()
    assert [b.low for b in bars] == reference["low"].tolist()
    assert [b.close for b in bars] == reference["close"].tolist()
    assert [b.volume for b in bars] == pytest.approx(reference["volume"].tolist())
    assert [b.trade_count for b in bars] == reference["trade_count"].astype(int).tolist()
    expected_vwap = [
        None if np.isnan(v) else pytest.approx(v, rel=1e-12) for v in reference["vwap"]
    ]
    assert [b.vwap for b in bars] == expected_vwap


XNYS_DAY = date(2024, 3, 5)
HOSE_DAY = date(2024, 11, 29)


def test_five_minute_bars_of_a_us_day_match_a_pandas_resample_aligned_to_the_open():
    session = calendars.session_bounds("XNYS", XNYS_DAY)
    rows = minute_rows("AAPL", calendars.session_minutes("XNYS", XNYS_DAY))
    bars = build_incremental(rows, "5m", [session])
    assert len(bars) == 78
    assert bars[0].ts_event == utc(2024, 3, 5, 14, 30)
    assert_equal_to_reference(bars, pandas_resample(rows, "5m", [session]))


@pytest.mark.parametrize("interval", ["5m", "10m", "15m", "30m", "1h"])
def test_hose_bars_never_span_the_lunch_break_and_restart_at_its_end(interval):
    session = calendars.session_bounds("HOSE", HOSE_DAY)
    rows = minute_rows("VNM", calendars.session_minutes("HOSE", HOSE_DAY))
    bars = build_incremental(rows, interval, [session])
    assert_equal_to_reference(bars, pandas_resample(rows, interval, [session]))
    afternoon = [b for b in bars if b.ts_event >= session.break_end]
    assert afternoon[0].ts_event == session.break_end  # 13:00 local, aligned to the break end
    step = timedelta(minutes={"5m": 5, "10m": 10, "15m": 15, "30m": 30, "1h": 60}[interval])
    morning = [b for b in bars if b.ts_event < session.break_start]
    assert sum(b.volume for b in morning) == sum(
        r.volume for r in rows if r.ts_event < session.break_start
    )
    assert all(b.ts_event + step <= session.break_start or b is morning[-1] for b in morning)


def test_hose_hourly_bars_are_cut_at_the_break_and_at_the_close():
    session = calendars.session_bounds("HOSE", HOSE_DAY)
    rows = minute_rows("VNM", calendars.session_minutes("HOSE", HOSE_DAY))
    bars = build_incremental(rows, "1h", [session])
    # 09:00, 10:00, 11:00-11:30, 13:00, 14:00-14:45 local (UTC+7)
    assert [b.ts_event.hour * 60 + b.ts_event.minute for b in bars] == [120, 180, 240, 360, 420]
    assert bars[2].volume == sum(
        r.volume for r in rows if utc(2024, 11, 29, 4) <= r.ts_event < utc(2024, 11, 29, 4, 30)
    )
    assert bars[4].close == rows[-1].close
    assert bars[4].volume == sum(r.volume for r in rows if r.ts_event >= utc(2024, 11, 29, 7))


def test_last_partial_bar_is_emitted_by_close_day_on_an_early_close():
    day = date(2024, 11, 29)  # XNYS early close 13:00 ET = 18:00 UTC
    session = calendars.session_bounds("XNYS", day)
    minutes = calendars.session_minutes("XNYS", day)
    rows = minute_rows("SPY", minutes[:-3])  # the last three minutes are missing
    builder = BarBuilder("SPY", "15m")
    builder.start_day(session)
    streamed = []
    for row in rows:
        streamed.extend(builder.update(row) or [])
    assert streamed[-1].ts_event == utc(2024, 11, 29, 17, 30)
    final = builder.close_day()
    assert len(final) == 1
    assert final[0].ts_event == utc(2024, 11, 29, 17, 45)
    assert final[0].close == rows[-1].close
    assert final[0].volume == sum(r.volume for r in rows[-12:])
    assert builder.close_day() == []


def test_a_bucket_is_emitted_as_soon_as_its_last_minute_arrives():
    session = calendars.session_bounds("XNYS", XNYS_DAY)
    rows = minute_rows("AAPL", calendars.session_minutes("XNYS", XNYS_DAY)[:10])
    builder = BarBuilder("AAPL", "5m")
    builder.start_day(session)
    results = [builder.update(r) for r in rows]
    assert results[:4] == [None] * 4
    assert results[4] is not None and results[4][0].ts_event == utc(2024, 3, 5, 14, 30)
    assert results[9] is not None and results[9][0].ts_event == utc(2024, 3, 5, 14, 35)


def test_a_bucket_with_missing_last_minutes_is_emitted_when_a_later_bucket_starts():
    session = calendars.session_bounds("XNYS", XNYS_DAY)
    minutes = calendars.session_minutes("XNYS", XNYS_DAY)
    rows = minute_rows("AAPL", minutes[:3] + minutes[9:10])  # 14:30-14:32, then 14:39
    builder = BarBuilder("AAPL", "5m")
    builder.start_day(session)
    assert builder.update(rows[0]) is None
    assert builder.update(rows[1]) is None
    assert builder.update(rows[2]) is None
    done = builder.update(rows[3])  # closes 14:30 and (being 14:35's last minute) 14:35
    assert [b.ts_event for b in done] == [utc(2024, 3, 5, 14, 30), utc(2024, 3, 5, 14, 35)]
    assert done[0].volume == sum(r.volume for r in rows[:3])
    assert done[1].open == rows[3].open and done[1].volume == rows[3].volume


def test_rows_outside_the_session_are_dropped_and_counted():
    session = calendars.session_bounds("HOSE", HOSE_DAY)
    builder = BarBuilder("VNM", "5m")
    builder.start_day(session)
    lunch = minute_rows("VNM", [utc(2024, 11, 29, 5, 0)])[0]
    early = minute_rows("VNM", [utc(2024, 11, 29, 1, 0)])[0]
    late = minute_rows("VNM", [utc(2024, 11, 29, 8, 0)])[0]
    assert builder.update(early) is None
    assert builder.update(lunch) is None
    assert builder.update(late) is None
    assert builder.dropped == 3
    assert builder.close_day() == []


def test_vwap_is_none_and_trade_count_none_when_nothing_is_known():
    session = Session(date(2024, 1, 2), utc(2024, 1, 2, 14, 30), utc(2024, 1, 2, 21))
    rows = [
        Bar("X", "1m", utc(2024, 1, 2, 14, 30 + i), 10.0, 11.0, 9.0, 10.5, 0.0, None, None)
        for i in range(5)
    ]
    bars = build_incremental(rows, "5m", [session])
    assert len(bars) == 1
    assert bars[0].vwap is None and bars[0].trade_count is None and bars[0].volume == 0
    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close) == (10.0, 11.0, 9.0, 10.5)


def test_vwap_weights_each_source_bar_by_its_vwap_or_close():
    session = Session(date(2024, 1, 2), utc(2024, 1, 2, 14, 30), utc(2024, 1, 2, 21))
    rows = [
        Bar("X", "1m", utc(2024, 1, 2, 14, 30), 10, 11, 9, 10, 100, 2, 10.2),
        Bar("X", "1m", utc(2024, 1, 2, 14, 31), 10, 12, 10, 11, 300, 3, None),
    ]
    builder = BarBuilder("X", "5m")
    builder.start_day(session)
    for row in rows:
        builder.update(row)
    (bar,) = builder.close_day()
    assert bar.vwap == pytest.approx((10.2 * 100 + 11 * 300) / 400)
    assert bar.trade_count == 5 and bar.high == 12 and bar.low == 9


def test_daily_bar_spans_the_whole_session_including_both_halves():
    session = calendars.session_bounds("HOSE", HOSE_DAY)
    rows = minute_rows("VNM", calendars.session_minutes("HOSE", HOSE_DAY))
    bars = build_incremental(rows, "1d", [session])
    assert len(bars) == 1
    assert bars[0].ts_event == session.open
    assert bars[0].volume == sum(r.volume for r in rows)
    assert bars[0].high == max(r.high for r in rows) and bars[0].low == min(r.low for r in rows)


def test_update_values_builds_the_same_bars_as_update():
    session = calendars.session_bounds("XNYS", XNYS_DAY)
    rows = minute_rows("AAPL", calendars.session_minutes("XNYS", XNYS_DAY), seed=5)
    by_row = build_incremental(rows, "15m", [session])
    builder = BarBuilder("AAPL", "15m", source="test")
    builder.start_day(session)
    by_values = []
    for r in rows:
        by_values.extend(
            builder.update_values(
                r.ts_event, r.open, r.high, r.low, r.close, r.volume, r.trade_count, r.vwap
            )
            or []
        )
    by_values.extend(builder.close_day())
    assert by_values == by_row


def test_aggregator_keeps_symbols_apart_and_builds_every_interval():
    session = calendars.session_bounds("XNYS", XNYS_DAY)
    minutes = calendars.session_minutes("XNYS", XNYS_DAY)
    a = minute_rows("A", minutes, seed=1)
    b = minute_rows("B", minutes, seed=2)
    merged = sorted(a + b, key=lambda r: (r.ts_event, r.symbol))
    aggregator = BarAggregator(["5m", "15m"])
    aggregator.start_day(session)
    out = []
    for row in merged:
        out.extend(aggregator.update(row) or [])
    out.extend(aggregator.close_day())
    for symbol, rows in (("A", a), ("B", b)):
        for interval, count in (("5m", 78), ("15m", 26)):
            mine = [x for x in out if x.symbol == symbol and x.interval == interval]
            assert len(mine) == count
            assert_same_bars(mine, build_incremental(rows, interval, [session]))


def test_generating_an_interval_not_larger_than_the_stream_is_a_config_error():
    with pytest.raises(ConfigError, match="must be larger than the streamed interval"):
        BarBuilder("X", "1m", source_interval="1m")


@pytest.mark.parametrize("interval", ["5m", "15m", "1h", "1d"])
def test_batch_and_incremental_paths_agree_over_several_days_to_the_last_bit(interval):
    days = calendars.sessions_in_range("HOSE", date(2024, 11, 25), date(2024, 11, 29))
    sessions = [calendars.session_bounds("HOSE", d) for d in days]
    rows = []
    for i, day in enumerate(days):
        minutes = calendars.session_minutes("HOSE", day)
        rows.extend(r for j, r in enumerate(minute_rows("VNM", minutes, seed=i)) if j % 17 != 3)
    batch = aggregate_bars(rows, interval, sessions)
    incremental = build_incremental(rows, interval, sessions)
    assert len(batch) == len(incremental) > 0
    # core.resample sums in time order, as the builders add: equal to the last bit, vwap too
    assert batch == incremental


def test_resample_handles_several_symbols_and_ignores_rows_in_the_break():
    session = calendars.session_bounds("HOSE", HOSE_DAY)
    minutes = calendars.session_minutes("HOSE", HOSE_DAY)
    rows = minute_rows("A", minutes, 1) + minute_rows("B", minutes, 2)
    rows.append(minute_rows("A", [utc(2024, 11, 29, 5, 0)])[0])  # in the lunch break
    bars = aggregate_bars(rows, "30m", [session])
    assert sorted({b.symbol for b in bars}) == ["A", "B"]
    a = [b for b in bars if b.symbol == "A"]
    assert sum(b.volume for b in a) == sum(r.volume for r in rows[: len(minutes)])
    assert len(a) == 9  # 09:00..11:00 (5 buckets) + 13:00, 13:30, 14:00, 14:30-14:45 (4)
    assert a[5].ts_event == session.break_end


# -- real minute bars -------------------------------------------------------------------------


def load_backtrader_minutes(path: Path) -> tuple[list[Bar], list[Session]]:
    frame = pd.read_csv(
        path, header=0, names=["date", "time", "open", "high", "low", "close", "volume", "oi"]
    )
    ts = pd.to_datetime(frame["date"] + " " + frame["time"], utc=True)
    rows = [
        Bar("FUT", "1m", t.to_pydatetime(), o, h, lo, c, float(v), None, None, "bt")
        for t, o, h, lo, c, v in zip(
            ts,
            frame["open"],
            frame["high"],
            frame["low"],
            frame["close"],
            frame["volume"],
            strict=True,
        )
    ]
    sessions = []
    for day in sorted({r.ts_event.date() for r in rows}):
        # one session per day: 09:01 (first bar) to 22:01 (after the 22:00 bar), a synthetic
        # lunch break 13:00-14:00 on Mondays to exercise segment alignment on real prices
        open_ = datetime(day.year, day.month, day.day, 9, 1, tzinfo=UTC)
        close = datetime(day.year, day.month, day.day, 22, 1, tzinfo=UTC)
        if day.weekday() == 0:
            sessions.append(
                Session(
                    day,
                    open_,
                    close,
                    open_.replace(hour=13, minute=0),
                    open_.replace(hour=14, minute=0),
                )
            )
        else:
            sessions.append(Session(day, open_, close))
    return rows, sessions


@pytest.mark.parametrize("interval", ["5m", "15m", "1h"])
def test_real_minute_bars_aggregate_like_a_pandas_resample(market_data_dir, interval):
    rows, sessions = load_backtrader_minutes(market_data_dir / "bt_2006-01-02-volume-min-001.txt")
    rows = [r for r in rows if r.ts_event < datetime(2006, 1, 21, tzinfo=UTC)]  # three weeks
    sessions = [s for s in sessions if s.date < date(2006, 1, 21)]
    incremental = build_incremental(rows, interval, sessions)
    reference = pandas_resample(rows, interval, sessions)
    assert [b.ts_event for b in incremental] == [t.to_pydatetime() for t in reference.index]
    assert [b.open for b in incremental] == reference["open"].tolist()
    assert [b.high for b in incremental] == reference["high"].tolist()
    assert [b.low for b in incremental] == reference["low"].tolist()
    assert [b.close for b in incremental] == reference["close"].tolist()
    assert [b.volume for b in incremental] == reference["volume"].tolist()
    batch = aggregate_bars(rows, interval, sessions)
    assert [(b.ts_event, b.open, b.high, b.low, b.close, b.volume) for b in batch] == [
        (b.ts_event, b.open, b.high, b.low, b.close, b.volume) for b in incremental
    ]


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    keep=st.lists(st.booleans(), min_size=255, max_size=255),
    interval=st.sampled_from(["5m", "10m", "15m", "30m", "1h", "1d"]),
    seed=st.integers(0, 1000),
)
def test_aggregation_conserves_volume_and_extremes(keep, interval, seed):
    session = calendars.session_bounds("HOSE", HOSE_DAY)
    minutes = [
        m for m, k in zip(calendars.session_minutes("HOSE", HOSE_DAY), keep, strict=True) if k
    ]
    rows = minute_rows("VNM", minutes, seed)
    bars = build_incremental(rows, interval, [session]) if rows else []
    assert sum(b.volume for b in bars) == sum(r.volume for r in rows)
    assert sum(b.trade_count or 0 for b in bars) == sum(r.trade_count for r in rows)
    if rows:
        assert max(b.high for b in bars) == max(r.high for r in rows)
        assert min(b.low for b in bars) == min(r.low for r in rows)
        assert bars[0].open == rows[0].open and bars[-1].close == rows[-1].close
    starts = [b.ts_event for b in bars]
    assert starts == sorted(set(starts))
    for bar in bars:
        members = [
            r
            for r in rows
            if r.ts_event >= bar.ts_event
            and (bar is bars[-1] or r.ts_event < bars[bars.index(bar) + 1].ts_event)
        ]
        assert bar.high == max(r.high for r in members) and bar.low == min(r.low for r in members)
        assert bar.open == members[0].open and bar.close == members[-1].close
        if interval != "1d":  # intraday buckets lie wholly in one half of the day
            assert all(
                (r.ts_event < session.break_start) == (bar.ts_event < session.break_start)
                for r in members
            )


def test_feeder_plan_builds_larger_intervals_from_nesting_smaller_ones():
    assert feeder_plan(["5m", "15m"]) == {"5m": "1m", "15m": "5m"}
    assert feeder_plan(["1h", "5m", "10m", "15m", "30m", "1d"]) == {
        "5m": "1m",
        "10m": "5m",
        "15m": "5m",
        "30m": "15m",
        "1h": "30m",
        "1d": "1h",
    }
    assert feeder_plan(["10m", "15m"]) == {"10m": "1m", "15m": "1m"}


@settings(max_examples=40, deadline=None)
@given(
    keep=st.lists(st.booleans(), min_size=255, max_size=255),
    intervals=st.sets(st.sampled_from(["5m", "10m", "15m", "30m", "1h", "1d"]), min_size=1),
    calendar_day=st.sampled_from([("XSTC", HOSE_DAY), ("XNYS", date(2024, 11, 29))]),
    seed=st.integers(0, 100),
)
def test_chained_aggregator_builds_the_same_bars_as_direct_builders(
    keep, intervals, calendar_day, seed
):
    calendar, day = calendar_day
    session = calendars.session_bounds(calendar, day)
    minutes = [m for m, k in zip(calendars.session_minutes(calendar, day), keep, strict=False) if k]
    rows = minute_rows("X", minutes, seed)
    aggregator = BarAggregator(sorted(intervals))
    aggregator.start_day(session)
    out = []
    for row in rows:
        out.extend(aggregator.update(row) or [])
    out.extend(aggregator.close_day())
    for interval in intervals:
        mine = [b for b in out if b.interval == interval]
        direct = build_incremental(rows, interval, [session]) if rows else []
        assert_same_bars(mine, direct)


@pytest.mark.parametrize("intervals", [["5m"], ["5m", "15m", "1h"], ["10m", "15m"]])
def test_per_symbol_updater_emits_what_update_emits_across_days(intervals):
    days = calendars.sessions_in_range("XSTC", date(2024, 11, 27), date(2024, 11, 29))
    by_update, by_updater = BarAggregator(intervals), BarAggregator(intervals)
    fast = by_updater.updater("VNM")
    out_update, out_updater = [], []
    for n, day in enumerate(days):
        session = calendars.session_bounds("XSTC", day)
        rows = minute_rows("VNM", calendars.session_minutes("XSTC", day), seed=n)
        by_update.start_day(session)
        by_updater.start_day(session)
        for row in rows:
            out_update.extend(by_update.update(row) or [])
            out_updater.extend(fast(row) or [])
        out_update.extend(by_update.close_day())
        out_updater.extend(by_updater.close_day())
    assert out_updater == out_update
    assert {b.interval for b in out_update} == set(intervals)
