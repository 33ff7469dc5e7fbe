"""The built-in classification rules and the chain, on tapes classified by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.models import Aggressor, Quote, Trade
from plugins.classification import DEFAULT_CHAIN, ClassifierChain
from plugins.classifiers.rules import (
    EmoClassifier,
    LeeReadyClassifier,
    QuoteRuleClassifier,
    TickRuleClassifier,
    VendorSideClassifier,
)

T0 = datetime(2025, 3, 3, 2, 30, tzinfo=UTC)  # 09:30 Asia/Ho_Chi_Minh
BUY, SELL, NEUTRAL = Aggressor.BUY, Aggressor.SELL, Aggressor.NEUTRAL
RULES = {
    cls.name: cls
    for cls in (
        VendorSideClassifier,
        QuoteRuleClassifier,
        TickRuleClassifier,
        LeeReadyClassifier,
        EmoClassifier,
    )
}


def trade(
    second: int, price: float, side: Aggressor | None = None, session: str | None = "LO"
) -> Trade:
    return Trade(
        "ACB", T0 + timedelta(seconds=second), price, 100.0, side=side, trading_session=session
    )


def quote(second: int, bid: float, ask: float) -> Quote:
    return Quote("ACB", T0 + timedelta(seconds=second), bid, 1000.0, ask, 1000.0)


def chain(*names: str) -> ClassifierChain:
    return ClassifierChain([RULES[name]() for name in names])


def test_vendor_side_uses_the_flag_and_passes_without_it() -> None:
    rule = VendorSideClassifier()
    assert rule.classify(trade(0, 22950, BUY)) is BUY
    assert rule.classify(trade(0, 22950, SELL)) is SELL
    assert rule.classify(trade(0, 22950, None)) is None


def test_quote_rule_compares_with_the_quote_in_force_before_the_trade() -> None:
    rule = QuoteRuleClassifier()
    assert rule.classify(trade(0, 22950)) is None  # no quote yet
    rule.on_quote(quote(0, 22900, 22950))
    assert rule.classify(trade(1, 22950)) is BUY
    assert rule.classify(trade(1, 23000)) is BUY
    assert rule.classify(trade(1, 22900)) is SELL
    assert rule.classify(trade(1, 22925)) is None  # strictly inside the spread
    rule.on_quote(quote(2, 0, 22950))  # empty bid level
    assert rule.classify(trade(3, 22800)) is None


def test_tick_rule_uses_up_down_and_zero_ticks() -> None:
    rule = TickRuleClassifier()
    tape = [
        (22900, NEUTRAL),
        (22950, BUY),
        (22950, BUY),
        (22900, SELL),
        (22900, SELL),
        (23000, BUY),
    ]
    for second, (price, expected) in enumerate(tape):
        decided = rule.classify(trade(second, price))
        assert decided is expected, (second, price)
        rule.observe(trade(second, price), decided)


def test_lee_ready_uses_the_midpoint_then_the_tick_rule() -> None:
    rule = LeeReadyClassifier()
    rule.on_quote(quote(0, 100.00, 100.10))
    assert rule.classify(trade(1, 100.07)) is BUY
    assert rule.classify(trade(1, 100.02)) is SELL
    rule.observe(trade(1, 100.02), SELL)
    assert rule.classify(trade(2, 100.05)) is BUY  # at the midpoint: up-tick from 100.02


def test_emo_decides_at_the_quotes_and_ticks_inside() -> None:
    rule = EmoClassifier()
    rule.on_quote(quote(0, 100.00, 100.10))
    assert rule.classify(trade(1, 100.10)) is BUY
    assert rule.classify(trade(1, 100.00)) is SELL
    rule.observe(trade(1, 100.00), SELL)
    assert rule.classify(trade(2, 100.04)) is BUY  # inside: up-tick


def test_default_chain_is_vendor_then_quote_then_tick() -> None:
    assert DEFAULT_CHAIN == ("vendor_side", "quote_rule", "tick_rule")
    c = chain(*DEFAULT_CHAIN)
    c.on_quote(quote(0, 22900, 22950))
    first = c.classify(trade(1, 22900, SELL), "continuous")
    assert (first.aggressor, first.classifier) == (SELL, "vendor_side")
    by_quote = c.classify(trade(2, 22950, None), "continuous")
    assert (by_quote.aggressor, by_quote.classifier) == (BUY, "quote_rule")
    c.on_quote(quote(3, 22900, 23000))
    inside = c.classify(trade(4, 22925, None), "continuous")  # down-tick from 22950
    assert (inside.aggressor, inside.classifier) == (SELL, "tick_rule")


@pytest.mark.parametrize(
    ("phase", "session"),
    [("ato", "ATO"), ("atc", "ATC"), ("put_through", "PT"), ("continuous", "ATC"), ("ato", None)],
)
def test_auction_and_put_through_trades_are_neutral_whatever_the_rule(
    phase: str, session: str | None
) -> None:
    c = chain(*DEFAULT_CHAIN)
    c.on_quote(quote(0, 22900, 22950))
    result = c.classify(trade(1, 23000, BUY, session=session), phase)
    assert (result.aggressor, result.classifier, result.phase) == (NEUTRAL, "auction", phase)


def test_a_chain_that_cannot_decide_says_neutral_undecided() -> None:
    c = chain("vendor_side", "quote_rule")
    result = c.classify(trade(1, 22925), "continuous")
    assert (result.aggressor, result.classifier) == (NEUTRAL, "undecided")


def test_reset_forgets_quotes_and_previous_trades() -> None:
    c = chain("quote_rule", "tick_rule")
    c.on_quote(quote(0, 22900, 22950))
    c.classify(trade(1, 22950), "continuous")
    c.reset()
    result = c.classify(trade(2, 22950), "continuous")
    assert (result.aggressor, result.classifier) == (NEUTRAL, "tick_rule")


prices = st.lists(
    st.integers(min_value=1, max_value=50).map(lambda p: p * 50.0), min_size=1, max_size=60
)


@given(prices)
def test_tick_rule_agrees_with_an_independent_pass_over_the_tape(tape: list[float]) -> None:
    rule = TickRuleClassifier()
    previous_price: float | None = None
    previous_side = NEUTRAL
    for second, price in enumerate(tape):
        if previous_price is None:
            expected = NEUTRAL
        elif price != previous_price:
            expected = BUY if price > previous_price else SELL
        else:
            expected = previous_side
        got = rule.classify(trade(second, price))
        assert got is expected
        rule.observe(trade(second, price), got)
        previous_price = price
        previous_side = expected if expected is not NEUTRAL else previous_side


def test_scoring_against_the_vendor_flag_on_a_tape_where_the_truth_is_known() -> None:
    from plugins.classification import score_classifiers

    tape = [
        quote(0, 100, 110),
        trade(1, 110, BUY),  # quote rule right, tick rule neutral (first trade) -> wrong
        trade(2, 100, SELL),  # quote rule right, tick rule right (down)
        trade(3, 105, BUY),  # inside: quote rule undecided; tick rule up -> right
        trade(4, 105, SELL),  # inside: quote undecided; tick zero-tick -> previous (BUY) -> wrong
        trade(5, 110, BUY, session="ATC"),  # auction: not scored
    ]
    scores = {
        s.name: s
        for s in score_classifiers(
            tape,
            {"quote_rule": QuoteRuleClassifier, "tick_rule": TickRuleClassifier},
            lambda t: "atc" if t.trading_session == "ATC" else "continuous",
        )
    }
    quote_score, tick_score = scores["quote_rule"].overall, scores["tick_rule"].overall
    assert (quote_score.trades, quote_score.agree, quote_score.undecided) == (4, 2, 2)
    assert (tick_score.trades, tick_score.agree) == (4, 2)
    assert tick_score.accuracy == 0.5
    assert quote_score.accuracy == 1.0  # both of its decisions right; two trades passed on
    assert "atc" not in scores["tick_rule"].by_phase


def test_a_rule_that_never_decides_has_no_accuracy() -> None:
    from plugins.classification import Score

    assert Score(trades=5, agree=0, undecided=5).accuracy is None
    assert Score().accuracy is None
    assert Score(trades=5, agree=0, undecided=4).accuracy == 0.0
