"""The sessiond Dagster code location (``[tool.dagster] module_name`` in pyproject.toml).

For every exchange calendar the session configs use (those in ``SESSIOND_CONFIG_DIR``, else
``session_configs/``), it registers the
trading-day partitioned assets (``<group>/historical_bars``, ``<group>/daily_bars``, one
asset per declared indicator), their checks, ``<group>_history_job`` and its after-close
schedule, plus ``history_run_failure_sensor``.

This is the only module that chooses resources by environment:

- ``store``: ``StoreResource(url=EnvVar("SESSIOND_DB_URL"))`` when the variable is set, else
  the settings default (``sqlite:///var/sessiond.db``).
- ``<name>_source`` for each ``data_api`` of the configs: the real plugin of that name, or,
  with ``SESSIOND_DAGSTER_DEPLOYMENT=local``, the offline ``synthetic`` plugin standing in for
  every network vendor (the bars are still stored under the config's source name, so the
  daemon finds them).
- the concurrency pool: SQLite allows one writer at a time, so every store-writing asset is
  in the pool :data:`SQLITE_POOL` (give it a limit of 1, see ``docs/operations.md``);
  PostgreSQL takes concurrent writers and gets no pool.

Importing this module reads the session configs and the calendars; it opens no connection and
loads no plugin.
"""

import os
from collections.abc import Mapping

from dagster import AssetChecksDefinition, AssetsDefinition, Definitions, EnvVar, ScheduleDefinition
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from orchestration.assets import build_exchange_definitions
from orchestration.catalog import ExchangeCatalog, load_catalogs
from orchestration.resources import DataSourceResource, StoreResource, source_resource_key
from orchestration.sensors import build_history_failure_sensor

DB_URL_ENV = "SESSIOND_DB_URL"
DEPLOYMENT_ENV = "SESSIOND_DAGSTER_DEPLOYMENT"
"""``production`` (default): the configured plugins; ``local``: offline stand-ins."""

SQLITE_POOL = "sessiond_sqlite_writes"
"""Dagster concurrency pool of the assets that write to a SQLite store."""

OFFLINE_SOURCES = frozenset({"synthetic", "files"})
"""Plugins that need no network; a ``local`` deployment keeps them as configured."""


def store_resource(environ: Mapping[str, str] = os.environ) -> StoreResource:
    """The store: ``SESSIOND_DB_URL`` via ``EnvVar`` (resolved at run time, never stored in run
    config) when set, else the settings default."""
    if environ.get(DB_URL_ENV):
        return StoreResource(url=EnvVar(DB_URL_ENV))
    return StoreResource()


def store_pool(environ: Mapping[str, str] = os.environ) -> str | None:
    """:data:`SQLITE_POOL` unless ``SESSIOND_DB_URL`` points at PostgreSQL."""
    url = environ.get(DB_URL_ENV, "")
    return None if url.startswith(("postgresql", "postgres")) else SQLITE_POOL


def source_resources(
    catalogs: Mapping[str, ExchangeCatalog], deployment: str = "production"
) -> dict[str, DataSourceResource]:
    """``<name>_source`` for every data source the configs name (see module docstring)."""
    names = sorted({load.name for catalog in catalogs.values() for load in catalog.loads})
    resources: dict[str, DataSourceResource] = {}
    for name in names:
        plugin = name if deployment != "local" or name in OFFLINE_SOURCES else "synthetic"
        resources[source_resource_key(name)] = DataSourceResource(plugin=plugin)
    return resources


def build_definitions(
    catalogs: Mapping[str, ExchangeCatalog],
    *,
    resources: Mapping[str, object],
    pool: str | None,
) -> Definitions:
    """Assets, checks, jobs, schedules and the failure sensor of ``catalogs``."""
    assets: list[AssetsDefinition] = []
    checks: list[AssetChecksDefinition] = []
    jobs: list[UnresolvedAssetJobDefinition] = []
    schedules: list[ScheduleDefinition] = []
    for catalog in catalogs.values():
        exchange = build_exchange_definitions(catalog, pool)
        assets.extend(exchange.assets)
        checks.extend(exchange.checks)
        jobs.append(exchange.job)
        schedules.append(exchange.schedule)
    sensors = [build_history_failure_sensor(jobs)] if jobs else []
    return Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources=dict(resources),
    )


def _definitions() -> Definitions:
    catalogs = load_catalogs()
    deployment = os.environ.get(DEPLOYMENT_ENV, "production")
    resources: dict[str, object] = {
        "store": store_resource(),
        **source_resources(catalogs, deployment),
    }
    return build_definitions(catalogs, resources=resources, pool=store_pool())


defs = _definitions()
