"""Record once, replay deterministically: the scripted VN30 day that the live daemon recorded
against the fake SSI server (``live_day`` of test_vn_live.py: `sessiond run vn30_live.json`)
is replayed as a backtest by `sessiond run session_configs/vn30_replay.json --start D --end D`
through the session engine — the recorded trades, quotes, foreign room, index ticks and
statuses in arrival order, interleaved with 1m bars that the backtest fetches through SSI REST
(IntradayOhlc from the fake: ACB and FPT 09:15-10:14), into the same market state. The
printed and persisted per-phase volumes, foreign flows, indices and basis equal the live
run's exactly; a second replay gives the same.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from core.store import Store
from daemon.cli import app
from tests.daemon.test_vn_live import (  # noqa: F401  (live_day: the fixture, reused)
    CONTRACT,
    DAY,
    SCRIPTED_EVENTS,
    LiveRun,
    live_day,
)
from tests.daemon.vn_live_support import REPO
from tests.fakes.ssi_server import FakeSsiServer

pytestmark = pytest.mark.timeout(180)

REPLAY_CONFIG = REPO / "session_configs" / "vn30_replay.json"
BAR_MINUTES = 60


def intraday_rows(symbol: str, price: float) -> list[dict[str, str]]:
    """IntradayOhlc rows (strings, local times) of ``symbol`` on DAY, 09:15-10:14."""
    start = datetime(2000, 1, 1, 9, 15)
    rows = []
    for minute in range(BAR_MINUTES):
        at = (start + timedelta(minutes=minute)).strftime("%H:%M:%S")
        p = price + 50 * (minute % 5)
        rows.append(
            {
                "Symbol": symbol,
                "Value": str(p),
                "TradingDate": DAY.strftime("%d/%m/%Y"),
                "Time": at,
                "Open": str(p),
                "High": str(p + 50),
                "Low": str(p - 50),
                "Close": str(p),
                "Volume": str(1000 + minute),
            }
        )
    return rows


@dataclass
class Replay:
    exit_code: int
    output: str
    summary: dict[str, Any]
    rows: dict[tuple[str, str], dict[str, Any]]


def phase_rows(store: Store, session_name: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Persisted per-phase volumes without the session name, by (symbol, phase)."""
    rows = {}
    for row in store.read_phase_volumes(session_name):
        fields = asdict(row)
        del fields["session_name"]
        rows[(row.symbol, row.phase)] = fields
    return rows


@pytest.fixture(scope="module")
def replays(live_day: LiveRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Replay]]:  # noqa: F811
    workdir = tmp_path_factory.mktemp("vn_replay")
    shutil.copy(live_day.db_url.removeprefix("sqlite:///"), workdir / "replay.db")
    db_url = f"sqlite:///{workdir / 'replay.db'}"
    fake = FakeSsiServer().start()
    fake.tables["intradayohlc"] = intraday_rows("ACB", 22900) + intraday_rows("FPT", 120000)
    env = {
        "SSI_URL": fake.url,
        "SSI_STREAM_URL": fake.url,
        "SSI_CONSUMER_ID": fake.consumer_id,
        "SSI_CONSUMER_SECRET": fake.consumer_secret,
        "SESSIOND_DB_URL": db_url,
    }
    out: list[Replay] = []
    try:
        for _ in range(2):
            result = CliRunner().invoke(
                app,
                [
                    "run",
                    str(REPLAY_CONFIG),
                    "--start",
                    DAY.isoformat(),
                    "--end",
                    DAY.isoformat(),
                    "--db",
                    db_url,
                    "--json",
                ],
                env=env,
            )
            lines = result.output.strip().splitlines()
            summary = json.loads(lines[-1]) if result.exit_code == 0 else {}
            store = Store.from_url(db_url)
            try:
                rows = phase_rows(store, "vn30_replay")
            finally:
                store.dispose()
            out.append(Replay(result.exit_code, result.output, summary, rows))
    finally:
        fake.stop()
    yield out


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
    live_day: LiveRun,  # noqa: F811
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
    live_day: LiveRun,  # noqa: F811
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
