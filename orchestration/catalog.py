"""What the Dagster code location loads, read from the session configs (one source of truth).

Every ``*.json`` file in ``session_configs/`` (except the JSON schema) is parsed with
``core.config.load_session_config`` — the loader the daemon uses — and folded into one
:class:`ExchangeCatalog` per exchange calendar:

- ``loads``: for each data source the configs name (``api_config.data_api`` with its
  ``data_api_options``), the symbols to fetch per interval — the historical ``data`` intervals
  plus the streamed interval (the daemon replays that one from the store in backtests).
  Daily bars (``1d``) are not fetched: the ``daily_bars`` asset builds them from the intraday
  bars, aligned to the session. ``extended_hours``: per interval, the US pre-/post-market
  phases to load as well — the union of ``session_data_config.extended_hours`` over the
  configs that stream that interval from the source (like the daemon, which widens only the
  streamed interval's days; trailing history stays regular hours).
- ``indicators``: each historical indicator the configs declare (config key -> type and params)
  with the symbols and the source whose bars it reads.
- ``max_retries`` / ``retry_interval_seconds``: the most patient ``gap_filler`` of the configs.
- ``earliest_needed``: the oldest day a backtest config needs (start date minus its trailing
  history), so partitions reach back far enough.

Two configs on one calendar may share a source and an indicator name only if they agree on the
options / parameters; otherwise building the catalog raises ``ConfigError`` naming both files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError
from core.timeframes import is_interval, parse_interval, trailing_days

if TYPE_CHECKING:
    from core.config import SessionConfig

SESSION_CONFIG_DIR = Path(__file__).resolve().parent.parent / "session_configs"
"""``session_configs/`` at the repository root."""

_SCHEMA_SUFFIX = ".schema.json"


@dataclass(frozen=True, slots=True)
class SourceLoad:
    """Bars one data source must deliver for each trading day.

    ``name`` is the config's ``data_api`` (the plugin name, and the ``source`` column of the
    rows in the store); ``symbols_by_interval`` maps an intraday interval label to its symbols;
    ``extended_hours`` maps an interval label to its ``(pre_market, post_market)`` flags
    (intervals not listed: regular hours only).
    """

    name: str
    options: tuple[tuple[str, Any], ...]
    symbols_by_interval: tuple[tuple[str, tuple[str, ...]], ...]
    extended_hours: tuple[tuple[str, tuple[bool, bool]], ...] = ()

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol this source loads, sorted."""
        return tuple(sorted({s for _, syms in self.symbols_by_interval for s in syms}))

    @property
    def intervals(self) -> tuple[str, ...]:
        """The intervals this source loads, smallest first."""
        return tuple(label for label, _ in self.symbols_by_interval)

    @property
    def base_interval(self) -> str:
        """The smallest interval (what daily bars and indicators are built from)."""
        return self.intervals[0]

    def options_dict(self) -> dict[str, Any]:
        return dict(self.options)

    def extended_for(self, interval: str) -> tuple[bool, bool]:
        """``(pre_market, post_market)`` loaded for ``interval`` (``(False, False)``: regular
        hours only)."""
        return dict(self.extended_hours).get(interval, (False, False))

    @property
    def extended_union(self) -> tuple[bool, bool]:
        """The extended phases any interval of this source loads (what its plugin must keep)."""
        flags = [pair for _, pair in self.extended_hours]
        return any(pre for pre, _ in flags), any(post for _, post in flags)


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """One historical indicator a config declares: ``name`` (the config key, also the stored
    indicator name), plugin ``type``, its ``params`` (period, granularity, field ...), the
    ``symbols`` it applies to and the ``source`` whose bars feed it."""

    name: str
    type: str
    params: tuple[tuple[str, Any], ...]
    symbols: tuple[str, ...]
    source: str

    def params_dict(self) -> dict[str, Any]:
        """The config entry's keys but ``type`` (``granularity`` included when configured)."""
        return dict(self.params)

    def plugin_params(self) -> dict[str, Any]:
        """What the indicator's constructor receives from the config (``granularity`` is
        resolved and passed by sessiond itself: ``plugins.interfaces.Indicator``)."""
        return {k: v for k, v in self.params if k != "granularity"}

    @property
    def granularity(self) -> str | None:
        """The configured granularity (None: the indicator type's default)."""
        value = self.params_dict().get("granularity")
        return None if value is None else str(value)

    @property
    def trailing_days(self) -> int:
        """Trading days of history the indicator needs (its period in days or weeks; 1 when it
        has none or counts bars)."""
        return trailing_days(self.params_dict().get("period"))


