"""Record the market events a live session receives into the store, and read a recorded day back.

SDK module (imports ``core`` only), shared by the daemon (``daemon.live_session`` records
every non-bar live event; backtests replay recorded days through ``daemon.feeds.ticks``) and by
data source packages (``plugins.sources.ssi.recording`` adds SSI's defaults). Generic over
sources: nothing here knows a vendor.

**Recording.** :class:`EventRecorder` (call ``recorder(event)``) buffers Trade, Quote,
ForeignRoom, IndexTick and SecurityStatus events in arrival order and writes them in batches
(one ``upsert_*`` call per kind and flush, in a worker thread) through the store's idempotent
writers.

Arrival order is what a replay must reproduce: vendors such as SSI send second-resolution
times and no sequence number, and trade classification depends on which quote *arrived*
before a trade. So the recorder stores an *arrival stamp* in ``ts_received``: the event's own
``ts_received``, else ``clock()`` (the daemon's clock), else ``ts_event``, raised when needed
to be strictly greater than the previous stamp (microsecond steps).

**Reading.** :func:`recorded_events` returns the events with ``start <= ts_event < end`` in
arrival order — sorted by (``ts_received``, ``ts_event``, kind in :data:`RECORDED_TYPES`
order); :func:`recorded_day` does it for one exchange-local calendar day. That is the sequence
the live session saw, so a market state fed with it ends with the same numbers.
:class:`ReplayStream` hands such a list out as a ``LiveSubscription``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from core import tables
from core.calendars import exchange_timezone
from core.models import ForeignRoom, IndexTick, Quote, SecurityStatus, Trade, replace

RECORDED_TYPES: tuple[type, ...] = (Trade, Quote, ForeignRoom, IndexTick, SecurityStatus)
"""The event types a recorder keeps, in the order that breaks ties between equal stamps."""

KIND_ORDER: dict[type, int] = {kind: i for i, kind in enumerate(RECORDED_TYPES)}
_TICK = timedelta(microseconds=1)
_FAR = datetime.max.replace(tzinfo=UTC)


def arrival_key(event: Any) -> tuple[datetime, datetime, int]:
    """Sort key of arrival order: (``ts_received`` — unstamped last, ``ts_event``, kind)."""
    return (event.ts_received or _FAR, event.ts_event, KIND_ORDER[type(event)])


class EventRecorder:
    """Buffers live events (call ``recorder(event)``) and writes them to ``store`` in batches.

    ``clock``: a callable returning the current aware UTC instant, used as the arrival stamp
    of events that carry none (None: their ``ts_event``). ``start()`` launches a periodic
    flush every ``flush_interval_seconds`` (writes run in a worker thread, one at a time);
    ``close()`` stops it and writes the rest; ``flush()`` writes synchronously. ``log``:
    where failed writes are reported (a source package may pass its redacting logger).
    """

    def __init__(
        self,
        store: Any,
        *,
        clock: Callable[[], datetime] | None = None,
        flush_interval_seconds: float = 1.0,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.flush_interval_seconds = flush_interval_seconds
        self.log = log or logging.getLogger(__name__)
        self.recorded = 0
        self.failed_writes = 0
        self._buffer: list[tuple[Any, datetime]] = []
        self._last_stamp: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing: asyncio.Event | None = None
        self._write_lock: asyncio.Lock | None = None

    def __call__(self, event: Any) -> None:
        if type(event) not in KIND_ORDER:
            return
        stamp = event.ts_received
        if stamp is None:
            stamp = self.clock() if self.clock is not None else event.ts_event
        last = self._last_stamp
        if last is not None and stamp <= last:
            stamp = last + _TICK
        self._last_stamp = stamp
        self._buffer.append((event, stamp))  # stamped copies are made by the writer

    @property
    def pending(self) -> int:
        """Events buffered and not yet written."""
        return len(self._buffer)

    def start(self) -> None:
        """Start the periodic flush (inside the running event loop; idempotent)."""
        if self._task is None:
            self._closing = asyncio.Event()
            self._write_lock = asyncio.Lock()
            self._task = asyncio.create_task(self._flush_periodically(), name="event-recorder")

    async def _flush_periodically(self) -> None:
        assert self._closing is not None
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.flush_interval_seconds)
            await self.flush_async()

    async def flush_async(self) -> int:
        """Write the buffered events in a worker thread; a failed write keeps them for the next."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            batch, self._buffer = self._buffer, []
            if not batch:
                return 0
            try:
                return await asyncio.to_thread(self._write, batch)
            except Exception:
                self._buffer[:0] = batch
                self.failed_writes += 1
                self.log.exception("recording %d live events failed; will retry", len(batch))
                return 0

    def flush(self) -> int:
        """Write the buffered events now, in this thread."""
        batch, self._buffer = self._buffer, []
        return self._write(batch) if batch else 0

    async def close(self) -> int:
        """Stop the periodic flush (a write in progress finishes) and write what is left."""
        if self._task is not None and self._closing is not None:
            self._closing.set()
            await self._task
            self._task = None
        return await self.flush_async()

    def _write(self, batch: list[tuple[Any, datetime]]) -> int:
        groups: dict[type, list[Any]] = {kind: [] for kind in RECORDED_TYPES}
        for event, stamp in batch:
            if event.ts_received != stamp:
                event = replace(event, ts_received=stamp)
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


