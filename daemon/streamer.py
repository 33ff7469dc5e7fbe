"""The day streamer: the hot loop that moves the clock through one trading day's events.

A day's events are the streamed interval's bars (``core.models.Bar``; replayed from the store
in (ts_event, symbol) order, or as a live feed delivers them) and, in a backtest of a config
that streams them, the day's recorded ticks (``daemon.feeds.ticks``). For each event the
streamer advances the clock to its time, fires phase changes as the clock crosses phase
boundaries, appends the bar to ``SessionData``, feeds the symbol's streaming indicators (the
value ``update`` returns is kept: it is what the end of day stores) and the generated bars
(incremental builders live; in a backtest they were resampled when the day was loaded,
``daemon.aggregation.bars.VectorisedDay``). The rules of the window hold: the clock never
leaves ``[start, end]`` of the day's ``SessionWindow``, the lunch break is jumped over (events
inside it are dropped), a bar at/after the window's end ends the loop, data exhaustion jumps
the clock to the end; a stop request ends the day cleanly.

Subscribers (the seam strategies, brokers and risk plug into)
-------------------------------------------------------------
A :class:`StreamSubscriber` registered with the coordinator (``subscribers=[...]``) is called,
in exact event order, on the backtest (replay) and the live path alike:

1. ``on_day_start(window)`` — before the first event of a trading day (clock at the day's
   start), after the ``session_started`` hook;
2. ``on_phase(change)`` — a ``PhaseChange`` each time the intraday phase changes (the clock
   is at the boundary; phases inside the break fire as the clock jumps over it);
3. ``on_bar(bar)`` — every streamed bar, after it was appended to ``SessionData`` and the
   symbol's streaming indicators saw it, the clock at its ``ts_event``; then each generated
   bar (5m, 15m ... 1d) the streamed bar completed, right after it (canonical order: symbol,
   interval length, bucket start), already appended to ``SessionData``; generated bars that
   nothing completes are delivered when their aggregation group ends (an extended segment,
   the close) with the clock there;
4. ``on_trade(trade)`` / ``on_quote(quote)`` — when the config streams them: recorded ticks
   in a backtest at their arrival time in the loop, live ones as the feed receives them
   (after the market state has seen them);
5. ``on_day_end(window)`` — after the last event of the day (partial generated bars and the
   ticks published after the close included), before the end-of-day persistence.

Every bar passed is a real ``core.models.Bar`` record (``plugins.interfaces.BarLike``).
Subscribers must not block; an exception propagates (it fails the run: a strategy error is
not something to skip silently). With no subscriber the loop pays nothing for the seam: the
per-bar sinks are bound C methods and generated bars are resampled per day, not per event.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from core.models import Bar, IndicatorValue, PhaseChange, Quote, Trade
from core.phases import Phase, phase_windows
from core.sessions import SessionWindow
from daemon.aggregation.bars import AggregationGroup, IncrementalDay, VectorisedDay
from daemon.clock import perf_seconds
from daemon.feeds.ticks import TICK_SINK, TickDay
from daemon.metrics import EVENT_SAMPLE_EVERY
from daemon.results import DayResult, RunObserver
from daemon.session_data import SessionData

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 2048
"""Events between two ``RunObserver.progressed`` calls in a replay (cheap; the CLI redraws)."""

_PRE_MARKET, _POST_MARKET, _CLOSED = (
    str(Phase.PRE_MARKET),
    str(Phase.POST_MARKET),
    str(Phase.CLOSED),
)


@runtime_checkable
class StreamSubscriber(Protocol):
    """Receives a session's events in stream order (module docstring: the subscriber seam).
    Subclass :class:`Subscriber` to implement only what you need."""

    def on_day_start(self, window: SessionWindow) -> None: ...

    def on_bar(self, bar: Bar) -> None: ...

    def on_trade(self, trade: Trade) -> None: ...

    def on_quote(self, quote: Quote) -> None: ...

    def on_phase(self, change: PhaseChange) -> None: ...

    def on_day_end(self, window: SessionWindow) -> None: ...


class Subscriber:
    """A :class:`StreamSubscriber` whose methods do nothing (override what you need)."""

    def on_day_start(self, window: SessionWindow) -> None:
        """Before the first event of ``window``'s trading day."""

    def on_bar(self, bar: Bar) -> None:
        """A streamed bar, or a generated bar at its close."""

    def on_trade(self, trade: Trade) -> None:
        """A trade (recorded in a backtest, received live)."""

    def on_quote(self, quote: Quote) -> None:
        """A quote (recorded in a backtest, received live)."""

    def on_phase(self, change: PhaseChange) -> None:
        """The intraday phase changed."""

    def on_day_end(self, window: SessionWindow) -> None:
        """After the last event of the day, before it is persisted."""