@dataclass(frozen=True, slots=True)
class ExchangeCatalog:
    """Everything the partitions of one exchange calendar load (see module docstring)."""

    calendar: str
    exchange_group: str
    loads: tuple[SourceLoad, ...]
    indicators: tuple[IndicatorSpec, ...]
    max_retries: int
    retry_interval_seconds: float
    earliest_needed: date | None
    config_files: tuple[str, ...] = field(default=())

    @property
    def key_prefix(self) -> str:
        """Asset key prefix and group name, e.g. ``us_equity`` or ``hose``."""
        return self.exchange_group.lower()

    def load_for(self, source: str) -> SourceLoad:
        for load in self.loads:
            if load.name == source:
                return load
        raise ConfigError(
            f"no session config for {self.calendar} uses data source {source!r} "
            f"(configured: {', '.join(load.name for load in self.loads)})"
        )


def session_config_files(directory: Path = SESSION_CONFIG_DIR) -> list[Path]:
    """The session config files of ``directory`` (sorted; the JSON schema is skipped)."""
    if not directory.is_dir():
        return []
    return sorted(
        path for path in directory.glob("*.json") if not path.name.endswith(_SCHEMA_SUFFIX)
    )


def _freeze(mapping: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((str(k), _hashable(v)) for k, v in mapping.items()))


def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _indicator_entries(config: SessionConfig) -> dict[str, dict[str, Any]]:
    raw = config.session_data_config.historical.indicators or {}
    entries: dict[str, dict[str, Any]] = {}
    for name, entry in raw.items():
        data = entry.model_dump(exclude_none=True) if hasattr(entry, "model_dump") else dict(entry)
        entries[str(name)] = data
    return entries



