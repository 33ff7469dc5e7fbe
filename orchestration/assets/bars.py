"""Bar assets of one exchange, partitioned by trading day.

- ``historical_bars``: the intraday bars (every symbol and interval the session configs of the
  exchange need) of one trading day, fetched through each configured data-source plugin by
  ``plugins.history.load_history`` — the code path the daemon and ``sessiond load`` use — and
  upserted into the store. Upserts are keyed by (source, symbol, interval, ts), so
  re-materializing a partition rewrites the same rows and changes no count. An interval the
  configs stream with US extended hours (``SourceLoad.extended_hours``) is loaded over the
  included pre-/post-market phases too (``load_history(extended_hours=...)``), and the source
  is created with those phases when its plugin takes ``extended_hours`` (Alpaca), as the
  daemon's ``plugins.history.source_for_config`` does.
- ``daily_bars``: one session-aligned ``1d`` bar per symbol and source, built from that day's
  smallest-interval bars of the regular session by ``core.resample`` — the rule the daemon's
  generated ``1d`` bars follow (extended-hours bars are left out; open of the first, max high,
  min low, close of the last, summed volume, the sum of the known trade counts, volume-weighted
  vwap) — stamped at the session open (a bar's
  ``ts_event`` is its open; it falls on the trading date both in UTC, where
  ``plugins.history.day_window`` looks for daily bars, and in exchange time, where indicators
  assign bars to days). A stored ``1d`` bar of the same source is replaced.

The computations are plain functions (``load_historical_bars``, ``build_daily_bars``) over a
store and sources; the Dagster assets wrap them and report metadata: rows written, symbols,
first/last bar and a Markdown preview.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    RetryPolicy,
    asset,
)

from core import calendars
from core.errors import SessiondError, SourceError
from core.resample import resample
from core.store import Store, bars_frame
from orchestration.catalog import ExchangeCatalog
from orchestration.partitions import partition_date
from orchestration.previews import BAR_COLUMNS, preview_table, timestamp
from orchestration.resources import DataSourceResource, source_resource_key
from plugins.history import day_window, load_history


@dataclass(frozen=True, slots=True)
class BarsSummary:
    """What a bar asset wrote for one trading day (becomes materialization metadata)."""

    rows_written: int
    symbols: tuple[str, ...]
    first_bar: datetime | None
    last_bar: datetime | None
    preview: Any
    """``MetadataValue.table`` of the first bars."""
    stored_rows: int
    extra: tuple[tuple[str, Any], ...] = ()

    def metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "dagster/row_count": self.stored_rows,
            "rows_written": self.rows_written,
            "symbols": MetadataValue.json(list(self.symbols)),
            "symbol_count": len(self.symbols),
            "preview": self.preview,
        }
        if self.first_bar is not None and self.last_bar is not None:
            data["first_bar"] = timestamp(self.first_bar)
            data["last_bar"] = timestamp(self.last_bar)
        data.update(dict(self.extra))
        return data


def _summary(
    rows_written: int, frames: list[pd.DataFrame], extra: Mapping[str, Any]
) -> BarsSummary:
    frame = pd.concat(frames) if frames else pd.DataFrame(columns=list(BAR_COLUMNS))
    ordered = frame.sort_values(["ts", "symbol"]) if len(frame) else frame
    return BarsSummary(
        rows_written=rows_written,
        symbols=tuple(sorted(set(frame["symbol"]))),
        first_bar=ordered["ts"].iloc[0].to_pydatetime() if len(frame) else None,
        last_bar=ordered["ts"].iloc[-1].to_pydatetime() if len(frame) else None,
        preview=preview_table(ordered, BAR_COLUMNS),
        stored_rows=len(frame),
        extra=tuple(extra.items()),
    )


def combine_summaries(summaries: Sequence[BarsSummary]) -> BarsSummary:
    """One summary for a range of trading days (sums, first bar of the first day, last bar and
    preview of the last day)."""
    if len(summaries) == 1:
        return summaries[0]
    first, last = summaries[0], summaries[-1]
    return BarsSummary(
        rows_written=sum(s.rows_written for s in summaries),
        symbols=tuple(sorted({sym for s in summaries for sym in s.symbols})),
        first_bar=first.first_bar,
        last_bar=last.last_bar,
        preview=last.preview,
        stored_rows=sum(s.stored_rows for s in summaries),
        extra=(*last.extra, ("trading_days", len(summaries))),
    )


def load_historical_bars(
    store: Store,
    sources: Mapping[str, DataSourceResource],
    catalog: ExchangeCatalog,
    trading_date: date,
    only_missing: bool = False,
) -> BarsSummary:
    """Fetch and upsert every load of ``catalog`` for ``trading_date``; ``sources`` maps a
    config's data-source name to its resource. Raises ``SourceError`` when a source fails.

    ``only_missing=False`` (a materialization) re-fetches and upserts the whole day;
    ``True`` (a retry) skips what the store already holds. The summary's rows, first and last
    bar are the base interval's over the loaded window (extended phases included)."""
    rows = fetched = 0
    frames: list[pd.DataFrame] = []
    for load in catalog.loads:
        resource = sources[load.name]
        defaults = load.options_dict()
        pre, post = load.extended_union
        if (pre or post) and resource.takes_option("extended_hours"):
            defaults.setdefault("extended_hours", {"pre_market": pre, "post_market": post})
        source = resource.create_source(exchange=catalog.calendar, defaults=defaults)
        try:
            for interval, symbols in load.symbols_by_interval:
                extended = load.extended_for(interval)
                report = load_history(
                    store,
                    source,
                    source_name=load.name,
                    calendar=catalog.calendar,
                    symbols=symbols,
                    intervals=[interval],
                    start=trading_date,
                    end=trading_date,
                    only_missing=only_missing,
                    extended_hours=extended if any(extended) else None,
                )
                rows += report.rows_written
                fetched += report.days_fetched
        finally:
            close = getattr(source, "close", None)
            if callable(close):
                close()
        extended = load.extended_for(load.base_interval)
        start, end = day_window(
            catalog.calendar,
            trading_date,
            load.base_interval,
            extended if any(extended) else None,
        )
        frames.append(
            store.read_bars_frame(
                list(load.symbols), load.base_interval, start, end, source=load.name
            )
        )
    return _summary(
        rows,
        frames,
        {
            "sources": MetadataValue.json([load.name for load in catalog.loads]),
            "intervals": MetadataValue.json(
                sorted({i for load in catalog.loads for i in load.intervals})
            ),
            "symbol_days_fetched": fetched,
        },
    )


