"""``rsi``: Wilder's relative strength index of bar closes, historical and streaming."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from core.models import Bar, IndicatorValue


class RsiIndicator:
    """RSI over ``period`` bars (0-100), of kind ``"both"`` (a config entry says which with
    ``granularity``): ``compute`` gives one value from the history before ``as_of`` (``daily``
    or ``intraday``); ``update`` one value per streamed bar (``bar``; None until ``period``
    changes), the day's last one being what sessiond stores."""

    name = "rsi"
    kind = "both"
    description = "Wilder's RSI of closes over the last N bars (0-100)"

    def __init__(self, name: str, period: int = 14) -> None:
        if period < 2:
            raise ValueError(f"indicator {name!r}: period must be >= 2, was {period}")
        self.indicator_name = name
        self.period = period
        self.reset()

    def reset(self) -> None:
        self._last: float | None = None
        self._gain = self._loss = 0.0
        self._seen = 0

    def _step(self, close: float) -> float | None:
        if self._last is None:
            self._last = close
            return None
        change, self._last = close - self._last, close
        gain, loss = max(change, 0.0), max(-change, 0.0)
        self._seen += 1
        if self._seen <= self.period:  # seed: plain averages over the first period changes
            self._gain += gain / self.period
            self._loss += loss / self.period
        else:
            self._gain = (self._gain * (self.period - 1) + gain) / self.period
            self._loss = (self._loss * (self.period - 1) + loss) / self.period
        if self._seen < self.period:
            return None
        if self._loss == 0:
            return 100.0 if self._gain > 0 else 50.0
        return 100.0 - 100.0 / (1.0 + self._gain / self._loss)

    def update(self, bar: Bar) -> float | None:
        return self._step(bar.close)

    def compute(
        self, symbol: str, history: Sequence[Bar], as_of: dt.datetime
    ) -> list[IndicatorValue]:
        fresh = RsiIndicator(self.indicator_name, self.period)
        value = None
        closes = [b.close for b in history if b.symbol == symbol and b.ts_event < as_of]
        for close in closes:
            value = fresh._step(close)
        return [
            IndicatorValue(
                self.indicator_name,
                symbol,
                as_of,
                value,
                complete=value is not None,
                observations=len(closes),
            )
        ]
