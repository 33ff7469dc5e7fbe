"""Record what a live SSI session receives into the store, and replay a recorded day.

The recorder and the reader are the SDK's (``plugins.recording``: arrival stamps in
``ts_received``, batched idempotent writes, arrival-order reads); this module adds SSI's
defaults and wiring:

- ``StreamRecorder``: an ``EventRecorder`` that logs through SSI's redacting logger and
  ``attach``-es itself to an ``SsiStream`` as a listener (the stream has no clock of its own
  here, so an event without ``ts_received`` is stamped with its ``ts_event``).
- ``replay_day`` / ``ReplayStream``: one trading day (exchange-local day, UTC+7) of source
  ``ssi`` read back in arrival order — the same sequence the live session saw, so the session
  engine's aggregates come out identical. Indices default to VN30 and VNINDEX.

Raw frames (before parsing) are journaled apart by ``frames.FrameJournal``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from core.models import replace
from plugins import recording
from plugins.recording import RECORDED_TYPES, EventRecorder, recorded_day
from plugins.sources.ssi.parse import SOURCE
from plugins.sources.ssi.redaction import redacted_logger

log = redacted_logger(__name__)

CALENDAR = "XSTC"
"""Calendar whose time zone (UTC+7, every Vietnamese market) makes the local day."""

DEFAULT_INDEX_IDS = ("VN30", "VNINDEX")


class StreamRecorder(EventRecorder):
    """Buffers live events (listener ``recorder(event)``) and writes them to ``store``.

    ``attach(stream)`` registers the listener and flushes every ``flush_interval_seconds`` in
    a worker thread; ``close()`` writes what is left. ``flush()`` writes synchronously.
    """

    def __init__(self, store: Any, *, flush_interval_seconds: float = 1.0) -> None:
        super().__init__(store, flush_interval_seconds=flush_interval_seconds, log=log)

    def attach(self, stream: Any) -> None:
        stream.add_listener(self)
        self.start()


def local_day_bounds(trading_date: date) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` of an exchange-local (UTC+7) calendar day."""
    return recording.local_day_bounds(CALENDAR, trading_date)


def replay_day(
    store: Any,
    trading_date: date,
    symbols: Sequence[str],
    index_ids: Sequence[str] = DEFAULT_INDEX_IDS,
    *,
    source: str = SOURCE,
    keep_arrival_stamp: bool = False,
) -> list[Any]:
    """A recorded day's events in arrival order. ``ts_received`` is ``None`` (replayed data)
    unless ``keep_arrival_stamp``."""
    events = recorded_day(
        store, CALENDAR, trading_date, list(symbols), list(index_ids), source=source
    )
    if keep_arrival_stamp:
        return events
    return [replace(e, ts_received=None) for e in events]


class ReplayStream(recording.ReplayStream):
    """A recorded day as a ``LiveSubscription`` (async iterator with ``stop()``), so the
    session engine replays it through the same code path as a live stream."""

    @classmethod
    def from_store(
        cls,
        store: Any,
        trading_date: date,
        symbols: Sequence[str],
        index_ids: Sequence[str] = DEFAULT_INDEX_IDS,
        *,
        source: str = SOURCE,
    ) -> ReplayStream:
        return cls(replay_day(store, trading_date, symbols, index_ids, source=source))


__all__ = [
    "CALENDAR",
    "DEFAULT_INDEX_IDS",
    "RECORDED_TYPES",
    "ReplayStream",
    "StreamRecorder",
    "local_day_bounds",
    "replay_day",
]
