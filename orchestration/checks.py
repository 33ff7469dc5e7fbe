"""Asset checks on the stored bars of one trading day, named as the assertions they make.

- ``bars_have_no_gaps``: every bar the calendar expects is there (``core.quality.find_gaps``:
  the lunch break and the minutes after an early close are not gaps). Regular-session bars
  only: US pre-/post-market bars (loaded for configs that include them) are not expected
  minutes, so neither their absence nor their presence is judged. Blocking.
- ``ohlc_is_consistent``: ``low <= open, close <= high`` and ``volume >= 0``. Blocking.
- ``prices_within_daily_limits`` (Vietnamese boards only): every high and low inside the day's
  ceiling and floor, computed from the reference price (the previous session's close; UPCoM:
  its volume-weighted average) and rounded inward to the tick.
- ``no_duplicate_bars``: one bar per symbol and interval bucket (a misaligned vendor timestamp
  such as 14:30:30 next to 14:30:00 slips past the store's unique key but is a duplicate).

The OHLC and duplicate checks read what the asset loaded: the regular session plus the
extended phases the load includes for the interval (``SourceLoad.extended_hours``).

Each check has three layers: a pure function over a bars DataFrame (``find_*``), an
``evaluate_*`` function that reads one partition from the store and returns the
``AssetCheckResult`` with the failing values in metadata, and the Dagster check built by
:func:`build_bar_checks`. Blocking checks that fail stop the indicator assets of the partition.
"""

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetKey,
    MetadataValue,
    PartitionsDefinition,
    asset_check,
)
from dagster._utils.warnings import PreviewWarning

from core import calendars
from core.boards import board_rules, tick_size
from core.errors import CalendarError
from core.quality import find_gaps
from core.resample import bar_buckets
from core.timeframes import parse_interval
from orchestration.catalog import ExchangeCatalog
from orchestration.partitions import partition_date
from orchestration.previews import BAR_COLUMNS, preview_table, timestamp
from orchestration.resources import StoreResource
from plugins.history import day_window

SAMPLE_SIZE = 20
"""How many failing values a check lists in its metadata."""

# ---------------------------------------------------------------------------------------------
# Daily price limits (reference/vietnam_market.md §3, §4)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceLimitRule:
    """Daily band of a board: ``limit`` is the fraction of the reference price (0.07 = ±7 %);
    ``reference`` is ``close`` (previous close) or ``vwap`` (previous volume-weighted price)."""

    limit: float
    reference: str


def _limit(calendar: str) -> float:
    limit_pct = board_rules(calendar).limit_pct
    assert limit_pct is not None, f"{calendar} has no daily limit"
    return limit_pct / 100


PRICE_LIMIT_RULES: dict[str, PriceLimitRule] = {
    "XSTC": PriceLimitRule(_limit("XSTC"), "close"),
    "XHNX": PriceLimitRule(_limit("XHNX"), "close"),
    "UPCOM": PriceLimitRule(_limit("UPCOM"), "vwap"),
    "VN30F": PriceLimitRule(_limit("VN30F"), "close"),
}
"""Boards with daily price limits (normal days). VN30 futures reference the previous
settlement price; the previous close stands in for it."""


_FUTURES_SYMBOL = re.compile(r"^(VN30F|41I1)", re.IGNORECASE)
"""VN30 index futures codes (legacy ``VN30F2602``, alias ``VN30F1M``, KRX ``41I1G2000``)."""


def board_of(calendar: str, symbol: str) -> str:
    """The board whose limit rule applies to ``symbol`` on ``calendar``: VN30 futures listed in
    a stock session config (``VN30F1M`` on HOSE) follow the futures rule."""
    return "VN30F" if _FUTURES_SYMBOL.match(symbol) else calendar


