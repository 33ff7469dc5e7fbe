"""The stream subscriber seam: event order, generated bars at their close, and the same event
sequence from the vectorised backtest path and the incremental live path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from core.calendars import session_bounds
from core.config import validate_session_config
from core.models import Bar, PhaseChange, Quote, Trade
from core.sessions import SessionWindow
from core.store import Store
from daemon.clock import SimulatedClock
from daemon.coordinator import GENERATED_SOURCE, SessionCoordinator
from daemon.streamer import StreamSubscriber, Subscriber
from plugins.history import load_history
from plugins.interfaces import BarLike
from plugins.manager import load_plugins

DAYS = (date(2025, 7, 1), date(2025, 7, 2))
SYMBOLS = ("MSFT", "AAPL")


class Recorder(Subscriber):
    """Records every call with the engine clock's reading at that moment."""

    def __init__(self, clock: Any = None) -> None:
        self.clock = clock
        self.events: list[tuple[Any, ...]] = []
        self.on_end: Any = None

    def _now(self) -> datetime | None:
        return self.clock.now() if self.clock is not None else None

    def on_day_start(self, window: SessionWindow) -> None:
        self.events.append(("day_start", window.date, self._now()))

    def on_bar(self, bar: Bar) -> None:
        assert type(bar) is Bar and isinstance(bar, BarLike)  # a real record
        self.events.append(("bar", bar, self._now()))

    def on_trade(self, trade: Trade) -> None:
        self.events.append(("trade", trade, self._now()))

    def on_quote(self, quote: Quote) -> None:
        self.events.append(("quote", quote, self._now()))

    def on_phase(self, change: PhaseChange) -> None:
        self.events.append(("phase", (change.phase, change.previous, change.ts_event), self._now()))

    def on_day_end(self, window: SessionWindow) -> None:
        self.events.append(("day_end", window.date, self._now()))
        if self.on_end is not None:
            self.on_end(window)


def config(mode: str = "backtest") -> Any:
    data = {
        "session_name": "seam",
        "exchange_group": "US_EQUITY",
        "mode": mode,
        "session_data_config": {"symbols": list(SYMBOLS), "streams": ["1m", "5m", "15m", "1d"]},
        "api_config": {"data_api": "synthetic", "data_api_options": {"seed": 3}},
    }
    if mode == "backtest":
        data["backtest_config"] = {
            "start_date": DAYS[0].isoformat(),
            "end_date": DAYS[-1].isoformat(),
            "speed_multiplier": 0,
            "prefetch_days": 2,
        }
    return validate_session_config(data)


@pytest.fixture
def host() -> Any:
    return load_plugins(entry_points=False)


