"""RunningStat and SessionMetrics."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from daemon.metrics import RunningStat, SessionMetrics


def test_running_stat_matches_numpy_while_every_value_is_kept():
    rng = random.Random(7)
    values = [rng.uniform(0, 10) for _ in range(5000)]
    stat = RunningStat("x")
    for value in values:
        stat.record(value)
    assert stat.count == len(values)
    assert stat.min == min(values) and stat.max == max(values)
    assert stat.mean == pytest.approx(np.mean(values))
    assert stat.p50 == pytest.approx(np.quantile(values, 0.5))
    assert stat.p99 == pytest.approx(np.quantile(values, 0.99))
    assert stat.exact_quantiles


def test_running_stat_quantiles_stay_close_with_a_bounded_reservoir():
    rng = np.random.default_rng(3)
    values = rng.exponential(1.0, 100_000)
    stat = RunningStat("x", max_samples=5000)
    for value in values:
        stat.record(float(value))
    assert not stat.exact_quantiles
    assert stat.count == 100_000 and stat.max == values.max() and stat.min == values.min()
    assert stat.p50 == pytest.approx(np.quantile(values, 0.5), rel=0.05)
    assert stat.p99 == pytest.approx(np.quantile(values, 0.99), rel=0.1)


def test_empty_stat_reports_none():
    stat = RunningStat("x")
    assert stat.to_dict() == {
        "count": 0,
        "total": 0.0,
        "min": None,
        "max": None,
        "mean": None,
        "p50": None,
        "p99": None,
        "unit": "s",
    }


def test_batches_add_counts_and_totals():
    metrics = SessionMetrics()
    metrics.record_events(1000, 0.002)
    metrics.record_events(3000, 0.009)
    assert metrics.events == 4000
    assert metrics.event_processing.count == 4000
    assert metrics.event_processing.mean == pytest.approx(0.011 / 4000)
    assert metrics.events_per_second == pytest.approx(4000 / 0.011)
    assert metrics.event_processing.min == pytest.approx(2e-6)
    assert metrics.event_processing.max == pytest.approx(3e-6)


def test_report_and_dict_carry_every_metric():
    metrics = SessionMetrics()
    metrics.record_session_gap(0.25)
    metrics.record_session_gap(0.75)
    metrics.record_session_duration(60.0)
    metrics.increment_trading_days()
    metrics.increment_trading_days()
    metrics.record_events(780, 0.0026)
    data = json.loads(json.dumps(metrics.to_dict()))
    assert data["trading_days"] == 2 and data["events"] == 780
    assert data["session_gap"]["mean"] == 0.5 and data["session_gap"]["p50"] == 0.5
    assert data["session_duration"]["max"] == 60.0
    text = metrics.report()
    assert "session gap" in text and "trading days" in text and "780" in text
    assert "0.50 s" in text  # session gap mean and p50
    assert "3.33 µs" in text  # 0.0026 s / 780 events
    assert "300,000" in text and "events/s" in text


def test_timers_measure_elapsed_wall_time():
    metrics = SessionMetrics()
    metrics.start_timer("gap")
    elapsed = metrics.stop_timer("gap")
    assert elapsed is not None and 0 <= elapsed < 1
    assert metrics.stop_timer("gap") is None