def price_band(calendar: str, reference: float) -> tuple[float, float]:
    """``(floor, ceiling)`` for a day whose reference price is ``reference``.

    Ceiling = ref x (1 + limit) rounded down to the tick, floor = ref x (1 - limit) rounded up.
    Where the limit price crosses a HOSE tick band the smaller tick is used (the wider band),
    so a legal price is never reported.
    """
    rule = PRICE_LIMIT_RULES[calendar]
    raw_ceiling = reference * (1 + rule.limit)
    raw_floor = reference * (1 - rule.limit)
    ceiling_tick = min(tick_size(calendar, raw_ceiling), tick_size(calendar, reference))
    floor_tick = min(tick_size(calendar, raw_floor), tick_size(calendar, reference))
    ceiling = math.floor(raw_ceiling / ceiling_tick + 1e-9) * ceiling_tick
    floor = math.ceil(raw_floor / floor_tick - 1e-9) * floor_tick
    return round(floor, 6), round(ceiling, 6)


# ---------------------------------------------------------------------------------------------
# Pure functions over bar frames (columns of Store.read_bars_frame: symbol, ts, open, ...)
# ---------------------------------------------------------------------------------------------


def find_missing_bars(
    calendar: str, trading_date: date, frame: pd.DataFrame, symbols: Sequence[str], interval: str
) -> dict[str, list[datetime]]:
    """Per symbol of ``symbols``, the expected bar opens absent from ``frame`` (only symbols
    with gaps are returned; a symbol without any bar misses every expected bar)."""
    missing: dict[str, list[datetime]] = {}
    groups = {str(k): g for k, g in frame.groupby("symbol")} if len(frame) else {}
    for symbol in symbols:
        group = groups.get(symbol)
        times = [] if group is None else [ts.to_pydatetime() for ts in group["ts"]]
        gaps = find_gaps(calendar, trading_date, times, interval)
        if gaps:
            missing[symbol] = gaps
    return missing


def find_inconsistent_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows breaking ``low <= open, close <= high`` or ``volume >= 0`` (NaN prices count)."""
    if frame.empty:
        return frame
    ok = (
        (frame["low"] <= frame["open"])
        & (frame["low"] <= frame["close"])
        & (frame["open"] <= frame["high"])
        & (frame["close"] <= frame["high"])
        & (frame["low"] <= frame["high"])
        & (frame["volume"] >= 0)
    )
    return frame.loc[~ok]


def find_duplicate_bars(
    calendar: str, trading_date: date, frame: pd.DataFrame, interval: str
) -> pd.DataFrame:
    """Rows that share a symbol and an interval bucket of the session with another row.

    Buckets are the calendar's (aligned to the open and to the end of the lunch break); rows
    outside every bucket are bucketed by their own timestamp.
    """
    if frame.empty:
        return frame
    bounds = calendars.session_bounds(calendar, trading_date)
    starts = [start for start, _ in bar_buckets(bounds, interval)]
    start_index = pd.DatetimeIndex(starts)
    ts = pd.DatetimeIndex(frame["ts"])
    position = start_index.searchsorted(ts, side="right") - 1
    width = parse_interval(interval).timedelta
    bucket = [
        starts[p] if p >= 0 and t < starts[p] + width else t.to_pydatetime()
        for p, t in zip(position, ts, strict=True)
    ]
    keyed = frame.assign(bucket=bucket)
    duplicated = keyed.duplicated(subset=["symbol", "bucket"], keep=False)
    return keyed.loc[duplicated].sort_values(["symbol", "ts"])


def reference_prices(calendar: str, previous: pd.DataFrame) -> dict[str, float]:
    """Reference price per symbol from the previous session's bars (close of its last bar, or
    its volume-weighted average where the board's rule says so)."""
    if previous.empty:
        return {}
    references: dict[str, float] = {}
    for symbol, group in previous.sort_values("ts").groupby("symbol"):
        rule = PRICE_LIMIT_RULES[board_of(calendar, str(symbol))]
        if rule.reference == "vwap":
            price = group["vwap"].fillna(group["close"]) if "vwap" in group else group["close"]
            volume = group["volume"].clip(lower=0)
            total = float(volume.sum())
            references[str(symbol)] = (
                float((price * volume).sum() / total)
                if total > 0
                else float(group["close"].iloc[-1])
            )
        else:
            references[str(symbol)] = float(group["close"].iloc[-1])
    return references


