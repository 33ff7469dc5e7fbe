"""The rolling warm-up gives exactly what recomputing each day from the store gives: the
trailing history in SessionData, the historical indicators (computed from flat bar lists by
fresh instances) and the history quality, with gaps in the data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from core.calendars import previous_session, session_bounds, sessions_in_range
from core.config import validate_session_config
from core.quality import assess_quality
from core.store import Store
from daemon.coordinator import GENERATED_SOURCE, SessionCoordinator
from plugins import hookimpl
from plugins.history import day_window, load_history
from plugins.manager import load_plugins

START, END = date(2025, 3, 3), date(2025, 3, 12)
SYMBOLS = ("AAA", "BBB", "CCC")
INDICATORS = {
    "avg_volume": {"type": "trailing_average", "period": "3d"},
    "high_4d": {"type": "trailing_max", "period": "4d", "field": "high"},
    "by_minute": {"type": "trailing_average", "period": "2d", "granularity": "intraday"},
}
HISTORY = [(3, "1m"), (4, "1d")]


class Snapshots:
    """At each day's start (after its warm-up) copies what SessionData holds."""

    def __init__(self) -> None:
        self.data: Any = None
        self.days: dict[date, dict[str, Any]] = {}

    @hookimpl
    def session_started(self, session_name: str, exchange: str, trading_date: date, mode: str):
        data = self.data
        self.days[trading_date] = {
            "history": {
                (s, interval): list(data.history(s, interval))
                for s in SYMBOLS
                for _, interval in HISTORY
            },
            "indicators": {
                (name, s): list(data.indicator(name, s).values)
                for name in INDICATORS
                for s in SYMBOLS
            },
            "quality": {(s, interval): data.quality(s, interval) for s in SYMBOLS
                        for _, interval in HISTORY},  # fmt: skip
        }


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    s = Store.from_url(sqlite_url)
    host = load_plugins(entry_points=False)
    source = host.create_source("synthetic", exchange="XNYS", seed=5)
    first = previous_session("XNYS", START, 5)
    for interval in ("1m", "1d"):
        load_history(s, source, source_name="synthetic", calendar="XNYS", symbols=SYMBOLS,
                     intervals=[interval], start=first, end=END)  # fmt: skip
    # gaps (partial days: present days are not fetched again): an hour of BBB on a trailing
    # day, an hour of CCC inside the run
    lo, _ = day_window("XNYS", previous_session("XNYS", START, 2), "1m")
    s.delete_bars(["BBB"], "1m", lo, lo + timedelta(hours=1), source="synthetic")
    open_ = session_bounds("XNYS", date(2025, 3, 6)).open
    s.delete_bars(["CCC"], "1m", open_, open_ + timedelta(hours=1), source="synthetic")
    yield s
    s.dispose()


def test_the_rolling_warm_up_equals_recomputing_every_day_from_the_store(store: Store) -> None:
    snapshots = Snapshots()
    host = load_plugins(entry_points=False, extra=[snapshots])
    config = validate_session_config(
        {
            "session_name": "rolling",
            "exchange_group": "US_EQUITY",
            "mode": "backtest",
            "backtest_config": {"start_date": START.isoformat(), "end_date": END.isoformat(),
                                "speed_multiplier": 0, "prefetch_days": 2},  # fmt: skip
            "session_data_config": {
                "symbols": list(SYMBOLS),
                "streams": ["1m", "5m"],
                "historical": {
                    "enable_quality": True,
                    "data": [{"trailing_days": n, "intervals": [i]} for n, i in HISTORY],
                    "indicators": INDICATORS,
                },
            },
            "api_config": {"data_api": "synthetic", "data_api_options": {"seed": 5}},
        }
    )
    run = SessionCoordinator.for_config(config, store=store, host=host)
    snapshots.data = run.session_data
    summary = run.run_sync()
    days = sessions_in_range("XNYS", START, END)
    assert [d.trading_date for d in summary.days] == days == sorted(snapshots.days)

    fresh = load_plugins(entry_points=False)
    for day in days:
        got = snapshots.days[day]
        for trailing, interval in HISTORY:
            back = [previous_session("XNYS", day, n) for n in range(trailing, 0, -1)]
            lo, _ = day_window("XNYS", back[0], interval)
            _, hi = day_window("XNYS", back[-1], interval)
            for symbol in SYMBOLS:
                rows = store.read_bars([symbol], interval, lo, hi, source="synthetic")
                assert got["history"][(symbol, interval)] == rows, (day, symbol, interval)
                results = []
                for d in back:
                    w_lo, w_hi = day_window("XNYS", d, interval)
                    times = [b.ts_event for b in rows if w_lo <= b.ts_event < w_hi]
                    results.append(assess_quality("XNYS", symbol, interval, d, times, "synthetic"))
                expected = sum(r.expected_bars for r in results)
                actual = sum(r.actual_bars for r in results)
                assert got["quality"][(symbol, interval)] == pytest.approx(
                    min(100.0, 100.0 * actual / expected)
                )
                stored = store.read_quality([symbol], interval, back[0], back[-1], "synthetic")
                assert stored == results
        as_of = session_bounds("XNYS", day).open
        for name, spec in INDICATORS.items():
            params = {k: v for k, v in spec.items() if k not in ("type", "granularity")}
            granularity = spec.get("granularity", "daily")
            indicator = fresh.create_indicator(  # a fresh instance, day by day, flat lists
                spec["type"], name=name, calendar="XNYS", granularity=granularity, **params
            )
            interval = "1d" if granularity == "daily" else "1m"
            period = int(spec["period"][:-1])
            back = [previous_session("XNYS", day, n) for n in range(period, 0, -1)]
            lo, _ = day_window("XNYS", back[0], interval)
            _, hi = day_window("XNYS", back[-1], interval)
            for symbol in SYMBOLS:
                flat = store.read_bars([symbol], interval, lo, hi, source="synthetic")
                expected_values = indicator.compute(symbol, flat, as_of)
                assert got["indicators"][(name, symbol)] == expected_values, (day, name, symbol)
            stored_values = store.read_indicator_values(
                name, SYMBOLS, as_of, as_of + timedelta(seconds=1), source=GENERATED_SOURCE
            )
            assert sorted(stored_values, key=lambda v: (v.symbol, v.minute_of_day or -1)) == sorted(
                (v for s in SYMBOLS for v in got["indicators"][(name, s)]),
                key=lambda v: (v.symbol, v.minute_of_day or -1),
            )
    # the gaps show: in the history quality, and as per-minute values with fewer observations
    first = snapshots.days[days[0]]
    assert first["quality"][("BBB", "1m")] < 100.0 == first["quality"][("AAA", "1m")]
    after_gap = snapshots.days[date(2025, 3, 7)]["indicators"][("by_minute", "CCC")]
    assert [v.observations for v in after_gap[:60]] == [1] * 60
    assert all(not v.complete for v in after_gap[:60]) and after_gap[60].complete
