"""One-minute bars from SSI trades: ΔTotalVol volumes, completion by event time, the bars stream."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import Bar, IndexTick, Trade
from daemon.demo.ssi_server import FakeSsiServer
from plugins.sources.ssi.bars import MinuteBarBuilder
from plugins.sources.ssi.settings import SsiSettings
from plugins.sources.ssi.source import SsiSource
from tests.plugins.sources.ssi.test_parse import MI_SAMPLE, X_TRADE_SAMPLE

T0 = datetime(2023, 8, 14, 2, 15, tzinfo=UTC)  # 09:15 local


def trade(
    seconds: float, price: float, total: float, last: float = 100.0, symbol: str = "ACB"
) -> Trade:
    return Trade(
        symbol, T0 + timedelta(seconds=seconds), price, last, total_volume=total, source="ssi"
    )


def tick(seconds: float) -> IndexTick:
    return IndexTick("VN30", T0 + timedelta(seconds=seconds), 1238.0)


def feed(builder: MinuteBarBuilder, events: list[Any]) -> list[Bar]:
    bars: list[Bar] = []
    for event in events:
        bars.extend(builder.on_event(event))
    return bars


def test_bars_use_total_volume_changes_and_skip_repeats() -> None:
    builder = MinuteBarBuilder(["ACB"])
    bars = feed(
        builder,
        [
            trade(1, 22900, 1_000_000, last=500),  # first seen today: LastVol counts
            trade(5, 22950, 1_000_300, last=300),
            trade(5, 22950, 1_000_300, last=300),  # repeat: ΔTotalVol 0
            trade(20, 22850, 1_000_900, last=100),  # merged matches: ΔTotalVol 600, not LastVol
            trade(61, 23000, 1_001_000, last=100),  # next minute completes the first bar
        ],
    )
    assert bars == [
        Bar(
            "ACB",
            "1m",
            T0,
            22900.0,
            22950.0,
            22850.0,
            22850.0,
            1400.0,
            3,
            (22900 * 500 + 22950 * 300 + 22850 * 600) / 1400,
            "ssi",
        )
    ]
    assert builder.repeats == 1
    [last] = builder.flush()
    assert (last.ts_event, last.volume, last.open, last.trade_count) == (
        T0 + timedelta(minutes=1),
        100.0,
        23000.0,
        1,
    )


def test_any_later_event_completes_open_bars_after_the_grace() -> None:
    builder = MinuteBarBuilder(["ACB", "SSI"], grace_seconds=2)
    assert (
        feed(builder, [trade(10, 22900, 1000), trade(30, 30000, 5000, symbol="SSI"), tick(61)])
        == []
    )
    bars = feed(builder, [tick(62)])
    assert [(b.symbol, b.ts_event) for b in bars] == [("ACB", T0), ("SSI", T0)]


def test_late_and_out_of_order_trades_stay_out_of_bars() -> None:
    builder = MinuteBarBuilder(["ACB"])
    feed(builder, [trade(61, 22900, 2000)])
    assert feed(builder, [trade(30, 22800, 1900)]) == []
    assert builder.late_trades == 1
    feed(builder, [trade(70, 22800, 1500)])  # TotalVol went backwards: not counted
    [bar] = builder.flush()
    assert bar.volume == 100.0 and bar.trade_count == 1


def test_other_symbols_are_ignored() -> None:
    builder = MinuteBarBuilder(["ACB"])
    feed(builder, [trade(1, 100, 10, symbol="ZZZ")])
    assert builder.flush() == []


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 2000), st.integers(1, 40)),
        min_size=1,
        max_size=60,
    )
)
def test_bar_volumes_add_up_to_the_day_volume_change(steps: list[tuple[int, int, int]]) -> None:
    builder = MinuteBarBuilder(["ACB"])
    seconds, total, price = 0, 10_000, 22_900
    trades = []
    for gap, volume, move in steps:
        seconds += gap
        total += volume
        price += 50 * (move % 3 - 1)
        trades.append(trade(seconds, float(price), float(total), last=float(max(volume, 1))))
    bars = feed(builder, trades) + builder.flush()
    first = trades[0]
    assert sum(b.volume for b in bars) == first.volume + (total - first.total_volume)
    assert [b.ts_event for b in bars] == sorted({b.ts_event for b in bars})
    for bar in bars:
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.ts_event.second == 0 and bar.interval == "1m"


async def test_the_bars_channel_streams_completed_minute_bars(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    def x_trade(t: str, price: float, total: float) -> dict:
        return dict(
            X_TRADE_SAMPLE,
            TradingDate="14/08/2023",
            Time=t,
            LastPrice=price,
            TotalVol=total,
            LastVol=100.0,
        )

    fake_ssi.scripts["X-TRADE"] = [
        [
            ("broadcast", "X-TRADE", x_trade("09:15:01", 22900.0, 1000.0)),
            ("broadcast", "X-TRADE", x_trade("09:15:40", 23000.0, 1300.0)),
            ("broadcast", "X-TRADE", x_trade("09:16:10", 22950.0, 1500.0)),
            ("sleep", 0.1),
        ]
    ]
    fake_ssi.scripts["MI"] = [
        [
            ("sleep", 0.3),
            ("broadcast", "MI", dict(MI_SAMPLE, TradingDate="14/08/2023", Time="09:17:05")),
        ]
    ]
    options = ssi_settings.model_dump(mode="python") | {
        "consumer_secret": ssi_settings.consumer_secret.get_secret_value()
    }
    stream = SsiSource(exchange="XSTC", **options).subscribe(["ACB"], ["bars", "index"])
    events: list[Any] = []

    async def consume() -> None:
        async for event in stream:
            events.append(event)
            if sum(isinstance(e, Bar) for e in events) == 2:
                return

    await asyncio.wait_for(consume(), 5)
    await stream.stop()
    bars = [e for e in events if isinstance(e, Bar)]
    assert [(b.ts_event, b.open, b.high, b.low, b.close, b.volume) for b in bars] == [
        (T0, 22900.0, 23000.0, 22900.0, 23000.0, 400.0),
        (T0 + timedelta(minutes=1), 22950.0, 22950.0, 22950.0, 22950.0, 200.0),
    ]
    assert not any(isinstance(e, Trade) for e in events)  # trades were not asked for
    assert sorted(c.subscriptions[0] for c in fake_ssi.connections) == [
        "MI:VN30-VNINDEX",
        "X-TRADE:ACB",
    ]
