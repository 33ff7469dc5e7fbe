"""Fill the store with the historical bars a session needs, through a data source.

The single code path for history: the daemon's historical phase (and backtest queue loading),
``sessiond load`` and the Dagster historical-bar assets all call :func:`load_history`.

For each trading day of ``[start, end]`` on the calendar and each interval, it asks the store
which symbols already have bars of that day (``Store.bar_days``), requests the others from the
source — one ``request_bars`` call per (day, interval) for all symbols lacking it — and upserts
what comes back (idempotent, so a crash or a rerun neither duplicates nor loses rows).

A (symbol, interval, day) counts as present when the store holds at least one bar of it from
``source_name``; partial days are the quality check's business (gaps), not a reason to refetch.
With ``only_missing=False`` every day is fetched again and upserted over the stored rows.

Extended hours (US pre-market 04:00–09:30 ET, post-market 16:00–20:00 ET, 17:00 on early
closes; ``core.phases``): with ``extended_hours`` (a session config's
``session_data_config.extended_hours``, a mapping, or ``(pre, post)``) a day's intraday window
is :func:`day_segments` — the regular session plus each included extended phase — and each
extended segment is checked apart: a symbol with regular bars but none in an included
pre-market is fetched for the pre-market only. (A symbol that really had no pre-market trade
is therefore asked again on each load.) Calendars without such phases (Vietnam) are unchanged.
:func:`source_for_config` creates a config's data source through the plugin host with the
same flags when its constructor takes ``extended_hours`` (the Alpaca source does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core.calendars import exchange_timezone, session_bounds, sessions_in_range
from core.errors import ConfigError, SessiondError, SourceError
from core.models import Bar
from core.phases import phase_windows

ProgressCallback = Callable[[int, int], None]
"""``progress(done, total)`` in trading days, called after each day."""


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What a load did: bars upserted and (symbol, interval, day) units fetched or skipped."""

    rows_written: int = 0
    days_fetched: int = 0
    days_skipped: int = 0
    trading_days: int = 0

    def __add__(self, other: LoadReport) -> LoadReport:
        return LoadReport(
            self.rows_written + other.rows_written,
            self.days_fetched + other.days_fetched,
            self.days_skipped + other.days_skipped,
            self.trading_days + other.trading_days,
        )


ExtendedHoursLike = Any
"""``None`` (regular hours only), an object or mapping with ``pre_market``/``post_market``
booleans (``SessionConfig.session_data_config.extended_hours``), or a ``(pre, post)`` pair."""

REGULAR = "regular"
PRE_MARKET = "pre_market"
POST_MARKET = "post_market"


def extended_flags(extended_hours: ExtendedHoursLike) -> tuple[bool, bool]:
    """``(pre_market, post_market)`` of any :data:`ExtendedHoursLike` value."""
    if extended_hours is None:
        return False, False
    if isinstance(extended_hours, tuple):
        pre, post = extended_hours
        return bool(pre), bool(post)
    if isinstance(extended_hours, Mapping):
        return bool(extended_hours.get("pre_market")), bool(extended_hours.get("post_market"))
    return (
        bool(getattr(extended_hours, "pre_market", False)),
        bool(getattr(extended_hours, "post_market", False)),
    )


@dataclass(frozen=True, slots=True)
class DaySegment:
    """One part of a trading day's window: ``kind`` is ``regular`` (the session, lunch break
    included), ``pre_market`` or ``post_market``; ``[start, end)`` aware UTC."""

    kind: str
    start: datetime
    end: datetime


def day_segments(
    calendar: str, trading_date: date, extended_hours: ExtendedHoursLike = None
) -> tuple[DaySegment, ...]:
    """The regular session of ``trading_date`` and, in time order around it, the extended
    phases ``extended_hours`` includes (``core.phases`` windows: XNYS pre-market 04:00 ET to
    the open, post-market the close to 20:00 ET, 17:00 on early closes). Calendars without
    extended phases give the regular session only."""
    bounds = session_bounds(calendar, trading_date)
    regular = DaySegment(REGULAR, bounds.open, bounds.close)
    pre, post = extended_flags(extended_hours)
    if not (pre or post):
        return (regular,)
    before: list[DaySegment] = []
    after: list[DaySegment] = []
    for window in phase_windows(calendar, trading_date):
        kind = str(window.phase)
        if kind == PRE_MARKET and pre and window.end <= bounds.open:
            before.append(DaySegment(PRE_MARKET, window.start, window.end))
        elif kind == POST_MARKET and post and window.start >= bounds.close:
            after.append(DaySegment(POST_MARKET, window.start, window.end))
    return (*before, regular, *after)


