"""LiveFeed: a source's subscription as batches of streamed bars, other events routed aside."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from core.errors import SourceError
from core.models import Bar, Trade
from core.sessions import SessionWindow
from daemon.clock import LiveClock
from daemon.feeds.live import LiveFeed

T0 = datetime(2025, 7, 2, 13, 30, tzinfo=UTC)


def bar(symbol: str, minute: int, interval: str = "1m") -> Bar:
    return Bar(
        symbol, interval, T0 + timedelta(minutes=minute), 1.0, 2.0, 0.5, 1.5, 10.0, 2, 1.2, "fake"
    )


class FakeSubscription:
    """What a LiveSource.subscribe returns: events released in bursts, then the end."""

    def __init__(
        self, bursts: list[list[Any]], fail: Exception | None = None, hold: bool = False
    ) -> None:
        self.bursts = bursts
        self.fail = fail
        self.hold = hold
        self.stopped = False

    async def _events(self) -> AsyncIterator[Any]:
        for burst in self.bursts:
            for event in burst:
                yield event
            await asyncio.sleep(0.01)
        if self.fail is not None:
            raise self.fail
        while self.hold and not self.stopped:
            await asyncio.sleep(0.01)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._events()

    async def stop(self) -> None:
        self.stopped = True


class FakeLiveSource:
    name = "fake"

    def __init__(self, subscription: FakeSubscription) -> None:
        self.subscription = subscription
        self.subscribed: list[tuple[list[str], list[str]]] = []

    def subscribe(self, symbols: Sequence[str], channels: Sequence[str]) -> FakeSubscription:
        self.subscribed.append((list(symbols), list(channels)))
        return self.subscription


def window_from_now(clock: LiveClock, seconds: float) -> SessionWindow:
    now = clock.now()
    return SessionWindow(date(2025, 7, 2), now - timedelta(hours=1), now + timedelta(seconds=seconds))


async def collect(
    feed: LiveFeed, window: SessionWindow, clock: LiveClock, **kw: Any
) -> list[list[Bar]]:
    return [chunk async for chunk in feed.stream(window, clock, **kw)]


async def test_bars_arrive_in_batches_and_other_events_are_routed_aside() -> None:
    trade = Trade("AAPL", T0, 1.5, 100.0)
    subscription = FakeSubscription(
        [
            [bar("AAPL", 0), bar("MSFT", 0), trade, bar("AAPL", 0, "5m"), bar("TSLA", 0)],
            [bar("AAPL", 1)],
        ]
    )
    source = FakeLiveSource(subscription)
    others: list[Any] = []
    feed = LiveFeed(source, symbols=["MSFT", "AAPL"], interval="1m", on_event=others.append)
    clock = LiveClock()
    await feed.start()
    chunks = await collect(feed, window_from_now(clock, 5), clock)
    assert source.subscribed == [(["AAPL", "MSFT"], ["bars"])]
    assert [[(b.symbol, b.ts_event) for b in c] for c in chunks] == [
        [("AAPL", T0), ("MSFT", T0)],
        [("AAPL", T0 + timedelta(minutes=1))],
    ]
    assert others == [trade, bar("AAPL", 0, "5m"), bar("TSLA", 0)]
    assert feed.received == 6
    await feed.stop()
    assert subscription.stopped


async def test_stream_ends_when_the_clock_reaches_the_window_end() -> None:
    feed = LiveFeed(
        FakeLiveSource(FakeSubscription([[bar("AAPL", 0)]], hold=True)),
        symbols=["AAPL"],
        interval="1m",
    )
    clock = LiveClock()
    window = window_from_now(clock, 0.4)
    chunks = await asyncio.wait_for(collect(feed, window, clock), timeout=5)
    assert [len(c) for c in chunks] == [1]
    assert clock.now() >= window.end
    await feed.stop()


async def test_stream_ends_on_a_stop_request() -> None:
    feed = LiveFeed(
        FakeLiveSource(FakeSubscription([], hold=True)), symbols=["AAPL"], interval="1m"
    )
    clock = LiveClock()
    flag = {"stop": False}

    async def later() -> None:
        await asyncio.sleep(0.1)
        flag["stop"] = True

    task = asyncio.create_task(later())
    chunks = await asyncio.wait_for(
        collect(feed, window_from_now(clock, 60), clock, should_stop=lambda: flag["stop"]),
        timeout=5,
    )
    await task
    assert chunks == []
    await feed.stop()


async def test_a_failing_subscription_raises_source_error() -> None:
    subscription = FakeSubscription([[bar("AAPL", 0)]], fail=RuntimeError("socket closed"))
    feed = LiveFeed(FakeLiveSource(subscription), symbols=["AAPL"], interval="1m")
    clock = LiveClock()
    with pytest.raises(SourceError, match="live stream failed: socket closed"):
        await collect(feed, window_from_now(clock, 5), clock)
    await feed.stop()


async def test_a_source_without_a_live_stream_is_refused_by_name() -> None:
    class HistoryOnly:
        name = "files"

        def request_bars(self, *args: Any) -> list[Bar]:
            return []

    feed = LiveFeed(HistoryOnly(), symbols=["AAPL"], interval="1m")
    with pytest.raises(SourceError, match="data source 'files' has no live stream"):
        await feed.start()
