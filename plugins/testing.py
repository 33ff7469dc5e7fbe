"""Conformance kit: checks a plugin author runs against their own plugin classes.

    from plugins.testing import check_data_source, check_plugin

    def test_my_source_conforms():
        check_data_source(MySource, exchange="XNYS", symbols=["AAPL"], options={"token": "x"})

    def test_my_plugin_loads():
        host = check_plugin(my_plugin_module)   # registers it next to the built-ins
        assert "mysource" in host.data_sources

Each ``check_*`` raises ``AssertionError`` with a message naming the class and what is wrong
("MySource (mysource): bar 3 of AAPL has ts_event 2024-03-04 14:30:00 without a time zone;
bars must carry aware UTC datetimes"), and returns what it produced so tests can check more.
Every built-in plugin passes these checks (``tests/plugins/test_conformance.py``).

:func:`check_indicator_paths` runs an indicator through sessiond's real paths — a two-day
synthetic backtest of the daemon and an in-process Dagster materialization of its indicator
asset, each on its own store — and fails when every value is None or when the two store
different values. It is the one function of ``plugins`` that drives ``daemon`` and
``orchestration`` (imported when it is called, so the plugin SDK itself depends on ``core``
only): a test harness, never imported by the engine.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from core import calendars
from core.errors import PluginError
from core.models import Aggressor, Bar, IndicatorValue, Quote, Trade
from core.orders import Fill, Order, OrderRequest, OrderSide, OrderUpdate, quantize_money
from core.timeframes import SUPPORTED_INTERVALS, parse_interval
from plugins.interfaces import (
    GRANULARITIES,
    TrailingBars,
    indicator_granularity,
    indicator_kind,
    supports,
)

__all__ = [
    "check_broker",
    "check_data_source",
    "check_fee_model",
    "check_strategy",
    "check_indicator",
    "check_indicator_paths",
    "check_plugin",
    "check_trade_classifier",
    "default_window",
    "sample_trades",
]

_UTC_ZERO = dt.timedelta(0)


def _label(cls: type) -> str:
    return f"{cls.__name__} ({getattr(cls, 'name', '?')})"


def _check_class_attributes(cls: Any, methods: Sequence[str], kind: str) -> str:
    if not isinstance(cls, type):
        raise AssertionError(f"{cls!r}: a {kind} plugin must be a class, got {type(cls).__name__}")
    label = _label(cls)
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.strip() or name != name.strip() or " " in name:
        raise AssertionError(
            f"{label}: class attribute 'name' must be a non-empty string without spaces "
            f"(what configs refer to), was {name!r}"
        )
    description = getattr(cls, "description", None)
    if not isinstance(description, str) or not description.strip():
        raise AssertionError(
            f"{label}: class attribute 'description' must be a non-empty one-line string, "
            f"was {description!r}"
        )
    if "\n" in description.strip():
        raise AssertionError(f"{label}: 'description' must be one line")
    if not any(callable(getattr(cls, method, None)) for method in methods):
        raise AssertionError(f"{label}: a {kind} must implement {' or '.join(methods)}()")
    return label


def _is_utc(ts: Any) -> bool:
    return isinstance(ts, dt.datetime) and ts.tzinfo is not None and ts.utcoffset() == _UTC_ZERO


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def default_window(exchange: str) -> tuple[dt.datetime, dt.datetime]:
    """One full trading session of ``exchange`` (the first on or after 2024-03-04) as
    ``(open, close)``, aware UTC."""
    day = dt.date(2024, 3, 4)
    if not calendars.is_session(exchange, day):
        day = calendars.next_session(exchange, day)
    bounds = calendars.session_bounds(exchange, day)
    return bounds.open, bounds.close


# --------------------------------------------------------------------------------------------
# Data sources
# --------------------------------------------------------------------------------------------


def check_data_source(
    cls: type,
    *,
    exchange: str = "XNYS",
    symbols: Sequence[str] = ("AAPL",),
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    interval: str = "1m",
    options: Mapping[str, Any] | None = None,
    expect_bars: bool = True,
    deterministic: bool = True,
) -> list[Bar]:
    """Check a ``DataSource`` class: attributes, constructor, ``request_bars`` and, when
    implemented, ``request_trades`` / ``request_quotes``. Returns the bars.

    ``start``/``end`` default to one session of ``exchange`` (``default_window``);
    ``options`` are passed to the constructor next to ``exchange``. ``deterministic=False``
    skips the "same request, same answer" check (for live-only sources).
    """
    label = _check_class_attributes(cls, ("request_bars",), "data source")
    if start is None or end is None:
        default_start, default_end = default_window(exchange)
        start, end = start or default_start, end or default_end
    if not (_is_utc(start) or (isinstance(start, dt.datetime) and start.tzinfo is not None)):
        raise AssertionError("check_data_source: start must be an aware datetime")
    symbols = list(symbols)
    try:
        source = cls(exchange=exchange, **dict(options or {}))
    except TypeError as error:
        raise AssertionError(
            f"{label}: cannot be constructed as cls(exchange=..., **options): {error}"
        ) from None
    bars = _collect(label, "request_bars", source.request_bars(symbols, start, end, interval))
    _check_bars(label, bars, symbols, start, end, interval)
    if expect_bars and not bars:
        raise AssertionError(
            f"{label}: request_bars({symbols}, {start.isoformat()}, {end.isoformat()}, "
            f"{interval!r}) returned no bars"
        )
    if deterministic:
        again = list(source.request_bars(symbols, start, end, interval))
        if again != bars:
            raise AssertionError(f"{label}: the same request_bars call returned different bars")

    window_end = min(end, start + dt.timedelta(minutes=30))
    if supports(source, "request_trades"):
        trades = _collect(
            label, "request_trades", source.request_trades(symbols, start, window_end)
        )
        _check_trades(label, trades, symbols, start, window_end)
    if supports(source, "request_quotes"):
        quotes = _collect(
            label, "request_quotes", source.request_quotes(symbols, start, window_end)
        )
        _check_quotes(label, quotes, symbols, start, window_end)
    if supports(source, "close"):
        source.close()
    return bars


def _collect(label: str, method: str, result: Any) -> list[Any]:
    if result is None or isinstance(result, str | bytes) or not isinstance(result, Iterable):
        raise AssertionError(f"{label}: {method}() must return an iterable, returned {result!r}")
    return list(result)


def _check_bars(
    label: str,
    bars: list[Any],
    symbols: list[str],
    start: dt.datetime,
    end: dt.datetime,
    interval: str,
) -> None:
    label_interval = parse_interval(interval)
    last_ts: dict[str, dt.datetime] = {}
    for i, bar in enumerate(bars):
        where = f"{label}: bar {i}"
        if not isinstance(bar, Bar):
            raise AssertionError(f"{where} is a {type(bar).__name__}, not core.models.Bar")
        where = f"{label}: bar {i} of {bar.symbol} at {bar.ts_event}"
        if bar.symbol not in symbols:
            raise AssertionError(f"{where}: symbol {bar.symbol!r} was not asked for ({symbols})")
        if bar.interval != label_interval.label:
            raise AssertionError(f"{where}: interval is {bar.interval!r}, asked for {interval!r}")
        if not _is_utc(bar.ts_event):
            raise AssertionError(
                f"{where}: ts_event must be an aware UTC datetime, was {bar.ts_event!r}"
            )
        if not start <= bar.ts_event < end:
            raise AssertionError(
                f"{where}: ts_event is outside [{start.isoformat()}, {end.isoformat()})"
            )
        if label_interval.seconds == 60 and (bar.ts_event.second or bar.ts_event.microsecond):
            raise AssertionError(f"{where}: a 1m bar must open on a whole minute")
        prices = (bar.open, bar.high, bar.low, bar.close)
        if not all(_finite(p) and p > 0 for p in prices):
            raise AssertionError(f"{where}: prices must be finite and positive, were {prices}")
        if not bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high:
            raise AssertionError(
                f"{where}: OHLC inconsistent (open {bar.open}, high {bar.high}, low {bar.low}, "
                f"close {bar.close}): need low <= open, close <= high"
            )
        if not _finite(bar.volume) or bar.volume < 0:
            raise AssertionError(f"{where}: volume must be finite and >= 0, was {bar.volume!r}")
        if bar.trade_count is not None and (
            not isinstance(bar.trade_count, int) or bar.trade_count < 0
        ):
            raise AssertionError(f"{where}: trade_count must be None or an int >= 0")
        if bar.vwap is not None:
            tolerance = 1e-9 * max(abs(bar.high), 1.0)
            if not (_finite(bar.vwap) and bar.low - tolerance <= bar.vwap <= bar.high + tolerance):
                raise AssertionError(
                    f"{where}: vwap {bar.vwap!r} is outside [low {bar.low}, high {bar.high}]"
                )
        if not isinstance(bar.source, str):
            raise AssertionError(f"{where}: source must be a string")
        previous = last_ts.get(bar.symbol)
        if previous is not None and bar.ts_event <= previous:
            raise AssertionError(
                f"{where}: bars of one symbol must be in increasing ts_event order without "
                f"duplicates (previous {previous})"
            )
        last_ts[bar.symbol] = bar.ts_event


def _check_trades(
    label: str, trades: list[Any], symbols: list[str], start: dt.datetime, end: dt.datetime
) -> None:
    last_ts: dict[str, dt.datetime] = {}
    for i, trade in enumerate(trades):
        if not isinstance(trade, Trade):
            raise AssertionError(f"{label}: trade {i} is a {type(trade).__name__}, not Trade")
        where = f"{label}: trade {i} of {trade.symbol} at {trade.ts_event}"
        if trade.symbol not in symbols:
            raise AssertionError(f"{where}: symbol was not asked for ({symbols})")
        if not _is_utc(trade.ts_event) or not start <= trade.ts_event < end:
            raise AssertionError(
                f"{where}: ts_event must be aware UTC inside [{start.isoformat()}, "
                f"{end.isoformat()})"
            )
        if not (_finite(trade.price) and trade.price > 0):
            raise AssertionError(f"{where}: price must be finite and positive, was {trade.price!r}")
        if not (_finite(trade.volume) and trade.volume >= 0):
            raise AssertionError(f"{where}: volume must be finite and >= 0, was {trade.volume!r}")
        if trade.side is not None and not isinstance(trade.side, Aggressor):
            raise AssertionError(f"{where}: side must be an Aggressor or None, was {trade.side!r}")
        previous = last_ts.get(trade.symbol)
        if previous is not None and trade.ts_event < previous:
            raise AssertionError(f"{where}: trades of one symbol must be in time order")
        last_ts[trade.symbol] = trade.ts_event


def _check_quotes(
    label: str, quotes: list[Any], symbols: list[str], start: dt.datetime, end: dt.datetime
) -> None:
    for i, quote in enumerate(quotes):
        if not isinstance(quote, Quote):
            raise AssertionError(f"{label}: quote {i} is a {type(quote).__name__}, not Quote")
        where = f"{label}: quote {i} of {quote.symbol} at {quote.ts_event}"
        if quote.symbol not in symbols:
            raise AssertionError(f"{where}: symbol was not asked for ({symbols})")
        if not _is_utc(quote.ts_event) or not start <= quote.ts_event < end:
            raise AssertionError(f"{where}: ts_event must be aware UTC inside the range")
        if not (_finite(quote.bid_price) and _finite(quote.ask_price)):
            raise AssertionError(f"{where}: bid and ask must be finite numbers")
        if quote.bid_price > quote.ask_price:
            raise AssertionError(
                f"{where}: crossed quote, bid {quote.bid_price} > ask {quote.ask_price}"
            )
        if quote.bid_size < 0 or quote.ask_size < 0:
            raise AssertionError(f"{where}: sizes must be >= 0")


# --------------------------------------------------------------------------------------------
# Trade classifiers
# --------------------------------------------------------------------------------------------


def sample_trades(symbol: str = "TEST", start: dt.datetime | None = None) -> list[Trade]:
    """Continuous-session trades with up-, down- and zero-ticks, half with a vendor side."""
    start = start or dt.datetime(2024, 3, 4, 15, 0, tzinfo=dt.UTC)
    prices = [100.0, 100.01, 100.01, 100.0, 99.99, 99.99, 100.02, 100.02, 100.0, 100.03]
    sides = [
        Aggressor.BUY,
        None,
        Aggressor.SELL,
        None,
        Aggressor.SELL,
        None,
        Aggressor.BUY,
        None,
        None,
        None,
    ]
    return [
        Trade(
            symbol, start + dt.timedelta(seconds=i), price, 100.0, side=side, trading_session="LO"
        )
        for i, (price, side) in enumerate(zip(prices, sides, strict=True))
    ]


def _sample_quotes(trades: Sequence[Trade]) -> list[Quote]:
    """A quote 1 ms before each trade: the trade hits the ask, the bid, or the midpoint."""
    quotes = []
    for i, t in enumerate(trades):
        bid, ask = [
            (t.price - 0.02, t.price),
            (t.price, t.price + 0.02),
            (t.price - 0.01, t.price + 0.01),
        ][i % 3]
        quotes.append(
            Quote(t.symbol, t.ts_event - dt.timedelta(milliseconds=1), bid, 500.0, ask, 500.0)
        )
    return quotes


def check_trade_classifier(
    cls: type, *, trades: Sequence[Trade] | None = None
) -> list[Aggressor | None]:
    """Check a ``TradeClassifier`` class: attributes, ``cls()`` construction, ``classify``
    returning an ``Aggressor`` or None for each trade, and ``reset()`` (when implemented)
    restoring the initial state (replaying the trades gives the same answers). When the class
    implements ``on_quote``, a quote is sent before each trade; when it implements
    ``observe``, it is told the final decision after each trade (as the classifier chain
    does). Returns the answers."""
    label = _check_class_attributes(cls, ("classify",), "trade classifier")
    trades = list(trades) if trades is not None else sample_trades()
    quotes = _sample_quotes(trades)
    try:
        classifier = cls()
    except TypeError as error:
        raise AssertionError(f"{label}: cannot be constructed as cls(): {error}") from None

    def run() -> list[Aggressor | None]:
        answers = []
        for quote, trade in zip(quotes, trades, strict=True):
            if supports(classifier, "on_quote"):
                classifier.on_quote(quote)
            answer = classifier.classify(trade)
            if answer is not None and not isinstance(answer, Aggressor):
                raise AssertionError(
                    f"{label}: classify() must return an Aggressor or None, returned {answer!r}"
                )
            if supports(classifier, "observe"):
                classifier.observe(trade, answer if answer is not None else Aggressor.NEUTRAL)
            answers.append(answer)
        return answers

    if supports(classifier, "reset"):
        classifier.reset()
    first = run()
    if supports(classifier, "reset"):
        classifier.reset()
        second = run()
        if second != first:
            raise AssertionError(
                f"{label}: after reset() the same trades were classified differently "
                f"({first} then {second})"
            )
    return first


# --------------------------------------------------------------------------------------------
# Indicators
# --------------------------------------------------------------------------------------------


def _default_history(exchange: str, symbol: str) -> tuple[list[Bar], dt.datetime]:
    from plugins.sources.synthetic import SyntheticSource

    open_, _ = default_window(exchange)
    first = calendars.previous_session(exchange, open_.date(), 12)
    start = calendars.session_bounds(exchange, first).open
    bars = list(
        SyntheticSource(exchange=exchange, seed=1).request_bars([symbol], start, open_, "1m")
    )
    return bars, open_


def check_indicator(
    cls: type,
    *,
    params: Mapping[str, Any] | None = None,
    name: str = "test_indicator",
    symbol: str = "TEST",
    exchange: str = "XNYS",
    history: Sequence[Bar] | None = None,
    as_of: dt.datetime | None = None,
) -> dict[str, Any]:
    """Check an ``Indicator`` class: attributes, a ``kind`` matching its methods,
    ``cls(name=..., **params)``, ``compute`` when historical (values named ``name`` for
    ``symbol`` at ``as_of``, finite or None, distinct ``minute_of_day``, same answer twice) and
    ``update`` when streaming (finite or None for each bar; after ``reset()`` a replay gives
    the same values). ``history`` defaults to 12 sessions of synthetic 1-minute bars before
    ``as_of``. Returns ``{"compute": [...], "update": [...]}``. The contract on sessiond's real
    paths is :func:`check_indicator_paths`."""
    label = _check_class_attributes(cls, ("compute", "update"), "indicator")
    try:
        kind = indicator_kind(cls)
    except PluginError as error:
        raise AssertionError(str(error)) from None
    if history is None:
        history, default_as_of = _default_history(exchange, symbol)
        as_of = as_of or default_as_of
    zone = calendars.exchange_timezone(exchange)
    history = TrailingBars.from_bars(
        list(history), lambda bar: bar.ts_event.astimezone(zone).date()
    )
    as_of = as_of or (
        history[-1].ts_event + dt.timedelta(minutes=1) if history else default_window(exchange)[0]
    )

    arguments = dict(params or {})  # the engine's own arguments, when declared (Indicator)
    from plugins.manager import declared_parameters

    declared = declared_parameters(cls)
    if "calendar" not in arguments and (declared is None or "calendar" in declared):
        arguments["calendar"] = exchange
    default = GRANULARITIES[kind][0] if kind != "both" else None
    granular = declared is None or "granularity" in declared
    if "granularity" not in arguments and default is not None and granular:
        arguments["granularity"] = default

    def make() -> Any:
        try:
            return cls(name=name, **arguments)
        except TypeError as error:
            raise AssertionError(
                f"{label}: cannot be constructed as cls(name=..., **params): {error}"
            ) from None

    indicator = make()
    out: dict[str, Any] = {"compute": [], "update": []}
    if kind in ("historical", "both"):
        values = indicator.compute(symbol, history, as_of)
        if not isinstance(values, list):
            raise AssertionError(f"{label}: compute() must return a list, returned {values!r}")
        minutes = set()
        for value in values:
            if not isinstance(value, IndicatorValue):
                raise AssertionError(f"{label}: compute() returned {value!r}, not IndicatorValue")
            if value.name != name or value.symbol != symbol or value.as_of != as_of:
                raise AssertionError(
                    f"{label}: value must carry name {name!r}, symbol {symbol!r} and as_of "
                    f"{as_of}; got {value.name!r}, {value.symbol!r}, {value.as_of}"
                )
            if value.value is not None and not _finite(value.value):
                raise AssertionError(f"{label}: value must be finite or None, was {value.value!r}")
            if value.observations < 0:
                raise AssertionError(f"{label}: observations must be >= 0")
            if value.minute_of_day is not None:
                if value.minute_of_day < 0 or value.minute_of_day in minutes:
                    raise AssertionError(
                        f"{label}: minute_of_day {value.minute_of_day} repeats or is negative"
                    )
                minutes.add(value.minute_of_day)
        if make().compute(symbol, history, as_of) != values:
            raise AssertionError(f"{label}: compute() on the same history gave different values")
        out["compute"] = values
    if kind in ("streaming", "both"):
        streamed = [indicator.update(bar) for bar in history]
        for value in streamed:
            if value is not None and not _finite(value):
                raise AssertionError(
                    f"{label}: update() must return a finite float or None, returned {value!r}"
                )
        if supports(indicator, "reset"):
            indicator.reset()
            replay = [indicator.update(bar) for bar in history]
            if replay != streamed:
                raise AssertionError(f"{label}: after reset() the same bars gave different values")
        out["update"] = streamed
    return out


_GROUPS = {"XNYS": "US_EQUITY", "XSTC": "HOSE", "XHNX": "HNX", "UPCOM": "UPCOM"}
_AGREE = 1e-9
"""Relative tolerance of the daemon/Dagster comparison (float noise, not meaning)."""


def check_indicator_paths(
    cls: type,
    *,
    params: Mapping[str, Any] | None = None,
    granularity: str | None = None,
    exchange: str = "XNYS",
    symbols: Sequence[str] = ("TEST",),
    start: dt.date = dt.date(2024, 3, 5),
    directory: Any = None,
) -> dict[str, list[IndicatorValue]]:
    """Run indicator ``cls`` (with the config entry ``params``, at ``granularity``: None is
    its kind's default) through sessiond's real paths and compare what they store:

    - the daemon: a backtest of the two trading days from ``start`` on the synthetic source
      (``SessionCoordinator``; historical values computed before each day, streaming ones at
      each day's end), on a fresh SQLite store;
    - Dagster: the exchange's assets (``historical_bars``, ``daily_bars`` and the indicator's
      asset) materialized in process over the partitions those two days need, on another.

    Fails (``AssertionError`` naming the class) when the daemon stored no value or only None,
    or when the two paths stored different keys or values (relative tolerance 1e-9).
    ``directory``: where the stores and the config go (created; default: a temporary one).
    Returns ``{"daemon": values, "dagster": values}``.
    """
    import json
    import tempfile
    from pathlib import Path

    label = _check_class_attributes(cls, ("compute", "update"), "indicator")
    try:
        granularity = indicator_granularity(cls, granularity)
    except Exception as error:
        raise AssertionError(f"{label}: {error}") from None
    host = _host_with(cls)
    days = calendars.sessions_in_range(exchange, start, start + dt.timedelta(days=10))[:2]
    name = "checked"
    entry = {"type": cls.name, "granularity": granularity, **dict(params or {})}
    config = {
        "session_name": "conformance",
        "exchange_group": _GROUPS.get(exchange, exchange),
        "mode": "backtest",
        "backtest_config": {"start_date": days[0].isoformat(), "end_date": days[-1].isoformat(),
                            "speed_multiplier": 0, "prefetch_days": 2},
        "session_data_config": {
            "symbols": list(symbols),
            "streams": ["1m"],
            "historical": {"enable_quality": False, "indicators": {name: entry}},
        },
        "api_config": {"data_api": "synthetic", "data_api_options": {"seed": 1}},
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(directory if directory is not None else scratch)
        root.mkdir(parents=True, exist_ok=True)
        path = root / "conformance.json"
        path.write_text(json.dumps(config))
        daemon = _daemon_values(path, root / "daemon.db", host, name, days)
        dagster = _dagster_values(path, root / "dagster.db", host, name, days, granularity)
    if not daemon or all(v.value is None for v in daemon):
        raise AssertionError(
            f"{label}: every value the daemon stored was None ({len(daemon)} values at "
            f"granularity {granularity!r} over {days[0]}..{days[-1]}); the indicator computes "
            "nothing from sessiond's bars"
        )
    _compare(label, daemon, dagster)
    return {"daemon": daemon, "dagster": dagster}


def _host_with(cls: type) -> Any:
    """The built-in plugins, with ``cls`` registered like a third-party plugin (unless it is
    one of them)."""
    from plugins import hookimpl
    from plugins.manager import load_plugins

    host = load_plugins(entry_points=False)
    if host.indicators.get(cls.name) is cls:
        return host

    class Plugin:
        @hookimpl
        def register_indicators(self) -> list[type]:
            return [cls]

    return load_plugins(entry_points=False, extra=[Plugin()])


def _daemon_values(
    path: Any, db: Any, host: Any, name: str, days: Sequence[dt.date]
) -> list[IndicatorValue]:
    from core.config import load_session_config
    from core.store import Store
    from daemon.coordinator import SessionCoordinator

    config = load_session_config(path)
    with Store.from_url(f"sqlite:///{db}") as store:
        SessionCoordinator.for_config(config, store=store, host=host).run_sync()
        return _read_values(store, config, name, days)


def _dagster_values(
    path: Any, db: Any, host: Any, name: str, days: Sequence[dt.date], granularity: str
) -> list[IndicatorValue]:
    from dagster import DagsterInstance, materialize

    from core.config import load_session_config
    from core.store import Store
    from orchestration.assets import build_exchange_definitions
    from orchestration.catalog import build_catalogs
    from orchestration.resources import DataSourceResource, StoreResource, source_resource_key

    config = load_session_config(path)
    (catalog,) = build_catalogs([path]).values()
    calendar = config.calendar_name
    if granularity == "bar":  # each day's own values
        first, last = days[0], days[-1]
    else:  # partition D computes for the session after D, from its trailing history
        trailing = catalog.indicators[0].trailing_days
        first = calendars.previous_session(calendar, days[0], trailing)
        last = calendars.previous_session(calendar, days[-1])
    exchange = build_exchange_definitions(catalog, pool=None, host=host)
    url = f"sqlite:///{db}"
    result = materialize(
        exchange.assets,
        resources={
            "store": StoreResource(url=url),
            source_resource_key("synthetic"): DataSourceResource(plugin="synthetic"),
        },
        instance=DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        raise_on_error=False,
    )
    if not result.success:
        failure = next(
            (e.event_specific_data.error.message for e in result.all_events if e.is_failure
             and e.event_specific_data is not None and getattr(e.event_specific_data, "error", None)),
            "see the Dagster run's events",
        )  # fmt: skip
        raise AssertionError(f"the Dagster materialization failed: {failure.strip()}")
    with Store.from_url(url) as store:
        return _read_values(store, config, name, days)


def _read_values(store: Any, config: Any, name: str, days: Sequence[dt.date]) -> list[Any]:
    calendar = config.calendar_name
    start = calendars.session_bounds(calendar, days[0]).open
    end = calendars.session_bounds(calendar, days[-1]).close + dt.timedelta(seconds=1)
    symbols = list(config.session_data_config.symbols)
    return store.read_indicator_values(name, symbols, start, end, source="sessiond")


def _compare(label: str, daemon: list[Any], dagster: list[Any]) -> None:
    def key(v: Any) -> tuple[Any, ...]:
        return (v.symbol, v.as_of, v.minute_of_day)

    theirs = {key(v): v for v in dagster}
    for mine in daemon:
        other = theirs.pop(key(mine), None)
        where = f"{mine.symbol} as of {mine.as_of.isoformat()}" + (
            f" minute {mine.minute_of_day}" if mine.minute_of_day is not None else ""
        )
        if other is None:
            raise AssertionError(f"{label}: the daemon stored a value for {where}, Dagster none")
        same = (mine.value is None and other.value is None) or (
            mine.value is not None
            and other.value is not None
            and math.isclose(mine.value, other.value, rel_tol=_AGREE, abs_tol=1e-12)
        )
        if not same or (mine.complete, mine.observations) != (other.complete, other.observations):
            raise AssertionError(
                f"{label}: the daemon and Dagster disagree for {where}: daemon "
                f"{mine.value!r} ({mine.observations} observations), Dagster {other.value!r} "
                f"({other.observations} observations); a value must depend only on the bars "
                "it is given, not on call order or instance state"
            )
    if theirs:
        first = next(iter(theirs.values()))
        raise AssertionError(
            f"{label}: Dagster stored a value the daemon did not, for {first.symbol} as of "
            f"{first.as_of.isoformat()}"
        )


# --------------------------------------------------------------------------------------------
# Trading: strategies, brokers, fee models
# --------------------------------------------------------------------------------------------


class _KitPortfolio:
    """A flat account for the kit's strategy runs (``PortfolioView``)."""

    def __init__(self, currency: str, cash: Decimal) -> None:
        self.currency = currency
        self.cash = self.equity = self.buying_power = cash
        self.realized_pnl = self.unrealized_pnl = self.fees = Decimal(0)

    def quantity(self, symbol: str) -> int:
        return 0

    def position(self, symbol: str) -> Any:
        from types import SimpleNamespace

        zero = Decimal(0)
        return SimpleNamespace(
            symbol=symbol,
            quantity=0,
            sellable=0,
            average_price=zero,
            cost_basis=zero,
            market_value=zero,
            unrealized_pnl=zero,
            realized_pnl=zero,
        )

    def positions(self) -> list[Any]:
        return []


class _KitContext:
    """A recording ``StrategyContext``: orders are collected, never sent anywhere."""

    def __init__(self, exchange: str, symbols: Sequence[str], streams: Sequence[str]) -> None:
        vietnamese = calendars.resolve_calendar_name(exchange) in ("XSTC", "XHNX", "UPCOM")
        self.session_name = "conformance"
        self.exchange = exchange
        self.symbols = tuple(symbols)
        self.streams = tuple(streams)
        self.currency = "VND" if vietnamese else "USD"
        self.mode = "backtest"
        self.streamed_interval = next((s for s in streams if s in SUPPORTED_INTERVALS), None)
        self.lot_size = 100 if vietnamese else 1
        self.trading_date: dt.date | None = None
        self.phase: str | None = "continuous"
        self.portfolio = _KitPortfolio(self.currency, Decimal(10**9 if vietnamese else 10**5))
        self.session_data = None
        self.log = logging.getLogger("sessiond.strategy.conformance")
        self.now_value = default_window(exchange)[0]
        self.requests: list[OrderRequest] = []
        self.last: dict[str, float] = {}

    def now(self) -> dt.datetime:
        return self.now_value

    def last_price(self, symbol: str) -> Decimal | None:
        price = self.last.get(symbol)
        return None if price is None else Decimal(repr(price))

    def indicator(self, name: str, symbol: str) -> float | None:
        return None

    def submit(self, request: OrderRequest) -> str:
        self.requests.append(request)
        return f"kit-{len(self.requests)}"

    def cancel(self, order_id: str) -> None:
        return None

    def replace(self, order_id: str, **changes: Any) -> str | None:
        return None

    def flatten(self, symbol: str | None = None) -> list[str]:
        return []

    def open_orders(self, symbol: str | None = None) -> list[Any]:
        return []


def check_strategy(
    cls: type,
    *,
    params: Mapping[str, Any] | None = None,
    exchange: str = "XNYS",
    symbols: Sequence[str] = ("AAPL", "MSFT"),
    streams: Sequence[str] = ("1m", "5m", "trades"),
    days: int = 2,
) -> list[OrderRequest]:
    """Check a ``Strategy`` class: attributes, ``cls(**params)``, ``intervals`` (a tuple of
    supported intervals among ``streams``), then run it over ``days`` sessions of synthetic
    bars (and trades when ``streams`` has them) with a recording context: every callback it
    implements must run without raising, every submitted order must be a valid
    ``core.orders.OrderRequest`` for a session symbol, and a second run must submit the same
    orders (no wall clock, no randomness). Returns the submitted requests.

    The kit does not fill orders: run your strategy through a backtest for that (the daemon's
    real path), as ``docs/strategies.md`` shows.
    """
    from plugins.sources.synthetic import SyntheticSource

    label = _check_class_attributes(cls, ("on_bar",), "strategy")
    for method in ("on_start", "on_bar"):
        if not callable(getattr(cls, method, None)):
            raise AssertionError(f"{label}: a strategy must implement {method}()")

    def run() -> list[OrderRequest]:
        try:
            strategy = cls(**dict(params or {}))
        except TypeError as error:
            raise AssertionError(
                f"{label}: cannot be constructed as cls(**params): {error}"
            ) from None
        context = _KitContext(exchange, symbols, streams)
        strategy.on_start(context)
        intervals = getattr(strategy, "intervals", None)
        if not isinstance(intervals, tuple) or not all(i in streams for i in intervals):
            raise AssertionError(
                f"{label}: 'intervals' must be a tuple of the session's bar streams "
                f"({', '.join(s for s in streams if s in SUPPORTED_INTERVALS)}), was {intervals!r}"
            )
        source = SyntheticSource(exchange=exchange, seed=3)
        first = calendars.session_bounds(exchange, default_window(exchange)[0].date()).date
        for day in [first, *(calendars.next_session(exchange, first, n) for n in range(1, days))]:
            bounds = calendars.session_bounds(exchange, day)
            context.trading_date = day
            events: list[Any] = []
            for interval in intervals:
                events += source.request_bars(list(symbols), bounds.open, bounds.close, interval)
            if "trades" in streams and supports(strategy, "on_trade"):
                events += source.request_trades(list(symbols), bounds.open, bounds.close)
            events.sort(key=lambda e: (e.ts_event, getattr(e, "interval", "")))
            if supports(strategy, "on_day_start"):
                strategy.on_day_start(day)
            for event in events:
                context.now_value = event.ts_event
                if isinstance(event, Bar):
                    context.last[event.symbol] = event.close
                    strategy.on_bar(event)
                else:
                    context.last[event.symbol] = event.price
                    strategy.on_trade(event)
            if supports(strategy, "on_day_end"):
                strategy.on_day_end(day)
        for request in context.requests:
            if not isinstance(request, OrderRequest):
                raise AssertionError(f"{label}: submitted {request!r}, not an OrderRequest")
            if request.symbol not in symbols:
                raise AssertionError(
                    f"{label}: submitted an order for {request.symbol!r}, not a session symbol"
                )
            if (
                not isinstance(request.quantity, int)
                or isinstance(request.quantity, bool)
                or request.quantity <= 0
            ):
                raise AssertionError(
                    f"{label}: order quantity must be a whole number > 0, was {request.quantity!r}"
                )
        return context.requests

    requests = run()
    if run() != requests:
        raise AssertionError(
            f"{label}: the same data gave different orders (wall clock or randomness?)"
        )
    return requests


def check_broker(
    cls: type,
    *,
    options: Mapping[str, Any] | None = None,
    exchange: str = "XNYS",
) -> list[OrderUpdate]:
    """Check a ``Broker`` class: attributes (``simulated`` a bool), ``cls(exchange=...,
    **options)`` without connecting, every required method. A simulated broker is also
    started with a recording context and must accept a market order and fill it on the next
    bar: reports in order (``accepted`` then ``fill``), a ``Fill`` with a Decimal price, the
    order's quantity and the bar's time. Returns the reports (none for live brokers)."""
    label = _check_class_attributes(cls, ("submit",), "broker")
    if not isinstance(getattr(cls, "simulated", None), bool):
        raise AssertionError(f"{label}: class attribute 'simulated' must be True or False")
    required = (
        "start",
        "submit",
        "cancel",
        "replace",
        "on_bar",
        "on_trade",
        "on_quote",
        "on_phase",
        "on_day_start",
        "on_day_end",
        "stop",
    )
    missing = [m for m in required if not callable(getattr(cls, m, None))]
    if missing:
        raise AssertionError(f"{label}: a broker must implement {', '.join(missing)}")
    try:
        broker = cls(exchange=exchange, **dict(options or {}))
    except TypeError as error:
        raise AssertionError(
            f"{label}: cannot be constructed as cls(exchange=..., **options): {error}"
        ) from None
    if not cls.simulated:
        return []
    from types import SimpleNamespace

    reports: list[OrderUpdate] = []
    open_, _ = default_window(exchange)
    clock = SimpleNamespace(value=open_)
    ctx = SimpleNamespace(
        exchange=exchange,
        currency="USD",
        symbols=("TEST",),
        mode="backtest",
        session_name="conformance",
        streams=("1m",),
        now=lambda: clock.value,
        report=reports.append,
        known_orders=lambda: [],
    )
    broker.start(ctx)
    broker.on_day_start(open_.date())
    first = Bar("TEST", "1m", open_, 10.0, 10.5, 9.5, 10.2, 1_000_000.0)
    second = Bar("TEST", "1m", open_ + dt.timedelta(minutes=1), 10.3, 10.6, 10.1, 10.4, 1_000_000.0)
    broker.on_bar(first)
    clock.value = open_ + dt.timedelta(minutes=1)
    request = OrderRequest.market("TEST", "buy", 100)
    broker.submit(Order("kit-1", request, clock.value, open_.date()))
    if any(r.fill is not None for r in reports):
        raise AssertionError(
            f"{label}: a market order filled at submission; it must wait for the next bar "
            "(its open is the first price after the order)"
        )
    broker.on_bar(second)
    broker.on_day_end(open_.date())
    broker.stop()
    events = [r.event.value for r in reports]
    if events[:2] != ["accepted", "fill"]:
        raise AssertionError(
            f"{label}: a market order must be accepted then filled on the next bar; reported {events}"
        )
    fill = reports[1].fill
    if fill is None or not isinstance(fill.price, Decimal) or fill.quantity != 100:
        raise AssertionError(
            f"{label}: the fill must carry a Decimal price and the quantity, was {fill!r}"
        )
    if fill.ts_event != second.ts_event or not _is_utc(fill.ts_event):
        raise AssertionError(
            f"{label}: the fill must be timestamped at the bar it happened on, was {fill.ts_event}"
        )
    return reports


def check_fee_model(
    cls: type, *, currency: str = "USD", params: Mapping[str, Any] | None = None
) -> list[tuple[Decimal, Decimal]]:
    """Check a ``FeeModel`` class: attributes, ``cls(currency=..., **params)``, and ``fees``
    on a buy and a sell: two non-negative ``Decimal`` amounts quantized to the currency's minor
    unit, the same twice. Returns them."""
    label = _check_class_attributes(cls, ("fees",), "fee model")
    try:
        model = cls(currency=currency, **dict(params or {}))
    except TypeError as error:
        raise AssertionError(
            f"{label}: cannot be constructed as cls(currency=..., **params): {error}"
        ) from None
    price = Decimal("187.35") if currency == "USD" else Decimal("28650")
    out = []
    for side in (OrderSide.BUY, OrderSide.SELL):
        fill = Fill("kit", "kit", "TEST", side, 300, price, default_window("XNYS")[0])
        amounts = model.fees(fill)
        if not (
            isinstance(amounts, tuple)
            and len(amounts) == 2
            and all(isinstance(a, Decimal) for a in amounts)
        ):
            raise AssertionError(
                f"{label}: fees() must return (commission, tax) as Decimals, returned {amounts!r}"
            )
        for amount in amounts:
            if amount < 0 or amount != quantize_money(amount, currency):
                raise AssertionError(
                    f"{label}: {amount} is negative or not quantized to {currency}'s minor unit"
                )
        if model.fees(fill) != amounts:
            raise AssertionError(f"{label}: fees() on the same fill gave different amounts")
        out.append(amounts)
    return out


# --------------------------------------------------------------------------------------------
# A whole plugin
# --------------------------------------------------------------------------------------------


def check_plugin(plugin: object, *, entry_points: bool = False) -> Any:
    """Load ``plugin`` (a module or object with ``@hookimpl`` functions) next to the
    built-ins, as sessiond does at start (misspelled hooks and duplicate names fail), then
    check the attributes of every class it registers. Returns the ``PluginHost``."""
    from plugins.manager import load_plugins

    host = load_plugins(entry_points=entry_points, extra=[plugin])
    name = host.pm.get_name(plugin)
    info = next(i for i in host.describe() if i.name == name)
    if not info.hooks:
        raise AssertionError(f"plugin {name!r} implements no sessiond hook")
    for source in info.data_sources:
        _check_class_attributes(host.data_sources[source], ("request_bars",), "data source")
    for classifier in info.classifiers:
        _check_class_attributes(host.classifiers[classifier], ("classify",), "trade classifier")
    for indicator in info.indicators:
        _check_class_attributes(host.indicators[indicator], ("compute", "update"), "indicator")
    for strategy in info.strategies:
        _check_class_attributes(host.strategies[strategy], ("on_bar",), "strategy")
    for broker in info.brokers:
        _check_class_attributes(host.brokers[broker], ("submit",), "broker")
    for fee_model in info.fee_models:
        _check_class_attributes(host.fee_models[fee_model], ("fees",), "fee model")
    return host
