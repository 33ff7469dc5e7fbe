"""Fill the store with the historical bars a session needs, through a data source.

The single code path for history: the daemon's historical phase (and backtest queue loading),
``sessiond load`` and the Dagster historical-bar assets all call :func:`load_history`.

For each interval it asks the store, in one query (``Store.bar_counts``), which symbols already
have bars of each trading day of ``[start, end]`` on the calendar, requests the others from the
source — one ``request_bars`` call per (day, interval) for the symbols lacking the same parts
of the day — and upserts what comes back (idempotent, so a crash or a rerun neither duplicates
nor loses rows).

A (symbol, interval, day) counts as present when the store holds at least one bar of it from
``source_name``; partial days are the quality check's business (gaps), not a reason to refetch.
With ``only_missing=False`` every day is fetched again and upserted over the stored rows.

Extended hours (US pre-market 04:00–09:30 ET, post-market 16:00–20:00 ET, 17:00 on early
closes; ``core.phases``): with ``extended_hours`` (a session config's
``session_data_config.extended_hours``, a mapping, or ``(pre, post)``) a day's intraday window
is ``core.sessions.session_window`` — the regular session plus each included extended phase —
and each
extended segment is checked apart: a symbol with regular bars but none in an included
pre-market is fetched for the pre-market only. (A symbol that really had no pre-market trade
is therefore asked again on each load.) Calendars without such phases (Vietnam) are unchanged.
:func:`source_for_config` creates a config's data source through the plugin host with the
same flags when its constructor takes ``extended_hours`` (the Alpaca source does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core.calendars import exchange_timezone, sessions_in_range
from core.errors import ConfigError, SessiondError, SourceError
from core.models import Bar
from core.sessions import ExtendedHoursLike, extended_flags, session_window

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


def day_window(
    calendar: str, trading_date: date, interval: str, extended_hours: ExtendedHoursLike = None
) -> tuple[datetime, datetime]:
    """The UTC range holding a trading day's bars of ``interval``.

    Intraday intervals: ``[open, close)`` of the session, widened to the included extended
    phases (``core.sessions.session_window``). ``1d``: the exchange-local calendar day of the trading date
    (daily bars are stamped at the open by some vendors, at local midnight by others).
    """
    if interval == "1d":
        zone = exchange_timezone(calendar)
        start = datetime.combine(trading_date, time(0), tzinfo=zone)
        end = datetime.combine(trading_date + timedelta(days=1), time(0), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)
    window = session_window(calendar, trading_date, extended_hours)
    return window.start, window.end


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


def _units(
    calendar: str, trading_date: date, interval: str, extended_hours: ExtendedHoursLike
) -> tuple[tuple[datetime, datetime], ...]:
    """The parts of a day checked and fetched apart: the regular session (the local calendar
    day for ``1d``), then each included extended segment."""
    if interval == "1d":
        return (day_window(calendar, trading_date, interval),)
    window = session_window(calendar, trading_date, extended_hours)
    regular = ((window.open, window.close),)
    return regular + tuple((s.start, s.end) for s in window.extended_segments)


Request = tuple[list[date], list[str], tuple[int, ...]]
"""One ``request_bars`` call to make: its trading days, symbols, and the units (indexes into a
day's :func:`_units`) it asks for."""


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
    rows_written = fetched = skipped = 0
    plans: list[tuple[str, list[Request]]] = []
    for interval in dict.fromkeys(intervals):
        units = [_units(calendar, d, interval, extended_hours) for d in days]
        flat = [unit for day_units in units for unit in day_units]
        counts = (
            store.bar_counts(symbols, interval, flat, source=source_name) if only_missing else {}
        )
        lacking_by_day: list[dict[tuple[int, ...], list[str]]] = []
        offset = 0
        for day_units in units:  # per day: symbols grouped by the units they lack
            wanted: dict[tuple[int, ...], list[str]] = {}
            for symbol in symbols:
                lacking = tuple(
                    i for i in range(len(day_units)) if not counts.get((symbol, offset + i))
                )
                if lacking:
                    wanted.setdefault(lacking, []).append(symbol)
            lacking_by_day.append(wanted)
            missing = sum(len(group) for group in wanted.values())
            fetched += missing
            skipped += len(symbols) - missing
            offset += len(day_units)
        plans.append((interval, _requests(days, lacking_by_day)))
    for position, day in enumerate(days, start=1):  # day by day, every interval
        for interval, requests in plans:
            for request in requests:
                if request[0][0] != day:
                    continue
                for window_start, window_end in _request_ranges(
                    calendar, interval, extended_hours, request
                ):
                    rows_written += _fetch(
                        store, source, source_name, interval, request, window_start, window_end
                    )
        if progress is not None:
            progress(position, len(days))
    return LoadReport(rows_written, fetched, skipped, len(days))


def _requests(
    days: Sequence[date], lacking_by_day: Sequence[dict[tuple[int, ...], list[str]]]
) -> list[Request]:
    """One request per day and group of symbols lacking the same units (a day's request
    covers only its own session: sources with bars outside it, e.g. extended hours, are never
    asked for what the config does not stream)."""
    return [
        ([day], missing, lacking)
        for day, wanted in zip(days, lacking_by_day, strict=True)
        for lacking, missing in wanted.items()
    ]


def _request_ranges(
    calendar: str, interval: str, extended_hours: ExtendedHoursLike, request: Request
) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` ranges of one request: the lacking units of its day, adjacent ones
    merged."""
    request_days, _, lacking = request
    units = _units(calendar, request_days[0], interval, extended_hours)
    ranges: list[tuple[datetime, datetime]] = []
    for start, end in sorted(units[i] for i in lacking):
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


def _fetch(
    store: Any,
    source: Any,
    source_name: str,
    interval: str,
    request: Request,
    start: datetime,
    end: datetime,
) -> int:
    """One ``request_bars`` call, upserted; a plugin's failure becomes a ``SourceError``
    naming the source, interval, day(s) and symbols."""
    request_days, missing, _ = request
    try:
        bars = source.request_bars(list(missing), start, end, interval)
        return int(store.upsert_bars(_stamped(bars, source_name)))
    except SessiondError:
        raise
    except Exception as error:  # a plugin bug or vendor failure: name it
        span = request_days[0].isoformat()
        if len(request_days) > 1:
            span += f"..{request_days[-1].isoformat()}"
        raise SourceError(
            f"data source {source_name!r} failed for {interval} bars of {span} "
            f"({', '.join(missing)}): {error}"
        ) from error


def _stamped(bars: Iterable[Bar], source_name: str) -> Iterable[Bar]:
    """Bars with ``source`` set to ``source_name`` where the plugin left it empty."""
    for bar in bars:
        yield bar if bar.source else bar._replace(source=source_name)


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
        granularity = spec.granularity or "daily"
        if granularity == "bar":  # streaming: fed the streamed days, no trailing history
            continue
        try:  # trailing indicators have a period in trading days/weeks
            period = parse_period(str(spec.params.get("period")))
        except ConfigError:
            continue
        interval = "1d" if granularity == "daily" else streamed
        if interval is None:
            continue
        back = previous_session(calendar, first, period.trading_days)
        needs.append(HistoryNeed(everyone, (interval,), back, last))
    return needs
