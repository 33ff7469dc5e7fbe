"""Built-in indicators: trailing average/max/min (daily and per minute of day), SMA, EMA, VWAP.

Registered by the plugin manager exactly like a third-party plugin (``register_indicators``).
"""

from __future__ import annotations

from plugins import hookimpl
from plugins.indicators.streaming import (
    ExponentialMovingAverage,
    SimpleMovingAverage,
    VolumeWeightedAveragePrice,
)
from plugins.indicators.trailing import TrailingAverage, TrailingMax, TrailingMin


@hookimpl
def register_indicators() -> list[type]:
    """The built-in indicator types: trailing_average, trailing_max, trailing_min, sma, ema, vwap."""
    return [
        TrailingAverage,
        TrailingMax,
        TrailingMin,
        SimpleMovingAverage,
        ExponentialMovingAverage,
        VolumeWeightedAveragePrice,
    ]
