"""SsiSource: plugin registration, channel building, futures aliases, record-then-replay."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from core.errors import SourceError
from core.models import (
    Aggressor,
    ClassifiedTrade,
    ForeignRoom,
    IndexTick,
    Quote,
    SecurityStatus,
    Trade,
    replace,
)
from core.phases import phase_for_trading_session
from core.store import Store
from daemon.demo.ssi_server import FakeSsiServer
from plugins.manager import load_plugins
from plugins.recording import EventRecorder, recorded_day
from plugins.sources.ssi.recording import ReplayStream, StreamRecorder, replay_day
from plugins.sources.ssi.settings import SsiSettings
from plugins.sources.ssi.source import SsiSource, channel_strings
from tests.plugins.sources.ssi.test_parse import (
    F_SAMPLE,
    MI_SAMPLE,
    R_SAMPLE,
    X_QUOTE_SAMPLE,
    X_SAMPLE,
    X_TRADE_SAMPLE,
)


def source_for(settings: SsiSettings) -> SsiSource:
    options = settings.model_dump(mode="python")
    options["consumer_secret"] = settings.consumer_secret.get_secret_value()
    return SsiSource(exchange="XSTC", **options)


def test_the_plugin_registers_the_ssi_source_through_the_manager() -> None:
    host = load_plugins(entry_points=False)
    assert host.data_sources["ssi"] is SsiSource
    source = host.create_source("ssi", exchange="XSTC")
    assert source.exchange == "XSTC" and source.name == "ssi"


def test_channel_strings_group_symbols_by_type_and_route_futures_to_x() -> None:
    channels = channel_strings(
        ["ACB", "SSI", "VN30F2602"],
        ["trades", "quotes", "foreign", "index", "status", "MI:HNXIndex"],
    )
    assert channels == [
        "X-TRADE:ACB-SSI",
        "X:VN30F2602",
        "X-QUOTE:ACB-SSI",
        "R:ACB-SSI-VN30F2602",
        "MI:VN30-VNINDEX",
        "F:ACB-SSI-VN30F2602",
        "MI:HNXIndex",
    ]
    assert channel_strings(["ACB"], ["X-TRADE", "b"]) == ["X-TRADE:ACB", "B:ACB"]
    with pytest.raises(SourceError, match="unknown SSI channel 'ticks'"):
        channel_strings(["ACB"], ["ticks"])


async def test_futures_events_are_reported_under_the_subscribed_code(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    krx = dict(
        X_SAMPLE,
        Symbol="41I1G2000",
        MarketId="DER",
        Exchange="DER",
        LastPrice=1252.5,
        TradingDate="02/02/2026",
        Time="09:00:05",
    )
    fake_ssi.scripts["X"] = [[("broadcast", "X", krx)]]
    stream = source_for(ssi_settings).subscribe(["VN30F2602"], ["trades", "quotes"])
    events: list[Any] = []
    async for event in stream:
        events.append(event)
        if len(events) == 2:
            break
    await stream.stop()
    assert fake_ssi.connections[0].subscriptions == ["X:VN30F2602"]
    assert {e.symbol for e in events} == {"VN30F2602"}
    trade = next(e for e in events if isinstance(e, Trade))
    assert {type(e) for e in events} == {Trade, Quote}
    assert trade.price == 1252.5 and trade.ts_event == datetime(2026, 2, 2, 2, 0, 5, tzinfo=UTC)


def _day_script() -> dict[str, list[list[tuple[Any, ...]]]]:
    """A small live morning: trades (with repeats and an ATO match), quotes, foreign, index,
    status, several messages sharing one second, and a drop with re-delivery."""
    trades = []
    total = 1_000_000.0
    for n in range(12):
        total += 100 * (n % 4 + 1)
        trades.append(
            dict(
                X_TRADE_SAMPLE,
                TradingDate="14/08/2023",
                Time=f"09:{15 + n // 3:02d}:{(n * 7) % 60:02d}",
                TotalVol=total,
                LastVol=100.0 * (n % 4 + 1),
                LastPrice=22900.0 + 50 * (n % 3),
                Side=["BU", "SD", ""][n % 3],
                TradingSession="LO",
            )
        )
    trades.insert(
        0,
        dict(
            X_TRADE_SAMPLE,
            TradingDate="14/08/2023",
            Time="09:14:59",
            TotalVol=1_000_000.0,
            LastVol=1_000_000.0,
            Side="",
            TradingSession="ATO",
        ),
    )
    quotes = [
        dict(X_QUOTE_SAMPLE, TradingDate="14/08/2023", Time=f"09:15:{s:02d}", BidVol1=1000.0 + s)
        for s in range(0, 40, 4)
    ]
    foreign = [
        dict(R_SAMPLE, TradingDate="14/08/2023", Time=f"09:16:{s:02d}", BuyVol=1000.0 * s)
        for s in range(1, 6)
    ]
    index = [
        dict(MI_SAMPLE, TradingDate="14/08/2023", Time=f"09:15:{s:02d}", IndexValue=1238.0 + s / 10)
        for s in range(0, 30, 5)
    ]
    status = [
        dict(F_SAMPLE, Symbol="ACB", TradingDate="14/08/2023", Time="09:15:00", TradingSession=code)
        for code in ("ATO", "LO")
    ]

    def steps(kind: str, items: list[dict]) -> list[tuple[Any, ...]]:
        return [("broadcast", kind, item) for item in items]

    return {
        "X-TRADE": [
            steps("X-TRADE", trades[:7]) + [("broadcast", "X-TRADE", trades[6]), ("drop",)],
            steps("X-TRADE", trades[5:]),
        ],
        "X-QUOTE": [steps("X-QUOTE", quotes)],
        "R": [steps("R", foreign)],
        "MI": [steps("MI", index)],
        "F": [steps("F", status)],
    }


def _aggregate(events: list[Any]) -> dict[str, Any]:
    from daemon.aggregation.order_flow import OrderFlowAggregator

    flow = OrderFlowAggregator()
    flow.reset(date(2023, 8, 14))
    for event in events:
        if isinstance(event, Trade):
            volume = flow.accept(event)
            if volume is None:
                continue
            phase = phase_for_trading_session(event.trading_session)
            aggressor = event.side or Aggressor.NEUTRAL
            flow.add(
                ClassifiedTrade(
                    event, aggressor, str(phase.value if phase else "continuous"), "vendor"
                ),
                volume,
            )
    return flow.snapshot()


async def test_record_then_replay_gives_the_identical_event_sequence(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings, store_url: str
) -> None:
    fake_ssi.scripts.update(_day_script())
    store = Store.from_url(store_url)
    base = datetime(2023, 8, 14, 2, 15, tzinfo=UTC)
    ticks = iter(range(10_000))
    clock = lambda: base + timedelta(milliseconds=next(ticks) // 3)  # several events share a stamp  # noqa: E731
    stream = source_for(ssi_settings).subscribe(
        ["ACB", "SSI"],
        ["trades", "quotes", "foreign", "index", "status"],
        clock=clock,
        index_ids=["VN30"],
    )
    recorder = StreamRecorder(store, flush_interval_seconds=0.05)
    recorder.attach(stream)
    live: list[Any] = []
    expected = 13 + 10 + 5 + 6 + 2

    async def consume() -> None:
        async for event in stream:
            live.append(event)
            if len(live) == expected:
                return

    await asyncio.wait_for(consume(), 10)
    await stream.stop()
    await recorder.close()

    assert stream.stats.duplicates >= 2 and stream.stats.reconnects == 1
    assert {type(e) for e in live} == {Trade, Quote, ForeignRoom, IndexTick, SecurityStatus}
    replayed = replay_day(store, date(2023, 8, 14), ["ACB", "SSI"], ["VN30"])
    assert recorder.recorded == expected
    assert replayed == [replace(e, ts_received=None) for e in live]
    assert _aggregate(replayed) == _aggregate(live)
    assert _aggregate(live)["ACB"]  # the aggregate is not empty

    streamed = [
        e async for e in ReplayStream.from_store(store, date(2023, 8, 14), ["ACB", "SSI"], ["VN30"])
    ]
    assert streamed == replayed
    again = replay_day(store, date(2023, 8, 14), ["ACB", "SSI"], ["VN30"])
    assert again == replayed  # deterministic
    # SSI's recorder and reader are the SDK's (plugins.recording) with SSI's defaults
    assert isinstance(recorder, EventRecorder)
    stamped = replay_day(
        store, date(2023, 8, 14), ["ACB", "SSI"], ["VN30"], keep_arrival_stamp=True
    )
    assert stamped == recorded_day(
        store, "XSTC", date(2023, 8, 14), ["ACB", "SSI"], ["VN30"], source="ssi"
    )
    assert [e.ts_received for e in stamped] == sorted(e.ts_received for e in stamped)
    store.dispose()


def test_the_vn30f1m_alias_resolves_to_the_front_contract_of_the_day() -> None:
    source = SsiSource(exchange="VN30F")
    assert source.resolve_symbols(["ACB", "VN30F1M"], date(2025, 4, 17)) == ["ACB", "VN30F2504"]
    assert source.resolve_symbols(["VN30F1M"], date(2025, 4, 18)) == ["VN30F2505"]
    assert source.resolve_symbols(["vn30f1m", "VN30F2602"], date(2026, 2, 16)) == [
        "41I1G3000",
        "VN30F2602",
    ]
