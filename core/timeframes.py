"""Bar intervals (``1s 1m 5m 10m 15m 30m 1h 1d``), look-back periods (``10d``, ``52w``) and
indicator granularities.

Parsed once at the edge (config, CLI) into small frozen values the engine compares cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from core.errors import ConfigError

SUPPORTED_INTERVALS: tuple[str, ...] = ("1s", "1m", "5m", "10m", "15m", "30m", "1h", "1d")
"""Every interval a session config may name, smallest first."""

INDICATOR_GRANULARITIES: dict[str, tuple[str, ...]] = {
    "historical": ("daily", "intraday"),
    "streaming": ("bar",),
    "both": ("daily", "intraday", "bar"),
}
"""Indicator kind -> the granularities it accepts (``daily``/``intraday``: values computed
before the day from trailing bars; ``bar``: updated on every streamed bar); the first is the
kind's default (``both`` has none: the config must pick). ``plugins.interfaces.Indicator``
documents the contract."""

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL_RE = re.compile(r"^(\d+)([smhd])$")
_PERIOD_RE = re.compile(r"^(\d+)([dw])$")


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A bar interval. Ordered by length; ``1d`` means one trading session, not 24 hours."""

    seconds: int
    label: str

    @property
    def is_daily(self) -> bool:
        return self.label == "1d"

    @property
    def timedelta(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        return self.label


@lru_cache(maxsize=64)
def parse_interval(text: str) -> Interval:
    """Parse ``"5m"`` into ``Interval(300, "5m")``; raise ``ConfigError`` for anything unsupported."""
    value = text.strip() if isinstance(text, str) else text
    if value not in SUPPORTED_INTERVALS:
        raise ConfigError(
            f"interval {text!r} is not supported (expected one of {', '.join(SUPPORTED_INTERVALS)})"
        )
    match = _INTERVAL_RE.match(value)
    assert match is not None  # every supported label matches
    return Interval(int(match.group(1)) * _UNIT_SECONDS[match.group(2)], value)


def is_interval(text: str) -> bool:
    """True when ``text`` names a supported interval (streams also name ``quotes``, ``trades``)."""
    return text in SUPPORTED_INTERVALS


@dataclass(frozen=True, slots=True)
class Period:
    """A look-back period counted in trading days (``52w`` is 52 x 5 = 260 trading days)."""

    trading_days: int
    label: str

    def __str__(self) -> str:
        return self.label


@lru_cache(maxsize=64)
def parse_period(text: str) -> Period:
    """Parse ``"10d"`` (trading days) or ``"52w"`` (weeks of 5 trading days)."""
    match = _PERIOD_RE.match(text.strip()) if isinstance(text, str) else None
    if match is None or int(match.group(1)) <= 0:
        raise ConfigError(
            f"period {text!r} is not valid (expected a positive count of trading days or weeks, "
            "e.g. '10d' or '52w')"
        )
    count = int(match.group(1))
    days = count if match.group(2) == "d" else count * 5
    return Period(days, text.strip())


def trailing_days(period: object) -> int:
    """The trading days of history before a day that an indicator's ``period`` asks for:
    ``"10d"`` 10, ``"52w"`` 260; 1 (the day before) for none or a bar count. The daemon's
    warm-up, the history fetch plan and Dagster's indicator assets all read it here."""
    if isinstance(period, str):
        try:
            return parse_period(period).trading_days
        except ConfigError:
            return 1
    return 1
