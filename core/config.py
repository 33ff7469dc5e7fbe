"""Session configs: the JSON file that says what a session trades, when, and from which source.

:func:`load_session_config` reads a file, checks its structure with the pydantic models below
(unknown keys are errors) and then the rules that span fields (dates ordered and inside the
exchange calendar, ``apply_to`` symbols listed, plugin names registered, trailing history inside
the calendar). Every problem becomes one line of the :class:`~core.errors.ConfigError`::

    session_configs/x.json: backtest_config.end_date: 2024-01-01 is before start_date 2024-02-01

i.e. ``<file>: <JSON path, dots and [i]>: <the bad value and what is wrong>``; a file that is not
JSON gives ``<file>: line L column C: <problem>``. :func:`session_config_json_schema` is the JSON
schema of the models (``session_configs/session_config.schema.json`` is generated from it).

The models are frozen; derive a variant with :meth:`SessionConfig.with_overrides`, which
validates again.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import types
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from core import calendars
from core.errors import CalendarError, ConfigError
from core.timeframes import (
    INDICATOR_GRANULARITIES,
    SUPPORTED_INTERVALS,
    parse_interval,
    parse_period,
)

__all__ = [
    "STREAM_KINDS",
    "ApiConfig",
    "BacktestConfig",
    "ExtendedHoursConfig",
    "GapFillerConfig",
    "HistoricalConfig",
    "HistoricalDataConfig",
    "IndicatorConfig",
    "SessionConfig",
    "SessionDataConfig",
    "StrategyConfig",
    "FeesConfig",
    "TradingConfig",
    "load_session_config",
    "session_config_json_schema",
    "session_config_schema_text",
    "validate_session_config",
]

STREAM_KINDS: tuple[str, ...] = ("trades", "quotes", "foreign", "index", "status")
"""Non-bar streams a session may subscribe to, besides bar intervals."""


# ---------------------------------------------------------------------------------------------
# Field types (each check raises ValueError with the bad value in its message)
# ---------------------------------------------------------------------------------------------


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        raise ValueError(f"{_show(value)} is not a date (expected YYYY-MM-DD)")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{_show(value)} is not a date (expected YYYY-MM-DD)")


def _interval(value: str) -> str:
    try:
        return parse_interval(value).label
    except ConfigError as error:
        raise ValueError(str(error)) from None


def _stream(value: str) -> str:
    value = value.strip()
    if value in STREAM_KINDS or value in SUPPORTED_INTERVALS:
        return value
    raise ValueError(
        f"{_show(value)} is not a stream (expected an interval {', '.join(SUPPORTED_INTERVALS)} "
        f"or one of {', '.join(STREAM_KINDS)})"
    )


def _symbol(value: str) -> str:
    symbol = value.strip().upper()
    if not symbol or not all(ch.isalnum() or ch in "._-" for ch in symbol):
        raise ValueError(
            f"{_show(value)} is not a symbol (expected letters, digits, '.', '_' or '-')"
        )
    return symbol


def _non_empty(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{_show(value)} is listed twice")
        seen.add(value)
    return values


def _apply_to(value: Any) -> Any:
    if isinstance(value, str):
        if value.strip().lower() == "all":
            return "all"
        raise ValueError(f'{_show(value)} is neither "all" nor a list of symbols')
    if isinstance(value, list):
        return value
    raise ValueError(f'{_show(value)} is neither "all" nor a list of symbols')


def _period(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{_show(value)} is not a period (expected e.g. '10d', '52w' or bars)")
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"{value} bars is not a period (expected a count >= 1)")
        return value
    if isinstance(value, str):
        try:
            return parse_period(value).label
        except ConfigError as error:
            raise ValueError(str(error)) from None
    raise ValueError(f"{_show(value)} is not a period (expected e.g. '10d', '52w' or bars)")


def _indicator_name(value: str) -> str:
    if not value or not all(ch.isalnum() or ch in "_-" for ch in value):
        raise ValueError(
            f"indicator name {_show(value)} is not valid (expected letters, digits, '_' or '-')"
        )
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
IntervalLabel = Annotated[str, AfterValidator(_interval)]
StreamName = Annotated[str, AfterValidator(_stream)]
Symbol = Annotated[str, AfterValidator(_symbol)]
NonEmptyText = Annotated[str, AfterValidator(_non_empty)]
IndicatorName = Annotated[str, AfterValidator(_indicator_name)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # JSON types as written: "5" is not a number, "yes" is not true
        frozen=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,
        validate_default=False,
    )


# ---------------------------------------------------------------------------------------------
# The models
# ---------------------------------------------------------------------------------------------


class BacktestConfig(_Model):
    """The replayed date range and its pace (used when ``mode`` is ``"backtest"``)."""

    start_date: IsoDate
    """First trading date to replay (YYYY-MM-DD, exchange-local; required). A non-session date
    starts at the next session."""
    end_date: IsoDate
    """Last trading date to replay, inclusive (YYYY-MM-DD, exchange-local; required)."""
    speed_multiplier: float = Field(default=0.0, ge=0)
    """Simulated seconds per wall-clock second (default 0 = data-driven: jump from event to event
    as fast as possible; 360 replays a 6.5-hour day in about 65 s). Must be >= 0."""
    prefetch_days: int = Field(default=3, ge=1)
    """Trading days of the streamed interval loaded into the queues ahead of time (default 3,
    unit: trading days, >= 1)."""


class HistoricalDataConfig(_Model):
    """Trailing history loaded before each trading day."""

    trailing_days: int = Field(ge=1)
    """How far back to load, in trading days before the session (required, >= 1)."""
    intervals: Annotated[list[IntervalLabel], Field(min_length=1), AfterValidator(_unique)]
    """Bar intervals to load (required; e.g. ["1m", "1d"]; one of 1s 1m 5m 10m 15m 30m 1h 1d)."""
    apply_to: Annotated[Literal["all"] | list[Symbol], BeforeValidator(_apply_to)] = "all"
    """Symbols this entry applies to: "all" (default) or a subset of
    ``session_data_config.symbols``."""


class IndicatorConfig(BaseModel):
    """One historical indicator. Keys besides these are passed to the indicator plugin as
    parameters (e.g. ``field``: the bar field, default "volume" for trailing indicators)."""

    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)

    type: NonEmptyText
    """Indicator plugin type (required; e.g. "trailing_average", "trailing_max", "sma")."""
    period: Annotated[str | int | None, BeforeValidator(_period)] = None
    """Look-back: trading days "10d" or weeks "52w" (5 trading days each) for trailing
    indicators, or a bar count for streaming ones (default none: the plugin's default)."""
    granularity: Literal["daily", "intraday", "bar"] | None = None
    """What runs: "daily" (the type's ``compute`` before each day over daily bars: one value),
    "intraday" (``compute`` over the streamed interval: one value per minute of the day) or
    "bar" (``update`` on every streamed bar; the day's last value is stored). Default: "daily"
    for historical types, "bar" for streaming ones; required for types that do both."""

    @property
    def params(self) -> dict[str, Any]:
        """The config keys passed to the indicator's constructor: everything but ``type`` and
        ``granularity`` (sessiond passes the granularity in force itself when the constructor
        declares it; ``plugins.interfaces.Indicator``)."""
        data = self.model_dump(exclude_none=True)
        data.pop("type", None)
        data.pop("granularity", None)
        return data


class HistoricalConfig(_Model):
    """Trailing history and historical indicators computed before each trading day."""

    enable_quality: bool = True
    """Compute data quality (gaps against the calendar's minutes) of the history (default true)."""
    data: list[HistoricalDataConfig] = Field(default_factory=list)
    """History to load (default: none)."""
    indicators: dict[IndicatorName, IndicatorConfig] = Field(default_factory=dict)
    """Indicators by name (default: none), e.g. {"avg_volume": {"type": "trailing_average",
    "period": "10d", "granularity": "daily"}}."""


class GapFillerConfig(_Model):
    """Refetching of missing bars during a session."""

    max_retries: int = Field(default=5, ge=0)
    """Attempts to fetch a missing bar again (default 5; 0 disables refetching)."""
    retry_interval_seconds: float = Field(default=60.0, gt=0)
    """Wait between attempts (default 60, unit: seconds, > 0)."""
    enable_session_quality: bool = True
    """Track quality of the day's streamed data (default true)."""


class ExtendedHoursConfig(_Model):
    """US extended hours to include in a session (regular hours are always included)."""

    pre_market: bool = False
    """Include pre-market 04:00–09:30 ET (default false; US_EQUITY only)."""
    post_market: bool = False
    """Include post-market 16:00–20:00 ET (default false; US_EQUITY only)."""


class SessionDataConfig(_Model):
    """What the session trades and streams."""

    symbols: Annotated[list[Symbol], Field(min_length=1), AfterValidator(_unique)]
    """Symbols of the session (required, at least one; upper-cased, e.g. ["AAPL", "MSFT"])."""
    streams: Annotated[list[StreamName], Field(min_length=1), AfterValidator(_unique)]
    """Streams (required): bar intervals (the smallest is streamed, larger ones are built from
    it) and/or "trades", "quotes", "foreign", "index", "status"."""
    historical: HistoricalConfig = Field(default_factory=HistoricalConfig)
    """Trailing history and indicators (default: none)."""
    gap_filler: GapFillerConfig = Field(default_factory=GapFillerConfig)
    """Refetching of missing bars (default: 5 retries every 60 s)."""
    classifiers: Annotated[list[NonEmptyText], AfterValidator(_unique)] | None = None
    """Trade classifier chain by plugin name, first decisive wins (default none: the data
    source's default chain), e.g. ["vendor_side", "quote_rule", "tick_rule"]."""
    extended_hours: ExtendedHoursConfig = Field(default_factory=ExtendedHoursConfig)
    """US pre-/post-market inclusion (default: regular hours only)."""


class FeesConfig(BaseModel):
    """The fee model of the account. Keys besides ``type`` are passed to the fee-model plugin
    (e.g. ``commission_rate`` for ``vn_default``, ``regulatory_fees`` for ``us_default``)."""

    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)

    type: NonEmptyText
    """Fee-model plugin (required; built-ins "vn_default", "us_default", "zero")."""

    @property
    def params(self) -> dict[str, Any]:
        """Everything but ``type``, as keyword arguments of the fee model."""
        data = self.model_dump()
        data.pop("type", None)
        return data