def day_window(
    calendar: str, trading_date: date, interval: str, extended_hours: ExtendedHoursLike = None
) -> tuple[datetime, datetime]:
    """The UTC range holding a trading day's bars of ``interval``.

    Intraday intervals: ``[open, close)`` of the session, widened to the included extended
    phases (:func:`day_segments`). ``1d``: the exchange-local calendar day of the trading date
    (daily bars are stamped at the open by some vendors, at local midnight by others).
    """
    if interval == "1d":
        zone = exchange_timezone(calendar)
        start = datetime.combine(trading_date, time(0), tzinfo=zone)
        end = datetime.combine(trading_date + timedelta(days=1), time(0), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)
    if extended_hours is None:
        bounds = session_bounds(calendar, trading_date)
        return bounds.open, bounds.close
    segments = day_segments(calendar, trading_date, extended_hours)
    return segments[0].start, segments[-1].end


def source_for_config(host: Any, config: Any, **overrides: Any) -> Any:
    """The config's data source (``api_config.data_api`` with ``data_api_options``) created
    through ``host``, with ``extended_hours`` set to the config's
    ``session_data_config.extended_hours`` when the source's constructor names an
    ``extended_hours`` parameter and the options do not set it already."""
    import inspect

    name = config.api_config.data_api
    options = {**dict(config.api_config.data_api_options or {}), **overrides}
    cls = host.data_sources.get(name)
    if cls is not None and "extended_hours" not in options:
        try:
            accepts = "extended_hours" in inspect.signature(cls).parameters
        except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
            accepts = False
        if accepts:
            pre, post = extended_flags(config.session_data_config.extended_hours)
            options["extended_hours"] = {"pre_market": pre, "post_market": post}
    return host.create_source(name, exchange=config.calendar_name, **options)


def _present_symbols(
    store: Any,
    symbols: Sequence[str],
    interval: str,
    source_name: str,
    days: Sequence[date],
    calendar: str,
) -> dict[date, set[str]]:
    """For each day, the symbols the store already has bars for (one query per symbol)."""
    present: dict[date, set[str]] = {d: set() for d in days}
    if not days:
        return present
    first_start, _ = day_window(calendar, days[0], interval)
    _, last_end = day_window(calendar, days[-1], interval)
    # The store counts bars per UTC date; every calendar's session (and its daily bar) falls
    # on the UTC date of its open.
    keys = {d: session_bounds(calendar, d).open.date() for d in days}
    for symbol in symbols:
        counts = store.bar_days(symbol, interval, source_name, first_start, last_end)
        if not counts:
            continue
        for d, key in keys.items():
            if counts.get(key, 0) > 0:
                present[d].add(symbol)
    return present


def load_history(
    store: Any,
    source: Any,
    *,
    source_name: str,
    calendar: str,
    symbols: Sequence[str],
    intervals: Sequence[str],
    start: date,
    end: date,
    progress: ProgressCallback | None = None,
    only_missing: bool = True,
    extended_hours: ExtendedHoursLike = None,
) -> LoadReport:
    """Fetch through ``source`` whatever the store lacks for ``[start, end]`` and upsert it.

    ``source`` is a DataSource instance (``request_bars``); ``source_name`` is the ``source``
    column its bars are stored under; ``extended_hours`` widens intraday days to the included
    extended phases (module docstring). Returns a :class:`LoadReport`.
    """
    days = sessions_in_range(calendar, start, end) if start <= end else []
    symbols = sorted(set(symbols))
    intervals = list(dict.fromkeys(intervals))
    rows_written = fetched = skipped = 0
    present_by_interval: dict[str, dict[date, set[str]]] = {
        interval: (
            _present_symbols(store, symbols, interval, source_name, days, calendar)
            if only_missing
            else {d: set() for d in days}
        )
        for interval in intervals
    }
    for done, trading_date in enumerate(days, start=1):
        for interval in intervals:
            have = present_by_interval[interval][trading_date]
            segments = (
                day_segments(calendar, trading_date, extended_hours)
                if interval != "1d"
                else (DaySegment(REGULAR, *day_window(calendar, trading_date, interval)),)
            )
            # symbol -> the segments it lacks; symbols lacking the same ones share requests
            wanted: dict[tuple[DaySegment, ...], list[str]] = {}
            for symbol in symbols:
                lacking = tuple(
                    segment
                    for segment in segments
                    if not only_missing
                    or not (
                        symbol in have
                        if segment.kind == REGULAR
                        else store.count_bars(
                            symbol, interval, segment.start, segment.end, source=source_name
                        )
                    )
                )
                if lacking:
                    wanted.setdefault(lacking, []).append(symbol)
            missing_count = sum(len(group) for group in wanted.values())
            skipped += len(symbols) - missing_count
            for lacking, missing in wanted.items():
                for window_start, window_end in _ranges(lacking):
                    try:
                        bars = source.request_bars(missing, window_start, window_end, interval)
                        rows_written += store.upsert_bars(_stamped(bars, source_name))
                    except SessiondError:
                        raise
                    except Exception as error:  # a plugin bug or vendor failure: name it
                        raise SourceError(
                            f"data source {source_name!r} failed for {interval} bars of "
                            f"{trading_date.isoformat()} ({', '.join(missing)}): {error}"
                        ) from error
            fetched += missing_count
        if progress is not None:
            progress(done, len(days))
    return LoadReport(rows_written, fetched, skipped, len(days))