def find_price_limit_breaches(
    calendar: str, frame: pd.DataFrame, references: Mapping[str, float]
) -> pd.DataFrame:
    """Rows whose high is above the ceiling or low below the floor (symbols with a reference)."""
    columns = [*BAR_COLUMNS, "reference", "floor", "ceiling"]
    if frame.empty or not references:
        return pd.DataFrame(columns=columns)
    bands = {s: price_band(board_of(calendar, s), ref) for s, ref in references.items()}
    known = frame[frame["symbol"].isin(list(bands))].copy()
    known["reference"] = known["symbol"].map(references)
    known["floor"] = known["symbol"].map({s: b[0] for s, b in bands.items()})
    known["ceiling"] = known["symbol"].map({s: b[1] for s, b in bands.items()})
    tolerance = 1e-9 * known["reference"].abs()
    beyond = (known["high"] > known["ceiling"] + tolerance) | (
        known["low"] < known["floor"] - tolerance
    )
    return known.loc[beyond, [c for c in columns if c in known.columns]]


# ---------------------------------------------------------------------------------------------
# Evaluation against the store (one partition)
# ---------------------------------------------------------------------------------------------


def _frames(
    store_resource: StoreResource,
    catalog: ExchangeCatalog,
    trading_date: date,
    extended: bool = True,
):
    """Yield ``(source, interval, symbols, frame)`` for each load of the day: bars of the
    regular session, and of the extended phases the load includes when ``extended``."""
    store = store_resource.open()
    bounds = calendars.session_bounds(catalog.calendar, trading_date)
    for load in catalog.loads:
        for interval, symbols in load.symbols_by_interval:
            flags = load.extended_for(interval)
            start, end = (
                day_window(catalog.calendar, trading_date, interval, flags)
                if extended and any(flags)
                else (bounds.open, bounds.close)
            )
            frame = store.read_bars_frame(list(symbols), interval, start, end, source=load.name)
            yield load.name, interval, symbols, frame


def _first(values: Sequence[datetime]) -> Any:
    return timestamp(min(values) if values else None)


def evaluate_bars_have_no_gaps(
    store: StoreResource, catalog: ExchangeCatalog, trading_date: date
) -> AssetCheckResult:
    """Missing bars per symbol and interval of one trading day (regular session only)."""
    missing_total = 0
    per_symbol: dict[str, int] = {}
    first_gaps: list[datetime] = []
    sample: list[str] = []
    for source, interval, symbols, frame in _frames(store, catalog, trading_date, extended=False):
        for symbol, gaps in find_missing_bars(
            catalog.calendar, trading_date, frame, symbols, interval
        ).items():
            missing_total += len(gaps)
            per_symbol[f"{symbol} {interval} ({source})"] = len(gaps)
            first_gaps.append(gaps[0])
            sample.extend(
                f"{symbol} {interval} {ts.isoformat()}" for ts in gaps[: SAMPLE_SIZE - len(sample)]
            )
    return AssetCheckResult(
        passed=missing_total == 0,
        metadata={
            "missing_bars": missing_total,
            "symbols_with_gaps": len(per_symbol),
            "first_gap": _first(first_gaps),
            "missing_per_symbol": MetadataValue.json(per_symbol),
            "sample": MetadataValue.json(sample),
        },
        description=(
            f"{missing_total} expected bars missing on {trading_date}" if missing_total else None
        ),
    )