class TradingConfig(_Model):
    """The trading account and its limits (all optional; a limit of none means no limit)."""

    starting_cash: float | None = Field(default=None, gt=0)
    """Cash a simulated account starts with (default none: 100,000 USD in the US, 1,000,000,000
    VND in Vietnam; unit: account currency). Live brokers report their own."""
    settlement_days: int | None = Field(default=None, ge=0)
    """Trading days after which bought shares become sellable (default none: 2 on Vietnamese
    boards, T+2; 0 in the US)."""
    allow_short: bool = False
    """Allow short sales where the market permits them (default false; never on Vietnamese
    boards)."""
    fees: FeesConfig | None = None
    """Fee model (default none: {"type": "vn_default"} in Vietnam, {"type": "us_default"} in
    the US)."""

    max_buying_power: float | None = Field(default=None, gt=0)
    """Capital the session may deploy (default none; unit: account currency)."""
    max_per_trade: float | None = Field(default=None, gt=0)
    """Largest notional of one order (default none; unit: account currency)."""
    max_per_symbol: float | None = Field(default=None, gt=0)
    """Largest position notional in one symbol (default none; unit: account currency)."""
    max_open_positions: int | None = Field(default=None, ge=1)
    """Most symbols held at once (default none; unit: positions)."""
    loss_limit_amount: float | None = Field(default=None, gt=0)
    """Stop the session when the loss reaches this (default none; unit: account currency)."""
    loss_limit_percentage: float | None = Field(default=None, gt=0, le=100)
    """Stop the session when the loss reaches this share of buying power (default none; unit: %,
    0 < x <= 100)."""
    max_duration_minutes: int | None = Field(default=None, ge=1)
    """Stop the session after this long (default none; unit: minutes)."""


