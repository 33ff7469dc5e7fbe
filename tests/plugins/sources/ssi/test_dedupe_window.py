"""The stream's de-duplication window is bounded: after any number of messages it remembers at
most ``dedupe_window`` of them (a live daemon decodes thousands a second)."""

from __future__ import annotations

from plugins.sources.ssi.frames import FrameDecoder
from tests.plugins.sources.ssi.test_parse import X_TRADE_SAMPLE, frame_of


def nth_trade(n: int) -> str:
    return frame_of(
        dict(
            X_TRADE_SAMPLE,
            TotalVol=1_000_000.0 + 100 * n,
            Time=f"10:{n // 60 % 60:02d}:{n % 60:02d}",
        )
    )


def test_dedupe_window_never_holds_more_than_its_bound_after_many_messages() -> None:
    decoder = FrameDecoder(dedupe_window=100)
    largest = 0
    for n in range(2_000):
        assert len(decoder.decode("X-TRADE", nth_trade(n))) == 1
        largest = max(largest, len(decoder._seen), len(decoder._seen_order))
    assert largest == 100
    assert decoder.stats.duplicates == 0


def test_a_repeat_inside_the_window_is_dropped_and_one_outside_it_is_not() -> None:
    decoder = FrameDecoder(dedupe_window=100)
    for n in range(150):
        decoder.decode("X-TRADE", nth_trade(n))
    assert decoder.decode("X-TRADE", nth_trade(149)) == []  # remembered
    assert decoder.stats.duplicates == 1
    assert len(decoder.decode("X-TRADE", nth_trade(0))) == 1  # forgotten 50 messages ago
