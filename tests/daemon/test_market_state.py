"""MarketState: a scripted HOSE day classified and split by phase, and the 15:00 reset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.models import Aggressor, ForeignRoom, IndexTick, Quote, Trade
from daemon.market_state import MarketState
from plugins.classification import DEFAULT_CHAIN, ClassifierChain
from plugins.classifiers.rules import BUILTIN_CLASSIFIERS

RULES = {cls.name: cls for cls in BUILTIN_CLASSIFIERS}
DAY = date(2025, 3, 3)


def local(hh: int, mm: int, ss: int = 0, day: date = DAY) -> datetime:
    """Asia/Ho_Chi_Minh wall time as aware UTC."""
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=UTC) - timedelta(hours=7)


def state() -> MarketState:
    return MarketState(
        "XSTC",
        lambda: ClassifierChain([RULES[name]() for name in DEFAULT_CHAIN]),
        group_symbols=["ACB", "FPT"],
        futures_contract="41I1G3000",
    )


def trade(
    at: datetime, price: float, last: float, total: float, side=None, session="LO", symbol="ACB"
) -> Trade:
    return Trade(symbol, at, price, last, side=side, trading_session=session, total_volume=total)


def test_scripted_day_gives_the_volumes_computed_by_hand() -> None:
    s = state()
    s.reset(DAY)
    events = [
        trade(
            local(9, 14, 59), 22900, 50_000, 50_000, side=Aggressor.BUY, session="ATO"
        ),  # ATO: neutral
        Quote("ACB", local(9, 20), 22900, 1000, 22950, 1000),
        trade(local(9, 20, 1), 22950, 1_000, 51_000, side=Aggressor.BUY),  # vendor: buy 1000
        trade(local(9, 20, 1), 22950, 1_000, 51_000, side=Aggressor.BUY),  # duplicate: dropped
        trade(
            local(9, 20, 2), 22900, 300, 51_500, side=Aggressor.SELL
        ),  # LastVol disagrees: sell 500
        trade(
            local(9, 20, 3), 22950, 200, 51_700, side=None
        ),  # empty side, at ask: quote rule buy 200
        Quote("ACB", local(9, 20, 4), 22900, 1000, 23000, 1000),
        trade(
            local(9, 20, 5), 22925, 400, 52_100, side=None
        ),  # inside: tick rule, down-tick: sell 400
        trade(
            local(14, 35), 23000, 80_000, 132_100, side=Aggressor.SELL, session=None
        ),  # ATC by clock
    ]
    for event in events:
        s.on_event(event)
    stats = s.volume_stats("ACB")
    assert stats is not None
    assert stats["ato"]["neutral_volume"] == 50_000
    assert stats["ato"]["mua_chu_dong_volume"] == 0
    assert stats["continuous"]["mua_chu_dong_volume"] == 1_200
    assert stats["continuous"]["ban_chu_dong_volume"] == 900
    assert stats["continuous"]["mua_chu_dong_value"] == 1_000 * 22950 + 200 * 22950
    assert stats["atc"]["neutral_volume"] == 80_000
    assert stats["total_volume"] == 132_100
    assert stats["quality"] == {"duplicates": 1, "last_volume_mismatches": 1, "out_of_order": 0}


def test_statistics_reset_at_15_00_local() -> None:
    s = state()
    s.on_event(trade(local(10, 0), 22900, 100, 100, side=Aggressor.BUY))
    assert s.trading_date == DAY
    s.on_event(trade(local(14, 59, 59), 22900, 100, 200, side=Aggressor.BUY))
    assert s.volume_stats("ACB")["total_volume"] == 200
    assert s.roll(local(15, 0)) is True
    assert s.trading_date == DAY + timedelta(days=1)
    assert s.volume_stats("ACB") is None
    # the next morning's first trade starts from a fresh TotalVol
    s.on_event(
        trade(local(9, 16, day=DAY + timedelta(days=1)), 23000, 300, 300, side=Aggressor.SELL)
    )
    assert s.volume_stats("ACB")["ban_chu_dong_volume"] == 300


def test_foreign_index_and_basis_reach_the_snapshot() -> None:
    s = state()
    s.reset(DAY)
    s.on_event(
        IndexTick(
            "VN30", local(10, 0), 1300.0, prior_value=1290.0, change=10.0, advances=20, declines=8
        )
    )
    s.on_event(trade(local(10, 0, 5), 1303.5, 10, 10, symbol="41I1G3000"))
    s.on_event(ForeignRoom("ACB", local(10, 0, 6), 1_000, 200, 2.29e7, 4.58e6))
    snapshot = s.snapshot()
    assert snapshot["basis"]["latest"]["basis"] == 3.5
    assert snapshot["indices"]["VN30"]["advances"] == 20
    assert snapshot["foreign"]["symbols"]["ACB"]["net_volume"] == 800
    assert snapshot["foreign"]["groups"]["VN30"]["net_volume"] == 800


def test_restart_mid_day_resumes_without_double_counting() -> None:
    first = state()
    first.reset(DAY)
    tape = [
        trade(local(9, 30), 22950, 100, 100, side=Aggressor.BUY),
        trade(local(9, 31), 22900, 200, 300, side=Aggressor.SELL),
        trade(local(9, 32), 22950, 400, 700, side=Aggressor.BUY),
    ]
    for event in tape[:2]:
        first.on_event(event)
    rows = first.phase_volume_rows()
    second = state()
    second.reset(DAY)
    second.restore_phase_volumes(rows)
    for event in tape:  # the feed replays from the start of the day after the restart
        second.on_event(event)
    stats = second.volume_stats("ACB")
    assert (stats["mua_chu_dong_volume"], stats["ban_chu_dong_volume"]) == (500, 200)


def test_us_statistics_roll_after_post_market_not_at_15_00() -> None:
    ny = MarketState("XNYS", lambda: ClassifierChain([RULES["lee_ready"]()]))
    day = date(2024, 7, 1)
    afternoon = datetime(2024, 7, 1, 19, 30, tzinfo=UTC)  # 15:30 ET
    assert ny.stats_day(afternoon) == day
    assert ny.stats_day(datetime(2024, 7, 1, 23, 59, tzinfo=UTC)) == day  # 19:59 ET post-market
    assert ny.stats_day(datetime(2024, 7, 2, 0, 0, tzinfo=UTC)) == date(2024, 7, 2)  # 20:00 ET
    ny.on_event(Trade("AAPL", afternoon, 216.0, 100, trading_session=None))
    ny.on_event(Trade("AAPL", afternoon + timedelta(minutes=40), 216.1, 50))
    assert ny.volume_stats("AAPL")["total_volume"] == 150
    # the early close of 2024-07-03 ends post-market at 17:00 ET
    assert ny.stats_day(datetime(2024, 7, 3, 21, 0, tzinfo=UTC)) == date(2024, 7, 4)
