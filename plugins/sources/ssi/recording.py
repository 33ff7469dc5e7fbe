"""Record what a live SSI session receives into the store, and replay a recorded day.

``StreamRecorder`` is a stream listener: it keeps every Trade, Quote, ForeignRoom, IndexTick
and SecurityStatus in arrival order and writes them in batches through the store's
idempotent ``upsert_*`` methods. Arrival order is what replay must reproduce, and SSI
messages have second-resolution times and no sequence number, so the recorder stores an
*arrival stamp* in ``ts_received``: the event's own ``ts_received`` (or ``ts_event`` when the
stream had no clock), raised when needed to be strictly greater than the previous stamp.

``replay_day`` / ``ReplayStream`` read one trading day back (exchange-local day, UTC+7) and
return the events ordered by that stamp: the same sequence the live session saw, so the
session engine's aggregates come out identical.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.models import ForeignRoom, IndexTick, Quote, SecurityStatus, Trade
from plugins.sources.ssi.parse import LOCAL_OFFSET, SOURCE
from plugins.sources.ssi.redaction import redacted_logger

log = redacted_logger(__name__)
_TICK = timedelta(microseconds=1)
RECORDED_TYPES = (Trade, Quote, ForeignRoom, IndexTick, SecurityStatus)
_KIND_ORDER = {Trade: 0, Quote: 1, ForeignRoom: 2, IndexTick: 3, SecurityStatus: 4}


class StreamRecorder:
    """Buffers live events (listener ``recorder(event)``) and writes them to ``store``.

    ``attach(stream)`` registers the listener and flushes every ``flush_interval_seconds`` in
    a worker thread; ``close()`` writes what is left. ``flush()`` writes synchronously.
    """

    def __init__(self, store: Any, *, flush_interval_seconds: float = 1.0) -> None:
        self.store = store
        self.flush_interval_seconds = flush_interval_seconds
        self._buffer: list[Any] = []
        self._last_stamp: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing: asyncio.Event | None = None
        self._write_lock = asyncio.Lock()
        self.recorded = 0

    def __call__(self, event: Any) -> None:
        if type(event) not in _KIND_ORDER:
            return
        stamp = event.ts_received or event.ts_event
        if self._last_stamp is not None and stamp <= self._last_stamp:
            stamp = self._last_stamp + _TICK
        self._last_stamp = stamp
        self._buffer.append(replace(event, ts_received=stamp))

    def attach(self, stream: Any) -> None:
        stream.add_listener(self)
        if self._task is None:
            self._closing = asyncio.Event()
            self._task = asyncio.create_task(self._flush_periodically(), name="ssi-recorder")

    async def _flush_periodically(self) -> None:
        assert self._closing is not None
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.flush_interval_seconds)
            await self.flush_async()

    async def flush_async(self) -> int:
        """Write the buffered events in a worker thread (one write at a time)."""
        async with self._write_lock:
            batch, self._buffer = self._buffer, []
            if not batch:
                return 0
            try:
                return await asyncio.to_thread(self._write, batch)
            except Exception:
                self._buffer[:0] = batch  # keep them for the next attempt
                log.exception("SSI recorder: writing %d events failed; will retry", len(batch))
                return 0

    def flush(self) -> int:
        batch, self._buffer = self._buffer, []
        return self._write(batch) if batch else 0

    async def close(self) -> int:
        """Stop the periodic flush (letting a write in progress finish) and write the rest."""
        if self._task is not None and self._closing is not None:
            self._closing.set()
            await self._task
            self._task = None
        return await self.flush_async()

    def _write(self, batch: list[Any]) -> int:
        groups: dict[type, list[Any]] = {kind: [] for kind in RECORDED_TYPES}
        for event in batch:
            groups[type(event)].append(event)
        store = self.store
        if groups[Trade]:
            store.upsert_trades(groups[Trade])
        if groups[Quote]:
            store.upsert_quotes(groups[Quote])
        if groups[ForeignRoom]:
            store.upsert_foreign(groups[ForeignRoom])
        if groups[IndexTick]:
            store.upsert_index_ticks(groups[IndexTick])
        if groups[SecurityStatus]:
            store.upsert_statuses(groups[SecurityStatus])
        self.recorded += len(batch)
        return len(batch)


def local_day_bounds(trading_date: date) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` of an exchange-local (UTC+7) calendar day."""
    start = datetime(trading_date.year, trading_date.month, trading_date.day, tzinfo=UTC)
    start -= LOCAL_OFFSET
    return start, start + timedelta(days=1)


def replay_day(
    store: Any,
    trading_date: date,
    symbols: Sequence[str],
    index_ids: Sequence[str] = ("VN30", "VNINDEX"),
    *,
    source: str = SOURCE,
    keep_arrival_stamp: bool = False,
) -> list[Any]:
    """A recorded day's events in arrival order. ``ts_received`` is ``None`` (replayed data)
    unless ``keep_arrival_stamp``."""
    start, end = local_day_bounds(trading_date)
    events: list[Any] = []
    if symbols:
        events += store.read_trades(symbols, start, end, source=source)
        events += store.read_quotes(symbols, start, end, source=source)
        events += store.read_foreign(symbols, start, end, source=source)
        events += store.read_statuses(symbols, start, end, source=source)
    if index_ids:
        events += store.read_index_ticks(index_ids, start, end, source=source)
    far = datetime.max.replace(tzinfo=UTC)
    events.sort(key=lambda e: (e.ts_received or far, e.ts_event, _KIND_ORDER[type(e)]))
    if keep_arrival_stamp:
        return events
    return [replace(e, ts_received=None) for e in events]


class ReplayStream:
    """A recorded day as a ``LiveSubscription`` (async iterator with ``stop()``), so the
    session engine replays it through the same code path as a live stream."""

    def __init__(self, events: Sequence[Any]) -> None:
        self._events = list(events)
        self._index = 0
        self._stopped = False

    @classmethod
    def from_store(cls, store: Any, trading_date: date, symbols: Sequence[str],
                   index_ids: Sequence[str] = ("VN30", "VNINDEX"), *, source: str = SOURCE) -> ReplayStream:
        return cls(replay_day(store, trading_date, symbols, index_ids, source=source))

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        if self._stopped or self._index >= len(self._events):
            raise StopAsyncIteration
        event = self._events[self._index]
        self._index += 1
        return event

    async def stop(self) -> None:
        self._stopped = True
