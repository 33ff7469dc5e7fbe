"""Materializing trading-day partitions: synthetic and real file data, SQLite and PostgreSQL,
idempotence, blocking checks, gap_filler retries and the indicator values the daemon uses."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    IntMetadataValue,
    TableMetadataValue,
    TimestampMetadataValue,
    materialize,
)

from core import calendars
from core.models import Bar, replace
from core.store import Store
from orchestration.assets import build_exchange_definitions
from orchestration.assets.indicators import DERIVED_SOURCE
from orchestration.resources import DataSourceResource, StoreResource

from .conftest import catalog_for, write_config

US_SYMBOLS = ("AAPL", "MSFT", "RIVN")
INDICATORS = {
    "avg_volume": {"type": "trailing_average", "period": "2d", "granularity": "daily"},
    "avg_volume_by_minute": {"type": "trailing_average", "period": "2d", "granularity": "intraday"},
}
CME_FILE = "nt_6EH4.XCME_1min_bars_20240101_20240131.csv.gz"


def _us_catalog(tmp_path: Path, **overrides: Any):
    options = {"indicators": INDICATORS, **overrides}
    return catalog_for(
        write_config(
            tmp_path,
            "us",
            exchange_group="US_EQUITY",
            symbols=US_SYMBOLS,
            start="2024-07-02",
            end="2024-07-05",
            **options,
        )
    )


def _materialize(catalog, partition: str, resources: dict[str, Any], **kwargs: Any):
    exchange = build_exchange_definitions(catalog, pool=None)
    return materialize(
        [*exchange.assets, *exchange.checks],
        partition_key=partition,
        resources=resources,
        instance=kwargs.pop("instance", None) or DagsterInstance.ephemeral(),
        **kwargs,
    )


def _window(day: date) -> tuple[datetime, datetime]:
    bounds = calendars.session_bounds("XNYS", day)
    return bounds.open, bounds.close


def _metadata(result, key: Sequence[str]) -> dict[str, Any]:
    (event,) = result.asset_materializations_for_node("__".join(key))
    return {name: value.value for name, value in event.metadata.items()}


def test_a_synthetic_partition_loads_bars_daily_bars_and_indicators_and_reruns_change_nothing(
    tmp_path: Path, store_url: str
):
    catalog = _us_catalog(tmp_path)
    resources = {
        "store": StoreResource(url=store_url),
        "synthetic_source": DataSourceResource(plugin="synthetic"),
    }
    result = _materialize(catalog, "2024-07-05", resources)
    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "bars_have_no_gaps": True,
        "ohlc_is_consistent": True,
        "no_duplicate_bars": True,
    }
    open_, close = _window(date(2024, 7, 5))
    bars = _metadata(result, ["us_equity", "historical_bars"])
    assert bars["rows_written"] == 3 * 390
    assert bars["symbols"] == list(US_SYMBOLS)
    assert bars["first_bar"] == open_.timestamp()
    assert bars["last_bar"] == (close - timedelta(minutes=1)).timestamp()
    preview = bars["preview"]
    assert [c.name for c in preview.schema.columns] == [
        "symbol",
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]
    assert [c.type for c in preview.schema.columns][:3] == ["string", "timestamp", "float"]
    assert preview.records[0].data["ts"] == open_.isoformat()
    assert bars["dagster/row_count"] == 3 * 390
    assert _metadata(result, ["us_equity", "daily_bars"])["rows_written"] == 3
    # Dagster's standard kinds: the UI shows row counts, times and tables as such
    (event,) = result.asset_materializations_for_node("us_equity__historical_bars")
    assert isinstance(event.metadata["dagster/row_count"], IntMetadataValue)
    assert isinstance(event.metadata["first_bar"], TimestampMetadataValue)
    assert isinstance(event.metadata["preview"], TableMetadataValue)
    (indicator,) = result.asset_materializations_for_node("us_equity__avg_volume")
    assert isinstance(indicator.metadata["as_of"], TimestampMetadataValue)
    assert indicator.metadata["dagster/row_count"].value == len(US_SYMBOLS)

    store = Store.from_url(store_url)
    day_start = datetime.combine(date(2024, 7, 5), datetime.min.time()).replace(tzinfo=open_.tzinfo)

    def counts() -> tuple[int, ...]:
        as_of = calendars.session_bounds("XNYS", date(2024, 7, 8)).open
        return (
            store.count_bars(list(US_SYMBOLS), "1m", open_, close, source="synthetic"),
            store.count_bars(
                list(US_SYMBOLS), "1d", day_start, day_start + timedelta(days=1), source="synthetic"
            ),
            len(
                store.read_indicator_values(
                    "avg_volume", US_SYMBOLS, as_of, as_of + timedelta(seconds=1), DERIVED_SOURCE
                )
            ),
            len(
                store.read_indicator_values(
                    "avg_volume_by_minute",
                    US_SYMBOLS,
                    as_of,
                    as_of + timedelta(seconds=1),
                    DERIVED_SOURCE,
                )
            ),
        )

    first = counts()
    assert first == (1170, 3, 3, 3 * 390)
    daily = store.read_bars(
        list(US_SYMBOLS), "1d", day_start, day_start + timedelta(days=1), source="synthetic"
    )
    minutes = store.read_bars_frame(list(US_SYMBOLS), "1m", open_, close, source="synthetic")
    for bar in daily:  # the daily bar is the session's minutes folded together
        own = minutes[minutes["symbol"] == bar.symbol]
        assert (bar.open, bar.close) == (own["open"].iloc[0], own["close"].iloc[-1])
        assert (bar.high, bar.low, bar.volume) == (
            own["high"].max(),
            own["low"].min(),
            own["volume"].sum(),
        )

    again = _materialize(catalog, "2024-07-05", resources)
    assert again.success
    assert counts() == first
    store.dispose()


def test_the_files_source_loads_real_cme_minutes_for_an_nyse_session(
    tmp_path: Path, store_url: str, market_data_dir: Path
):
    path = market_data_dir / CME_FILE
    catalog = catalog_for(
        write_config(
            tmp_path,
            "cme",
            exchange_group="US_EQUITY",
            symbols=["6EH4"],
            start="2024-01-10",
            end="2024-01-10",
            data_api="files",
            data_api_options={"path": str(path), "symbol": "6EH4"},
        )
    )
    resources = {
        "store": StoreResource(url=store_url),
        "files_source": DataSourceResource(plugin="files"),
    }
    result = _materialize(catalog, "2024-01-10", resources)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())

    open_, close = _window(date(2024, 1, 10))
    raw = pd.read_csv(path, parse_dates=["timestamp_utc"])
    raw["ts"] = raw["timestamp_utc"].dt.tz_localize("UTC")
    expected = raw[(raw["ts"] >= open_) & (raw["ts"] < close)].reset_index(drop=True)
    store = Store.from_url(store_url)
    stored = store.read_bars_frame("6EH4", "1m", open_, close, source="files")
    assert len(stored) == len(expected) == 390
    for column in ("open", "high", "low", "close", "volume"):
        assert stored[column].tolist() == pytest.approx(expected[column].tolist())
    assert list(stored["ts"]) == list(expected["ts"])
    assert _metadata(result, ["us_equity", "historical_bars"])["rows_written"] == 390
    day_start = datetime.combine(date(2024, 1, 10), datetime.min.time()).replace(
        tzinfo=open_.tzinfo
    )
    (daily,) = store.read_bars(
        "6EH4", "1d", day_start, day_start + timedelta(days=1), source="files"
    )
    assert daily.high == pytest.approx(expected["high"].max())
    assert daily.volume == pytest.approx(expected["volume"].sum())

    assert _materialize(catalog, "2024-01-10", resources).success
    assert store.count_bars("6EH4", "1m", open_, close, source="files") == 390
    store.dispose()


class GappySourceResource(DataSourceResource):
    """The configured plugin with one minute of one symbol missing (a vendor gap)."""

    missing_symbol: str
    missing_minute: str

    def create_source(self, *, exchange: str, defaults=None):
        inner = super().create_source(exchange=exchange, defaults=defaults)
        drop = (self.missing_symbol, datetime.fromisoformat(self.missing_minute))

        class _Gappy:
            name = "gappy"

            def request_bars(self, symbols, start, end, interval) -> Iterator[Bar]:
                return (
                    b
                    for b in inner.request_bars(symbols, start, end, interval)
                    if (b.symbol, b.ts_event) != drop
                )

        return _Gappy()


def test_a_failing_gap_check_blocks_the_indicators_of_the_partition(
    tmp_path: Path, sqlite_url: str
):
    catalog = _us_catalog(tmp_path)
    open_, _ = _window(date(2024, 7, 5))
    missing = open_ + timedelta(minutes=42)
    resources = {
        "store": StoreResource(url=sqlite_url),
        "synthetic_source": GappySourceResource(
            plugin="synthetic", missing_symbol="MSFT", missing_minute=missing.isoformat()
        ),
    }
    result = _materialize(catalog, "2024-07-05", resources, raise_on_error=False)
    assert not result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["bars_have_no_gaps"].passed
    assert checks["bars_have_no_gaps"].metadata["first_gap"].value == missing.timestamp()
    assert checks["bars_have_no_gaps"].metadata["missing_bars"].value == 1
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert AssetKey(["us_equity", "historical_bars"]) in materialized
    assert AssetKey(["us_equity", "avg_volume"]) not in materialized
    assert AssetKey(["us_equity", "avg_volume_by_minute"]) not in materialized
    store = Store.from_url(sqlite_url)
    as_of = calendars.session_bounds("XNYS", date(2024, 7, 8)).open
    assert (
        store.read_indicator_values("avg_volume", US_SYMBOLS, as_of, as_of + timedelta(seconds=1))
        == []
    )
    store.dispose()


class FlakySourceResource(DataSourceResource):
    """The configured plugin, failing its first ``failures`` requests (counted in a file so the
    count survives Dagster's retries)."""

    failures: int
    counter_path: str

    def create_source(self, *, exchange: str, defaults=None):
        inner = super().create_source(exchange=exchange, defaults=defaults)
        counter = Path(self.counter_path)
        failures = self.failures

        class _Flaky:
            name = "flaky"

            def request_bars(self, symbols, start, end, interval):
                calls = int(counter.read_text()) if counter.exists() else 0
                counter.write_text(str(calls + 1))
                if calls < failures:
                    raise ConnectionError(f"vendor timeout #{calls + 1}")
                return inner.request_bars(symbols, start, end, interval)

        return _Flaky()


def test_a_flaky_source_is_retried_as_gap_filler_says_and_a_dead_one_fails_with_a_clear_error(
    tmp_path: Path, sqlite_url: str
):
    catalog = _us_catalog(tmp_path, indicators={}, max_retries=2, retry_interval_seconds=0.01)
    assert (catalog.max_retries, catalog.retry_interval_seconds) == (2, 0.01)
    counter = tmp_path / "calls"
    flaky = FlakySourceResource(plugin="synthetic", failures=2, counter_path=str(counter))
    result = _materialize(
        catalog, "2024-07-05", {"store": StoreResource(url=sqlite_url), "synthetic_source": flaky}
    )
    assert result.success
    assert int(counter.read_text()) == 3

    counter.unlink()
    dead = FlakySourceResource(plugin="synthetic", failures=99, counter_path=str(counter))
    fresh = StoreResource(url=f"sqlite:///{tmp_path / 'fresh.db'}")  # nothing loaded yet
    result = _materialize(
        catalog, "2024-07-05", {"store": fresh, "synthetic_source": dead}, raise_on_error=False
    )
    assert not result.success
    assert int(counter.read_text()) == 3  # first attempt + max_retries
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.user_failure_data.description
    assert "XNYS 2024-07-05: data source 'synthetic' failed for 1m bars of 2024-07-05" in message
    assert "vendor timeout #3" in message
    assert "attempt 3 of 3" in message


def test_the_daemon_historical_phase_reads_the_indicator_values_these_assets_wrote(
    tmp_path: Path, sqlite_url: str
):
    from core.config import load_session_config
    from daemon.coordinator import GENERATED_SOURCE, SessionCoordinator
    from plugins.manager import load_plugins

    assert DERIVED_SOURCE == GENERATED_SOURCE
    config_path = write_config(
        tmp_path,
        "us",
        exchange_group="US_EQUITY",
        symbols=US_SYMBOLS,
        start="2024-07-05",
        end="2024-07-05",
        indicators=INDICATORS,
    )
    catalog = catalog_for(config_path)
    resources = {
        "store": StoreResource(url=sqlite_url),
        "synthetic_source": DataSourceResource(plugin="synthetic"),
    }
    instance = DagsterInstance.ephemeral()
    for partition in ("2024-07-02", "2024-07-03"):  # 07-04 is a holiday: 07-03 feeds 07-05
        assert _materialize(catalog, partition, resources, instance=instance).success

    store = Store.from_url(sqlite_url)
    as_of = calendars.session_bounds("XNYS", date(2024, 7, 5)).open
    window = (as_of, as_of + timedelta(seconds=1))
    written = {
        name: store.read_indicator_values(name, US_SYMBOLS, *window, source=DERIVED_SOURCE)
        for name in INDICATORS
    }
    assert len(written["avg_volume"]) == 3 and len(written["avg_volume_by_minute"]) == 3 * 390
    assert all(v.complete and v.observations == 2 for v in written["avg_volume"])
    # Alter one daily and one per-minute value in the store: no computation from the bars
    # gives these, so the daemon can only hold them by reading what is stored.
    altered = {
        "avg_volume": replace(written["avg_volume"][0], value=-123.0),
        "avg_volume_by_minute": replace(written["avg_volume_by_minute"][7], value=-456.0),
    }
    store.upsert_indicator_values(altered.values(), DERIVED_SOURCE)
    for name, value in altered.items():
        written[name] = [
            value if (v.symbol, v.minute_of_day) == (value.symbol, value.minute_of_day) else v
            for v in written[name]
        ]

    config = load_session_config(config_path)
    coordinator = SessionCoordinator.for_config(
        config, store=store, host=load_plugins(), persist=True
    )
    summary = coordinator.run_sync()
    assert summary.days[0].indicators_read == 3 + 3 * 390
    for name, values in written.items():
        for symbol in US_SYMBOLS:
            daemon_values = coordinator.session_data.indicator(name, symbol).values
            assert list(daemon_values) == [v for v in values if v.symbol == symbol]
        # the daemon wrote nothing over the assets' rows (the altered values are still there)
        after = store.read_indicator_values(name, US_SYMBOLS, *window, source=DERIVED_SOURCE)
        assert after == values
    altered_value = altered["avg_volume"]
    assert coordinator.session_data.indicator_value("avg_volume", altered_value.symbol) == -123.0
    store.dispose()


def test_daily_bars_from_dagster_equal_the_daemons_generated_daily_bars_field_by_field(
    tmp_path: Path, sqlite_url: str
):
    """One rule for a 1d bar: the daily_bars asset and a backtest generating 1d agree on every
    field, ``trade_count`` included (the sum of the known counts, None when none is known)."""
    from core.config import load_session_config
    from daemon.coordinator import GENERATED_SOURCE, SessionCoordinator
    from orchestration.assets.bars import build_daily_bars
    from plugins.manager import load_plugins

    day = date(2024, 7, 5)
    config_path = write_config(
        tmp_path, "us", exchange_group="US_EQUITY", symbols=US_SYMBOLS, start=day.isoformat(),
        end=day.isoformat(), streams=("1m", "5m", "1d"),
    )  # fmt: skip
    catalog = catalog_for(config_path)
    resources = {
        "store": StoreResource(url=sqlite_url),
        "synthetic_source": DataSourceResource(plugin="synthetic"),
    }
    exchange = build_exchange_definitions(catalog, pool=None)
    historical = next(a for a in exchange.assets if a.key.path[-1] == "historical_bars")
    assert materialize([historical], partition_key=day.isoformat(), resources=resources).success
    store = Store.from_url(sqlite_url)
    open_, close = _window(day)
    minutes = store.read_bars(list(US_SYMBOLS), "1m", open_, close, source="synthetic")
    # unknown trade counts: all of MSFT's afternoon, and every other RIVN minute
    unknown = [
        replace(b, trade_count=None)
        for i, b in enumerate(minutes)
        if (b.symbol == "MSFT" and b.ts_event.hour >= 17) or (b.symbol == "RIVN" and i % 2)
    ]
    unknown += [replace(b, trade_count=None) for b in minutes if b.symbol == "AAPL"]
    store.upsert_bars(unknown)
    assert build_daily_bars(store, catalog, day).rows_written == 3

    config = load_session_config(config_path)
    config = config.model_copy(
        update={
            "session_data_config": config.session_data_config.model_copy(
                update={"historical": config.session_data_config.historical.model_copy(
                    update={"data": []})}
            )
        }
    )  # fmt: skip
    SessionCoordinator.for_config(config, store=store, host=load_plugins()).run_sync()
    dagster = store.read_bars(list(US_SYMBOLS), "1d", open_, close, source="synthetic")
    daemon = store.read_bars(list(US_SYMBOLS), "1d", open_, close, source=GENERATED_SOURCE)
    assert len(dagster) == len(daemon) == 3
    for a, b in zip(dagster, daemon, strict=True):
        assert a._replace(source="") == b._replace(source="")  # every other field equal
    by_symbol = {b.symbol: b for b in daemon}
    assert by_symbol["AAPL"].trade_count is None  # no count known
    msft = [b for b in minutes if b.symbol == "MSFT" and b.ts_event.hour < 17]
    assert by_symbol["MSFT"].trade_count == sum(b.trade_count for b in msft)  # the known ones
    store.dispose()
