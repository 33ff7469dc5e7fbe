"""Fixtures for the Alpaca source tests: credentials in the environment, loopback fakes, and
canned wire rows (minute bars over a whole extended-hours day, trades, quotes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.fakes.alpaca_server import KEY, SECRET, FakeAlpacaData, FakeAlpacaStream, rfc3339

ET = ZoneInfo("America/New_York")


@pytest.fixture
def alpaca_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials in the environment; no stray ``.env`` or ALPACA_* from the host."""
    monkeypatch.chdir(tmp_path)
    for name in ("ALPACA_DATA_URL", "ALPACA_STREAM_URL", "ALPACA_FEED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALPACA_API_KEY", KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)


def minute_bars(symbol_seed: float, day: date, start: time, end: time) -> list[dict[str, Any]]:
    """Wire rows of 1Min bars opening every minute of ``[start, end)`` ET on ``day``."""
    rows = []
    cursor = datetime.combine(day, start, ET)
    stop = datetime.combine(day, end, ET)
    index = 0
    while cursor < stop:
        price = symbol_seed + index * 0.01
        rows.append(
            {
                "t": rfc3339(cursor.astimezone(UTC)),
                "o": price,
                "h": price + 0.05,
                "l": price - 0.05,
                "c": price + 0.02,
                "v": 100 + index,
                "n": 3 + index % 7,
                "vw": price + 0.01,
            }
        )
        cursor += timedelta(minutes=1)
        index += 1
    return rows


@pytest.fixture
def fake_data() -> Iterator[FakeAlpacaData]:
    with FakeAlpacaData() as fake:
        yield fake


@pytest.fixture
def fake_stream_factory() -> Iterator[Any]:
    started: list[FakeAlpacaStream] = []

    def make(*args: Any, **kwargs: Any) -> FakeAlpacaStream:
        fake = FakeAlpacaStream(*args, **kwargs).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()
