"""The live stock stream: the real alpaca-py StockDataStream against the loopback fake,
run inside the test's asyncio loop (never ``stream.run()``)."""

from __future__ import annotations

import asyncio
import logging
import time as wall
from datetime import UTC, datetime

import pytest

from core.errors import SourceAuthError, SourceError
from core.models import Bar, Quote, SecurityStatus, Trade
from plugins.sources.alpaca.source import AlpacaSource
from plugins.sources.alpaca.stream import alpaca_channels
from tests.fakes.alpaca_server import KEY, SECRET

T0 = "2024-01-02T14:30:00Z"  # 09:30 ET
T1 = "2024-01-02T14:30:00.250000Z"
T2 = "2024-01-02T14:31:00Z"

SCRIPT = [
    {
        "T": "q",
        "S": "AAPL",
        "t": T0,
        "ax": "V",
        "ap": 185.10,
        "as": 2,
        "bx": "V",
        "bp": 185.00,
        "bs": 3,
        "c": ["R"],
        "z": "C",
    },
    {"T": "t", "S": "AAPL", "t": T1, "x": "V", "p": 185.10, "s": 50, "c": ["@"], "i": 7, "z": "C"},
    {"T": "t", "S": "MSFT", "t": T1, "x": "V", "p": 370.00, "s": 5, "c": ["@"], "i": 8, "z": "C"},
    {
        "T": "b",
        "S": "AAPL",
        "t": T0,
        "o": 185.0,
        "h": 185.2,
        "l": 184.9,
        "c": 185.1,
        "v": 1000,
        "n": 12,
        "vw": 185.05,
    },
    {
        "T": "u",
        "S": "AAPL",
        "t": T0,
        "o": 185.0,
        "h": 185.3,
        "l": 184.9,
        "c": 185.1,
        "v": 1100,
        "n": 13,
        "vw": 185.06,
    },
    {
        "T": "s",
        "S": "AAPL",
        "t": T2,
        "sc": "H",
        "sm": "Trading Halt",
        "rc": "T12",
        "rm": "News pending",
        "z": "C",
    },
    {"T": "t", "S": "TSLA", "t": T1, "x": "V", "p": 250.0, "s": 1, "c": ["@"], "i": 9, "z": "C"},
]


def source_for(stream_url: str, **options) -> AlpacaSource:
    options.setdefault("reconnect_min_backoff_seconds", 0.01)
    options.setdefault("reconnect_max_backoff_seconds", 0.05)
    return AlpacaSource(exchange="XNYS", stream_url=stream_url, **options)


async def take(subscription, count: int, timeout: float = 10.0) -> list:
    got = []

    async def run() -> None:
        async for event in subscription:
            got.append(event)
            if len(got) == count:
                return

    await asyncio.wait_for(run(), timeout)
    return got