def _ranges(segments: Sequence[DaySegment]) -> list[tuple[datetime, datetime]]:
    """Adjacent segments merged into ``[start, end)`` ranges (one request each)."""
    ranges: list[tuple[datetime, datetime]] = []
    for segment in segments:
        if ranges and ranges[-1][1] == segment.start:
            ranges[-1] = (ranges[-1][0], segment.end)
        else:
            ranges.append((segment.start, segment.end))
    return ranges


def _stamped(bars: Iterable[Bar], source_name: str) -> Iterable[Bar]:
    """Bars with ``source`` set to ``source_name`` where the plugin left it empty."""
    from dataclasses import replace

    for bar in bars:
        yield bar if bar.source else replace(bar, source=source_name)


@dataclass(frozen=True, slots=True)
class HistoryNeed:
    """One load: ``intervals`` of ``symbols`` for the trading days ``[start, end]``, widened
    to the extended phases ``extended_hours`` includes (``None``: regular hours)."""

    symbols: tuple[str, ...]
    intervals: tuple[str, ...]
    start: date
    end: date
    extended_hours: tuple[bool, bool] | None = None


def history_plan(config: Any, start: date, end: date) -> list[HistoryNeed]:
    """What a session config needs stored to run the trading days ``[start, end]``.

    The streamed interval over the range (with the config's extended hours: the session
    streams them); each ``historical.data`` entry's intervals from
    ``trailing_days`` trading days before the first day; each historical indicator's bars
    (``1d`` for daily granularity, the streamed interval for intraday) from ``period`` trading
    days before (trailing history is regular hours only). Raises ``SessionError`` when the range holds no trading day.
    """
    from core.calendars import previous_session
    from core.errors import SessionError
    from core.timeframes import parse_period

    calendar = config.calendar_name
    days = sessions_in_range(calendar, start, end) if start <= end else []
    if not days:
        raise SessionError(
            f"no trading day of {calendar} between {start.isoformat()} and {end.isoformat()}"
        )
    first, last = days[0], days[-1]
    everyone = tuple(sorted(set(config.session_data_config.symbols)))
    streamed = config.streamed_interval
    needs: list[HistoryNeed] = []
    if streamed is not None:
        extended = extended_flags(config.session_data_config.extended_hours)
        needs.append(
            HistoryNeed(everyone, (streamed,), first, last, extended if any(extended) else None)
        )
    historical = config.session_data_config.historical
    for entry in historical.data:
        symbols = tuple(sorted(set(config.symbols_for(entry.apply_to))))
        back = previous_session(calendar, first, entry.trailing_days)
        needs.append(HistoryNeed(symbols, tuple(entry.intervals), back, last))
    for spec in historical.indicators.values():
        params = spec.params if hasattr(spec, "params") else dict(spec)
        try:  # trailing indicators have a period in trading days/weeks; streaming ones in bars
            period = parse_period(str(params.get("period")))
        except ConfigError:
            continue
        interval = "1d" if params.get("granularity", "daily") == "daily" else streamed
        if interval is None:
            continue
        back = previous_session(calendar, first, period.trading_days)
        needs.append(HistoryNeed(everyone, (interval,), back, last))
    return needs
