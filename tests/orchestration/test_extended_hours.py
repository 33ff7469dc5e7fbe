"""US extended hours in the Dagster loads: the real Alpaca source (alpaca-py's REST client)
against the loopback fake serving 1-minute bars 04:00-20:00 ET, materialized through Dagster
into a SQLite store. ``session_data_config.extended_hours`` decides what ``historical_bars``
stores; the gap check counts regular minutes only and ``daily_bars`` stays regular hours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, materialize

from core.calendars import session_bounds
from core.store import Store
from orchestration.assets import build_exchange_definitions
from orchestration.catalog import build_catalogs
from orchestration.resources import DataSourceResource, StoreResource
from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpacaData
from tests.plugins.sources.alpaca.conftest import ET, minute_bars

from .conftest import write_config

NORMAL_DAY = date(2024, 11, 26)
BLACK_FRIDAY = date(2024, 11, 29)  # early close 13:00 ET, post-market until 17:00 ET
SYMBOLS = ("AAPL", "MSFT")
CHECKS = ("bars_have_no_gaps", "ohlc_is_consistent", "no_duplicate_bars")


def et(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ET).astimezone(UTC)


@pytest.fixture
def alpaca_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("ALPACA_DATA_URL", "ALPACA_STREAM_URL", "ALPACA_FEED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALPACA_API_KEY", KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)


@pytest.fixture
def fake() -> Iterator[FakeAlpacaData]:
    """1Min bars every minute 04:00-20:00 ET of both days, both symbols."""
    rows = {
        symbol: [
            r for d in (NORMAL_DAY, BLACK_FRIDAY) for r in minute_bars(seed, d, time(4), time(20))
        ]
        for symbol, seed in (("AAPL", 230.0), ("MSFT", 420.0))
    }
    with FakeAlpacaData(bars={"1Min": rows}) as server:
        yield server


def _config(
    directory: Path, name: str, day: date, fake: FakeAlpacaData, *, pre: bool, post: bool
) -> Path:
    return write_config(
        directory,
        name,
        exchange_group="US_EQUITY",
        symbols=SYMBOLS,
        start=day.isoformat(),
        end=day.isoformat(),
        data_api="alpaca",
        data_api_options={"data_url": fake.url},
        extended_hours={"pre_market": pre, "post_market": post},
        streams=("1m",),
    )


def _materialize(paths: list[Path], day: date, store_url: str):
    (catalog,) = build_catalogs(paths).values()
    exchange = build_exchange_definitions(catalog, pool=None)
    result = materialize(
        [*exchange.assets, *exchange.checks],
        partition_key=day.isoformat(),
        resources={
            "store": StoreResource(url=store_url),
            "alpaca_source": DataSourceResource(plugin="alpaca"),
        },
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    (event,) = result.asset_materializations_for_node("us_equity__historical_bars")
    metadata = {name: value.value for name, value in event.metadata.items()}
    return checks, metadata


def _minutes(store: Store, day: date) -> list[Any]:
    return store.read_bars(list(SYMBOLS), "1m", et(day, 0), et(day, 23, 59), source="alpaca")


def _requested_starts(fake: FakeAlpacaData) -> list[datetime]:
    return sorted(
        datetime.fromisoformat(query["start"].replace("Z", "+00:00"))
        for path, query, _ in fake.requests
        if path.endswith("/bars")
    )


def test_a_pre_market_config_stores_pre_market_bars_and_the_gap_check_counts_regular_minutes(
    alpaca_env: None, fake: FakeAlpacaData, tmp_path: Path, sqlite_url: str
) -> None:
    path = _config(tmp_path, "pre", NORMAL_DAY, fake, pre=True, post=False)
    bounds = session_bounds("XNYS", NORMAL_DAY)
    checks, metadata = _materialize([path], NORMAL_DAY, sqlite_url)

    store = Store.from_url(sqlite_url)
    minutes = _minutes(store, NORMAL_DAY)
    assert len(minutes) == 2 * (330 + 390)  # 04:00-09:30 and 09:30-16:00 ET, no post-market
    assert min(b.ts_event for b in minutes) == et(NORMAL_DAY, 4)
    assert max(b.ts_event for b in minutes) == bounds.close - timedelta(minutes=1)
    assert _requested_starts(fake)[0] == et(NORMAL_DAY, 4)
    # The metadata describes what was loaded, pre-market included.
    assert metadata["first_bar"] == et(NORMAL_DAY, 4).timestamp()
    assert metadata["last_bar"] == (bounds.close - timedelta(minutes=1)).timestamp()
    assert metadata["dagster/row_count"] == metadata["rows_written"] == 2 * 720
    # 330 pre-market bars per symbol are not expected minutes: nothing is missing or flagged.
    assert {name: checks[name].passed for name in CHECKS} == dict.fromkeys(CHECKS, True)
    assert checks["bars_have_no_gaps"].metadata["missing_bars"].value == 0
    # The daily bar is the regular session's.
    regular = [b for b in minutes if b.symbol == "AAPL" and b.ts_event >= bounds.open]
    (daily,) = store.read_bars(["AAPL"], "1d", bounds.open, bounds.close, source="alpaca")
    assert daily.open == regular[0].open and daily.close == regular[-1].close
    assert daily.volume == pytest.approx(sum(b.volume for b in regular))
    assert daily.high == max(b.high for b in regular) and daily.low == min(b.low for b in regular)

    # A rerun rewrites the same rows: nothing changes.
    before = (minutes, store.read_bars(list(SYMBOLS), "1d", bounds.open, bounds.close))
    checks, metadata = _materialize([path], NORMAL_DAY, sqlite_url)
    after = (
        _minutes(store, NORMAL_DAY),
        store.read_bars(list(SYMBOLS), "1d", bounds.open, bounds.close),
    )
    assert after == before
    assert metadata["dagster/row_count"] == 2 * 720
    assert checks["bars_have_no_gaps"].passed
    store.dispose()


def test_a_regular_hours_config_stores_only_regular_bars(
    alpaca_env: None, fake: FakeAlpacaData, tmp_path: Path, sqlite_url: str
) -> None:
    path = _config(tmp_path, "regular", NORMAL_DAY, fake, pre=False, post=False)
    bounds = session_bounds("XNYS", NORMAL_DAY)
    checks, metadata = _materialize([path], NORMAL_DAY, sqlite_url)

    store = Store.from_url(sqlite_url)
    minutes = _minutes(store, NORMAL_DAY)
    assert len(minutes) == 2 * 390
    assert min(b.ts_event for b in minutes) == bounds.open
    assert max(b.ts_event for b in minutes) == bounds.close - timedelta(minutes=1)
    assert _requested_starts(fake) == [bounds.open]
    assert metadata["first_bar"] == bounds.open.timestamp()
    assert metadata["dagster/row_count"] == 2 * 390
    assert all(checks[name].passed for name in CHECKS)
    store.dispose()


def test_configs_sharing_a_source_load_the_union_of_their_extended_hours(
    alpaca_env: None, fake: FakeAlpacaData, tmp_path: Path, sqlite_url: str
) -> None:
    pre = _config(tmp_path, "pre", BLACK_FRIDAY, fake, pre=True, post=False)
    post = _config(tmp_path, "post", BLACK_FRIDAY, fake, pre=False, post=True)
    checks, metadata = _materialize([pre, post], BLACK_FRIDAY, sqlite_url)

    store = Store.from_url(sqlite_url)
    minutes = _minutes(store, BLACK_FRIDAY)
    # 04:00-09:30 pre-market, 09:30-13:00 early-closing session, 13:00-17:00 post-market
    assert len(minutes) == 2 * (330 + 210 + 240)
    assert min(b.ts_event for b in minutes) == et(BLACK_FRIDAY, 4)
    assert max(b.ts_event for b in minutes) == et(BLACK_FRIDAY, 16, 59)
    assert metadata["last_bar"] == et(BLACK_FRIDAY, 16, 59).timestamp()
    assert all(checks[name].passed for name in CHECKS)
    store.dispose()


def test_only_the_streamed_interval_of_an_extended_config_is_widened(tmp_path: Path) -> None:
    # Like the daemon: trailing history (here 5m) and other configs' intervals stay regular.
    extended = write_config(
        tmp_path,
        "extended",
        exchange_group="US_EQUITY",
        symbols=["AAPL"],
        start="2024-11-26",
        end="2024-11-26",
        data_api="alpaca",
        extended_hours={"pre_market": True, "post_market": False},
        streams=("1m",),
        history_intervals=("5m",),
    )
    plain = write_config(
        tmp_path,
        "plain",
        exchange_group="US_EQUITY",
        symbols=["MSFT"],
        start="2024-11-26",
        end="2024-11-26",
        data_api="alpaca",
        streams=("15m",),
        history_intervals=("15m",),
    )
    (catalog,) = build_catalogs([extended, plain]).values()
    (load,) = catalog.loads
    assert load.intervals == ("1m", "5m", "15m")
    assert load.extended_hours == (("1m", (True, False)),)
    assert [load.extended_for(i) for i in load.intervals] == [
        (True, False),
        (False, False),
        (False, False),
    ]
    assert load.extended_union == (True, False)
    (regular,) = build_catalogs([plain]).values()
    assert regular.loads[0].extended_union == (False, False)
