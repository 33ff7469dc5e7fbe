"""Asset checks on stored bars: pass on clean data, fail with the failing values in metadata."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from core import calendars
from core.models import replace
from core.store import Store
from orchestration.assets.bars import load_historical_bars
from orchestration.checks import (
    build_bar_checks,
    evaluate_bars_have_no_gaps,
    evaluate_no_duplicate_bars,
    evaluate_ohlc_is_consistent,
    evaluate_prices_within_daily_limits,
    price_band,
    tick_size,
)
from orchestration.partitions import trading_day_partitions
from orchestration.resources import DataSourceResource, StoreResource

from .conftest import catalog_for, write_config

DAY = date(2025, 2, 4)
PREVIOUS = date(2025, 2, 3)  # first session after Tet 2025
SYMBOLS = ("ACB", "FPT", "HPG")
ALL_CHECKS = (
    evaluate_bars_have_no_gaps,
    evaluate_ohlc_is_consistent,
    evaluate_prices_within_daily_limits,
    evaluate_no_duplicate_bars,
)


@pytest.fixture
def loaded(tmp_path: Path, sqlite_url: str):
    """A HOSE catalog and a store holding two synthetic days (the day and its reference day)."""
    catalog = catalog_for(
        write_config(
            tmp_path,
            "hose",
            exchange_group="HOSE",
            symbols=SYMBOLS,
            start="2025-02-03",
            end="2025-02-04",
        )
    )
    resource = StoreResource(url=sqlite_url)
    store = resource.open()
    sources = {"synthetic": DataSourceResource(plugin="synthetic")}
    for day in (PREVIOUS, DAY):
        load_historical_bars(store, sources, catalog, day)
    yield catalog, resource, store
    resource.close()


def _day_bars(store: Store, symbol: str):
    bounds = calendars.session_bounds("XSTC", DAY)
    return store.read_bars(symbol, "1m", bounds.open, bounds.close, source="synthetic")


def test_every_check_passes_on_clean_synthetic_bars(loaded):
    catalog, resource, _ = loaded
    for evaluate in ALL_CHECKS:
        result = evaluate(resource, catalog, DAY)
        assert result.passed, (evaluate.__name__, result.metadata)
    prices = evaluate_prices_within_daily_limits(resource, catalog, DAY)
    assert prices.metadata["checked_symbols"].value == 3
    assert prices.metadata["unchecked_symbols"].value == []
    assert prices.metadata["reference_session"].value == "2025-02-03"


def test_bars_have_no_gaps_fails_naming_the_deleted_minute(loaded):
    catalog, resource, store = loaded
    minute = calendars.session_bounds("XSTC", DAY).break_end + timedelta(minutes=7)  # 13:07 local
    assert (
        store.delete_bars("FPT", "1m", minute, minute + timedelta(minutes=1), source="synthetic")
        == 1
    )
    result = evaluate_bars_have_no_gaps(resource, catalog, DAY)
    assert not result.passed
    assert result.metadata["missing_bars"].value == 1
    assert result.metadata["first_gap"].value == minute.timestamp()
    assert result.metadata["missing_per_symbol"].value == {"FPT 1m (synthetic)": 1}
    assert result.metadata["sample"].value == [f"FPT 1m {minute.isoformat()}"]


def test_ohlc_is_consistent_fails_on_an_inverted_high_and_low(loaded):
    catalog, resource, store = loaded
    bar = _day_bars(store, "HPG")[30]
    assert bar.high > bar.low
    store.upsert_bars([replace(bar, high=bar.low, low=bar.high)])
    result = evaluate_ohlc_is_consistent(resource, catalog, DAY)
    assert not result.passed
    assert result.metadata["inconsistent_bars"].value == 1
    assert result.metadata["symbols"].value == ["HPG"]
    assert result.metadata["first_inconsistent"].value == bar.ts_event.timestamp()
    (row,) = [r.data for r in result.metadata["preview"].records]
    assert (row["symbol"], row["ts"]) == ("HPG", bar.ts_event.isoformat())
    assert (row["high"], row["low"]) == (bar.low, bar.high)


def test_prices_within_daily_limits_fails_on_a_price_above_the_ceiling(loaded):
    catalog, resource, store = loaded
    previous_close = _previous_close(store, "ACB")
    floor, ceiling = price_band("XSTC", previous_close)
    bar = _day_bars(store, "ACB")[100]
    beyond = ceiling + tick_size("XSTC", ceiling)
    store.upsert_bars([replace(bar, high=beyond, close=beyond)])
    result = evaluate_prices_within_daily_limits(resource, catalog, DAY)
    assert not result.passed
    assert result.metadata["bars_beyond_limits"].value == 1
    assert result.metadata["symbols"].value == ["ACB"]
    (row,) = [r.data for r in result.metadata["preview"].records]
    assert (row["symbol"], row["high"]) == ("ACB", beyond)
    assert (row["floor"], row["ceiling"]) == (floor, ceiling)
    assert result.metadata["limit_pct"].value == pytest.approx(7.0)


def test_no_duplicate_bars_fails_on_a_second_bar_in_the_same_minute(loaded):
    catalog, resource, store = loaded
    bar = _day_bars(store, "ACB")[10]
    store.upsert_bars([replace(bar, ts_event=bar.ts_event + timedelta(seconds=30))])
    result = evaluate_no_duplicate_bars(resource, catalog, DAY)
    assert not result.passed
    assert result.metadata["duplicate_bars"].value == 2
    assert result.metadata["symbols"].value == ["ACB"]
    assert result.metadata["first_duplicate"].value == bar.ts_event.timestamp()


def test_price_check_lists_symbols_whose_reference_session_is_not_loaded(
    tmp_path: Path, sqlite_url: str
):
    catalog = catalog_for(
        write_config(
            tmp_path,
            "hose",
            exchange_group="HOSE",
            symbols=["VNM"],
            start="2025-02-04",
            end="2025-02-04",
        )
    )
    resource = StoreResource(url=sqlite_url)
    load_historical_bars(
        resource.open(), {"synthetic": DataSourceResource(plugin="synthetic")}, catalog, DAY
    )
    result = evaluate_prices_within_daily_limits(resource, catalog, DAY)
    assert result.passed
    assert result.metadata["unchecked_symbols"].value == ["VNM"]
    assert "session 2025-02-03 not loaded" in (result.description or "")
    resource.close()


@pytest.mark.parametrize(
    ("calendar", "reference", "expected"),
    [
        # SSI samples in reference/vietnam_market.md §3
        ("XSTC", 22_900, (21_300, 24_500)),
        ("XSTC", 20_150, (18_750, 21_550)),
        ("XSTC", 22_650, (21_100, 24_200)),
        ("XHNX", 21_300, (19_200, 23_400)),
    ],
)
def test_price_band_matches_the_exchange_samples(calendar, reference, expected):
    assert price_band(calendar, reference) == expected


def test_only_vietnamese_boards_get_the_price_limit_check_and_gap_and_ohlc_checks_block(
    tmp_path: Path,
):
    us = catalog_for(
        write_config(
            tmp_path,
            "us",
            exchange_group="US_EQUITY",
            symbols=["AAPL"],
            start="2024-07-01",
            end="2024-07-02",
        )
    )
    hose = catalog_for(
        write_config(
            tmp_path,
            "vn",
            exchange_group="HOSE",
            symbols=["ACB"],
            start="2025-02-03",
            end="2025-02-04",
        )
    )
    from dagster import AssetKey

    def specs(catalog):
        checks = build_bar_checks(
            catalog, AssetKey(["x", "historical_bars"]), trading_day_partitions(catalog.calendar)
        )
        return {spec.name: spec.blocking for check in checks for spec in check.check_specs}

    assert specs(us) == {
        "bars_have_no_gaps": True,
        "ohlc_is_consistent": True,
        "no_duplicate_bars": False,
    }
    assert specs(hose) == {**specs(us), "prices_within_daily_limits": False}


def _previous_close(store: Store, symbol: str) -> float:
    bounds = calendars.session_bounds("XSTC", PREVIOUS)
    return store.read_bars(symbol, "1m", bounds.open, bounds.close, source="synthetic")[-1].close


def test_price_check_on_the_calendars_first_session_has_no_reference_and_says_so(
    tmp_path: Path, sqlite_url: str
):
    catalog = catalog_for(
        write_config(
            tmp_path,
            "hose",
            exchange_group="HOSE",
            symbols=["VNM"],
            start="2025-02-04",
            end="2025-02-04",
        )
    )
    resource = StoreResource(url=sqlite_url)
    first = calendars.first_session("XSTC")
    load_historical_bars(
        resource.open(), {"synthetic": DataSourceResource(plugin="synthetic")}, catalog, first
    )
    result = evaluate_prices_within_daily_limits(resource, catalog, first)
    assert result.passed
    assert result.metadata["unchecked_symbols"].value == ["VNM"]
    assert "session before the calendar not loaded" in (result.description or "")
    resource.close()


def test_vn30_futures_in_a_hose_config_get_the_futures_band_not_the_stock_ticks():
    import pandas as pd

    from orchestration.checks import find_price_limit_breaches

    frame = pd.DataFrame(
        {
            "symbol": ["VN30F1M", "VN30F1M", "ACB"],
            "ts": pd.to_datetime(
                ["2025-02-04 02:00", "2025-02-04 02:01", "2025-02-04 02:00"], utc=True
            ),
            "open": [1300.0, 1300.0, 22_900.0],
            "high": [1390.9, 1391.1, 24_500.0],
            "low": [1300.0, 1300.0, 22_900.0],
            "close": [1300.0, 1300.0, 22_900.0],
            "volume": [10.0, 10.0, 100.0],
        }
    )
    breaches = find_price_limit_breaches("XSTC", frame, {"VN30F1M": 1300.0, "ACB": 22_900.0})
    # futures: ceiling 1300 x 1.07 = 1391.0 on the 0.1 grid; ACB: 24,500 is its exact ceiling
    assert breaches[["symbol", "high", "ceiling"]].values.tolist() == [["VN30F1M", 1391.1, 1391.0]]
