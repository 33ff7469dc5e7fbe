"""Indicator assets: the indicators the session configs declare, per trading day.

One asset per indicator name of an exchange's configs (``us_equity/avg_volume`` ...), built
through the indicator plugin as the daemon builds it (``host.create_indicator(type, name=...,
calendar=..., granularity=..., **params)``; the granularity in force is the config's, else the
type's default: ``plugins.interfaces.Indicator``) and stored with
``Store.upsert_indicator_values(values, DERIVED_SOURCE)`` under the name of the config key, so
an indicator name has one meaning in the daemon and in Dagster.

Granularity ``bar`` (streaming): partition ``D`` replays D's stored bars of the streamed
interval (over the streamed window: extended hours too when configured) through ``update``,
one instance per symbol, and stores the value returned for each symbol's last bar as of the
window's end: the daemon's end-of-day value.

Granularities ``daily``/``intraday`` (``compute``): partition ``D`` computes what the daemon's
historical-indicator phase needs for the *next* session ``D'``: the trailing ``period`` sessions ending with D (D included — exactly the days
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

from bisect import bisect_right
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
from plugins.interfaces import TrailingBars, indicator_granularity

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
    store: Store, catalog: ExchangeCatalog, spec: IndicatorSpec, trading_date: date, interval: str
) -> tuple[list[date], dict[str, TrailingBars]]:
    """The trailing ``interval`` bars of every symbol of ``spec`` (oldest first, grouped by
    trading day as the daemon passes them) and the days they cover."""
    days = history_days(catalog.calendar, trading_date, spec.trailing_days)
    windows = [day_window(catalog.calendar, d, interval) for d in days]
    bars = store.read_bars(
        list(spec.symbols), interval, windows[0][0], windows[-1][1], source=spec.source
    )
    grouped: dict[str, list[list[Bar]]] = {s: [[] for _ in days] for s in spec.symbols}
    starts = [lo for lo, _ in windows]
    for bar in bars:
        i = bisect_right(starts, bar.ts_event) - 1
        if i >= 0 and bar.ts_event < windows[i][1] and bar.symbol in grouped:
            grouped[bar.symbol][i].append(bar)
    history = {
        s: TrailingBars(list(zip(days, per_day, strict=True))) for s, per_day in grouped.items()
    }
    return days, history


def streamed_values(
    store: Store, catalog: ExchangeCatalog, spec: IndicatorSpec, trading_date: date, host: Any
) -> tuple[datetime, list[IndicatorValue]]:
    """Granularity ``bar``: the day's bars of the streamed interval replayed through ``update``
    (one instance per symbol, as the daemon does), the value returned for each symbol's last
    bar stored as of the day's end: what the daemon stores at its end of day."""
    load = catalog.load_for(spec.source)
    extended = load.extended_for(load.base_interval)
    start, end = day_window(
        catalog.calendar, trading_date, load.base_interval, extended if any(extended) else None
    )
    bars = store.read_bars(list(spec.symbols), load.base_interval, start, end, source=spec.source)
    by_symbol: dict[str, list[Bar]] = {s: [] for s in spec.symbols}
    for bar in bars:
        by_symbol.setdefault(bar.symbol, []).append(bar)
    values = []
    for symbol in spec.symbols:
        indicator = host.create_indicator(
            spec.type, name=spec.name, calendar=catalog.calendar, granularity="bar",
            **spec.plugin_params(),
        )  # fmt: skip
        value = None
        for bar in by_symbol[symbol]:
            value = indicator.update(bar)
        number = None if value is None else float(value)
        values.append(
            IndicatorValue(
                spec.name, symbol, end, number, number is not None, len(by_symbol[symbol])
            )
        )
    return end, values


def compute_indicator(
    store: Store,
    catalog: ExchangeCatalog,
    spec: IndicatorSpec,
    trading_date: date,
    host: Any = None,
) -> IndicatorSummary:
    """Compute ``spec`` for ``trading_date`` and upsert the values: historical granularities
    for the session after it, ``bar`` for the day itself (module docstring). ``host``: the
    plugins (default: ``plugins.manager.load_plugins()``)."""
    from plugins.manager import load_plugins

    host = host if host is not None else load_plugins()
    where = f"historical.indicators.{spec.name}.granularity"
    granularity = indicator_granularity(host.indicators.get(spec.type), spec.granularity, where)
    if granularity == "bar":
        as_of, values = streamed_values(store, catalog, spec, trading_date, host)
        rows = store.upsert_indicator_values(values, DERIVED_SOURCE)
        return IndicatorSummary(rows, tuple(values), as_of, trading_date)
    interval = "1d" if granularity == "daily" else catalog.load_for(spec.source).base_interval
    indicator = host.create_indicator(
        spec.type, name=spec.name, calendar=catalog.calendar, granularity=granularity,
        **spec.plugin_params(),
    )  # fmt: skip
    as_of = indicator_as_of(catalog.calendar, trading_date)
    days, history = indicator_history(store, catalog, spec, trading_date, interval)
    values: list[IndicatorValue] = []
    for symbol in spec.symbols:
        values.extend(indicator.compute(symbol, history[symbol], as_of))
    rows = store.upsert_indicator_values(values, DERIVED_SOURCE)
    return IndicatorSummary(rows, tuple(values), as_of, days[0])


def build_indicator_assets(
    catalog: ExchangeCatalog,
    partitions_def: PartitionsDefinition,
    upstream: Sequence[AssetKey],
    pool: str | None,
    host: Any = None,
) -> list[AssetsDefinition]:
    """One asset per indicator of ``catalog``, downstream of ``upstream`` (the bar assets);
    ``host`` the plugins its types come from (default: loaded when the asset runs)."""
    return [
        _indicator_asset(catalog, spec, partitions_def, upstream, pool, host)
        for spec in catalog.indicators
    ]


def _indicator_asset(
    catalog: ExchangeCatalog,
    spec: IndicatorSpec,
    partitions_def: PartitionsDefinition,
    upstream: Sequence[AssetKey],
    pool: str | None,
    host: Any,
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
            compute_indicator(store, catalog, spec, partition_date(key), host)
            for key in context.partition_keys
        ]
        metadata = summaries[-1].metadata(spec)
        metadata["rows_written"] = sum(s.rows_written for s in summaries)
        metadata["trading_days"] = len(summaries)
        return MaterializeResult(metadata=metadata)

    return _indicator
