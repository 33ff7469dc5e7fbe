"""SessionCoordinator: sequences a session run, one exchange trading day at a time.

Per trading day (``daemon.lifecycle`` holds the state table)::

    initialize -> historical data -> historical indicators -> quality -> queue loading
    -> activate -> stream -> end of session -> next trading day | finished | stopped

The coordinator owns the lifecycle and nothing else; each step is delegated:

- **warm-up** (history, historical indicators, quality): ``daemon.warmup`` (rolling);
- **queue loading**: the feed opens the day (``OpenDay``): backtest — missing bars fetched
  (one existence query per chunk of days), ``prefetch_days`` read as columns at once, records
  built, generated bars resampled, recorded ticks merged in; live — the stream started;
- **activate**: clock to the day's start, ``session_started`` hook, ``on_day_start``;
- **stream**: ``daemon.streamer.DayStreamer`` (the hot loop, phases, subscribers);
- **end of session**: session quality (``daemon.quality``), then the day's generated bars,
  streaming indicator values, quality and per-phase volumes are persisted, ``session_ended``.

Live and backtest differ only in the clock and the feed. Stream subscribers (a trading
engine ...) are given to the constructor. Results, with each step's wall time: ``daemon.results``.
"""

from __future__ import annotations

import gc
import logging
import signal
from collections.abc import Sequence
from datetime import date
from typing import Any

from core.config import SessionConfig
from core.errors import SessionError
from core.models import Bar
from core.sessions import SessionWindow, extended_flags, session_window
from core.store import Store
from daemon import quality
from daemon.aggregation.bars import GeneratedBars, aggregation_groups
from daemon.clock import LiveClock, SimulatedClock, perf_seconds
from daemon.feeds import feed_for_config
from daemon.feeds.live import LiveFeed
from daemon.feeds.replay import OpenDay, ReplayFeed
from daemon.feeds.ticks import RecordedTicks, TickDay
from daemon.lifecycle import RunState, SessionRunLifecycle
from daemon.metrics import SessionMetrics
from daemon.results import DayResult, RunObserver, RunSummary
from daemon.schedule import TradingSchedule
from daemon.session_data import SessionData
from daemon.streamer import DayStreamer, StreamSubscriber
from daemon.trading.engine import TradingEngine
from daemon.warmup import CHUNK_DAYS, Warmup
from plugins.history import source_for_config
from plugins.manager import PluginHost

logger = logging.getLogger(__name__)

GENERATED_SOURCE = "sessiond"
"""``source`` of what the engine derives: generated bars, indicator values, quality rows."""

Feed = ReplayFeed | LiveFeed
Clock = SimulatedClock | LiveClock


