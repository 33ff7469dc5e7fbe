"""Recorded market events (trades, quotes, foreign room, index ticks, statuses) replayed with
the bars of a backtest day: record once, replay deterministically.

A live session records every non-bar event it receives with its *arrival stamp* in
``ts_received`` (``plugins.recording``). A backtest whose config streams such kinds replays,
per trading day, the events whose ``ts_event`` falls in the day's statistics range (after the
previous trading day's roll, up to this day's roll: ``MarketState.roll_instant``, 15:00 local
on HOSE) in arrival order — (``ts_received``, ``ts_event``, kind) — and streams them at their
arrival time, interleaved with the bar rows by time (a bar and an event at the same instant:
the bar first), through the coordinator's streaming loop, the clock advancing to each. The
clock rules of the day's window hold:

- an event that arrived before the window's start (pre-open messages) is streamed at the start;
- one that arrived inside the lunch break is streamed when trading resumes (the break end),
  since the clock jumps over the break;
- one that arrived at or after the window's end (the ATC prints and put-through deals published
  just after the close) is delivered after the day's streaming loop, with the clock at the
  close — as the live feed hands such events to the market state as they arrive
  (``daemon.feeds.live``); one that arrived at or after the day's roll is not delivered (the
  live statistics had moved to the next day) and is counted in ``TickDay.dropped``.

Rows are :class:`TickRow` tuples whose ``symbol`` is :data:`TICK_SINK`, the coordinator's sink
for them (``TickDay.deliver``); the arrival times are kept non-decreasing (an event recorded
without a stamp sorts last and is streamed no earlier than the one before it). The bar-only
backtest never touches this module.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, NamedTuple

from core.errors import SessiondError
from core.sessions import SessionWindow
from daemon.market_state import (
    STREAM_TYPES,
    event_router,
    market_setup,
    phase_volume_rows,
    resolve_symbols,
    tick_streams,
)
from plugins.recording import recorded_events

TICK_SINK = "\x00ticks"
"""``symbol`` of every ``TickRow``: no instrument is named so; the coordinator's sink key."""


class TickRow(NamedTuple):
    """One recorded event in the streaming loop: ``ts_event`` is when it is streamed (its
    arrival stamp, moved into the window and out of the break), ``event`` the event itself."""

    symbol: str
    ts_event: datetime
    event: Any


_ts = attrgetter("ts_event")


@dataclass(slots=True)
class TickDay:
    """A trading day's recorded events, split by when they are delivered.

    ``rows``: streamed in the loop (arrival inside the window); ``late``: delivered after the
    loop (arrival at/after the window's end, before the roll); ``dropped``: arrival at/after the
    roll. ``deliver`` (the loop's sink) and ``finish`` hand events to ``handler`` in order;
    ``delivered`` counts them: ``streamed`` by the loop, ``after_loop`` by ``finish``.
    """

    window: SessionWindow
    rows: list[TickRow]
    late: list[Any]
    dropped: int
    handler: Callable[[Any], None]
    delivered: int = 0
    streamed: int = 0
    after_loop: int = 0

    @property
    def event_count(self) -> int:
        """Events to deliver (streamed plus late)."""
        return len(self.rows) + len(self.late)

    def merge(self, bars: Iterable[Any]) -> Iterator[Any]:
        """The bar rows and the tick rows in time order (bars first on equal times)."""
        if not self.rows:
            return iter(bars)
        return heapq.merge(bars, self.rows, key=_ts)

    def deliver(self, row: TickRow) -> None:
        """The streaming loop's sink for :data:`TICK_SINK` rows."""
        self.handler(row.event)
        self.delivered += 1

    def finish(self, *, stopped: bool = False) -> int:
        """After the loop: deliver the rows it did not reach, then the late events (nothing
        when the day was ``stopped``); returns how many. The loop delivers rows in order, so
        what is left is a suffix."""
        self.streamed = self.delivered
        if stopped:
            return 0
        handler = self.handler
        rest = [row.event for row in self.rows[self.delivered :]]
        rest.extend(self.late)
        for event in rest:
            handler(event)
        self.delivered += len(rest)
        self.after_loop = len(rest)
        return len(rest)


def split_day(
    events: Sequence[Any],
    window: SessionWindow,
    *,
    break_start: datetime | None,
    break_end: datetime | None,
    until: datetime,
    handler: Callable[[Any], None],
) -> TickDay:
    """Place events (in arrival order) on the day's timeline (see the module doc)."""
    start, end = window.start, window.end
    rows: list[TickRow] = []
    late: list[Any] = []
    dropped = 0
    last = start
    for event in events:
        ts = event.ts_received or event.ts_event
        if ts < last:
            ts = last
        last = ts
        if ts >= end:
            if ts < until:
                late.append(event)
            else:
                dropped += 1
            continue
        if break_start is not None and break_end is not None and break_start <= ts < break_end:
            ts = break_end
        rows.append(TickRow(TICK_SINK, ts, event))
    return TickDay(window, rows, late, dropped, handler)


