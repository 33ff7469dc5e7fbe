"""A live session with its market state, recorder and API: what ``sessiond run`` starts in live mode.

Wiring (one asyncio loop)::

    data source.subscribe ─▶ LiveFeed ─┬─ bars ─▶ SessionCoordinator (bars, indicators, days)
                                       └─ other events ─▶ coordinator.on_other_event
                                                        ─▶ MarketState (order flow, foreign,
                                                           indices, basis) ─▶ API / websocket
                                                        ─▶ EventRecorder ─▶ store (batched)

- **Symbols**: a source may map session symbols to what trades on a day
  (``resolve_symbols(symbols, day)``, e.g. SSI's ``VN30F1M`` -> the front-month VN30 futures
  code); the resolved futures code is the basis contract.
- **Source**: ``plugins.history.source_for_config`` (the config's ``data_api_options``, and its
  ``extended_hours`` when the source's constructor takes them).
- **Classifier chain**: ``session_data_config.classifiers``, else the source class's
  ``default_classifiers``, else ``plugins.classification.DEFAULT_CHAIN``; each symbol gets
  its own chain of fresh rules from ``PluginHost.create_classifier``. The market state is
  built by ``daemon.market_state.market_setup``, as in backtests replaying recorded days.
- **Memory**: trades and quotes go to the market state and the recorder only (not kept in
  ``SessionData`` for the day, so memory stays flat at thousands of messages a second);
  ``keep_ticks=True`` keeps them there too. Other kinds reach ``coordinator.on_other_event``.
- **Subscribers** (``subscribers=[...]``, ``daemon.streamer.StreamSubscriber``): the same
  stream seam as a backtest; trades and quotes reach them as the feed receives them.
- **Persistence**: every ``flush_interval_seconds`` the recorder writes the events received
  (one batch per kind) and the day's per-phase volumes are upserted (``phase_volumes``) when
  they changed. On start the current statistics day's rows are restored, so a restart
  mid-day resumes without double counting (the restored ``TotalVol`` marks drop repeats).
- **Day boundary**: the same tick rolls the market state at 15:00 exchange-local time (the
  final rows of the finished day are persisted first); events of an earlier day arriving late
  are dropped by the state.
- **API**: ``daemon.api`` on ``api_host:api_port`` (token required beyond loopback);
  ``serve_api=False`` when the process serves one API for several sessions
  (``daemon.service``), which then reads ``state`` and ``view``.
- **Stopping**: :meth:`stop` (Ctrl-C) ends the current day cleanly, also while waiting for
  the open (the clock's wait is stop-aware).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from core.config import STREAM_KINDS
from core.models import PhaseVolume
from daemon.api import (
    DEFAULT_API_HOST,
    DEFAULT_API_PORT,
    ApiOptions,
    ApiServer,
    ApiSettings,
    MetricsExposition,
    ReadinessProbe,
    SessionView,
    create_app,
)
from daemon.clock import LiveClock
from daemon.feeds.live import LiveFeed
from daemon.market_state import (
    classifier_names,
    event_router,
    futures_contract_of,
    market_setup,
    phase_volume_rows,
    resolve_symbols,
)
from daemon.results import RunObserver, RunSummary
from daemon.schedule import TradingSchedule
from daemon.streamer import StreamSubscriber
from plugins.history import source_for_config
from plugins.recording import EventRecorder

logger = logging.getLogger(__name__)

_WAIT_SLICE_SECONDS = 0.1
"""How often a stop-aware clock wait re-checks for a stop request."""

GIL_SWITCH_SECONDS = 0.0005
"""GIL switch interval while a live session runs (Python's default is 0.005 s)."""


class StoppableLiveClock(LiveClock):
    """A :class:`LiveClock` whose async waits end early once ``stop_requested`` is set, so a
    stop while the session waits for the open ends the run at once, and whose ``jump_to``
    (the lunch break) does not block the loop."""

    __slots__ = ("stop_requested",)

    def __init__(self, start_at: datetime | None = None, speed_multiplier: float = 1.0) -> None:
        super().__init__(start_at, speed_multiplier)
        self.stop_requested = False

    async def advance_to_async(self, ts: datetime) -> None:
        while not self.stop_requested and (delay := self.seconds_until(ts)) > 0:
            await asyncio.sleep(min(delay, _WAIT_SLICE_SECONDS))

    def jump_to(self, ts: datetime) -> None:
        """Never blocks the event loop (the API and the market state share it): returns at
        once; live time reaches ``ts`` by itself and the async waits do the waiting."""


def live_channels(config: Any) -> list[str]:
    """The source channels a config streams: ``bars`` when a bar interval is streamed, plus
    the non-bar streams it names (trades, quotes, foreign, index, status)."""
    streams = config.session_data_config.streams
    channels = ["bars"] if config.streamed_interval else []
    return channels + [s for s in streams if s in STREAM_KINDS]


class LiveSession:
    """Runs a live session config with its market state, recorder and API (see module doc)."""

    def __init__(
        self,
        config: Any,
        *,
        store: Any,
        host: Any,
        config_path: str = "",
        api: ApiOptions | None = None,
        clock_start: datetime | None = None,
        observer: RunObserver | None = None,
        flush_interval_seconds: float = 1.0,
        source: Any = None,
        keep_ticks: bool = False,
        serve_api: bool = True,
        clock_speed: float = 1.0,
        subscribers: Sequence[StreamSubscriber] = (),
    ) -> None:
        from daemon.coordinator import SessionCoordinator

        self.config = config
        self.store = store
        self.host = host
        self.api = api or ApiOptions()
        self.serve_api = serve_api
        if serve_api:
            self.api.check()
        self.readiness: ReadinessProbe | None = None
        """``/readyz`` checks of the API it serves (set before :meth:`run`)."""
        self.metrics_exposition: MetricsExposition | None = None
        """``/metrics`` of the API it serves (set before :meth:`run`)."""
        self.persist_failures = 0
        """Failed writes of the per-phase volumes (each retried at the next tick)."""
        self.flush_interval_seconds = flush_interval_seconds
        self.calendar = config.calendar_name
        self.schedule = TradingSchedule(self.calendar)
        if source is None:
            source = source_for_config(host, config)
        self.source = source
        self.clock = StoppableLiveClock(clock_start, clock_speed)
        self.symbols = list(config.session_data_config.symbols)
        market = market_setup(
            config, host=host, source=source, trading_date=self._first_trading_date()
        )
        resolved = market.resolved
        self.futures_contract = market.futures_contract
        self.group_symbols = market.group_symbols
        self.classifiers = market.classifiers
        self.state = market.state
        self.feed = LiveFeed(
            source,
            symbols=resolved,
            interval=config.streamed_interval or "1m",
            channels=live_channels(config),
        )
        self.coordinator = SessionCoordinator(
            config,
            store=store,
            host=host,
            feed=self.feed,
            source=source,
            clock=self.clock,
            config_path=config_path,
            observer=observer,
            subscribers=subscribers,
        )
        self.recorder = EventRecorder(
            store, clock=self.clock.now, flush_interval_seconds=flush_interval_seconds
        )
        self.view = SessionView(
            config.session_name,
            self.calendar,
            config.mode,
            state="created",
            symbols=resolved,
            group_symbols=self.group_symbols,
            futures_contract=self.futures_contract,
            extra={"classifiers": list(self.classifiers), "api_auth": bool(self.api.token)},
            clock=self.clock.now,
        )
        self.server: ApiServer | None = None
        self._persisted_version = -1
        self._ticker: asyncio.Task[None] | None = None
        # Trades and quotes are aggregated and recorded, not kept in SessionData for the day
        # (unless keep_ticks); the low-rate kinds reach coordinator.on_other_event too.
        self.feed.on_event = event_router(
            self.state, self.coordinator.on_other_event, self.recorder, keep_ticks=keep_ticks
        )
        self.feed.tap = self.coordinator.streamer.live_tap

    # -- symbols -------------------------------------------------------------------------------

    def _first_trading_date(self) -> date:
        now = self.clock.now()
        local = now.astimezone(self.schedule.timezone).date()
        first = self.schedule.get_first_trading_date(local)
        session = self.schedule.get_trading_session(first)
        if session is not None and now >= session.close:
            first = self.schedule.get_next_trading_date(first)
        return first

    def _resolve(self, day: date) -> list[str]:
        return resolve_symbols(self.source, self.symbols, day)

    def _futures_contract(self, resolved: Sequence[str]) -> str | None:
        """The first symbol the source resolved to another code (a front-month alias)."""
        return futures_contract_of(self.symbols, resolved)

    # -- control -------------------------------------------------------------------------------

    def stop(self) -> None:
        """End the current day cleanly and stop (safe from a signal handler)."""
        self.clock.stop_requested = True
        self.coordinator.stop()

    @property
    def api_url(self) -> str:
        port = self.server.bound_port if self.server is not None else self.api.port
        return f"http://{self.api.host}:{port}/"

    async def run_announced(
        self,
        announce: Callable[[str], None],
        should_stop: Callable[[], bool] | None = None,
    ) -> RunSummary:
        """:meth:`run` as the CLI runs it: SIGINT / SIGTERM stop it cleanly, ``announce`` gets
        the API's URL once it listens, and ``should_stop()`` (asked every 0.1 s) ends it too."""
        import signal

        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self.stop)
        loop.add_signal_handler(signal.SIGTERM, self.stop)
        task = asyncio.create_task(self.run())
        while self.server is None or not self.server.started:
            if task.done():
                return await task
            await asyncio.sleep(0.01)
        announce(self.api_url)
        while not task.done():
            if should_stop is not None and should_stop():
                self.stop()
                break
            await asyncio.wait({task}, timeout=0.1)
        return await task

    async def run(self) -> RunSummary:
        """Start the API, restore today's volumes, run the coordinator until stopped."""
        state = self.state
        today = self.statistics_day(self.clock.now())
        state.reset(today)
        self.restore(today)
        if self.serve_api:
            app = create_app(
                state,
                self.view,
                options=self.api,
                readiness=self.readiness,
                metrics=self.metrics_exposition,
            )
            self.server = ApiServer(app, self.api.host, self.api.port, limits=self.api.limits)
            await self.server.start()
        self.recorder.start()
        self._ticker = asyncio.create_task(self._tick(), name="live-session-tick")
        gc.freeze()  # start-up objects (plugins, calendars, config) are never rescanned
        # The recorder's store writes run in a worker thread; a short GIL switch interval
        # keeps them from holding up the event loop (p99 latency ~200 ms -> ~35 ms at
        # 2,000 messages/s in benchmarks/live_api_latency.py).
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        try:
            return await self.coordinator.run()
        finally:
            sys.setswitchinterval(switch_interval)
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            await self.recorder.close()
            await asyncio.to_thread(self.persist_phase_volumes, force=True)
            self.view.state = str(self.coordinator.lifecycle.state.value)
            if self.server is not None:
                await self.server.stop()

    def run_sync(self) -> RunSummary:
        return asyncio.run(self.run())

    # -- persistence and the day boundary ------------------------------------------------------

    def statistics_day(self, now: datetime) -> date:
        """The trading day whose statistics run at ``now``: the market state's day (which
        rolls after the exchange's last phase), moved to the next trading day over weekends
        and holidays."""
        return self.schedule.get_first_trading_date(self.state.stats_day(now))

    def restore(self, day: date) -> int:
        """Load the persisted per-phase volumes of ``day`` into the market state."""
        rows = self.store.read_phase_volumes(self.config.session_name, start_date=day, end_date=day)
        if rows:
            from daemon.aggregation.order_flow import VolumeBreakdown

            self.state.restore_phase_volumes(
                (
                    r.symbol,
                    r.phase,
                    VolumeBreakdown(
                        r.buy_volume,
                        r.sell_volume,
                        r.neutral_volume,
                        r.buy_value,
                        r.sell_value,
                        r.neutral_value,
                        r.trade_count,
                    ),
                    r.last_total_volume,
                )
                for r in rows
            )
        return len(rows)

    def phase_volume_rows(self) -> list[PhaseVolume]:
        """The state's per-phase volumes as store rows (copied: safe to write in a thread)."""
        return phase_volume_rows(self.state, self.config.session_name)

    def persist_phase_volumes(self, *, force: bool = False, rows: list[Any] | None = None) -> int:
        """Upsert the day's per-phase volumes when they changed since the last write."""
        if rows is None:
            if not force and self.state.version == self._persisted_version:
                return 0
            self._persisted_version = self.state.version
            rows = self.phase_volume_rows()
        return self.store.upsert_phase_volumes(rows) if rows else 0

    async def _tick(self) -> None:
        """Every flush interval: roll the day at 15:00 local, persist volumes, mirror state."""
        state = self.state
        while True:
            await asyncio.sleep(self.flush_interval_seconds)
            try:
                self.view.state = str(self.coordinator.lifecycle.state.value)
                now = self.clock.now()
                day = self.statistics_day(now)
                if state.trading_date is not None and day > state.trading_date:
                    final = self.phase_volume_rows()
                    state.reset(day)
                    self._on_new_day(day)
                    await asyncio.to_thread(self.persist_phase_volumes, rows=final)
                if state.version != self._persisted_version:
                    self._persisted_version = state.version
                    rows = self.phase_volume_rows()
                    await asyncio.to_thread(self.persist_phase_volumes, rows=rows)
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed write is retried at the next tick
                self._persisted_version = -1
                self.persist_failures += 1
                logger.exception("live session: persisting per-phase volumes failed")

    def _on_new_day(self, trading_day: date) -> None:
        contract = self._futures_contract(self._resolve(trading_day))
        if contract is not None and contract != self.futures_contract:
            # The subscription keeps the contract it started with until the daemon restarts.
            logger.warning(
                "primary futures contract rolled to %s on %s; restart the session to stream it",
                contract,
                trading_day.isoformat(),
            )
        self.view.trading_date = None


__all__ = [
    "DEFAULT_API_HOST",
    "DEFAULT_API_PORT",
    "ApiOptions",
    "ApiSettings",
    "LiveSession",
    "StoppableLiveClock",
    "classifier_names",
    "live_channels",
]
