"""The daemon as a service: several session configs in one process (``sessiond daemon``).

::

    SessionDaemon ─┬─ lease per session (core.leases: refused when another daemon holds it)
                   ├─ one asyncio task per config: LiveSession.run() (live) or
                   │  SessionCoordinator.run() (backtest), tagged for the logs (daemon.logs)
                   ├─ one API for all (daemon.api.create_service_app: routes scoped by
                   │  session, /healthz, /readyz, /metrics)
                   └─ heartbeat: renews the leases, samples events/s for the metrics

- **Start**: every config's lease is taken first; if another live daemon holds one, nothing
  starts (``LeaseError`` naming the holder). A lease whose holder is dead is taken over: at
  once when the holder was a process of this host that no longer runs, otherwise when its
  heartbeat expired (``lease_ttl_seconds``). Then the API starts, then the sessions.
- **Each session fails alone**: a session that cannot be built (bad source settings) or
  whose run raises is marked ``failed`` (logged with its session, exchange and run id; its
  run row is marked failed by the coordinator; its lease is released) while the others run.
- **Stop** (:meth:`SessionDaemon.stop`, safe from a signal handler; the CLI wires SIGTERM and
  SIGINT): every session ends its day cleanly — the recorder flushes what was received, the
  per-phase volumes are written, the streams are closed, the run rows are marked
  ``stopped`` — then the API stops and the leases are released.
- **Heartbeat** (every ``heartbeat_seconds``): renews the running sessions' leases with their
  run ids; a lease lost to another daemon stops that session (it must not run twice); a store
  outage is logged and retried at the next beat (the lease outlives a few missed beats).
- The daemon ends when every session has ended; :attr:`exit_code` is 0 when none failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.errors import LeaseError, SessiondError
from core.leases import (
    DEFAULT_TTL_SECONDS,
    LeaseHolder,
    LeaseStore,
    database_now,
    holder_is_dead_here,
    read_leases,
)
from daemon.api import ApiOptions, ApiServer, ApiSession, SessionView, create_service_app
from daemon.clock import LiveClock, perf_seconds
from daemon.logs import LogContext, bind_session, unbind_session

logger = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_SECONDS = 5.0
"""Seconds between two lease renewals (and events/s samples)."""

CLOCK_SKEW_LIMIT_SECONDS = 5.0
"""``/readyz`` reports the clock insane when the wall clock and the store's clock differ more."""

LATENCY_SAMPLE_EVERY = 64
"""One event in this many is timed through the session's event handling (``/metrics``)."""


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """One config the daemon runs: the loaded config and the file it came from."""

    config: Any
    config_path: str


@dataclass
class ServiceSession:
    """A session of the daemon and what it reports (health, metrics, status)."""

    spec: SessionSpec
    view: SessionView
    status: str = "pending"
    """pending -> running -> stopped | finished | failed."""
    error: str | None = None
    live: Any = None
    """The ``LiveSession`` of a live config."""
    coordinator: Any = None
    task: asyncio.Task[Any] | None = None
    summary: Any = None
    events_per_second: float = 0.0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=4096))
    """Recent sampled event handling times, seconds (market state + recorder buffer)."""
    _rate_mark: tuple[float, int] | None = None

    @property
    def name(self) -> str:
        return str(self.spec.config.session_name)

    @property
    def run_id(self) -> int | None:
        return None if self.coordinator is None else self.coordinator.run_id

    @property
    def state(self) -> Any:
        return None if self.live is None else self.live.state

    @property
    def events(self) -> int:
        if self.live is not None:
            return int(self.live.feed.received)
        if self.coordinator is not None:
            return int(sum(day.events for day in self.coordinator.days))
        return 0