class SessionCoordinator:
    """Runs one session config over its trading days with injected collaborators: ``store``,
    ``host`` (plugins), ``feed`` (``ReplayFeed`` backtest / ``LiveFeed`` live), ``source`` (None:
    nothing missing can be fetched), ``clock`` (made at the first open when None); ``start``,
    ``end``, ``speed_multiplier`` override the config's (0 = as fast as possible); ``observer``
    gets progress; ``persist=False`` stores nothing; ``subscribers`` get the stream, and so does
    ``trading`` (default: the engine of the config's ``strategy``; results in the summary)."""

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
        trading: TradingEngine | None = None,
    ) -> None:
        self.config, self.store, self.host, self.feed = config, store, host, feed
        self.source, self.clock = source, clock
        self.source_name = source_name or config.api_config.data_api
        self.calendar = config.calendar_name
        self.schedule = schedule or TradingSchedule(self.calendar)
        self.session_data = session_data or SessionData()
        self.config_path, self.mode, self.persist = config_path, config.mode, persist
        backtest = config.backtest_config
        self.start = start or (backtest.start_date if backtest else None)
        self.end = end or (backtest.end_date if backtest else None)
        configured_speed = backtest.speed_multiplier if backtest else 0.0
        self.speed_multiplier = configured_speed if speed_multiplier is None else speed_multiplier
        self.prefetch_days = max(1, int(backtest.prefetch_days)) if backtest else 1
        self.observer = observer if observer is not None else RunObserver()
        self.symbols = tuple(sorted(set(config.session_data_config.symbols)))
        if config.streamed_interval is None and self.mode != "live":
            raise SessionError(
                "session_data_config.streams names no bar interval; a backtest replays bars "
                f'(add one, e.g. "1m"), was {list(config.session_data_config.streams)}'
            )
        self.extended_hours = extended_flags(config.session_data_config.extended_hours)
        streamed = config.streamed_interval or "1m"
        self.generated = GeneratedBars(
            tuple(config.generated_intervals), streamed, GENERATED_SOURCE
        )
        self.lifecycle = SessionRunLifecycle("session")
        self.metrics = SessionMetrics()
        self.run_id: int | None = None
        self.days: list[DayResult] = []
        self._stop_requested = False
        self._gap_started: float | None = None
        self._tick_day: TickDay | None = None
        # the collaborators each step is delegated to
        context = dict(store=store, host=host, source=source, source_name=self.source_name)
        self.warmup = Warmup(
            config, **context, schedule=self.schedule, session_data=self.session_data,
            generated_source=GENERATED_SOURCE, persist=persist,
        )  # fmt: skip
        self.trading = trading or TradingEngine.for_run(self, store if persist else None)
        self.streamer = DayStreamer(
            calendar=self.calendar, symbols=self.symbols, streamed_interval=streamed,
            session_data=self.session_data, indicators=self.warmup.streaming,
            subscribers=(*subscribers, *filter(None, [self.trading])),
            extended_hours=self.extended_hours, hook=self._call_hook,
            stop_requested=self.stop_requested_now, observer=self.observer,
        )  # fmt: skip
        self.ticks = None if self.mode == "live" else RecordedTicks.for_config(
            config, **context, schedule=self.schedule, on_other_event=self.on_other_event
        )  # fmt: skip

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
        feed = feed_for_config(config, store=store, source=source)
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

    def on_other_event(self, event: Any) -> None:
        """A live event that is not a streamed bar: kept in SessionData under its kind."""
        self.session_data.append_event(event)

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
        days = self.schedule.backtest_days(self.start, self.end) if self.mode != "live" else None
        if self.persist:
            first, last = (days[0], days[-1]) if days else (self.start, self.end)
            name, path = self.config.session_name, self.config_path
            self.run_id = self.store.start_session_run(
                name, path, self.mode, self.calendar, first, last
            )
            self.lifecycle.label = f"session {self.run_id}"
        else:
            self.lifecycle.label = f"session {self.config.session_name!r}"
        self.warmup.plan(days)
        # A backtest allocates millions of records, none of them in a reference cycle: the
        # cyclic GC's full collections would rescan them again and again. It is paused for the
        # run (the young generations are collected every CHUNK_DAYS days); a live run keeps it.
        pause_gc = self.mode != "live" and gc.isenabled()
        if pause_gc:
            gc.disable()
        try:
            try:
                await self._run_days(days)
            finally:
                if isinstance(self.feed, LiveFeed):
                    await self.feed.stop()
                if self.trading is not None:
                    self.trading.stop()
                if pause_gc:
                    gc.enable()
            status = self.lifecycle.state
        except BaseException as error:
            if not self.lifecycle.is_terminal:
                self.lifecycle.fail(f"{type(error).__name__}: {error}")
            self._finish_run(RunState.FAILED.value, error=error)
            raise
        return self._finish_run(status.value)

    def _finish_run(self, status: str, error: BaseException | None = None) -> RunSummary:
        summary = RunSummary(self.run_id, self.config.session_name, self.mode, status, self.days)
        summary.trading = self.trading.summary() if self.trading is not None else None
        # the config as run (overrides applied): `sessiond runs show` / `report` read it back
        config = self.config.model_dump(mode="json", exclude_none=True)
        summary.with_metrics({**self.metrics.to_dict(), "config": config}, error)
        if self.persist and self.run_id is not None:
            self.store.finish_session_run(self.run_id, status, summary.metrics)
        return summary

    async def _run_days(self, days: list[date] | None) -> None:
        """Backtest: ``days``; live (None): from today on, forever (until stopped)."""
        life, index = self.lifecycle, 0
        trading_date = days[0] if days else self._first_live_date()
        life.initialize(trading_date.isoformat())
        while True:
            self._gap_started = perf_seconds()
            if self._stop_requested:
                life.stop("before the session started")
                return
            result = await self._run_day(trading_date, days[index:] if days else [trading_date])
            self.days.append(result)
            more = days is None or len(self.days) < len(days)
            if not gc.isenabled() and more and len(self.days) % CHUNK_DAYS == 0:
                gc.collect(1)  # the young generations, now and then (cost: objects kept)
            self.observer.day_ended(result)
            index += 1
            if self._stop_requested:
                life.stop(f"after {trading_date.isoformat()}")
                return
            if days is not None and index >= len(days):
                life.finish(f"{len(days)} trading days")
                return
            trading_date = (
                days[index] if days else self.schedule.get_next_trading_date(trading_date)
            )
            life.next_day(trading_date.isoformat())

    def _first_live_date(self) -> date:
        if self.clock is None:
            self.clock = LiveClock()
        return self.schedule.first_day_ending_after(self.clock.now(), self._window)

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
        day = await self._open_day(window, upcoming)
        result.queue_seconds = perf_seconds() - started
        if isinstance(self.feed, LiveFeed):
            await self.feed.wait_until(window.start, self.clock, self.stop_requested_now)
        if self._stop_requested:  # asked to stop before the day went active: nothing to end
            result.stopped = True
            return result
        life.activate(label)
        self._activate(window)
        if self._gap_started is not None:
            self.metrics.session_gap.record(perf_seconds() - self._gap_started)
            self._gap_started = None

        life.stream(label)
        self.observer.day_started(trading_date, day.expected)
        started = perf_seconds()
        bars = await self.streamer.stream(
            window,
            day.chunks,
            self.clock,
            result,
            groups=aggregation_groups(window, self.generated.intervals),
            generated=day.generated,
            tick_day=self._tick_day,
            live=self.mode == "live",
        )
        result.stream_seconds = perf_seconds() - started
        if result.processing_seconds is None:  # replayed as fast as possible: all of it
            result.processing_seconds = result.stream_seconds
        self.observer.day_streamed(trading_date, result.events)
        self.metrics.record_events(
            result.events, result.processing_seconds, self.streamer.event_samples
        )

        life.end_day(label)
        ended = perf_seconds()
        self._end_day(window, bars, self._tick_day, result)
        result.end_of_day_seconds = perf_seconds() - ended
        self.metrics.session_duration.record(perf_seconds() - started)
        self.metrics.increment_trading_days()
        return result

    async def _open_day(self, window: SessionWindow, upcoming: Sequence[date]) -> OpenDay:
        """Queue loading: the day's events and generated bars (``OpenDay``), from the feed."""
        feed = self.feed
        if isinstance(feed, LiveFeed):
            return await feed.open_day(window, self.generated, self.clock, self.stop_requested_now)
        if not feed.is_loaded(window.date):
            self.warmup.fetch_streamed(upcoming[:CHUNK_DAYS], self.extended_hours)
            feed.prefetch([self._window(d) for d in upcoming[: self.prefetch_days]])
        self._tick_day = self.ticks.load(window) if self.ticks is not None else None
        triggers = bool(self.streamer.subscribers)
        return feed.open_day(
            window, self.generated, symbols=self.symbols, triggers=triggers, ticks=self._tick_day
        )

    def stop_requested_now(self) -> bool:
        """Whether a stop was asked (the streamer and the live feed poll it)."""
        return self._stop_requested

    def _activate(self, window: SessionWindow) -> None:
        if self.clock is None:
            self.clock = SimulatedClock(window.start, self.speed_multiplier)
        elif self.mode != "live" and self.clock.now() < window.start:
            self.clock.jump_to(window.start)
        self.session_data.clear_day()
        self.session_data.set_session_active(True)
        name, exchange, day = self.config.session_name, self.calendar, window.date
        self._call_hook(
            "session_started", session_name=name, exchange=exchange, trading_date=day,
            mode=self.mode,
        )  # fmt: skip
        self.streamer.start_day(window)

    # -- end of session ----------------------------------------------------------------------

    def _end_day(
        self, window: SessionWindow, bars: list[Bar], tick_day: TickDay | None, result: DayResult
    ) -> None:
        result.generated = dict.fromkeys(self.generated.intervals, 0)
        for bar in bars:
            result.generated[bar.interval] += 1
        values = self.streamer.streaming_values(self.clock.now())
        result.indicator_values += len(values)
        enabled = self.config.session_data_config.gap_filler.enable_session_quality
        streamed = [self.config.streamed_interval] if self.config.streamed_interval else []
        intervals = [*streamed, *self.generated.intervals]  # a live config may stream no bars
        quality_rows, result.quality = quality.session_quality(
            self.calendar, self.session_data, self.symbols, intervals, window,
            enabled=enabled, source=GENERATED_SOURCE,
        )  # fmt: skip
        phase_volumes = []
        if tick_day is not None and self.ticks is not None:
            result.order_flow = self.ticks.order_flow(tick_day)
            phase_volumes = self.ticks.phase_volumes(self.config.session_name)
        if self.persist:  # the day's results in one write transaction
            started = perf_seconds()
            with self.store.writing():
                self.store.upsert_phase_volumes(phase_volumes)
                self.store.upsert_bars(bars)
                self.store.upsert_indicator_values(values, GENERATED_SOURCE)
                self.store.upsert_quality(quality_rows)
            result.persist_seconds += perf_seconds() - started
        self.session_data.set_session_active(False)
        name, exchange, summary = self.config.session_name, self.calendar, result.summary()
        self._call_hook(
            "session_ended", session_name=name, exchange=exchange, trading_date=window.date,
            summary=summary,
        )  # fmt: skip
        if isinstance(self.feed, ReplayFeed) and not result.stopped:
            self.warmup.add_streamed_day(window, self.feed.day(window).columns, self.session_data)
        self.session_data.clear_day()
        self.feed.release(window.date)

    def _call_hook(self, name: str, **kwargs: Any) -> None:
        """Call a lifecycle hook; a plugin raising is logged and does not stop the session."""
        try:
            getattr(self.host.hook, name)(**kwargs)
        except Exception:
            logger.exception("plugin hook %s raised; the session continues", name)
