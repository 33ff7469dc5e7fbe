"""US pre-/post-market as phases a session config includes or excludes, end to end.

The real Alpaca source (alpaca-py's REST client) against the loopback fake serving 1-minute
bars 04:00-20:00 ET; the real SessionCoordinator on a SQLite store; a SimulatedClock that
records every move. ``session_data_config.extended_hours`` decides what is fetched, stored,
streamed, aggregated and which phases fire.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.calendars import session_bounds
from core.config import validate_session_config
from core.sessions import session_window
from core.store import Store
from daemon.clock import LiveClock, SimulatedClock
from daemon.coordinator import GENERATED_SOURCE, RunObserver, SessionCoordinator
from plugins.history import day_window
from plugins.manager import load_plugins
from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpacaData, FakeAlpacaStream
from tests.plugins.sources.alpaca.conftest import ET, minute_bars

NORMAL_DAY = date(2024, 11, 26)
BLACK_FRIDAY = date(2024, 11, 29)  # early close 13:00 ET, post-market until 17:00 ET
SYMBOLS = ("AAPL", "MSFT")


def et(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ET).astimezone(UTC)


class RecordingClock(SimulatedClock):
    """A data-driven SimulatedClock that records every instant it is moved to."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start, 0.0)
        self.moves: list[datetime] = []

    def advance_to(self, ts: datetime) -> None:
        self.moves.append(ts)
        super().advance_to(ts)

    def jump_to(self, ts: datetime) -> None:
        self.moves.append(ts)
        super().jump_to(ts)


@pytest.fixture
def alpaca_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("ALPACA_DATA_URL", "ALPACA_STREAM_URL", "ALPACA_FEED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALPACA_API_KEY", KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)


@pytest.fixture
def fake() -> Iterator[FakeAlpacaData]:
    """1Min bars every minute 04:00-20:00 ET of both days, both symbols."""
    rows = {
        symbol: [
            r for d in (NORMAL_DAY, BLACK_FRIDAY) for r in minute_bars(seed, d, time(4), time(20))
        ]
        for symbol, seed in (("AAPL", 230.0), ("MSFT", 420.0))
    }
    with FakeAlpacaData(bars={"1Min": rows}) as server:
        yield server


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    s = Store.from_url(sqlite_url)
    yield s
    s.dispose()


def config_for(
    day: date, *, pre: bool, post: bool, source: str = "alpaca", options: dict[str, Any]
) -> Any:
    return validate_session_config(
        {
            "session_name": "extended_hours",
            "exchange_group": "US_EQUITY",
            "mode": "backtest",
            "backtest_config": {
                "start_date": day.isoformat(),
                "end_date": day.isoformat(),
                "speed_multiplier": 0,
                "prefetch_days": 1,
            },
            "session_data_config": {
                "symbols": list(SYMBOLS),
                "streams": ["1m", "5m", "1h"],
                "historical": {"enable_quality": True, "data": [], "indicators": {}},
                "extended_hours": {"pre_market": pre, "post_market": post},
            },
            "api_config": {"data_api": source, "data_api_options": options},
        }
    )


def run_day(config: Any, store: Store, day: date) -> tuple[SessionCoordinator, Any, RecordingClock]:
    clock = RecordingClock(et(day, 3))
    coordinator = SessionCoordinator.for_config(
        config, store=store, host=load_plugins(entry_points=False), clock=clock
    )
    summary = coordinator.run_sync()
    assert summary.status == "finished"
    (result,) = summary.days
    return coordinator, result, clock


def stored(store: Store, interval: str, day: date, source: str) -> list[Any]:
    return store.read_bars(list(SYMBOLS), interval, et(day, 0), et(day, 23, 59), source=source)


def local_times(bars: list[Any], symbol: str = "AAPL") -> list[time]:
    return [b.ts_event.astimezone(ET).time() for b in bars if b.symbol == symbol]


