"""Live VN30 order flow through the real daemon (`sessiond run session_configs/vn30_live.json`)
fed by the loopback fake SSI server: a scripted day whose numbers are computed by hand here.

Day 2026-02-03 (HOSE). The live clock starts at 10:00 local; messages carry their own times
and TradingSession codes. Cross-channel order (quotes before the trades they price) is made
by pauses of about a second between the fake's channels.

ACB (bid 22,900 / ask 22,950, later a wider quote bid 22,900 / ask 23,000):
  1. ATO match 50,000 @ 22,900, Side BU          -> ato neutral (auctions have no aggressor)
  2. LO 1,000 @ 22,950 BU, TotalVol 51,000       -> continuous buy 1,000
  3. repeat: TotalVol 51,000 again (a later time) -> dropped (duplicate)
  4. LO 500 @ 22,900, Side empty, TotalVol 51,500 -> quote rule: at the bid -> sell 500
  5. LO @ 23,000 SD, LastVol 300 but TotalVol 52,300 (Δ 800) -> sell 800, LastVol mismatch
  6. (after the wider quote) LO 200 @ 22,950, Side empty: strictly inside the spread ->
     tick rule: down from 23,000 -> sell 200 (the first quote's rule would have said buy)
  7. ATC match 20,000 @ 23,000, Side SD         -> atc neutral
FPT: LO 1,000 @ 120,000 BU (TotalVol 1,000); LO 400 @ 119,900 SD (TotalVol 1,400).
Futures VN30F1M = 41I1G2000 on 2026-02-03: 1,310.5 at 10:00:05 (VN30 = 1,300.0 since
10:00:00 -> basis +10.5 premium); 1,301.0 at 10:00:12 (VN30 = 1,302.0 since 10:00:10 ->
basis -1.0 discount).
Foreign (cumulative): ACB buy 1,000 / sell 200 then buy 1,500 / sell 900 (delta +500/+700,
net 600); FPT buy 100 / sell 0. VN30 group net = 700.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from core.models import Aggressor, Quote, Trade, replace
from core.store import Store
from daemon.cli import app
from daemon.demo.ssi_server import FakeSsiServer
from daemon.market_state import MarketState
from plugins.classification import DEFAULT_CHAIN, build_chain
from plugins.manager import load_plugins
from plugins.recording import EventRecorder, recorded_day
from tests.daemon.vn_live_support import (
    CONTRACT,
    DAY,
    LIVE_CONFIG,
    SCRIPTED_EVENTS,
    D,
    LiveDaemon,
    LiveRun,
    started,
    steps,
    trade,
)

pytestmark = [pytest.mark.timeout(240), pytest.mark.xdist_group("vn_live_day")]


def expected_acb() -> dict[str, dict[str, float]]:
    return {
        "ato": {
            "mua_chu_dong_volume": 0,
            "ban_chu_dong_volume": 0,
            "neutral_volume": 50000,
            "total_volume": 50000,
            "neutral_value": 50000 * 22900,
            "trade_count": 1,
        },
        "continuous": {
            "mua_chu_dong_volume": 1000,
            "ban_chu_dong_volume": 500 + 800 + 200,
            "neutral_volume": 0,
            "total_volume": 2500,
            "mua_chu_dong_value": 1000 * 22950,
            "ban_chu_dong_value": 500 * 22900 + 800 * 23000 + 200 * 22950,
            "trade_count": 4,
        },
        "atc": {
            "mua_chu_dong_volume": 0,
            "ban_chu_dong_volume": 0,
            "neutral_volume": 20000,
            "total_volume": 20000,
            "neutral_value": 20000 * 23000,
            "trade_count": 1,
        },
    }


def test_live_daemon_subscribes_the_vn30_streams_indices_and_the_primary_contract(
    live_day: LiveRun,
) -> None:
    subscriptions = live_day.session["subscriptions"]
    kinds = {s.split(":")[0] for s in subscriptions}
    assert kinds == {"X-TRADE", "X-QUOTE", "R", "MI", "F", "X"}  # 1m bars: built from trades
    assert f"X:{CONTRACT}" in subscriptions
    assert "MI:VN30-VNINDEX" in subscriptions
    trade_channel = next(s for s in subscriptions if s.startswith("X-TRADE:"))
    assert len(trade_channel.split(":")[1].split("-")) == 30
    assert live_day.session["futures_contract"] == CONTRACT
    assert live_day.session["mode"] == "live" and live_day.session["exchange"] == "XSTC"
    assert live_day.session["classifiers"] == list(DEFAULT_CHAIN)
    assert len(live_day.components["symbols"]) == 30
    assert "VN30F1M" not in live_day.components["symbols"]


def test_per_phase_volumes_match_the_hand_computed_day(live_day: LiveRun) -> None:
    stats = live_day.volume_acb
    assert stats["trading_date"] == "2026-02-03"
    for phase, expected in expected_acb().items():
        for key, value in expected.items():
            assert stats[phase][key] == pytest.approx(value), (phase, key)
    assert stats["total_volume"] == 72500  # == the last TotalVol
    assert stats["mua_chu_dong_volume"] == 1000
    assert stats["ban_chu_dong_volume"] == 1500
    assert stats["neutral_volume"] == 70000
    assert stats["quality"] == {"duplicates": 1, "last_volume_mismatches": 1, "out_of_order": 0}
    fpt = live_day.volume_fpt
    assert fpt["continuous"]["mua_chu_dong_volume"] == 1000
    assert fpt["continuous"]["ban_chu_dong_volume"] == 400
    assert fpt["total_volume"] == 1400 and fpt["ato"]["total_volume"] == 0
    for symbol, flow in live_day.volume_all["symbols"].items():
        phases = [flow[p]["total_volume"] for p in ("ato", "continuous", "atc")]
        assert flow["total_volume"] == pytest.approx(sum(phases)), symbol


def test_foreign_deltas_net_and_the_vn30_group(live_day: LiveRun) -> None:
    acb = live_day.foreign_acb
    assert (acb["buy_volume"], acb["sell_volume"], acb["net_volume"]) == (1500, 900, 600)
    assert acb["net_value"] == pytest.approx(3.44e7 - 2.07e7)
    # buy 500 and sell 700 more over the minute 09:30 -> 09:31
    assert acb["buy_speed_per_minute"] == pytest.approx(500)
    assert acb["sell_speed_per_minute"] == pytest.approx(700)
    group = live_day.foreign["groups"]["VN30"]
    assert group["net_volume"] == 600 + 100 and group["symbols_reporting"] == 2


def test_basis_is_futures_minus_vn30_at_the_trade_time(live_day: LiveRun) -> None:
    basis = live_day.basis
    assert basis["contract"] == CONTRACT and basis["index_id"] == "VN30"
    first, second = basis["series"]
    assert first["time"] == "2026-02-03T03:00:05+00:00"
    assert (first["index_value"], first["basis"], first["state"]) == (1300.0, 10.5, "premium")
    assert (second["index_value"], second["basis"], second["state"]) == (1302.0, -1.0, "discount")
    assert basis["latest"] == second
    assert live_day.indices["VN30"]["value"] == 1302.0
    assert live_day.indices["VNINDEX"]["advances"] == 18


def test_the_run_ends_cleanly_and_records_what_it_received(live_day: LiveRun) -> None:
    assert live_day.exit_code == 0
    summary = json.loads(live_day.stdout.strip().splitlines()[-1])
    assert summary["mode"] == "live" and summary["status"] == "stopped"
    store = Store.from_url(live_day.db_url)
    try:
        events = recorded_day(store, "XSTC", DAY, source="ssi")
        assert len(events) == SCRIPTED_EVENTS
        stamps = [e.ts_received for e in events]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        rows = {(r.symbol, r.phase): r for r in store.read_phase_volumes("vn30_live")}
        assert rows[("ACB", "continuous")].sell_volume == 1500
        assert rows[("ACB", "atc")].neutral_volume == 20000
        assert rows[("ACB", "atc")].last_total_volume == 72500
    finally:
        store.dispose()


def replay(store: Store, day: date) -> MarketState:
    host = plugin_host()
    state = MarketState(
        "XSTC",
        lambda: build_chain(DEFAULT_CHAIN, host.create_classifier),
        group_symbols=["ACB", "FPT"],
        futures_contract=CONTRACT,
    )
    for event in recorded_day(store, "XSTC", day, source="ssi"):
        state.on_event(event)
    return state


def test_replaying_the_recorded_day_gives_the_live_aggregates(live_day: LiveRun) -> None:
    store = Store.from_url(live_day.db_url)
    try:
        first, second = replay(store, DAY), replay(store, DAY)
    finally:
        store.dispose()
    live = live_day.volume_all["symbols"]
    assert json.loads(json.dumps(first.order_flow.snapshot())) == live
    assert first.snapshot() == second.snapshot()
    assert first.foreign.flow("ACB").to_dict() == live_day.foreign_acb
    assert first.basis.snapshot()["series"] == live_day.basis["series"]


def test_restart_mid_day_resumes_without_double_counting_then_resets_at_15(
    live_day: LiveRun, tmp_path: Path
) -> None:
    # Restart on (a copy of) the scripted day's store at 10:10 local. SSI (here the fake)
    # repeats FPT's last trade after the reconnect, then two new trades follow.
    shutil.copy(live_day.db_url.removeprefix("sqlite:///"), tmp_path / "restart.db")
    db_url = f"sqlite:///{tmp_path / 'restart.db'}"
    fake = FakeSsiServer(keepalive_interval=0.1).start()
    fake.scripts["X-TRADE"] = [
        [
            ("sleep", 1.0),
            *steps(
                "X-TRADE",
                [
                    trade("FPT", D, "10:00:02", 119900, 400, 1400, "SD"),
                    trade("FPT", D, "10:05:00", 119800, 600, 2000, "SD"),
                    trade("FPT", D, "10:06:00", 120000, 300, 2300, "BU"),
                ],
            ),
        ]
    ]
    try:
        daemon = LiveDaemon(fake, db_url, tmp_path, "2026-02-03T03:10:00Z")
        try:
            daemon.wait_ready()
            restored = daemon.get("/api/market/volume-stats", symbol="FPT")
            assert restored["total_volume"] == 1400  # resumed from the store, nothing new yet
            daemon.wait_for_events(3)
            after = daemon.get("/api/market/volume-stats", symbol="FPT")
            acb = daemon.get("/api/market/volume-stats", symbol="ACB")
        finally:
            assert daemon.stop() == 0
        assert after["continuous"]["mua_chu_dong_volume"] == 1000 + 300
        assert after["continuous"]["ban_chu_dong_volume"] == 400 + 600
        assert after["total_volume"] == 2300  # the last TotalVol: nothing counted twice
        assert after["quality"]["duplicates"] == 1
        for phase, expected in expected_acb().items():  # restored as persisted
            assert acb[phase]["total_volume"] == expected["total_volume"]
            assert acb[phase]["trade_count"] == expected["trade_count"]

        # 14:59:58 local (in-process, the same LiveSession `sessiond run` starts): today's
        # numbers are restored, then the day rolls at 15:00
        asyncio.run(reset_at_15(fake, db_url))
    finally:
        fake.stop()
    store = Store.from_url(db_url)
    try:
        rows = store.read_phase_volumes("vn30_live")
        assert {r.trading_date for r in rows} == {DAY}  # the rolled day had nothing to persist
        fpt = {r.phase: r for r in rows if r.symbol == "FPT"}
        assert fpt["continuous"].buy_volume == 1300 and fpt["continuous"].last_total_volume == 2300
    finally:
        store.dispose()


def in_process_session(fake: FakeSsiServer, store: Store, clock_start: datetime) -> Any:
    """The LiveSession `sessiond run` starts, in this process, on the fake SSI server."""
    from core.config import load_session_config
    from daemon.live_session import ApiOptions, LiveSession
    from plugins.sources.ssi.settings import SsiSettings

    host = plugin_host()
    settings = SsiSettings(
        consumer_id=fake.consumer_id,
        consumer_secret=fake.consumer_secret,
        url=fake.url,
        stream_url=fake.url,
    )
    options = settings.model_dump(mode="python")
    options["consumer_secret"] = settings.consumer_secret.get_secret_value()
    source = host.create_source("ssi", exchange="XSTC", **options)
    return LiveSession(
        load_session_config(LIVE_CONFIG),
        store=store,
        host=host,
        source=source,
        api=ApiOptions(port=0),
        clock_start=clock_start,
        flush_interval_seconds=0.1,
    )


async def reset_at_15(fake: FakeSsiServer, db_url: str) -> None:
    store = Store.from_url(db_url)
    session = in_process_session(fake, store, datetime(2026, 2, 3, 7, 59, 58, tzinfo=UTC))
    task = await started(session)
    try:
        async with httpx.AsyncClient(base_url=session.api_url, trust_env=False) as client:
            at_close = (await client.get("/api/market/volume-stats")).json()
            assert at_close["trading_date"] == "2026-02-03"
            assert at_close["symbols"]["ACB"]["total_volume"] == 72500
            assert at_close["symbols"]["FPT"]["total_volume"] == 2300
            for _ in range(100):
                rolled = (await client.get("/api/market/volume-stats")).json()
                if rolled["trading_date"] == "2026-02-04":
                    break
                await asyncio.sleep(0.05)
            assert rolled == {"trading_date": "2026-02-04", "symbols": {}}
            missing = await client.get("/api/market/volume-stats", params={"symbol": "ACB"})
            assert missing.status_code == 404
            current = (await client.get("/api/sessions/current")).json()
            assert current["trading_date"] == "2026-02-04"
    finally:
        session.stop()
        summary = await asyncio.wait_for(task, 20)
        store.dispose()
    assert summary.status == "stopped"


async def test_the_atc_print_published_after_the_close_is_counted(tmp_path: Path) -> None:
    """The ATC match is published a few seconds after 14:45, when the day's stream is over:
    it still reaches the market state (the feed routes non-bar events as they arrive)."""
    fake = FakeSsiServer(keepalive_interval=0.1).start()
    fake.scripts["X-TRADE"] = [
        [
            ("broadcast", "X-TRADE", trade("ACB", D, "14:44:00", 23000, 100, 52000, "BU")),
            ("sleep", 2.5),  # the live clock passes the 14:45:00 close meanwhile
            ("broadcast", "X-TRADE", trade("ACB", D, "14:45:00", 23050, 20000, 72000, "", "ATC")),
        ]
    ]
    store = Store.from_url(f"sqlite:///{tmp_path / 'atc.db'}")
    session = in_process_session(fake, store, datetime(2026, 2, 3, 7, 44, 59, tzinfo=UTC))
    task = await started(session)
    try:
        async with httpx.AsyncClient(base_url=session.api_url, trust_env=False) as client:
            for _ in range(200):
                stats = (
                    await client.get("/api/market/volume-stats", params={"symbol": "ACB"})
                ).json()
                if stats.get("atc", {}).get("total_volume"):
                    break
                await asyncio.sleep(0.05)
        assert session.clock.now() > datetime(2026, 2, 3, 7, 45, tzinfo=UTC)
        assert stats["trading_date"] == "2026-02-03"
        assert stats["atc"]["neutral_volume"] == 20000
        assert stats["continuous"]["mua_chu_dong_volume"] == 52000  # first message: all of TotalVol
    finally:
        session.stop()
        await asyncio.wait_for(task, 20)
        store.dispose()
        fake.stop()


def test_a_non_loopback_api_host_without_a_token_is_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "run",
            "session_configs/vn30_live.json",
            "--api-host",
            "0.0.0.0",
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
        env={"SESSIOND_API_TOKEN": ""},
    )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "SESSIOND_API_TOKEN" in lines[0] and "0.0.0.0" in lines[0]


# --- classifier scoring on a recorded day with a known truth --------------------------------

EVAL_DAY = date(2026, 2, 4)
T = datetime(2026, 2, 4, 3, 0, tzinfo=UTC)  # 10:00 local


def known_truth_tape() -> list[Any]:
    """AAA: quote 100/102 (mid 101); trades T1..T6 with the vendor flag as truth; the quote
    101/103 shares T4's second but *arrives after* T4; a repeat of T2 and an ATO match that
    must not be scored."""

    def t(n: int, price: float, side: Aggressor, total: float, session: str = "LO") -> Trade:
        return Trade(
            "AAA",
            T + timedelta(seconds=n),
            price,
            100,
            side=side,
            trading_session=session,
            total_volume=total,
            source="ssi",
        )

    q1 = Quote("AAA", T, 100, 500, 102, 500, source="ssi")
    q2 = Quote("AAA", T + timedelta(seconds=4), 101, 500, 103, 500, source="ssi")
    return [
        t(0, 100, Aggressor.BUY, 1000, "ATO"),  # auction: not scored
        q1,
        t(1, 102, Aggressor.BUY, 1100),  # T1
        t(2, 100, Aggressor.SELL, 1200),  # T2
        t(3, 100, Aggressor.SELL, 1200),  # repeat of T2 (same TotalVol): dropped
        t(3, 101, Aggressor.BUY, 1300),  # T3 at the midpoint
        t(4, 101, Aggressor.SELL, 1400),  # T4, priced with q1 (q2 arrives after it)
        q2,
        t(5, 103, Aggressor.SELL, 1500),  # T5 at the ask, vendor says sell
        t(6, 102.5, Aggressor.BUY, 1600),  # T6 above q2's midpoint
    ]


def record(store: Store, events: list[Any], start: datetime) -> None:
    recorder = EventRecorder(store)
    for n, event in enumerate(events):
        recorder(replace(event, ts_received=start + timedelta(milliseconds=n)))
    recorder.flush()


def test_classify_eval_scores_each_rule_against_the_vendor_flag(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'eval.db'}"
    store = Store.from_url(db_url)
    record(store, known_truth_tape(), T)
    store.dispose()
    # By hand, 6 scored trades (T1..T6), all continuous:
    #   quote_rule: T1 buy ok, T2 sell ok, T3/T4/T6 inside -> undecided, T5 buy wrong -> 2/6
    #   tick_rule: T1 up from the ATO match ok, T2 down ok, T3 up ok, T4 zero tick repeats its
    #     own buy (wrong), T5 up (wrong), T6 down (wrong) -> 3/6
    #   lee_ready: T1 > mid ok, T2 < mid ok, T3 at mid -> tick up ok, T4 at q1's mid -> zero
    #     tick -> buy (wrong), T5 > 102 buy (wrong), T6 > 102 buy ok -> 4/6
    #   emo: T1 at ask ok, T2 at bid ok, T3 tick up ok, T4 zero tick buy (wrong), T5 at ask
    #     buy (wrong), T6 tick down (wrong) -> 3/6
    expected = {"quote_rule": (2, 3), "tick_rule": (3, 0), "lee_ready": (4, 0), "emo": (3, 0)}
    runner = CliRunner()
    result = runner.invoke(app, ["classify-eval", EVAL_DAY.isoformat(), "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["trades"], body["repeats_dropped"], body["scored_trades"]) == (8, 1, 6)
    scores = {c["classifier"]: c for c in body["classifiers"]}
    # every registered rule but the truth (third-party ones installed too, e.g. the example's)
    assert set(scores) == set(load_plugins().classifiers) - {"vendor_side"}
    assert set(expected) <= set(scores)
    for name, (agree, undecided) in expected.items():
        overall = scores[name]["overall"]
        assert (overall["agree"], overall["trades"], overall["undecided"]) == (agree, 6, undecided)
        assert math.isclose(overall["accuracy"], agree / (6 - undecided))  # of its decisions
        assert scores[name]["by_phase"] == {"continuous": overall}

    table = runner.invoke(
        app, ["classify-eval", EVAL_DAY.isoformat(), "--db", db_url, "--symbols", "aaa"]
    )
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert "truth = vendor flag on 6 trades" in lines[0]
    assert any(line.startswith("overall") for line in lines)
    assert any(line.startswith("continuous") for line in lines)
    lee_rows = [line for line in lines if "lee_ready" in line]
    assert len(lee_rows) == 2 and all("66.7 %" in row for row in lee_rows)

    missing = runner.invoke(app, ["classify-eval", "2026-02-05", "--db", db_url])
    assert missing.exit_code == 1 and "no vendor-flagged trade" in missing.output


# --- property: a recorded day replays identically ------------------------------------------


@st.composite
def tapes(draw: Any) -> list[Any]:
    events: list[Any] = []
    totals = {"AAA": 0.0, "BBB": 0.0}
    for n in range(draw(st.integers(1, 40))):
        symbol = draw(st.sampled_from(["AAA", "BBB"]))
        ts = T + timedelta(seconds=draw(st.integers(0, 3)) + n // 4)
        if draw(st.booleans()):
            bid = draw(st.integers(95, 105))
            events.append(
                Quote(symbol, ts, bid, 100, bid + draw(st.integers(0, 2)), 100, source="ssi")
            )
            continue
        step = draw(st.sampled_from([0, 0, 100, 200, -100]))
        totals[symbol] = max(0.0, totals[symbol] + step)
        events.append(
            Trade(
                symbol,
                ts,
                draw(st.integers(95, 107)),
                draw(st.sampled_from([100, 200])),
                side=draw(st.sampled_from([Aggressor.BUY, Aggressor.SELL, None])),
                trading_session=draw(st.sampled_from(["LO", "LO", "ATO", "ATC", None])),
                total_volume=totals[symbol],
                source="ssi",
            )
        )
    unique: dict[Any, Any] = {}  # the store keeps one row per identical event and second
    for event in events:
        unique.setdefault(event, event)
    return list(unique)


_example = iter(range(1_000_000))


@pytest.fixture(scope="module")
def property_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'prop.db'}")
    yield store
    store.dispose()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tape=tapes())
def test_replaying_a_recorded_day_twice_gives_identical_results(
    tape: list[Any], property_store: Store
) -> None:
    source = f"prop{next(_example)}"  # one store, one source per example
    tape = [replace(event, source=source) for event in tape]
    live = replay_events(tape)
    record(property_store, tape, T)
    once = replay_events(recorded_day(property_store, "XSTC", EVAL_DAY, source=source))
    twice = replay_events(recorded_day(property_store, "XSTC", EVAL_DAY, source=source))
    assert once == twice == live
    for flow in live["volume_stats"].values():
        phases = [flow[p]["total_volume"] for p in ("ato", "continuous", "atc")]
        assert flow["total_volume"] == sum(phases)
        assert (
            min(
                flow[p][k]
                for p in ("ato", "continuous", "atc")
                for k in ("mua_chu_dong_volume", "ban_chu_dong_volume", "neutral_volume")
            )
            >= 0
        )


def replay_events(events: list[Any]) -> dict[str, Any]:
    host = plugin_host()
    state = MarketState("XSTC", lambda: build_chain(DEFAULT_CHAIN, host.create_classifier))
    for event in events:
        state.on_event(event)
    snapshot = state.snapshot()
    snapshot.pop("version")
    return snapshot


@functools.cache
def plugin_host() -> Any:
    return load_plugins()


def test_after_fridays_close_the_statistics_belong_to_monday(tmp_path: Path) -> None:
    from core.config import load_session_config
    from daemon.live_session import LiveSession

    store = Store.from_url(f"sqlite:///{tmp_path / 'x.db'}")
    session = LiveSession(
        load_session_config(LIVE_CONFIG),
        store=store,
        host=plugin_host(),
        clock_start=datetime(2026, 2, 6, 7, 59, 59, tzinfo=UTC),
    )  # Fri 14:59:59
    try:
        friday_close = datetime(2026, 2, 6, 7, 59, 59, tzinfo=UTC)
        assert session.statistics_day(friday_close) == date(2026, 2, 6)
        assert session.statistics_day(friday_close + timedelta(seconds=1)) == date(2026, 2, 9)
        assert session.statistics_day(datetime(2026, 2, 8, 3, tzinfo=UTC)) == date(2026, 2, 9)
        assert session.futures_contract == CONTRACT  # the February contract trades until its expiry
    finally:
        store.dispose()