class TickReplay:
    """Reads recorded days from ``store`` (``plugins.recording.recorded_events``): events of
    ``kinds`` from data source ``source`` for the given symbols, and every index recorded."""

    def __init__(self, store: Any, *, source: str | None, kinds: Sequence[type]) -> None:
        self.store = store
        self.source = source
        self.kinds = tuple(kinds)
        self.reads = 0

    def load(
        self,
        window: SessionWindow,
        *,
        symbols: Sequence[str],
        since: datetime,
        until: datetime,
        break_start: datetime | None,
        break_end: datetime | None,
        handler: Callable[[Any], None],
    ) -> TickDay:
        """The events with ``since <= ts_event < until`` placed on ``window``'s timeline."""
        events = recorded_events(
            self.store, since, until, list(symbols), None, source=self.source, kinds=self.kinds
        )
        self.reads += 1
        return split_day(
            events,
            window,
            break_start=break_start,
            break_end=break_end,
            until=until,
            handler=handler,
        )


class RecordedTicks:
    """A backtest's recorded ticks, day by day, into the market state the live session uses
    (built the same way: ``daemon.market_state.market_setup`` at the first day, reset per day,
    the basis contract resolved per day). ``on_other_event`` receives the low-rate kinds as in
    live (``daemon.market_state.event_router``)."""

    def __init__(
        self,
        config: Any,
        *,
        store: Any,
        host: Any,
        source: Any,
        source_name: str,
        schedule: Any,
        kinds: Sequence[type],
        on_other_event: Callable[[Any], None],
    ) -> None:
        self.config = config
        self.host = host
        self.source = source
        self.schedule = schedule
        self.on_other_event = on_other_event
        self.replay = TickReplay(store, source=source_name, kinds=kinds)
        self.market: Any = None
        self._handler: Any = None
        self._counts = (0, 0)  # the market state's (events, stale_events) at the day start

    @classmethod
    def for_config(cls, config: Any, **kwargs: Any) -> RecordedTicks | None:
        """The recorded ticks a backtest of ``config`` replays; None when it streams no
        non-bar kind (``trades``, ``quotes``, ``foreign``, ``index``, ``status``)."""
        kinds = tick_streams(config)
        if not kinds:
            return None
        return cls(config, kinds=[STREAM_TYPES[k] for k in kinds], **kwargs)

    def load(self, window: SessionWindow) -> TickDay:
        """The day's recorded events, and the market state reset for the day."""
        day = window.date
        if self.market is None:
            self.market = market_setup(
                self.config, host=self.host, source=self.source, trading_date=day
            )
            self._handler = event_router(self.market.state, self.on_other_event)
        state = self.market.state
        state.set_futures_contract(self.market.contract_on(self.source, day))
        state.reset(day)
        try:
            previous = self.schedule.get_previous_trading_date(day)
        except SessiondError:  # the calendar's first day
            previous = day - timedelta(days=1)
        tick_day = self.replay.load(
            window,
            symbols=resolve_symbols(self.source, self.market.symbols, day),
            since=state.roll_instant(previous),
            until=state.roll_instant(day),
            break_start=window.break_start,
            break_end=window.break_end,
            handler=self._handler,
        )
        self._counts = (state.events, state.stale_events)
        return tick_day

    def order_flow(self, tick_day: TickDay) -> dict[str, Any]:
        """The replayed day's market state (``MarketState.snapshot`` without ``version``;
        ``events`` and ``stale_events`` of this day) with the delivery counts: ``ticks``
        delivered, ``after_close`` of them after the streaming loop (arrived at/after the
        window's end), ``dropped_after_roll`` not delivered (arrived after the day's roll)."""
        state = self.market.state
        events_before, stale_before = self._counts
        snapshot = state.snapshot()
        snapshot.pop("version", None)
        snapshot["events"] = state.events - events_before
        return {
            "ticks": tick_day.delivered,
            "after_close": tick_day.after_loop,
            "dropped_after_roll": tick_day.dropped,
            "stale_events": state.stale_events - stale_before,
            **snapshot,
        }

    def phase_volumes(self, session_name: str) -> list[Any]:
        """The day's per-phase volumes as store rows."""
        return phase_volume_rows(self.market.state, session_name)


__all__ = ["TICK_SINK", "RecordedTicks", "TickDay", "TickReplay", "TickRow", "split_day"]
