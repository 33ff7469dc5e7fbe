"""The built-in trade classification rules.

Each rule decides the aggressor of a trade or passes (``None``) to the next rule of a
:class:`plugins.classification.ClassifierChain`. One instance serves one symbol for one
trading day. Rules see every quote through ``on_quote`` (the quote *in force before* the
trade: the last one received, never one of the same second that arrived later) and every
trade's final classification through ``observe``, whichever rule decided it.

Rules (``vietnam_market.md`` §6; Lee & Ready 1991; Ellis, Michaely & O'Hara 2000):

- ``vendor_side``: the vendor's aggressor flag (SSI ``BU`` → buy, ``SD`` → sell).
- ``quote_rule``: price >= best ask → buy; price <= best bid → sell; inside → pass.
- ``tick_rule``: up-tick → buy; down-tick → sell; zero tick → previous classification;
  neutral when there is none. Always decides, so it ends a chain.
- ``lee_ready``: above the quote midpoint → buy; below → sell; at the midpoint (or no usable
  quote) → tick rule.
- ``emo``: at the ask → buy; at the bid → sell; otherwise → tick rule.

A quote level of 0 (or below) is empty and counts as missing.
"""

from __future__ import annotations

from typing import ClassVar

from core.models import Aggressor, Quote, Trade


class VendorSideClassifier:
    """Use the vendor's aggressor flag when it sent one."""

    name: ClassVar[str] = "vendor_side"
    description: ClassVar[str] = (
        "Vendor aggressor flag (SSI Side BU = active buy, SD = active sell)"
    )

    def classify(self, trade: Trade) -> Aggressor | None:
        side = trade.side
        if side is Aggressor.BUY or side is Aggressor.SELL:
            return side
        return None


class _QuoteState:
    """The best bid and ask in force, with 0 meaning an empty level."""

    __slots__ = ("bid", "ask")

    def __init__(self) -> None:
        self.bid = 0.0
        self.ask = 0.0

    def on_quote(self, quote: Quote) -> None:
        self.bid = quote.bid_price if quote.bid_price > 0 else 0.0
        self.ask = quote.ask_price if quote.ask_price > 0 else 0.0

    def reset(self) -> None:
        self.bid = 0.0
        self.ask = 0.0


class QuoteRuleClassifier(_QuoteState):
    """Compare the trade price with the quote in force before it."""

    name: ClassVar[str] = "quote_rule"
    description: ClassVar[str] = "Quote rule: at or above the ask buys, at or below the bid sells"

    def classify(self, trade: Trade) -> Aggressor | None:
        if self.ask > 0 and trade.price >= self.ask:
            return Aggressor.BUY
        if self.bid > 0 and trade.price <= self.bid:
            return Aggressor.SELL
        return None


class TickRuleClassifier:
    """Compare the trade price with the previous trade price of the day."""

    name: ClassVar[str] = "tick_rule"
    description: ClassVar[str] = "Tick rule: up-tick buys, down-tick sells, zero tick repeats"

    def __init__(self) -> None:
        self._tick = _TickState()

    def classify(self, trade: Trade) -> Aggressor:
        return self._tick.decide(trade.price)

    def observe(self, trade: Trade, aggressor: Aggressor) -> None:
        self._tick.observe(trade.price, aggressor)

    def reset(self) -> None:
        self._tick = _TickState()


class _TickState:
    """Previous price and previous classification, for tick tests inside other rules."""

    __slots__ = ("last_price", "last_aggressor")

    def __init__(self) -> None:
        self.last_price: float | None = None
        self.last_aggressor = Aggressor.NEUTRAL

    def decide(self, price: float) -> Aggressor:
        if self.last_price is None:
            return Aggressor.NEUTRAL
        if price > self.last_price:
            return Aggressor.BUY
        if price < self.last_price:
            return Aggressor.SELL
        return self.last_aggressor

    def observe(self, price: float, aggressor: Aggressor) -> None:
        self.last_price = price
        if aggressor is not Aggressor.NEUTRAL:
            self.last_aggressor = aggressor


class _QuoteThenTick(_QuoteState):
    """A quote test that falls back to the tick rule (Lee-Ready, EMO)."""

    def __init__(self) -> None:
        super().__init__()
        self._tick = _TickState()

    def observe(self, trade: Trade, aggressor: Aggressor) -> None:
        self._tick.observe(trade.price, aggressor)

    def reset(self) -> None:
        super().reset()
        self._tick = _TickState()


class LeeReadyClassifier(_QuoteThenTick):
    """Lee-Ready: midpoint test on the prevailing quote, tick rule at the midpoint."""

    name: ClassVar[str] = "lee_ready"
    description: ClassVar[str] = (
        "Lee-Ready: above the quote midpoint buys, below sells, else tick rule"
    )

    def classify(self, trade: Trade) -> Aggressor:
        if self.bid > 0 and self.ask > 0 and self.ask >= self.bid:
            mid = (self.bid + self.ask) / 2.0
            if trade.price > mid:
                return Aggressor.BUY
            if trade.price < mid:
                return Aggressor.SELL
        return self._tick.decide(trade.price)


class EmoClassifier(_QuoteThenTick):
    """Ellis-Michaely-O'Hara: at the ask buys, at the bid sells, otherwise tick rule."""

    name: ClassVar[str] = "emo"
    description: ClassVar[str] = "EMO: trades at the ask buy, at the bid sell, others by tick rule"

    def classify(self, trade: Trade) -> Aggressor:
        if self.ask > 0 and trade.price == self.ask:
            return Aggressor.BUY
        if self.bid > 0 and trade.price == self.bid:
            return Aggressor.SELL
        return self._tick.decide(trade.price)


BUILTIN_CLASSIFIERS: tuple[type, ...] = (
    VendorSideClassifier,
    QuoteRuleClassifier,
    TickRuleClassifier,
    LeeReadyClassifier,
    EmoClassifier,
)