def test_regular_hours_only_when_neither_extended_phase_is_included(
    alpaca_env: None, fake: FakeAlpacaData, store: Store
) -> None:
    config = config_for(NORMAL_DAY, pre=False, post=False, options={"data_url": fake.url})
    _, day, clock = run_day(config, store, NORMAL_DAY)
    bounds = session_bounds("XNYS", NORMAL_DAY)
    minutes = stored(store, "1m", NORMAL_DAY, "alpaca")
    assert len(minutes) == 2 * 390
    assert min(b.ts_event for b in minutes) == bounds.open
    assert max(b.ts_event for b in minutes) == bounds.close - timedelta(minutes=1)
    assert day.events == 2 * 390 and day.dropped == 0
    assert day.generated == {"5m": 2 * 78, "1h": 2 * 7}
    assert day.phases == ["continuous", "closed"]
    assert all(bounds.open <= t <= bounds.close for t in clock.moves)
    assert day.clock_end == bounds.close
    assert len(fake.requests) == 1  # one request: [open, close) of the day


def test_pre_market_bars_are_fetched_streamed_and_aggregated_apart_when_included(
    alpaca_env: None, fake: FakeAlpacaData, store: Store
) -> None:
    config = config_for(NORMAL_DAY, pre=True, post=False, options={"data_url": fake.url})
    _, day, clock = run_day(config, store, NORMAL_DAY)
    bounds = session_bounds("XNYS", NORMAL_DAY)
    start = et(NORMAL_DAY, 4)
    assert day_window("XNYS", NORMAL_DAY, "1m", (True, False)) == (start, bounds.close)
    minutes = stored(store, "1m", NORMAL_DAY, "alpaca")
    assert len(minutes) == 2 * (330 + 390)  # 04:00-09:30 and 09:30-16:00 ET
    assert min(b.ts_event for b in minutes) == start
    assert max(b.ts_event for b in minutes) == bounds.close - timedelta(minutes=1)
    assert day.events == 2 * (330 + 390)
    assert day.phases == ["pre_market", "continuous", "closed"]
    assert clock.moves[0] == start and all(start <= t <= bounds.close for t in clock.moves)
    assert day.clock_end == bounds.close
    # Generated bars: pre-market buckets aligned to 04:00 ET and cut at the open; none spans
    # 09:30; the regular session's restart at the open.
    five = stored(store, "5m", NORMAL_DAY, GENERATED_SOURCE)
    hours = stored(store, "1h", NORMAL_DAY, GENERATED_SOURCE)
    assert day.generated == {"5m": 2 * (66 + 78), "1h": 2 * (6 + 7)}
    assert local_times(five)[:2] == [time(4, 0), time(4, 5)]
    assert local_times(five)[65:67] == [time(9, 25), time(9, 30)]
    assert local_times(hours) == [
        *(time(h) for h in range(4, 10)),
        *(time(h, 30) for h in range(9, 16)),
    ]
    aapl_minutes = [b for b in minutes if b.symbol == "AAPL"]
    nine = next(b for b in hours if b.symbol == "AAPL" and b.ts_event == et(NORMAL_DAY, 9))
    cut = [b for b in aapl_minutes if et(NORMAL_DAY, 9) <= b.ts_event < bounds.open]
    assert len(cut) == 30 and nine.volume == sum(b.volume for b in cut)
    assert nine.close == cut[-1].close and nine.high == max(b.high for b in cut)
    # Quality counts the regular session's minutes only.
    (quality,) = store.read_quality(["AAPL"], "1m", NORMAL_DAY, NORMAL_DAY, source=GENERATED_SOURCE)
    assert (quality.expected_bars, quality.actual_bars, quality.quality_pct) == (390, 390, 100.0)
    # Both segments are now stored: a second run asks the vendor nothing.
    requests = len(fake.requests)
    assert requests == 1  # pre-market and regular hours missing: one request [04:00, close)
    run_day(config, store, NORMAL_DAY)
    assert len(fake.requests) == requests


