"""Helpers for the orchestration tests: session configs written to tmp_path, catalogs, stores."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from core.store import Store
from orchestration.catalog import ExchangeCatalog, build_catalogs


def write_config(
    directory: Path,
    name: str,
    *,
    exchange_group: str,
    symbols: Sequence[str],
    start: str,
    end: str,
    data_api: str = "synthetic",
    data_api_options: dict[str, Any] | None = None,
    indicators: dict[str, dict[str, Any]] | None = None,
    max_retries: int = 2,
    retry_interval_seconds: float = 0.01,
    extended_hours: dict[str, bool] | None = None,
    streams: Sequence[str] = ("1m", "5m"),
    history_intervals: Sequence[str] = ("1m",),
) -> Path:
    """A valid backtest session config at ``directory/name.json``."""
    config = {
        "session_name": name,
        "exchange_group": exchange_group,
        "mode": "backtest",
        "backtest_config": {
            "start_date": start,
            "end_date": end,
            "speed_multiplier": 0,
            "prefetch_days": 1,
        },
        "session_data_config": {
            "symbols": list(symbols),
            "streams": list(streams),
            "historical": {
                "enable_quality": True,
                "data": [
                    {"trailing_days": 2, "intervals": list(history_intervals), "apply_to": "all"}
                ],
                "indicators": indicators or {},
            },
            "gap_filler": {
                "max_retries": max_retries,
                "retry_interval_seconds": retry_interval_seconds,
                "enable_session_quality": True,
            },
            "extended_hours": extended_hours or {},
        },
        "api_config": {"data_api": data_api, "data_api_options": data_api_options or {}},
    }
    path = directory / f"{name}.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def catalog_for(path: Path) -> ExchangeCatalog:
    """The single catalog of one config file."""
    (catalog,) = build_catalogs([path]).values()
    return catalog


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    store = Store.from_url(sqlite_url)
    yield store
    store.dispose()
