"""Classifier scoring on a recorded day: every registered rule against the vendor's flag.

``sessiond classify-eval RECORDED_DAY`` reads the trades and quotes a live session recorded
on one exchange-local day, in arrival order (``plugins.recording.recorded_day``), drops
repeated trade messages (unchanged cumulative ``TotalVol``, as the order-flow aggregation
does), and scores each registered classifier except ``vendor_side`` (the truth) with
``plugins.classification.score_classifiers``: each rule alone sees every quote and
classifies every trade with the vendor flag hidden; trades the vendor flagged buy or sell
outside the call auctions and put-through count, per phase and overall.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.models import Quote, Trade
from daemon.aggregation.order_flow import TradeVolumeCounter
from daemon.market_state import trade_phase
from plugins.classification import ClassifierScore, score_classifiers
from plugins.recording import recorded_day

TRUTH = "vendor_side"


@dataclass(slots=True)
class ClassifierEvaluation:
    """Scores of the rules on one recorded day."""

    trading_date: date
    exchange: str
    source: str | None
    trades: int = 0
    quotes: int = 0
    repeats_dropped: int = 0
    scores: list[ClassifierScore] = field(default_factory=list)

    @property
    def phases(self) -> list[str]:
        return sorted({phase for score in self.scores for phase in score.by_phase})

    @property
    def scored_trades(self) -> int:
        return self.scores[0].overall.trades if self.scores else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "trading_date": self.trading_date.isoformat(),
            "exchange": self.exchange,
            "source": self.source,
            "truth": TRUTH,
            "trades": self.trades,
            "quotes": self.quotes,
            "repeats_dropped": self.repeats_dropped,
            "scored_trades": self.scored_trades,
            "classifiers": [score.to_dict() for score in self.scores],
        }


def evaluate_classifiers(
    store: Any,
    host: Any,
    exchange: str,
    day: date,
    *,
    symbols: Sequence[str] | None = None,
    source: str | None = None,
) -> ClassifierEvaluation:
    """Score every classifier ``host`` registers (but the truth) on the recorded ``day``."""
    events = recorded_day(
        store, exchange, day, symbols, index_ids=(), source=source, kinds=(Trade, Quote)
    )
    result = ClassifierEvaluation(day, exchange, source)
    counters: dict[str, TradeVolumeCounter] = {}
    tape: list[Trade | Quote] = []
    for event in events:
        if type(event) is Trade:
            result.trades += 1
            counter = counters.get(event.symbol)
            if counter is None:
                counter = counters[event.symbol] = TradeVolumeCounter()
            if counter.volume_of(event) is None:
                result.repeats_dropped += 1
                continue
        else:
            result.quotes += 1
        tape.append(event)
    rules: dict[str, Callable[[], Any]] = {
        name: functools.partial(host.create_classifier, name)
        for name in sorted(host.classifiers)
        if name != TRUTH
    }
    result.scores = score_classifiers(tape, rules, lambda t: trade_phase(exchange, t))
    return result


__all__ = ["TRUTH", "ClassifierEvaluation", "evaluate_classifiers"]
