"""The indicator contract on sessiond's real paths (the conformance kit's
``check_indicator_paths``: a two-day backtest of the daemon and an in-process Dagster
materialization): the kind is explicit, the granularity picks ``compute`` or ``update``, what
``update`` returns is what is stored, only declared engine arguments are passed, and a plugin
whose values are all None or differ between the two paths fails."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import pytest

from core.calendars import session_bounds
from core.config import validate_session_config
from core.errors import ConfigError, StartupError
from core.models import IndicatorValue
from plugins import hookimpl
from plugins.indicators.streaming import SimpleMovingAverage
from plugins.indicators.trailing import TrailingAverage
from plugins.manager import load_plugins
from plugins.testing import check_indicator_paths

DAYS = (dt.date(2024, 3, 5), dt.date(2024, 3, 6))
HOST = load_plugins(entry_points=False)


def _synthetic_bars(symbol: str, day: dt.date, interval: str) -> list[Any]:
    source = HOST.create_source("synthetic", exchange="XNYS", seed=1)
    window = session_bounds("XNYS", day)
    return list(source.request_bars([symbol], window.open, window.close, interval))


@pytest.mark.parametrize(
    ("cls", "params", "granularity", "values_per_day"),
    [
        (TrailingAverage, {"period": "2d"}, None, 1),
        (TrailingAverage, {"period": "2d", "field": "close"}, "intraday", 390),
        (SimpleMovingAverage, {"period": 5}, None, 1),
    ],
)
def test_builtin_indicators_store_the_same_values_on_both_paths(
    cls: type, params: dict[str, Any], granularity: str | None, values_per_day: int
) -> None:
    result = check_indicator_paths(cls, params=params, granularity=granularity)
    assert len(result["daemon"]) == len(result["dagster"]) == 2 * values_per_day
    assert all(v.value is not None for v in result["daemon"])


def test_the_third_party_example_computes_daily_and_streams_per_bar_as_configured(
    install: Any,
) -> None:
    """``bar_range`` has both kinds: ``granularity`` picks which method runs, and each stores
    what it means: the previous day's range (compute on 1d bars), the day's last bar's range
    (update on the streamed bars)."""
    install("example")
    cls = load_plugins().indicators["bar_range"]
    assert cls.kind == "both"
    daily = check_indicator_paths(cls, granularity="daily")["daemon"]
    previous = dt.date(2024, 3, 4)
    (day_bar,) = _synthetic_bars("TEST", previous, "1d")
    assert daily[0].as_of == session_bounds("XNYS", DAYS[0]).open
    assert daily[0].value == pytest.approx(day_bar.high - day_bar.low)
    streamed = check_indicator_paths(cls, granularity="bar")["daemon"]
    last = _synthetic_bars("TEST", DAYS[0], "1m")[-1]
    assert streamed[0].as_of == session_bounds("XNYS", DAYS[0]).close
    assert streamed[0].value == pytest.approx(last.high - last.low)
    assert streamed[0].observations == 390 and streamed[0].complete


class Doubled:
    """Streaming: returns twice the close, while its ``value`` attribute says something else
    (sessiond stores what ``update`` returns, never an attribute)."""

    name: ClassVar[str] = "doubled"
    description: ClassVar[str] = "twice the close"
    kind: ClassVar[str] = "streaming"
    granularities: ClassVar[list[str]] = []

    def __init__(self, name: str, granularity: str) -> None:
        self.value = -1.0
        type(self).granularities.append(granularity)

    def update(self, bar: Any) -> float:
        return 2 * bar.close


def test_what_update_returns_is_stored_and_declared_engine_arguments_are_passed() -> None:
    Doubled.granularities = []
    values = check_indicator_paths(Doubled)["daemon"]
    last = _synthetic_bars("TEST", DAYS[-1], "1m")[-1]
    assert values[-1].value == pytest.approx(2 * last.close)
    assert set(Doubled.granularities) == {"bar"}  # declared: passed; calendar: not declared


class AlwaysNone:
    name: ClassVar[str] = "always_none"
    description: ClassVar[str] = "computes nothing"
    kind: ClassVar[str] = "historical"

    def __init__(self, name: str) -> None:
        self.instance_name = name

    def compute(self, symbol: str, history: Any, as_of: dt.datetime) -> list[IndicatorValue]:
        return [IndicatorValue(self.instance_name, symbol, as_of, None, False, 0)]


class CallCounter:
    """Depends on how often it was called, not on the bars: the paths disagree."""

    name: ClassVar[str] = "call_counter"
    description: ClassVar[str] = "counts its calls"
    kind: ClassVar[str] = "historical"

    def __init__(self, name: str) -> None:
        self.instance_name = name
        self.calls = 0

    def compute(self, symbol: str, history: Any, as_of: dt.datetime) -> list[IndicatorValue]:
        self.calls += 1
        return [IndicatorValue(self.instance_name, symbol, as_of, float(self.calls), True, 1)]


def test_the_kit_fails_an_indicator_whose_every_value_is_none() -> None:
    with pytest.raises(AssertionError, match=r"AlwaysNone \(always_none\): every value the daemon"):
        check_indicator_paths(AlwaysNone)


def test_the_kit_fails_an_indicator_whose_paths_disagree() -> None:
    with pytest.raises(AssertionError, match=r"call_counter.*the daemon and Dagster disagree"):
        check_indicator_paths(CallCounter)


class Undeclared:
    """Both methods, no ``kind``: once silently streamed only; now refused."""

    name: ClassVar[str] = "undeclared"
    description: ClassVar[str] = "compute and update, kind not said"

    def compute(self, symbol: str, history: Any, as_of: dt.datetime) -> list[IndicatorValue]:
        return []

    def update(self, bar: Any) -> float:
        return 0.0


class Both(Undeclared):
    name: ClassVar[str] = "both_ways"
    kind: ClassVar[str] = "both"


def _plugin(cls: type) -> Any:
    class Plugin:
        @hookimpl
        def register_indicators(self) -> list[type]:
            return [cls]

    return Plugin()


def test_an_indicator_without_a_declared_kind_is_refused_at_start() -> None:
    with pytest.raises(StartupError, match=r"indicator 'undeclared'.*kind must be 'historical'"):
        load_plugins(entry_points=False, extra=[_plugin(Undeclared)])


def test_a_type_of_both_kinds_needs_a_granularity_and_each_kind_only_its_own() -> None:
    host = load_plugins(entry_points=False, extra=[_plugin(Both)])
    data = {
        "session_name": "g",
        "exchange_group": "US_EQUITY",
        "mode": "backtest",
        "backtest_config": {"start_date": "2024-03-05", "end_date": "2024-03-05"},
        "session_data_config": {
            "symbols": ["A"],
            "streams": ["1m"],
            "historical": {
                "indicators": {
                    "x": {"type": "both_ways"},
                    "y": {"type": "sma", "granularity": "daily"},
                    "z": {"type": "trailing_average", "period": "2d", "granularity": "bar"},
                }
            },
        },
        "api_config": {"data_api": "synthetic"},
    }
    with pytest.raises(ConfigError) as error:
        validate_session_config(data, indicator_types=host.indicator_kinds)
    assert error.value.problems == [
        "<config>: session_data_config.historical.indicators.x.granularity: missing: indicator "
        "type 'both_ways' computes both historical and streaming values; set one of daily, "
        "intraday, bar",
        "<config>: session_data_config.historical.indicators.y.granularity: 'daily' does not fit "
        "indicator type 'sma' (streaming: bar)",
        "<config>: session_data_config.historical.indicators.z.granularity: 'bar' does not fit "
        "indicator type 'trailing_average' (historical: daily, intraday)",
    ]
