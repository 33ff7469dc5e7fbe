"""plugins.history.load_history: fetch what the store lacks through a source, upsert it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from core.calendars import session_bounds
from core.errors import SourceError
from core.models import Bar
from core.store import Store
from plugins.history import LoadReport, day_window, load_history
from plugins.manager import load_plugins

# 2025-07-03 is an early close (210 minutes), 2025-07-04 a holiday, 07-05/06 a weekend.
START, END = date(2025, 7, 2), date(2025, 7, 7)
DAYS = [date(2025, 7, 2), date(2025, 7, 3), date(2025, 7, 7)]
MINUTES = {date(2025, 7, 2): 390, date(2025, 7, 3): 210, date(2025, 7, 7): 390}


class CountingSource:
    """Wraps a real source and records every request (what was asked, not how)."""

    name = "synthetic"

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[tuple[str, ...], datetime, datetime, str]] = []

    def request_bars(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: str
    ) -> Iterator[Bar]:
        self.calls.append((tuple(symbols), start, end, interval))
        return self.inner.request_bars(symbols, start, end, interval)


@pytest.fixture(scope="module")
def synthetic() -> Any:
    return load_plugins(entry_points=False).create_source("synthetic", exchange="XNYS")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """Each test runs on SQLite and on PostgreSQL (skipped without SESSIOND_TEST_PG_URL)."""
    s = Store.from_url(store_url)
    yield s
    s.dispose()


def _load(store: Store, source: Any, **kwargs: Any) -> LoadReport:
    args: dict[str, Any] = dict(
        source_name="synthetic",
        calendar="XNYS",
        symbols=["MSFT", "AAPL"],
        intervals=["1m"],
        start=START,
        end=END,
    )
    args.update(kwargs)
    return load_history(store, source, **args)


def test_first_load_fetches_every_trading_day_and_stores_every_minute(
    store: Store, synthetic: Any
) -> None:
    source = CountingSource(synthetic)
    progress: list[tuple[int, int]] = []
    report = _load(store, source, progress=lambda done, total: progress.append((done, total)))
    assert report == LoadReport(
        rows_written=2 * sum(MINUTES.values()), days_fetched=6, days_skipped=0, trading_days=3
    )
    assert [c[1] for c in source.calls] == [session_bounds("XNYS", d).open for d in DAYS]
    assert all(c[0] == ("AAPL", "MSFT") for c in source.calls)
    assert progress == [(1, 3), (2, 3), (3, 3)]
    for d, minutes in MINUTES.items():
        lo, hi = day_window("XNYS", d, "1m")
        assert store.count_bars(["AAPL"], "1m", lo, hi, source="synthetic") == minutes
    lo, hi = day_window("XNYS", DAYS[0], "1m")
    stored = store.read_bars(["MSFT"], "1m", lo, hi, source="synthetic")
    assert stored == list(synthetic.request_bars(["MSFT"], lo, hi, "1m"))


def test_second_load_fetches_nothing(store: Store, synthetic: Any) -> None:
    _load(store, synthetic)
    source = CountingSource(synthetic)
    report = _load(store, source)
    assert report == LoadReport(rows_written=0, days_fetched=0, days_skipped=6, trading_days=3)
    assert source.calls == []


def test_only_the_missing_symbol_day_is_fetched_again(store: Store, synthetic: Any) -> None:
    _load(store, synthetic)
    lo, hi = day_window("XNYS", date(2025, 7, 3), "1m")
    assert store.delete_bars(["MSFT"], "1m", lo, hi, source="synthetic") == 210
    source = CountingSource(synthetic)
    report = _load(store, source)
    assert source.calls == [(("MSFT",), lo, hi, "1m")]
    assert report.rows_written == 210 and report.days_fetched == 1 and report.days_skipped == 5
    assert store.count_bars(["MSFT"], "1m", lo, hi, source="synthetic") == 210


def test_only_missing_false_refetches_and_upserts_without_duplicates(
    store: Store, synthetic: Any
) -> None:
    _load(store, synthetic)
    source = CountingSource(synthetic)
    report = _load(store, source, only_missing=False)
    assert report.days_fetched == 6 and len(source.calls) == 3
    lo, _ = day_window("XNYS", DAYS[0], "1m")
    _, hi = day_window("XNYS", DAYS[-1], "1m")
    assert store.count_bars(["AAPL", "MSFT"], "1m", lo, hi, source="synthetic") == 2 * 990


def test_daily_bars_are_loaded_per_trading_day(store: Store, synthetic: Any) -> None:
    report = _load(store, synthetic, intervals=["1d", "5m"], symbols=["AAPL"])
    assert report.days_fetched == 6
    lo, _ = day_window("XNYS", DAYS[0], "1d")
    _, hi = day_window("XNYS", DAYS[-1], "1d")
    daily = store.read_bars(["AAPL"], "1d", lo, hi, source="synthetic")
    assert [b.ts_event for b in daily] == [session_bounds("XNYS", d).open for d in DAYS]
    assert _load(store, synthetic, intervals=["1d", "5m"], symbols=["AAPL"]).days_fetched == 0


def test_no_trading_day_in_range_loads_nothing(store: Store, synthetic: Any) -> None:
    source = CountingSource(synthetic)
    report = _load(store, source, start=date(2025, 7, 4), end=date(2025, 7, 6))
    assert report == LoadReport(0, 0, 0, 0)
    assert source.calls == []


class BrokenSource:
    name = "broken"

    def request_bars(self, symbols, start, end, interval):  # type: ignore[no-untyped-def]
        raise RuntimeError("vendor said 503")


def test_a_failing_source_is_reported_with_the_day_and_symbols(store: Store) -> None:
    with pytest.raises(SourceError) as error:
        _load(store, BrokenSource(), source_name="broken")
    assert str(error.value) == (
        "data source 'broken' failed for 1m bars of 2025-07-02 (AAPL, MSFT): vendor said 503"
    )


def test_bars_without_a_source_name_are_stored_under_source_name(store: Store) -> None:
    class Anonymous:
        def request_bars(self, symbols, start, end, interval):  # type: ignore[no-untyped-def]
            yield Bar("AAPL", interval, start, 1.0, 1.0, 1.0, 1.0, 10.0)

    report = _load(store, Anonymous(), source_name="mine", symbols=["AAPL"], end=START)
    assert report.rows_written == 1
    lo, hi = day_window("XNYS", START, "1m")
    assert store.read_bars(["AAPL"], "1m", lo, hi)[0].source == "mine"
    assert store.count_bars(["AAPL"], "1m", lo - timedelta(days=1), hi, source="mine") == 1
    assert lo.tzinfo is UTC or lo.utcoffset() == timedelta(0)


def test_history_plan_covers_streamed_days_trailing_entries_and_indicator_periods() -> None:
    from core.config import validate_session_config
    from core.errors import SessionError
    from plugins.history import HistoryNeed, history_plan

    config = validate_session_config(
        {
            "session_name": "plan",
            "exchange_group": "US_EQUITY",
            "mode": "backtest",
            "backtest_config": {"start_date": "2025-07-03", "end_date": "2025-07-07"},
            "session_data_config": {
                "symbols": ["MSFT", "AAPL", "TSLA"],
                "streams": ["1m", "5m"],
                "historical": {
                    "data": [
                        {"trailing_days": 2, "intervals": ["1m", "1d"], "apply_to": ["TSLA"]},
                    ],
                    "indicators": {
                        "avg": {"type": "trailing_average", "period": "1w", "granularity": "daily"},
                        "by_minute": {
                            "type": "trailing_max",
                            "period": "3d",
                            "granularity": "intraday",
                        },
                        "sma": {"type": "sma", "period": 20},
                    },
                },
            },
            "api_config": {"data_api": "synthetic"},
        }
    )
    everyone = ("AAPL", "MSFT", "TSLA")
    end = date(2025, 7, 7)
    assert history_plan(config, date(2025, 7, 3), end) == [
        HistoryNeed(everyone, ("1m",), date(2025, 7, 3), end),
        HistoryNeed(("TSLA",), ("1m", "1d"), date(2025, 7, 1), end),  # 2 sessions before 07-03
        HistoryNeed(everyone, ("1d",), date(2025, 6, 26), end),  # 1w = 5 sessions before
        HistoryNeed(everyone, ("1m",), date(2025, 6, 30), end),  # 3 sessions before
    ]
    with pytest.raises(
        SessionError, match="no trading day of XNYS between 2025-07-04 and 2025-07-06"
    ):
        history_plan(config, date(2025, 7, 4), date(2025, 7, 6))
