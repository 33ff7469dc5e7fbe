"""One asset job per exchange: its bars, daily bars, indicators and their checks, by trading day.

``<group>_history_job`` (``us_equity_history_job``, ``hose_history_job`` ...) selects the asset
group of one exchange (asset checks of selected assets come along) and shares its trading-day
partitions, so a run or a backfill targets exchange sessions only.
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from orchestration.catalog import ExchangeCatalog


def history_job_name(catalog: ExchangeCatalog) -> str:
    return f"{catalog.key_prefix}_history_job"


def build_history_job(catalog: ExchangeCatalog) -> UnresolvedAssetJobDefinition:
    """The job that materializes one exchange's trading day (its partitions come from the
    selected assets)."""
    return define_asset_job(
        name=history_job_name(catalog),
        selection=AssetSelection.groups(catalog.key_prefix),
        description=(
            f"Historical bars, daily bars and indicators of {catalog.exchange_group} "
            f"({catalog.calendar}) for one trading day, with their quality checks."
        ),
        tags={"calendar": catalog.calendar},
    )
