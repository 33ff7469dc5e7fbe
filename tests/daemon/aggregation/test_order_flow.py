"""Order flow by phase, foreign flows, indices and basis, on tapes computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.models import Aggressor, ClassifiedTrade, ForeignRoom, IndexTick, Trade
from daemon.aggregation.foreign import ForeignFlowTracker
from daemon.aggregation.market import BasisTracker, IndexTracker
from daemon.aggregation.order_flow import PHASE_BUCKETS, OrderFlowAggregator, TradeVolumeCounter

DAY = datetime(2025, 3, 3, tzinfo=UTC)
T0 = DAY + timedelta(hours=2)  # 09:00 local
BUY, SELL, NEUTRAL = Aggressor.BUY, Aggressor.SELL, Aggressor.NEUTRAL


def trade(
    second: int, price: float, last_vol: float, total: float | None, symbol: str = "ACB"
) -> Trade:
    return Trade(symbol, T0 + timedelta(seconds=second), price, last_vol, total_volume=total)


def test_volume_counter_derives_volume_from_total_vol_changes() -> None:
    counter = TradeVolumeCounter()
    assert counter.volume_of(trade(0, 22900, 1000, 1000)) == 1000
    assert counter.volume_of(trade(1, 22950, 200, 1200)) == 200
    assert counter.volume_of(trade(1, 22950, 200, 1200)) is None  # repeat
    assert counter.volume_of(trade(2, 22950, 100, 1500)) == 300  # LastVol disagrees
    assert counter.volume_of(trade(3, 22950, 100, 1400)) is None  # out of order
    assert counter.volume_of(trade(4, 22900, 100, 1600)) == 100
    assert (counter.duplicates, counter.last_volume_mismatches, counter.out_of_order) == (1, 1, 1)


def test_trades_without_total_volume_count_their_own_volume() -> None:
    counter = TradeVolumeCounter()
    assert counter.volume_of(trade(0, 10.0, 300, None)) == 300
    assert counter.volume_of(trade(1, 10.0, 300, None)) == 300


def test_phase_buckets_and_day_totals_by_hand() -> None:
    flow = OrderFlowAggregator()
    flow.reset(DAY.date())
    tape = [
        (trade(0, 22900, 5000, 5000), NEUTRAL, "ato"),
        (trade(1000, 22950, 100, 5100), BUY, "continuous"),
        (trade(1001, 22900, 300, 5400), SELL, "continuous"),
        (trade(1001, 22900, 300, 5400), SELL, "continuous"),  # duplicate message
        (trade(1002, 22950, 100, 5600), BUY, "continuous"),  # LastVol disagrees: 200 counted
        (trade(20000, 23000, 7000, 12600), NEUTRAL, "atc"),
    ]
    for t, aggressor, phase in tape:
        volume = flow.accept(t)
        if volume is not None:
            flow.add(ClassifiedTrade(t, aggressor, phase, "test"), volume)
    stats = flow.snapshot()["ACB"]
    assert stats["ato"]["neutral_volume"] == 5000
    assert stats["continuous"]["mua_chu_dong_volume"] == 300
    assert stats["continuous"]["ban_chu_dong_volume"] == 300
    assert stats["continuous"]["mua_chu_dong_value"] == 100 * 22950 + 200 * 22950
    assert stats["atc"]["neutral_volume"] == 7000
    assert stats["total_volume"] == 12600
    assert stats["quality"] == {"duplicates": 1, "last_volume_mismatches": 1, "out_of_order": 0}


def test_restore_resumes_without_double_counting() -> None:
    first = OrderFlowAggregator()
    first.reset(DAY.date())
    for t, side in [(trade(0, 100, 100, 100), BUY), (trade(1, 101, 50, 150), SELL)]:
        first.add(ClassifiedTrade(t, side, "continuous", "test"), first.accept(t))
    restarted = OrderFlowAggregator()
    restarted.reset(DAY.date())
    for symbol, phase, bucket, last_total in first.rows():
        restarted.restore(symbol, phase, bucket, last_total)
    replayed = trade(1, 101, 50, 150)
    assert restarted.accept(replayed) is None
    after = trade(2, 102, 25, 175)
    restarted.add(ClassifiedTrade(after, BUY, "continuous", "test"), restarted.accept(after))
    stats = restarted.snapshot()["ACB"]
    assert (stats["mua_chu_dong_volume"], stats["ban_chu_dong_volume"]) == (125, 50)


tapes = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=500),
        st.sampled_from([BUY, SELL, NEUTRAL]),
        st.sampled_from(["ato", "continuous", "atc", "put_through", "break"]),
        st.integers(min_value=-50, max_value=50),
    ),
    max_size=80,
)


@given(tapes)
def test_day_total_equals_the_sum_of_phases_and_volumes_are_never_negative(tape) -> None:
    flow = OrderFlowAggregator()
    flow.reset(DAY.date())
    total = 0.0
    for second, (step, aggressor, phase, last_vol_error) in enumerate(tape):
        total += step
        t = trade(second, 100.0, max(step + last_vol_error, 0), total)
        volume = flow.accept(t)
        if volume is not None:
            flow.add(ClassifiedTrade(t, aggressor, phase, "test"), volume)
    for stats in flow.snapshot().values():
        for key in ("mua_chu_dong_volume", "ban_chu_dong_volume", "neutral_volume", "total_volume"):
            assert stats[key] == sum(stats[phase][key] for phase in PHASE_BUCKETS)
            assert stats[key] >= 0
        assert stats["total_volume"] == total


def room(second: int, buy: float, sell: float, symbol: str = "SSI") -> ForeignRoom:
    return ForeignRoom(
        symbol, T0 + timedelta(seconds=second), buy, sell, buy * 30000, sell * 30000, 1.5e9, 8.0e8
    )


def test_foreign_tracker_turns_cumulative_totals_into_deltas_and_net() -> None:
    tracker = ForeignFlowTracker(groups={"VN30": ["SSI", "ACB"]})
    assert tracker.apply(room(0, 1000, 400)) == (1000, 400, 3.0e7, 1.2e7)
    assert tracker.apply(room(30, 1600, 400)) == (600, 0, 1.8e7, 0)
    assert tracker.apply(room(30, 1600, 400)) == (0, 0, 0, 0)  # repeat
    assert tracker.apply(room(40, 1500, 400)) == (0, 0, 0, 0)  # out of order
    tracker.apply(room(60, 2200, 1000))
    flow = tracker.flow("SSI")
    assert flow is not None
    assert (flow.net_volume, flow.out_of_order) == (1200, 1)
    assert flow.speed_per_minute() == (1200.0, 600.0)  # 1000->2200 buy, 400->1000 sell in 60 s
    tracker.apply(room(10, 50, 0, symbol="ACB"))
    group = tracker.group("VN30")
    assert group["net_volume"] == 1200 + 50
    assert group["symbols_reporting"] == 2


def test_basis_uses_the_index_value_in_force_at_the_trade() -> None:
    indices = IndexTracker()
    basis = BasisTracker(indices, contract="41I1G3000")
    for second, value in [(0, 1300.0), (10, 1302.5), (20, 1301.0)]:
        indices.apply(IndexTick("VN30", T0 + timedelta(seconds=second), value))
    futures = Trade("41I1G3000", T0 + timedelta(seconds=15), 1305.0, 10)
    point = basis.apply(futures)
    assert point is not None
    assert (point.index_value, point.basis, point.state) == (1302.5, 2.5, "premium")
    later = basis.apply(Trade("41I1G3000", T0 + timedelta(seconds=25), 1299.0, 5))
    assert later is not None and (later.basis, later.state) == (-2.0, "discount")
    assert basis.apply(Trade("VN30F2604", T0, 1300.0, 1)) is None
    assert indices.snapshot()["VN30"]["value"] == 1301.0
