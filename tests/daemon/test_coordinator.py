"""SessionCoordinator: the per-day lifecycle, the streaming rules and what gets persisted.

Runs the real coordinator on the synthetic source and a SQLite store in tmp_path. A small test
plugin (registered through the plugin manager like any other) records hooks and every streamed
row; a recording SimulatedClock records every move of simulated time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.calendars import session_bounds
from core.columns import BarColumns
from core.config import validate_session_config
from core.errors import InvalidTransition, SessionError
from core.models import Bar, IndicatorValue
from core.phases import phase_windows
from core.sessions import SessionWindow
from core.store import Store
from daemon.aggregation.bars import BarAggregator
from daemon.clock import SimulatedClock
from daemon.coordinator import GENERATED_SOURCE, SessionCoordinator
from daemon.feeds.replay import ReplayFeed
from daemon.lifecycle import RunState
from daemon.results import RunObserver
from plugins import hookimpl
from plugins.history import day_window, load_history
from plugins.manager import load_plugins

# --------------------------------------------------------------------------------------------
# Test plugin and clock
# --------------------------------------------------------------------------------------------


class RecordingIndicator:
    """A streaming indicator that logs every row it sees (class-level log shared by symbols)."""

    name: ClassVar[str] = "recording"
    description: ClassVar[str] = "records streamed rows (tests)"
    kind: ClassVar[str] = "streaming"
    log: ClassVar[list[tuple[datetime, str, datetime]]] = []
    clock: ClassVar[Any] = None
    stop_after: ClassVar[int | None] = None
    on_stop: ClassVar[Any] = None

    def __init__(self, name: str, calendar: str | None = None, **params: Any) -> None:
        self.indicator_name = name
        self.value: float | None = None
        self.count = 0

    def update(self, row: Any) -> float | None:
        cls = type(self)
        cls.log.append((row.ts_event, row.symbol, cls.clock.now() if cls.clock else None))
        self.count += 1
        self.value = float(self.count)
        if cls.stop_after is not None and len(cls.log) == cls.stop_after:
            cls.on_stop()
        return self.value

    def reset(self) -> None:
        self.count = 0
        self.value = None


class RecordingPlugin:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def register_indicators(self) -> list[type]:
        return [RecordingIndicator]

    @hookimpl
    def session_started(
        self, session_name: str, exchange: str, trading_date: date, mode: str
    ) -> None:
        self.calls.append(("started", {"date": trading_date, "mode": mode, "exchange": exchange}))

    @hookimpl
    def phase_changed(
        self, exchange: str, trading_date: date, phase: str, previous: str | None
    ) -> None:
        self.calls.append(("phase", {"date": trading_date, "phase": phase, "previous": previous}))

    @hookimpl
    def session_ended(
        self, session_name: str, exchange: str, trading_date: date, summary: dict[str, Any]
    ) -> None:
        self.calls.append(("ended", {"date": trading_date, **summary}))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.calls if name == kind]


class RecordingClock(SimulatedClock):
    """A SimulatedClock that records every move: ("advance" | "jump", target)."""

    def __init__(self, start: datetime, speed_multiplier: float = 0.0) -> None:
        super().__init__(start, speed_multiplier)
        self.moves: list[tuple[str, datetime]] = []

    def advance_to(self, ts: datetime) -> None:
        self.moves.append(("advance", ts))
        super().advance_to(ts)

    async def advance_to_async(self, ts: datetime) -> None:
        self.moves.append(("advance", ts))
        await super().advance_to_async(ts)

    def jump_to(self, ts: datetime) -> None:
        self.moves.append(("jump", ts))
        super().jump_to(ts)


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


def make_config(
    *,
    exchange_group: str = "US_EQUITY",
    symbols: tuple[str, ...] = ("MSFT", "AAPL"),
    start: str = "2025-07-02",
    end: str = "2025-07-02",
    speed: float = 0.0,
    enable_quality: bool = True,
    indicators: dict[str, Any] | None = None,
    trailing_days: int = 2,
) -> Any:
    return validate_session_config(
        {
            "session_name": "coordinator_test",
            "exchange_group": exchange_group,
            "mode": "backtest",
            "backtest_config": {
                "start_date": start,
                "end_date": end,
                "speed_multiplier": speed,
                "prefetch_days": 2,
            },
            "session_data_config": {
                "symbols": list(symbols),
                "streams": ["1m", "5m", "15m"],
                "historical": {
                    "enable_quality": enable_quality,
                    "data": [
                        {"trailing_days": trailing_days, "intervals": ["1m"], "apply_to": "all"}
                    ],
                    "indicators": indicators
                    if indicators is not None
                    else {"trace": {"type": "recording"}},
                },
            },
            "api_config": {"data_api": "synthetic", "data_api_options": {"seed": 7}},
        }
    )


@pytest.fixture
def plugin() -> Iterator[RecordingPlugin]:
    RecordingIndicator.log = []
    RecordingIndicator.clock = None
    RecordingIndicator.stop_after = None
    RecordingIndicator.on_stop = None
    yield RecordingPlugin()
    RecordingIndicator.log = []


@pytest.fixture
def host(plugin: RecordingPlugin) -> Any:
    return load_plugins(entry_points=False, extra=[plugin])


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    s = Store.from_url(sqlite_url)
    yield s
    s.dispose()


def coordinator(config: Any, store: Store, host: Any, **kwargs: Any) -> SessionCoordinator:
    first = date.fromisoformat(str(config.backtest_config.start_date))
    clock = kwargs.pop(
        "clock",
        RecordingClock(
            session_bounds(config.calendar_name, first).open - timedelta(hours=1),
            config.backtest_config.speed_multiplier,
        ),
    )
    RecordingIndicator.clock = clock
    return SessionCoordinator.for_config(config, store=store, host=host, clock=clock, **kwargs)


def preload(store: Store, host: Any, config: Any, start: date, end: date) -> None:
    source = host.create_source("synthetic", exchange=config.calendar_name, seed=7)
    load_history(
        store,
        source,
        source_name="synthetic",
        calendar=config.calendar_name,
        symbols=config.symbols,
        intervals=["1m"],
        start=start,
        end=end,
    )


# --------------------------------------------------------------------------------------------
# Lifecycle across days
# --------------------------------------------------------------------------------------------


def test_backtest_runs_every_trading_day_across_weekend_and_holiday_and_finishes(
    store: Store, host: Any, plugin: RecordingPlugin
) -> None:
    # 2025-07-03 closes early (13:00 ET), 07-04 is a holiday, 07-05/06 a weekend.
    config = make_config(start="2025-07-02", end="2025-07-08")
    run = coordinator(config, store, host)
    summary = run.run_sync()
    days = [date(2025, 7, 2), date(2025, 7, 3), date(2025, 7, 7), date(2025, 7, 8)]
    assert [d.trading_date for d in summary.days] == days
    assert [d.events for d in summary.days] == [780, 420, 780, 780]
    assert summary.status == "finished" and run.lifecycle.state is RunState.FINISHED
    assert [p["date"] for p in plugin.of("started")] == days
    assert [p["date"] for p in plugin.of("ended")] == days
    assert [p["events"] for p in plugin.of("ended")] == [780, 420, 780, 780]
    # Each day walks the table once; the run ends with finish.
    triggers = [t.trigger.value for t in run.lifecycle.history]
    assert triggers.count("stream") == 4 and triggers.count("next_day") == 3
    assert triggers[-1] == "finish"
    # The session run is stored with its metrics.
    (stored,) = store.read_session_runs("coordinator_test")
    assert stored.id == summary.run_id and stored.status == "finished"
    assert stored.metrics["trading_days"] == 4 and stored.metrics["events"] == 2760
    assert stored.start_date == days[0] and stored.end_date == days[-1]
    with pytest.raises(
        InvalidTransition, match=f"cannot stop session {summary.run_id}: state was finished"
    ):
        run.lifecycle.stop()


def test_range_without_a_trading_day_is_a_session_error(store: Store, host: Any) -> None:
    run = coordinator(make_config(), store, host, start=date(2025, 7, 4), end=date(2025, 7, 6))
    with pytest.raises(
        SessionError, match="no trading day of XNYS between 2025-07-04 and 2025-07-06"
    ):
        run.run_sync()


# --------------------------------------------------------------------------------------------
# Streaming rules
# --------------------------------------------------------------------------------------------


def test_clock_never_leaves_open_to_close_and_ends_each_day_at_the_close(
    store: Store, host: Any
) -> None:
    config = make_config(start="2025-07-02", end="2025-07-03")
    run = coordinator(config, store, host)
    run.run_sync()
    clock: RecordingClock = run.clock
    streaming = [m for m in clock.moves if m[1] >= session_bounds("XNYS", date(2025, 7, 2)).open]
    for d in (date(2025, 7, 2), date(2025, 7, 3)):
        bounds = session_bounds("XNYS", d)
        moves = [m for m in streaming if m[1].date() == d]
        assert moves[0] == ("jump", bounds.open)
        assert all(bounds.open <= ts <= bounds.close for _, ts in moves)
        assert moves[-1] == ("jump", bounds.close)  # last bar at close-1m, then to the close
        assert moves[-2] == ("advance", bounds.close - timedelta(minutes=1))
    # Every streamed row was seen with the clock exactly at its own time.
    assert all(ts == now for ts, _, now in RecordingIndicator.log)


def test_symbols_interleave_in_time_then_symbol_order(store: Store, host: Any) -> None:
    config = make_config(symbols=("ZZZ", "MSFT", "AAPL"))
    coordinator(config, store, host).run_sync()
    seen = [(ts, symbol) for ts, symbol, _ in RecordingIndicator.log]
    assert len(seen) == 3 * 390
    assert seen == sorted(seen)
    assert [s for _, s in seen[:6]] == ["AAPL", "MSFT", "ZZZ", "AAPL", "MSFT", "ZZZ"]


def test_lunch_break_is_jumped_over_and_never_streamed(store: Store, host: Any) -> None:
    day = date(2025, 7, 1)
    config = make_config(
        exchange_group="HOSE", symbols=("FPT", "VNM"), start="2025-07-01", end="2025-07-01"
    )
    preload(store, host, config, day, day)
    bounds = session_bounds("XSTC", day)
    # Bars stamped inside the break (a vendor glitch) must be dropped, not streamed.
    glitch = [
        Bar(
            "VNM",
            "1m",
            bounds.break_start + timedelta(minutes=m),
            1.0,
            1.0,
            1.0,
            1.0,
            100.0,
            1,
            1.0,
            "synthetic",
        )
        for m in (0, 45, 89)
    ]
    store.upsert_bars(glitch)
    run = coordinator(config, store, host)
    summary = run.run_sync()
    (result,) = summary.days
    assert result.events == 2 * 255 and result.dropped == 3
    moves = run.clock.moves
    jump = moves.index(("jump", bounds.break_end))
    assert moves[jump - 1] == ("advance", bounds.break_start)
    assert not any(bounds.break_start < ts < bounds.break_end for _, ts in moves)
    assert not any(
        bounds.break_start <= ts < bounds.break_end for ts, _, _ in RecordingIndicator.log
    )
    # No generated bar spans or sits in the break.
    generated = store.read_bars(["VNM"], "5m", bounds.open, bounds.close, source=GENERATED_SOURCE)
    assert len(generated) == 30 + 21
    assert not any(bounds.break_start <= b.ts_event < bounds.break_end for b in generated)


def test_paced_clock_streams_only_trading_time_and_skips_the_break(store: Store, host: Any) -> None:
    day = date(2025, 7, 1)
    config = make_config(
        exchange_group="HOSE", symbols=("FPT",), start="2025-07-01", end="2025-07-01", speed=150_000
    )
    progress: list[int] = []

    class Progress(RunObserver):
        def progressed(self, trading_date: date, events: int) -> None:
            progress.append(events)

    run = coordinator(config, store, host, observer=Progress())
    run.run_sync()
    # Paced days report progress at every new minute (one symbol: one event per minute).
    assert progress[:3] == [1, 2, 3] and progress[-1] == 255 and len(progress) >= 255
    report = run.clock.pacing_report()
    # Paced: open..break start (2h30) + break end..last bar 14:44 (1h44); the break and the
    # final minute to the close are jumps.
    assert report["simulated_seconds"] == 9000 + 6240
    assert report["wall_seconds"] >= 15240 / 150_000 * 0.9
    assert run.days[0].clock_end == session_bounds("XSTC", day).close


def test_data_exhaustion_jumps_the_clock_to_the_close(store: Store, host: Any) -> None:
    day = date(2025, 7, 2)
    config = make_config()
    preload(store, host, config, day, day)
    bounds = session_bounds("XNYS", day)
    cut = bounds.open + timedelta(minutes=100)
    assert store.delete_bars(["AAPL", "MSFT"], "1m", cut, bounds.close, source="synthetic") == 580
    run = coordinator(config, store, host)
    summary = run.run_sync()
    assert summary.days[0].events == 200
    assert run.clock.moves[-2:] == [("advance", cut - timedelta(minutes=1)), ("jump", bounds.close)]
    assert summary.days[0].clock_end == bounds.close
    # The streamed day's quality says what is missing.
    assert summary.days[0].quality["1m"] == pytest.approx(100 * 100 / 390)


class ListFeed(ReplayFeed):
    """A feed serving fixed rows (to put events where the store never would)."""

    def __init__(self, rows: list[Bar]) -> None:
        super().__init__(lambda *_: [], symbols=[], interval="1m")
        self._rows = rows
        self.released: list[date] = []

    def is_loaded(self, trading_date: date) -> bool:
        return True

    def prefetch(self, windows: Any) -> int:
        return 0

    def day(self, window: SessionWindow) -> Any:
        fixed = self._rows

        class Day:
            columns = BarColumns.from_bars(fixed)

            def bars(self) -> list[Bar]:
                return list(fixed)

        return Day()

    def release(self, trading_date: date) -> None:
        self.released.append(trading_date)


def test_an_event_at_or_after_the_close_ends_the_day_with_the_clock_at_the_close(
    store: Store, host: Any
) -> None:
    day = date(2025, 7, 2)
    bounds = session_bounds("XNYS", day)

    def row(symbol: str, ts: datetime) -> Bar:
        return Bar(symbol, "1m", ts, 1.0, 2.0, 0.5, 1.5, 10.0, 1, 1.2, "synthetic")

    rows = [
        row("AAPL", bounds.open - timedelta(minutes=1)),  # before the open: dropped
        row("AAPL", bounds.open),
        row("MSFT", bounds.open),
        row("TSLA", bounds.open),  # not a session symbol: dropped
        row("AAPL", bounds.open + timedelta(minutes=1)),
        row("AAPL", bounds.close),  # at the close: not streamed
        row("MSFT", bounds.close + timedelta(minutes=5)),
    ]
    config = make_config()
    run = SessionCoordinator(
        config,
        store=store,
        host=host,
        feed=ListFeed(rows),
        clock=RecordingClock(bounds.open - timedelta(hours=1)),
    )
    RecordingIndicator.clock = run.clock
    summary = run.run_sync()
    assert summary.days[0].events == 3 and summary.days[0].dropped == 2
    assert [ts for ts, _, _ in RecordingIndicator.log] == [
        bounds.open,
        bounds.open,
        bounds.open + timedelta(minutes=1),
    ]
    assert run.clock.moves[-1] == ("jump", bounds.close)
    assert max(ts for _, ts in run.clock.moves) == bounds.close


def test_stop_ends_the_day_cleanly_after_persisting(store: Store, host: Any) -> None:
    config = make_config(start="2025-07-02", end="2025-07-08")
    run = coordinator(config, store, host)
    RecordingIndicator.stop_after = 2 * 30  # both symbols' first 30 minutes
    RecordingIndicator.on_stop = run.stop
    summary = run.run_sync()
    assert summary.status == "stopped" and run.lifecycle.state is RunState.STOPPED
    assert [t.trigger.value for t in run.lifecycle.history][-2:] == ["end_day", "stop"]
    (result,) = summary.days
    assert result.stopped and result.events == 60
    bounds = session_bounds("XNYS", date(2025, 7, 2))
    assert result.clock_end == bounds.open + timedelta(minutes=29)
    stored = store.read_bars(
        ["AAPL", "MSFT"], "5m", bounds.open, bounds.close, source=GENERATED_SOURCE
    )
    assert len(stored) == 2 * 6
    assert store.read_session_runs()[0].status == "stopped"
    quality = store.read_quality(["AAPL"], "1m", date(2025, 7, 2), date(2025, 7, 2))
    assert [q.actual_bars for q in quality if q.source == GENERATED_SOURCE] == [30]


def test_phase_changes_fire_the_hook_in_order(
    store: Store, host: Any, plugin: RecordingPlugin
) -> None:
    day = date(2025, 7, 1)
    config = make_config(
        exchange_group="HOSE", symbols=("FPT",), start="2025-07-01", end="2025-07-01"
    )
    coordinator(config, store, host).run_sync()
    bounds = session_bounds("XSTC", day)
    expected = [
        str(w.phase)
        for w in phase_windows("XSTC", day)
        if w.start <= bounds.open < w.end or bounds.open < w.start <= bounds.close
    ]
    assert expected == ["ato", "continuous", "break", "continuous", "atc", "put_through"]
    phases = plugin.of("phase")
    assert [p["phase"] for p in phases] == expected
    assert [p["previous"] for p in phases] == [None, *expected[:-1]]


# --------------------------------------------------------------------------------------------
# Persisted results and quality
# --------------------------------------------------------------------------------------------


def test_results_are_persisted_bars_indicators_quality_and_run(store: Store, host: Any) -> None:
    config = make_config(
        indicators={
            "trace": {"type": "recording"},
            "ema_close": {"type": "ema", "period": 5},
            "avg_volume": {"type": "trailing_average", "period": "2d", "granularity": "daily"},
        }
    )
    summary = coordinator(config, store, host).run_sync()
    day = date(2025, 7, 2)
    bounds = session_bounds("XNYS", day)
    assert summary.generated == {"5m": 2 * 78, "15m": 2 * 26}
    for interval, count in summary.generated.items():
        assert (
            store.count_bars(
                ["AAPL", "MSFT"], interval, bounds.open, bounds.close, source=GENERATED_SOURCE
            )
            == count
        )
    # Historical indicator: the daily trailing average of volume over the two prior days.
    (value,) = store.read_indicator_values(
        "avg_volume", ["AAPL"], bounds.open, bounds.open + timedelta(seconds=1)
    )
    previous = [date(2025, 6, 30), date(2025, 7, 1)]
    daily = [
        b.volume
        for d in previous
        for b in store.read_bars(["AAPL"], "1d", *day_window("XNYS", d, "1d"), source="synthetic")
    ]
    assert len(daily) == 2 and value.value == pytest.approx(sum(daily) / 2)
    # Streaming indicator: its end-of-day value (390 rows seen by each symbol's instance).
    (trace,) = store.read_indicator_values(
        "trace", ["MSFT"], bounds.close, bounds.close + timedelta(seconds=1)
    )
    assert trace.value == 390.0
    # A second streaming indicator on the same symbols: EMA(5) of the day's closes.
    (ema,) = store.read_indicator_values(
        "ema_close", ["MSFT"], bounds.close, bounds.close + timedelta(seconds=1)
    )
    closes = [
        b.close
        for b in store.read_bars(["MSFT"], "1m", bounds.open, bounds.close, source="synthetic")
    ]
    expected_ema = sum(closes[:5]) / 5
    for close in closes[5:]:
        expected_ema += 2 / 6 * (close - expected_ema)
    assert ema.value == pytest.approx(expected_ema, rel=1e-12)
    # Quality: trailing days (source rows) and the streamed day (generated).
    quality = store.read_quality(["AAPL", "MSFT"], "1m", previous[0], day)
    assert sorted((q.trading_date, q.symbol, q.quality_pct) for q in quality) == sorted(
        (d, s, 100.0) for d in [*previous, day] for s in ("AAPL", "MSFT")
    )
    (run,) = store.read_session_runs()
    assert run.metrics["summary"]["generated_bars"] == {"5m": 156, "15m": 52}
    assert run.metrics["event_processing"]["count"] == 780


def test_historical_indicators_are_read_from_the_store_and_only_missing_ones_computed(
    store: Store, host: Any
) -> None:
    # Sentinels under the keys the Dagster indicator assets write (name, symbol, as_of = the
    # open, source "sessiond"): values no computation from the bars can give.
    day = date(2025, 7, 2)
    open_ = session_bounds("XNYS", day).open
    # MSFT has no daily value, and its per-minute values have a hole (minute 100): computed.
    daily = IndicatorValue("avg_volume", "AAPL", open_, 123456.0, complete=True, observations=2)
    by_minute = [
        IndicatorValue("vol_by_minute", symbol, open_, -1.0 - i, False, 1, minute_of_day=i)
        for symbol in ("AAPL", "MSFT")
        for i in range(390)
        if (symbol, i) != ("MSFT", 100)
    ]
    store.upsert_indicator_values([daily, *by_minute], GENERATED_SOURCE)
    config = make_config(
        indicators={
            "avg_volume": {"type": "trailing_average", "period": "2d", "granularity": "daily"},
            "vol_by_minute": {
                "type": "trailing_average",
                "period": "2d",
                "granularity": "intraday",
            },
        }
    )
    run = coordinator(config, store, host)
    summary = run.run_sync()
    data = run.session_data
    assert data.indicator_value("avg_volume", "AAPL") == 123456.0
    # stored values are used as they are, incomplete ones included
    assert [v.value for v in data.indicator("vol_by_minute", "AAPL").values] == [
        -1.0 - i for i in range(390)
    ]
    assert data.indicator("vol_by_minute", "AAPL").at_minute(389).complete is False
    msft_minutes = data.indicator("vol_by_minute", "MSFT").values
    assert len(msft_minutes) == 390 and all(v.value > 0 and v.complete for v in msft_minutes)
    # MSFT's daily average is computed from the two prior days' daily bars and stored.
    previous = [date(2025, 6, 30), date(2025, 7, 1)]
    volumes = [
        b.volume
        for d in previous
        for b in store.read_bars(["MSFT"], "1d", *day_window("XNYS", d, "1d"), source="synthetic")
    ]
    assert len(volumes) == 2
    assert data.indicator_value("avg_volume", "MSFT") == pytest.approx(sum(volumes) / 2)
    window = (open_, open_ + timedelta(seconds=1))
    stored = {
        v.symbol: v for v in store.read_indicator_values("avg_volume", ["AAPL", "MSFT"], *window)
    }
    assert stored["AAPL"].value == 123456.0  # not overwritten by a recomputation
    assert stored["MSFT"].complete and stored["MSFT"].value == pytest.approx(sum(volumes) / 2)
    (result,) = summary.days
    assert result.indicators_read == 1 + 390 and result.indicator_values == 1 + 390
    # AAPL's bars were never needed for an indicator: only MSFT's daily history was fetched.
    assert store.count_bars(["AAPL"], "1d", *day_window("XNYS", previous[0], "1d")) == 0
    assert store.count_bars(["MSFT"], "1d", *day_window("XNYS", previous[0], "1d")) == 1


class SlowIndicator:
    """A streaming indicator that takes at least 1 ms on every bar of one symbol (tests)."""

    name: ClassVar[str] = "slow_on_one_symbol"
    description: ClassVar[str] = "sleeps 1 ms per bar of symbol `slow` (tests)"
    kind: ClassVar[str] = "streaming"

    def __init__(self, name: str, slow: str = "", calendar: str | None = None) -> None:
        self.indicator_name = name
        self.slow = slow
        self.value: float | None = None

    def update(self, row: Any) -> float | None:
        if row.symbol == self.slow:
            time.sleep(0.001)
        self.value = row.close
        return self.value

    def reset(self) -> None:
        self.value = None


class SlowPlugin:
    @hookimpl
    def register_indicators(self) -> list[type]:
        return [SlowIndicator]


def test_per_event_quantiles_come_from_individually_timed_events(store: Store) -> None:
    # One symbol of three is slow (>= 1 ms per event), the others take microseconds. Sampling
    # one event in 64 in (time, symbol) order visits the three symbols in turn (64 = 1 mod 3),
    # so p50 is a fast event and p99/max a slow one; a batch mean (~0.35 ms) would be neither.
    host = load_plugins(entry_points=False, extra=[SlowPlugin()])
    config = make_config(
        symbols=("AAPL", "MSFT", "NVDA"),
        indicators={"slow": {"type": "slow_on_one_symbol", "slow": "MSFT"}},
        trailing_days=1,
    )
    run = coordinator(config, store, host, persist=False)
    run.run_sync()
    stat = run.metrics.event_processing
    events = 3 * 390
    assert stat.count == events and run.metrics.timed_events == 19  # events 1, 65, ..., 1153
    assert stat.p50 < 0.0005
    assert stat.p99 >= 0.001 and stat.max >= 0.001
    assert stat.min < 0.0005
    assert stat.mean == pytest.approx(stat.total / events) and stat.mean > 0.00033
    data = run.metrics.to_dict()["event_processing"]
    assert data["timed_events"] == 19 and data["timed_every"] == 64
    report = run.metrics.report()
    assert "event processing *" in report and "1 event in 64 timed alone" in report


def test_historical_quality_counts_missing_minutes_and_can_be_disabled(
    store: Store, host: Any
) -> None:
    previous = date(2025, 7, 1)
    config = make_config(trailing_days=1)
    preload(store, host, config, previous, previous)
    bounds = session_bounds("XNYS", previous)
    store.delete_bars(
        ["AAPL"],
        "1m",
        bounds.open + timedelta(minutes=10),
        bounds.open + timedelta(minutes=49),
        source="synthetic",
    )
    summary = coordinator(config, store, host).run_sync()
    assert summary.days[0].historical_quality["1m"] == pytest.approx((100 * 351 / 390 + 100) / 2)
    (aapl,) = [q for q in store.read_quality(["AAPL"], "1m", previous, previous)]
    assert aapl.actual_bars == 351 and aapl.missing[0] == bounds.open + timedelta(minutes=10)

    disabled = make_config(trailing_days=1, enable_quality=False)
    summary = coordinator(disabled, store, host).run_sync()
    assert summary.days[0].historical_quality == {"1m": 100.0}


def test_vectorised_prefetch_and_event_by_event_paths_give_identical_aggregates(
    store: Store, host: Any
) -> None:
    days = [date(2025, 7, 2), date(2025, 7, 3)]
    config = make_config(start="2025-07-02", end="2025-07-03", symbols=("MSFT", "AAPL", "TSLA"))
    coordinator(config, store, host).run_sync()
    for d in days:
        bounds = session_bounds("XNYS", d)
        # Event by event: Bar objects from the store's row reader, one update at a time.
        aggregator = BarAggregator(["5m", "15m"], source=GENERATED_SOURCE)
        aggregator.start_day(bounds)
        expected: list[Bar] = []
        for bar in store.read_bars(
            ["AAPL", "MSFT", "TSLA"], "1m", bounds.open, bounds.close, source="synthetic"
        ):
            expected.extend(aggregator.update(bar) or [])
        expected.extend(aggregator.close_day())
        for interval in ("5m", "15m"):
            got = store.read_bars(
                ["AAPL", "MSFT", "TSLA"],
                interval,
                bounds.open,
                bounds.close,
                source=GENERATED_SOURCE,
            )
            want = sorted(
                (b for b in expected if b.interval == interval),
                key=lambda b: (b.ts_event, b.symbol),
            )
            assert len(got) == len(want) > 0
            for g, w in zip(got, want, strict=True):
                assert (
                    g.symbol,
                    g.ts_event,
                    g.open,
                    g.high,
                    g.low,
                    g.close,
                    g.volume,
                    g.trade_count,
                ) == (w.symbol, w.ts_event, w.open, w.high, w.low, w.close, w.volume, w.trade_count)
                assert g.vwap == pytest.approx(w.vwap)


def test_plugin_hook_errors_do_not_stop_the_session(store: Store, plugin: RecordingPlugin) -> None:
    class Broken:
        @hookimpl
        def session_started(
            self, session_name: str, exchange: str, trading_date: date, mode: str
        ) -> None:
            raise RuntimeError("plugin bug")

    host = load_plugins(entry_points=False, extra=[plugin, Broken()])
    summary = coordinator(make_config(), store, host).run_sync()
    assert summary.status == "finished" and summary.events == 780


def test_naive_times_never_reach_the_engine(store: Store, host: Any) -> None:
    coordinator(make_config(), store, host).run_sync()
    assert RecordingIndicator.log and all(
        ts.tzinfo is not None for ts, _, _ in RecordingIndicator.log
    )
    assert RecordingIndicator.log[0][0] == datetime(2025, 7, 2, 13, 30, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Live mode: same coordinator, LiveClock + LiveFeed
# --------------------------------------------------------------------------------------------


class LiveSubscription:
    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.stopped = False

    async def _run(self) -> Any:
        import asyncio

        for event in self.events:
            yield event
        while not self.stopped:
            await asyncio.sleep(0.01)

    def __aiter__(self) -> Any:
        return self._run()

    async def stop(self) -> None:
        self.stopped = True


class LiveSyntheticSource:
    """History from the synthetic source, plus a scripted live stream."""

    name = "synthetic"

    def __init__(self, inner: Any, events: list[Any]) -> None:
        self.inner = inner
        self.subscription = LiveSubscription(events)

    def request_bars(self, symbols: Any, start: datetime, end: datetime, interval: str) -> Any:
        return self.inner.request_bars(symbols, start, end, interval)

    def subscribe(self, symbols: Any, channels: Any) -> LiveSubscription:
        return self.subscription


def test_live_mode_waits_for_the_open_streams_the_feed_and_stops_cleanly(
    store: Store, host: Any, plugin: RecordingPlugin
) -> None:
    from core.models import Trade
    from daemon.clock import LiveClock

    day = date(2025, 7, 2)
    bounds = session_bounds("XNYS", day)
    config = validate_session_config(
        {**make_config().model_dump(mode="json"), "mode": "live", "backtest_config": None}
    )
    events = [
        Bar("AAPL", "1m", bounds.open, 10.0, 11.0, 9.0, 10.5, 100.0, 3, 10.2, "synthetic"),
        Trade("AAPL", bounds.open, 10.5, 100.0),
        Bar("MSFT", "1m", bounds.open, 20.0, 21.0, 19.0, 20.5, 200.0, 4, 20.2, "synthetic"),
    ]
    source = LiveSyntheticSource(host.create_source("synthetic", exchange="XNYS", seed=7), events)
    clock = LiveClock(start_at=bounds.open - timedelta(seconds=1))
    run = SessionCoordinator.for_config(config, store=store, host=host, source=source, clock=clock)
    RecordingIndicator.clock = clock
    RecordingIndicator.stop_after = 2
    RecordingIndicator.on_stop = run.stop
    summary = run.run_sync()
    assert summary.status == "stopped" and summary.mode == "live"
    (result,) = summary.days
    assert result.trading_date == day and result.events == 2 and result.stopped
    # The clock waited for the open: both bars were seen at or after it.
    assert [(s, ts) for ts, s, _ in RecordingIndicator.log] == [
        ("AAPL", bounds.open),
        ("MSFT", bounds.open),
    ]
    assert all(now >= bounds.open for _, _, now in RecordingIndicator.log)
    assert plugin.of("started")[0]["mode"] == "live"
    # Partial 5m/15m bars were flushed and stored at the stop.
    stored = store.read_bars(
        ["AAPL", "MSFT"], "5m", bounds.open, bounds.close, source=GENERATED_SOURCE
    )
    assert [(b.symbol, b.volume) for b in stored] == [("AAPL", 100.0), ("MSFT", 200.0)]
    assert source.subscription.stopped


@pytest.mark.parametrize(
    ("exchange_group", "calendar", "day", "symbol"),
    [("HOSE", "XSTC", date(2025, 7, 1), "FPT"), ("US_EQUITY", "XNYS", date(2025, 7, 3), "AAPL")],
)
def test_cascaded_intervals_equal_bars_built_straight_from_the_streamed_rows(
    store: Store, host: Any, exchange_group: str, calendar: str, day: date, symbol: str
) -> None:
    """15m from 5m, 30m from 15m, 1h from 30m, 1d from 1h ... equal what 1m rows give."""
    intervals = ["5m", "10m", "15m", "30m", "1h", "1d"]
    data = make_config(
        exchange_group=exchange_group, symbols=(symbol,), start=day.isoformat(), end=day.isoformat()
    ).model_dump(mode="json")
    data["session_data_config"]["streams"] = ["1m", *intervals]
    config = validate_session_config(data)
    summary = coordinator(config, store, host).run_sync()
    bounds = session_bounds(calendar, day)
    minutes = store.read_bars([symbol], "1m", bounds.open, bounds.close, source="synthetic")
    assert summary.days[0].events == len(minutes) > 0
    for interval in intervals:
        direct = BarAggregator([interval], source=GENERATED_SOURCE)
        direct.start_day(bounds)
        want: list[Bar] = []
        for bar in minutes:
            want.extend(direct.update(bar) or [])
        want.extend(direct.close_day())
        got = store.read_bars(
            [symbol], interval, bounds.open, bounds.close, source=GENERATED_SOURCE
        )
        assert summary.generated[interval] == len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert (g.ts_event, g.open, g.high, g.low, g.close, g.volume, g.trade_count) == (
                w.ts_event,
                w.open,
                w.high,
                w.low,
                w.close,
                w.volume,
                w.trade_count,
            ), interval
            assert g.vwap == pytest.approx(w.vwap, rel=1e-12)


def test_live_stop_while_waiting_for_the_open_ends_the_run_without_streaming(
    store: Store, host: Any, plugin: RecordingPlugin
) -> None:
    import threading

    from daemon.clock import LiveClock

    bounds = session_bounds("XNYS", date(2025, 7, 2))
    config = validate_session_config(
        {**make_config().model_dump(mode="json"), "mode": "live", "backtest_config": None}
    )
    source = LiveSyntheticSource(host.create_source("synthetic", exchange="XNYS", seed=7), [])
    clock = LiveClock(start_at=bounds.open - timedelta(hours=2))
    run = SessionCoordinator.for_config(config, store=store, host=host, source=source, clock=clock)
    timer = threading.Timer(0.5, run.stop)
    timer.start()
    try:
        summary = run.run_sync()
    finally:
        timer.cancel()
    assert summary.status == "stopped"
    assert [t.trigger.value for t in run.lifecycle.history][-2:] == ["load_queues", "stop"]
    (day,) = summary.days
    assert day.stopped and day.events == 0
    assert plugin.of("started") == []  # never activated
    (stored,) = store.read_session_runs()
    assert stored.status == "stopped" and stored.metrics["days"][0]["stopped"] is True
    assert clock.now() < bounds.open


def test_a_backtest_persists_the_same_results_on_postgresql(pg_url: str, host: Any) -> None:
    pg = Store.from_url(pg_url)
    try:
        summary = coordinator(
            make_config(start="2025-07-03", end="2025-07-07"), pg, host
        ).run_sync()
        assert [d.events for d in summary.days] == [420, 780]
        bounds = session_bounds("XNYS", date(2025, 7, 7))
        assert (
            pg.count_bars(
                ["AAPL", "MSFT"], "15m", bounds.open, bounds.close, source=GENERATED_SOURCE
            )
            == 52
        )
        (run,) = pg.read_session_runs()
        assert run.status == "finished" and run.metrics["events"] == 1200
        quality = pg.read_quality(
            ["AAPL"], "5m", date(2025, 7, 3), date(2025, 7, 7), source=GENERATED_SOURCE
        )
        assert [(q.trading_date, q.actual_bars) for q in quality] == [
            (date(2025, 7, 3), 42),
            (date(2025, 7, 7), 78),
        ]
    finally:
        pg.dispose()


def test_a_backtest_without_a_bar_stream_is_refused_with_the_streams(
    store: Store, host: Any
) -> None:
    data = make_config().model_dump(mode="json")
    data["session_data_config"]["streams"] = ["trades", "quotes"]
    with pytest.raises(SessionError) as error:
        coordinator(validate_session_config(data), store, host)
    assert str(error.value) == (
        "session_data_config.streams names no bar interval; a backtest replays bars "
        "(add one, e.g. \"1m\"), was ['trades', 'quotes']"
    )


_HOSE_DAY = date(2025, 7, 1)
_HOSE = session_bounds("XSTC", _HOSE_DAY)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["FPT", "VNM", "HPG", "XXX"]),
            st.integers(
                min_value=-30, max_value=int((_HOSE.close - _HOSE.open).total_seconds() // 60) + 30
            ),
        ),
        max_size=120,
        unique=True,
    )
)
def test_streaming_rules_hold_for_any_event_layout(
    host: Any, events: list[tuple[str, int]]
) -> None:
    """Whatever the feed holds (before the open, in the break, after the close, unknown symbols),
    the clock stays in [open, close] and ends at the close, exactly the in-session rows of the
    session's symbols stream, in (time, symbol) order, and nothing inside the break."""
    RecordingIndicator.log = []
    rows = sorted(
        (
            Bar(s, "1m", _HOSE.open + timedelta(minutes=m), 1.0, 1.0, 1.0, 1.0, 1.0, 1, 1.0, "x")
            for s, m in events
        ),
        key=lambda r: (r.ts_event, r.symbol),
    )
    data = make_config(
        exchange_group="HOSE", symbols=("FPT", "VNM", "HPG"), start="2025-07-01", end="2025-07-01"
    ).model_dump(mode="json")
    data["session_data_config"]["historical"]["data"] = []
    clock = RecordingClock(_HOSE.open - timedelta(hours=1))
    RecordingIndicator.clock = clock
    run = SessionCoordinator(
        validate_session_config(data),
        store=None,
        host=host,
        feed=ListFeed(rows),
        clock=clock,
        persist=False,
    )
    summary = run.run_sync()
    expected = [
        (r.ts_event, r.symbol)
        for r in rows
        if r.symbol != "XXX"
        and _HOSE.open <= r.ts_event < _HOSE.close
        and not (_HOSE.break_start <= r.ts_event < _HOSE.break_end)
    ]
    assert [(ts, s) for ts, s, _ in RecordingIndicator.log] == expected
    assert summary.days[0].events == len(expected)
    assert summary.days[0].dropped == len([r for r in rows if r.ts_event < _HOSE.close]) - len(
        expected
    )
    streamed = [ts for _, ts in clock.moves if ts >= _HOSE.open]
    assert all(_HOSE.open <= ts <= _HOSE.close for ts in streamed)
    assert not any(_HOSE.break_start < ts < _HOSE.break_end for ts in streamed)
    assert streamed == sorted(streamed) and clock.now() == _HOSE.close
    assert all(now == ts for ts, _, now in RecordingIndicator.log)