class StrategyConfig(_Model):
    """The trading strategy of the session (a strategy plugin and its parameters)."""

    type: NonEmptyText
    """Strategy plugin (required; built-ins "sma_crossover", "vn_order_flow")."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Keyword parameters of the strategy (default none: the plugin's defaults), e.g.
    {"fast": 10, "slow": 30} for "sma_crossover"."""


class ApiConfig(_Model):
    """Where data comes from and where orders go."""

    data_api: NonEmptyText
    """Data source plugin name (required; built-ins "synthetic", "files", "ssi", "alpaca")."""
    trade_api: NonEmptyText | None = None
    """Broker plugin for the strategy's orders (default none: "simulated" when a strategy is
    set; built-ins "simulated", "alpaca_paper")."""
    data_api_options: dict[str, Any] = Field(default_factory=dict)
    """Keyword options passed to the data source (default none), e.g. {"seed": 7} for
    "synthetic"."""
    trade_api_options: dict[str, Any] = Field(default_factory=dict)
    """Keyword options passed to the broker (default none), e.g. {"slippage_ticks": 1,
    "volume_participation": 0.1} for "simulated"."""


class SessionConfig(_Model):
    """A session config file (``session_configs/*.json``)."""

    session_name: NonEmptyText
    """Name of the session, used in the store and the logs (required)."""
    exchange_group: Literal["US_EQUITY", "HOSE", "HNX", "UPCOM", "VN_DERIVATIVES"]
    """Exchange group, which picks the calendar: US_EQUITY -> XNYS, HOSE -> XSTC, HNX -> XHNX,
    UPCOM -> UPCOM, VN_DERIVATIVES -> VN30F (required)."""
    asset_class: NonEmptyText = "EQUITY"
    """Asset class of the symbols (default "EQUITY"; e.g. "FUTURES" for VN30 futures)."""
    mode: Literal["live", "backtest"]
    """"backtest" replays ``backtest_config``'s dates from the store; "live" streams from the
    data source (required)."""
    backtest_config: BacktestConfig | None = None
    """Dates and pace of a backtest (required when mode is "backtest")."""
    session_data_config: SessionDataConfig
    """Symbols, streams, history, indicators (required)."""
    strategy: StrategyConfig | None = None
    """The strategy that trades the session (default none: the session only streams and
    aggregates)."""
    trading_config: TradingConfig = Field(default_factory=TradingConfig)
    """Trading account and limits (default: no limits)."""
    api_config: ApiConfig
    """Data source and broker (required)."""
    metadata: dict[str, Any] | None = None
    """Free-form notes kept with the session's runs (default none)."""

    # --- conveniences ------------------------------------------------------------------------

    @property
    def calendar_name(self) -> str:
        """The exchange calendar of ``exchange_group`` (e.g. "XNYS", "XSTC")."""
        return calendars.EXCHANGE_GROUPS[self.exchange_group]

    @property
    def stream_intervals(self) -> list[str]:
        """The bar intervals among ``streams``, smallest first (e.g. ["1m", "5m", "15m"])."""
        labels = [s for s in self.session_data_config.streams if s in SUPPORTED_INTERVALS]
        return sorted(labels, key=lambda label: parse_interval(label).seconds)

    @property
    def streamed_interval(self) -> str | None:
        """The smallest streamed bar interval (fed by the source), or None when no bars stream."""
        intervals = self.stream_intervals
        return intervals[0] if intervals else None

    @property
    def generated_intervals(self) -> list[str]:
        """The larger stream intervals, built from the streamed one (smallest first)."""
        return self.stream_intervals[1:]

    @property
    def broker_name(self) -> str | None:
        """The broker orders go to: ``trade_api``, else "simulated" when a strategy is set."""
        if self.api_config.trade_api is not None:
            return self.api_config.trade_api
        return "simulated" if self.strategy is not None else None

    @property
    def currency(self) -> str:
        """The account currency: "USD" for US_EQUITY, "VND" for the Vietnamese groups."""
        return "USD" if self.exchange_group == "US_EQUITY" else "VND"

    @property
    def fees(self) -> FeesConfig:
        """The fee model: ``trading_config.fees`` or the market's default."""
        if self.trading_config.fees is not None:
            return self.trading_config.fees
        return FeesConfig(type="us_default" if self.currency == "USD" else "vn_default")

    @property
    def starting_cash(self) -> float:
        """``trading_config.starting_cash`` or the market's default (100,000 USD / 1e9 VND)."""
        if self.trading_config.starting_cash is not None:
            return self.trading_config.starting_cash
        return 100_000.0 if self.currency == "USD" else 1_000_000_000.0

    @property
    def symbols(self) -> list[str]:
        """``session_data_config.symbols``."""
        return list(self.session_data_config.symbols)

    def symbols_for(self, apply_to: str | Sequence[str]) -> list[str]:
        """The symbols an ``apply_to`` value names ("all" -> every session symbol)."""
        if isinstance(apply_to, str):
            if apply_to == "all":
                return list(self.session_data_config.symbols)
            return [_symbol(apply_to)]
        return [_symbol(symbol) for symbol in apply_to]

    def with_overrides(
        self,
        *,
        start_date: dt.date | None = None,
        end_date: dt.date | None = None,
        speed_multiplier: float | None = None,
        source: str = "<overrides>",
        data_sources: Collection[str] | None = None,
    ) -> SessionConfig:
        """A copy with backtest dates/speed replaced, validated again (ConfigError if invalid)."""
        data = self.model_dump(mode="json", exclude_unset=False)
        backtest = data.get("backtest_config") or {}
        if start_date is not None:
            backtest["start_date"] = start_date.isoformat()
        if end_date is not None:
            backtest["end_date"] = end_date.isoformat()
        if speed_multiplier is not None:
            backtest["speed_multiplier"] = speed_multiplier
        if backtest:
            data["backtest_config"] = backtest
        return validate_session_config(data, source=source, data_sources=data_sources)


