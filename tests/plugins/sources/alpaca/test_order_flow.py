"""US order flow: Alpaca trades carry no aggressor, so Lee-Ready (fed by Alpaca quotes)
decides it, and the same order-flow aggregation as Vietnam sums active buy/sell volume."""

from __future__ import annotations

import heapq
from datetime import UTC, date, datetime, time

import pytest

from core.models import Quote, Trade
from core.phases import phase_at
from daemon.aggregation.order_flow import OrderFlowAggregator
from plugins.classification import build_chain
from plugins.manager import load_plugins
from tests.fakes.alpaca_server import FakeAlpacaData, rfc3339
from tests.plugins.sources.alpaca.conftest import ET

DAY = date(2024, 1, 2)


def at(hh: int, mm: int, ss: int) -> str:
    return rfc3339(datetime.combine(DAY, time(hh, mm, ss), ET).astimezone(UTC))


def trade(ts: str, price: float, size: int, ident: int, conditions=("@",)) -> dict:
    return {"t": ts, "x": "V", "p": price, "s": size, "c": list(conditions), "i": ident, "z": "C"}


def quote(ts: str, bid: float, ask: float) -> dict:
    return {
        "t": ts,
        "bx": "V",
        "bp": bid,
        "bs": 1,
        "ax": "V",
        "ap": ask,
        "as": 1,
        "c": ["R"],
        "z": "C",
    }


TRADES = [
    trade(at(8, 0, 0), 99.0, 1000, 1),  # pre-market: not part of a regular-hours session
    trade(at(9, 30, 0), 100.00, 500, 2, ("O",)),  # opening cross: neutral
    trade(at(9, 30, 2), 100.10, 100, 3),  # above mid 100.05: buy
    trade(at(9, 30, 3), 100.00, 200, 4),  # below mid: sell
    trade(at(9, 30, 4), 100.05, 50, 5),  # at mid, up-tick from 100.00: buy
    trade(at(9, 30, 5), 100.30, 300, 6),  # new quote mid 100.25 (same second, quote first): buy
    trade(at(9, 30, 6), 100.25, 40, 7),  # at mid, down-tick: sell
    trade(at(9, 30, 7), 100.25, 10, 8),  # at mid, zero tick: repeats sell
]
QUOTES = [quote(at(9, 30, 1), 100.00, 100.10), quote(at(9, 30, 5), 100.20, 100.30)]


def test_lee_ready_on_an_alpaca_tape_gives_the_hand_computed_active_volumes(alpaca_env):
    start, end = datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)
    with FakeAlpacaData(trades={"AAPL": TRADES}, quotes={"AAPL": QUOTES}, page_cap=3) as fake:
        host = load_plugins(entry_points=False)
        source = host.create_source("alpaca", exchange="XNYS", data_url=fake.url)
        trades = list(source.request_trades(["AAPL"], start, end))
        quotes = list(source.request_quotes(["AAPL"], start, end))
    assert len(trades) == 7  # the pre-market print is outside the session

    chain = build_chain(type(source).default_classifiers, host.create_classifier)
    flow = OrderFlowAggregator()
    flow.reset(DAY)
    # quotes before trades at the same instant: the quote is in force for that trade
    tape = heapq.merge(((q.ts_event, 0, q) for q in quotes), ((t.ts_event, 1, t) for t in trades))
    decided = []
    for _, _, event in tape:
        if isinstance(event, Quote):
            chain.on_quote(event)
            continue
        assert isinstance(event, Trade)
        volume = flow.accept(event)
        assert volume is not None
        classified = chain.classify(event, phase_at("XNYS", event.ts_event).value)
        flow.add(classified, volume)
        decided.append((event.trade_id, classified.aggressor.value, classified.classifier))

    assert decided == [
        ("2", "neutral", "auction"),
        ("3", "buy", "lee_ready"),
        ("4", "sell", "lee_ready"),
        ("5", "buy", "lee_ready"),
        ("6", "buy", "lee_ready"),
        ("7", "sell", "lee_ready"),
        ("8", "sell", "lee_ready"),
    ]
    stats = flow.stats("AAPL")
    assert stats is not None
    day = stats.day()
    assert (day.buy_volume, day.sell_volume, day.neutral_volume) == (450.0, 250.0, 500.0)
    assert day.buy_value == pytest.approx(100 * 100.10 + 50 * 100.05 + 300 * 100.30)
    assert day.sell_value == pytest.approx(200 * 100.00 + 40 * 100.25 + 10 * 100.25)
    assert stats.buckets["continuous"].total_volume == 1200.0
