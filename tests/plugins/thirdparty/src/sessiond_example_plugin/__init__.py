"""An example third-party sessiond plugin (installed by the tests through its entry point).

Registers a data source ``flat`` (a constant price on every trading minute of the exchange),
a trade classifier ``uptick_only`` and an indicator ``bar_range``, and records the sessions it
is told about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from core.calendars import session_minutes, sessions_in_range
from core.models import Aggressor, Bar, IndicatorValue, Trade
from core.timeframes import parse_interval
from plugins import hookimpl

STARTED: list[tuple[str, str, dt.date, str]] = []
"""(session_name, exchange, trading_date, mode) of every session_started notification."""


class FlatSource:
    name = "flat"
    description = "A constant price on every trading minute; volume 100 shares"

    def __init__(self, exchange: str, price: float = 100.0) -> None:
        self.exchange = exchange
        self.price = price

    def request_bars(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime, interval: str
    ) -> Iterator[Bar]:
        if parse_interval(interval).label != "1m":
            raise ValueError("flat source only has 1m bars")
        days = sessions_in_range(self.exchange, start.date() - dt.timedelta(days=1), end.date())
        for symbol in symbols:
            for day in days:
                for ts in session_minutes(self.exchange, day):
                    if start <= ts < end:
                        p = self.price
                        yield Bar(symbol, "1m", ts, p, p, p, p, 100.0, 1, p, self.name)


class UptickOnlyClassifier:
    name = "uptick_only"
    description = "BUY when the price rose since the last trade; otherwise pass"

    def __init__(self) -> None:
        self.last: float | None = None

    def reset(self) -> None:
        self.last = None

    def classify(self, trade: Trade) -> Aggressor | None:
        previous, self.last = self.last, trade.price
        return Aggressor.BUY if previous is not None and trade.price > previous else None


class BarRangeIndicator:
    """Both kinds: historical (``compute``: the range of the latest bar of the trailing
    history) and streaming (``update``: the range of the bar just streamed); a config picks one
    with ``granularity`` ("daily", "intraday" or "bar")."""

    name = "bar_range"
    description = "High minus low of the latest bar"
    kind = "both"

    def __init__(self, name: str, calendar: str | None = None) -> None:
        self.instance_name = name
        self.value: float | None = None

    def compute(
        self, symbol: str, history: Sequence[Bar], as_of: dt.datetime
    ) -> list[IndicatorValue]:
        if not history:
            return [IndicatorValue(self.instance_name, symbol, as_of, None, False, 0)]
        last = history[-1]
        return [IndicatorValue(self.instance_name, symbol, as_of, last.high - last.low, True, 1)]

    def update(self, bar: Bar) -> float | None:
        self.value = bar.high - bar.low
        return self.value


@hookimpl
def register_data_sources() -> list[type]:
    return [FlatSource]


@hookimpl
def register_trade_classifiers() -> list[type]:
    return [UptickOnlyClassifier]


@hookimpl
def register_indicators() -> list[type]:
    return [BarRangeIndicator]


@hookimpl
def session_started(session_name: str, exchange: str, trading_date: dt.date, mode: str) -> None:
    STARTED.append((session_name, exchange, trading_date, mode))
