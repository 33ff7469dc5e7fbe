"""Active buy / active sell volume per symbol, split by ATO / continuous / ATC.

Per-trade volume is the change in the vendor's cumulative ``TotalVol`` (``vietnam_market.md``
§6), never a sum of cumulative fields:

- ΔTotalVol == LastVol: one match, counted.
- ΔTotalVol == 0: a repeat of the previous message, dropped (``duplicates``).
- ΔTotalVol > 0 and != LastVol: merged matches or an unreliable LastVol; ΔTotalVol is counted
  and the disagreement is counted in ``last_volume_mismatches`` (a data-quality counter).
- ΔTotalVol < 0: out of order or a reset, not counted (``out_of_order``).

Trades without ``total_volume`` (e.g. Alpaca) count their own ``volume``.

Buckets are the phases ``ato``, ``continuous`` and ``atc``; a trade's phase comes from its
``TradingSession`` code, falling back to the exchange clock. Put-through and other
off-book matches carry no aggressor and are counted as neutral volume of the continuous
bucket, so the day totals always equal the sum of the three buckets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.models import Aggressor, ClassifiedTrade, Trade

PHASE_BUCKETS: tuple[str, ...] = ("ato", "continuous", "atc")
"""The phases volumes are split by; the day is their sum."""

_BUCKET_OF_PHASE = {"ato": "ato", "atc": "atc"}


def bucket_of(phase: str) -> str:
    """The volume bucket of a ``core.phases.Phase`` value (all but ATO/ATC are continuous)."""
    return _BUCKET_OF_PHASE.get(phase, "continuous")


@dataclass(slots=True)
class VolumeBreakdown:
    """Active-buy ("mua chủ động"), active-sell ("bán chủ động") and neutral volume and value."""

    buy_volume: float = 0.0
    sell_volume: float = 0.0
    neutral_volume: float = 0.0
    buy_value: float = 0.0
    sell_value: float = 0.0
    neutral_value: float = 0.0
    trade_count: int = 0

    @property
    def total_volume(self) -> float:
        return self.buy_volume + self.sell_volume + self.neutral_volume

    @property
    def total_value(self) -> float:
        return self.buy_value + self.sell_value + self.neutral_value

    def add(self, aggressor: Aggressor, volume: float, value: float) -> None:
        self.trade_count += 1
        if aggressor is Aggressor.BUY:
            self.buy_volume += volume
            self.buy_value += value
        elif aggressor is Aggressor.SELL:
            self.sell_volume += volume
            self.sell_value += value
        else:
            self.neutral_volume += volume
            self.neutral_value += value

    def merge(self, other: VolumeBreakdown) -> None:
        self.buy_volume += other.buy_volume
        self.sell_volume += other.sell_volume
        self.neutral_volume += other.neutral_volume
        self.buy_value += other.buy_value
        self.sell_value += other.sell_value
        self.neutral_value += other.neutral_value
        self.trade_count += other.trade_count

    def to_dict(self) -> dict[str, float]:
        """The API shape (Vietnamese names kept for the dashboard's users)."""
        return {
            "mua_chu_dong_volume": self.buy_volume,
            "ban_chu_dong_volume": self.sell_volume,
            "neutral_volume": self.neutral_volume,
            "total_volume": self.total_volume,
            "mua_chu_dong_value": self.buy_value,
            "ban_chu_dong_value": self.sell_value,
            "neutral_value": self.neutral_value,
            "total_value": self.total_value,
            "trade_count": self.trade_count,
        }


@dataclass(slots=True)
class TradeVolumeCounter:
    """Derives per-trade volume from a symbol's cumulative TotalVol for one trading day."""

    last_total: float | None = None
    duplicates: int = 0
    last_volume_mismatches: int = 0
    out_of_order: int = 0

    def volume_of(self, trade: Trade) -> float | None:
        """The trade's own volume, or None when it must not be counted."""
        total = trade.total_volume
        if total is None:
            return trade.volume if trade.volume > 0 else None
        previous = self.last_total
        delta = total if previous is None else total - previous
        if previous is not None and delta == 0:
            self.duplicates += 1
            return None
        if delta < 0:
            self.out_of_order += 1
            return None
        self.last_total = total
        if delta != trade.volume:
            self.last_volume_mismatches += 1
        return delta


@dataclass(slots=True)
class SymbolOrderFlow:
    """One symbol's day: the three phase buckets and the volume counter."""

    symbol: str
    buckets: dict[str, VolumeBreakdown] = field(
        default_factory=lambda: {phase: VolumeBreakdown() for phase in PHASE_BUCKETS}
    )
    counter: TradeVolumeCounter = field(default_factory=TradeVolumeCounter)

    def day(self) -> VolumeBreakdown:
        total = VolumeBreakdown()
        for bucket in self.buckets.values():
            total.merge(bucket)
        return total

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"symbol": self.symbol, **self.day().to_dict()}
        for phase, bucket in self.buckets.items():
            result[phase] = bucket.to_dict()
        result["quality"] = {
            "duplicates": self.counter.duplicates,
            "last_volume_mismatches": self.counter.last_volume_mismatches,
            "out_of_order": self.counter.out_of_order,
        }
        return result


class OrderFlowAggregator:
    """Per-symbol active buy/sell/neutral volume by phase for one trading day.

    Feed it classified trades (``add``); ``reset(trading_date)`` starts a new day. ``restore``
    loads persisted buckets and TotalVol marks so a restart mid-day resumes without double
    counting (trades at or below the restored TotalVol are dropped as repeats).
    """

    def __init__(self) -> None:
        self.trading_date: date | None = None
        self._symbols: dict[str, SymbolOrderFlow] = {}

    def reset(self, trading_date: date) -> None:
        self.trading_date = trading_date
        self._symbols.clear()

    def _flow(self, symbol: str) -> SymbolOrderFlow:
        flow = self._symbols.get(symbol)
        if flow is None:
            flow = self._symbols[symbol] = SymbolOrderFlow(symbol)
        return flow

    def accept(self, trade: Trade) -> float | None:
        """Derive the volume of ``trade`` (None: a repeat or out of order, not to be counted).

        Call before classifying, so repeats never reach the classifiers' tick state.
        """
        return self._flow(trade.symbol).counter.volume_of(trade)

    def add(self, classified: ClassifiedTrade, volume: float) -> None:
        """Count ``volume`` of a classified trade into its phase bucket."""
        trade = classified.trade
        flow = self._flow(trade.symbol)
        flow.buckets[bucket_of(classified.phase)].add(
            classified.aggressor, volume, volume * trade.price
        )

    def symbols(self) -> list[str]:
        return sorted(self._symbols)

    def stats(self, symbol: str) -> SymbolOrderFlow | None:
        return self._symbols.get(symbol)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {symbol: flow.to_dict() for symbol, flow in sorted(self._symbols.items())}

    def rows(self) -> Iterable[tuple[str, str, VolumeBreakdown, float | None]]:
        """(symbol, phase, breakdown, last TotalVol) for persisting."""
        for symbol, flow in sorted(self._symbols.items()):
            for phase, bucket in flow.buckets.items():
                yield symbol, phase, bucket, flow.counter.last_total

    def restore(
        self, symbol: str, phase: str, bucket: VolumeBreakdown, last_total: float | None
    ) -> None:
        flow = self._flow(symbol)
        flow.buckets[bucket_of(phase)] = bucket
        if last_total is not None and (flow.counter.last_total or 0) < last_total:
            flow.counter.last_total = last_total


PhaseOf = Callable[[Trade], str]
"""Returns the ``core.phases.Phase`` value a trade belongs to."""