async def test_live_trades_quotes_bars_and_statuses_arrive_as_core_models_in_order(
    alpaca_env, fake_stream_factory
):
    fake = fake_stream_factory(SCRIPT)
    source = source_for(fake.url)
    subscription = source.subscribe(
        ["AAPL", "MSFT"], ["quotes", "trades", "1m", "updated_bars", "status", "5m"]
    )
    events = await take(subscription, 6)
    await subscription.stop()

    assert [type(e) for e in events] == [Quote, Trade, Trade, Bar, Bar, SecurityStatus]
    quote, trade, msft, bar, updated, status = events
    assert (quote.symbol, quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (
        "AAPL",
        185.0,
        3.0,
        185.1,
        2.0,
    )
    assert quote.ts_event == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert (trade.symbol, trade.price, trade.volume, trade.trade_id, trade.side) == (
        "AAPL",
        185.1,
        50.0,
        "7",
        None,
    )
    assert trade.ts_event == datetime(2024, 1, 2, 14, 30, 0, 250000, tzinfo=UTC)
    assert trade.ts_event.tzinfo is UTC
    assert (msft.symbol, msft.price) == ("MSFT", 370.0)
    assert (bar.interval, bar.open, bar.high, bar.close, bar.volume, bar.trade_count) == (
        "1m",
        185.0,
        185.2,
        185.1,
        1000.0,
        12,
    )
    assert (updated.ts_event, updated.high, updated.volume) == (bar.ts_event, 185.3, 1100.0)
    assert (status.symbol, status.trading_status, status.exchange) == ("AAPL", "H", "C")
    # exactly one auth and one subscribe, for the requested channels and symbols only
    assert fake.received[0][0] == {"action": "auth", "key": KEY, "secret": SECRET}
    subscribe = fake.received[0][1]
    assert subscribe["action"] == "subscribe"
    assert {k: sorted(v) for k, v in subscribe.items() if k != "action"} == {
        "trades": ["AAPL", "MSFT"],
        "quotes": ["AAPL", "MSFT"],
        "bars": ["AAPL", "MSFT"],
        "updatedBars": ["AAPL", "MSFT"],
        "statuses": ["AAPL", "MSFT"],
    }


async def test_bad_key_on_the_stream_fails_within_the_bound_with_a_clear_message(
    alpaca_env, monkeypatch, fake_stream_factory
):
    monkeypatch.setenv("ALPACA_SECRET_KEY", "not-the-secret")
    fake = fake_stream_factory(SCRIPT)
    source = source_for(fake.url, max_auth_attempts=3)
    subscription = source.subscribe(["AAPL"], ["trades"])
    started = wall.monotonic()
    with pytest.raises(SourceAuthError) as caught:
        await take(subscription, 1, timeout=10)
    assert wall.monotonic() - started < 5
    assert fake.auth_attempts == 3  # bounded: alpaca-py alone would retry forever
    message = str(caught.value)
    assert message == (
        f"alpaca stream {fake.url} rejected the credentials 3 times in a row ('auth failed'); "
        "check ALPACA_API_KEY and ALPACA_SECRET_KEY"
    )
    await asyncio.sleep(0.2)
    assert fake.auth_attempts == 3  # and it stays stopped
    await subscription.stop()  # idempotent after failure


async def test_unreachable_stream_gives_up_after_the_connect_bound(alpaca_env, fake_stream_factory):
    fake = fake_stream_factory()
    url = fake.url
    fake.stop()  # nothing listens there any more
    subscription = source_for(url, max_connect_attempts=2).subscribe(["AAPL"], ["bars"])
    with pytest.raises(SourceError, match=r"2 connection attempts failed in a row"):
        await take(subscription, 1, timeout=10)


async def test_reconnect_resubscribes_and_the_stream_continues(alpaca_env, fake_stream_factory):
    first = [SCRIPT[1]]
    second = [
        {
            "T": "t",
            "S": "AAPL",
            "t": T2,
            "x": "V",
            "p": 185.5,
            "s": 20,
            "c": ["@"],
            "i": 10,
            "z": "C",
        },
    ]
    fake = fake_stream_factory(scripts=[first, second], drop_after=1)
    subscription = source_for(fake.url).subscribe(["AAPL"], ["trades", "quotes"])
    events = await take(subscription, 2)
    await subscription.stop()
    assert [(e.trade_id, e.price) for e in events] == [("7", 185.1), ("10", 185.5)]
    assert fake.connections == 2 and subscription.connections == 2
    subscriptions = fake.subscriptions()
    assert len(subscriptions) == 2
    assert (
        subscriptions[0]
        == subscriptions[1]
        == {
            "trades": ["AAPL"],
            "quotes": ["AAPL"],
            "action": "subscribe",
        }
    )
    assert fake.auth_attempts == 2


async def test_stop_is_clean_and_ends_iteration(alpaca_env, fake_stream_factory):
    fake = fake_stream_factory([SCRIPT[1]])
    subscription = source_for(fake.url).subscribe(["AAPL"], ["trades"])
    iterator = subscription.__aiter__()
    first = await asyncio.wait_for(iterator.__anext__(), 10)
    assert first.trade_id == "7"
    pending = asyncio.ensure_future(iterator.__anext__())  # waits for more data
    await asyncio.sleep(0.05)
    started = wall.monotonic()
    await subscription.stop()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 2)
    assert wall.monotonic() - started < 3  # no 5 s receive timeout
    await subscription.stop()  # idempotent
    with pytest.raises(StopAsyncIteration):
        await iterator.__anext__()
    for _ in range(250):  # the server sees the close handshake
        if fake.closed_by_client:
            break
        await asyncio.sleep(0.02)
    assert fake.closed_by_client == 1
    assert fake.connections == 1
    assert subscription._task is not None and subscription._task.done()


async def test_live_extended_hours_events_follow_the_session_config(
    alpaca_env, fake_stream_factory
):
    pre = "2024-01-02T13:00:00Z"  # 08:00 ET
    post = "2024-01-02T21:30:00Z"  # 16:30 ET
    script = [
        {"T": "t", "S": "AAPL", "t": pre, "x": "V", "p": 1.0, "s": 1, "c": [], "i": 1, "z": "C"},
        {"T": "t", "S": "AAPL", "t": T1, "x": "V", "p": 2.0, "s": 1, "c": [], "i": 2, "z": "C"},
        {"T": "t", "S": "AAPL", "t": post, "x": "V", "p": 3.0, "s": 1, "c": [], "i": 3, "z": "C"},
        {"T": "s", "S": "AAPL", "t": post, "sc": "T", "sm": "", "rc": "", "rm": "", "z": "C"},
    ]
    fake = fake_stream_factory(script)
    regular = source_for(fake.url).subscribe(["AAPL"], ["trades", "status"])
    got = await take(regular, 2)
    await regular.stop()
    assert [getattr(e, "trade_id", "status") for e in got] == ["2", "status"]
    assert regular.dropped == 2

    extended = source_for(fake.url, extended_hours={"pre_market": True, "post_market": True})
    subscription = extended.subscribe(["AAPL"], ["trades"])
    got = await take(subscription, 3)
    await subscription.stop()
    assert [e.trade_id for e in got] == ["1", "2", "3"]


async def test_keys_never_appear_in_logs_output_or_errors(
    alpaca_env, monkeypatch, fake_stream_factory, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    fake = fake_stream_factory(SCRIPT)
    subscription = source_for(fake.url).subscribe(["AAPL"], ["trades", "quotes"])
    await take(subscription, 2)
    await subscription.stop()
    monkeypatch.setenv("ALPACA_API_KEY", "PKBADKEY000")
    failing = source_for(fake.url, max_auth_attempts=2).subscribe(["AAPL"], ["trades"])
    with pytest.raises(SourceAuthError) as caught:
        await take(failing, 1)
    captured = capsys.readouterr()
    text = caplog.text + captured.out + captured.err + str(caught.value) + repr(caught.value)
    assert "rejected the credentials" in text  # the logs were captured
    for secret in (SECRET, KEY, "PKBADKEY000"):
        assert secret not in text


def test_unknown_channel_is_rejected_naming_the_valid_ones():
    with pytest.raises(SourceError, match=r"alpaca cannot stream channel 'foreign'"):
        alpaca_channels(["trades", "foreign"])
    assert alpaca_channels(["1m", "5m", "bars", "trades"]) == ["bars", "trades"]
