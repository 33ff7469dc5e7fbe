"""Streaming indicators updated once per bar: SMA, EMA and session VWAP.

``kind = "streaming"``: sessiond calls ``update`` on every streamed bar (granularity ``bar``)
and stores what it returns. Each reads its bar fields by attribute only (``close``,
``volume``, ``vwap``, ``high``, ``low``), so any ``BarLike`` works. ``update(bar)`` returns the
current value, or None while warming up; ``reset()`` starts over (sessiond calls it at the
start of each trading day).
"""

from __future__ import annotations

import math
from collections import deque
from operator import attrgetter
from typing import Any, ClassVar

from core.errors import ConfigError

_FIELDS = ("open", "high", "low", "close", "volume", "vwap")
_RESYNC_EVERY = 4096
"""The SMA recomputes its running sum exactly every this many updates (bounds float drift)."""


def _check(name: str, period: int, field: str) -> None:
    if not isinstance(period, int) or isinstance(period, bool) or period < 1:
        raise ConfigError(
            f"indicator {name!r}: period must be a positive number of bars, was {period!r}"
        )
    if field not in _FIELDS:
        raise ConfigError(
            f"indicator {name!r}: field {field!r} is not a bar field (expected one of {', '.join(_FIELDS)})"
        )


class SimpleMovingAverage:
    """Mean of ``field`` over the last ``period`` bars (None until ``period`` bars were seen)."""

    name: ClassVar[str] = "sma"
    kind: ClassVar[str] = "streaming"
    description: ClassVar[str] = "simple moving average of a bar field over the last N bars"

    __slots__ = (
        "indicator_name",
        "period",
        "field",
        "value",
        "_get",
        "_window",
        "_sum",
        "_updates",
        "_full",
    )

    def __init__(self, name: str, period: int = 20, field: str = "close") -> None:
        _check(name, period, field)
        self.indicator_name = name
        self.period = period
        self.field = field
        self._get = attrgetter(field)
        self.reset()

    def reset(self) -> None:
        self._window: deque[float] = deque(maxlen=self.period)
        self._sum = 0.0
        self._updates = 0
        self._full = False
        self.value: float | None = None

    def update(self, bar: Any) -> float | None:
        x = self._get(bar)
        window = self._window
        if self._full:
            self._sum += x - window[0]
            window.append(x)
            self._updates += 1
            if self._updates >= _RESYNC_EVERY:
                self._updates = 0
                self._sum = math.fsum(window)
            value = self._sum / self.period
            self.value = value
            return value
        window.append(x)
        self._sum += x
        if len(window) == self.period:
            self._full = True
            self._sum = math.fsum(window)
            self.value = self._sum / self.period
        return self.value


class ExponentialMovingAverage:
    """EMA of ``field`` with ``alpha = 2 / (period + 1)``, seeded with the SMA of the first
    ``period`` bars (None before that)."""

    name: ClassVar[str] = "ema"
    kind: ClassVar[str] = "streaming"
    description: ClassVar[str] = "exponential moving average (alpha 2/(N+1), SMA-seeded)"

    __slots__ = ("indicator_name", "period", "field", "alpha", "value", "_get", "_seed")

    def __init__(self, name: str, period: int = 20, field: str = "close") -> None:
        _check(name, period, field)
        self.indicator_name = name
        self.period = period
        self.field = field
        self.alpha = 2.0 / (period + 1)
        self._get = attrgetter(field)
        self.reset()

    def reset(self) -> None:
        self._seed: list[float] = []
        self.value: float | None = None

    def update(self, bar: Any) -> float | None:
        x = self._get(bar)
        value = self.value
        if value is not None:
            value += self.alpha * (x - value)
            self.value = value
            return value
        self._seed.append(x)
        if len(self._seed) == self.period:
            self.value = math.fsum(self._seed) / self.period
            self._seed = []
        return self.value


class VolumeWeightedAveragePrice:
    """Session VWAP: ``sum(p_i * volume_i) / sum(volume_i)`` over the bars since ``reset()``,
    with ``p_i`` the bar's vwap, or its typical price ``(high + low + close) / 3`` when it has
    none. None until some volume traded."""

    name: ClassVar[str] = "vwap"
    kind: ClassVar[str] = "streaming"
    description: ClassVar[str] = "cumulative volume-weighted average price since the session start"

    __slots__ = ("indicator_name", "value", "_pv", "_volume")

    def __init__(self, name: str) -> None:
        self.indicator_name = name
        self.reset()

    def reset(self) -> None:
        self._pv = 0.0
        self._volume = 0.0
        self.value: float | None = None

    def update(self, bar: Any) -> float | None:
        volume = bar.volume
        if volume:
            price = bar.vwap
            if price is None or price != price:
                price = (bar.high + bar.low + bar.close) / 3.0
            self._pv += price * volume
            self._volume += volume
            self.value = self._pv / self._volume
        return self.value


__all__ = ["ExponentialMovingAverage", "SimpleMovingAverage", "VolumeWeightedAveragePrice"]
