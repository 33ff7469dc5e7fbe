"""docs/strategies.md: every Python example runs, in order, in one module; the example strategy
and the custom fill model then trade through the engine."""

from __future__ import annotations

import re
import sys
import types
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from core.orders import OrderRequest
from tests.daemon.trading.harness import Scripted, flat, make_engine, run_day, submit

DOC = Path(__file__).resolve().parents[3] / "docs" / "strategies.md"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


@pytest.fixture
def guide(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    blocks = [body for lang, body in _BLOCK.findall(DOC.read_text()) if lang == "python"]
    assert len(blocks) >= 4
    module = types.ModuleType("sessiond_strategy_guide")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"{DOC.name} python block {number}", "exec"), module.__dict__)
    return module


def test_the_guides_strategy_buys_the_dip_and_takes_profit(guide: types.ModuleType) -> None:
    engine = make_engine(guide.BuyTheDip(quantity=10))
    engine.start()
    prices = [100.0, 99.5, 98.9, 98.5, 99.0, 99.5, 100.0]
    run_day(engine, date(2024, 3, 4), [flat("X", m, p) for m, p in enumerate(prices)])
    engine.stop()
    assert [(m.order.side.value, m.status.value, m.average_price) for m in engine.book] == [
        ("buy", "filled", Decimal("98.5")),  # sent at 98.9 (< 99), filled at the next open
        ("sell", "filled", Decimal("99.5")),  # limit 99.49 (1 % over), gapped through at the open
    ]


def test_the_guides_custom_fill_model_fills_market_orders_at_the_close(guide) -> None:
    strategy = Scripted().at("X", 0, submit(OrderRequest.market("X", "buy", 1)))
    engine = make_engine(strategy, broker=guide.CloseBroker("XNYS"))
    engine.start()
    from tests.daemon.trading.harness import bar

    run_day(
        engine, date(2024, 3, 4), [bar("X", 0, 10, 11, 9, 10.5), bar("X", 1, 10.6, 11, 10, 10.9)]
    )
    engine.stop()
    assert strategy.fills() == [(1, Decimal("10.9"))]