def test_post_market_runs_until_17_00_et_on_an_early_close(
    alpaca_env: None, fake: FakeAlpacaData, store: Store
) -> None:
    config = config_for(BLACK_FRIDAY, pre=False, post=True, options={"data_url": fake.url})
    assert [
        (s.kind, s.start, s.end)
        for s in session_window("XNYS", BLACK_FRIDAY, (False, True)).segments
    ] == [
        ("regular", et(BLACK_FRIDAY, 9, 30), et(BLACK_FRIDAY, 13)),
        ("post_market", et(BLACK_FRIDAY, 13), et(BLACK_FRIDAY, 17)),
    ]
    _, day, clock = run_day(config, store, BLACK_FRIDAY)
    open_, end = et(BLACK_FRIDAY, 9, 30), et(BLACK_FRIDAY, 17)
    minutes = stored(store, "1m", BLACK_FRIDAY, "alpaca")
    assert len(minutes) == 2 * (210 + 240)
    assert max(b.ts_event for b in minutes) == end - timedelta(minutes=1)  # 16:59 ET
    assert day.events == 2 * (210 + 240)
    assert day.phases == ["continuous", "post_market", "closed"]
    assert all(open_ <= t <= end for t in clock.moves) and day.clock_end == end
    hours = stored(store, "1h", BLACK_FRIDAY, GENERATED_SOURCE)
    assert local_times(hours) == [
        time(9, 30),
        time(10, 30),
        time(11, 30),
        time(12, 30),  # 12:30-13:00 cut at the close
        time(13),
        time(14),
        time(15),
        time(16),  # post-market aligned to the close
    ]
    assert day.generated == {"5m": 2 * (42 + 48), "1h": 2 * 8}
    (quality,) = store.read_quality(
        ["MSFT"], "1m", BLACK_FRIDAY, BLACK_FRIDAY, source=GENERATED_SOURCE
    )
    assert (quality.expected_bars, quality.actual_bars) == (210, 210)


def test_a_synthetic_backtest_streams_and_generates_the_same_with_extended_hours_on(
    store: Store,
) -> None:
    # The synthetic source has bars in regular hours only (its constructor takes no
    # extended_hours, so none is passed): the same events and generated bars either way; only
    # the window (and so the clock's range and the phases) grows.
    results = {}
    for flags in ((False, False), (True, True)):
        config = config_for(
            NORMAL_DAY, pre=flags[0], post=flags[1], source="synthetic", options={"seed": 5}
        )
        _, day, clock = run_day(config, store, NORMAL_DAY)
        results[flags] = (day, clock)
    (regular, regular_clock), (extended, extended_clock) = results.values()
    assert regular.events == extended.events == 2 * 390
    assert regular.generated == extended.generated == {"5m": 2 * 78, "1h": 2 * 7}
    assert regular.quality == extended.quality == {"1m": 100.0, "5m": 100.0, "1h": 100.0}
    assert regular.phases == ["continuous", "closed"]
    assert extended.phases == ["pre_market", "continuous", "post_market", "closed"]
    assert extended.clock_end == et(NORMAL_DAY, 20) and regular.clock_end == et(NORMAL_DAY, 16)
    assert extended_clock.moves[0] == et(NORMAL_DAY, 4)
    assert regular_clock.moves[0] == et(NORMAL_DAY, 9, 30)
    assert len(stored(store, "5m", NORMAL_DAY, GENERATED_SOURCE)) == 2 * 78


def test_including_pre_market_later_fetches_only_the_pre_market(
    alpaca_env: None, fake: FakeAlpacaData, store: Store
) -> None:
    run_day(
        config_for(NORMAL_DAY, pre=False, post=False, options={"data_url": fake.url}),
        store,
        NORMAL_DAY,
    )
    regular_requests = len(fake.requests)
    _, day, _ = run_day(
        config_for(NORMAL_DAY, pre=True, post=False, options={"data_url": fake.url}),
        store,
        NORMAL_DAY,
    )
    asked = [query for _, query, _ in fake.requests[regular_requests:]]
    assert [(q["start"][:19], q["symbols"]) for q in asked] == [
        ("2024-11-26T09:00:00", "AAPL,MSFT")  # 04:00 ET, both symbols, up to the open only
    ]
    assert datetime.fromisoformat(asked[0]["end"].replace("Z", "+00:00")) <= et(NORMAL_DAY, 9, 30)
    assert day.events == 2 * (330 + 390)