# ---------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------


def load_session_config(
    path: str | Path,
    *,
    data_sources: Collection[str] | None = None,
    classifiers: Collection[str] | None = None,
    indicator_types: Collection[str] | None = None,
    brokers: Collection[str] | None = None,
    strategies: Mapping[str, Collection[str] | None] | Collection[str] | None = None,
    fee_models: Mapping[str, Collection[str] | None] | Collection[str] | None = None,
) -> SessionConfig:
    """Read and validate a session config file; ConfigError with one line per problem.

    ``data_sources`` / ``classifiers`` / ``indicator_types`` / ``brokers`` / ``strategies`` /
    ``fee_models``: the names the loaded plugins register (``PluginHost.config_names()``
    gives them all); when given, the config's names must be among them. None skips a check.
    ``indicator_types`` may map each name to its kind (``PluginHost.indicator_kinds``): then
    each indicator's ``granularity`` is checked too. ``strategies`` and ``fee_models`` may map
    each name to the parameters its constructor accepts (None: any): then the config's params
    are checked too.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{source}: cannot read the file ({error})") from None
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{source}: line {error.lineno} column {error.colno}: {error.msg} (not valid JSON)"
        ) from None
    if duplicates:
        lines = [
            f"{source}: {key}: the key appears twice in one object (the later value would "
            "silently win); keep one"
            for key in dict.fromkeys(duplicates)
        ]
        raise ConfigError("\n".join(lines), problems=lines)
    return validate_session_config(
        data,
        source=source,
        data_sources=data_sources,
        classifiers=classifiers,
        indicator_types=indicator_types,
        brokers=brokers,
        strategies=strategies,
        fee_models=fee_models,
    )


def validate_session_config(
    data: Any,
    *,
    source: str = "<config>",
    data_sources: Collection[str] | None = None,
    classifiers: Collection[str] | None = None,
    indicator_types: Collection[str] | None = None,
    brokers: Collection[str] | None = None,
    strategies: Mapping[str, Collection[str] | None] | Collection[str] | None = None,
    fee_models: Mapping[str, Collection[str] | None] | Collection[str] | None = None,
) -> SessionConfig:
    """Validate an already parsed config (a dict); ``source`` names it in error lines."""
    if not isinstance(data, Mapping):
        line = f"{source}: (top level): {_show(data)} is not a JSON object"
        raise ConfigError(line)
    try:
        config = SessionConfig.model_validate(dict(data))
    except ValidationError as error:
        problems = [_format_error(item) for item in error.errors()]
    else:
        problems = _cross_field_problems(config, data_sources, classifiers, indicator_types)
        problems += _trading_problems(config, brokers, strategies, fee_models)
    if problems:
        lines = [f"{source}: {path}: {message}" for path, message in problems]
        lines = list(dict.fromkeys(lines))
        raise ConfigError("\n".join(lines), problems=lines)
    return config


def _cross_field_problems(
    config: SessionConfig,
    data_sources: Collection[str] | None,
    classifiers: Collection[str] | None,
    indicator_types: Collection[str] | None,
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    data_config = config.session_data_config
    calendar = config.calendar_name

    if config.mode == "backtest":
        if config.backtest_config is None:
            problems.append(("backtest_config", 'is required when mode is "backtest"'))
        else:
            problems += _date_problems(config, config.backtest_config, calendar)

    symbols = set(data_config.symbols)
    listed = ", ".join(data_config.symbols)
    for i, item in enumerate(data_config.historical.data):
        if isinstance(item.apply_to, list):
            for j, symbol in enumerate(item.apply_to):
                if symbol not in symbols:
                    problems.append(
                        (
                            f"session_data_config.historical.data[{i}].apply_to[{j}]",
                            f"{_show(symbol)} is not in session_data_config.symbols ({listed})",
                        )
                    )

    if config.exchange_group != "US_EQUITY":
        for key in ("pre_market", "post_market"):
            if getattr(data_config.extended_hours, key):
                problems.append(
                    (
                        f"session_data_config.extended_hours.{key}",
                        f"true, but {config.exchange_group} has no {key.replace('_', '-')} "
                        "session (only US_EQUITY does); remove it",
                    )
                )

    if data_sources is not None and config.api_config.data_api not in data_sources:
        problems.append(
            (
                "api_config.data_api",
                _unknown_name(config.api_config.data_api, "data source", data_sources),
            )
        )
    if classifiers is not None and data_config.classifiers is not None:
        for i, name in enumerate(data_config.classifiers):
            if name not in classifiers:
                problems.append(
                    (
                        f"session_data_config.classifiers[{i}]",
                        _unknown_name(name, "trade classifier", classifiers),
                    )
                )
    if indicator_types is not None:
        for name, indicator in data_config.historical.indicators.items():
            where = f"session_data_config.historical.indicators.{name}"
            if indicator.type not in indicator_types:
                problems.append(
                    (f"{where}.type", _unknown_name(indicator.type, "indicator type", indicator_types))
                )
            elif isinstance(indicator_types, Mapping):  # name -> kind: check the granularity
                problem = _granularity_problem(
                    indicator.type, indicator_types[indicator.type], indicator.granularity
                )
                if problem is not None:
                    problems.append((f"{where}.granularity", problem))
    return problems


def _trading_problems(
    config: SessionConfig,
    brokers: Collection[str] | None,
    strategies: Mapping[str, Collection[str] | None] | Collection[str] | None,
    fee_models: Mapping[str, Collection[str] | None] | Collection[str] | None,
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    broker = config.api_config.trade_api
    if brokers is not None and broker is not None and broker not in brokers:
        problems.append(("api_config.trade_api", _unknown_name(broker, "broker", brokers)))
    if broker == "alpaca_paper":
        if config.exchange_group != "US_EQUITY":
            problems.append(
                (
                    "api_config.trade_api",
                    f"'alpaca_paper' trades US equities only, not {config.exchange_group}; use "
                    '"simulated"',
                )
            )
        if config.mode == "backtest":
            problems.append(
                (
                    "api_config.trade_api",
                    "'alpaca_paper' sends real paper orders and cannot run a backtest; use "
                    '"simulated" (the default) or mode "live"',
                )
            )
    if config.strategy is not None:
        if config.exchange_group == "VN_DERIVATIVES":
            problems.append(
                (
                    "strategy",
                    "trading VN30 futures (VN_DERIVATIVES) is not supported yet; use a stock "
                    "board (HOSE, HNX, UPCOM) or US_EQUITY",
                )
            )
        problems += _plugin_params(
            "strategy.type",
            "strategy.params",
            "strategy",
            config.strategy.type,
            config.strategy.params,
            strategies,
        )
    fees = config.trading_config.fees
    if fees is not None:
        problems += _plugin_params(
            "trading_config.fees.type",
            "trading_config.fees",
            "fee model",
            fees.type,
            fees.params,
            fee_models,
        )
    if config.trading_config.allow_short and config.exchange_group != "US_EQUITY":
        problems.append(
            (
                "trading_config.allow_short",
                f"true, but {config.exchange_group} forbids short selling; remove it",
            )
        )
    return problems


def _plugin_params(
    type_path: str,
    params_path: str,
    kind: str,
    name: str,
    params: Mapping[str, Any],
    registry: Mapping[str, Collection[str] | None] | Collection[str] | None,
) -> list[tuple[str, str]]:
    """Unknown plugin name or parameters (when the registry knows the accepted ones)."""
    if registry is None:
        return []
    if name not in registry:
        return [(type_path, _unknown_name(name, kind, registry))]
    accepted = registry.get(name) if isinstance(registry, Mapping) else None
    if accepted is None:
        return []
    own = [p for p in accepted if p not in ("exchange", "currency", "name")]
    problems = []
    for key in params:
        if key not in own:
            message = (
                f"{_show(key)} is not a parameter of {kind} {_show(name)} "
                f"(accepted: {', '.join(own) or 'none'})"
            )
            close = difflib.get_close_matches(key, own, n=1)
            if close:
                message += f"; did you mean {_show(close[0])}?"
            problems.append((f"{params_path}.{key}", message))
    return problems
def _granularity_problem(type_name: str, kind: str, granularity: str | None) -> str | None:
    allowed = INDICATOR_GRANULARITIES.get(kind, ())
    if granularity is None:
        if kind == "both":
            return (
                f"missing: indicator type {_show(type_name)} computes both historical and "
                f"streaming values; set one of {', '.join(allowed)}"
            )
        return None
    if granularity not in allowed:
        return (
            f"{_show(granularity)} does not fit indicator type {_show(type_name)} "
            f"({kind}: {', '.join(allowed)})"
        )
    return None


def _date_problems(
    config: SessionConfig, backtest: BacktestConfig, calendar: str
) -> list[tuple[str, str]]:
    start, end = backtest.start_date, backtest.end_date
    known_start, known_end = calendars.covered_range(calendar)
    first, last = calendars.first_session(calendar), calendars.last_session(calendar)
    known = f"the {calendar} calendar knows {known_start}..{known_end}"
    problems: list[tuple[str, str]] = []
    if end < start:
        problems.append(("backtest_config.end_date", f"{end} is before start_date {start}"))
    if start < first:
        problems.append(
            (
                "backtest_config.start_date",
                f"{start} is before the first {calendar} session {first} ({known})",
            )
        )
    elif start > last:
        problems.append(
            (
                "backtest_config.start_date",
                f"{start} is after the last {calendar} session {last} ({known})",
            )
        )
    if end > known_end:
        problems.append(
            (
                "backtest_config.end_date",
                f"{end} is after the last {calendar} session {last} ({known})",
            )
        )
    elif end < first:
        problems.append(
            (
                "backtest_config.end_date",
                f"{end} is before the first {calendar} session {first} ({known})",
            )
        )
    if problems:
        return problems
    sessions = calendars.sessions_in_range(calendar, start, end)
    if not sessions:
        return [
            (
                "backtest_config",
                f"no {calendar} session from {start} to {end} (weekends and holidays only); "
                "widen the range",
            )
        ]
    first_day = sessions[0]
    historical = config.session_data_config.historical
    needs: list[tuple[str, int]] = [
        (f"session_data_config.historical.data[{i}].trailing_days", item.trailing_days)
        for i, item in enumerate(historical.data)
    ]
    for name, indicator in historical.indicators.items():
        if isinstance(indicator.period, str):
            needs.append(
                (
                    f"session_data_config.historical.indicators.{name}.period",
                    parse_period(indicator.period).trading_days,
                )
            )
    for path, days in needs:
        try:
            calendars.previous_session(calendar, first_day, days)
        except CalendarError:
            problems.append(
                (
                    path,
                    f"{days} trading days before {first_day} reach before the first {calendar} "
                    f"session {first} ({known}); start the backtest later",
                )
            )
    return problems


def _unknown_name(name: str, kind: str, known: Collection[str]) -> str:
    names = sorted(known)
    message = f"{_show(name)} is not a registered {kind} (known: {', '.join(names) or 'none'})"
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        message += f"; did you mean {_show(close[0])}?"
    return message


# ---------------------------------------------------------------------------------------------
# Turning pydantic errors into "path: value problem"
# ---------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as it would be written in the JSON file (dates bare, as in the messages)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return repr(value)
    try:
        text = json.dumps(value, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _format_error(item: Mapping[str, Any]) -> tuple[str, str]:
    loc = list(item["loc"])
    kind = item["type"]
    ctx = item.get("ctx") or {}
    value = item.get("input")
    if loc and loc[-1] == "[key]":  # a dict key failed its own validation
        loc = loc[:-1]
    path = _path(loc)
    shown = _show(value)
    if kind == "missing":
        return path, "required key is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        key = str(loc[-1])
        message = "unknown key"
        close = [name for name in allowed if name.startswith(key) or key.startswith(name)]
        close = close or difflib.get_close_matches(key, allowed, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
        if allowed:
            message += f"; allowed: {', '.join(allowed)}"
        return path, message
    if kind in ("value_error", "assertion_error"):
        message = str(item["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return path, message
    if kind == "literal_error":
        return path, f"{shown} is not allowed (expected {ctx.get('expected')})"
    if kind == "greater_than_equal":
        return path, f"{shown} must be >= {_number(ctx.get('ge'))}"
    if kind == "greater_than":
        return path, f"{shown} must be > {_number(ctx.get('gt'))}"
    if kind == "less_than_equal":
        return path, f"{shown} must be <= {_number(ctx.get('le'))}"
    if kind == "less_than":
        return path, f"{shown} must be < {_number(ctx.get('lt'))}"
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return path, f"must not be empty, was {shown}"
        return path, f"must list at least {ctx.get('min_length')} items, was {shown}"
    if kind == "string_too_short":
        return path, "must not be empty"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return path, f"{shown} is not a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return path, f"{shown} is not a finite number"
    if kind in ("bool_parsing", "bool_type"):
        return path, f"{shown} is not true or false"
    if kind == "string_type":
        return path, f"{shown} is not a string"
    if kind == "list_type":
        return path, f"{shown} is not a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return path, f"{shown} is not an object"
    message = str(item["msg"])
    return path, f"{shown}: {message[:1].lower()}{message[1:]}"


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            structured = [
                a
                for a in members
                if get_origin(_strip(a)) in (list, dict)
                or (isinstance(_strip(a), type) and issubclass(_strip(a), BaseModel))
            ]
            if len(structured) != 1:
                return annotation
            annotation = structured[0]
        else:
            return annotation


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _allowed_keys(loc: Sequence[int | str]) -> list[str]:
    """The field names of the model at ``loc`` (for "unknown key" messages)."""
    annotation: Any = SessionConfig
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif get_origin(annotation) is list and isinstance(part, int):
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


# ---------------------------------------------------------------------------------------------
# JSON schema
# ---------------------------------------------------------------------------------------------


def session_config_json_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of a session config file."""
    schema = SessionConfig.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "session_config.schema.json",
        **schema,
    }


def session_config_schema_text() -> str:
    """The schema as written to ``session_configs/session_config.schema.json``."""
    return json.dumps(session_config_json_schema(), indent=2, ensure_ascii=False) + "\n"
