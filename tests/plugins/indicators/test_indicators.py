"""Built-in indicators against independent pandas computations."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from core import calendars
from core.errors import ConfigError
from core.models import Bar
from plugins.indicators.streaming import (
    ExponentialMovingAverage,
    SimpleMovingAverage,
    VolumeWeightedAveragePrice,
)
from plugins.indicators.trailing import TrailingAverage, TrailingMax, TrailingMin, minute_grid
from plugins.manager import load_plugins

DAYS = calendars.sessions_in_range("XNYS", date(2024, 2, 1), date(2024, 3, 8))
AS_OF_DAY = date(2024, 3, 8)
AS_OF = datetime(2024, 3, 8, 14, 30, tzinfo=UTC)
MISSING_DAY = date(2024, 2, 27)


def minute_history(calendar: str = "XNYS", days=DAYS, seed: int = 4) -> list[Bar]:
    """Random minute bars for every day before AS_OF_DAY except MISSING_DAY; every 7th minute
    of odd days deleted."""
    rng = np.random.default_rng(seed)
    bars = []
    for n, day in enumerate(days):
        if day >= AS_OF_DAY or day == MISSING_DAY:
            continue
        for i, ts in enumerate(calendars.session_minutes(calendar, day)):
            if n % 2 and i % 7 == 3:
                continue
            close = float(rng.uniform(90, 110))
            bars.append(
                Bar(
                    "AAPL",
                    "1m",
                    ts,
                    close,
                    close + float(rng.uniform(0, 1)),
                    close - float(rng.uniform(0, 1)),
                    close,
                    float(rng.integers(100, 10_000)),
                )
            )
    return bars


def frame(bars: list[Bar], tz: str = "America/New_York") -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "ts": [b.ts_event for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
        }
    )
    df["day"] = pd.to_datetime(df["ts"]).dt.tz_convert(tz).dt.date
    return df


def reference_daily(bars, field: str, how: str, period: int) -> tuple[float, int]:
    """pandas: daily reduction, reindexed on every trading day, rolling over `period` days."""
    df = frame(bars)
    agg = {"volume": "sum", "high": "max", "low": "min", "close": "last"}[field]
    daily = df.groupby("day")[field].agg(agg)
    trading_days = [d for d in DAYS if d < AS_OF_DAY]
    daily = daily.reindex(trading_days)
    rolling = getattr(daily.rolling(period, min_periods=1), how)()
    count = daily.rolling(period, min_periods=1).count()
    return float(rolling.iloc[-1]), int(count.iloc[-1])


@pytest.mark.parametrize(
    ("cls", "how", "field"),
    [
        (TrailingAverage, "mean", "volume"),
        (TrailingMax, "max", "high"),
        (TrailingMin, "min", "low"),
    ],
)
def test_daily_trailing_indicators_equal_a_pandas_rolling_computation(cls, how, field):
    bars = minute_history()
    indicator = cls(name="x", period="10d", field=field, calendar="XNYS")
    (value,) = indicator.compute("AAPL", bars, AS_OF)
    expected, count = reference_daily(bars, field, how, 10)
    assert count == 9  # MISSING_DAY is inside the 10-day window
    assert value.value == pytest.approx(expected, rel=1e-12)
    assert value.observations == 9 and not value.complete
    assert value.minute_of_day is None and value.name == "x" and value.as_of == AS_OF


def test_daily_average_over_a_complete_window_is_complete():
    bars = minute_history()
    indicator = TrailingAverage(name="avg_volume", period="5d", calendar="XNYS")
    (value,) = indicator.compute("AAPL", bars, AS_OF)
    expected, count = reference_daily(bars, "volume", "mean", 5)
    assert count == 5 and value.complete and value.observations == 5
    assert value.value == pytest.approx(expected, rel=1e-12)


def test_daily_bars_are_used_directly_and_short_history_is_incomplete():
    days = calendars.sessions_in_range("XNYS", date(2024, 1, 2), date(2024, 3, 7))
    bars = [
        Bar(
            "AAPL",
            "1d",
            calendars.session_bounds("XNYS", d).open,
            10,
            10 + i % 13,
            5 - i % 3,
            8,
            1e6 + i,
        )
        for i, d in enumerate(days)
    ]
    high = TrailingMax(name="high_52w", period="52w", field="high", calendar="XNYS")
    (value,) = high.compute("AAPL", bars, AS_OF)
    assert value.value == max(b.high for b in bars)
    assert value.observations == len(days) and not value.complete
    low = TrailingMin(name="low_52w", period="52w", field="low", calendar="XNYS")
    assert low.compute("AAPL", bars, AS_OF)[0].value == min(b.low for b in bars)


def test_daily_bars_stamped_at_midnight_utc_count_for_their_own_date():
    days = calendars.sessions_in_range("XNYS", date(2024, 2, 1), date(2024, 3, 7))
    bars = [
        Bar("AAPL", "1d", datetime(d.year, d.month, d.day, tzinfo=UTC), 1, 2, 0.5, 1, 100.0 * i)
        for i, d in enumerate(days)
    ]
    (value,) = TrailingAverage(name="a", period="3d", calendar="XNYS").compute("AAPL", bars, AS_OF)
    assert value.complete and value.value == pytest.approx(np.mean([b.volume for b in bars[-3:]]))


def test_without_calendar_the_window_is_the_last_dates_present():
    bars = minute_history()
    with_calendar = TrailingAverage(name="a", period="10d", calendar="XNYS").compute(
        "AAPL", bars, AS_OF
    )[0]
    without = TrailingAverage(name="a", period="10d").compute("AAPL", bars, AS_OF)[0]
    assert without.observations == 10 and without.complete  # the missing day is simply skipped
    assert with_calendar.observations == 9
    df = frame(bars)
    daily = df.groupby("day")["volume"].sum()
    assert without.value == pytest.approx(daily.iloc[-10:].mean(), rel=1e-12)


def test_no_history_gives_no_value_and_zero_observations():
    (value,) = TrailingAverage(name="a", period="10d", calendar="XNYS").compute("AAPL", [], AS_OF)
    assert value.value is None and value.observations == 0 and not value.complete


def test_intraday_average_has_one_value_per_minute_equal_to_pandas():
    bars = minute_history()
    indicator = TrailingAverage(
        name="vol_by_minute", period="10d", granularity="intraday", calendar="XNYS"
    )
    values = indicator.compute("AAPL", bars, AS_OF)
    assert len(values) == 390
    assert [v.minute_of_day for v in values] == list(range(390))
    df = frame(bars)
    open_of = {d: calendars.session_bounds("XNYS", d).open for d in DAYS}
    df["minute"] = [
        int((ts - open_of[d]).total_seconds() // 60)
        for ts, d in zip(df["ts"], df["day"], strict=True)
    ]
    table = df.pivot(index="day", columns="minute", values="volume")
    table = table.reindex([d for d in DAYS if d < AS_OF_DAY])
    expected = table.rolling(10, min_periods=1).mean().iloc[-1]
    counts = table.rolling(10, min_periods=1).count().iloc[-1]
    assert [v.value for v in values] == pytest.approx(expected.tolist(), rel=1e-12)
    assert [v.observations for v in values] == counts.astype(int).tolist()
    # the missing day, plus minutes deleted on some days
    assert max(v.observations for v in values) == 9 > min(v.observations for v in values)
    assert not any(v.complete for v in values)


def test_intraday_max_of_hose_uses_one_value_per_continuous_minute():
    days = calendars.sessions_in_range("XSTC", date(2024, 11, 1), date(2024, 11, 29))
    rng = np.random.default_rng(1)
    bars = [
        Bar("VNM", "1m", ts, 1, 1, 1, 1, float(rng.integers(1, 1000)))
        for d in days[:-1]
        for ts in calendars.session_minutes("XSTC", d)
    ]
    as_of = calendars.session_bounds("XSTC", days[-1]).open
    values = TrailingMax(name="m", period="5d", granularity="intraday", calendar="HOSE").compute(
        "VNM", bars, as_of
    )
    assert len(values) == 225  # 09:15-11:30 and 13:00-14:30; ATO/ATC minutes excluded
    grid = minute_grid("XSTC", days[-2])
    assert grid[0] == datetime(2024, 11, 28, 2, 15, tzinfo=UTC)
    window_days = days[-6:-1]
    grids = [minute_grid("XSTC", d) for d in window_days]
    for slot in (0, 100, 224):
        slot_times = {grid[slot] for grid in grids}
        expected = max(b.volume for b in bars if b.ts_event in slot_times)
        assert (
            values[slot].value == expected
            and values[slot].complete
            and values[slot].observations == 5
        )
    session_grid = TrailingMax(
        name="m", period="5d", granularity="intraday", calendar="HOSE", minutes="session"
    )
    assert len(session_grid.compute("VNM", bars, as_of)) == 255


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"granularity": "hourly"}, "granularity 'hourly' is not valid"),
        ({"field": "price"}, "field 'price' is not a bar field"),
        ({"period": "ten days"}, "period 'ten days' is not valid"),
        ({"granularity": "intraday"}, "intraday granularity needs the exchange calendar"),
        ({"minutes": "all"}, "minutes 'all' is not valid"),
    ],
)
def test_invalid_trailing_parameters_are_config_errors(params, message):
    with pytest.raises(ConfigError, match=message):
        TrailingAverage(name="x", **params)


# -- streaming --------------------------------------------------------------------------------


def streamed_bars(n: int = 300, seed: int = 9) -> list[Bar]:
    rng = np.random.default_rng(seed)
    out = []
    start = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    for i in range(n):
        close = float(100 + rng.normal(0, 1))
        out.append(
            Bar(
                "AAPL",
                "1m",
                start + pd.Timedelta(minutes=i).to_pytimedelta(),
                close,
                close + 0.5,
                close - 0.5,
                close,
                float(rng.integers(0, 1000)),
                None,
                None if i % 3 else close + 0.1,
            )
        )
    return out


def test_sma_equals_pandas_rolling_mean():
    bars = streamed_bars()
    sma = SimpleMovingAverage(name="sma20", period=20)
    got = [sma.update(b) for b in bars]
    expected = pd.Series([b.close for b in bars]).rolling(20).mean()
    assert got[:19] == [None] * 19
    assert got[19:] == pytest.approx(expected.iloc[19:].tolist(), rel=1e-12)
    assert sma.value == got[-1]


def test_sma_stays_exact_over_long_streams_and_restarts_after_reset():
    bars = streamed_bars(9000, seed=3)
    sma = SimpleMovingAverage(name="sma7", period=7)
    got = [sma.update(b) for b in bars]
    expected = pd.Series([b.close for b in bars]).rolling(7).mean()
    assert got[6:] == pytest.approx(expected.iloc[6:].tolist(), rel=1e-12)
    sma.reset()
    assert sma.value is None and sma.update(bars[0]) is None


def test_ema_equals_a_pandas_ewm_seeded_with_the_first_sma():
    bars = streamed_bars()
    ema = ExponentialMovingAverage(name="ema10", period=10)
    got = [ema.update(b) for b in bars]
    closes = pd.Series([b.close for b in bars])
    seeded = pd.concat([pd.Series([closes.iloc[:10].mean()]), closes.iloc[10:]], ignore_index=True)
    expected = seeded.ewm(span=10, adjust=False).mean()
    assert got[:9] == [None] * 9
    assert got[9:] == pytest.approx(expected.tolist(), rel=1e-12)


def test_vwap_is_cumulative_over_the_session_and_resets():
    bars = streamed_bars(100)
    vwap = VolumeWeightedAveragePrice(name="vwap")
    got = [vwap.update(b) for b in bars]
    price = pd.Series(
        [b.vwap if b.vwap is not None else (b.high + b.low + b.close) / 3 for b in bars]
    )
    volume = pd.Series([b.volume for b in bars])
    expected = (price * volume).cumsum() / volume.cumsum()
    assert got == pytest.approx(expected.tolist(), rel=1e-12)
    vwap.reset()
    assert vwap.value is None
    assert vwap.update(bars[0]) == pytest.approx(price.iloc[0])


def test_streaming_parameters_are_validated():
    with pytest.raises(ConfigError, match="period must be a positive number of bars"):
        SimpleMovingAverage(name="s", period=0)
    with pytest.raises(ConfigError, match="field 'price' is not a bar field"):
        ExponentialMovingAverage(name="e", field="price")


def test_indicators_are_registered_through_the_plugin_manager():
    host = load_plugins(entry_points=False)
    for type_name in ("trailing_average", "trailing_max", "trailing_min", "sma", "ema", "vwap"):
        assert type_name in host.indicators
    indicator = host.create_indicator(
        "trailing_average", name="avg_volume", period="10d", calendar="XNYS"
    )
    assert indicator.indicator_name == "avg_volume" and indicator.period.trading_days == 10
    sma = host.create_indicator("sma", name="sma5", period=5)
    assert [sma.update(b) for b in streamed_bars(5)][-1] == pytest.approx(
        np.mean([b.close for b in streamed_bars(5)])
    )
