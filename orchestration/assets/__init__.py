"""The assets of one exchange: bars (``historical_bars``, ``daily_bars``) and indicators.

:func:`build_exchange_definitions` assembles, for one :class:`ExchangeCatalog`, the assets,
their checks, the history job and its schedule — everything ``definitions.py`` registers per
exchange.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from dagster import AssetChecksDefinition, AssetsDefinition, ScheduleDefinition
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._utils.warnings import BetaWarning

from orchestration.assets.bars import build_bar_assets
from orchestration.assets.indicators import build_indicator_assets
from orchestration.catalog import ExchangeCatalog
from orchestration.checks import build_bar_checks
from orchestration.jobs import build_history_job
from orchestration.partitions import trading_day_partitions
from orchestration.schedules import build_history_schedule


@dataclass(frozen=True)
class ExchangeDefinitions:
    """Everything registered for one exchange."""

    assets: list[AssetsDefinition]
    checks: list[AssetChecksDefinition]
    job: UnresolvedAssetJobDefinition
    schedule: ScheduleDefinition


def build_exchange_definitions(
    catalog: ExchangeCatalog, pool: str | None, host: Any = None
) -> ExchangeDefinitions:
    """Assets, checks, job and schedule of ``catalog``'s exchange.

    ``pool`` is the Dagster concurrency pool of every asset that writes to the store (``None``
    for a store that takes concurrent writers); ``host`` the plugins the indicator assets use
    (default: loaded when they run; the conformance kit passes one with the plugin it checks).
    """
    partitions_def = trading_day_partitions(catalog.calendar, catalog.earliest_needed)
    with warnings.catch_warnings():
        # single-run backfill policies (what `--partition-range` needs) are "beta" in 1.13
        warnings.simplefilter("ignore", BetaWarning)
        historical_bars, daily_bars = build_bar_assets(catalog, partitions_def, pool)
        indicators = build_indicator_assets(catalog, partitions_def, [daily_bars.key], pool, host)
    checks = build_bar_checks(catalog, historical_bars.key, partitions_def)
    job = build_history_job(catalog)
    schedule = build_history_schedule(catalog.calendar, job)
    return ExchangeDefinitions([historical_bars, daily_bars, *indicators], checks, job, schedule)
