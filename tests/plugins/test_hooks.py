"""One test per hook (``test_hook_<name>``), and a test that keeps it that way (datasette style)."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
from decimal import Decimal
from pathlib import Path

import pytest

from core import calendars
from core.calendars import XSTCExchangeCalendar
from core.errors import PluginError, StartupError
from core.models import Aggressor, Bar
from core.orders import OrderRequest
from plugins import hookimpl, hookspecs
from plugins.brokers.simulated import SimulatedBroker
from plugins.manager import load_plugins

THIS_FILE = Path(__file__)


def _hook_names() -> list[str]:
    return [
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, "sessiond_spec")
    ]


def test_every_hook_has_a_test_and_a_docstring() -> None:
    names = _hook_names()
    assert len(names) == 10
    tree = ast.parse(THIS_FILE.read_text())
    tests = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    missing_tests = [name for name in names if f"test_hook_{name}" not in tests]
    assert missing_tests == [], f"hooks without a test_hook_<name> test: {missing_tests}"
    for name in names:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        summary = doc.splitlines()[0] if doc else ""
        assert summary.endswith("."), f"hook {name} needs a one-line summary docstring"
        assert "Called by:" in doc, f"hook {name}'s docstring must say who calls it"


# --------------------------------------------------------------------------------------------
# Registration hooks
# --------------------------------------------------------------------------------------------


class TinySource:
    name = "tiny"
    description = "One bar"

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange

    def request_bars(self, symbols, start, end, interval):
        yield Bar(symbols[0], interval, start, 1.0, 1.0, 1.0, 1.0, 0.0, source=self.name)


class AlwaysSell:
    name = "always_sell"
    description = "Every trade is a sell"

    def classify(self, trade):
        return Aggressor.SELL


class Constant:
    name = "constant"
    description = "Always the same value"
    kind = "streaming"

    def __init__(self, name: str, value: float = 1.5) -> None:
        self.value = value

    def update(self, bar):
        return self.value


class BuyOnce:
    name = "buy_once"
    description = "Buys one lot on the first bar"

    def __init__(self, quantity: int = 1) -> None:
        self.quantity = quantity
        self.intervals = ("1m",)

    def on_start(self, ctx):
        self.ctx = ctx

    def on_bar(self, bar):
        if not self.ctx.open_orders() and not self.ctx.portfolio.quantity(bar.symbol):
            self.ctx.submit(OrderRequest.market(bar.symbol, "buy", self.quantity))


class NullBroker(SimulatedBroker):
    name = "null_broker"
    description = "Accepts and never fills"

    def on_bar(self, bar):
        return


class FlatFee:
    name = "flat_fee"
    description = "One unit per fill"

    def __init__(self, currency: str, amount: int = 1) -> None:
        self.amount = Decimal(amount)

    def fees(self, fill):
        return self.amount, Decimal(0)


class Plugin:
    """A plugin object (not a module) implementing every hook, recording the notifications."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    @hookimpl
    def register_data_sources(self):
        return [TinySource]

    @hookimpl
    def register_trade_classifiers(self):
        return [AlwaysSell]

    @hookimpl
    def register_indicators(self):
        return [Constant]

    @hookimpl
    def register_calendars(self):
        return [("XTEST", _TestCalendar, ("TEST_BOARD",))]

    @hookimpl
    def register_strategies(self):
        return [BuyOnce]

    @hookimpl
    def register_brokers(self):
        return [NullBroker]

    @hookimpl
    def register_fee_models(self):
        return [FlatFee]

    @hookimpl
    def session_started(self, session_name, exchange, trading_date, mode):
        self.calls.append(("session_started", locals_without_self(locals())))

    @hookimpl
    def phase_changed(self, exchange, trading_date, phase, previous):
        self.calls.append(("phase_changed", locals_without_self(locals())))

    @hookimpl
    def session_ended(self, session_name, exchange, trading_date, summary):
        self.calls.append(("session_ended", locals_without_self(locals())))


class _TestCalendar(XSTCExchangeCalendar):
    name = "XTEST"


def locals_without_self(values: dict) -> dict:
    return {k: v for k, v in values.items() if k != "self"}


@pytest.fixture
def plugin_and_host():
    plugin = Plugin()
    return plugin, load_plugins(entry_points=False, extra=[plugin])


def test_hook_register_data_sources(plugin_and_host) -> None:
    _, host = plugin_and_host
    assert host.data_sources["tiny"] is TinySource
    source = host.create_source("tiny", exchange="XNYS")
    start = dt.datetime(2024, 3, 4, 14, 30, tzinfo=dt.UTC)
    bars = list(source.request_bars(["X"], start, start, "1m"))
    assert bars[0].source == "tiny" and source.exchange == "XNYS"


def test_hook_register_trade_classifiers(plugin_and_host) -> None:
    _, host = plugin_and_host
    classifier = host.create_classifier("always_sell")
    assert isinstance(classifier, AlwaysSell)
    assert classifier.classify(None) is Aggressor.SELL
    assert {"tiny"} <= set(host.data_sources) and "tick_rule" in host.classifiers


def test_hook_register_indicators(plugin_and_host) -> None:
    _, host = plugin_and_host
    indicator = host.create_indicator("constant", name="my_constant", value=2.5)
    assert indicator.update(None) == 2.5
    info = next(i for i in host.describe() if i.indicators == ("constant",))
    assert info.distribution is None and info.builtin is False


