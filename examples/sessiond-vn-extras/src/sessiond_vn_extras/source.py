"""``random_walk``: seeded geometric random-walk bars on every trading minute of any calendar."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections.abc import Iterator, Sequence

from core import boards
from core.calendars import session_minutes, sessions_in_range
from core.models import Bar
from core.timeframes import parse_interval


class RandomWalkSource:
    """One-minute bars whose close follows a random walk with ``volatility`` per minute (a
    fraction), from ``start_price``; prices on the exchange's tick grid. The same seed, symbol
    and day always give the same bars, whatever range is asked."""

    name = "random_walk"
    description = "Seeded random-walk 1-minute bars on the exchange's trading minutes"

    def __init__(
        self,
        exchange: str,
        seed: int = 1,
        start_price: float = 25_000.0,
        volatility: float = 0.001,
    ) -> None:
        if start_price <= 0 or volatility < 0:
            raise ValueError("start_price must be > 0 and volatility >= 0")
        self.exchange = exchange
        self.seed = seed
        self.start_price = start_price
        self.volatility = volatility

    def _day(self, symbol: str, day: dt.date) -> list[Bar]:
        key = f"{self.seed}:{symbol}:{day.isoformat()}".encode()
        rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
        price = self.start_price * math.exp(rng.gauss(0, 0.02))
        bars = []
        for ts in session_minutes(self.exchange, day):
            open_ = price
            price *= math.exp(rng.gauss(0, self.volatility))
            close = price
            tick = boards.tick_size(self.exchange, close)
            open_, close = (round(p / tick) * tick for p in (open_, close))
            high = max(open_, close) + tick * rng.randint(0, 2)
            low = max(tick, min(open_, close) - tick * rng.randint(0, 2))
            volume = float(rng.randint(1, 50) * 100)
            bars.append(
                Bar(symbol, "1m", ts, open_, high, low, close, volume, None, None, self.name)
            )
        return bars

    def request_bars(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime, interval: str
    ) -> Iterator[Bar]:
        if parse_interval(interval).label != "1m":
            raise ValueError(f"random_walk has 1m bars only, not {interval!r}")
        days = sessions_in_range(self.exchange, start.date() - dt.timedelta(days=1), end.date())
        for symbol in symbols:
            for day in days:
                for bar in self._day(symbol, day):
                    if start <= bar.ts_event < end:
                        yield bar
