"""LiveFeed: a data source's live stream in the coordinator's event interface.

The live half of "one engine, two clocks". ``start()`` calls the source's ``subscribe(symbols,
channels)`` once and pumps its ``LiveSubscription`` into a queue; ``stream(window, clock)``
yields, for one trading day, *lists* of the streamed interval's bars as they arrive (whatever
is queued is drained at once, so a burst costs one await, not one per event) until the clock
reaches the window's end, the subscription finishes or ``should_stop()`` says so.

Bars of the streamed interval for the session's symbols are what the streamer's hot loop
consumes (``core.models.Bar`` records, as the replay path streams them).
Every other event (trades, quotes, foreign room, index ticks, statuses, bars of another
interval) goes to ``on_event`` if one was given, else it is counted in ``other_events`` — as
it arrives, from the pump, whether or not a day is streaming: pre-open messages, the ATC print
published just after the close and put-through deals reach it in real time (a consumer's
exception is logged and counted in ``handler_errors``). Then ``tap`` (when set) sees it too:
the streamer's stream subscribers get their trades and quotes there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from core.errors import SourceError
from core.models import Bar
from daemon.aggregation.bars import GeneratedBars
from daemon.feeds.replay import OpenDay
from plugins.interfaces import supports

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.25
"""How often a waiting ``stream`` re-checks ``should_stop`` (seconds)."""

_DRAIN_SECONDS = 2.0
"""On stop, how long the events a subscription already received may take to be handed on."""

_END = object()


class LiveFeed:
    """Wraps ``source.subscribe(symbols, channels)`` (see ``plugins.interfaces.LiveSource``)."""

    def __init__(
        self,
        source: Any,
        *,
        symbols: Sequence[str],
        interval: str,
        channels: Sequence[str] = ("bars",),
        on_event: Callable[[Any], None] | None = None,
        max_batch: int = 4096,
    ) -> None:
        self.source = source
        self.symbols = tuple(sorted(set(symbols)))
        self.interval = interval
        self.channels = tuple(channels)
        self.on_event = on_event
        self.tap: Callable[[Any], None] | None = None
        """Called with every non-bar event after ``on_event`` (the stream subscribers')."""
        self.max_batch = max_batch
        self.other_events = 0
        self.handler_errors = 0
        self.received = 0
        self._wanted = frozenset(self.symbols)
        self._queue: asyncio.Queue[Any] | None = None
        self._subscription: Any = None
        self._pump: asyncio.Task[None] | None = None
        self._finished = False
        self._last_counters: dict[str, int] = {}

    @property
    def is_started(self) -> bool:
        return self._subscription is not None

    @property
    def is_connected(self) -> bool:
        """Started, not finished, and the subscription says it is connected (a subscription
        without ``is_connected`` counts as connected while it runs)."""
        subscription = self._subscription
        if subscription is None or self._finished:
            return False
        return bool(getattr(subscription, "is_connected", True))

    @property
    def queued(self) -> int:
        """Bars received and not yet streamed."""
        return self._queue.qsize() if self._queue is not None else 0

    def counters(self) -> dict[str, int]:
        """The subscription's counters (``LiveSubscription.counters``; empty without); after
        ``stop()`` the last ones read."""
        counters = getattr(self._subscription, "counters", None)
        if callable(counters):
            self._last_counters = dict(counters())
        return dict(self._last_counters)

    async def start(self) -> None:
        """Subscribe (once; later calls are no-ops while the stream runs)."""
        if self._subscription is not None:
            return
        if not supports(self.source, "subscribe"):
            name = getattr(self.source, "name", type(self.source).__name__)
            raise SourceError(
                f"data source {name!r} has no live stream (subscribe); use mode 'backtest' or a "
                "source that streams (ssi, alpaca)"
            )
        self._queue = asyncio.Queue()
        self._finished = False
        self._subscription = self.source.subscribe(list(self.symbols), list(self.channels))
        self._pump = asyncio.create_task(self._run_pump(), name="sessiond-live-feed")

    async def _run_pump(self) -> None:
        assert self._queue is not None
        queue = self._queue
        wanted, interval = self._wanted, self.interval
        try:
            async for event in self._subscription:
                self.received += 1
                if type(event) is Bar and event.interval == interval and event.symbol in wanted:
                    queue.put_nowait(event)
                else:
                    if self.on_event is not None:
                        try:
                            self.on_event(event)
                        except Exception:  # a consumer's bug never stops the stream
                            self.handler_errors += 1
                            logger.exception(
                                "live event handler failed on a %s", type(event).__name__
                            )
                    else:
                        self.other_events += 1
                    if self.tap is not None:
                        self.tap(event)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # surfaced to the consumer, which raises it
            queue.put_nowait(error)
        finally:
            queue.put_nowait(_END)

    async def stream(
        self,
        window: Any,
        clock: Any,
        should_stop: Callable[[], bool] | None = None,
    ) -> AsyncIterator[list[Any]]:
        """Yield lists of bars until ``clock.now() >= window.end``, the stream ends or a stop."""
        if self._queue is None:
            await self.start()
        assert self._queue is not None
        queue = self._queue
        while not self._finished:
            if should_stop is not None and should_stop():
                return
            remaining = (
                clock.seconds_until(window.end)  # wall seconds: a demo clock runs faster
                if hasattr(clock, "seconds_until")
                else (window.end - clock.now()).total_seconds()
            )
            if remaining <= 0:
                return
            if queue.empty():
                try:  # asyncio.timeout: no task per wait (wait_for makes one), same semantics
                    async with asyncio.timeout(min(remaining, _POLL_SECONDS)):
                        first = await queue.get()
                except TimeoutError:
                    continue
            else:
                first = queue.get_nowait()
            batch = [first]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            bars = []
            for item in batch:
                if item is _END:
                    self._finished = True
                elif isinstance(item, BaseException):
                    self._finished = True
                    raise SourceError(f"live stream failed: {item}") from item
                else:
                    bars.append(item)
            if bars:
                yield bars

    async def stop(self, drain_seconds: float = _DRAIN_SECONDS) -> None:
        """Stop the subscription, then let the pump hand on what the subscription had
        already received (up to ``drain_seconds``) before it is cancelled. Idempotent."""
        self.counters()  # keep the last ones
        subscription, self._subscription = self._subscription, None
        if subscription is not None and supports(subscription, "stop"):
            await subscription.stop()
        pump, self._pump = self._pump, None
        if pump is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(pump), drain_seconds)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        self._queue = None

    async def wait_until(self, ts: Any, clock: Any, should_stop: Callable[[], bool]) -> None:
        """Wait (short sleeps, so that a stop request is honoured) until ``clock`` reaches
        ``ts`` (the open)."""
        while not should_stop():
            until = getattr(clock, "seconds_until", None)  # wall seconds (a demo clock is faster)
            remaining = until(ts) if until is not None else (ts - clock.now()).total_seconds()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.5))

    async def open_day(
        self,
        window: Any,
        generated: GeneratedBars,
        clock: Any,
        should_stop: Callable[[], bool],
    ) -> OpenDay:
        """The day to stream: the live stream (started now, before the open, so pre-open
        messages reach ``on_event``) until the window's end, bars generated as they come."""
        await self.start()
        return OpenDay(self.stream(window, clock, should_stop), None, generated.incremental())

    # Replay-compatible no-ops so the coordinator needs no mode checks at the end of a day.
    def release(self, trading_date: Any) -> None:
        """Nothing to release: live events are not kept."""
