"""Where a session's events come from: the store (``replay``: backtests, with the recorded
ticks of ``ticks``) or a data source's live stream (``live``)."""

from __future__ import annotations

from typing import Any

from daemon.feeds.live import LiveFeed
from daemon.feeds.replay import ReplayFeed


def feed_for_config(config: Any, *, store: Any, source: Any) -> ReplayFeed | LiveFeed:
    """A ``LiveFeed`` over ``source`` for a live config, else a ``ReplayFeed`` over the
    store's bars of the config's data source."""
    symbols = config.session_data_config.symbols
    interval = config.streamed_interval or "1m"
    if config.mode == "live":
        return LiveFeed(source, symbols=symbols, interval=interval)
    return ReplayFeed.from_store(
        store, symbols=symbols, interval=interval, source=config.api_config.data_api
    )
