"""SessionCoordinator: sequences a session run, one exchange trading day at a time.

Per trading day (``daemon.lifecycle`` holds the state table)::

    initialize -> historical data -> historical indicators -> quality -> queue loading
    -> activate -> stream -> end of session -> next trading day | finished | stopped

- **historical data**: for each ``historical.data`` entry, the ``trailing_days`` trading days
  before the day (counted on the calendar, ``TradingSchedule.trading_days_back``); what the
  store lacks is fetched through the data source and upserted (``plugins.history``), then read
  back (one vectorised read per interval) into ``SessionData.history``.
- **historical indicators**: every indicator of ``historical.indicators`` is created through
  the ``PluginHost``. For those with ``compute`` the values already stored for the day are
  read first (``Store.read_indicator_values(name, symbols, open, open + 1 s, source=
  GENERATED_SOURCE)`` — the keys the Dagster indicator assets write); symbols without stored
  values (or whose per-minute values have a hole) get ``period`` trading
  days of history (``1d`` bars for ``granularity: daily``, the streamed interval for
  ``intraday``) and are computed; read and computed values go to ``SessionData``, computed
  ones also to the store. Those with ``update`` are *streaming*: one
  instance per symbol, fed every streamed bar, reset at the start of each day; their last value
  of the day is stored at the close.
- **quality**: per (symbol, interval, trailing day) ``core.quality.assess_quality`` against the
  calendar (``enable_quality: false`` -> 100 %), kept in ``SessionData`` and the store.
- **queue loading**: backtest — the ``prefetch_days`` trading days from this one, fetched
  through the source where missing and prefetched by the feed in one read; live — the feed's
  streams are started.
- **activate**: clock to the open, aggregators started, ``session_started`` hook.
- **stream**: time advances to each event and never leaves the day's window ``[start, end]``
  — the session ``[open, close]``, widened to the extended phases the config includes
  (``session_data_config.extended_hours``: US pre-market from 04:00 ET, post-market until
  20:00 ET, 17:00 on early closes; ``plugins.history.day_segments``); the lunch break is jumped
  over (events inside it are dropped, not streamed); when the data is exhausted or the next
  event is at/after the window's end, the clock jumps to the end; symbols interleave in
  (ts_event, symbol) order (the feed's k-way merge); a stop request ends the day cleanly.
  ``phase_changed`` fires as the clock crosses phase boundaries (``core.phases``; an excluded
  extended phase reads ``closed``).
- **extended hours**: the streamed day's bars are fetched and replayed over the whole window
  (trailing history, historical indicators and quality stay regular hours). Generated bars
  never span the regular open or close: each extended phase is a segment of its own whose
  buckets are aligned to its start (pre-market: the window start, 04:00 ET; post-market: the
  close) and cut at its end, built by a second aggregator with the intraday intervals only
  (a generated ``1d`` bar is the regular session's). Streaming indicators see every streamed
  bar of the window. Session quality counts regular-session bars only.
- **recorded ticks** (backtest of a config streaming ``trades``/``quotes``/``foreign``/
  ``index``/``status``): queue loading also reads the day's recorded events from the store
  (``daemon.feeds.ticks``: arrival order, the day's statistics range); they stream at their
  arrival time, interleaved with the bars by time, into the ``MarketState`` the live session
  uses (built the same way: ``daemon.market_state.market_setup``, reset per day, basis
  contract resolved per day); events that arrived after the window's end (the ATC prints just
  after the close) are delivered after the loop, the clock at the close. The day's per-phase
  volumes are persisted (``store.upsert_phase_volumes``) and the state's snapshot is the
  day's ``DayResult.order_flow``. ``DayResult.events`` counts bars only.
- **end of session**: generated bars, streaming indicator values and the day's quality are
  persisted; day state is reset; ``session_ended`` hook; then the next trading day until the
  end date (backtest) or forever (live, waiting for the next open).

The coordinator owns no data and does no I/O itself: the store, data source, feed, clock,
schedule, session data and plugin host are injected (``SessionCoordinator.for_config`` builds
the defaults). Live and backtest differ only in the clock and the feed.

This module is long (~1,150 lines) because the streaming loop and the per-phase steps
read best next to each other; the hot loop is ``_stream``. Results live in ``daemon.results``.
"""

from __future__ import annotations

import gc
import logging
import signal
from bisect import bisect_right
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal

from core.errors import SessiondError, SessionError
from core.models import Bar, IndicatorValue, QualityResult
from core.phases import Phase, phase_windows
from core.quality import assess_quality, full_quality
from core.timeframes import parse_period
from daemon.aggregation.bars import BarAggregator
from daemon.clock import SimulatedClock, perf_seconds
from daemon.feeds.replay import DayWindow, ReplayFeed, columns_from_frame
from daemon.feeds.ticks import TICK_SINK, TickDay, TickReplay
from daemon.lifecycle import RunState, SessionRunLifecycle
from daemon.market_state import (
    STREAM_TYPES,
    MarketSetup,
    event_router,
    market_setup,
    phase_volume_rows,
    resolve_symbols,
    tick_streams,
)
from daemon.metrics import EVENT_SAMPLE_EVERY, SessionMetrics
from daemon.results import DayResult, RunObserver, RunSummary
from daemon.schedule import TradingSchedule
from daemon.session_data import BarRow, SessionData
from plugins.history import (
    REGULAR,
    DaySegment,
    day_segments,
    day_window,
    extended_flags,
    load_history,
    source_for_config,
)
from plugins.interfaces import supports