@pytest.fixture
def stored(tmp_path: Any, host: Any) -> Iterator[tuple[Store, list[Bar]]]:
    """Two days of synthetic minutes, with holes: the last minute of some 5m/15m buckets and
    whole buckets are missing, so bars are also completed late (by a later bucket's bar)."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'seam.db'}")
    source = host.create_source("synthetic", exchange="XNYS", seed=3)
    load_history(
        store, source, source_name="synthetic", calendar="XNYS", symbols=SYMBOLS,
        intervals=["1m"], start=DAYS[0], end=DAYS[-1],
    )  # fmt: skip
    for day in DAYS:
        open_ = session_bounds("XNYS", day).open
        for minute in (4, 14, 20, 21, 22, 23, 24, 389):  # 09:34, 09:44, 09:50-09:54, 15:59
            store.delete_bars(["AAPL"], "1m", open_ + timedelta(minutes=minute),
                              open_ + timedelta(minutes=minute + 1), source="synthetic")  # fmt: skip
    bars = store.read_bars(list(SYMBOLS), "1m", session_bounds("XNYS", DAYS[0]).open,
                           session_bounds("XNYS", DAYS[-1]).close, source="synthetic")  # fmt: skip
    yield store, bars
    store.dispose()


def run_backtest(store: Store, host: Any) -> tuple[Recorder, Any]:
    """The two days replayed, a recorder reading the clock at every call."""
    clock = SimulatedClock(session_bounds("XNYS", DAYS[0]).open - timedelta(minutes=1))
    recorder = Recorder(clock)
    run = SessionCoordinator.for_config(
        config(), store=store, host=host, clock=clock, subscribers=[recorder]
    )
    return recorder, run.run_sync()


def test_a_recording_subscriber_sees_every_event_in_order_over_two_backtest_days(
    stored: tuple[Store, list[Bar]], host: Any
) -> None:
    store, minutes = stored
    recorder, summary = run_backtest(store, host)
    assert isinstance(recorder, StreamSubscriber)
    events = recorder.events
    kinds = [e[0] for e in events]
    # day boundaries
    starts = [i for i, k in enumerate(kinds) if k == "day_start"]
    ends = [i for i, k in enumerate(kinds) if k == "day_end"]
    assert [events[i][1] for i in starts] == list(DAYS) == [events[i][1] for i in ends]
    assert starts[0] == 0 and ends[-1] == len(events) - 1 and ends[0] < starts[1]
    for start, end, day in zip(starts, ends, DAYS, strict=True):
        bounds = session_bounds("XNYS", day)
        assert events[start][2] == bounds.open  # the clock is at the day's start
        assert events[end][2] == bounds.close
        # the first event of the day is the phase the day opens in
        assert events[start + 1][:2] == ("phase", ("continuous", None, bounds.open))
    # every streamed bar, in (time, symbol) order, the clock at its time
    streamed = [(e[1], e[2]) for e in events if e[0] == "bar" and e[1].interval == "1m"]
    assert [b for b, _ in streamed] == minutes
    assert all(now == bar.ts_event for bar, now in streamed)
    # generated bars: as stored, each right after the streamed bar completing it
    generated = [e for e in events if e[0] == "bar" and e[1].interval != "1m"]
    stored_generated = {
        interval: store.read_bars(list(SYMBOLS), interval, session_bounds("XNYS", DAYS[0]).open,
                                  session_bounds("XNYS", DAYS[-1]).close, source=GENERATED_SOURCE)
        for interval in ("5m", "15m", "1d")
    }  # fmt: skip
    for interval, bars in stored_generated.items():
        mine = sorted((e[1] for e in generated if e[1].interval == interval),
                      key=lambda b: (b.ts_event, b.symbol))  # fmt: skip
        assert mine == sorted(bars, key=lambda b: (b.ts_event, b.symbol)), interval
        assert len(mine) == summary.generated[interval]
    position = {id(e[1]): i for i, e in enumerate(events) if e[0] == "bar"}
    for _, bar, now in generated:
        bucket_end = bar.ts_event + {"5m": timedelta(minutes=5), "15m": timedelta(minutes=15),
                                     "1d": timedelta(hours=6, minutes=30)}[bar.interval]  # fmt: skip
        before = events[position[id(bar)] - 1]
        close = session_bounds("XNYS", bar.ts_event.date()).close
        if now == close:  # nothing completed it: flushed at the close (AAPL lacks 15:59)
            assert bar.symbol == "AAPL" and bucket_end == close
            continue
        # the streamed bar completing it is the one just before (or the generated bars of the
        # same instant, smaller intervals first), of the same symbol, and the clock is there
        completing = next(
            e[1] for e in reversed(events[: position[id(bar)]])
            if e[0] == "bar" and e[1].interval == "1m"
        )  # fmt: skip
        assert completing.symbol == bar.symbol and now == completing.ts_event
        assert before[0] == "bar"
        last_slot = bucket_end - timedelta(minutes=1)
        if completing.ts_event < bucket_end:
            assert completing.ts_event == last_slot  # complete: its last minute came
        else:
            assert completing.ts_event >= bucket_end  # late: a later bucket's first bar
    # a late one: AAPL lacks 09:34, so its 09:30 5m bar closes with its 09:35 bar
    day0 = session_bounds("XNYS", DAYS[0]).open
    late = next(e for e in generated if e[1].symbol == "AAPL" and e[1].interval == "5m"
                and e[1].ts_event == day0)  # fmt: skip
    assert late[2] == day0 + timedelta(minutes=5)
    # the day's 1d bar closes with the last minute
    assert [e[1].interval for e in generated if e[2] == day0 + timedelta(minutes=389)] == [
        "5m", "15m", "1d"]  # MSFT's; AAPL lacks 15:59: its 1d bar is flushed at the close


class ReplayingSubscription:
    """A live stream that replays stored bars day by day, driving the session's clock: it
    moves the clock to each day's start, delivers the day's bars, waits until the engine has
    processed them, then moves the clock to the day's end (how a live day passes)."""

    def __init__(self, bars: list[Bar], clock: SimulatedClock, recorder: Recorder) -> None:
        self.bars, self.clock, self.recorder = bars, clock, recorder
        self.stopped = False

    async def _run(self) -> Any:
        for index, day in enumerate(DAYS):
            while self._ended() < index:  # the engine is still ending the previous day
                await asyncio.sleep(0.001)
            window = session_bounds("XNYS", day)
            if self.clock.now() < window.start:
                self.clock.jump_to(window.start)
            todays = [b for b in self.bars if window.open <= b.ts_event < window.close]
            for bar in todays:
                yield bar
            while self.clock.now() < todays[-1].ts_event:  # until the engine streamed them
                await asyncio.sleep(0.001)
            self.clock.jump_to(window.end)
        while not self.stopped:
            await asyncio.sleep(0.01)

    def _ended(self) -> int:
        return sum(e[0] == "day_end" for e in self.recorder.events)

    def __aiter__(self) -> Any:
        return self._run()

    async def stop(self) -> None:
        self.stopped = True


