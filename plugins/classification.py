"""Classifying trades with a chain of rules, and scoring rules against the vendor flag.

Part of the plugin SDK (the engine and plugin authors use it); the rules themselves are
plugins (``plugins.classifiers`` holds the built-in ones).

**The chain** classifies one symbol's trades for one trading day.

The chain first makes call-auction (ATO/ATC) and put-through trades neutral, whatever any rule
would say (they have no aggressor); otherwise it asks each rule in order and keeps the first
decision. If no rule decides, the trade is neutral. Every rule then observes the final
decision (tick tests need the previous trade's price and classification), and every quote
reaches every rule that listens for quotes.

The chain a session uses comes from its config (``session_data_config.classifiers``), else the
data source's ``default_classifiers``, else :data:`DEFAULT_CHAIN`.

**Scoring.** Score trade classifiers against the vendor's aggressor flag on a recorded day.

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

from core.models import Aggressor, ClassifiedTrade, Quote, Trade

DEFAULT_CHAIN: tuple[str, ...] = ("vendor_side", "quote_rule", "tick_rule")
"""The default chain (the one for SSI): vendor flag, then quote rule, then tick rule."""

NO_AGGRESSOR_CODES = frozenset({"ATO", "ATC", "PT"})
"""Normalised ``TradingSession`` codes whose matches have no aggressor."""

NO_AGGRESSOR_PHASES = frozenset({"ato", "atc", "put_through"})
"""``core.phases.Phase`` values whose matches have no aggressor."""

AUCTION_RULE = "auction"
UNDECIDED_RULE = "undecided"


class ClassifierChain:
    """Classifies one symbol's trades for one day with an ordered list of rules."""

    __slots__ = ("_rules", "_names", "_quote_listeners", "_observers")

    def __init__(self, rules: Sequence[Any]) -> None:
        if not rules:
            raise ValueError("a classifier chain needs at least one rule")
        self._rules = tuple(rules)
        self._names = tuple(str(rule.name) for rule in self._rules)
        self._quote_listeners = tuple(r.on_quote for r in self._rules if hasattr(r, "on_quote"))
        self._observers = tuple(r.observe for r in self._rules if hasattr(r, "observe"))

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def on_quote(self, quote: Quote) -> None:
        """Make ``quote`` the quote in force for the trades that follow it."""
        for listener in self._quote_listeners:
            listener(quote)

    def classify(self, trade: Trade, phase: str) -> ClassifiedTrade:
        """Classify ``trade``, which happened in ``phase`` (a ``core.phases.Phase`` value)."""
        if phase in NO_AGGRESSOR_PHASES or trade.trading_session in NO_AGGRESSOR_CODES:
            aggressor, rule_name = Aggressor.NEUTRAL, AUCTION_RULE
        else:
            aggressor, rule_name = Aggressor.NEUTRAL, UNDECIDED_RULE
            for rule, name in zip(self._rules, self._names, strict=True):
                decided = rule.classify(trade)
                if decided is not None:
                    aggressor, rule_name = decided, name
                    break
        for observe in self._observers:
            observe(trade, aggressor)
        return ClassifiedTrade(trade=trade, aggressor=aggressor, phase=phase, classifier=rule_name)

    def reset(self) -> None:
        """Forget quotes and previous trades (start of a trading day)."""
        for rule in self._rules:
            reset = getattr(rule, "reset", None)
            if reset is not None:
                reset()


def build_chain(names: Sequence[str], create: Callable[[str], Any]) -> ClassifierChain:
    """Build a chain from rule names with ``create(name)`` (e.g. ``PluginHost.create_classifier``)."""
    return ClassifierChain([create(name) for name in names])


@dataclass(slots=True)
class Score:
    """Agreement of one rule with the vendor flag."""

    trades: int = 0
    agree: int = 0
    undecided: int = 0

    @property
    def decided(self) -> int:
        """Trades the rule decided (the others it passed to the next rule)."""
        return self.trades - self.undecided

    @property
    def accuracy(self) -> float | None:
        """Share of its decisions that agree with the vendor flag; None when it decided none
        (a rule that always passes has no accuracy, not 0 %)."""
        return None if self.decided == 0 else self.agree / self.decided

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