logger = logging.getLogger(__name__)

GENERATED_SOURCE = "sessiond"
"""``source`` of what the engine derives: generated bars, indicator values, quality rows."""

_EVENT_KINDS = {
    "Trade": "trades",
    "Quote": "quotes",
    "ForeignRoom": "foreign",
    "IndexTick": "index",
    "SecurityStatus": "status",
    "Bar": "bars",
}

PRE_MARKET_PHASE = str(Phase.PRE_MARKET)
POST_MARKET_PHASE = str(Phase.POST_MARKET)
CLOSED_PHASE = str(Phase.CLOSED)

_AS_OF_TOLERANCE = timedelta(seconds=1)
"""Stored indicator values are looked up with ``as_of`` in ``[open, open + 1 s)``."""

_PROGRESS_EVERY = 2048
"""Events between two ``RunObserver.progressed`` calls (cheap; the CLI redraws from it)."""


class _CompleteObserver(RunObserver):
    """Wraps an observer that implements only some RunObserver methods (the rest do nothing)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        for name in ("day_started", "progressed", "day_streamed", "day_ended"):
            method = getattr(inner, name, None)
            if callable(method):
                setattr(self, name, method)


def _one_call(calls: list[Any]) -> Any:
    """None for no callable, the callable itself for one, else one that calls them all."""
    if not calls:
        return None
    if len(calls) == 1:
        return calls[0]
    fixed = tuple(calls)

    def call_all(row: Any) -> None:
        for call in fixed:
            call(row)

    return call_all


class _Sinks(dict[str, Any]):
    """symbol -> (append, update, indicators); unknown symbols get the ``default`` sink."""

    __slots__ = ("default",)

    def __init__(self, default: Any) -> None:
        super().__init__()
        self.default = default

    def __missing__(self, symbol: str) -> Any:
        return self.default


# --------------------------------------------------------------------------------------------
# The coordinator
# --------------------------------------------------------------------------------------------


class SessionCoordinator:
    """Runs one session config over its trading days with injected collaborators.

    ``store``: a ``core.store.Store``; ``source``: a DataSource instance or None (then nothing
    missing can be fetched); ``feed``: a ``ReplayFeed`` (backtest) or ``LiveFeed`` (live);
    ``clock``: ``SimulatedClock``/``LiveClock`` (created at the first open when None);
    ``host``: the ``PluginHost`` (indicators, lifecycle hooks). ``start``/``end`` override the
    config's backtest dates, ``speed_multiplier`` its speed (0 = as fast as possible).
    """

    def __init__(
        self,
        config: Any,
        *,
        store: Any,
        host: Any,
        feed: Any,
        source: Any = None,
        source_name: str | None = None,
        clock: Any = None,
        schedule: TradingSchedule | None = None,
        session_data: SessionData | None = None,
        config_path: str = "",
        start: date | None = None,
        end: date | None = None,
        speed_multiplier: float | None = None,
        observer: RunObserver | None = None,
        persist: bool = True,
    ) -> None:
        self.config = config
        self.store = store
        self.host = host
        self.feed = feed
        self.source = source
        self.source_name = source_name or config.api_config.data_api
        self.clock = clock
        self.calendar = config.calendar_name
        self.schedule = schedule or TradingSchedule(self.calendar)
        self.session_data = session_data or SessionData()
        self.config_path = config_path
        self.mode = config.mode
        backtest = config.backtest_config
        self.start = start or (backtest.start_date if backtest else None)
        self.end = end or (backtest.end_date if backtest else None)
        self.speed_multiplier = (
            speed_multiplier
            if speed_multiplier is not None
            else (backtest.speed_multiplier if backtest else 0.0)
        )
        self.prefetch_days = max(1, int(backtest.prefetch_days)) if backtest else 1
        self.observer = _CompleteObserver(observer or RunObserver())
        self.persist = persist
        data_config = config.session_data_config
        self.symbols = tuple(sorted(set(data_config.symbols)))
        self.streamed_interval = config.streamed_interval
        self.generated_intervals = tuple(config.generated_intervals)
        if self.streamed_interval is None and self.mode != "live":
            raise SessionError(
                "session_data_config.streams names no bar interval; a backtest replays bars "
                f'(add one, e.g. "1m"), was {list(data_config.streams)}'
            )
        self.lifecycle = SessionRunLifecycle("session")
        self.metrics = SessionMetrics()
        self.run_id: int | None = None
        self.days: list[DayResult] = []
        self._stop_requested = False
        self._historical_indicators: list[tuple[str, Any, dict[str, Any]]] = []
        self._streaming_specs: list[tuple[str, str, dict[str, Any]]] = []
        self._streaming: dict[str, list[tuple[str, Any]]] = {}
        # Generated intervals are built by one aggregator for the whole run; it chains them
        # (15m from 5m, 1h from 30m ...) so only the first level sees every streamed row, and
        # emits cheap BarRows (converted to Bar when persisted).
        self._aggregator = BarAggregator(
            self.generated_intervals,
            source_interval=self.streamed_interval or "1m",
            source=GENERATED_SOURCE,
            row_type=BarRow,
        )
        # US pre-/post-market (session_data_config.extended_hours): the day's window grows to
        # the included phases; their bars get an aggregator of their own (intraday intervals
        # only: a generated 1d bar is the regular session's).
        self.extended_hours = extended_flags(data_config.extended_hours)
        extended_intervals = [
            i for i in self.generated_intervals if i != "1d" and not i.endswith(("d", "w"))
        ]
        self._extended_aggregator = (
            BarAggregator(
                extended_intervals,
                source_interval=self.streamed_interval or "1m",
                source=GENERATED_SOURCE,
                row_type=BarRow,
            )
            if any(self.extended_hours) and extended_intervals
            else None
        )
        # Backtests of configs streaming non-bar kinds replay each day's recorded events into
        # the market state (daemon.feeds.ticks); built at the first day (symbols resolve per day).
        self.tick_kinds = tick_streams(config)
        self.market: MarketSetup | None = None
        self._tick_replay = (
            TickReplay(
                store, source=self.source_name, kinds=[STREAM_TYPES[k] for k in self.tick_kinds]
            )
            if self.mode != "live" and self.tick_kinds
            else None
        )
        self._tick_day: TickDay | None = None
        self._tick_handler: Any = None
        self._tick_counts = (0, 0)  # the market state's (events, stale_events) at the day start
        self._gap_started: float | None = None
        self._generated: list[Any] = []
        self._event_samples: list[float] = []
        self._phase: str | None = None

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def for_config(
        cls,
        config: Any,
        *,
        store: Any,
        host: Any,
        source: Any = None,
        merge: Literal["sorted", "heap"] = "sorted",
        **kwargs: Any,
    ) -> SessionCoordinator:
        """The default wiring: source from the config through the host, a ReplayFeed over the
        store (backtest) or a LiveFeed over the source (live)."""
        source_name = config.api_config.data_api
        if source is None:
            source = source_for_config(host, config)
        symbols = config.session_data_config.symbols
        if config.mode == "live":
            from daemon.feeds.live import LiveFeed

            feed: Any = LiveFeed(source, symbols=symbols, interval=config.streamed_interval)
            coordinator = cls(config, store=store, host=host, feed=feed, source=source, **kwargs)
            feed.on_event = coordinator.on_other_event
            return coordinator
        else:
            feed = ReplayFeed.from_store(
                store,
                symbols=symbols,
                interval=config.streamed_interval,
                source=source_name,
                merge=merge,
            )
        return cls(config, store=store, host=host, feed=feed, source=source, **kwargs)

    # -- control -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the run to stop: the current day ends cleanly (persisted) and no other starts.

        Safe to call from a signal handler or another thread (it only sets a flag).
        """
        self._stop_requested = True

    def on_other_event(self, event: Any) -> None:
        """A live event that is not a streamed bar: kept in SessionData under its kind."""
        kind = _EVENT_KINDS.get(type(event).__name__, type(event).__name__.lower())
        symbol = getattr(event, "symbol", None) or getattr(event, "index_id", "") or ""
        self.session_data.append(symbol, kind, event)

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def run_sync(self, *, handle_sigint: bool = False) -> RunSummary:
        """``asyncio.run(self.run())``; with ``handle_sigint`` Ctrl-C calls :meth:`stop`."""
        import asyncio

        previous = None
        if handle_sigint:
            previous = signal.signal(signal.SIGINT, lambda *_: self.stop())
        try:
            return asyncio.run(self.run())
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    async def run(self) -> RunSummary:
        """Run every trading day; returns the summary (also stored as the session_runs row)."""
        config = self.config
        days = self._backtest_days() if self.mode != "live" else None
        if self.persist:
            self.run_id = self.store.start_session_run(
                config.session_name,
                self.config_path,
                self.mode,
                self.calendar,
                days[0] if days else self.start,
                days[-1] if days else self.end,
            )
            self.lifecycle.label = f"session {self.run_id}"
        else:
            self.lifecycle.label = f"session {config.session_name!r}"
        status = RunState.FAILED
        try:
            try:
                await self._run_days(days)
            finally:
                if self.mode == "live":
                    await self.feed.stop()
            status = self.lifecycle.state
        except BaseException as error:
            if not self.lifecycle.is_terminal:
                self.lifecycle.fail(f"{type(error).__name__}: {error}")
            self._finish_run(RunState.FAILED.value, error=error)
            raise
        return self._finish_run(status.value)

    def _finish_run(self, status: str, error: BaseException | None = None) -> RunSummary:
        metrics = self.metrics.to_dict()
        summary = RunSummary(self.run_id, self.config.session_name, self.mode, status, self.days)
        metrics["summary"] = {
            k: v for k, v in summary.to_dict().items() if k not in {"days", "metrics"}
        }
        metrics["days"] = [day.to_dict() for day in self.days]
        # the config as run (overrides applied): `sessiond runs show` / `report` read it back
        metrics["config"] = self.config.model_dump(mode="json", exclude_none=True)
        if error is not None:
            metrics["error"] = f"{type(error).__name__}: {error}"
        summary.metrics = metrics
        if self.persist and self.run_id is not None:
            self.store.finish_session_run(self.run_id, status, metrics)
        return summary

    def _backtest_days(self) -> list[date]:
        if self.start is None or self.end is None:
            raise SessionError(
                "backtest needs backtest_config.start_date and end_date (or --start/--end)"
            )
        days = self.schedule.trading_days_between(self.start, self.end)
        if not days:
            raise SessionError(
                f"no trading day of {self.calendar} between {self.start.isoformat()} and "
                f"{self.end.isoformat()}: pick a range that contains a session"
            )
        return days

    async def _run_days(self, days: list[date] | None) -> None:
        life = self.lifecycle
        index = 0
        trading_date = days[0] if days else self._first_live_date()
        life.initialize(trading_date.isoformat())
        self._gap_started = perf_seconds()
        while True:
            if self._stop_requested:
                life.stop("before the session started")
                return
            upcoming = days[index : index + self.prefetch_days] if days else [trading_date]
            result = await self._run_day(trading_date, upcoming)
            self.days.append(result)
            self.observer.day_ended(result)
            if self._stop_requested:
                life.stop(f"after {trading_date.isoformat()}")
                return
            if days is not None:
                index += 1
                if index >= len(days):
                    life.finish(f"{len(days)} trading days")
                    return
                trading_date = days[index]
            else:
                trading_date = self.schedule.get_next_trading_date(trading_date)
            life.next_day(trading_date.isoformat())
            self._gap_started = perf_seconds()

    def _first_live_date(self) -> date:
        now = self._clock_or_live().now()
        from core.calendars import exchange_timezone

        local = now.astimezone(exchange_timezone(self.calendar)).date()
        first = self.schedule.get_first_trading_date(local)
        session = self.schedule.get_trading_session(first)
        if session is not None and now >= self._segments(first)[-1].end:
            first = self.schedule.get_next_trading_date(first)
        return first

    async def _wait_for_open(self, open_: datetime) -> None:
        """Live: wait (in short sleeps, so that a stop request is honoured) for the open."""
        import asyncio

        clock = self._clock_or_live()
        while not self._stop_requested:
            remaining = clock.seconds_until(open_)  # wall seconds (a demo clock runs faster)
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.5))

    def _clock_or_live(self) -> Any:
        if self.clock is None:
            from daemon.clock import LiveClock

            self.clock = LiveClock()
        return self.clock

    # -- one trading day ---------------------------------------------------------------------

    async def _run_day(self, trading_date: date, upcoming: Sequence[date]) -> DayResult:
        life = self.lifecycle
        session = self.schedule.get_trading_session(trading_date)
        if session is None:  # pragma: no cover - days come from the schedule
            raise SessionError(
                f"{trading_date.isoformat()} is not a trading day of {self.calendar}"
            )
        result = DayResult(trading_date)
        label = trading_date.isoformat()

        life.load_history(label)
        quality_inputs = self._load_historical_data(trading_date)

        life.compute_indicators(label)
        result.indicator_values += self._compute_indicators(trading_date, session, result)

        life.assess_quality(label)
        result.historical_quality = self._assess_historical_quality(quality_inputs)

        life.load_queues(label)
        segments = self._segments(trading_date)
        window = DayWindow(trading_date, segments[0].start, segments[-1].end)
        expected = await self._load_queues(window, upcoming)

        if self.mode == "live":
            await self._wait_for_open(window.start)
        if self._stop_requested:  # asked to stop before the day went active: nothing to end
            result.stopped = True
            return result
        life.activate(label)
        self._activate(trading_date, window)
        if self._gap_started is not None:
            self.metrics.session_gap.record(perf_seconds() - self._gap_started)
            self._gap_started = None

        life.stream(label)
        self.observer.day_started(trading_date, expected)
        started = perf_seconds()
        # The cyclic GC would rescan the day's rows (hundreds of thousands of tuples, none of
        # them cyclic) again and again: pause it while a backtest day streams (a replayed day
        # lasts seconds at most; a live day keeps it on).
        pause_gc = self.mode != "live" and gc.isenabled()
        if pause_gc:
            gc.disable()
        try:
            await self._stream(window, session, segments, result)
        finally:
            if pause_gc:
                gc.enable()
        result.stream_seconds = perf_seconds() - started
        if result.processing_seconds is None:  # replayed as fast as possible: all of it
            result.processing_seconds = result.stream_seconds
        self.observer.day_streamed(trading_date, result.events)
        self.metrics.record_events(result.events, result.processing_seconds, self._event_samples)

        life.end_day(label)
        self._end_day(trading_date, session, result)
        self.metrics.session_duration.record(perf_seconds() - started)
        self.metrics.increment_trading_days()
        return result

    # -- historical data ---------------------------------------------------------------------

    def _segments(self, trading_date: date) -> tuple[DaySegment, ...]:
        """The day's window: the regular session and the included extended phases."""
        return day_segments(self.calendar, trading_date, self.extended_hours)

    def _fetch_missing(
        self,
        symbols: Sequence[str],
        intervals: Sequence[str],
        days: Sequence[date],
        *,
        extended: bool = False,
    ) -> None:
        """Load what the store lacks; ``extended``: the days' whole windows (streamed days),
        else regular hours (trailing history)."""
        if self.source is None or not days or not symbols:
            return
        load_history(
            self.store,
            self.source,
            source_name=self.source_name,
            calendar=self.calendar,
            symbols=symbols,
            intervals=intervals,
            start=days[0],
            end=days[-1],
            extended_hours=self.extended_hours if extended and any(self.extended_hours) else None,
        )

    def _read_rows(
        self, symbols: Sequence[str], interval: str, days: Sequence[date]
    ) -> dict[str, list[Any]]:
        """Stored bars of ``days`` per symbol as ``BarRow``s (one vectorised read)."""
        start, _ = day_window(self.calendar, days[0], interval)
        _, end = day_window(self.calendar, days[-1], interval)
        frame = self.store.read_bars_frame(
            list(symbols), interval, start, end, source=self.source_name
        )
        times: dict[int, datetime] = {}
        return {
            symbol: cols.rows(interval, self.source_name, times)
            for symbol, cols in columns_from_frame(frame, symbols).items()
        }

    def _load_historical_data(
        self, trading_date: date
    ) -> list[tuple[str, str, list[date], list[Any]]]:
        historical = self.config.session_data_config.historical
        data = self.session_data
        data.clear_history()
        inputs: list[tuple[str, str, list[date], list[Any]]] = []
        for entry in historical.data:
            symbols = sorted(set(self.config.symbols_for(entry.apply_to)))
            days = self.schedule.trading_days_back(trading_date, entry.trailing_days)
            if not days:
                continue
            self._fetch_missing(symbols, entry.intervals, days)
            for interval in entry.intervals:
                rows = self._read_rows(symbols, interval, days)
                for symbol in symbols:
                    symbol_rows = rows.get(symbol, [])
                    data.set_history(symbol, interval, symbol_rows)
                    inputs.append((symbol, interval, days, symbol_rows))
        return inputs

    # -- historical indicators ---------------------------------------------------------------

    def _indicator_specs(self) -> list[tuple[str, str, dict[str, Any]]]:
        specs = []
        for name, spec in self.config.session_data_config.historical.indicators.items():
            if hasattr(spec, "params"):
                type_name, raw = spec.type, dict(spec.params)
            else:
                raw = dict(spec)
                type_name = raw.pop("type")
            raw.setdefault("calendar", self.calendar)
            specs.append((name, type_name, raw))
        return specs

    def _prepare_indicators(self) -> None:
        """Create indicators once per run: historical ones, and streaming ones per symbol."""
        if self._historical_indicators or self._streaming_specs:
            return
        for name, type_name, params in self._indicator_specs():
            probe = self.host.create_indicator(type_name, name=name, **params)
            if supports(probe, "update"):
                self._streaming_specs.append((name, type_name, params))
            elif supports(probe, "compute"):
                self._historical_indicators.append((name, probe, params))
        for symbol in self.symbols:
            self._streaming[symbol] = [
                (name, self.host.create_indicator(type_name, name=name, **params))
                for name, type_name, params in self._streaming_specs
            ]

    def _stored_indicator_values(
        self, name: str, as_of: datetime
    ) -> dict[str, list[IndicatorValue]]:
        """The values of ``name`` stored for ``as_of`` (Dagster indicator assets or an earlier
        run), per symbol, used as they are (``complete`` or not: an early close inside the
        period makes values incomplete whoever computes them) unless per-minute values have a
        hole (minutes not exactly ``0..n-1``). Symbols not returned are computed."""
        found: dict[str, list[IndicatorValue]] = defaultdict(list)
        for value in self.store.read_indicator_values(
            name, self.symbols, as_of, as_of + _AS_OF_TOLERANCE, source=GENERATED_SOURCE
        ):
            found[value.symbol].append(value)
        usable = {}
        for symbol, values in found.items():
            minutes = [v.minute_of_day for v in values]
            if minutes != [None] and minutes != list(range(len(values))):
                continue
            usable[symbol] = values
        return usable

    def _compute_indicators(self, trading_date: date, session: Any, result: DayResult) -> int:
        """Historical indicators of the day: the values stored under the engine's keys (name,
        symbol, ``as_of`` = the open, source ``GENERATED_SOURCE`` — what the Dagster indicator
        assets write) are read; only symbols without usable stored values are computed from
        the trailing bars, and those values are stored. Returns the values computed."""
        self._prepare_indicators()
        stored: list[IndicatorValue] = []
        as_of = session.open
        for name, indicator, params in self._historical_indicators:
            found = self._stored_indicator_values(name, as_of)
            for symbol, values in found.items():
                self.session_data.set_indicator(name, symbol, values)
            result.indicators_read += sum(len(v) for v in found.values())
            missing = [s for s in self.symbols if s not in found]
            if not missing:
                continue
            period = parse_period(str(params.get("period", "1d")))
            interval = (
                "1d" if params.get("granularity", "daily") == "daily" else self.streamed_interval
            )
            days = self.schedule.trading_days_back(trading_date, period.trading_days)
            if not days:
                continue
            self._fetch_missing(missing, [interval], days)
            rows = self._read_rows(missing, interval, days)
            for symbol in missing:
                values = indicator.compute(symbol, rows.get(symbol, []), as_of)
                self.session_data.set_indicator(name, symbol, values)
                stored.extend(values)
        if stored and self.persist:
            self.store.upsert_indicator_values(stored, GENERATED_SOURCE)
        return len(stored)

    # -- quality -----------------------------------------------------------------------------

    def _assess_historical_quality(
        self, inputs: Iterable[tuple[str, str, list[date], list[Any]]]
    ) -> dict[str, float]:
        enabled = self.config.session_data_config.historical.enable_quality
        results: list[QualityResult] = []
        per_interval: dict[str, list[float]] = defaultdict(list)
        for symbol, interval, days, rows in inputs:
            by_day: dict[date, list[datetime]] = defaultdict(list)
            windows = [day_window(self.calendar, d, interval) for d in days]
            starts = [lo for lo, _ in windows]
            for row in rows:
                ts = row.ts_event
                i = bisect_right(starts, ts) - 1
                if i >= 0 and ts < windows[i][1]:
                    by_day[days[i]].append(ts)
            expected = actual = 0
            for d in days:
                times = by_day.get(d, [])
                if enabled:
                    res = assess_quality(
                        self.calendar, symbol, interval, d, times, self.source_name
                    )
                else:
                    res = full_quality(symbol, interval, d, self.source_name, len(times))
                results.append(res)
                expected += res.expected_bars
                actual += res.actual_bars
            pct = 100.0 if not enabled or expected == 0 else min(100.0, 100.0 * actual / expected)
            self.session_data.set_quality(symbol, interval, pct)
            per_interval[interval].append(pct)
        if results and self.persist:
            self.store.upsert_quality(results)
        return {k: sum(v) / len(v) for k, v in per_interval.items()}

    # -- queues and activation ---------------------------------------------------------------

    async def _load_queues(self, window: DayWindow, upcoming: Sequence[date]) -> int | None:
        feed = self.feed
        if self.mode == "live":
            await feed.start()
            return None
        if not feed.is_loaded(window.trading_date):
            days = [d for d in upcoming if not feed.is_loaded(d)]
            self._fetch_missing(self.symbols, [self.streamed_interval], days, extended=True)
            windows = []
            for d in days:
                segments = self._segments(d)  # days come from the schedule: trading days
                windows.append(DayWindow(d, segments[0].start, segments[-1].end))
            feed.prefetch(windows)
        expected = feed.day(window).event_count
        if self._tick_replay is not None:
            self._tick_day = self._load_ticks(window)
            expected += self._tick_day.event_count
        return expected

    def _load_ticks(self, window: DayWindow) -> TickDay:
        """The day's recorded events, and the market state reset for the day."""
        assert self._tick_replay is not None
        day = window.trading_date
        if self.market is None:
            self.market = market_setup(
                self.config, host=self.host, source=self.source, trading_date=day
            )
            self._tick_handler = event_router(self.market.state, self.on_other_event)
        state = self.market.state
        state.set_futures_contract(self.market.contract_on(self.source, day))
        state.reset(day)
        session = self.schedule.get_trading_session(day)
        try:
            previous = self.schedule.get_previous_trading_date(day)
        except SessiondError:  # the calendar's first day
            previous = day - timedelta(days=1)
        tick_day = self._tick_replay.load(
            window,
            symbols=resolve_symbols(self.source, self.market.symbols, day),
            since=state.roll_instant(previous),
            until=state.roll_instant(day),
            break_start=session.break_start if session else None,
            break_end=session.break_end if session else None,
            handler=self._tick_handler,
        )
        self._tick_counts = (state.events, state.stale_events)
        return tick_day

    def _activate(self, trading_date: date, window: DayWindow) -> None:
        if self.clock is None:
            self.clock = SimulatedClock(window.start, self.speed_multiplier)
        elif self.mode != "live" and self.clock.now() < window.start:
            self.clock.jump_to(window.start)
        self.session_data.clear_day()
        self.session_data.set_session_active(True)
        for indicators in self._streaming.values():
            for _, indicator in indicators:
                if supports(indicator, "reset"):
                    indicator.reset()
        self._call_hook(
            "session_started",
            session_name=self.config.session_name,
            exchange=self.calendar,
            trading_date=trading_date,
            mode=self.mode,
        )

    # -- streaming (the hot loop) ------------------------------------------------------------

    def _phase_boundaries(self, window: DayWindow) -> list[tuple[datetime, str]]:
        """(start, phase) of each phase window starting in (window start, window end], plus
        the one at the window start. An extended phase the config excludes reads ``closed``."""
        try:
            windows = phase_windows(self.calendar, window.trading_date)
        except Exception:  # pragma: no cover - phases are informative only
            logger.exception("phase windows of %s unavailable", window.trading_date)
            return []
        pre, post = self.extended_hours
        excluded = {PRE_MARKET_PHASE} if not pre else set()
        if not post:
            excluded.add(POST_MARKET_PHASE)
        out = []
        for phase_window in windows:
            phase = str(phase_window.phase)
            if phase in excluded:
                phase = CLOSED_PHASE
            if phase_window.start <= window.start < phase_window.end:
                out.append((window.start, phase))
            elif window.start < phase_window.start <= window.end:
                out.append((phase_window.start, phase))
        return out

    def _enter_segment(
        self, segment: DaySegment, session: Any, sinks: _Sinks, base: dict[str, tuple[Any, Any]]
    ) -> Any:
        """Start the bar aggregator of ``segment`` (regular: the session's; extended: buckets
        aligned to the segment's start, cut at its end) and point every symbol's sink at it.
        Returns the aggregator (None when nothing is generated in the segment)."""
        if segment.kind == REGULAR:
            aggregator = self._aggregator if self.generated_intervals else None
            if aggregator is not None:
                aggregator.start_day(session)
        else:
            aggregator = self._extended_aggregator
            if aggregator is not None:
                aggregator.start_day(
                    SimpleNamespace(
                        open=segment.start, close=segment.end, break_start=None, break_end=None
                    )
                )
        for symbol, (append, indicators) in base.items():
            sinks[symbol] = (
                append,
                aggregator.updater(symbol) if aggregator is not None else None,
                indicators,
            )
        return aggregator

    def _fire_phases(
        self, boundaries: list[tuple[datetime, str]], index: int, ts: datetime, result: DayResult
    ) -> int:
        """Fire ``phase_changed`` for every boundary at or before ``ts``; returns the new index."""
        while index < len(boundaries) and boundaries[index][0] <= ts:
            phase = boundaries[index][1]
            if phase != self._phase:
                self._call_hook(
                    "phase_changed",
                    exchange=self.calendar,
                    trading_date=result.trading_date,
                    phase=phase,
                    previous=self._phase,
                )
                result.phases.append(phase)
                self._phase = phase
            index += 1
        return index

    async def _stream(
        self,
        window: DayWindow,
        session: Any,
        segments: Sequence[DaySegment],
        result: DayResult,
    ) -> None:
        clock = self.clock
        paced = bool(getattr(clock, "is_paced", True))
        advance_sync = clock.advance_to
        advance_async = clock.advance_to_async
        # The window: the session, widened to the included extended phases (``segments``).
        open_, close = window.start, window.end
        break_start, break_end = session.break_start, session.break_end
        before_break = break_start is not None
        boundaries = self._phase_boundaries(window)
        far = close
        next_phase_at = boundaries[0][0] if boundaries else far
        phase_index = 0
        observer = self.observer
        trading_date = window.trading_date

        data = self.session_data
        streamed = self.streamed_interval
        # Per symbol: (series.append, aggregator updater or None, indicator update(s) or None);
        # the updater is the current segment's. Rows of symbols outside the session hit
        # __missing__ and are counted as dropped.
        foreign: list[Any] = []
        sinks = _Sinks((foreign.append, None, None))
        base = {
            symbol: (
                data.series(symbol, streamed).append,
                _one_call([ind.update for _, ind in self._streaming.get(symbol, ())]),
            )
            for symbol in self.symbols
        }
        tick_day = self._tick_day
        if tick_day is not None:  # recorded events (daemon.feeds.ticks) to the market state
            sinks[TICK_SINK] = (tick_day.deliver, None, None)
        segment_index = 0
        active = self._enter_segment(segments[0], session, sinks, base)
        next_segment_at = segments[1].start if len(segments) > 1 else far
        generated: list[Any] = []
        add_generated = generated.extend
        events = dropped = 0
        # Paced (clock-driven or live) days report at every new timestamp; replay in batches.
        progress_every = 1 if paced else _PROGRESS_EVERY
        next_progress = progress_every
        last_ts: datetime | None = None
        stopped = past_close = False
        # Per-event timing (daemon.metrics): one event in `every` is timed alone, from the end
        # of the previous event (t0) to the end of its own processing; `mark` is the event
        # count at which the next timing starts or ends. The first event of the day is timed.
        every = EVENT_SAMPLE_EVERY
        perf = perf_seconds
        samples = self._event_samples = []
        add_sample = samples.append
        timing = True
        mark = 1
        t0 = 0.0

        # Processing time on a paced or live clock: each chunk from its arrival to the end of
        # its rows, less the waits for the events' times (a live day is mostly waiting).
        busy = 0.0
        async for chunk in self._chunks(window):
            chunk_started = perf()
            if timing:  # not the wait for the chunk (live) or the building of its rows
                t0 = perf()
            for row in chunk:
                ts = row.ts_event
                # Replayed rows of one minute share one datetime object, so identity is the
                # cheap test; distinct-but-equal objects (live) just redo the per-time checks.
                if ts is not last_ts:
                    if self._stop_requested:
                        stopped = True
                        break
                    if ts >= close:
                        past_close = True
                        break
                    if ts < open_:
                        dropped += 1
                        continue
                    if before_break and ts >= break_start:
                        # Stream up to the break, then jump over it (never streamed through).
                        if paced:
                            waited = perf()
                            await advance_async(break_start)
                            chunk_started += perf() - waited
                        else:
                            advance_sync(break_start)
                        phase_index = self._fire_phases(
                            boundaries, phase_index, break_start, result
                        )
                        clock.jump_to(break_end)
                        phase_index = self._fire_phases(boundaries, phase_index, break_end, result)
                        next_phase_at = (
                            boundaries[phase_index][0] if phase_index < len(boundaries) else far
                        )
                        before_break = False
                    if not before_break and break_start is not None and ts < break_end:
                        dropped += 1
                        continue
                    if paced:
                        waited = perf()
                        await advance_async(ts)
                        chunk_started += perf() - waited
                        if timing:  # the wait for the event's time is not processing
                            t0 = perf()
                    else:
                        advance_sync(ts)
                    if ts >= next_phase_at:
                        phase_index = self._fire_phases(boundaries, phase_index, ts, result)
                        next_phase_at = (
                            boundaries[phase_index][0] if phase_index < len(boundaries) else far
                        )
                    if ts >= next_segment_at:
                        # Into an extended phase or the regular session: flush the bars of
                        # the segment left, so that none spans the regular open or close.
                        if active is not None:
                            add_generated(active.close_day())
                        while segments[segment_index].end <= ts:
                            segment_index += 1
                        active = self._enter_segment(segments[segment_index], session, sinks, base)
                        next_segment_at = (
                            segments[segment_index + 1].start
                            if segment_index + 1 < len(segments)
                            else far
                        )
                    last_ts = ts
                    if events >= next_progress:
                        observer.progressed(trading_date, events)
                        next_progress = events + progress_every
                append, update, indicators = sinks[row.symbol]
                append(row)
                if update is not None:
                    done = update(row)
                    if done:
                        add_generated(done)
                if indicators is not None:
                    indicators(row)
                events += 1
                if events >= mark:
                    if timing:
                        add_sample(perf() - t0)
                        timing = False
                        mark = events + every - 1
                    else:
                        t0 = perf()
                        timing = True
                        mark = events + 1
            busy += perf() - chunk_started
            if stopped or past_close:
                break
        # A live feed returns early on a stop request without delivering another row.
        stopped = stopped or (self._stop_requested and not past_close)

        if not stopped:
            # Data exhausted or the next event is at/after the close: jump to the close.
            if clock.now() < close:
                if self.mode == "live":
                    await advance_async(close)
                else:
                    clock.jump_to(close)
            self._fire_phases(boundaries, phase_index, close, result)
        streamed_ticks = 0
        if tick_day is not None:
            tick_day.finish(stopped=stopped)  # e.g. the ATC prints published after the close
            streamed_ticks = tick_day.streamed
        observer.progressed(trading_date, events)
        if active is not None:
            generated.extend(active.close_day())  # partial bars at the close
        for bar in generated:
            data.series(bar.symbol, bar.interval).append(bar)
        result.events = events - len(foreign) - streamed_ticks
        result.dropped = dropped + len(foreign)
        result.stopped = stopped
        result.clock_end = clock.now()
        result.processing_seconds = busy if paced else None
        self._generated = generated

    async def _chunks(self, window: DayWindow) -> AsyncIterator[Iterable[Any]]:
        """The day's rows: replay yields one iterator for the whole day (no per-event awaits);
        live yields lists as they arrive until the close."""
        feed = self.feed
        if self.mode == "live":
            async for chunk in feed.stream(window, self.clock, lambda: self._stop_requested):
                yield chunk
        else:
            rows = feed.day(window).rows(feed.merge)
            yield rows if self._tick_day is None else self._tick_day.merge(rows)

    # -- end of session ----------------------------------------------------------------------

    def _end_day(self, trading_date: date, session: Any, result: DayResult) -> None:
        generated = [bar if type(bar) is Bar else Bar(*bar) for bar in self._generated]
        self._generated = []
        counts: dict[str, int] = defaultdict(int)
        for bar in generated:
            counts[bar.interval] += 1
        result.generated = {i: counts.get(i, 0) for i in self.generated_intervals}
        as_of = self.clock.now()
        streaming_values = [
            IndicatorValue(
                name,
                symbol,
                as_of,
                _float_or_none(getattr(ind, "value", None)),
                complete=getattr(ind, "value", None) is not None,
                observations=len(self.session_data.series(symbol, self.streamed_interval)),
            )
            for symbol, indicators in self._streaming.items()
            for name, ind in indicators
        ]
        result.indicator_values += len(streaming_values)
        result.quality = self._assess_session_quality(trading_date)
        tick_day, self._tick_day = self._tick_day, None
        if tick_day is not None and self.market is not None:
            state = self.market.state
            result.order_flow = order_flow_summary(state, tick_day, *self._tick_counts)
            if self.persist:
                rows = phase_volume_rows(state, self.config.session_name)
                if rows:
                    self.store.upsert_phase_volumes(rows)
        if self.persist:
            if generated:
                self.store.upsert_bars(generated)
            if streaming_values:
                self.store.upsert_indicator_values(streaming_values, GENERATED_SOURCE)
        self.session_data.set_session_active(False)
        summary = {
            "events": result.events,
            "dropped": result.dropped,
            "generated": dict(result.generated),
            "quality": dict(result.quality),
            "stopped": result.stopped,
        }
        self._call_hook(
            "session_ended",
            session_name=self.config.session_name,
            exchange=self.calendar,
            trading_date=trading_date,
            summary=summary,
        )
        self.session_data.clear_day()
        if self.mode != "live":
            self.feed.release(trading_date)
        self._phase = None

    def _assess_session_quality(self, trading_date: date) -> dict[str, float]:
        enabled = self.config.session_data_config.gap_filler.enable_session_quality
        results: list[QualityResult] = []
        per_interval: dict[str, list[float]] = defaultdict(list)
        # Quality counts regular-session bars only: extended-hours bars are not expected.
        session = self.schedule.get_trading_session(trading_date)
        regular = (session.open, session.close) if session and any(self.extended_hours) else None
        streamed = (self.streamed_interval,) if self.streamed_interval else ()  # live: maybe none
        for interval in (*streamed, *self.generated_intervals):
            for symbol in self.symbols:
                series = self.session_data.series(symbol, interval)
                times = [row.ts_event for row in series]
                if regular is not None:
                    times = [t for t in times if regular[0] <= t < regular[1]]
                if enabled:
                    res = assess_quality(
                        self.calendar, symbol, interval, trading_date, times, GENERATED_SOURCE
                    )
                else:
                    res = full_quality(symbol, interval, trading_date, GENERATED_SOURCE, len(times))
                results.append(res)
                self.session_data.set_quality(symbol, interval, res.quality_pct, res)
                per_interval[interval].append(res.quality_pct)
        if results and self.persist:
            self.store.upsert_quality(results)
        return {k: sum(v) / len(v) for k, v in per_interval.items()}

    # -- hooks -------------------------------------------------------------------------------

    def _call_hook(self, name: str, **kwargs: Any) -> None:
        """Call a lifecycle hook; a plugin raising is logged and does not stop the session."""
        try:
            getattr(self.host.hook, name)(**kwargs)
        except Exception:
            logger.exception("plugin hook %s raised; the session continues", name)


def order_flow_summary(
    state: Any, tick_day: TickDay, events_before: int = 0, stale_before: int = 0
) -> dict[str, Any]:
    """A replayed day's market state (``MarketState.snapshot`` without ``version``; ``events``
    and ``stale_events`` of this day) with the delivery counts: ``ticks`` delivered,
    ``after_close`` of them after the streaming loop (arrived at/after the window's end),
    ``dropped_after_roll`` not delivered (arrived after the day's roll). ``*_before``: the
    state's counters when the day started."""
    snapshot = state.snapshot()
    snapshot.pop("version", None)
    snapshot["events"] = state.events - events_before
    return {
        "ticks": tick_day.delivered,
        "after_close": tick_day.after_loop,
        "dropped_after_roll": tick_day.dropped,
        "stale_events": state.stale_events - stale_before,
        **snapshot,
    }


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