class LiveSource:
    name = "synthetic"

    def __init__(self, subscription: ReplayingSubscription) -> None:
        self.subscription = subscription

    def subscribe(self, symbols: Any, channels: Any) -> ReplayingSubscription:
        return self.subscription


def test_the_live_path_delivers_the_same_event_sequence_as_the_vectorised_backtest(
    stored: tuple[Store, list[Bar]], host: Any, tmp_path: Any
) -> None:
    store, minutes = stored
    replayed, _ = run_backtest(store, host)

    live_store = Store.from_url(f"sqlite:///{tmp_path / 'live.db'}")
    clock = SimulatedClock(session_bounds("XNYS", DAYS[0]).open - timedelta(minutes=1))
    recorder = Recorder(clock)
    subscription = ReplayingSubscription(minutes, clock, recorder)
    run = SessionCoordinator.for_config(
        config("live"), store=live_store, host=host, source=LiveSource(subscription),
        clock=clock, subscribers=[recorder],
    )  # fmt: skip
    recorder.on_end = lambda window: run.stop() if window.date == DAYS[-1] else None
    summary = run.run_sync()
    assert summary.mode == "live" and len(summary.days) == 2
    assert len(recorder.events) == len(replayed.events) > 2 * 780
    # the same calls, with the same arguments, the clock at the same instants
    assert recorder.events == replayed.events
    lo, hi = session_bounds("XNYS", DAYS[0]).open, session_bounds("XNYS", DAYS[-1]).close
    for interval in ("5m", "15m", "1d"):
        assert live_store.read_bars(list(SYMBOLS), interval, lo, hi) == store.read_bars(
            list(SYMBOLS), interval, lo, hi, source=GENERATED_SOURCE
        )
    assert subscription.stopped
    live_store.dispose()


def test_a_stored_bar_reaches_the_streamer_as_columns_and_the_indicator_as_a_record(
    stored: tuple[Store, list[Bar]], host: Any
) -> None:
    """The replay path's representations: the table row, read straight into a columnar day
    block (``BarColumns``), then the ``Bar`` record indicators and subscribers receive. No
    DataFrame is built on the way (observed with a profile hook on its constructor)."""
    import sys

    import pandas as pd

    from core.columns import BarColumns
    from plugins import hookimpl

    store, minutes = stored
    blocks: list[Any] = []
    seen: list[Any] = []

    class Observed(Store):
        def read_bar_columns(self, *args: Any, **kwargs: Any) -> Any:
            out = super().read_bar_columns(*args, **kwargs)
            blocks.extend(out)
            return out

        def read_bars_frame(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("the replay path read a DataFrame")

    class Seen:
        name, description, kind = "seen", "records what it is fed", "streaming"

        def __init__(self, name: str) -> None:
            pass

        def update(self, bar: Any) -> float:
            seen.append(bar)
            return bar.close

    class Plugin:
        @hookimpl
        def register_indicators(self) -> list[type]:
            return [Seen]

    data = config().model_dump(mode="json")
    data["session_data_config"]["historical"] = {"indicators": {"seen": {"type": "seen"}}}
    observed = Observed(store.engine)
    frames: list[Any] = []
    constructor = pd.DataFrame.__init__.__code__

    def profile(frame: Any, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code is constructor:
            frames.append(frame)

    sys.setprofile(profile)
    try:
        SessionCoordinator.for_config(
            validate_session_config(data),
            store=observed,
            host=load_plugins(entry_points=False, extra=[Plugin()]),
        ).run_sync()
        during_run = list(frames)
        pd.DataFrame({"control": [1]})  # the hook does see a DataFrame being built
    finally:
        sys.setprofile(None)
    assert during_run == [] and frames
    assert blocks and all(type(b) is BarColumns for b in blocks)
    assert sum(len(b) for b in blocks if b.interval == "1m") == len(minutes)
    assert len(seen) == len(minutes) and all(type(b) is Bar for b in seen)
    assert all(isinstance(b, BarLike) for b in seen[:10])
    assert sorted(seen, key=lambda b: (b.ts_event, b.symbol)) == minutes
