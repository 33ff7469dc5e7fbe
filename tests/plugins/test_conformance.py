"""The conformance kit (plugins.testing) against every built-in and the third-party example,
and against broken plugins it must reject with a clear message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.models import Aggressor, Bar
from core.orders import OrderRequest
from plugins.manager import load_plugins
from plugins.testing import (
    check_data_source,
    check_indicator,
    check_plugin,
    check_trade_classifier,
    default_window,
)

UTC = dt.UTC
HOST = load_plugins(entry_points=False)


@pytest.mark.parametrize(
    ("exchange", "symbols", "interval", "expected"),
    [
        ("XNYS", ["AAPL", "MSFT"], "1m", 2 * 390),
        ("HOSE", ["VNM"], "1m", 255),
        ("HNX", ["SHS"], "15m", 10 + 8),
        ("UPCOM", ["BSR"], "1h", 3 + 2),
        ("VN30F", ["VN30F1M"], "5m", 3 + 30 + 21),
    ],
)
def test_synthetic_source_conforms_on_every_board(exchange, symbols, interval, expected) -> None:
    bars = check_data_source(
        HOST.data_sources["synthetic"],
        exchange=exchange,
        symbols=symbols,
        interval=interval,
        options={"seed": 9},
    )
    assert len(bars) == expected


@pytest.mark.parametrize("name", sorted(HOST.classifiers))
def test_builtin_classifiers_conform(name: str) -> None:
    answers = check_trade_classifier(HOST.classifiers[name])
    assert len(answers) == 10


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("trailing_average", {"period": "5d"}),
        ("trailing_max", {"period": "10d", "field": "high"}),
        ("trailing_min", {"period": "10d", "field": "low"}),
        ("trailing_average", {"period": "5d", "granularity": "intraday", "calendar": "XNYS"}),
        ("sma", {"period": 20}),
        ("ema", {"period": 20}),
        ("vwap", {}),
    ],
)
def test_builtin_indicators_conform(name: str, params: dict) -> None:
    assert name in HOST.indicators
    result = check_indicator(HOST.indicators[name], params=params)
    produced = result["compute"] or result["update"]
    assert any(value is not None for value in produced)


def test_example_third_party_plugin_conforms(install) -> None:
    install("example")
    host = load_plugins()
    bars = check_data_source(host.data_sources["flat"], exchange="XSTC", symbols=["VNM"])
    assert len(bars) == 255
    assert check_trade_classifier(host.classifiers["uptick_only"]).count(Aggressor.BUY) == 3
    result = check_indicator(host.indicators["bar_range"])
    assert result["compute"][0].value is not None
    import sessiond_example_plugin

    assert "flat" in check_plugin(sessiond_example_plugin).data_sources


# ---------------------------------------------------------------------------------------------
# The kit rejects broken plugins, naming the class and the problem
# ---------------------------------------------------------------------------------------------


class _Base:
    name = "broken"
    description = "A deliberately broken source"

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange


class NaiveTimestamps(_Base):
    def request_bars(self, symbols, start, end, interval):
        yield Bar("AAPL", "1m", start.replace(tzinfo=None), 1.0, 1.0, 1.0, 1.0, 1.0)


class OutOfRange(_Base):
    def request_bars(self, symbols, start, end, interval):
        yield Bar("AAPL", "1m", end, 1.0, 1.0, 1.0, 1.0, 1.0)


class HighBelowClose(_Base):
    def request_bars(self, symbols, start, end, interval):
        yield Bar("AAPL", "1m", start, 1.0, 1.5, 0.9, 2.0, 1.0)


class WrongInterval(_Base):
    def request_bars(self, symbols, start, end, interval):
        yield Bar("AAPL", "5m", start, 1.0, 1.0, 1.0, 1.0, 1.0)


class VwapOutside(_Base):
    def request_bars(self, symbols, start, end, interval):
        yield Bar("AAPL", "1m", start, 1.0, 1.0, 1.0, 1.0, 1.0, 1, 3.0)


class Duplicated(_Base):
    def request_bars(self, symbols, start, end, interval):
        yield Bar("AAPL", "1m", start, 1.0, 1.0, 1.0, 1.0, 1.0)
        yield Bar("AAPL", "1m", start, 1.0, 1.0, 1.0, 1.0, 1.0)


class Nondeterministic(_Base):
    calls = 0

    def request_bars(self, symbols, start, end, interval):
        type(self).calls += 1
        yield Bar("AAPL", "1m", start, 1.0, 1.0 + self.calls, 1.0, 1.0, 1.0)


class Nameless(_Base):
    name = ""

    def request_bars(self, symbols, start, end, interval):  # pragma: no cover - not reached
        return iter(())


class ReturnsNone(_Base):
    def request_bars(self, symbols, start, end, interval):
        return None


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (
            NaiveTimestamps,
            r"ts_event must be an aware UTC datetime, was datetime.datetime\(2024, 3, 4, 14, 30\)",
        ),
        (
            OutOfRange,
            r"bar 0 of AAPL at 2024-03-04 21:00:00\+00:00: ts_event is outside \[2024-03-04T14:30:00\+00:00, 2024-03-04T21:00:00\+00:00\)",
        ),
        (HighBelowClose, r"OHLC inconsistent \(open 1.0, high 1.5, low 0.9, close 2.0\)"),
        (WrongInterval, r"interval is '5m', asked for '1m'"),
        (VwapOutside, r"vwap 3.0 is outside \[low 1.0, high 1.0\]"),
        (Duplicated, r"increasing ts_event order without duplicates"),
        (Nondeterministic, r"the same request_bars call returned different bars"),
        (Nameless, r"class attribute 'name' must be a non-empty string"),
        (ReturnsNone, r"request_bars\(\) must return an iterable, returned None"),
    ],
)
def test_kit_rejects_broken_sources_with_the_class_and_problem(cls, message) -> None:
    with pytest.raises(AssertionError, match=message) as error:
        check_data_source(cls)
    assert str(error.value).startswith(f"{cls.__name__} (")


def test_kit_requires_bars_unless_told_otherwise() -> None:
    class Empty(_Base):
        def request_bars(self, symbols, start, end, interval):
            return iter(())

    with pytest.raises(AssertionError, match=r"returned no bars"):
        check_data_source(Empty)
    assert check_data_source(Empty, expect_bars=False) == []


def test_kit_rejects_a_classifier_returning_strings_and_one_whose_reset_forgets_nothing() -> None:
    class Stringly:
        name = "stringly"
        description = "returns strings"

        def classify(self, trade):
            return "buy"

    with pytest.raises(
        AssertionError, match=r"classify\(\) must return an Aggressor or None, returned 'buy'"
    ):
        check_trade_classifier(Stringly)

    class Sticky:
        name = "sticky"
        description = "remembers across resets"

        def __init__(self):
            self.seen = 0

        def reset(self):
            pass

        def classify(self, trade):
            self.seen += 1
            return Aggressor.BUY if self.seen > 10 else None

    with pytest.raises(
        AssertionError, match=r"after reset\(\) the same trades were classified differently"
    ):
        check_trade_classifier(Sticky)


def test_kit_rejects_an_indicator_that_mislabels_its_values() -> None:
    from core.models import IndicatorValue

    class Mislabelled:
        name = "mislabelled"
        description = "wrong symbol"
        kind = "historical"

        def __init__(self, name, calendar=None):
            self.instance = name

        def compute(self, symbol, history, as_of):
            return [IndicatorValue(self.instance, "OTHER", as_of, 1.0)]

    with pytest.raises(
        AssertionError, match=r"value must carry name 'test_indicator', symbol 'TEST'"
    ):
        check_indicator(Mislabelled)


def test_kit_rejects_an_indicator_without_a_kind_naming_it() -> None:
    class Unsaid:
        name = "unsaid"
        description = "no kind"

        def __init__(self, name):
            pass

        def update(self, bar):
            return 1.0

    with pytest.raises(AssertionError, match=r"indicator 'unsaid' .*kind must be 'historical'"):
        check_indicator(Unsaid)


def test_default_window_is_one_full_session() -> None:
    start, end = default_window("HOSE")
    assert (start, end) == (
        dt.datetime(2024, 3, 4, 2, 0, tzinfo=UTC),
        dt.datetime(2024, 3, 4, 7, 45, tzinfo=UTC),
    )


# --------------------------------------------------------------------------------------------
# Trading plugins
# --------------------------------------------------------------------------------------------


def test_builtin_strategies_conform() -> None:
    from plugins.strategies.order_flow import OrderFlowStrategy
    from plugins.strategies.sma_crossover import SmaCrossover
    from plugins.testing import check_strategy

    orders = check_strategy(SmaCrossover, params={"fast": 5, "slow": 20, "quantity": 10})
    assert orders and {o.side.value for o in orders} == {"buy"}  # the kit holds nothing to sell
    flow = check_strategy(
        OrderFlowStrategy,
        params={"min_active_volume": 1000, "sustain_minutes": 2, "threshold": 0.55},
        exchange="XSTC",
        symbols=("FPT", "HPG"),
        streams=("1m", "trades"),
    )
    assert all(o.quantity % 100 == 0 for o in flow)


def test_builtin_brokers_and_fee_models_conform() -> None:
    from plugins.brokers.alpaca import AlpacaPaperBroker
    from plugins.brokers.fees import FEE_MODELS
    from plugins.brokers.simulated import SimulatedBroker
    from plugins.testing import check_broker, check_fee_model

    reports = check_broker(SimulatedBroker)
    assert [r.event.value for r in reports] == ["accepted", "fill"]
    assert check_broker(AlpacaPaperBroker) == []  # a live broker: no connection at construction
    for model in FEE_MODELS:
        for currency in ("USD", "VND"):
            check_fee_model(model, currency=currency)
    assert check_fee_model(FEE_MODELS[0], currency="VND")[1][1] > 0  # VN sales tax on sells


class PeekingStrategy:
    name = "peeking"
    description = "Reads the wall clock"
    intervals = ("1m",)

    def on_start(self, ctx):
        self.ctx = ctx

    def on_bar(self, bar):
        import time

        if int(time.perf_counter_ns()) % 7 == 0:
            self.ctx.submit(OrderRequest.market(bar.symbol, "buy", 1))


class LyingBroker:
    name = "lying"
    description = "Fills at the wrong time"
    simulated = True

    def __init__(self, exchange):
        self.ctx = None

    def start(self, ctx):
        self.ctx = ctx

    def submit(self, order):
        from core.orders import Fill, OrderEvent, OrderUpdate

        now = self.ctx.now()
        self.ctx.report(OrderUpdate(order.order_id, OrderEvent.ACCEPTED, now))
        fill = Fill("f", order.order_id, order.symbol, order.side, order.quantity, Decimal(1), now)
        self.ctx.report(OrderUpdate(order.order_id, OrderEvent.FILL, now, fill=fill))

    cancel = replace = on_trade = on_quote = on_phase = on_day_start = on_day_end = stop = (
        lambda self, *a: None
    )

    def on_bar(self, bar):
        return


def test_kit_rejects_a_nondeterministic_strategy_and_a_broker_filling_before_the_next_bar() -> None:
    from plugins.testing import check_broker, check_strategy

    with pytest.raises(AssertionError, match="different orders|not an OrderRequest"):
        for _ in range(5):  # the wall clock makes it differ sooner or later
            check_strategy(PeekingStrategy)
    with pytest.raises(AssertionError, match="filled at submission"):
        check_broker(LyingBroker)