def evaluate_ohlc_is_consistent(
    store: StoreResource, catalog: ExchangeCatalog, trading_date: date
) -> AssetCheckResult:
    """Bars breaking OHLC ordering or with negative volume."""
    bad = [
        frame_bad
        for *_, frame in _frames(store, catalog, trading_date)
        if not (frame_bad := find_inconsistent_bars(frame)).empty
    ]
    found = pd.concat(bad) if bad else pd.DataFrame(columns=list(BAR_COLUMNS))
    return AssetCheckResult(
        passed=found.empty,
        metadata={
            "inconsistent_bars": len(found),
            "symbols": MetadataValue.json(sorted(set(found["symbol"]))),
            "first_inconsistent": timestamp(found["ts"].min() if len(found) else None),
            "preview": preview_table(found, BAR_COLUMNS, SAMPLE_SIZE),
        },
        description=f"{len(found)} bars with inconsistent OHLC or volume" if len(found) else None,
    )


def evaluate_no_duplicate_bars(
    store: StoreResource, catalog: ExchangeCatalog, trading_date: date
) -> AssetCheckResult:
    """Bars sharing a symbol and interval bucket."""
    found_parts = []
    for _source, interval, _symbols, frame in _frames(store, catalog, trading_date):
        dupes = find_duplicate_bars(catalog.calendar, trading_date, frame, interval)
        if not dupes.empty:
            found_parts.append(dupes.assign(interval=interval))
    found = (
        pd.concat(found_parts) if found_parts else pd.DataFrame(columns=[*BAR_COLUMNS, "interval"])
    )
    return AssetCheckResult(
        passed=found.empty,
        metadata={
            "duplicate_bars": len(found),
            "symbols": MetadataValue.json(sorted(set(found["symbol"]))),
            "first_duplicate": timestamp(found["ts"].min() if len(found) else None),
            "preview": preview_table(found, ["symbol", "interval", *BAR_COLUMNS[1:]], SAMPLE_SIZE),
        },
        description=f"{len(found)} bars share a bucket with another bar" if len(found) else None,
    )


def evaluate_prices_within_daily_limits(
    store: StoreResource, catalog: ExchangeCatalog, trading_date: date
) -> AssetCheckResult:
    """Bars outside the day's ceiling/floor; symbols without a reference price are listed."""
    opened = store.open()
    bounds = calendars.session_bounds(catalog.calendar, trading_date)
    try:
        previous_day: date | None = calendars.previous_session(catalog.calendar, trading_date)
    except CalendarError:  # the calendar's first known session: no reference day
        previous_day = None
    found_parts = []
    unchecked: set[str] = set()
    checked: set[str] = set()
    for load in catalog.loads:
        references: dict[str, float] = {}
        if previous_day is not None:
            previous_bounds = calendars.session_bounds(catalog.calendar, previous_day)
            previous = opened.read_bars_frame(
                list(load.symbols),
                load.base_interval,
                previous_bounds.open,
                previous_bounds.close,
                source=load.name,
            )
            references = reference_prices(catalog.calendar, previous)
        unchecked.update(s for s in load.symbols if s not in references)
        checked.update(references)
        for interval, symbols in load.symbols_by_interval:
            frame = opened.read_bars_frame(
                list(symbols), interval, bounds.open, bounds.close, source=load.name
            )
            breaches = find_price_limit_breaches(catalog.calendar, frame, references)
            if not breaches.empty:
                found_parts.append(breaches)
    found = (
        pd.concat(found_parts)
        if found_parts
        else pd.DataFrame(columns=[*BAR_COLUMNS, "reference", "floor", "ceiling"])
    )
    limit = PRICE_LIMIT_RULES[catalog.calendar].limit
    return AssetCheckResult(
        passed=found.empty,
        metadata={
            "bars_beyond_limits": len(found),
            "symbols": MetadataValue.json(sorted(set(found["symbol"]))),
            "limit_pct": limit * 100,
            "checked_symbols": len(checked),
            "unchecked_symbols": MetadataValue.json(sorted(unchecked)),
            "reference_session": previous_day.isoformat() if previous_day else "",
            "preview": preview_table(
                found,
                [*BAR_COLUMNS[:2], "high", "low", "reference", "floor", "ceiling"],
                SAMPLE_SIZE,
            ),
        },
        description=(
            f"{len(found)} bars beyond ±{limit:.0%} of the reference price"
            if len(found)
            else (
                f"no reference price (session {previous_day or 'before the calendar'} not "
                f"loaded) for {', '.join(sorted(unchecked))}"
                if unchecked
                else None
            )
        ),
    )


