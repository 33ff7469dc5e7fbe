"""``depth_imbalance``: a trade's aggressor from where it printed and the book's depth."""

from __future__ import annotations

from core.models import Aggressor, Quote, Trade


class DepthImbalanceClassifier:
    """At or beyond the ask: buy; at or below the bid: sell. Strictly inside the spread, the
    side whose best level is at least ``ratio`` times deeper is the passive one (a bid twice
    as deep as the ask means sellers were absorbed: sell); otherwise pass to the next rule."""

    name = "depth_imbalance"
    description = "Ask/bid touch, else the deeper side of the book is the passive one"

    def __init__(self, ratio: float = 2.0) -> None:
        self.ratio = ratio
        self.quote: Quote | None = None

    def reset(self) -> None:
        self.quote = None

    def on_quote(self, quote: Quote) -> None:
        self.quote = quote

    def classify(self, trade: Trade) -> Aggressor | None:
        quote = self.quote
        if quote is None or quote.symbol != trade.symbol:
            return None
        if trade.price >= quote.ask_price:
            return Aggressor.BUY
        if trade.price <= quote.bid_price:
            return Aggressor.SELL
        if quote.bid_size >= self.ratio * quote.ask_size:
            return Aggressor.SELL
        if quote.ask_size >= self.ratio * quote.bid_size:
            return Aggressor.BUY
        return None
