"""The warm-up before each trading day: trailing history, historical indicators, their quality.

What a day needs (a session config's ``session_data_config.historical``):

- **history**: for each ``data`` entry, its intervals' bars of the ``trailing_days`` trading
  days before the day (regular hours), in ``SessionData.history``;
- **historical indicators** (granularity ``daily``/``intraday``; ``plugins.interfaces``): per
  symbol, the values stored under the engine's keys (name, symbol, ``as_of`` = the day's open,
  source ``sessiond`` — what the Dagster indicator assets write, or an earlier run) are used as
  they are (``complete`` or not) unless per-minute values have a hole; the other symbols are
  computed by the plugin's ``compute`` from the bars of the ``period`` trading days before
  the day (``1d`` bars for ``daily``, the streamed interval for ``intraday``) and stored;
- **history quality** per (symbol, interval, trailing day) (``daemon.quality``).

It rolls instead of starting over each day. The run's days are taken in chunks
(:data:`CHUNK_DAYS`, a whole backtest of that length at once; live: day by day): for a chunk,
stored indicator values are read in one query, what the store lacks is fetched through the
data source in one bulk request per interval (``plugins.history.load_history``: one existence
query per interval), and the bars are read once per interval as columns
(``Store.read_bar_columns``), cut into per-(symbol, day) blocks. Each day then only assembles
its trailing window from blocks already in memory (the new day is added, the oldest dropped),
turns a block into records once (kept while the day is in any window), and passes indicators a
``plugins.interfaces.TrailingBars`` whose per-day lists keep their identity from one day to
the next, so the built-in trailing indicators reduce each day once (incremental). Quality is
assessed once per (symbol, interval, day) and stored once. The results are those of the
day-by-day recomputation this replaces (a test compares them).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import chain
from typing import Any

import numpy as np

from core.columns import BarColumns, TimeCache, datetime_to_ns
from core.config import SessionConfig
from core.errors import SessiondError
from core.models import Bar, IndicatorValue, QualityResult
from core.sessions import SessionWindow
from core.store import Store
from core.timeframes import trailing_days
from daemon import quality
from daemon.clock import perf_seconds
from daemon.results import DayResult
from daemon.schedule import TradingSchedule
from daemon.session_data import SessionData
from plugins.history import day_window, load_history
from plugins.interfaces import TrailingBars, indicator_granularity
from plugins.manager import PluginHost

CHUNK_DAYS = 20
"""Trading days whose history is fetched and read at once (bounds memory on long runs)."""

AS_OF_TOLERANCE = timedelta(seconds=1)
"""Stored indicator values count for a day when ``as_of`` is in ``[open, open + 1 s)``."""

_NO_BARS: tuple[Bar, ...] = ()


@dataclass(frozen=True, slots=True)
class HistoricalIndicator:
    """One configured historical indicator: its instance and the bars it reads."""

    name: str
    indicator: Any
    interval: str
    trailing_days: int


@dataclass(frozen=True, slots=True)
class _Need:
    interval: str
    symbols: tuple[str, ...]
    trailing_days: int


class Warmup:
    """Prepares each trading day's history, historical indicators and quality (module doc).

    ``generated_source``: the ``source`` of what the engine stores (indicator values);
    ``persist=False`` stores nothing. ``streaming`` holds, per symbol, the streaming
    indicators ``(name, instance)`` (granularity ``bar``) the streamer feeds.
    """

    def __init__(
        self,
        config: SessionConfig,
        *,
        store: Store,
        host: PluginHost,
        source: Any,
        source_name: str,
        schedule: TradingSchedule,
        session_data: SessionData,
        generated_source: str,
        persist: bool,
    ) -> None:
        self.config = config
        self.store = store
        self.source = source
        self.source_name = source_name
        self.calendar = config.calendar_name
        self.schedule = schedule
        self.data = session_data
        self.generated_source = generated_source
        self.persist = persist
        self.symbols = tuple(sorted(set(config.session_data_config.symbols)))
        historical = config.session_data_config.historical
        self.enable_quality = historical.enable_quality
        self.entries = [
            _Need(interval, tuple(sorted(set(config.symbols_for(e.apply_to)))), e.trailing_days)
            for e in historical.data
            for interval in e.intervals
        ]
        self.indicators: list[HistoricalIndicator] = []
        self.streaming: dict[str, list[tuple[str, Any]]] = {s: [] for s in self.symbols}
        for name, spec in historical.indicators.items():
            where = f"session_data_config.historical.indicators.{name}.granularity"
            cls = host.indicators.get(spec.type)
            granularity = indicator_granularity(cls, spec.granularity, where) if cls else None
            create = dict(name=name, calendar=self.calendar, granularity=granularity)
            if granularity == "bar":
                for symbol in self.symbols:
                    instance = host.create_indicator(spec.type, **create, **spec.params)
                    self.streaming[symbol].append((name, instance))
                continue
            interval = "1d" if granularity == "daily" else (config.streamed_interval or "1m")
            period = trailing_days(spec.params.get("period"))
            instance = host.create_indicator(spec.type, **create, **spec.params)
            self.indicators.append(HistoricalIndicator(name, instance, interval, period))
        self.streamed_interval = config.streamed_interval
        self._run_days: list[date] | None = None
        self._handed = False
        self._fetched: set[date] = set()
        self._prepared: set[date] = set()
        self._blocks: dict[str, dict[tuple[str, date], BarColumns | None]] = defaultdict(dict)
        self._records: dict[tuple[str, str, date], Sequence[Bar]] = {}
        self._times: dict[str, TimeCache] = defaultdict(dict)
        self._quality: dict[tuple[str, str, date], QualityResult] = {}
        self._quality_stored: set[tuple[str, str, date]] = set()
        self._stored: dict[tuple[str, date], dict[str, list[IndicatorValue]]] = {}
        self._persist_seconds = 0.0

    def take_persist_seconds(self) -> float:
        """Wall seconds spent writing to the store since the last call."""
        seconds, self._persist_seconds = self._persist_seconds, 0.0
        return seconds

    # -- planning and loading ------------------------------------------------------------------

    def plan(self, days: Sequence[date] | None) -> None:
        """The run's trading days (a backtest), so that history is loaded chunk by chunk and
        each streamed day is handed over (:meth:`add_streamed_day`); None (live): day by day
        from the store."""
        self._run_days = list(days) if days is not None else None
        self._handed = days is not None

    def fetch_streamed(self, days: Sequence[date], extended_hours: tuple[bool, bool]) -> None:
        """Fetch what the store lacks of the streamed interval for ``days`` (their whole
        windows, the included extended phases too): one existence query, requests for gaps."""
        todo = [d for d in days if d not in self._fetched]
        if self.source is None or not todo or self.streamed_interval is None:
            return
        load_history(
            self.store,
            self.source,
            source_name=self.source_name,
            calendar=self.calendar,
            symbols=self.symbols,
            intervals=[self.streamed_interval],
            start=todo[0],
            end=todo[-1],
            extended_hours=extended_hours if any(extended_hours) else None,
        )
        self._fetched.update(todo)

    def _chunk(self, day: date) -> list[date]:
        if self._run_days is None or day not in self._run_days:
            return [day]
        i = self._run_days.index(day)
        return self._run_days[i : i + CHUNK_DAYS]

    def _prepare(self, chunk: Sequence[date]) -> None:
        """Stored indicator values of the chunk (one read), then its history (one fetch and one
        read per interval)."""
        self._read_stored_values(chunk)
        needs = list(self.entries)
        for indicator in self.indicators:
            lacking = {
                s
                for d in chunk
                for s in self.symbols
                if s not in self._stored.get((indicator.name, d), {})
            }
            if lacking:
                needs.append(
                    _Need(indicator.interval, tuple(sorted(lacking)), indicator.trailing_days)
                )
        per_interval: dict[str, tuple[set[str], int]] = {}
        for need in needs:
            symbols, days = per_interval.get(need.interval, (set(), 0))
            per_interval[need.interval] = (
                symbols | set(need.symbols),
                max(days, need.trailing_days),
            )
        for interval, (symbols, trailing) in per_interval.items():
            back = self.schedule.trading_days_back(chunk[0], trailing) if trailing else []
            days = set(back)
            if not (self._handed and interval == self.streamed_interval):
                days.update(chunk[:-1])  # the history of the chunk's later days
            self._ensure(interval, sorted(symbols), sorted(days))
        self._prepared.update(chunk)

    def add_streamed_day(
        self, window: SessionWindow, columns: dict[str, BarColumns], data: SessionData
    ) -> None:
        """A backtest day just streamed becomes history (the window rolls): its bars of the
        streamed interval, regular hours, as the feed read them (``columns``) and as the
        records the stream delivered (``data``'s series), instead of reading them again."""
        interval = self.streamed_interval
        wanted = any(n.interval == interval for n in self.entries) or any(
            i.interval == interval for i in self.indicators
        )
        if not (self._handed and wanted) or interval is None:
            return
        blocks = self._blocks[interval]
        for symbol in self.symbols:
            block = columns.get(symbol)
            regular = block.between(window.open, window.close) if block is not None else None
            if regular is None or not len(regular):
                blocks[(symbol, window.date)] = None
                self._records[(interval, symbol, window.date)] = _NO_BARS
                continue
            blocks[(symbol, window.date)] = regular
            rows = list(data.series(symbol, interval).between(window.open, window.close))
            self._records[(interval, symbol, window.date)] = rows

    def _ensure(self, interval: str, symbols: Sequence[str], days: Sequence[date]) -> None:
        """Fetch what the store lacks and read the blocks of (symbol, day) not in memory."""
        loaded = self._blocks[interval]
        missing_days = [d for d in days if any((s, d) not in loaded for s in symbols)]
        if not missing_days:
            return
        missing_symbols = sorted({s for s in symbols for d in missing_days if (s, d) not in loaded})
        if self.source is not None:
            load_history(
                self.store,
                self.source,
                source_name=self.source_name,
                calendar=self.calendar,
                symbols=missing_symbols,
                intervals=[interval],
                start=missing_days[0],
                end=missing_days[-1],
            )
        windows = [day_window(self.calendar, d, interval) for d in missing_days]
        blocks = self.store.read_bar_columns(
            missing_symbols, interval, windows[0][0], windows[-1][1], source=self.source_name
        )
        bounds = np.array(
            [[datetime_to_ns(lo), datetime_to_ns(hi)] for lo, hi in windows], dtype=np.int64
        )
        for symbol in missing_symbols:
            for d in missing_days:
                loaded[(symbol, d)] = None
        for block in blocks:
            cuts = np.searchsorted(block.ts_ns, bounds.ravel(), side="left").reshape(-1, 2)
            for d, (a, b) in zip(missing_days, cuts.tolist(), strict=True):
                if b > a:
                    loaded[(block.symbol, d)] = block.slice(a, b)

    def _read_stored_values(self, chunk: Sequence[date]) -> None:
        if not self.indicators:
            return
        opens = sorted(
            (self.schedule.get_trading_session(d).open, d)  # type: ignore[union-attr]
            for d in chunk
        )
        starts = [open_ for open_, _ in opens]
        found: dict[tuple[str, date], dict[str, list[IndicatorValue]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for value in self.store.read_indicator_values(
            [i.name for i in self.indicators],
            self.symbols,
            starts[0],
            starts[-1] + AS_OF_TOLERANCE,
            source=self.generated_source,
        ):
            i = bisect_right(starts, value.as_of) - 1
            if i >= 0 and value.as_of < starts[i] + AS_OF_TOLERANCE:
                found[(value.name, opens[i][1])][value.symbol].append(value)
        for key, by_symbol in found.items():
            # used as they are, unless per-minute values have a hole (minutes not 0..n-1)
            self._stored[key] = {
                symbol: values
                for symbol, values in by_symbol.items()
                if [v.minute_of_day for v in values] in ([None], list(range(len(values))))
            }

    def _bars(self, interval: str, symbol: str, day: date) -> Sequence[Bar]:
        """One (symbol, day) block as records, built once and kept while the day is in use."""
        key = (interval, symbol, day)
        found = self._records.get(key)
        if found is None:
            block = self._blocks[interval].get((symbol, day))
            found = _NO_BARS if block is None else block.to_bars(self._times[interval])
            self._records[key] = found
        return found

    # -- one day -------------------------------------------------------------------------------

    def before_day(self, day: date, result: DayResult) -> None:
        """History, historical indicators and history quality of ``day`` into ``SessionData``
        (and the store); counts and the quality summary into ``result``."""
        if day not in self._prepared:
            self._prepare(self._chunk(day))
        self.data.clear_history()
        pcts: list[tuple[str, float]] = []
        new_results: list[QualityResult] = []
        for need in self.entries:
            days = self.schedule.trading_days_back(day, need.trailing_days)
            for symbol in need.symbols:
                rows = list(chain.from_iterable(self._bars(need.interval, symbol, d) for d in days))
                self.data.set_history(symbol, need.interval, rows)
                results = [self._day_quality(need.interval, symbol, d, new_results) for d in days]
                pct = quality.combined_pct(results, enabled=self.enable_quality)
                self.data.set_quality(symbol, need.interval, pct)
                pcts.append((need.interval, pct))
        result.historical_quality = quality.mean_by_interval(pcts)
        computed = self._indicators(day, result)
        if self.persist and (new_results or computed):
            started = perf_seconds()
            with self.store.writing():  # one transaction for the day's warm-up results
                if new_results:
                    self.store.upsert_quality(new_results)
                if computed:
                    self.store.upsert_indicator_values(computed, self.generated_source)
            self._persist_seconds += perf_seconds() - started
        self._evict(day)

    def _day_quality(
        self, interval: str, symbol: str, day: date, new: list[QualityResult]
    ) -> QualityResult:
        key = (symbol, interval, day)
        found = self._quality.get(key)
        if found is None:
            block = self._blocks[interval].get((symbol, day))
            times = block.ts_ns if block is not None else np.empty(0, dtype=np.int64)
            found = self._quality[key] = quality.assess(
                self.calendar,
                symbol,
                interval,
                day,
                times,
                enabled=self.enable_quality,
                source=self.source_name,
            )
        if key not in self._quality_stored:
            self._quality_stored.add(key)
            new.append(found)
        return found

    def _indicators(self, day: date, result: DayResult) -> list[IndicatorValue]:
        """The day's historical indicator values into ``SessionData``; returns those computed
        (to be stored)."""
        session = self.schedule.get_trading_session(day)
        if session is None:  # pragma: no cover - days come from the schedule
            raise SessiondError(f"{day.isoformat()} is not a trading day of {self.calendar}")
        as_of: datetime = session.open
        computed: list[IndicatorValue] = []
        for spec in self.indicators:
            stored = self._stored.get((spec.name, day), {})
            result.indicators_read += sum(len(v) for v in stored.values())
            days = self.schedule.trading_days_back(day, spec.trailing_days)
            for symbol in self.symbols:
                values = stored.get(symbol)
                if values is None:
                    history = TrailingBars(
                        [(d, self._bars(spec.interval, symbol, d)) for d in days]
                    )
                    values = spec.indicator.compute(symbol, history, as_of)
                    computed.extend(values)
                self.data.set_indicator(spec.name, symbol, values)
        result.indicator_values += len(computed)
        return computed

    def _evict(self, day: date) -> None:
        """Forget what no later day of the run can need (the window rolls forward)."""
        try:
            following = self.schedule.get_next_trading_date(day)
        except SessiondError:
            return
        trailing = [n.trailing_days for n in self.entries] + [
            i.trailing_days for i in self.indicators
        ]
        longest = max(trailing, default=0)
        if not longest:
            return
        oldest = self.schedule.trading_days_back(following, longest)[0]
        for blocks in self._blocks.values():
            for key in [k for k in blocks if k[1] < oldest]:
                del blocks[key]
        for key in [k for k in self._records if k[2] < oldest]:
            del self._records[key]
        for key in [k for k in self._quality if k[2] < oldest]:
            del self._quality[key]
        for key in [k for k in self._stored if k[1] < day]:
            del self._stored[key]
