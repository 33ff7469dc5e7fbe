"""SessionCoordinator: sequences a session run, one exchange trading day at a time.

Per trading day (``daemon.lifecycle`` holds the state table)::

    initialize -> historical data -> historical indicators -> quality -> queue loading
    -> activate -> stream -> end of session -> next trading day | finished | stopped

The coordinator owns the lifecycle and nothing else; each step is delegated:

- **warm-up** (historical data, indicators, quality): ``daemon.warmup.Warmup`` — trailing
  history loaded once per chunk of days and rolled, historical indicators read from the store
  or computed, history quality;
- **queue loading**: backtest — what the store lacks for the coming days is fetched through the
  source (one bulk request per chunk of days), the ``prefetch_days`` from this one are read by
  the ``ReplayFeed`` as columns (one read), the day's records are built and, with generated
  intervals, its generated bars resampled (``daemon.aggregation.bars.VectorisedDay``); a config
  streaming recorded ticks also reads the day's ticks (``daemon.feeds.ticks``); live — the
  feed's streams are started;
- **activate**: clock to the day's start, ``session_started`` hook, ``on_day_start``;
- **stream**: ``daemon.streamer.DayStreamer`` (the hot loop, phases, subscribers);
- **end of session**: session quality (``daemon.quality``), then the day's generated bars,
  streaming indicator values, quality and per-phase volumes are persisted, ``session_ended``.

Live and backtest differ only in the clock and the feed. Subscribers
(``daemon.streamer.StreamSubscriber``, e.g. a trading engine) are given to the constructor.
Results live in ``daemon.results``; every step's wall time is in ``DayResult``.
"""

from __future__ import annotations

import gc
import logging
import signal
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from core.config import SessionConfig
from core.errors import SessionError
from core.models import Bar, IndicatorValue
from core.sessions import SessionWindow, extended_flags, session_window
from core.store import Store
from core.timeframes import parse_interval
from daemon import quality
from daemon.aggregation.bars import IncrementalDay, VectorisedDay, aggregation_groups
from daemon.clock import LiveClock, SimulatedClock, perf_seconds
from daemon.feeds.live import LiveFeed
from daemon.feeds.replay import ReplayFeed
from daemon.feeds.ticks import RecordedTicks, TickDay
from daemon.lifecycle import RunState, SessionRunLifecycle
from daemon.market_state import STREAM_TYPES, tick_streams
from daemon.metrics import SessionMetrics
from daemon.results import DayResult, RunObserver, RunSummary
from daemon.schedule import TradingSchedule
from daemon.session_data import SessionData
from daemon.streamer import DayStreamer, StreamSubscriber
from daemon.warmup import CHUNK_DAYS, Warmup
from plugins.history import load_history, source_for_config
from plugins.manager import PluginHost

logger = logging.getLogger(__name__)

GENERATED_SOURCE = "sessiond"
"""``source`` of what the engine derives: generated bars, indicator values, quality rows."""

_EVENT_KINDS = {"Trade": "trades", "Quote": "quotes", "ForeignRoom": "foreign",
                "IndexTick": "index", "SecurityStatus": "status", "Bar": "bars"}  # fmt: skip

Feed = ReplayFeed | LiveFeed
Clock = SimulatedClock | LiveClock