class SessionDaemon:
    """Runs ``specs`` in one process with one API and a lease per session (module doc).

    ``store``: a ``core.store.Store`` shared by the sessions; ``host``: the ``PluginHost``.
    ``sources``: data source instances by session name (default: from each config through
    the host). ``clock_start``: start every live clock at this instant (drills, tests).
    """

    def __init__(
        self,
        specs: Sequence[SessionSpec],
        *,
        store: Any,
        host: Any,
        api: ApiOptions | None = None,
        clock_start: datetime | None = None,
        sources: Mapping[str, Any] | None = None,
        lease_ttl_seconds: float = DEFAULT_TTL_SECONDS,
        heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS,
        flush_interval_seconds: float = 1.0,
        holder: LeaseHolder | None = None,
    ) -> None:
        names = [spec.config.session_name for spec in specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SessiondError(
                f"session_name {duplicates[0]!r} is given by several configs: each session of a "
                "daemon needs its own session_name (it keys the lease and the stored results)"
            )
        if not specs:
            raise SessiondError("no session config given: pass at least one CONFIG")
        self.store = store
        self.host = host
        self.api = api or ApiOptions()
        self.api.check()
        self.clock_start = clock_start
        self.sources = dict(sources or {})
        self.heartbeat_seconds = heartbeat_seconds
        self.flush_interval_seconds = flush_interval_seconds
        self.holder = holder or LeaseHolder.this_process()
        self.leases = LeaseStore(store, self.holder, ttl_seconds=lease_ttl_seconds)
        self.sessions: dict[str, ServiceSession] = {}
        for spec in specs:
            config = spec.config
            view = SessionView(config.session_name, config.calendar_name, config.mode)
            self.sessions[config.session_name] = ServiceSession(spec, view)
        self.api_sessions: dict[str, ApiSession] = {}
        self.server: ApiServer | None = None
        self.lease_renew_failures = 0
        self.lease_takeovers = 0
        self._stop_requested = False
        self._heartbeat: asyncio.Task[None] | None = None
        self.metrics_registry: Any = None

    # -- control ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every session cleanly, then the API (safe from a signal handler)."""
        if self._stop_requested:
            return
        self._stop_requested = True
        logger.info("stop requested: ending every session cleanly")
        for session in self.sessions.values():
            if session.live is not None:
                session.live.stop()
            elif session.coordinator is not None:
                session.coordinator.stop()

    @property
    def api_url(self) -> str:
        port = self.server.bound_port if self.server is not None else self.api.port
        host = self.api.host if ":" not in self.api.host else f"[{self.api.host}]"
        return f"http://{host}:{port}/"

    @property
    def exit_code(self) -> int:
        return 1 if any(s.status == "failed" for s in self.sessions.values()) else 0

    # -- run -------------------------------------------------------------------------------

    async def run(self) -> dict[str, ServiceSession]:
        """Take the leases, start the API and every session; return when all have ended."""
        from daemon.prometheus import LogCounter, exposition, service_registry

        self._take_leases()
        log_counter = LogCounter()
        logging.getLogger().addHandler(log_counter)
        try:
            for session in self.sessions.values():
                self._build(session)
            failed = [s.name for s in self.sessions.values() if s.status == "failed"]
            if failed:
                await asyncio.to_thread(self.leases.release, failed)
            self.metrics_registry = service_registry(self, log_counter)
            app = create_service_app(
                self.api_sessions,
                options=self.api,
                default=next(iter(self.sessions)),
                readiness=self.readiness,
                metrics=lambda: exposition(self.metrics_registry),
            )
            self.server = ApiServer(app, self.api.host, self.api.port, limits=self.api.limits)
            await self.server.start()
            for session in self.sessions.values():  # record where the API is
                if session.status != "failed":
                    self.leases.acquire(
                        session.name, session.spec.config_path, api_url=self.api_url
                    )
            logger.info("live API on %s serving %s", self.api_url, ", ".join(self.sessions))
            self._heartbeat = asyncio.create_task(self._beat(), name="sessiond-heartbeat")
            for session in self.sessions.values():
                if session.status == "pending":
                    session.task = asyncio.create_task(
                        self._run_session(session), name=f"session-{session.name}"
                    )
            tasks = [s.task for s in self.sessions.values() if s.task is not None]
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            if self._heartbeat is not None:
                self._heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._heartbeat
            if self.server is not None:
                await self.server.stop()
            await asyncio.to_thread(self._release_all)
            logging.getLogger().removeHandler(log_counter)
        return self.sessions

    def _take_leases(self) -> None:
        taken: list[str] = []
        try:
            for session in self.sessions.values():
                self._take_lease(session)
                taken.append(session.name)
        except BaseException:
            if taken:
                with contextlib.suppress(Exception):
                    self.leases.release(taken)
            raise

    def _take_lease(self, session: ServiceSession) -> None:
        name, path = session.name, session.spec.config_path
        try:
            self.leases.acquire(name, path)
            return
        except LeaseError:
            _, rows = read_leases(self.store)
            current = next((row for row in rows if row.session_name == name), None)
            if current is None or not holder_is_dead_here(current, self.holder):
                raise
        logger.warning(
            "session %s: taking over the lease of %s (that process is gone)",
            name,
            current.describe(),
        )
        self.leases.acquire(name, path, take_over=current.holder)
        self.lease_takeovers += 1

    def _release_all(self) -> None:
        try:
            released = self.leases.release()
            logger.info("released %d session lease(s)", released)
        except SessiondError as error:
            logger.warning("could not release the session leases (they expire): %s", error)

    def _build(self, session: ServiceSession) -> None:
        """The session's LiveSession / coordinator; a failure fails this session only."""
        config, path = session.spec.config, session.spec.config_path
        token = bind_session(LogContext(session.name, config.calendar_name, lambda: None))
        try:
            if config.mode == "live":
                from daemon.live_session import LiveSession

                live = LiveSession(
                    config,
                    store=self.store,
                    host=self.host,
                    config_path=path,
                    api=self.api,
                    clock_start=self.clock_start,
                    flush_interval_seconds=self.flush_interval_seconds,
                    source=self.sources.get(session.name),
                    serve_api=False,
                )
                session.live, session.coordinator = live, live.coordinator
                session.view = live.view
                self._observe_events(session)
            else:
                from daemon.coordinator import SessionCoordinator

                session.coordinator = SessionCoordinator.for_config(
                    config,
                    store=self.store,
                    host=self.host,
                    config_path=path,
                    source=self.sources.get(session.name),
                )
        except Exception as error:
            self._fail(session, error, "could not start")
        finally:
            unbind_session(token)
        self.api_sessions[session.name] = ApiSession(session.view, session.state)

    def _observe_events(self, session: ServiceSession) -> None:
        """Time one event in ``LATENCY_SAMPLE_EVERY`` through the live session's handling."""
        feed = session.live.feed
        handle = feed.on_event
        latencies = session.latencies
        counter = 0

        def observed(event: Any) -> None:
            nonlocal counter
            counter += 1
            if counter % LATENCY_SAMPLE_EVERY:
                handle(event)
                return
            started = perf_seconds()
            handle(event)
            latencies.append(perf_seconds() - started)

        feed.on_event = observed

    async def _run_session(self, session: ServiceSession) -> None:
        config = session.spec.config
        bind_session(LogContext(session.name, config.calendar_name, lambda: session.run_id))
        if self._stop_requested:
            session.status = "stopped"
            return
        session.status = "running"
        session.view.state = "running"
        logger.info("session %s started (%s, %s)", session.name, config.mode, config.calendar_name)
        try:
            if session.live is not None:
                summary = await session.live.run()
            else:
                summary = await session.coordinator.run()
        except Exception as error:
            self._fail(session, error, "failed")
        else:
            session.summary = summary
            session.status = "stopped" if summary.status == "stopped" else "finished"
            session.view.state = summary.status
            logger.info(
                "session %s %s (run %s, %d events)",
                session.name,
                summary.status,
                summary.run_id,
                session.events,
            )
        finally:
            with contextlib.suppress(SessiondError):
                await asyncio.to_thread(self.leases.release, [session.name])

    def _fail(self, session: ServiceSession, error: BaseException, what: str) -> None:
        session.status = "failed"
        session.view.state = "failed"
        message = f"{type(error).__name__}: {error}"
        session.error = message[:500]
        if isinstance(error, SessiondError):
            logger.error("session %s %s: %s", session.name, what, error)
        else:
            logger.error("session %s %s", session.name, what, exc_info=error)

    # -- heartbeat, readiness ------------------------------------------------------------------

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            self._sample_rates()
            running = [s for s in self.sessions.values() if s.status == "running"]
            if not running:
                continue
            try:
                lost = await asyncio.to_thread(
                    self.leases.renew,
                    [s.name for s in running],
                    run_ids={s.name: s.run_id for s in running},
                )
            except SessiondError as error:
                self.lease_renew_failures += 1
                logger.warning("lease heartbeat failed (retried at the next beat): %s", error)
                continue
            for name in lost:
                session = self.sessions[name]
                logger.error(
                    "session %s: its lease was taken over by another daemon; stopping it", name
                )
                session.error = "lease lost to another daemon"
                if session.live is not None:
                    session.live.stop()
                elif session.coordinator is not None:
                    session.coordinator.stop()

    def _sample_rates(self) -> None:
        now = perf_seconds()
        for session in self.sessions.values():
            events = session.events
            mark = session._rate_mark
            if mark is not None and now > mark[0]:
                session.events_per_second = (events - mark[1]) / (now - mark[0])
            session._rate_mark = (now, events)

    async def readiness(self) -> dict[str, bool]:
        """``/readyz``: ``store`` (answers within 2 s), ``streams`` (every running live
        session's feed is connected), ``clock`` (wall clock within
        ``CLOCK_SKEW_LIMIT_SECONDS`` of the store's clock), ``sessions`` (none failed)."""
        store_now: datetime | None = None
        try:
            store_now = await asyncio.wait_for(asyncio.to_thread(self._store_now), 2.0)
        except Exception:
            store_now = None
        running = [s for s in self.sessions.values() if s.status == "running"]
        streams = all(s.live.feed.is_connected for s in running if s.live is not None)
        clock = store_now is not None and (
            abs((LiveClock.wall_now() - store_now).total_seconds()) <= CLOCK_SKEW_LIMIT_SECONDS
        )
        return {
            "store": store_now is not None,
            "streams": streams,
            "clock": clock,
            "sessions": all(s.status != "failed" for s in self.sessions.values()),
        }

    def _store_now(self) -> datetime:
        with self.store.engine.connect() as conn:
            return database_now(conn)


def run_daemon(
    daemon: SessionDaemon, *, on_started: Callable[[SessionDaemon], None] | None = None
) -> int:
    """Run ``daemon`` in a new event loop with SIGTERM/SIGINT wired to :meth:`stop`; returns
    its exit code."""
    import signal

    async def main() -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, daemon.stop)
        task = asyncio.create_task(daemon.run())
        while daemon.server is None or not daemon.server.started:
            if task.done():
                break
            await asyncio.sleep(0.01)
        if not task.done() and on_started is not None:
            on_started(daemon)
        await task
        return daemon.exit_code

    return asyncio.run(main())


__all__ = [
    "DEFAULT_HEARTBEAT_SECONDS",
    "LATENCY_SAMPLE_EVERY",
    "ServiceSession",
    "SessionDaemon",
    "SessionSpec",
    "run_daemon",
]