def build_daily_bars(store: Store, catalog: ExchangeCatalog, trading_date: date) -> BarsSummary:
    """Build and upsert the ``1d`` bars of ``trading_date`` from the stored intraday bars: the
    regular session's smallest-interval bars resampled by ``core.resample`` (the daemon's
    rule for a generated ``1d`` bar, ``trade_count`` included)."""
    window = calendars.session_bounds(catalog.calendar, trading_date)
    rows = 0
    frames: list[pd.DataFrame] = []
    for load in catalog.loads:
        intraday = store.read_bar_columns(
            list(load.symbols), load.base_interval, window.open, window.close, source=load.name
        )
        daily = resample(intraday, "1d", window)
        rows += store.upsert_bars(bar for block in daily for bar in block.to_bars())
        frames.append(bars_frame(daily))
    return _summary(
        rows,
        frames,
        {"built_from": MetadataValue.json([load.base_interval for load in catalog.loads])},
    )


def build_bar_assets(
    catalog: ExchangeCatalog, partitions_def: PartitionsDefinition, pool: str | None
) -> tuple[AssetsDefinition, AssetsDefinition]:
    """``historical_bars`` and ``daily_bars`` of one exchange (keys prefixed by the group)."""
    prefix = catalog.key_prefix
    source_keys = {load.name: source_resource_key(load.name) for load in catalog.loads}
    retry = RetryPolicy(max_retries=catalog.max_retries, delay=catalog.retry_interval_seconds)
    symbols = sorted({s for load in catalog.loads for s in load.symbols})

    @asset(
        name="historical_bars",
        key_prefix=[prefix],
        group_name=prefix,
        partitions_def=partitions_def,
        required_resource_keys={"store", *source_keys.values()},
        retry_policy=retry,
        backfill_policy=BackfillPolicy.single_run(),
        pool=pool,
        kinds={"python", "sql"},
        description=(
            f"Intraday bars ({', '.join(sorted({i for load in catalog.loads for i in load.intervals}))}) of "
            f"{len(symbols)} {catalog.exchange_group} symbols for one trading day, fetched from "
            f"{', '.join(source_keys)} and upserted into the sessiond store."
        ),
        metadata={
            "calendar": catalog.calendar,
            "session_configs": MetadataValue.json(list(catalog.config_files)),
        },
    )
    def historical_bars(context: AssetExecutionContext) -> MaterializeResult:
        sources = {name: getattr(context.resources, key) for name, key in source_keys.items()}
        store = context.resources.store.open()
        only_missing = context.retry_number > 0  # a retry keeps the days already loaded
        summaries = []
        for key in context.partition_keys:
            trading_date = partition_date(key)
            try:
                summaries.append(
                    load_historical_bars(store, sources, catalog, trading_date, only_missing)
                )
            except SourceError as error:
                attempt = context.retry_number + 1
                raise Failure(
                    description=(
                        f"{catalog.calendar} {trading_date}: {error} "
                        f"(attempt {attempt} of {catalog.max_retries + 1}; retried every "
                        f"{catalog.retry_interval_seconds:g}s as gap_filler configures)"
                    ),
                    allow_retries=True,
                ) from error
            except SessiondError as error:  # configuration or plugin problems: retrying cannot help
                raise Failure(
                    description=f"{catalog.calendar} {trading_date}: {error}", allow_retries=False
                ) from error
            context.log.info(
                f"{catalog.calendar} {key}: {summaries[-1].rows_written} bars upserted"
            )
        return MaterializeResult(metadata=combine_summaries(summaries).metadata())

    @asset(
        name="daily_bars",
        key_prefix=[prefix],
        group_name=prefix,
        partitions_def=partitions_def,
        deps=[historical_bars],
        required_resource_keys={"store"},
        backfill_policy=BackfillPolicy.single_run(),
        pool=pool,
        kinds={"python", "sql"},
        description=(
            f"One session-aligned daily bar per {catalog.exchange_group} symbol and trading day, "
            "built from that day's intraday bars."
        ),
    )
    def daily_bars(context: AssetExecutionContext) -> MaterializeResult:
        store = context.resources.store.open()
        summaries = [
            build_daily_bars(store, catalog, partition_date(key)) for key in context.partition_keys
        ]
        return MaterializeResult(metadata=combine_summaries(summaries).metadata())

    return historical_bars, daily_bars
