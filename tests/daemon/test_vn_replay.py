"""Record once, replay deterministically: the scripted VN30 day that the live daemon recorded
against the fake SSI server (the ``live_day`` fixture: `sessiond run vn30_live.json`)
is replayed as a backtest by `sessiond run session_configs/vn30_replay.json --start D --end D`
through the session engine — the recorded trades, quotes, foreign room, index ticks and
statuses in arrival order, interleaved with 1m bars that the backtest fetches through SSI REST
(IntradayOhlc from the fake: ACB and FPT 09:15-10:14), into the same market state. The
printed and persisted per-phase volumes, foreign flows, indices and basis equal the live
run's exactly; a second replay gives the same.
"""

from __future__ import annotations

import json

import pytest

from core.store import Store
from tests.daemon.vn_live_support import (
    BAR_MINUTES,
    CONTRACT,
    DAY,
    REPLAY_CONFIG,
    REPO,
    SCRIPTED_EVENTS,
    LiveRun,
    Replay,
    phase_rows,
)

pytestmark = [pytest.mark.timeout(180), pytest.mark.xdist_group("vn_live_day")]


def test_the_replay_runs_the_recorded_day_through_the_engine_with_the_bars(
    replays: list[Replay],
) -> None:
    first = replays[0]
    assert first.exit_code == 0, first.output
    summary = first.summary
    assert (summary["mode"], summary["status"], summary["trading_days"]) == (
        "backtest",
        "finished",
        1,
    )
    (day,) = summary["days"]
    assert day["trading_date"] == DAY.isoformat()
    assert day["events"] == 2 * BAR_MINUTES  # the bars fetched through SSI REST, streamed
    flow = day["order_flow"]
    # every recorded event delivered (they arrived around 10:00 local, inside the window)
    assert (flow["ticks"], flow["after_close"], flow["dropped_after_roll"]) == (
        SCRIPTED_EVENTS,
        0,
        0,
    )
    assert flow["trading_date"] == DAY.isoformat() and flow["stale_events"] == 0


def test_replayed_volumes_foreign_flows_indices_and_basis_equal_the_live_run(
    live_day: LiveRun,
    replays: list[Replay],
) -> None:
    flow = replays[0].summary["days"][0]["order_flow"]
    assert flow["volume_stats"] == live_day.volume_all["symbols"]
    assert flow["volume_stats"]["ACB"]["continuous"]["ban_chu_dong_volume"] == 1500  # not empty
    assert flow["foreign"] == live_day.foreign
    assert flow["foreign"]["symbols"]["ACB"] == live_day.foreign_acb
    assert flow["basis"] == live_day.basis
    assert flow["basis"]["contract"] == CONTRACT and len(flow["basis"]["series"]) == 2
    assert flow["indices"] == live_day.indices


def test_the_persisted_per_phase_volumes_equal_the_live_sessions(
    live_day: LiveRun,
    replays: list[Replay],
) -> None:
    store = Store.from_url(live_day.db_url)
    try:
        live = phase_rows(store, "vn30_live")
    finally:
        store.dispose()
    assert live and replays[0].rows == live
    assert replays[0].rows[("ACB", "atc")]["neutral_volume"] == 20000  # the ATC match


def test_replaying_the_day_twice_gives_identical_results(replays: list[Replay]) -> None:
    first, second = replays
    assert second.exit_code == 0, second.output
    assert second.summary["days"][0]["order_flow"] == first.summary["days"][0]["order_flow"]
    assert second.summary["days"][0]["events"] == first.summary["days"][0]["events"]
    assert second.rows == first.rows
    assert second.summary["run_id"] != first.summary["run_id"]  # two runs, one result


def test_the_replay_config_is_the_backtest_twin_of_the_live_config() -> None:
    live = json.loads((REPO / "session_configs" / "vn30_live.json").read_text())
    replay = json.loads(REPLAY_CONFIG.read_text())
    assert replay["mode"] == "backtest" and live["mode"] == "live"
    assert replay["session_data_config"] == live["session_data_config"]
    assert replay["api_config"] == live["api_config"]
    assert replay["exchange_group"] == live["exchange_group"]