def local_day_bounds(calendar: str, day: date) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` of the exchange-local calendar day ``day``."""
    tz = exchange_timezone(calendar)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _table(model: Any) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]


def recorded_names(
    store: Any, start: datetime, end: datetime, source: str | None = None
) -> tuple[list[str], list[str]]:
    """(symbols with trades or quotes, index ids with ticks) recorded with ``start <= ts < end``."""
    store.read_trades([], start, end, source=source)  # creates/migrates the tables if needed
    found: list[set[str]] = []
    groups = (
        (_table(tables.TradeRow), _table(tables.QuoteRow)),
        (_table(tables.IndexTickRow),),
    )
    with store.engine.connect() as conn:
        for group in groups:
            names: set[str] = set()
            for table in group:
                stmt = (
                    sa.select(table.c.symbol)
                    .distinct()
                    .where(table.c.ts >= start, table.c.ts < end)
                )
                if source is not None:
                    stmt = stmt.where(table.c.source == source)
                names.update(row[0] for row in conn.execute(stmt))
            found.append(names)
    return sorted(found[0]), sorted(found[1])


def recorded_symbols(
    store: Any, calendar: str, day: date, source: str | None = None
) -> tuple[list[str], list[str]]:
    """(symbols with trades or quotes, index ids with ticks) recorded on the local day ``day``."""
    return recorded_names(store, *local_day_bounds(calendar, day), source)


def recorded_events(
    store: Any,
    start: datetime,
    end: datetime,
    symbols: Sequence[str] | None = None,
    index_ids: Sequence[str] | None = None,
    *,
    source: str | None = None,
    kinds: Sequence[type] = RECORDED_TYPES,
) -> list[Any]:
    """Events recorded with ``start <= ts_event < end``, in arrival order (:func:`arrival_key`).

    ``symbols`` / ``index_ids`` None: every one recorded in the range. ``kinds`` limits the
    event types read (e.g. ``(Trade, Quote)`` for classifier scoring). ``ts_received`` keeps
    the arrival stamp.
    """
    if symbols is None or index_ids is None:
        found_symbols, found_indices = recorded_names(store, start, end, source)
        symbols = found_symbols if symbols is None else symbols
        index_ids = found_indices if index_ids is None else index_ids
    events: list[Any] = []
    if symbols:
        if Trade in kinds:
            events += store.read_trades(symbols, start, end, source=source)
        if Quote in kinds:
            events += store.read_quotes(symbols, start, end, source=source)
        if ForeignRoom in kinds:
            events += store.read_foreign(symbols, start, end, source=source)
        if SecurityStatus in kinds:
            events += store.read_statuses(symbols, start, end, source=source)
    if index_ids and IndexTick in kinds:
        events += store.read_index_ticks(index_ids, start, end, source=source)
    events.sort(key=arrival_key)
    return events


def recorded_day(
    store: Any,
    calendar: str,
    day: date,
    symbols: Sequence[str] | None = None,
    index_ids: Sequence[str] | None = None,
    *,
    source: str | None = None,
    kinds: Sequence[type] = RECORDED_TYPES,
) -> list[Any]:
    """Events recorded on the exchange-local calendar day ``day`` in arrival order
    (:func:`recorded_events` over :func:`local_day_bounds`)."""
    start, end = local_day_bounds(calendar, day)
    return recorded_events(store, start, end, symbols, index_ids, source=source, kinds=kinds)


class ReplayStream:
    """Recorded events as a ``LiveSubscription`` (async iterator with ``stop()``), so a
    consumer of a live stream can be fed a recorded day through the same code path."""

    def __init__(self, events: Sequence[Any]) -> None:
        self._events = list(events)
        self._index = 0
        self._stopped = False

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


__all__ = [
    "KIND_ORDER",
    "RECORDED_TYPES",
    "EventRecorder",
    "ReplayStream",
    "arrival_key",
    "local_day_bounds",
    "recorded_day",
    "recorded_events",
    "recorded_names",
    "recorded_symbols",
]
