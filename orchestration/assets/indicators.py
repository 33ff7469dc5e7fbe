"""Indicator assets: the historical indicators the session configs declare, per trading day.

One asset per indicator name of an exchange's configs (``us_equity/avg_volume`` ...), built
through the indicator plugin (``host.create_indicator(type, name=..., calendar=..., **params)``,
the call the daemon makes) and stored with ``Store.upsert_indicator_values(values,
DERIVED_SOURCE)`` under the name of the config key.

Partition ``D`` computes what the daemon's historical-indicator phase needs for the *next*
session ``D'``: the trailing ``period`` sessions ending with D (D included — exactly the days
strictly before D'), ``as_of`` = the open of D'. The stored rows therefore have the daemon's
keys (name, symbol, as_of, minute of day, source ``"sessiond"``) and values, so the daemon
finds them with ``Store.read_indicator_values(name, symbols, open, open, source="sessiond")``
and re-computing them writes the same rows. Daily-granularity indicators read the stored
``1d`` bars (``daily_bars``), intraday ones the smallest-interval bars (one value per minute of
the trading day). Missing history makes a value incomplete (``complete=False``), never an
error. On the calendar's last known session (no next session) ``as_of`` is D's close.

Each indicator asset depends on ``daily_bars`` and so on ``historical_bars``: when a blocking
check of ``historical_bars`` fails, the indicators of that partition do not run.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from core import calendars
from core.errors import CalendarError
from core.models import Bar, IndicatorValue
from core.store import Store
from orchestration.catalog import ExchangeCatalog, IndicatorSpec
from orchestration.partitions import partition_date
from orchestration.previews import preview_table, timestamp
from plugins.history import day_window

DERIVED_SOURCE = "sessiond"
"""``source`` of derived rows (indicator values), the same as the daemon's."""


@dataclass(frozen=True, slots=True)
class IndicatorSummary:
    """What an indicator asset wrote for one trading day."""

    rows_written: int
    values: tuple[IndicatorValue, ...]
    as_of: datetime
    first_day: date

    def metadata(self, spec: IndicatorSpec) -> dict[str, Any]:
        import pandas as pd

        daily = [v for v in self.values if v.minute_of_day in (None, 0)]
        preview = pd.DataFrame(
            {
                "symbol": [v.symbol for v in daily],
                "value": [v.value for v in daily],
                "complete": [v.complete for v in daily],
                "observations": [v.observations for v in daily],
            }
        )
        return {
            "dagster/row_count": len(self.values),
            "rows_written": self.rows_written,
            "symbols": MetadataValue.json(sorted({v.symbol for v in self.values})),
            "as_of": timestamp(self.as_of),
            "history_from": self.first_day.isoformat(),
            "type": spec.type,
            "params": MetadataValue.json(spec.params_dict()),
            "incomplete_values": sum(1 for v in self.values if not v.complete),
            "preview": preview_table(preview),
        }


def history_days(calendar: str, trading_date: date, trailing_days: int) -> list[date]:
    """The ``trailing_days`` sessions ending with ``trading_date`` (fewer at the calendar's
    start)."""
    first = trading_date
    for _ in range(trailing_days - 1):
        try:
            first = calendars.previous_session(calendar, first)
        except CalendarError:
            break
    return calendars.sessions_in_range(calendar, first, trading_date)


def indicator_as_of(calendar: str, trading_date: date) -> datetime:
    """The open of the session after ``trading_date`` (its close on the last known session)."""
    try:
        following = calendars.next_session(calendar, trading_date)
    except CalendarError:
        return calendars.session_bounds(calendar, trading_date).close
    return calendars.session_bounds(calendar, following).open


def indicator_history(
    store: Store, catalog: ExchangeCatalog, spec: IndicatorSpec, trading_date: date
) -> tuple[list[date], dict[str, list[Bar]]]:
    """The trailing bars of every symbol of ``spec`` (oldest first) and the days they cover."""
    days = history_days(catalog.calendar, trading_date, spec.trailing_days)
    interval = "1d" if spec.granularity == "daily" else catalog.load_for(spec.source).base_interval
    start, _ = day_window(catalog.calendar, days[0], interval)
    _, end = day_window(catalog.calendar, days[-1], interval)
    bars = store.read_bars(list(spec.symbols), interval, start, end, source=spec.source)
    by_symbol: dict[str, list[Bar]] = {s: [] for s in spec.symbols}
    for bar in bars:
        by_symbol.setdefault(bar.symbol, []).append(bar)
    return days, by_symbol


def compute_indicator(
    store: Store, catalog: ExchangeCatalog, spec: IndicatorSpec, trading_date: date
) -> IndicatorSummary:
    """Compute ``spec`` for the session after ``trading_date`` and upsert the values."""
    from plugins.manager import load_plugins

    params = {"calendar": catalog.calendar, **spec.params_dict()}
    indicator = load_plugins().create_indicator(spec.type, name=spec.name, **params)
    as_of = indicator_as_of(catalog.calendar, trading_date)
    days, history = indicator_history(store, catalog, spec, trading_date)
    values: list[IndicatorValue] = []
    for symbol in spec.symbols:
        values.extend(indicator.compute(symbol, history.get(symbol, []), as_of))
    rows = store.upsert_indicator_values(values, DERIVED_SOURCE)
    return IndicatorSummary(rows, tuple(values), as_of, days[0])


def build_indicator_assets(
    catalog: ExchangeCatalog,
    partitions_def: PartitionsDefinition,
    upstream: Sequence[AssetKey],
    pool: str | None,
) -> list[AssetsDefinition]:
    """One asset per indicator of ``catalog``, downstream of ``upstream`` (the bar assets)."""
    return [
        _indicator_asset(catalog, spec, partitions_def, upstream, pool)
        for spec in catalog.indicators
    ]


def _indicator_asset(
    catalog: ExchangeCatalog,
    spec: IndicatorSpec,
    partitions_def: PartitionsDefinition,
    upstream: Sequence[AssetKey],
    pool: str | None,
) -> AssetsDefinition:
    params = ", ".join(f"{k}={v}" for k, v in spec.params)

    @asset(
        name=spec.name,
        key_prefix=[catalog.key_prefix],
        group_name=catalog.key_prefix,
        partitions_def=partitions_def,
        deps=list(upstream),
        required_resource_keys={"store"},
        backfill_policy=BackfillPolicy.single_run(),
        pool=pool,
        kinds={"python", "sql"},
        description=(
            f"{spec.type} ({params}) of {len(spec.symbols)} {catalog.exchange_group} symbols as of "
            f"the close of each trading day, from {spec.source} bars; read by the daemon's "
            "historical-indicator phase."
        ),
        metadata={"indicator_type": spec.type, "source": spec.source},
    )
    def _indicator(context: AssetExecutionContext) -> MaterializeResult:
        store = context.resources.store.open()
        summaries = [
            compute_indicator(store, catalog, spec, partition_date(key))
            for key in context.partition_keys
        ]
        metadata = summaries[-1].metadata(spec)
        metadata["rows_written"] = sum(s.rows_written for s in summaries)
        metadata["trading_days"] = len(summaries)
        return MaterializeResult(metadata=metadata)

    return _indicator
