"""The Alpaca source inside the session engine: live bars from the stream fake through the
SessionCoordinator (5m bars generated, the 2024-11-29 early close ends the day at 13:00 ET),
and a backtest over history loaded from the REST fake with ``sessiond load`` / ``sessiond run``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from core.config import load_session_config
from core.store import Store
from daemon.clock import LiveClock
from daemon.coordinator import RunObserver, SessionCoordinator
from plugins.manager import load_plugins
from tests.plugins.sources.alpaca.conftest import ET, minute_bars

BLACK_FRIDAY = date(2024, 11, 29)
EARLY_CLOSE = datetime(2024, 11, 29, 18, 0, tzinfo=UTC)  # 13:00 ET


def write_config(tmp_path: Path, *, mode: str, options: dict[str, Any], **extra: Any) -> Path:
    config = {
        "session_name": f"alpaca_{mode}",
        "exchange_group": "US_EQUITY",
        "asset_class": "EQUITY",
        "mode": mode,
        "session_data_config": {
            "symbols": ["AAPL", "MSFT"],
            "streams": ["1m", "5m"],
            "historical": {"enable_quality": True, "data": [], "indicators": {}},
            "gap_filler": {"enable_session_quality": True},
        },
        "api_config": {"data_api": "alpaca", "data_api_options": options},
        **extra,
    }
    path = tmp_path / f"alpaca_{mode}.json"
    path.write_text(json.dumps(config))
    return path


def stream_bar(symbol: str, local: time, price: float, volume: int) -> dict[str, Any]:
    ts = datetime.combine(BLACK_FRIDAY, local, ET).astimezone(UTC)
    return {
        "T": "b",
        "S": symbol,
        "t": ts,
        "o": price,
        "h": price + 0.5,
        "l": price - 0.5,
        "c": price + 0.25,
        "v": volume,
        "n": 5,
        "vw": price,
    }


class StopAfterFirstDay(RunObserver):
    def __init__(self) -> None:
        self.coordinator: SessionCoordinator | None = None
        self.ended: list[Any] = []

    def day_ended(self, result: Any) -> None:
        self.ended.append(result)
        assert self.coordinator is not None
        self.coordinator.stop()


async def test_live_alpaca_bars_reach_the_engine_make_5m_bars_and_the_early_close_ends_the_day(
    alpaca_env, tmp_path, fake_stream_factory, sqlite_url
):
    # 1m bars 12:50-12:59 ET for two symbols, then a 13:05 ET (post-market) bar the
    # regular-hours session must never see.
    script = [
        stream_bar(symbol, time(12, 50 + minute), 100.0 + minute, 10 * (minute + 1))
        for minute in range(10)
        for symbol in ("AAPL", "MSFT")
    ]
    script.append(stream_bar("AAPL", time(13, 5), 999.0, 1))
    fake = fake_stream_factory(script)
    config_path = write_config(
        tmp_path, mode="live", options={"stream_url": fake.url, "data_url": "http://127.0.0.1:9"}
    )
    config = load_session_config(config_path)
    store = Store.from_url(sqlite_url)
    observer = StopAfterFirstDay()
    coordinator = SessionCoordinator.for_config(
        config, store=store, host=load_plugins(entry_points=False), observer=observer
    )
    observer.coordinator = coordinator
    # a live session joined 3 s before the early close (real time from there on)
    coordinator.clock = LiveClock(start_at=EARLY_CLOSE - timedelta(seconds=3))
    try:
        summary = await coordinator.run()
        five = store.read_bars(
            ["AAPL", "MSFT"],
            "5m",
            EARLY_CLOSE - timedelta(hours=1),
            EARLY_CLOSE + timedelta(hours=1),
        )
    finally:
        store.dispose()
    assert [r.trading_date for r in observer.ended] == [BLACK_FRIDAY]
    day = observer.ended[0]
    assert day.events == 20
    assert day.generated == {"5m": 4}
    assert day.clock_end is not None
    assert EARLY_CLOSE <= day.clock_end < EARLY_CLOSE + timedelta(seconds=5)
    assert [(b.symbol, b.ts_event.astimezone(ET).time()) for b in five] == [
        ("AAPL", time(12, 50)),
        ("MSFT", time(12, 50)),
        ("AAPL", time(12, 55)),
        ("MSFT", time(12, 55)),
    ]
    aapl_first = five[0]
    # 12:50..12:54: open 100, high 104.5, low 99.5, close 104.25, volume 10+20+30+40+50
    assert (
        aapl_first.open,
        aapl_first.high,
        aapl_first.low,
        aapl_first.close,
        aapl_first.volume,
    ) == (
        100.0,
        104.5,
        99.5,
        104.25,
        150.0,
    )
    assert summary.status == "stopped"  # stopped by the observer after the first day


def test_backtest_over_alpaca_loaded_history_runs_through_sessiond_load_and_run(
    alpaca_env, tmp_path, monkeypatch, sqlite_url
):
    from typer.testing import CliRunner

    from daemon.cli import app
    from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpacaData

    days = [date(2024, 11, 26), date(2024, 11, 27), BLACK_FRIDAY]  # 11-28 is Thanksgiving
    rows = {
        symbol: [r for d in days for r in minute_bars(seed, d, time(4, 0), time(20, 0))]
        for symbol, seed in (("AAPL", 230.0), ("MSFT", 420.0))
    }
    config_path = write_config(
        tmp_path,
        mode="backtest",
        options={},
        backtest_config={
            "start_date": "2024-11-26",
            "end_date": "2024-11-29",
            "speed_multiplier": 0,
            "prefetch_days": 2,
        },
    )
    runner = CliRunner()
    with FakeAlpacaData(bars={"1Min": rows}, page_cap=500) as fake:
        monkeypatch.setenv("ALPACA_DATA_URL", fake.url)
        loaded = runner.invoke(
            app,
            [
                "load",
                str(config_path),
                "--start",
                "2024-11-26",
                "--end",
                "2024-11-29",
                "--db",
                sqlite_url,
            ],
        )
        assert loaded.exit_code == 0, loaded.output
        requests_after_load = len(fake.requests)
        # one request per trading day [open, close): 780 rows = 2 pages of 500, 11-29 one page
        assert requests_after_load == 5
        ran = runner.invoke(app, ["run", str(config_path), "--json", "--db", sqlite_url])
        assert ran.exit_code == 0, ran.output
        assert len(fake.requests) == requests_after_load  # the backtest replays the store
    assert "loaded 1,980 bars" in loaded.output  # 390 + 390 + 210 regular minutes x 2 symbols
    summary = json.loads(ran.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished"
    per_day = {d["trading_date"]: d for d in summary["days"]}
    assert sorted(per_day) == ["2024-11-26", "2024-11-27", "2024-11-29"]
    assert [per_day[d]["events"] for d in sorted(per_day)] == [780, 780, 420]
    assert [per_day[d]["generated"]["5m"] for d in sorted(per_day)] == [156, 156, 84]
    assert per_day["2024-11-29"]["clock_end"] == "2024-11-29T18:00:00+00:00"  # 13:00 ET
    for text in (loaded.output, ran.output):
        assert KEY not in text and SECRET not in text


async def test_bad_stream_key_fails_the_live_session_within_the_bound(
    alpaca_env, tmp_path, monkeypatch, fake_stream_factory, sqlite_url
):
    import time as wall

    import pytest

    from core.errors import SourceError

    monkeypatch.setenv("ALPACA_API_KEY", "PKWRONG")
    fake = fake_stream_factory([stream_bar("AAPL", time(12, 50), 100.0, 10)])
    options = {
        "stream_url": fake.url,
        "data_url": "http://127.0.0.1:9",
        "max_auth_attempts": 2,
        "reconnect_min_backoff_seconds": 0.01,
    }
    config = load_session_config(write_config(tmp_path, mode="live", options=options))
    store = Store.from_url(sqlite_url)
    clock = LiveClock(start_at=EARLY_CLOSE - timedelta(minutes=30))
    coordinator = SessionCoordinator.for_config(
        config, store=store, host=load_plugins(entry_points=False), clock=clock
    )
    started = wall.monotonic()
    try:
        with pytest.raises(SourceError) as caught:
            await coordinator.run()
        runs = store.read_session_runs()
    finally:
        store.dispose()
    assert wall.monotonic() - started < 5  # not the 30 minutes left in the session
    assert fake.auth_attempts == 2
    assert "rejected the credentials 2 times in a row ('auth failed'); check ALPACA_API_KEY" in str(
        caught.value
    )
    assert [run.status for run in runs] == ["failed"]
    assert "PKWRONG" not in str(caught.value)