GeneratedDay = IncrementalDay | VectorisedDay
"""Where a day's generated bars come from: built bar by bar (live) or resampled (backtest)."""


class _Sink:
    """What the loop does with one symbol's bars: ``append`` (SessionData, or everything in
    subscriber mode), ``update`` (incremental generated bars), ``indicators`` (the streaming
    indicators; their last results are kept in ``values``)."""

    __slots__ = ("append", "update", "generate", "indicators", "values", "series")

    def __init__(self, append: Any, indicators: Any = None, series: Any = None) -> None:
        self.append = append
        self.update: Any = None
        self.generate: Any = None  # subscriber mode: the updater the subscribed append calls
        self.indicators = indicators
        self.values: Any = None
        self.series = series


class _Sinks(dict[str, _Sink]):
    """symbol -> sink; bars of symbols outside the session go to ``default`` (dropped)."""

    __slots__ = ("default",)

    def __init__(self, default: _Sink) -> None:
        super().__init__()
        self.default = default

    def __missing__(self, symbol: str) -> _Sink:
        return self.default


def _one_call(calls: Sequence[Callable[[Any], Any]]) -> Callable[[Any], Any] | None:
    """None for no callable, the callable itself for one, else one returning all results."""
    if not calls:
        return None
    if len(calls) == 1:
        return calls[0]
    fixed = tuple(calls)

    def call_all(row: Any) -> tuple[Any, ...]:
        return tuple(call(row) for call in fixed)

    return call_all


