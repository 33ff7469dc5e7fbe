"""The SignalR 1.5 stream client against the loopback fake: subscribe, demux, reconnect,
de-duplication, silence, token refresh, stop, handler and frame errors, and no leaked token."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from core.errors import SourceError
from core.models import Bar, ForeignRoom, IndexTick, Quote, SecurityStatus, Trade
from daemon.demo.ssi_server import HUB, FakeSsiServer
from plugins.sources.ssi.client import SsiRestClient
from plugins.sources.ssi.settings import SsiSettings
from plugins.sources.ssi.stream import SsiStream
from tests.plugins.sources.ssi.test_parse import (
    B_SAMPLE,
    F_SAMPLE,
    MI_SAMPLE,
    R_SAMPLE,
    X_QUOTE_SAMPLE,
    X_SAMPLE,
    X_TRADE_SAMPLE,
)


def make_stream(settings: SsiSettings, channels: list[str], **options: Any) -> SsiStream:
    rest = SsiRestClient(settings)

    async def token(force: bool) -> str:
        return await asyncio.to_thread(rest.token, force)

    return SsiStream(settings, channels, token, **options)


async def take(stream: SsiStream, count: int, timeout: float = 5.0) -> list[Any]:
    events: list[Any] = []

    async def run() -> None:
        async for event in stream:
            events.append(event)
            if len(events) == count:
                return

    await asyncio.wait_for(run(), timeout)
    return events


def trade(n: int) -> dict[str, Any]:
    """The n-th trade of ACB: cumulative volume grows by 100 each time."""
    return dict(
        X_TRADE_SAMPLE,
        Time=f"14:07:{n:02d}",
        TotalVol=8797700.0 + 100 * n,
        LastPrice=22950.0 + 50 * (n % 3),
    )


async def test_every_channel_is_subscribed_on_its_own_connection_and_demuxed(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    samples = {
        "X-TRADE": X_TRADE_SAMPLE,
        "X-QUOTE": X_QUOTE_SAMPLE,
        "X": X_SAMPLE,
        "R": R_SAMPLE,
        "MI": MI_SAMPLE,
        "F": F_SAMPLE,
        "B": dict(B_SAMPLE, Symbol="ACB"),
    }
    for kind, content in samples.items():
        fake_ssi.scripts[kind] = [[("broadcast", kind, content)]]
    channels = ["X-TRADE:ACB", "X-QUOTE:ACB", "X:TAR", "R:SSI", "MI:VN30", "F:SSI", "B:ACB"]
    stream = make_stream(ssi_settings, channels, default_trading_date="14/08/2023")
    events = await take(stream, 8)
    await stream.stop()

    assert sorted(c.subscriptions[0] for c in fake_ssi.connections) == sorted(channels)
    assert all(
        c.invokes[0] == {"H": HUB, "M": "SwitchChannels", "A": [c.subscriptions[0]], "I": 0}
        for c in fake_ssi.connections
    )
    by_type: dict[type, list[Any]] = {}
    for event in events:
        by_type.setdefault(type(event), []).append(event)
    assert {t: len(v) for t, v in by_type.items()} == {
        Trade: 2,
        Quote: 2,
        ForeignRoom: 1,
        IndexTick: 1,
        SecurityStatus: 1,
        Bar: 1,
    }
    acb = next(e for e in by_type[Trade] if e.symbol == "ACB")
    assert (acb.price, acb.total_volume, acb.ts_event) == (
        22950.0,
        8797700.0,
        datetime(2023, 8, 14, 7, 7, 53, tzinfo=UTC),
    )
    assert by_type[IndexTick][0].value == 1238.76
    assert by_type[ForeignRoom][0].buy_volume == 863352.0
    assert by_type[Bar][0].ts_event == datetime(2023, 8, 14, 7, 28, tzinfo=UTC)
    assert stream.stats.malformed == 0 and stream.stats.connects == 7


@pytest.mark.parametrize("ending", [("drop",), ("close", 1000)])
async def test_reconnect_after_a_drop_resubscribes_and_delivers_each_message_once(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings, ending: tuple
) -> None:
    fake_ssi.scripts["X-TRADE"] = [
        [
            ("broadcast", "X-TRADE", trade(1)),
            ("broadcast", "X-TRADE", trade(2)),
            ("broadcast", "X-TRADE", trade(3)),
            ending,
        ],
        # the new connection repeats what the server still had, then continues
        [
            ("broadcast", "X-TRADE", trade(2)),
            ("broadcast", "X-TRADE", trade(3)),
            ("broadcast", "X-TRADE", trade(4)),
            ("broadcast", "X-TRADE", trade(5)),
        ],
    ]
    stream = make_stream(ssi_settings, ["X-TRADE:ACB"])
    events = await take(stream, 5)
    await asyncio.sleep(0.05)
    await stream.stop()

    assert [e.total_volume for e in events] == [8797700.0 + 100 * n for n in range(1, 6)]
    assert stream.stats.reconnects == 1 and stream.stats.duplicates == 2
    assert [c.subscriptions for c in fake_ssi.connections] == [["X-TRADE:ACB"], ["X-TRADE:ACB"]]
    assert len(fake_ssi.negotiate_tokens) == 2


async def test_reconnect_delays_grow_exponentially_with_jitter(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    settings = ssi_settings.model_copy(
        update={"reconnect_initial_seconds": 0.01, "reconnect_max_seconds": 10.0}
    )
    # the drop comes late enough for the failures below to be armed before the reconnect
    fake_ssi.scripts["X-TRADE"] = [
        [("sleep", 0.3), ("drop",)],
        [("broadcast", "X-TRADE", trade(1))],
    ]
    stream = make_stream(settings, ["X-TRADE:ACB"])
    await stream.start()
    await asyncio.wait_for(stream.connected.wait(), 5)
    fake_ssi.negotiate_failures = [500, 503, 500]
    [event] = await take(stream, 1)
    await stream.stop()

    delays = stream.stats.backoff_delays
    assert len(delays) == 4  # after the drop, then after each failed negotiate
    for attempt, delay in enumerate(delays):
        assert 0.5 * 0.01 * 2**attempt <= delay <= 0.01 * 2**attempt
    assert len(set(round(d / 2**i, 9) for i, d in enumerate(delays))) > 1  # jittered
    assert event.total_volume == 8797800.0


async def test_a_silent_connection_is_detected_and_replaced(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.scripts["X-TRADE"] = [
        [("broadcast", "X-TRADE", trade(1)), ("silence",)],
        [("broadcast", "X-TRADE", trade(2))],
    ]
    stream = make_stream(ssi_settings, ["X-TRADE:ACB"])  # keep-alive timeout 0.5 s
    events = await take(stream, 2)
    await stream.stop()
    assert [e.total_volume for e in events] == [8797800.0, 8797900.0]
    assert stream.stats.silences == 1 and stream.stats.reconnects == 1


async def test_keepalives_keep_a_quiet_connection_open(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.scripts["MI"] = [[("sleep", 0.8), ("broadcast", "MI", MI_SAMPLE)]]
    stream = make_stream(ssi_settings, ["MI:VN30"])
    [tick] = await take(stream, 1)
    await stream.stop()
    assert tick.index_id == "VN30"
    assert (
        stream.stats.keepalives >= 4 and stream.stats.silences == 0 and stream.stats.reconnects == 0
    )


async def test_token_is_refreshed_on_a_new_connection_before_it_expires(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.token_lifetime_seconds = 2.0
    fake_ssi.drop_on_token_expiry = True  # as SSI might: the socket dies with its token
    settings = ssi_settings.model_copy(update={"token_refresh_margin_seconds": 1.4})
    fake_ssi.scripts["X-TRADE"] = [
        [("broadcast", "X-TRADE", trade(1)), ("sleep", 0.7), ("broadcast", "X-TRADE", trade(2))],
        [("broadcast", "X-TRADE", trade(2)), ("broadcast", "X-TRADE", trade(3))],
    ]
    stream = make_stream(settings, ["X-TRADE:ACB"])
    events = await take(stream, 3)
    await stream.stop()

    first, second = fake_ssi.connections[0], fake_ssi.connections[1]
    assert second.token != first.token
    assert second.opened_at < fake_ssi.token_expiry(first.token)  # made before the old one broke
    assert [e.total_volume for e in events] == [8797800.0, 8797900.0, 8798000.0]
    assert stream.stats.token_refreshes >= 1 and stream.stats.reconnects == 0
    await asyncio.sleep(0.2)
    assert all(c.closed_by_client or c.closed_by_server for c in fake_ssi.connections)


async def test_stop_ends_iteration_and_closes_the_socket(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.scripts["X-TRADE"] = [[("broadcast", "X-TRADE", trade(1))]]
    stream = make_stream(ssi_settings, ["X-TRADE:ACB"])
    received: list[Any] = []

    async def consume() -> None:
        async for event in stream:
            received.append(event)

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(stream.connected.wait(), 5)
    await asyncio.sleep(0.1)
    await stream.stop()
    await asyncio.wait_for(consumer, 2)  # the iterator finished
    await stream.stop()  # idempotent
    assert len(received) == 1 and stream.stopped
    connections = len(fake_ssi.connections)
    await asyncio.sleep(0.3)
    assert len(fake_ssi.connections) == connections  # nothing reconnects after stop
    assert all(c.closed_by_client for c in fake_ssi.connections)
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("ssi-")] == []


async def test_a_failing_listener_never_kills_the_stream(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings, caplog: pytest.LogCaptureFixture
) -> None:
    fake_ssi.scripts["X-TRADE"] = [[("broadcast", "X-TRADE", trade(n)) for n in range(1, 4)]]
    stream = make_stream(ssi_settings, ["X-TRADE:ACB"])
    seen: list[Any] = []

    def explode(event: Any) -> None:
        seen.append(event)
        if len(seen) == 1:
            raise RuntimeError("listener bug")

    stream.add_listener(explode)
    events = await take(stream, 3)
    await stream.stop()
    assert len(events) == 3 and len(seen) == 3
    assert stream.stats.handler_errors == 1
    assert any(
        "listener" in r.getMessage() and "listener bug" in r.getMessage() for r in caplog.records
    )


async def test_garbage_frames_are_counted_logged_and_skipped(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings, caplog: pytest.LogCaptureFixture
) -> None:
    bad_arg = json.dumps({"C": "x", "M": [{"H": HUB, "M": "Broadcast", "A": [7]}]})
    bad_content = json.dumps(
        {
            "C": "x",
            "M": [
                {
                    "H": HUB,
                    "M": "Broadcast",
                    "A": [json.dumps({"DataType": "X-TRADE", "Content": "{not json"})],
                }
            ],
        }
    )
    no_symbol = {k: v for k, v in X_TRADE_SAMPLE.items() if k != "Symbol"}
    fake_ssi.scripts["X-TRADE"] = [
        [
            ("raw", "this is not json"),
            ("raw", "[1, 2, 3]"),
            ("raw", bad_arg),
            ("raw", bad_content),
            ("broadcast", "X-TRADE", no_symbol),
            ("hub_error", "channel not found"),
            ("error", "server says no"),
            ("broadcast", "X-TRADE", trade(1)),
        ]
    ]
    stream = make_stream(ssi_settings, ["X-TRADE:ACB"])
    with caplog.at_level(logging.WARNING):
        [event] = await take(stream, 1)
    await stream.stop()
    assert event.total_volume == 8797800.0
    assert stream.stats.malformed == 5 and stream.stats.server_errors == 2
    assert stream.stats.reconnects == 0
    assert len([r for r in caplog.records if "malformed" in r.getMessage()]) == 5
    assert any("channel not found" in r.getMessage() for r in caplog.records)


async def test_negotiate_401_fetches_a_new_token_and_connects(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.negotiate_failures = [401]
    fake_ssi.scripts["X-TRADE"] = [[("broadcast", "X-TRADE", trade(1))]]
    stream = make_stream(ssi_settings, ["X-TRADE:ACB"])
    [event] = await take(stream, 1)
    await stream.stop()
    assert event.symbol == "ACB"
    assert stream.stats.auth_failures == 1
    assert fake_ssi.token_requests == 2  # the rejected token was replaced


async def test_the_stream_gives_up_after_the_reconnect_limit(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    settings = ssi_settings.model_copy(update={"reconnect_max_attempts": 2})
    fake_ssi.negotiate_failures = [500] * 10
    stream = make_stream(settings, ["X-TRADE:ACB"])
    with pytest.raises(SourceError, match="gave up after 2 failed reconnect attempts"):
        await take(stream, 1)
    await asyncio.sleep(0.05)
    assert stream.stopped  # the stream closed itself
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("ssi-")] == []
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    await stream.stop()
    assert len(fake_ssi.negotiate_tokens) == 3


async def test_the_token_and_secret_never_appear_in_output_logs_or_errors(
    fake_ssi: FakeSsiServer,
    ssi_settings: SsiSettings,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, the websocket library's header dumps included
    for name in ("plugins.sources.ssi.stream.wire", "websockets", "httpx", "httpcore", "urllib3"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    fake_ssi.negotiate_failures = [401]
    fake_ssi.rest_failures = ["html500"]
    fake_ssi.scripts["X-TRADE"] = [
        [("broadcast", "X-TRADE", trade(1)), ("raw", "garbage"), ("hub_error", "oops"), ("drop",)],
        [("broadcast", "X-TRADE", trade(2)), ("silence",)],
        [("broadcast", "X-TRADE", trade(3))],
    ]
    errors: list[str] = []
    stream = make_stream(ssi_settings, ["X-TRADE:ACB"])
    stream.add_listener(
        lambda e: (_ for _ in ()).throw(RuntimeError(f"handler failed on {e.symbol}"))
    )
    try:
        await take(stream, 3)
        SsiRestClient(ssi_settings).daily_ohlc(
            "ACB", datetime(2023, 8, 1).date(), datetime(2023, 8, 2).date()
        )
        bad = ssi_settings.model_copy(update={"reconnect_max_attempts": 1})
        fake_ssi.negotiate_failures = [401, 401, 401]
        failing = make_stream(bad, ["X-TRADE:ACB"])
        with pytest.raises(SourceError) as info:
            await take(failing, 1)
        errors.append(str(info.value))
        await failing.stop()
    finally:
        await stream.stop()
    out, err = capfd.readouterr()
    captured = "\n".join(
        [out, err, caplog.text, *errors, *(r.getMessage() for r in caplog.records)]
    )
    assert len(fake_ssi.issued_tokens) >= 3
    assert "Authorization" in caplog.text  # the header dumps were captured ...
    for secret in [*fake_ssi.issued_tokens, fake_ssi.consumer_secret]:
        assert secret not in captured  # ... with the token masked
        assert secret.split(".")[1] not in captured if "." in secret else True


async def test_content_sent_as_an_object_is_accepted_and_deduplicated_with_the_string_form(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.scripts["MI"] = [
        [
            ("broadcast_object", "MI", MI_SAMPLE),
            ("broadcast_object", "MI", MI_SAMPLE),
            ("broadcast_object", "MI", dict(MI_SAMPLE, IndexValue=1240.0)),
        ]
    ]
    stream = make_stream(ssi_settings, ["MI:VN30"])
    first, second = await take(stream, 2)
    await stream.stop()
    assert (first.value, second.value) == (1238.76, 1240.0)
    assert stream.stats.duplicates == 1 and stream.stats.malformed == 0


async def test_rejected_credentials_end_the_stream_at_once(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    from pydantic import SecretStr

    from core.errors import SourceAuthError

    bad = ssi_settings.model_copy(update={"consumer_secret": SecretStr("not-the-secret")})
    stream = make_stream(bad, ["X-TRADE:ACB"])
    with pytest.raises(SourceAuthError, match="SSI_CONSUMER_SECRET"):
        await take(stream, 1)
    await asyncio.sleep(0.05)
    assert stream.stopped and fake_ssi.negotiate_tokens == []


async def test_a_server_that_drops_every_connection_at_once_is_not_hammered(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    settings = ssi_settings.model_copy(
        update={
            "reconnect_initial_seconds": 0.01,
            "reconnect_max_seconds": 10.0,
            "reconnect_max_attempts": 4,
        }
    )
    fake_ssi.scripts["X-TRADE"] = [[("drop",)]] * 10
    stream = make_stream(settings, ["X-TRADE:ACB"])
    with pytest.raises(SourceError, match="gave up after 4"):
        await take(stream, 1)
    delays = stream.stats.backoff_delays
    assert len(delays) == 4 and len(fake_ssi.connections) == 5
    assert all(0.005 * 2**i <= d <= 0.01 * 2**i for i, d in enumerate(delays))  # growing, not reset


async def test_a_frame_journal_replays_to_the_same_events(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings, tmp_path
) -> None:
    from plugins.sources.ssi.frames import FrameJournal, read_journal, replay_journal

    fake_ssi.scripts["X-TRADE"] = [
        [
            ("broadcast", "X-TRADE", trade(1)),
            ("raw", "garbage"),
            ("broadcast", "X-TRADE", trade(2)),
            ("drop",),
        ],
        [("broadcast", "X-TRADE", trade(2)), ("broadcast", "X-TRADE", trade(3))],
    ]
    fake_ssi.scripts["X-QUOTE"] = [[("broadcast", "X-QUOTE", X_QUOTE_SAMPLE)]]
    journal = FrameJournal(tmp_path / "day.jsonl")
    stream = make_stream(ssi_settings, ["X-TRADE:ACB", "X-QUOTE:ACB"], frame_sink=journal)
    live = await take(stream, 4)
    await stream.stop()
    journal.close()
    frames = list(read_journal(tmp_path / "day.jsonl"))
    assert journal.frames == len(frames) == stream.stats.frames
    assert ("X-TRADE:ACB", "garbage") in frames
    assert replay_journal(tmp_path / "day.jsonl") == live
