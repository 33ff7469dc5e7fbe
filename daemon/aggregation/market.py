"""Index values (VN30, VNINDEX) and the VN30 futures basis.

The basis of the primary futures contract is ``futures price − VN30 index value`` with the
index value in force at the futures trade's time (the latest index tick at or before it;
none → no basis yet). A positive basis is a premium, a negative one a discount. Both trackers
keep a bounded time series for charts.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.models import IndexTick, Trade

SERIES_LENGTH = 2_000
"""Points kept per time series (a 6-hour day at one point per ~10 s)."""


class IndexTracker:
    """Latest value, change, breadth and volume per index, and a time series of values."""

    def __init__(self) -> None:
        self._latest: dict[str, IndexTick] = {}
        self._series: dict[str, deque[tuple[datetime, float]]] = {}

    def reset(self) -> None:
        self._latest.clear()
        self._series.clear()

    def apply(self, tick: IndexTick) -> None:
        previous = self._latest.get(tick.index_id)
        if previous is not None and tick.ts_event < previous.ts_event:
            return
        self._latest[tick.index_id] = tick
        series = self._series.setdefault(tick.index_id, deque(maxlen=SERIES_LENGTH))
        series.append((tick.ts_event, tick.value))

    def latest(self, index_id: str) -> IndexTick | None:
        return self._latest.get(index_id)

    def value_at(self, index_id: str, ts: datetime) -> float | None:
        """The index value in force at ``ts`` (latest tick at or before it)."""
        series = self._series.get(index_id)
        if not series:
            return None
        if ts >= series[-1][0]:  # the common case: trades arrive after the latest tick
            return series[-1][1]
        times = [point[0] for point in series]
        position = bisect.bisect_right(times, ts)
        return series[position - 1][1] if position else None

    def series(self, index_id: str) -> list[tuple[datetime, float]]:
        return list(self._series.get(index_id, ()))

    def snapshot(self) -> dict[str, Any]:
        return {
            index_id: {
                "index_id": index_id,
                "value": tick.value,
                "prior_value": tick.prior_value,
                "change": tick.change,
                "ratio_change": tick.ratio_change,
                "advances": tick.advances,
                "declines": tick.declines,
                "no_changes": tick.no_changes,
                "total_volume": tick.total_volume,
                "total_value": tick.total_value,
                "time": tick.ts_event.isoformat(),
            }
            for index_id, tick in sorted(self._latest.items())
        }


@dataclass(frozen=True, slots=True)
class BasisPoint:
    """The basis at one futures trade."""

    ts_event: datetime
    futures_price: float
    index_value: float

    @property
    def basis(self) -> float:
        return self.futures_price - self.index_value

    @property
    def state(self) -> str:
        if self.basis > 0:
            return "premium"
        if self.basis < 0:
            return "discount"
        return "flat"

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.ts_event.isoformat(),
            "futures_price": self.futures_price,
            "index_value": self.index_value,
            "basis": round(self.basis, 4),
            "state": self.state,
        }


class BasisTracker:
    """Basis of the primary futures contract against an index (VN30 by default)."""

    def __init__(
        self, indices: IndexTracker, contract: str | None = None, index_id: str = "VN30"
    ) -> None:
        self.indices = indices
        self.contract = contract
        self.index_id = index_id
        self._series: deque[BasisPoint] = deque(maxlen=SERIES_LENGTH)

    def reset(self, contract: str | None = None) -> None:
        self._series.clear()
        if contract is not None:
            self.contract = contract

    def apply(self, trade: Trade) -> BasisPoint | None:
        """Fold in a futures trade of the primary contract; other symbols are ignored."""
        if trade.symbol != self.contract:
            return None
        index_value = self.indices.value_at(self.index_id, trade.ts_event)
        if index_value is None:
            return None
        point = BasisPoint(trade.ts_event, trade.price, index_value)
        self._series.append(point)
        return point

    def latest(self) -> BasisPoint | None:
        return self._series[-1] if self._series else None

    def series(self) -> list[BasisPoint]:
        return list(self._series)

    def snapshot(self) -> dict[str, Any]:
        latest = self.latest()
        return {
            "contract": self.contract,
            "index_id": self.index_id,
            "latest": latest.to_dict() if latest else None,
            "series": [point.to_dict() for point in list(self._series)[-300:]],
        }