# ---------------------------------------------------------------------------------------------
# Dagster checks
# ---------------------------------------------------------------------------------------------

BLOCKING_CHECKS = ("bars_have_no_gaps", "ohlc_is_consistent")


def combine_results(results: Mapping[date, AssetCheckResult]) -> AssetCheckResult:
    """One result for a range of trading days (a single-run backfill): passed when every day
    passed; the metadata of the first failing day (else the last day) plus the failing days."""
    if len(results) == 1:
        return next(iter(results.values()))
    failed = [day for day, result in results.items() if not result.passed]
    shown = results[failed[0]] if failed else results[max(results)]
    metadata: dict[str, Any] = dict(shown.metadata or {})
    metadata["days_checked"] = len(results)
    metadata["failed_days"] = MetadataValue.json([day.isoformat() for day in failed])
    description = (
        f"{len(failed)} of {len(results)} trading days failed; first {failed[0]}: {shown.description}"
        if failed
        else None
    )
    return AssetCheckResult(passed=not failed, metadata=metadata, description=description)


def build_bar_checks(
    catalog: ExchangeCatalog, asset_key: AssetKey, partitions_def: PartitionsDefinition
) -> list[AssetChecksDefinition]:
    """The checks of ``asset_key`` (one exchange's historical bars) for ``catalog``."""
    evaluators = {
        "bars_have_no_gaps": (
            evaluate_bars_have_no_gaps,
            "Every bar the exchange calendar expects for the trading day is stored (lunch breaks and early closes are not gaps).",
        ),
        "ohlc_is_consistent": (
            evaluate_ohlc_is_consistent,
            "Every bar has low <= open, close <= high and a non-negative volume.",
        ),
        "no_duplicate_bars": (
            evaluate_no_duplicate_bars,
            "At most one bar per symbol, interval and interval bucket of the session.",
        ),
    }
    if catalog.calendar in PRICE_LIMIT_RULES:
        evaluators["prices_within_daily_limits"] = (
            evaluate_prices_within_daily_limits,
            "Every high and low is inside the day's ceiling and floor from the reference price.",
        )
    checks = []
    for name, (evaluate, description) in evaluators.items():
        checks.append(_check(name, evaluate, description, catalog, asset_key, partitions_def))
    return checks


def _check(
    name, evaluate, description, catalog, asset_key, partitions_def
) -> AssetChecksDefinition:
    def _evaluate(context: AssetCheckExecutionContext, store: StoreResource) -> AssetCheckResult:
        days = [partition_date(key) for key in context.partition_keys]
        return combine_results({day: evaluate(store, catalog, day) for day in days})

    with warnings.catch_warnings():
        # partitioned checks are a "preview" feature in Dagster 1.13; they are what makes a
        # check evaluate the same trading day as the asset it guards
        warnings.simplefilter("ignore", PreviewWarning)
        return asset_check(
            asset=asset_key,
            name=name,
            description=description,
            blocking=name in BLOCKING_CHECKS,
            partitions_def=partitions_def,
        )(_evaluate)


__all__ = [
    "PRICE_LIMIT_RULES",
    "build_bar_checks",
    "evaluate_bars_have_no_gaps",
    "evaluate_no_duplicate_bars",
    "evaluate_ohlc_is_consistent",
    "evaluate_prices_within_daily_limits",
    "find_duplicate_bars",
    "find_inconsistent_bars",
    "find_missing_bars",
    "find_price_limit_breaches",
    "price_band",
    "reference_prices",
    "tick_size",
]
