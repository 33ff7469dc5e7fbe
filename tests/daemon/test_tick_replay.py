"""Backtests replaying recorded ticks (daemon.feeds.ticks) through the session engine, offline.

A HOSE day (2026-02-03, local = UTC+7) of the synthetic source: its 1m bars are generated and
stored by the backtest itself; the ticks are recorded into the store here with explicit
arrival stamps, as a live session would have recorded them (source ``synthetic``):

    arrival   ts_event  event
    08:50     08:50     ACB quote 22,900 / 22,950 (pre-open: streamed at the 09:00 open)
    09:15:01  09:15     ACB ATO match 50,000 @ 22,900 BU, TotalVol 50,000  -> ato neutral
    10:00:01  10:00     ACB LO 1,000 @ 22,900, Side empty, TotalVol 51,000 -> quote rule
                        against the pre-open quote: at the bid -> continuous sell 1,000
    10:00:02  10:00     VN30 index 1,300
    12:00     12:00     ACB foreign buy 1,000 / sell 0 (lunch break: streamed at 13:00)
    14:45:03  14:45     ACB ATC match 20,000 @ 23,000 SD, TotalVol 71,000 (published after
                        the 14:45 close: delivered after the loop) -> atc neutral 20,000
    15:00:05  14:59:59  ACB put-through 500, TotalVol 71,500: arrived after the day's 15:00
                        roll (the live statistics had moved on) -> not delivered
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from core.calendars import session_bounds
from core.config import validate_session_config
from core.models import Aggressor, ForeignRoom, IndexTick, Quote, Trade, replace
from core.sessions import SessionWindow
from core.store import Store
from daemon.cli import app
from daemon.coordinator import SessionCoordinator
from daemon.feeds.ticks import TICK_SINK, split_day
from plugins.manager import load_plugins
from plugins.recording import EventRecorder

DAY = date(2026, 2, 3)


def local(h: int, m: int, s: int = 0) -> datetime:
    """2026-02-03 h:m:s in Ho Chi Minh City (UTC+7), as aware UTC."""
    return datetime(2026, 2, 3, h, m, s, tzinfo=UTC) - timedelta(hours=7)


OPEN, BREAK_START, BREAK_END, CLOSE = local(9, 0), local(11, 30), local(13, 0), local(14, 45)
ROLL = local(15, 0)


def tape() -> list[tuple[Any, datetime]]:
    """(event, arrival stamp) in arrival order (see the module doc)."""
    src = "synthetic"
    return [
        (Quote("ACB", local(8, 50), 22900, 500, 22950, 500, source=src), local(8, 50)),
        (
            Trade(
                "ACB",
                local(9, 15),
                22900,
                50000,
                side=Aggressor.BUY,
                trading_session="ATO",
                total_volume=50000,
                source=src,
            ),
            local(9, 15, 1),
        ),
        (
            Trade(
                "ACB",
                local(10, 0),
                22900,
                1000,
                trading_session="LO",
                total_volume=51000,
                source=src,
            ),
            local(10, 0, 1),
        ),
        (IndexTick("VN30", local(10, 0), 1300.0, prior_value=1290.0, source=src), local(10, 0, 2)),
        (ForeignRoom("ACB", local(12, 0), 1000, 0, 2.29e7, 0.0, source=src), local(12, 0)),
        (
            Trade(
                "ACB",
                local(14, 45),
                23000,
                20000,
                side=Aggressor.SELL,
                trading_session="ATC",
                total_volume=71000,
                source=src,
            ),
            local(14, 45, 3),
        ),
        (
            Trade(
                "ACB",
                local(14, 59, 59),
                23000,
                500,
                trading_session="PT",
                total_volume=71500,
                source=src,
            ),
            local(15, 0, 5),
        ),
    ]


def config_data(streams: list[str]) -> dict[str, Any]:
    return {
        "session_name": "ticks_backtest",
        "exchange_group": "HOSE",
        "mode": "backtest",
        "backtest_config": {
            "start_date": DAY.isoformat(),
            "end_date": DAY.isoformat(),
            "speed_multiplier": 0,
            "prefetch_days": 1,
        },
        "session_data_config": {"symbols": ["ACB", "FPT"], "streams": streams},
        "api_config": {"data_api": "synthetic", "data_api_options": {"seed": 7}},
    }


TICK_STREAMS = ["1m", "5m", "trades", "quotes", "foreign", "index"]


@pytest.fixture
def recorded_store(sqlite_url: str) -> Any:
    store = Store.from_url(sqlite_url)
    recorder = EventRecorder(store)
    for event, arrival in tape():
        recorder(replace(event, ts_received=arrival))
    recorder.flush()
    yield store
    store.dispose()


def run_backtest(store: Store, streams: list[str] = TICK_STREAMS) -> Any:
    config = validate_session_config(config_data(streams))
    coordinator = SessionCoordinator.for_config(config, store=store, host=load_plugins())
    return coordinator, coordinator.run_sync()


def test_a_backtest_replays_the_recorded_ticks_into_the_market_state(recorded_store: Store) -> None:
    coordinator, summary = run_backtest(recorded_store)
    (day,) = summary.days
    flow = day.order_flow
    acb = flow["volume_stats"]["ACB"]
    assert (acb["ato"]["neutral_volume"], acb["ato"]["total_volume"]) == (50000, 50000)
    continuous = acb["continuous"]
    assert (continuous["mua_chu_dong_volume"], continuous["ban_chu_dong_volume"]) == (0, 1000)
    assert (acb["atc"]["neutral_volume"], acb["atc"]["total_volume"]) == (20000, 20000)
    assert acb["total_volume"] == 71000  # the put-through arrived after the roll
    assert (flow["ticks"], flow["after_close"], flow["dropped_after_roll"]) == (6, 1, 1)
    assert flow["foreign"]["symbols"]["ACB"]["net_volume"] == 1000
    assert flow["indices"]["VN30"]["value"] == 1300.0
    assert flow["trading_date"] == DAY.isoformat() and flow["stale_events"] == 0

    # the bars streamed as in a bar-only backtest; the clock ended at the close
    bars = recorded_store.count_bars(["ACB", "FPT"], "1m", OPEN, CLOSE, source="synthetic")
    assert bars > 0 and day.events == bars and day.dropped == 0
    assert day.clock_end == CLOSE
    assert day.generated["5m"] > 0
    # built as in a live session: the default chain, no futures alias, the group = symbols
    assert coordinator.ticks is not None
    market = coordinator.ticks.market
    assert market.group_symbols == ["ACB", "FPT"] and market.futures_contract is None
    assert market.classifiers == ("vendor_side", "quote_rule", "tick_rule")

    rows = {(r.symbol, r.phase): r for r in recorded_store.read_phase_volumes("ticks_backtest")}
    assert rows[("ACB", "continuous")].sell_volume == 1000
    assert rows[("ACB", "atc")].neutral_volume == 20000
    assert rows[("ACB", "atc")].last_total_volume == 71000
    assert {r.trading_date for r in rows.values()} == {DAY}


def test_replaying_the_same_recorded_day_twice_gives_identical_results(
    recorded_store: Store,
) -> None:
    _, first = run_backtest(recorded_store)
    rows_first = recorded_store.read_phase_volumes("ticks_backtest")
    _, second = run_backtest(recorded_store)
    assert first.days[0].order_flow == second.days[0].order_flow
    assert recorded_store.read_phase_volumes("ticks_backtest") == rows_first
    assert first.days[0].events == second.days[0].events


def test_a_bar_only_backtest_of_the_same_day_has_no_order_flow(recorded_store: Store) -> None:
    coordinator, summary = run_backtest(recorded_store, ["1m", "5m"])
    (day,) = summary.days
    assert day.order_flow is None and "order_flow" not in day.to_dict()
    assert coordinator.ticks is None
    assert recorded_store.read_phase_volumes("ticks_backtest") == []
    _, ticks = run_backtest(recorded_store)
    assert ticks.days[0].events == day.events  # the same bars either way


def test_sessiond_run_prints_the_order_flow_of_the_replayed_day(
    recorded_store: Store, sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "ticks.json"
    path.write_text(json.dumps(config_data(TICK_STREAMS)))
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(path), "--db", sqlite_url, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    flow = summary["days"][0]["order_flow"]
    assert flow["volume_stats"]["ACB"]["continuous"]["ban_chu_dong_volume"] == 1000
    assert flow["ticks"] == 6

    table = runner.invoke(app, ["run", str(path), "--db", sqlite_url], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert any(
        "2026-02-03 recorded events" in line and "6 (1 after the close)" in line for line in lines
    )
    atc = next(line for line in lines if "2026-02-03 atc buy / sell / neutral" in line)
    assert "0 / 0 / 20,000" in atc
    continuous = next(line for line in lines if "2026-02-03 continuous buy" in line)
    assert "0 / 1,000 / 0" in continuous
    assert any("foreign net VN30" in line and "1,000" in line for line in lines)


# --- placing events on the day's timeline ------------------------------------------------------

WINDOW = SessionWindow(DAY, OPEN, CLOSE)


def placed(arrivals: list[datetime]) -> Any:
    events = [Trade("ACB", a, 1.0, 1.0, ts_received=a) for a in arrivals]
    seen: list[Any] = []
    day = split_day(
        events,
        WINDOW,
        break_start=BREAK_START,
        break_end=BREAK_END,
        until=ROLL,
        handler=seen.append,
    )
    return day, seen


def test_events_are_streamed_inside_the_window_and_out_of_the_break() -> None:
    day, seen = placed([local(8, 0), local(10, 0), local(11, 45), local(14, 45, 2), local(15, 0)])
    assert [row.ts_event for row in day.rows] == [OPEN, local(10, 0), BREAK_END]
    assert all(row.symbol == TICK_SINK for row in day.rows)
    assert [e.ts_event for e in day.late] == [local(14, 45, 2)]
    assert day.dropped == 1 and day.event_count == 4
    day.deliver(day.rows[0])
    assert day.finish() == 3  # the two rows not reached, then the late one
    assert [e.ts_event for e in seen] == [
        local(8, 0),
        local(10, 0),
        local(11, 45),
        local(14, 45, 2),
    ]
    assert (day.streamed, day.after_loop, day.delivered) == (1, 3, 4)


def test_a_stopped_day_delivers_nothing_after_the_loop() -> None:
    day, seen = placed([local(10, 0), local(14, 50)])
    assert day.finish(stopped=True) == 0 and seen == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10 * 3600), max_size=30), st.lists(st.integers(0, 400), max_size=10))
def test_merged_bars_and_ticks_are_in_time_order_with_every_tick_once(
    offsets: list[int], minutes: list[int]
) -> None:
    start = local(7, 0)
    arrivals = sorted(start + timedelta(seconds=s) for s in offsets)
    # an event recorded without an arrival stamp sorts last: streamed no earlier than the last
    events = [Trade("ACB", a, 1.0, 1.0, ts_received=a) for a in arrivals]
    events.append(Trade("ACB", local(9, 30), 1.0, 1.0))
    day = split_day(
        events,
        WINDOW,
        break_start=BREAK_START,
        break_end=BREAK_END,
        until=ROLL,
        handler=lambda e: None,
    )
    bars = [
        replace_ts(OPEN + timedelta(minutes=m))
        for m in sorted(set(minutes))
        if OPEN + timedelta(minutes=m) < CLOSE
    ]
    merged = list(day.merge(bars))
    times = [row.ts_event for row in merged]
    assert times == sorted(times)
    for row in day.rows:
        assert OPEN <= row.ts_event < CLOSE and not BREAK_START <= row.ts_event < BREAK_END
    assert [r.event for r in merged if r.symbol == TICK_SINK] + day.late == events[
        : len(day.rows) + len(day.late)
    ]
    assert len(day.rows) + len(day.late) + day.dropped == len(events)
    assert len(merged) == len(bars) + len(day.rows)


def replace_ts(ts: datetime) -> Any:
    from core.models import Bar

    return Bar("ACB", "1m", ts, 1.0, 1.0, 1.0, 1.0, 1.0, None, None, "synthetic")


# --- the live session's source ---------------------------------------------------------------


def test_the_live_session_passes_the_configs_extended_hours_to_the_source(
    sqlite_url: str,
) -> None:
    from daemon.live_session import ApiOptions, LiveSession

    config = validate_session_config(
        {
            "session_name": "extended_live",
            "exchange_group": "US_EQUITY",
            "mode": "live",
            "session_data_config": {
                "symbols": ["AAPL"],
                "streams": ["1m"],
                "extended_hours": {"pre_market": True, "post_market": False},
            },
            "api_config": {"data_api": "alpaca", "data_api_options": {"feed": "iex"}},
        }
    )
    store = Store.from_url(sqlite_url)
    try:
        session = LiveSession(
            config,
            store=store,
            host=load_plugins(),
            api=ApiOptions(port=0),
            clock_start=datetime(2025, 7, 1, 12, tzinfo=UTC),
        )
        hours = session.source.hours
        assert (hours.pre_market, hours.post_market) == (True, False)
        assert session.source.exchange == "XNYS"
    finally:
        store.dispose()


def test_stream_subscribers_get_the_recorded_trades_and_quotes_in_stream_order(
    recorded_store: Store,
) -> None:
    from daemon.streamer import Subscriber

    class Ticks(Subscriber):
        def __init__(self) -> None:
            self.seen: list[tuple[str, Any]] = []

        def on_bar(self, bar: Any) -> None:
            if bar.interval == "1m":  # the streamed bars (generated ones come at their close)
                self.seen.append(("bar", bar.ts_event))

        def on_trade(self, trade: Any) -> None:
            self.seen.append(("trade", trade))

        def on_quote(self, quote: Any) -> None:
            self.seen.append(("quote", quote))

    ticks = Ticks()
    config = validate_session_config(config_data(TICK_STREAMS))
    SessionCoordinator.for_config(
        config, store=recorded_store, host=load_plugins(), subscribers=[ticks]
    ).run_sync()
    recorded = [(e, arrival) for e, arrival in tape() if arrival < local(15, 0)]  # before the roll
    got = [(kind, item) for kind, item in ticks.seen if kind != "bar"]
    expected = [
        ("trade" if type(e) is Trade else "quote", replace(e, ts_received=arrival))
        for e, arrival in recorded
        if type(e) in (Trade, Quote)
    ]
    assert got == expected  # every trade and quote, once, in arrival order
    # each is streamed at its arrival time (into the window, out of the break), after the bars
    # of that instant and before any later bar; those arriving after the close come last
    bounds = session_bounds("XSTC", DAY)
    for position, (kind, item) in enumerate(ticks.seen):
        if kind == "bar":
            continue
        at = max(item.ts_received, OPEN)
        if bounds.break_start <= at < bounds.break_end:
            at = bounds.break_end
        before = [ts for k, ts in ticks.seen[:position] if k == "bar"]
        after = [ts for k, ts in ticks.seen[position:] if k == "bar"]
        assert all(ts <= at for ts in before) and all(ts > at for ts in after)
        if at >= CLOSE:
            assert after == []