def _earliest_needed(
    config: SessionConfig, indicators: Mapping[str, dict[str, Any]]
) -> date | None:
    backtest = config.backtest_config
    if backtest is None or config.mode != "backtest":
        return None
    trailing = [item.trailing_days for item in config.session_data_config.historical.data]
    for entry in indicators.values():
        trailing.append(trailing_days(entry.get("period")))
    days = max(trailing, default=0)
    # trading days -> calendar days, generously (weekends and holidays)
    return backtest.start_date - timedelta(days=days * 7 // 5 + 10)


def build_catalogs(paths: Iterable[Path]) -> dict[str, ExchangeCatalog]:
    """Fold the session configs at ``paths`` into one catalog per calendar name."""
    from core.config import load_session_config

    per_calendar: dict[str, dict[str, Any]] = {}
    for path in paths:
        config = load_session_config(path)
        calendar = config.calendar_name
        acc = per_calendar.setdefault(
            calendar,
            {
                "group": config.exchange_group,
                "sources": {},
                "indicators": {},
                "retries": 0,
                "interval": 0.0,
                "earliest": None,
                "files": [],
            },
        )
        acc["files"].append(path.name)
        source = config.api_config.data_api
        options = _freeze(config.api_config.data_api_options or {})
        slot = acc["sources"].setdefault(
            source, {"options": options, "file": path.name, "by": {}, "extended": {}}
        )
        if slot["options"] != options:
            raise ConfigError(
                f"{path.name}: api_config.data_api_options: differ from {slot['file']} for data "
                f"source {source!r} on {calendar}; use one set of options per source and calendar"
            )
        wanted: list[tuple[str, list[str]]] = []
        for item in config.session_data_config.historical.data:
            for interval in item.intervals:
                wanted.append((interval, list(config.symbols_for(item.apply_to))))
        streamed = config.streamed_interval
        if streamed and is_interval(streamed):
            wanted.append((streamed, list(config.session_data_config.symbols)))
            extended = config.session_data_config.extended_hours
            if not parse_interval(streamed).is_daily and (
                extended.pre_market or extended.post_market
            ):
                pre, post = slot["extended"].get(streamed, (False, False))
                slot["extended"][streamed] = (
                    pre or extended.pre_market,
                    post or extended.post_market,
                )
        for interval, symbols in wanted:
            if parse_interval(interval).is_daily:
                continue
            slot["by"].setdefault(interval, set()).update(symbols)
        indicators = _indicator_entries(config)
        for name, entry in indicators.items():
            params = {k: v for k, v in entry.items() if k != "type"}
            spec_key = (entry["type"], _freeze(params), source)
            known = acc["indicators"].get(name)
            if known is not None and known["key"] != spec_key:
                raise ConfigError(
                    f"{path.name}: session_data_config.historical.indicators.{name}: differs from "
                    f"{known['file']} on {calendar}; give the indicator another name"
                )
            if known is None:
                known = acc["indicators"][name] = {
                    "key": spec_key,
                    "file": path.name,
                    "symbols": set(),
                }
            known["symbols"].update(config.session_data_config.symbols)
            if not slot["by"]:
                # an indicator needs bars even when a config lists no intraday history
                slot["by"].setdefault("1m", set()).update(config.session_data_config.symbols)
        gap = config.session_data_config.gap_filler
        acc["retries"] = max(acc["retries"], int(gap.max_retries))
        acc["interval"] = max(acc["interval"], float(gap.retry_interval_seconds))
        earliest = _earliest_needed(config, indicators)
        if earliest is not None and (acc["earliest"] is None or earliest < acc["earliest"]):
            acc["earliest"] = earliest

    catalogs: dict[str, ExchangeCatalog] = {}
    for calendar, acc in sorted(per_calendar.items()):
        loads = tuple(
            SourceLoad(
                name=source,
                options=slot["options"],
                symbols_by_interval=tuple(
                    (label, tuple(sorted(symbols)))
                    for label, symbols in sorted(
                        slot["by"].items(), key=lambda kv: parse_interval(kv[0])
                    )
                ),
                extended_hours=tuple(
                    (label, flags)
                    for label, flags in sorted(
                        slot["extended"].items(), key=lambda kv: parse_interval(kv[0])
                    )
                ),
            )
            for source, slot in sorted(acc["sources"].items())
            if slot["by"]
        )
        specs = tuple(
            IndicatorSpec(
                name=name,
                type=entry["key"][0],
                params=entry["key"][1],
                symbols=tuple(sorted(entry["symbols"])),
                source=entry["key"][2],
            )
            for name, entry in sorted(acc["indicators"].items())
        )
        catalogs[calendar] = ExchangeCatalog(
            calendar=calendar,
            exchange_group=acc["group"],
            loads=loads,
            indicators=specs,
            max_retries=acc["retries"],
            retry_interval_seconds=acc["interval"],
            earliest_needed=acc["earliest"],
            config_files=tuple(acc["files"]),
        )
    return catalogs


def config_directory() -> Path:
    """Where the session configs are: ``SESSIOND_CONFIG_DIR`` (env or ``.env``), else the
    repository's ``session_configs/``; ConfigError when the variable names no folder."""
    from core.settings import get_settings

    configured = get_settings().config_dir
    if configured is None:
        return SESSION_CONFIG_DIR
    directory = Path(configured).expanduser()
    if not directory.is_dir():
        raise ConfigError(
            f"SESSIOND_CONFIG_DIR {configured!r} is not a folder: point it at a folder of "
            "session config JSON files, or unset it to use session_configs/"
        )
    return directory


def load_catalogs(directory: Path | None = None) -> dict[str, ExchangeCatalog]:
    """Catalogs of every session config in ``directory`` (default :func:`config_directory`)."""
    return build_catalogs(session_config_files(directory or config_directory()))
