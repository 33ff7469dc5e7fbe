"""A chain of classification rules for one symbol and one trading day.

The chain first makes call-auction (ATO/ATC) and put-through trades neutral, whatever any rule
would say (they have no aggressor); otherwise it asks each rule in order and keeps the first
decision. If no rule decides, the trade is neutral. Every rule then observes the final
decision (tick tests need the previous trade's price and classification), and every quote
reaches every rule that listens for quotes.

The chain a session uses comes from its config (``session_data_config.classifiers``), else the
data source's ``default_classifiers``, else :data:`DEFAULT_CHAIN`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
