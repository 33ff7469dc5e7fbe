"""SessionData: append-only series, views without copies, history apart, quality, indicators."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from core.errors import SessionError
from core.models import Bar, IndicatorValue, QualityResult
from daemon.session_data import SessionData

T0 = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)


def row(i: int, symbol: str = "AAPL") -> Bar:
    return Bar(
        symbol, "1m", T0 + timedelta(minutes=i), 10.0 + i, 11.0 + i, 9.0 + i, 10.5 + i, 100.0 * i
    )


def test_latest_is_the_last_appended_row_and_none_when_empty():
    data = SessionData()
    series = data.series("AAPL", "1m")
    assert series.latest() is None
    assert data.latest("AAPL", "1m") is None
    for i in range(5):
        series.append(row(i))
    assert series.latest() == row(4)
    assert data.latest("AAPL", "1m") is row(4) or data.latest("AAPL", "1m") == row(4)
    assert len(series) == 5 and series[0] == row(0) and series[-1] == row(4)
    assert list(series) == [row(i) for i in range(5)] and list(series.rows) == list(series)
    with pytest.raises(IndexError):
        series[5]
    with pytest.raises(IndexError):
        series[-6]
    assert data.series("AAPL", "1m") is series


def test_last_n_is_a_view_that_does_not_copy_and_clamps_to_the_length():
    data = SessionData()
    series = data.series("AAPL", "1m")
    rows = [row(i) for i in range(10)]
    series.extend(rows)
    view = series.last(3)
    assert list(view) == rows[7:]
    assert view[0] is rows[7] and view[-1] is rows[9]
    assert view.latest() is rows[9]
    assert list(series.last(50)) == rows
    assert len(series.last(0)) == 0 and series.last(0).latest() is None
    with pytest.raises(IndexError):
        view[3]


def test_between_selects_the_half_open_time_range_by_bisection():
    data = SessionData()
    series = data.series("AAPL", "1m")
    rows = [row(i) for i in range(30)]
    series.extend(rows)
    view = series.between(T0 + timedelta(minutes=5), T0 + timedelta(minutes=10))
    assert list(view) == rows[5:10]
    assert list(view[1:3]) == rows[6:8]
    assert len(series.between(T0 - timedelta(hours=1), T0)) == 0
    assert list(series.between(T0 + timedelta(minutes=29), T0 + timedelta(hours=9))) == rows[29:]
    np.testing.assert_array_equal(view.column("close"), [r.close for r in rows[5:10]])


def test_views_stay_valid_while_the_series_grows():
    data = SessionData()
    series = data.series("AAPL", "1m")
    series.extend(row(i) for i in range(5))
    view = series.view()
    series.append(row(5))
    assert len(view) == 5 and len(series) == 6


def test_append_checked_refuses_rows_out_of_time_order():
    series = SessionData().series("AAPL", "1m")
    series.append_checked(row(3))
    with pytest.raises(SessionError, match="earlier than the latest"):
        series.append_checked(row(2))


def test_history_is_kept_apart_from_the_day_and_survives_clear_day():
    data = SessionData()
    data.set_history("AAPL", "1m", [row(i) for i in range(-100, -10)])
    data.append("AAPL", "1m", row(0))
    data.set_session_active(True)
    assert data.session_active
    assert len(data.history("AAPL", "1m")) == 90 and len(data.series("AAPL", "1m")) == 1
    data.set_quality("AAPL", "1m", 97.5)
    data.clear_day()
    assert not data.session_active
    assert len(data.series("AAPL", "1m")) == 0
    assert len(data.history("AAPL", "1m")) == 90
    assert data.quality("AAPL", "1m") == 97.5
    data.clear_history()
    assert len(data.history("AAPL", "1m")) == 0


def test_series_accept_bar_records_and_event_kinds():
    data = SessionData()
    bar = Bar("AAPL", "5m", T0, 1, 2, 0.5, 1.5, 10)
    data.append("AAPL", "5m", bar)
    assert data.latest("AAPL", "5m") is bar
    assert ("AAPL", "5m") in data.day_keys()


def test_quality_is_recorded_per_symbol_and_interval():
    data = SessionData()
    result = QualityResult("AAPL", "1m", date(2024, 3, 5), 390, 388, 99.487, ())
    data.set_quality("AAPL", "1m", result.quality_pct, result)
    data.set_quality("MSFT", "1m", 100.0)
    assert data.quality("AAPL", "1m") == pytest.approx(99.487)
    assert data.quality("AAPL", "5m") is None
    assert data.quality_results() == [result]
    assert data.quality_table() == {("AAPL", "1m"): pytest.approx(99.487), ("MSFT", "1m"): 100.0}


def test_historical_indicators_give_indexed_access_by_minute_of_day():
    data = SessionData()
    values = [
        IndicatorValue("vol_by_minute", "AAPL", T0, float(m * 10), True, 10, m) for m in range(390)
    ]
    data.set_indicator("vol_by_minute", "AAPL", values)
    data.set_indicator(
        "avg_volume", "AAPL", [IndicatorValue("avg_volume", "AAPL", T0, 1234.0, False, 7)]
    )
    intraday = data.indicator("vol_by_minute", "AAPL")
    assert intraday.is_intraday and intraday.minutes == 390
    assert intraday.at_minute(42).value == 420.0
    assert intraday.at_minute(390) is None
    assert data.indicator_value("vol_by_minute", "AAPL", 389) == 3890.0
    daily = data.indicator("avg_volume", "AAPL")
    assert (
        daily.daily.value == 1234.0 and not daily.daily.complete and daily.daily.observations == 7
    )
    assert data.indicator_value("avg_volume", "AAPL") == 1234.0
    assert data.indicator_value("avg_volume", "MSFT") is None