class DayStreamer:
    """Streams trading days (module docstring) into ``session_data``.

    ``indicators``: per symbol, the streaming indicators ``(name, instance)``;
    ``hook(name, **kwargs)`` calls a lifecycle hook (``phase_changed``); ``stop_requested``
    is polled at every new timestamp.
    """

    def __init__(
        self,
        *,
        calendar: str,
        symbols: Sequence[str],
        streamed_interval: str,
        session_data: SessionData,
        indicators: dict[str, list[tuple[str, Any]]],
        subscribers: Sequence[StreamSubscriber],
        extended_hours: tuple[bool, bool],
        hook: Callable[..., None],
        stop_requested: Callable[[], bool],
        observer: RunObserver,
    ) -> None:
        self.calendar = calendar
        self.symbols = tuple(symbols)
        self.streamed_interval = streamed_interval
        self.session_data = session_data
        self.indicators = indicators
        self.subscribers = tuple(subscribers)
        self.extended_hours = extended_hours
        self.hook = hook
        self.stop_requested = stop_requested
        self.observer = observer
        self.event_samples: list[float] = []
        """Per-event processing times of the last day (one event in ``EVENT_SAMPLE_EVERY``)."""
        self.sinks: _Sinks = _Sinks(_Sink(None))
        self._phase: str | None = None

    # -- per-day set-up ----------------------------------------------------------------------

    def _sinks(self, generated: GeneratedDay | None, tick_day: TickDay | None) -> _Sinks:
        data, streamed = self.session_data, self.streamed_interval
        dropped: list[Any] = []
        sinks = _Sinks(_Sink(dropped.append))
        subscribers = self.subscribers
        for symbol in self.symbols:
            series = data.series(symbol, streamed)
            updates = [indicator.update for _, indicator in self.indicators.get(symbol, ())]
            sink = _Sink(series.append, _one_call(updates), series)
            if subscribers:
                sink.append = self._subscribed(sink, generated)
                sink.indicators = None  # called by the subscribed append, in order
            sinks[symbol] = sink
        if tick_day is not None:
            if subscribers:  # every delivery (in the loop, and after it) tells them too
                handler, dispatch = tick_day.handler, self._dispatch_tick

                def handle_and_tell(event: Any) -> None:
                    handler(event)
                    dispatch(event)

                tick_day.handler = handle_and_tell
            sinks[TICK_SINK] = _Sink(tick_day.deliver)
        sinks.default.series = dropped
        return sinks

    def _subscribed(self, sink: _Sink, generated: GeneratedDay | None) -> Callable[[Bar], None]:
        """Subscriber mode: one Python call per bar does it all, in the documented order."""
        append = sink.series.append
        indicators = _one_call(
            [ind.update for _, ind in self.indicators.get(sink.series.symbol, ())]
        )
        subscribers = self.subscribers
        emit = self._emit_generated
        triggers = generated.triggers if isinstance(generated, VectorisedDay) else None

        def deliver(bar: Bar) -> None:
            append(bar)
            if indicators is not None:
                sink.values = indicators(bar)
            for subscriber in subscribers:
                subscriber.on_bar(bar)
            generate = sink.generate
            if generate is not None:
                done = generate(bar)
                if done:
                    emit(done)
            elif triggers is not None:
                done = triggers.get(id(bar))
                if done:
                    emit(done)

        return deliver

    def _emit_generated(self, bars: Iterable[Bar]) -> None:
        """Subscriber mode: generated bars join SessionData and reach the subscribers now."""
        series = self.session_data.series
        for bar in bars:
            series(bar.symbol, bar.interval).append(bar)
            for subscriber in self.subscribers:
                subscriber.on_bar(bar)

    def _dispatch_tick(self, event: Any) -> None:
        if type(event) is Trade:
            for subscriber in self.subscribers:
                subscriber.on_trade(event)
        elif type(event) is Quote:
            for subscriber in self.subscribers:
                subscriber.on_quote(event)

    def live_tap(self, event: Any) -> None:
        """Live: trades and quotes as the feed receives them (after the market state)."""
        if self.subscribers:
            self._dispatch_tick(event)

    def _phase_boundaries(self, window: SessionWindow) -> list[tuple[datetime, str]]:
        """(start, phase) of each phase window starting in (window start, window end], plus
        the one at the window start. An extended phase the config excludes reads ``closed``."""
        try:
            windows = phase_windows(self.calendar, window.date)
        except Exception:  # pragma: no cover - phases are informative only
            logger.exception("phase windows of %s unavailable", window.date)
            return []
        pre, post = self.extended_hours
        excluded = {_PRE_MARKET} if not pre else set()
        if not post:
            excluded.add(_POST_MARKET)
        out = []
        for phase_window in windows:
            phase = str(phase_window.phase)
            if phase in excluded:
                phase = _CLOSED
            if phase_window.start <= window.start < phase_window.end:
                out.append((window.start, phase))
            elif window.start < phase_window.start <= window.end:
                out.append((phase_window.start, phase))
        return out

    def _fire_phases(
        self, boundaries: list[tuple[datetime, str]], index: int, ts: datetime, result: DayResult
    ) -> int:
        """Fire ``phase_changed`` (hook and subscribers) for every boundary at or before
        ``ts``; returns the new index."""
        while index < len(boundaries) and boundaries[index][0] <= ts:
            at, phase = boundaries[index]
            if phase != self._phase:
                self.hook(
                    "phase_changed",
                    exchange=self.calendar,
                    trading_date=result.trading_date,
                    phase=phase,
                    previous=self._phase,
                )
                if self.subscribers:
                    change = PhaseChange(self.calendar, at, phase, self._phase)
                    for subscriber in self.subscribers:
                        subscriber.on_phase(change)
                result.phases.append(phase)
                self._phase = phase
            index += 1
        return index

    # -- one day -----------------------------------------------------------------------------

    def start_day(self, window: SessionWindow) -> None:
        """The day begins (``on_day_start``); the streaming indicators start over."""
        self._phase = None
        for indicators in self.indicators.values():
            for _, indicator in indicators:
                reset = getattr(indicator, "reset", None)
                if callable(reset):
                    reset()
        for subscriber in self.subscribers:
            subscriber.on_day_start(window)

    async def stream(
        self,
        window: SessionWindow,
        chunks: AsyncIterator[Iterable[Any]],
        clock: Any,
        result: DayResult,
        *,
        groups: Sequence[AggregationGroup],
        generated: GeneratedDay | None,
        tick_day: TickDay | None,
        live: bool,
    ) -> list[Bar]:
        """Stream one day (module docstring); fills ``result`` and returns the day's generated
        bars (also appended to ``SessionData``)."""
        paced = bool(getattr(clock, "is_paced", True))
        advance_sync, advance_async, jump = clock.advance_to, clock.advance_to_async, clock.jump_to
        start, end = window.start, window.end
        break_start, break_end = window.break_start, window.break_end
        before_break = break_start is not None
        boundaries = self._phase_boundaries(window)
        next_phase_at = boundaries[0][0] if boundaries else end
        phase_index = 0
        observer, trading_date = self.observer, window.date
        sinks = self.sinks = self._sinks(generated, tick_day)
        group_index = -1
        next_group_at = groups[0].start if groups else end
        events = dropped = 0
        progress_every = 1 if paced else PROGRESS_EVERY
        next_progress = progress_every
        last_ts: datetime | None = None
        stopped = past_close = False
        stop_at: datetime | None = None
        # Per-event timing (daemon.metrics): one event in `every` is timed alone, from the end
        # of the previous event (t0) to the end of its own processing; `mark` is the event
        # count at which the next timing starts or ends. The first event of the day is timed.
        every, perf = EVENT_SAMPLE_EVERY, perf_seconds
        samples = self.event_samples = []
        add_sample = samples.append
        timing, mark, t0 = True, 1, 0.0

        # Processing time on a paced or live clock: each chunk from its arrival to the end of
        # its rows, less the waits for the events' times (a live day is mostly waiting).
        busy = 0.0
        async for chunk in chunks:
            chunk_started = perf()
            if timing:  # not the wait for the chunk (live) or the building of its records
                t0 = perf()
            for row in chunk:
                ts = row.ts_event
                # Replayed bars of one minute share one datetime object, so identity is the
                # cheap test; distinct-but-equal objects (live) just redo the per-time checks.
                if ts is not last_ts:
                    if self.stop_requested():
                        stopped, stop_at = True, ts
                        break
                    if ts >= end:
                        past_close = True
                        break
                    if ts < start:
                        dropped += 1
                        continue
                    if before_break and ts >= break_start:
                        # Stream up to the break, then jump over it (never streamed through).
                        if paced:
                            waited = perf()
                            await advance_async(break_start)
                            chunk_started += perf() - waited
                        else:
                            advance_sync(break_start)
                        phase_index = self._fire_phases(
                            boundaries, phase_index, break_start, result
                        )
                        jump(break_end)
                        phase_index = self._fire_phases(boundaries, phase_index, break_end, result)
                        next_phase_at = (
                            boundaries[phase_index][0] if phase_index < len(boundaries) else end
                        )
                        before_break = False
                    if not before_break and break_start is not None and ts < break_end:
                        dropped += 1
                        continue
                    if paced:
                        waited = perf()
                        await advance_async(ts)
                        chunk_started += perf() - waited
                        if timing:  # the wait for the event's time is not processing
                            t0 = perf()
                    else:
                        advance_sync(ts)
                    if ts >= next_phase_at:
                        phase_index = self._fire_phases(boundaries, phase_index, ts, result)
                        next_phase_at = (
                            boundaries[phase_index][0] if phase_index < len(boundaries) else end
                        )
                    if ts >= next_group_at:
                        # Into the next aggregation group: the group left flushes its bars
                        # first, so that none spans the regular open or close.
                        group_index = self._next_group(groups, group_index, ts, generated)
                        next_group_at = (
                            groups[group_index + 1].start if group_index + 1 < len(groups) else end
                        )
                    last_ts = ts
                    if events >= next_progress:
                        observer.progressed(trading_date, events)
                        next_progress = events + progress_every
                sink = sinks[row.symbol]
                sink.append(row)
                update = sink.update
                if update is not None:
                    update(row)
                indicators = sink.indicators
                if indicators is not None:
                    sink.values = indicators(row)
                events += 1
                if events >= mark:
                    if timing:
                        add_sample(perf() - t0)
                        timing = False
                        mark = events + every - 1
                    else:
                        t0 = perf()
                        timing = True
                        mark = events + 1
            busy += perf() - chunk_started
            if stopped or past_close:
                break
        # A live feed returns early on a stop request without delivering another row.
        stopped = stopped or (self.stop_requested() and not past_close)
        if not stopped:
            # Data exhausted or the next event is at/after the end: jump to the end.
            if clock.now() < end:
                if live:
                    await advance_async(end)
                else:
                    jump(end)
            self._fire_phases(boundaries, phase_index, end, result)
        streamed_ticks = 0
        if tick_day is not None:
            tick_day.finish(stopped=stopped)  # e.g. the ATC prints published after the close
            streamed_ticks = tick_day.streamed
        observer.progressed(trading_date, events)
        bars = self._finish_generated(generated, group_index, stop_at if stopped else None)
        foreign = len(sinks.default.series)
        result.events = events - foreign - streamed_ticks
        result.dropped = dropped + foreign
        result.stopped = stopped
        result.clock_end = clock.now()
        result.processing_seconds = busy if paced else None
        for subscriber in self.subscribers:
            subscriber.on_day_end(window)
        return bars

    def _next_group(
        self,
        groups: Sequence[AggregationGroup],
        index: int,
        ts: datetime,
        generated: GeneratedDay | None,
    ) -> int:
        """Flush group ``index`` (when one is active) and enter the group containing ``ts``
        (or the last one starting at or before it); returns its index."""
        if index >= 0 and generated is not None:
            self._flush(generated, index)
        index += 1
        while index + 1 < len(groups) and groups[index + 1].start <= ts:
            index += 1
        if isinstance(generated, IncrementalDay):
            generated.enter(groups[index])
            for symbol in self.symbols:
                sink = self.sinks[symbol]
                if self.subscribers:  # the subscribed append calls it, in order
                    sink.generate = generated.updater(symbol)
                else:
                    sink.update = generated.updater(symbol)
        return index

    def _flush(self, generated: GeneratedDay, index: int) -> None:
        if isinstance(generated, IncrementalDay):
            done = generated.flush()
            for symbol in self.symbols:
                self.sinks[symbol].update = self.sinks[symbol].generate = None
        else:
            done = generated.flushes[index]
        if self.subscribers and done:
            self._emit_generated(done)

    def _finish_generated(
        self, generated: GeneratedDay | None, index: int, stop_at: datetime | None
    ) -> list[Bar]:
        """The day's generated bars once the loop is over: the active group flushed (on a
        stop, a backtest's bars are rebuilt from what was streamed), appended to
        ``SessionData`` unless subscribers already got them."""
        if generated is None:
            return []
        if stop_at is not None and isinstance(generated, VectorisedDay):
            generated = generated.until(stop_at)
        if index >= 0:
            self._flush(generated, index)
        bars = generated.bars
        if not self.subscribers:
            series = self.session_data.series
            for bar in bars:
                series(bar.symbol, bar.interval).append(bar)
        return bars

    def indicator_value(self, name: str, symbol: str) -> float | None:
        """The current value of the streaming indicator ``name`` of ``symbol`` (None if none)."""
        indicators = self.indicators.get(symbol) or ()
        values = self.sinks[symbol].values if symbol in self.sinks else None
        for index, (indicator, _) in enumerate(indicators):
            if indicator == name and values is not None:
                return _float_or_none(values if len(indicators) == 1 else values[index])
        return None

    def streaming_values(self, as_of: datetime) -> list[IndicatorValue]:
        """The day's streaming indicator values as stored: for each symbol and indicator, what
        ``update`` returned for the symbol's last bar (None when it saw none), ``observations``
        the bars it was fed, ``complete`` when the value is not None."""
        out = []
        for symbol, indicators in self.indicators.items():
            if not indicators:
                continue
            values = self.sinks[symbol].values if symbol in self.sinks else None
            if len(indicators) == 1:
                values = (values,)
            elif values is None:
                values = (None,) * len(indicators)
            seen = len(self.session_data.series(symbol, self.streamed_interval))
            for (name, _), value in zip(indicators, values, strict=True):
                number = _float_or_none(value)
                out.append(IndicatorValue(name, symbol, as_of, number, number is not None, seen))
        return out


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
