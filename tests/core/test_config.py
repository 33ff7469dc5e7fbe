"""core.config: session configs load, every bad input gets a `file: json.path: problem` line."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import (
    SessionConfig,
    load_session_config,
    session_config_json_schema,
    session_config_schema_text,
    validate_session_config,
)
from core.errors import ConfigError
from core.timeframes import SUPPORTED_INTERVALS, parse_interval, parse_period

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "session_configs"
SCHEMA_FILE = CONFIG_DIR / "session_config.schema.json"
BUILTIN_SOURCES = {"synthetic", "files", "ssi", "alpaca"}
SOURCE = "session_configs/x.json"


def example() -> dict[str, Any]:
    return json.loads((CONFIG_DIR / "example_session.json").read_text())


def problems_of(data: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate_session_config(data, source=SOURCE, **kwargs)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def setter(*path: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


def deleter(*path: str | int) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return apply


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        for change in changes:
            change(data)

    return apply


# --- the shipped configs -------------------------------------------------------------------


def _shipped_configs() -> list[Path]:
    return sorted(p for p in CONFIG_DIR.glob("*.json") if p != SCHEMA_FILE)


@pytest.mark.parametrize("path", _shipped_configs(), ids=lambda p: p.name)
def test_every_shipped_session_config_is_valid(path: Path) -> None:
    config = load_session_config(path, data_sources=BUILTIN_SOURCES)
    assert config.session_data_config.symbols
    assert config.api_config.data_api in BUILTIN_SOURCES


def test_the_shipped_configs_include_the_example_and_vn30_backtest() -> None:
    names = {p.name for p in _shipped_configs()}
    assert {"example_session.json", "vn30_backtest.json"} <= names


def test_example_session_is_a_short_offline_us_backtest_over_independence_day() -> None:
    config = load_session_config(CONFIG_DIR / "example_session.json", data_sources=BUILTIN_SOURCES)
    assert config.exchange_group == "US_EQUITY"
    assert config.calendar_name == "XNYS"
    assert config.mode == "backtest"
    assert config.api_config.data_api == "synthetic"
    assert config.backtest_config is not None
    assert config.backtest_config.start_date == dt.date(2024, 7, 1)
    assert config.backtest_config.end_date == dt.date(2024, 7, 5)
    assert config.backtest_config.speed_multiplier == 0
    assert 2 <= len(config.symbols) <= 4
    assert config.stream_intervals == ["1m", "5m", "15m"]
    assert config.streamed_interval == "1m"
    assert config.generated_intervals == ["5m", "15m"]
    indicators = config.session_data_config.historical.indicators
    assert indicators["avg_volume"].type == "trailing_average"
    assert indicators["avg_volume"].params == {"period": "10d"}
    assert indicators["avg_volume"].granularity == "daily"
    assert {i.granularity for i in indicators.values()} == {"daily", "intraday"}


def test_vn30_backtest_is_hose_synthetic_in_2025() -> None:
    config = load_session_config(CONFIG_DIR / "vn30_backtest.json", data_sources=BUILTIN_SOURCES)
    assert (config.exchange_group, config.calendar_name) == ("HOSE", "XSTC")
    assert config.backtest_config is not None
    assert config.backtest_config.start_date.year == config.backtest_config.end_date.year == 2025
    assert {"ACB", "FPT", "VCB"} <= set(config.symbols)


def test_schema_file_equals_the_schema_generated_from_the_models() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == session_config_schema_text(), (
        "regenerate it: sessiond schema -o session_configs/session_config.schema.json"
    )


def test_schema_forbids_unknown_keys_and_documents_every_field() -> None:
    schema = session_config_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {
        "session_name",
        "exchange_group",
        "mode",
        "session_data_config",
        "api_config",
    }
    models = {"SessionConfig": schema, **schema["$defs"]}
    for name, model in models.items():
        for field, spec in model["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"
        if name not in ("IndicatorConfig", "FeesConfig"):  # plugin parameters pass through
            assert model["additionalProperties"] is False, name
    assert schema["properties"]["mode"]["enum"] == ["live", "backtest"]


# --- bad input: one line each, `file: path: problem` ---------------------------------------

BAD_INPUTS: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    (
        "end before start",
        both(
            setter("backtest_config", "start_date", value="2024-02-01"),
            setter("backtest_config", "end_date", value="2024-01-01"),
        ),
        [f"{SOURCE}: backtest_config.end_date: 2024-01-01 is before start_date 2024-02-01"],
    ),
    (
        "unknown key with a suggestion",
        setter("backtest_config", "speed", value=5),
        [
            f"{SOURCE}: backtest_config.speed: unknown key (did you mean 'speed_multiplier'?); "
            "allowed: start_date, end_date, speed_multiplier, prefetch_days"
        ],
    ),
    (
        "unknown top-level key",
        setter("sesion_name", value="x"),
        [
            f"{SOURCE}: sesion_name: unknown key (did you mean 'session_name'?); allowed: "
            "session_name, exchange_group, asset_class, mode, backtest_config, "
            "session_data_config, strategy, trading_config, api_config, metadata"
        ],
    ),
    (
        "negative speed",
        setter("backtest_config", "speed_multiplier", value=-1),
        [f"{SOURCE}: backtest_config.speed_multiplier: -1 must be >= 0"],
    ),
    (
        "date not ISO",
        setter("backtest_config", "start_date", value="07/01/2024"),
        [f"{SOURCE}: backtest_config.start_date: '07/01/2024' is not a date (expected YYYY-MM-DD)"],
    ),
    (
        "unknown exchange group",
        setter("exchange_group", value="NYSEX"),
        [
            f"{SOURCE}: exchange_group: 'NYSEX' is not allowed (expected 'US_EQUITY', 'HOSE', "
            "'HNX', 'UPCOM' or 'VN_DERIVATIVES')"
        ],
    ),
    (
        "unknown mode",
        setter("mode", value="paper"),
        [f"{SOURCE}: mode: 'paper' is not allowed (expected 'live' or 'backtest')"],
    ),
    (
        "bad streams",
        setter("session_data_config", "streams", value=["1m", "2m", "tradez"]),
        [
            f"{SOURCE}: session_data_config.streams[1]: '2m' is not a stream (expected an interval "
            "1s, 1m, 5m, 10m, 15m, 30m, 1h, 1d or one of trades, quotes, foreign, index, status)",
            f"{SOURCE}: session_data_config.streams[2]: 'tradez' is not a stream (expected an "
            "interval 1s, 1m, 5m, 10m, 15m, 30m, 1h, 1d or one of trades, quotes, foreign, index, "
            "status)",
        ],
    ),
    (
        "bad historical interval",
        setter("session_data_config", "historical", "data", 0, "intervals", value=["1m", "7m"]),
        [
            f"{SOURCE}: session_data_config.historical.data[0].intervals[1]: interval '7m' is not "
            "supported (expected one of 1s, 1m, 5m, 10m, 15m, 30m, 1h, 1d)"
        ],
    ),
    (
        "bad period",
        setter(
            "session_data_config", "historical", "indicators", "avg_volume", "period", value="10x"
        ),
        [
            f"{SOURCE}: session_data_config.historical.indicators.avg_volume.period: period '10x' "
            "is not valid (expected a positive count of trading days or weeks, e.g. '10d' or '52w')"
        ],
    ),
    (
        "empty indicator type",
        setter("session_data_config", "historical", "indicators", "avg_volume", "type", value=" "),
        [f"{SOURCE}: session_data_config.historical.indicators.avg_volume.type: must not be empty"],
    ),
    (
        "missing indicator type",
        setter("session_data_config", "historical", "indicators", "spike", value={"period": "5d"}),
        [
            f"{SOURCE}: session_data_config.historical.indicators.spike.type: required key is missing"
        ],
    ),
    (
        "apply_to not a subset of symbols",
        setter("session_data_config", "historical", "data", 0, "apply_to", value=["AAPL", "TSLA"]),
        [
            f"{SOURCE}: session_data_config.historical.data[0].apply_to[1]: 'TSLA' is not in "
            "session_data_config.symbols (AAPL, MSFT, RIVN)"
        ],
    ),
    (
        "apply_to neither all nor a list",
        setter("session_data_config", "historical", "data", 0, "apply_to", value="everything"),
        [
            f"{SOURCE}: session_data_config.historical.data[0].apply_to: 'everything' is neither "
            '"all" nor a list of symbols'
        ],
    ),
    (
        "missing symbols",
        deleter("session_data_config", "symbols"),
        [f"{SOURCE}: session_data_config.symbols: required key is missing"],
    ),
    (
        "empty symbols",
        setter("session_data_config", "symbols", value=[]),
        [f"{SOURCE}: session_data_config.symbols: must not be empty, was []"],
    ),
    (
        "duplicate symbol (case-insensitive)",
        setter("session_data_config", "symbols", value=["AAPL", "aapl"]),
        [f"{SOURCE}: session_data_config.symbols: 'AAPL' is listed twice"],
    ),
    (
        "start before the calendar's first session",
        setter("backtest_config", "start_date", value="1980-01-02"),
        [
            f"{SOURCE}: backtest_config.start_date: 1980-01-02 is before the first XNYS session "
            "1990-01-02 (the XNYS calendar knows 1990-01-01..2030-12-31)"
        ],
    ),
    (
        "HOSE dates outside the holiday table",
        both(
            setter("exchange_group", value="HOSE"),
            setter("backtest_config", "start_date", value="2026-12-01"),
            setter("backtest_config", "end_date", value="2027-01-08"),
        ),
        [
            f"{SOURCE}: backtest_config.end_date: 2027-01-08 is after the last XSTC session "
            "2026-12-31 (the XSTC calendar knows 2024-01-01..2026-12-31)"
        ],
    ),
    (
        "trailing history before the calendar's first session",
        both(
            setter("exchange_group", value="HOSE"),
            setter("backtest_config", "start_date", value="2024-01-12"),
            setter("backtest_config", "end_date", value="2024-01-19"),
        ),
        [
            f"{SOURCE}: session_data_config.historical.data[1].trailing_days: 10 trading days "
            "before 2024-01-12 reach before the first XSTC session 2024-01-02 (the XSTC calendar "
            "knows 2024-01-01..2026-12-31); start the backtest later",
            f"{SOURCE}: session_data_config.historical.indicators.avg_volume.period: 10 trading "
            "days before 2024-01-12 reach before the first XSTC session 2024-01-02 (the XSTC "
            "calendar knows 2024-01-01..2026-12-31); start the backtest later",
        ],
    ),
    (
        "no session in range",
        both(
            setter("backtest_config", "start_date", value="2024-07-06"),
            setter("backtest_config", "end_date", value="2024-07-07"),
        ),
        [
            f"{SOURCE}: backtest_config: no XNYS session from 2024-07-06 to 2024-07-07 (weekends "
            "and holidays only); widen the range"
        ],
    ),
    (
        "backtest without backtest_config",
        deleter("backtest_config"),
        [f'{SOURCE}: backtest_config: is required when mode is "backtest"'],
    ),
    (
        "trailing days zero and not a number",
        both(
            setter("session_data_config", "historical", "data", 0, "trailing_days", value=0),
            setter("session_data_config", "historical", "data", 1, "trailing_days", value="ten"),
        ),
        [
            f"{SOURCE}: session_data_config.historical.data[0].trailing_days: 0 must be >= 1",
            f"{SOURCE}: session_data_config.historical.data[1].trailing_days: 'ten' is not a whole "
            "number",
        ],
    ),
    (
        "a string where a boolean belongs",
        setter("session_data_config", "extended_hours", "pre_market", value="yes"),
        [f"{SOURCE}: session_data_config.extended_hours.pre_market: 'yes' is not true or false"],
    ),
    (
        "extended hours outside the US",
        both(
            setter("exchange_group", value="HOSE"),
            setter("backtest_config", "start_date", value="2025-03-03"),
            setter("backtest_config", "end_date", value="2025-03-07"),
            setter("session_data_config", "extended_hours", "post_market", value=True),
        ),
        [
            f"{SOURCE}: session_data_config.extended_hours.post_market: true, but HOSE has no "
            "post-market session (only US_EQUITY does); remove it"
        ],
    ),
    (
        "an object expected",
        setter("session_data_config", "historical", "indicators", "avg_volume", value="10d"),
        [f"{SOURCE}: session_data_config.historical.indicators.avg_volume: '10d' is not an object"],
    ),
    (
        "bad indicator name",
        setter(
            "session_data_config", "historical", "indicators", "avg volume!", value={"type": "sma"}
        ),
        [
            f"{SOURCE}: session_data_config.historical.indicators.avg volume!: indicator name "
            "'avg volume!' is not valid (expected letters, digits, '_' or '-')"
        ],
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS]
)
def test_bad_input_is_reported_as_file_path_and_problem(
    change: Callable[[dict[str, Any]], None], expected: list[str]
) -> None:
    data = example()
    change(data)
    assert problems_of(data, data_sources=BUILTIN_SOURCES) == expected


def test_every_problem_of_a_config_is_reported_one_per_line() -> None:
    data = example()
    setter("mode", value="paper")(data)
    setter("backtest_config", "speed_multiplier", value=-2.5)(data)
    setter("session_data_config", "streams", value=["1m", "ticks"])(data)
    deleter("api_config", "data_api")(data)
    assert problems_of(data) == [
        f"{SOURCE}: mode: 'paper' is not allowed (expected 'live' or 'backtest')",
        f"{SOURCE}: backtest_config.speed_multiplier: -2.5 must be >= 0",
        f"{SOURCE}: session_data_config.streams[1]: 'ticks' is not a stream (expected an interval "
        "1s, 1m, 5m, 10m, 15m, 30m, 1h, 1d or one of trades, quotes, foreign, index, status)",
        f"{SOURCE}: api_config.data_api: required key is missing",
    ]


def test_data_api_must_be_a_registered_data_source_and_trade_api_a_registered_broker() -> None:
    data = example()
    data["api_config"] = {"data_api": "alpacca", "trade_api": "simulatd"}
    assert problems_of(
        data, data_sources=BUILTIN_SOURCES, brokers={"simulated", "alpaca_paper"}
    ) == [
        f"{SOURCE}: api_config.data_api: 'alpacca' is not a registered data source (known: "
        "alpaca, files, ssi, synthetic); did you mean 'alpaca'?",
        f"{SOURCE}: api_config.trade_api: 'simulatd' is not a registered broker (known: "
        "alpaca_paper, simulated); did you mean 'simulated'?",
    ]
    # a data source is not a broker
    data["api_config"] = {"data_api": "alpaca", "trade_api": "alpaca"}
    assert problems_of(data, brokers={"simulated", "alpaca_paper"}) == [
        f"{SOURCE}: api_config.trade_api: 'alpaca' is not a registered broker (known: "
        "alpaca_paper, simulated); did you mean 'alpaca_paper'?",
    ]
    # without the registry the names are not checked
    data["api_config"] = {"data_api": "alpacca", "trade_api": "ibkr"}
    assert validate_session_config(data).api_config.trade_api == "ibkr"


def test_classifier_and_indicator_names_are_checked_when_the_registry_is_given() -> None:
    data = example()
    data["session_data_config"]["classifiers"] = ["vendor_side", "lee_readyy"]
    assert problems_of(
        data,
        classifiers={"vendor_side", "lee_ready"},
        indicator_types={"trailing_max"},
    ) == [
        f"{SOURCE}: session_data_config.classifiers[1]: 'lee_readyy' is not a registered trade "
        "classifier (known: lee_ready, vendor_side); did you mean 'lee_ready'?",
        f"{SOURCE}: session_data_config.historical.indicators.avg_volume.type: 'trailing_average' "
        "is not a registered indicator type (known: trailing_max); did you mean 'trailing_max'?",
        f"{SOURCE}: session_data_config.historical.indicators.avg_volume_by_minute.type: "
        "'trailing_average' is not a registered indicator type (known: trailing_max); did you "
        "mean 'trailing_max'?",
    ]


def test_invalid_json_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "session_name": "x",\n  "mode": "backtest",\n}\n')
    with pytest.raises(ConfigError) as info:
        load_session_config(path)
    assert str(info.value) == (
        f"{path}: line 4 column 1: Expecting property name enclosed in double quotes (not valid JSON)"
    )


def test_duplicate_keys_and_missing_files_and_non_objects_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text('{"mode": "live", "mode": "backtest"}')
    with pytest.raises(ConfigError, match=r"dup\.json: mode: the key appears twice in one object"):
        load_session_config(path)
    with pytest.raises(ConfigError, match=r"nowhere\.json: file not found$"):
        load_session_config(tmp_path / "nowhere.json")
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(ConfigError) as info:
        load_session_config(listing)
    assert str(info.value) == f"{listing}: (top level): [1, 2] is not a JSON object"


def test_the_file_name_is_the_path_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("session_configs").mkdir()
    data = example()
    data["mode"] = "paper"
    Path("session_configs/x.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError) as info:
        load_session_config("session_configs/x.json")
    assert info.value.problems == [
        "session_configs/x.json: mode: 'paper' is not allowed (expected 'live' or 'backtest')"
    ]


# --- conveniences --------------------------------------------------------------------------


def test_live_mode_needs_no_backtest_dates_and_symbols_are_upper_cased() -> None:
    data = example()
    del data["backtest_config"]
    data["mode"] = "live"
    data["session_data_config"]["symbols"] = ["aapl", "brk.b"]
    data["session_data_config"]["streams"] = ["trades", "quotes", "5m", "1m"]
    config = validate_session_config(data)
    assert config.symbols == ["AAPL", "BRK.B"]
    assert config.stream_intervals == ["1m", "5m"]
    assert config.streamed_interval == "1m"
    assert config.generated_intervals == ["5m"]
    assert config.symbols_for("all") == ["AAPL", "BRK.B"]
    assert config.symbols_for(["brk.b"]) == ["BRK.B"]


def test_streams_without_bars_have_no_streamed_interval() -> None:
    data = example()
    data["session_data_config"]["streams"] = ["trades"]
    config = validate_session_config(data)
    assert config.stream_intervals == []
    assert config.streamed_interval is None


def test_defaults_apply_when_optional_sections_are_absent() -> None:
    data = example()
    for key in ("trading_config", "metadata", "asset_class"):
        data.pop(key)
    data["session_data_config"] = {"symbols": ["AAPL"], "streams": ["1m"]}
    data["backtest_config"] = {"start_date": "2024-07-01", "end_date": "2024-07-02"}
    config = validate_session_config(data)
    assert config.asset_class == "EQUITY"
    assert config.backtest_config is not None
    assert config.backtest_config.speed_multiplier == 0
    assert config.backtest_config.prefetch_days == 3
    gap = config.session_data_config.gap_filler
    assert (gap.max_retries, gap.retry_interval_seconds, gap.enable_session_quality) == (
        5,
        60,
        True,
    )
    assert config.session_data_config.historical.data == []
    assert config.session_data_config.classifiers is None
    assert config.trading_config.max_buying_power is None


def test_configs_are_frozen_and_overrides_are_validated_again() -> None:
    config = validate_session_config(example())
    with pytest.raises(ValueError):
        config.mode = "live"  # type: ignore[misc]
    shorter = config.with_overrides(end_date=dt.date(2024, 7, 3), speed_multiplier=360)
    assert shorter.backtest_config is not None
    assert shorter.backtest_config.end_date == dt.date(2024, 7, 3)
    assert shorter.backtest_config.speed_multiplier == 360
    assert shorter.backtest_config.start_date == dt.date(2024, 7, 1)
    with pytest.raises(ConfigError) as info:
        config.with_overrides(end_date=dt.date(2024, 6, 1), source="--end")
    assert info.value.problems == [
        "--end: backtest_config.end_date: 2024-06-01 is before start_date 2024-07-01"
    ]


def test_session_config_round_trips_through_json() -> None:
    config = validate_session_config(example())
    again = validate_session_config(json.loads(config.model_dump_json()))
    assert again == config
    assert isinstance(again, SessionConfig)


# --- properties of interval and period parsing ---------------------------------------------


@given(st.sampled_from(SUPPORTED_INTERVALS), st.sampled_from(SUPPORTED_INTERVALS))
def test_interval_order_follows_length(a: str, b: str) -> None:
    ia, ib = parse_interval(a), parse_interval(b)
    assert (ia < ib) == (SUPPORTED_INTERVALS.index(a) < SUPPORTED_INTERVALS.index(b))
    assert ia.label == a and str(ia) == a


@settings(max_examples=200)
@given(st.text(min_size=0, max_size=6))
def test_interval_parsing_accepts_exactly_the_supported_labels(text: str) -> None:
    if text.strip() in SUPPORTED_INTERVALS:
        assert parse_interval(text).label == text.strip()
    else:
        with pytest.raises(ConfigError, match="is not supported"):
            parse_interval(text)


@settings(max_examples=200)
@given(st.integers(1, 10_000), st.sampled_from(["d", "w"]))
def test_period_parsing_counts_trading_days(count: int, unit: str) -> None:
    period = parse_period(f"{count}{unit}")
    assert period.trading_days == (count if unit == "d" else count * 5)
    assert period.label == f"{count}{unit}"


@settings(max_examples=200)
@given(
    st.text(max_size=6).filter(
        lambda t: not (t.strip()[:-1].isdigit() and t.strip()[-1:] in "dw" and t.strip()[-1:])
    )
)
def test_period_parsing_rejects_everything_else(text: str) -> None:
    with pytest.raises(ConfigError, match="is not valid"):
        parse_period(text)


@settings(max_examples=100, deadline=None)
@given(st.integers(-5, 50), st.sampled_from(["d", "w", "m", ""]))
def test_indicator_periods_in_configs_follow_the_parser(count: int, unit: str) -> None:
    data = example()
    data["session_data_config"]["historical"]["indicators"] = {
        "x": {"type": "trailing_average", "period": f"{count}{unit}"}
    }
    valid = unit in ("d", "w") and count >= 1
    if valid:
        config = validate_session_config(data)
        assert config.session_data_config.historical.indicators["x"].period == f"{count}{unit}"
    else:
        with pytest.raises(ConfigError, match=r"indicators\.x\.period: period .* is not valid"):
            validate_session_config(data)


# --- the CLI: sessiond check-config / sessiond schema --------------------------------------


def _cli() -> Any:
    from typer.testing import CliRunner

    from daemon.cli import app

    return CliRunner(), app


def test_check_config_prints_a_summary_with_trading_days() -> None:
    runner, app = _cli()
    result = runner.invoke(app, ["check-config", str(CONFIG_DIR / "example_session.json")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"OK {CONFIG_DIR / 'example_session.json'}"
    assert "  exchange  US_EQUITY -> XNYS (America/New_York)" in lines
    assert "  mode      backtest 2024-07-01..2024-07-05, speed 0 (data-driven)" in lines
    assert "  symbols   AAPL, MSFT, RIVN (3)" in lines
    assert "  trading days in range: 4 (1 early close), first 2024-07-01, last 2024-07-05" in lines


def test_check_config_prints_each_problem_and_exits_1(tmp_path: Path) -> None:
    data = example()
    data["api_config"]["data_api"] = "synthetik"
    data["backtest_config"]["end_date"] = "2024-06-28"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    runner, app = _cli()
    result = runner.invoke(app, ["check-config", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert (
        lines[0] == f"{path}: backtest_config.end_date: 2024-06-28 is before start_date 2024-07-01"
    )
    assert lines[1].startswith(
        f"{path}: api_config.data_api: 'synthetik' is not a registered data source (known: "
    )
    assert lines[1].endswith("did you mean 'synthetic'?")
    assert len(lines) == 2


def test_schema_command_prints_the_generated_schema(tmp_path: Path) -> None:
    runner, app = _cli()
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == session_config_schema_text()
    target = tmp_path / "schema.json"
    assert runner.invoke(app, ["schema", "--output", str(target)]).exit_code == 0
    assert json.loads(target.read_text()) == session_config_json_schema()