def test_sessiond_load_and_run_include_both_extended_phases_of_an_early_close(
    alpaca_env: None, fake: FakeAlpacaData, tmp_path: Path, sqlite_url: str
) -> None:
    from typer.testing import CliRunner

    from daemon.cli import app

    config = {
        "session_name": "extended_cli",
        "exchange_group": "US_EQUITY",
        "mode": "backtest",
        "backtest_config": {"start_date": "2024-11-29", "end_date": "2024-11-29"},
        "session_data_config": {
            "symbols": list(SYMBOLS),
            "streams": ["1m", "5m"],
            "historical": {"enable_quality": True, "data": [], "indicators": {}},
            "extended_hours": {"pre_market": True, "post_market": True},
        },
        "api_config": {"data_api": "alpaca", "data_api_options": {"data_url": fake.url}},
    }
    path = tmp_path / "extended.json"
    path.write_text(json.dumps(config))
    runner = CliRunner()
    args = ["--db", sqlite_url]
    loaded = runner.invoke(
        app, ["load", str(path), "--start", "2024-11-29", "--end", "2024-11-29", *args]
    )
    assert loaded.exit_code == 0, loaded.output
    assert "loaded 1,560 bars" in loaded.output  # (330 + 210 + 240) minutes x 2 symbols
    requests = len(fake.requests)
    ran = runner.invoke(app, ["run", str(path), "--json", *args])
    assert ran.exit_code == 0, ran.output
    assert len(fake.requests) == requests  # the run replays what load stored
    (day,) = json.loads(ran.stdout.strip().splitlines()[-1])["days"]
    assert day["events"] == 1560
    assert day["phases"] == ["pre_market", "continuous", "post_market", "closed"]
    assert day["clock_end"] == "2024-11-29T22:00:00+00:00"  # 17:00 ET
    assert day["generated"] == {"5m": 2 * (66 + 42 + 48)}
    assert day["quality"] == {"1m": 100.0, "5m": 100.0}


class StopAt(RunObserver):
    """Stops the live run once ``events`` events were streamed before a new timestamp."""

    def __init__(self, events: int) -> None:
        self.events = events
        self.coordinator: SessionCoordinator | None = None

    def progressed(self, trading_date: date, events: int) -> None:
        if events >= self.events and self.coordinator is not None:
            self.coordinator.stop()


@pytest.mark.parametrize(("pre", "events"), [(True, 16), (False, 6)])
async def test_live_pre_market_bars_reach_the_engine_only_when_included(
    alpaca_env: None, store: Store, pre: bool, events: int
) -> None:
    # AAPL 1m bars 09:20-09:35 ET on the stream: 10 pre-market, 6 regular. The live clock
    # starts after them, so they pass at once; the run stops after the 09:35 bar.
    script = [
        {
            "T": "b",
            "S": "AAPL",
            "t": et(NORMAL_DAY, 9, 20 + i),
            "o": 100.0 + i,
            "h": 100.5 + i,
            "l": 99.5 + i,
            "c": 100.25 + i,
            "v": 10 * (i + 1),
            "n": 5,
            "vw": 100.0 + i,
        }
        for i in range(16)
    ]
    stream = FakeAlpacaStream(script).start()
    try:
        config = validate_session_config(
            {
                "session_name": "extended_live",
                "exchange_group": "US_EQUITY",
                "mode": "live",
                "session_data_config": {
                    "symbols": ["AAPL"],
                    "streams": ["1m", "5m"],
                    "historical": {"enable_quality": True, "data": [], "indicators": {}},
                    "extended_hours": {"pre_market": pre, "post_market": False},
                },
                "api_config": {
                    "data_api": "alpaca",
                    "data_api_options": {
                        "stream_url": stream.url,
                        "data_url": "http://127.0.0.1:9",
                    },
                },
            }
        )
        observer = StopAt(events - 1)
        coordinator = SessionCoordinator.for_config(
            config,
            store=store,
            host=load_plugins(entry_points=False),
            observer=observer,
            clock=LiveClock(start_at=et(NORMAL_DAY, 9, 36)),
        )
        observer.coordinator = coordinator
        summary = await coordinator.run()
    finally:
        stream.stop()
    (day,) = summary.days
    assert day.stopped and day.events == events
    five = store.read_bars(["AAPL"], "5m", et(NORMAL_DAY, 4), et(NORMAL_DAY, 16))
    if pre:
        assert day.phases == ["pre_market", "continuous"]
        assert local_times(five) == [time(9, 20), time(9, 25), time(9, 30), time(9, 35)]
        # the 09:25 bar is the pre-market's last: 09:25-09:29, nothing of the open in it
        assert five[1].volume == sum(10 * (i + 1) for i in range(5, 10))
    else:
        assert day.phases == ["continuous"]
        assert local_times(five) == [time(9, 30), time(9, 35)]
    assert five[-2].volume == sum(10 * (i + 1) for i in range(10, 15))  # 09:30-09:34