class SessionCoordinator:
    """Runs one session config over its trading days with injected collaborators.

    ``store``, ``host`` (plugins), ``feed`` (``ReplayFeed`` backtest / ``LiveFeed`` live);
    ``source``: the data source (None: nothing missing can be fetched); ``clock`` (created at
    the first open when None); ``start``/``end`` override the config's backtest dates,
    ``speed_multiplier`` its speed (0 = as fast as possible); ``observer`` gets progress;
    ``persist=False`` stores nothing; ``subscribers`` receive the stream
    (``daemon.streamer``).
    """

    def __init__(
        self,
        config: SessionConfig,
        *,
        store: Store,
        host: PluginHost,
        feed: Feed,
        source: Any = None,
        source_name: str | None = None,
        clock: Clock | None = None,
        schedule: TradingSchedule | None = None,
        session_data: SessionData | None = None,
        config_path: str = "",
        start: date | None = None,
        end: date | None = None,
        speed_multiplier: float | None = None,
        observer: RunObserver | None = None,
        persist: bool = True,
        subscribers: Sequence[StreamSubscriber] = (),
    ) -> None:
        self.config, self.store, self.host, self.feed = config, store, host, feed
        self.source = source
        self.source_name = source_name or config.api_config.data_api
        self.clock: Any = clock
        self.calendar = config.calendar_name
        self.schedule = schedule or TradingSchedule(self.calendar)
        self.session_data = session_data or SessionData()
        self.config_path, self.mode, self.persist = config_path, config.mode, persist
        backtest = config.backtest_config
        self.start = start or (backtest.start_date if backtest else None)
        self.end = end or (backtest.end_date if backtest else None)
        self.speed_multiplier = (
            speed_multiplier
            if speed_multiplier is not None
            else (backtest.speed_multiplier if backtest else 0.0)
        )
        self.prefetch_days = max(1, int(backtest.prefetch_days)) if backtest else 1
        self.observer = observer if observer is not None else RunObserver()
        data_config = config.session_data_config
        self.symbols = tuple(sorted(set(data_config.symbols)))
        self.streamed_interval = config.streamed_interval
        self.generated_intervals = tuple(config.generated_intervals)
        if self.streamed_interval is None and self.mode != "live":
            raise SessionError(
                "session_data_config.streams names no bar interval; a backtest replays bars "
                f'(add one, e.g. "1m"), was {list(data_config.streams)}'
            )
        self.extended_hours = extended_flags(data_config.extended_hours)
        self.lifecycle = SessionRunLifecycle("session")
        self.metrics = SessionMetrics()
        self.run_id: int | None = None
        self.days: list[DayResult] = []
        self._stop_requested = False
        self._gap_started: float | None = None
        self._fetched: set[date] = set()
        self.warmup = Warmup(
            config,
            store=store,
            host=host,
            source=source,
            source_name=self.source_name,
            schedule=self.schedule,
            session_data=self.session_data,
            generated_source=GENERATED_SOURCE,
            persist=persist,
        )
        self.streamer = DayStreamer(
            calendar=self.calendar,
            symbols=self.symbols,
            streamed_interval=self.streamed_interval or "1m",
            session_data=self.session_data,
            indicators=self.warmup.streaming,
            subscribers=subscribers,
            extended_hours=self.extended_hours,
            hook=self._call_hook,
            stop_requested=lambda: self._stop_requested,
            observer=self.observer,
        )
        kinds = tick_streams(config)
        self.ticks = (
            RecordedTicks(
                config,
                store=store,
                host=host,
                source=source,
                source_name=self.source_name,
                schedule=self.schedule,
                kinds=[STREAM_TYPES[k] for k in kinds],
                on_other_event=self.on_other_event,
            )
            if self.mode != "live" and kinds
            else None
        )

    @classmethod
    def for_config(
        cls,
        config: SessionConfig,
        *,
        store: Store,
        host: PluginHost,
        source: Any = None,
        **kwargs: Any,
    ) -> SessionCoordinator:
        """The default wiring: source from the config through the host, a ReplayFeed over the
        store (backtest) or a LiveFeed over the source (live)."""
        if source is None:
            source = source_for_config(host, config)
        symbols = config.session_data_config.symbols
        feed: Feed
        if config.mode == "live":
            feed = LiveFeed(source, symbols=symbols, interval=config.streamed_interval or "1m")
        else:
            feed = ReplayFeed.from_store(
                store,
                symbols=symbols,
                interval=config.streamed_interval or "1m",
                source=config.api_config.data_api,
            )
        coordinator = cls(config, store=store, host=host, feed=feed, source=source, **kwargs)
        if isinstance(feed, LiveFeed):
            feed.on_event = coordinator.on_other_event
            feed.tap = coordinator.streamer.live_tap
        return coordinator

    # -- control -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the run to stop: the current day ends cleanly (persisted) and no other starts.
        Safe to call from a signal handler or another thread (it only sets a flag)."""
        self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def market(self) -> Any:
        """The replayed recorded ticks' market state setup (None without recorded ticks)."""
        return self.ticks.market if self.ticks is not None else None

    def on_other_event(self, event: Any) -> None:
        """A live event that is not a streamed bar: kept in SessionData under its kind."""
        kind = _EVENT_KINDS.get(type(event).__name__, type(event).__name__.lower())
        symbol = getattr(event, "symbol", None) or getattr(event, "index_id", "") or ""
        self.session_data.append(symbol, kind, event)

    def run_sync(self, *, handle_sigint: bool = False) -> RunSummary:
        """``asyncio.run(self.run())``; with ``handle_sigint`` Ctrl-C calls :meth:`stop`."""
        import asyncio

        previous = signal.signal(signal.SIGINT, lambda *_: self.stop()) if handle_sigint else None
        try:
            return asyncio.run(self.run())
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    async def run(self) -> RunSummary:
        """Run every trading day; returns the summary (also stored as the session_runs row)."""
        days = self._backtest_days() if self.mode != "live" else None
        if self.persist:
            self.run_id = self.store.start_session_run(
                self.config.session_name,
                self.config_path,
                self.mode,
                self.calendar,
                days[0] if days else self.start,
                days[-1] if days else self.end,
            )
            self.lifecycle.label = f"session {self.run_id}"
        else:
            self.lifecycle.label = f"session {self.config.session_name!r}"
        self.warmup.plan(days)
        # A backtest allocates millions of records, none of them in a reference cycle: the
        # cyclic GC's full collections would rescan them again and again. It is paused for the
        # run (the young generations are collected every CHUNK_DAYS days, everything at the
        # end). A live run keeps the GC on.
        pause_gc = self.mode != "live" and gc.isenabled()
        if pause_gc:
            gc.disable()
        try:
            try:
                await self._run_days(days)
            finally:
                if isinstance(self.feed, LiveFeed):
                    await self.feed.stop()
                if pause_gc:
                    gc.enable()
                    gc.collect()
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
            upcoming = days[index:] if days else [trading_date]
            result = await self._run_day(trading_date, upcoming)
            if not gc.isenabled() and len(self.days) % CHUNK_DAYS == CHUNK_DAYS - 1:
                gc.collect(1)  # the young generations, now and then (cost: objects kept)
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
        local = now.astimezone(self.schedule.timezone).date()
        first = self.schedule.get_first_trading_date(local)
        if self.schedule.is_trading_day(first) and now >= self._window(first).end:
            first = self.schedule.get_next_trading_date(first)
        return first

    async def _wait_for_open(self, open_: datetime) -> None:
        """Live: wait (in short sleeps, so that a stop request is honoured) for the open."""
        import asyncio

        clock = self._clock_or_live()
        while not self._stop_requested:
            remaining = (open_ - clock.now()).total_seconds()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.5))

    def _clock_or_live(self) -> Any:
        if self.clock is None:
            self.clock = LiveClock()
        return self.clock

    def _window(self, trading_date: date) -> SessionWindow:
        """The day's window: the regular session and the included extended phases."""
        return session_window(self.calendar, trading_date, self.extended_hours)

    # -- one trading day ---------------------------------------------------------------------

    async def _run_day(self, trading_date: date, upcoming: Sequence[date]) -> DayResult:
        life, label = self.lifecycle, trading_date.isoformat()
        result = DayResult(trading_date)
        window = self._window(trading_date)
        started = perf_seconds()
        life.load_history(label)
        life.compute_indicators(label)
        life.assess_quality(label)
        self.warmup.before_day(trading_date, result)
        result.persist_seconds += self.warmup.take_persist_seconds()
        result.warmup_seconds = perf_seconds() - started

        life.load_queues(label)
        started = perf_seconds()
        chunks, expected, generated, tick_day = await self._load_day(window, upcoming)
        result.queue_seconds = perf_seconds() - started
        if self.mode == "live":
            await self._wait_for_open(window.start)
        if self._stop_requested:  # asked to stop before the day went active: nothing to end
            result.stopped = True
            return result
        life.activate(label)
        self._activate(window)
        if self._gap_started is not None:
            self.metrics.session_gap.record(perf_seconds() - self._gap_started)
            self._gap_started = None

        life.stream(label)
        self.observer.day_started(trading_date, expected)
        started = perf_seconds()
        bars = await self.streamer.stream(
            window,
            chunks,
            self.clock,
            result,
            groups=aggregation_groups(window, self.generated_intervals),
            generated=generated,
            tick_day=tick_day,
            live=self.mode == "live",
        )
        result.stream_seconds = perf_seconds() - started
        self.observer.day_streamed(trading_date, result.events)
        self.metrics.record_events(
            result.events, result.stream_seconds, self.streamer.event_samples
        )

        life.end_day(label)
        ended = perf_seconds()
        self._end_day(window, bars, tick_day, result)
        result.end_of_day_seconds = perf_seconds() - ended
        self.metrics.session_duration.record(perf_seconds() - started)
        self.metrics.increment_trading_days()
        return result

    async def _load_day(
        self, window: SessionWindow, upcoming: Sequence[date]
    ) -> tuple[AsyncIterator[Iterable[Any]], int | None, Any, TickDay | None]:
        """The day's event chunks, their expected count, its generated bars and ticks."""
        source_step = parse_interval(self.streamed_interval or "1m").timedelta
        if isinstance(self.feed, LiveFeed):
            await self.feed.start()  # before the open: pre-open messages reach on_event
            generated = IncrementalDay(
                self.generated_intervals,
                source_interval=self.streamed_interval or "1m",
                source=GENERATED_SOURCE,
            )
            return self._live_chunks(window), None, generated, None
        feed = self.feed
        if not feed.is_loaded(window.date):
            self._fetch_streamed(upcoming[:CHUNK_DAYS])
            feed.prefetch([self._window(d) for d in upcoming[: self.prefetch_days]])
        day = feed.day(window)
        bars = day.bars()
        vectorised = None
        if self.generated_intervals:
            columns = {s: c for s, c in day.columns.items() if s in self.symbols}
            rows: dict[str, list[Bar]] | None = None
            if self.streamer.subscribers:  # the records each generated bar is emitted after
                rows = {s: [] for s in columns}
                for bar in bars:
                    if bar.symbol in rows:
                        rows[bar.symbol].append(bar)
            vectorised = VectorisedDay(
                aggregation_groups(window, self.generated_intervals),
                columns,
                rows,
                step=source_step,
                source=GENERATED_SOURCE,
            )
        expected = len(bars)
        tick_day = None
        if self.ticks is not None:
            tick_day = self.ticks.load(window)
            expected += tick_day.event_count
        events: Iterable[Any] = bars if tick_day is None else tick_day.merge(bars)
        return _one_chunk(events), expected, vectorised, tick_day

    def _fetch_streamed(self, days: Sequence[date]) -> None:
        """Fetch what the store lacks of the streamed interval for ``days`` (their whole
        windows, extended phases included): one existence query, one bulk request."""
        todo = [d for d in days if d not in self._fetched]
        if self.source is None or not todo:
            return
        load_history(
            self.store,
            self.source,
            source_name=self.source_name,
            calendar=self.calendar,
            symbols=self.symbols,
            intervals=[self.streamed_interval or "1m"],
            start=todo[0],
            end=todo[-1],
            extended_hours=self.extended_hours if any(self.extended_hours) else None,
        )
        self._fetched.update(todo)

    async def _live_chunks(self, window: SessionWindow) -> AsyncIterator[Iterable[Any]]:
        assert isinstance(self.feed, LiveFeed)
        async for chunk in self.feed.stream(window, self.clock, lambda: self._stop_requested):
            yield chunk

    def _activate(self, window: SessionWindow) -> None:
        if self.clock is None:
            self.clock = SimulatedClock(window.start, self.speed_multiplier)
        elif self.mode != "live" and self.clock.now() < window.start:
            self.clock.jump_to(window.start)
        self.session_data.clear_day()
        self.session_data.set_session_active(True)
        self._call_hook(
            "session_started",
            session_name=self.config.session_name,
            exchange=self.calendar,
            trading_date=window.date,
            mode=self.mode,
        )
        self.streamer.start_day(window)

    # -- end of session ----------------------------------------------------------------------

    def _end_day(
        self, window: SessionWindow, bars: list[Bar], tick_day: TickDay | None, result: DayResult
    ) -> None:
        counts = {interval: 0 for interval in self.generated_intervals}
        for bar in bars:
            counts[bar.interval] = counts.get(bar.interval, 0) + 1
        result.generated = counts
        as_of = self.clock.now()
        streamed = self.streamed_interval or "1m"
        values = [
            IndicatorValue(
                name,
                symbol,
                as_of,
                _float_or_none(value),
                complete=value is not None,
                observations=len(self.session_data.series(symbol, streamed)),
            )
            for symbol, name, value in self.streamer.streaming_values()
        ]
        result.indicator_values += len(values)
        gap_filler = self.config.session_data_config.gap_filler
        quality_rows, result.quality = quality.session_quality(
            self.calendar,
            self.session_data,
            self.symbols,
            [streamed, *self.generated_intervals],
            window,
            enabled=gap_filler.enable_session_quality,
            source=GENERATED_SOURCE,
        )
        phase_volumes = []
        if tick_day is not None and self.ticks is not None:
            result.order_flow = self.ticks.order_flow(tick_day)
            phase_volumes = self.ticks.phase_volumes(self.config.session_name)
        if self.persist:
            started = perf_seconds()
            with self.store.writing():
                self._persist(bars, values, quality_rows, phase_volumes)
            result.persist_seconds += perf_seconds() - started
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
            trading_date=window.date,
            summary=summary,
        )
        if isinstance(self.feed, ReplayFeed) and not result.stopped:
            self.warmup.add_streamed_day(window, self.feed.day(window).columns, self.session_data)
        self.session_data.clear_day()
        self.feed.release(window.date)

    def _persist(
        self,
        bars: list[Bar],
        values: list[IndicatorValue],
        quality_rows: list[Any],
        phase_volumes: list[Any],
    ) -> None:
        """The day's results, in one write transaction (``Store.writing``)."""
        if phase_volumes:
            self.store.upsert_phase_volumes(phase_volumes)
        if bars:
            self.store.upsert_bars(bars)
        if values:
            self.store.upsert_indicator_values(values, GENERATED_SOURCE)
        if quality_rows:
            self.store.upsert_quality(quality_rows)

    def _call_hook(self, name: str, **kwargs: Any) -> None:
        """Call a lifecycle hook; a plugin raising is logged and does not stop the session."""
        try:
            getattr(self.host.hook, name)(**kwargs)
        except Exception:
            logger.exception("plugin hook %s raised; the session continues", name)


async def _one_chunk(events: Iterable[Any]) -> AsyncIterator[Iterable[Any]]:
    """A replayed day is one chunk: the loop runs without an await per event."""
    yield events


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
