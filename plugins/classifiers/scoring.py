"""Score trade classifiers against the vendor's aggressor flag on a recorded day.

For each rule the tape is replayed in arrival order: every quote reaches the rule, every trade
is classified by the rule *alone* (no chain, no vendor flag: ``side`` is hidden from it) and
compared with the vendor flag. Only trades the vendor flagged (buy or sell) outside the call
auctions and put-through count: those are the ones with a known truth. A rule that passes
(``None``) counts as undecided, which is also a miss.

``vendor_side`` itself is not scored (it is the truth).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.models import Aggressor, Quote, Trade
from plugins.classifiers.chain import NO_AGGRESSOR_CODES, NO_AGGRESSOR_PHASES


@dataclass(slots=True)
class Score:
    """Agreement of one rule with the vendor flag."""

    trades: int = 0
    agree: int = 0
    undecided: int = 0

    @property
    def accuracy(self) -> float | None:
        return None if self.trades == 0 else self.agree / self.trades

    def to_dict(self) -> dict[str, Any]:
        return {
            "trades": self.trades,
            "agree": self.agree,
            "undecided": self.undecided,
            "accuracy": self.accuracy,
        }


@dataclass(slots=True)
class ClassifierScore:
    """One rule's score overall and per phase."""

    name: str
    overall: Score = field(default_factory=Score)
    by_phase: dict[str, Score] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "classifier": self.name,
            "overall": self.overall.to_dict(),
            "by_phase": {phase: s.to_dict() for phase, s in sorted(self.by_phase.items())},
        }


def score_classifiers(
    tape: Iterable[Trade | Quote],
    rules: dict[str, Callable[[], Any]],
    phase_of: Callable[[Trade], str],
) -> list[ClassifierScore]:
    """Score each rule (name -> factory) on ``tape`` (trades and quotes in arrival order)."""
    events: Sequence[Trade | Quote] = list(tape)
    results = []
    for name, factory in rules.items():
        per_symbol: dict[str, Any] = {}
        score = ClassifierScore(name)
        for event in events:
            rule = per_symbol.get(event.symbol)
            if rule is None:
                rule = per_symbol[event.symbol] = factory()
            if isinstance(event, Quote):
                on_quote = getattr(rule, "on_quote", None)
                if on_quote is not None:
                    on_quote(event)
                continue
            truth = event.side
            phase = phase_of(event)
            auction = phase in NO_AGGRESSOR_PHASES or event.trading_session in NO_AGGRESSOR_CODES
            decided = rule.classify(replace(event, side=None))
            observe = getattr(rule, "observe", None)
            if observe is not None:
                observe(event, decided if decided is not None else Aggressor.NEUTRAL)
            if auction or truth not in (Aggressor.BUY, Aggressor.SELL):
                continue
            for bucket in (score.overall, score.by_phase.setdefault(phase, Score())):
                bucket.trades += 1
                bucket.agree += decided is truth
                bucket.undecided += decided is None
        results.append(score)
    return results
