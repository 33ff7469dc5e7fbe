"""The daemon's name for the SDK recorder: ``plugins.recording`` (one implementation).

A live session records every non-bar event it receives (trades, quotes, foreign room, index
ticks, statuses) with ``EventRecorder``; ``recorded_day`` reads an exchange-local day back in
arrival order (``classify-eval``), and backtests replay recorded days through
``daemon.feeds.ticks``. See ``plugins.recording`` for arrival stamps and ordering.
"""

from __future__ import annotations

from plugins.recording import (
    RECORDED_TYPES,
    EventRecorder,
    local_day_bounds,
    recorded_day,
    recorded_events,
    recorded_symbols,
)

__all__ = [
    "RECORDED_TYPES",
    "EventRecorder",
    "local_day_bounds",
    "recorded_day",
    "recorded_events",
    "recorded_symbols",
]