def test_hook_register_calendars(plugin_and_host) -> None:
    _, host = plugin_and_host
    assert host.calendars == {"XTEST": (_TestCalendar, ("TEST_BOARD",))}
    assert calendars.resolve_calendar_name("TEST_BOARD") == "XTEST"
    day = dt.date(2024, 3, 5)
    assert calendars.session_minutes("TEST_BOARD", day) == calendars.session_minutes("XSTC", day)
    info = next(i for i in host.describe() if i.calendars)
    assert info.calendars == ("XTEST",)


def test_hook_register_strategies(plugin_and_host) -> None:
    _, host = plugin_and_host
    strategy = host.create_strategy("buy_once", quantity=3)
    assert isinstance(strategy, BuyOnce) and strategy.quantity == 3
    assert {"sma_crossover", "vn_order_flow", "buy_once"} <= set(host.strategies)
    with pytest.raises(PluginError, match="did you mean 'quantity'"):
        host.create_strategy("buy_once", quantiy=3)
    info = next(i for i in host.describe() if i.strategies == ("buy_once",))
    assert info.builtin is False
    assert host.config_names()["strategies"]["buy_once"] == ("quantity",)


def test_hook_register_brokers(plugin_and_host) -> None:
    _, host = plugin_and_host
    broker = host.create_broker("null_broker", exchange="XNYS", slippage_ticks=1)
    assert isinstance(broker, NullBroker) and broker.model.slippage_ticks == 1
    assert {"simulated", "alpaca_paper", "null_broker"} == set(host.brokers)
    assert "null_broker" in host.config_names()["brokers"]


def test_hook_register_fee_models(plugin_and_host) -> None:
    _, host = plugin_and_host
    model = host.create_fee_model("flat_fee", currency="USD", amount=2)
    assert model.fees(None) == (Decimal(2), Decimal(0))
    assert {"vn_default", "us_default", "zero", "flat_fee"} == set(host.fee_models)


def test_registered_strategy_broker_and_fee_model_trade_through_the_engine(plugin_and_host) -> None:
    from daemon.clock import SimulatedClock
    from daemon.trading.engine import TradingEngine
    from daemon.trading.rules import MarketRules

    _, host = plugin_and_host
    start = dt.datetime(2024, 3, 4, 14, 30, tzinfo=dt.UTC)
    engine = TradingEngine(
        strategy=host.create_strategy("buy_once", quantity=2),
        broker=host.create_broker("simulated", exchange="XNYS"),
        fee_model=host.create_fee_model("flat_fee", currency="USD", amount=1),
        rules=MarketRules.for_exchange("XNYS"),
        clock=SimulatedClock(start),
        session_name="hooks",
        symbols=["X"],
        streams=["1m"],
        starting_cash=Decimal(1000),
    )
    engine.start()
    engine.on_day_start(dt.date(2024, 3, 4))
    for minute, price in enumerate((10.0, 11.0, 12.0)):
        ts = start + dt.timedelta(minutes=minute)
        engine.on_bar(Bar("X", "1m", ts, price, price, price, price, 100.0))
    engine.on_day_end(dt.date(2024, 3, 4))
    engine.stop()
    # bought 2 at the second bar's open (11), one unit of fee; marked at 12
    assert engine.portfolio.cash == Decimal("1000") - Decimal("22") - Decimal(1)
    assert engine.portfolio.equity == Decimal("1001.00")


def test_hook_session_started(plugin_and_host) -> None:
    plugin, host = plugin_and_host
    host.hook.session_started(
        session_name="vn30", exchange="XSTC", trading_date=dt.date(2024, 3, 5), mode="backtest"
    )
    assert plugin.calls == [
        (
            "session_started",
            {
                "session_name": "vn30",
                "exchange": "XSTC",
                "trading_date": dt.date(2024, 3, 5),
                "mode": "backtest",
            },
        )
    ]


def test_hook_phase_changed(plugin_and_host) -> None:
    plugin, host = plugin_and_host
    host.hook.phase_changed(
        exchange="XSTC", trading_date=dt.date(2024, 3, 5), phase="continuous", previous="ato"
    )
    assert plugin.calls == [
        (
            "phase_changed",
            {
                "exchange": "XSTC",
                "trading_date": dt.date(2024, 3, 5),
                "phase": "continuous",
                "previous": "ato",
            },
        )
    ]


def test_hook_session_ended(plugin_and_host) -> None:
    plugin, host = plugin_and_host
    summary = {"bars": 255, "quality_pct": 100.0}
    host.hook.session_ended(
        session_name="vn30", exchange="XSTC", trading_date=dt.date(2024, 3, 5), summary=summary
    )
    assert plugin.calls == [
        (
            "session_ended",
            {
                "session_name": "vn30",
                "exchange": "XSTC",
                "trading_date": dt.date(2024, 3, 5),
                "summary": summary,
            },
        )
    ]


class CalendarOnly:
    @hookimpl
    def register_calendars(self):
        return [("XTEST", _TestCalendar, ())]


def test_duplicate_calendar_names_fail_at_start_naming_both_plugins() -> None:
    with pytest.raises(StartupError) as error:
        load_plugins(entry_points=False, extra=[CalendarOnly(), CalendarOnly()])
    name = f"{__name__}.CalendarOnly"
    assert str(error.value) == f"duplicate calendar 'XTEST' (from packages {name}, {name}#2)"
