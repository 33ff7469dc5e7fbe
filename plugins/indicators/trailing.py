"""Historical trailing indicators: average, max and min of a bar field over N trading days.

Configured in a session config as ``{"type": "trailing_average", "period": "10d",
"granularity": "daily", "field": "volume"}``; ``kind = "historical"``: sessiond calls
``compute`` (never ``update``) and constructs them as ``cls(name=..., calendar="XNYS",
granularity=..., **params)`` (``plugins.interfaces.Indicator``).

- ``period``: trading days (``"10d"``) or weeks of five trading days (``"52w"`` = 260 days).
- ``granularity="daily"``: one value. Each trading day of the window is reduced to one number
  (``volume``/``trade_count``: the day's sum; ``high``: max; ``low``: min; ``open``: first;
  ``close``: last; ``vwap``: volume-weighted), from daily bars when the history has ``1d`` bars,
  else from the intraday bars; then the days are averaged / maxed / minned.
- ``granularity="intraday"``: one value per minute of the trading day (``minute_of_day`` 0..N-1):
  the field of the bar at that minute, across the window's days. ``minutes="continuous"``
  (default) indexes the continuous-trading minutes (XNYS 390; HOSE 225 = 09:15–11:30 and
  13:00–14:30, auctions excluded); ``minutes="session"`` every calendar minute (HOSE 255).
  Needs ``calendar``.

The window is the ``period`` trading days strictly before the trading date of ``as_of`` (by the
calendar when given; otherwise the last ``period`` dates present in the history). A value whose
window had fewer observations than ``period`` is marked ``complete=False`` with
``observations`` saying how many there were; with no observation at all ``value`` is None.

Incremental: when ``history`` is a ``plugins.interfaces.TrailingBars`` (what the engine
passes), each trading day's bars are reduced once — to the day's value (daily) or its row of
per-minute values (intraday) — and kept while the day's bars object stays in the window, so a
day's value costs one day of work however long the period (per-symbol caches, same results as
reducing the whole history each time; a test compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from core import calendars, phases
from core.errors import CalendarError, ConfigError
from core.models import IndicatorValue
from core.timeframes import parse_period

if TYPE_CHECKING:  # numpy is imported when values are computed, not when plugins load
    import numpy as np

FIELDS = ("open", "high", "low", "close", "volume", "vwap", "trade_count")
GRANULARITIES = ("daily", "intraday")
MINUTE_GRIDS = ("continuous", "session")


def minute_grid(calendar: str, day: date, minutes: str = "continuous") -> list[datetime]:
    """The minutes (UTC bar opens) an intraday indicator indexes on ``day``.

    ``continuous``: minutes inside ``Phase.CONTINUOUS`` windows; ``session``: every session minute.
    """
    return list(_minute_grid(calendar, day, minutes))


@lru_cache(maxsize=2048)
def _minute_grid(calendar: str, day: date, minutes: str) -> tuple[datetime, ...]:
    all_minutes = calendars.session_minutes(calendar, day)
    if minutes == "session":
        return tuple(all_minutes)
    windows = [
        (w.start, w.end)
        for w in phases.phase_windows(calendar, day)
        if w.phase == phases.Phase.CONTINUOUS
    ]
    return tuple(m for m in all_minutes if any(start <= m < end for start, end in windows))


class _TrailingIndicator:
    """Shared machinery of the trailing indicators; subclasses set ``name`` and ``_reduce``."""

    name: ClassVar[str]
    description: ClassVar[str]
    kind: ClassVar[str] = "historical"

    def __init__(
        self,
        name: str,
        period: str = "10d",
        granularity: str = "daily",
        field: str = "volume",
        calendar: str | None = None,
        minutes: str = "continuous",
    ) -> None:
        self.indicator_name = name
        self.period = parse_period(period)
        if granularity not in GRANULARITIES:
            raise ConfigError(
                f"indicator {name!r}: granularity {granularity!r} is not valid "
                f"(expected one of {', '.join(GRANULARITIES)})"
            )
        if field not in FIELDS:
            raise ConfigError(
                f"indicator {name!r}: field {field!r} is not a bar field "
                f"(expected one of {', '.join(FIELDS)})"
            )
        if minutes not in MINUTE_GRIDS:
            raise ConfigError(
                f"indicator {name!r}: minutes {minutes!r} is not valid "
                f"(expected one of {', '.join(MINUTE_GRIDS)})"
            )
        if granularity == "intraday" and calendar is None:
            raise ConfigError(
                f"indicator {name!r}: intraday granularity needs the exchange calendar "
                "(construct it with calendar=<config.calendar_name>)"
            )
        self.granularity = granularity
        self.field = field
        self.calendar = calendars.resolve_calendar_name(calendar) if calendar else None
        self.minutes = minutes
        self._tz: tzinfo = calendars.exchange_timezone(self.calendar) if self.calendar else UTC
        self._cache: dict[str, dict[tuple[int, str], tuple[Any, Any]]] = {}
        """symbol -> (id(day bars), what) -> (day bars, their reduction): the per-day work
        kept (the bars are held, so their id cannot be reused while the entry lives)."""

    # -- subclass hook ------------------------------------------------------------------------

    @staticmethod
    def _reduce(matrix: np.ndarray) -> np.ndarray:
        """Reduce a (days x slots) matrix with NaN for missing data along the days axis."""
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------

    def _local_date(self, ts: datetime) -> date:
        return ts.astimezone(self._tz).date()

    def _daily_bar_date(self, ts: datetime) -> date:
        """The trading date of a daily bar: vendors stamp them at the session open (local date)
        or at midnight UTC of the date (that UTC date)."""
        if ts.utcoffset() == timedelta(0) and (ts.hour, ts.minute, ts.second) == (0, 0, 0):
            return ts.date()
        return self._local_date(ts)

    def _window(self, trading_date: date, present: Sequence[date]) -> list[date]:
        """The ``period`` trading days strictly before ``trading_date``, oldest first."""
        count = self.period.trading_days
        if self.calendar is None:
            return sorted(d for d in set(present) if d < trading_date)[-count:]
        try:
            first = calendars.previous_session(self.calendar, trading_date, count)
        except CalendarError:
            first = calendars.first_session(self.calendar)
        try:
            last = calendars.previous_session(self.calendar, trading_date, 1)
        except CalendarError:
            return []
        return calendars.sessions_in_range(self.calendar, first, last)

    def _daily_value(self, bars: list[Any]) -> float:
        field = self.field
        if field in ("volume", "trade_count"):
            return float(sum(_number(getattr(b, field)) for b in bars))
        if field == "high":
            return float(max(b.high for b in bars))
        if field == "low":
            return float(min(b.low for b in bars))
        if field == "open":
            return float(bars[0].open)
        if field == "close":
            return float(bars[-1].close)
        volume = sum(b.volume for b in bars)
        if volume <= 0:
            return float("nan")
        return float(sum(_number(b.vwap, b.close) * b.volume for b in bars) / volume)

    # -- the Indicator protocol ---------------------------------------------------------------

    def compute(self, symbol: str, history: Sequence[Any], as_of: datetime) -> list[IndicatorValue]:
        """Values as of ``as_of`` from ``history`` (Bar-like rows, oldest first)."""
        trading_date = self._local_date(as_of)
        days = getattr(history, "days", None)
        blocks: Sequence[tuple[Any, Sequence[Any]]] = (
            days if days is not None else ((None, history),)
        )
        previous = self._cache.get(symbol, {})
        used: dict[tuple[int, str], tuple[Any, Any]] = {}

        def reduced(bars: Sequence[Any], work: Any, tag: str) -> Any:
            key = (id(bars), tag)
            entry = previous.get(key)
            if entry is None or entry[0] is not bars or days is None:
                entry = (bars, work(bars))
            used[key] = entry
            return entry[1]

        if self.granularity == "daily":
            values = [self._compute_daily(symbol, blocks, reduced, as_of, trading_date)]
        else:
            values = self._compute_intraday(symbol, blocks, reduced, as_of, trading_date)
        self._cache[symbol] = used
        return values

    def _day_values(self, bars: Sequence[Any], daily_bars: bool) -> dict[date, list[Any]]:
        """Bars of one block grouped by the trading date they count for."""
        day_of = self._daily_bar_date if daily_bars else self._local_date
        groups: dict[date, list[Any]] = {}
        for bar in bars:
            if (bar.interval == "1d") == daily_bars:
                groups.setdefault(day_of(bar.ts_event), []).append(bar)
        return groups

    def _compute_daily(
        self,
        symbol: str,
        blocks: Sequence[tuple[Any, Sequence[Any]]],
        reduced: Any,
        as_of: datetime,
        trading_date: date,
    ) -> IndicatorValue:
        daily_bars = any(reduced(bars, _has_daily_bar, "has_1d") for _, bars in blocks)
        key = "1d" if daily_bars else "intraday"
        by_day: dict[date, list[Any]] = {}
        values_by_day: dict[date, float] = {}
        split: set[date] = set()
        for _, bars in blocks:
            groups, values = reduced(bars, lambda b: self._reduce_block(b, daily_bars), key)
            for d, group in groups.items():
                if d in by_day:  # one trading date's bars in two blocks: reduce them together
                    by_day[d] = by_day[d] + group
                    split.add(d)
                else:
                    by_day[d] = group
                    values_by_day[d] = values[d]
        for d in split:
            values_by_day[d] = self._daily_value(by_day[d])
        window = self._window(trading_date, list(by_day))
        import numpy as np

        column = np.array([[values_by_day.get(d, np.nan)] for d in window], dtype=float).reshape(
            len(window), 1
        )
        observations = int(np.count_nonzero(~np.isnan(column)))
        value = float(self._reduce(column)[0]) if observations else None
        return IndicatorValue(
            name=self.indicator_name,
            symbol=symbol,
            as_of=as_of,
            value=value,
            complete=observations >= self.period.trading_days,
            observations=observations,
            minute_of_day=None,
        )

    def _reduce_block(
        self, bars: Sequence[Any], daily_bars: bool
    ) -> tuple[dict[date, list[Any]], dict[date, float]]:
        groups = self._day_values(bars, daily_bars)
        return groups, {d: self._daily_value(group) for d, group in groups.items()}

    def _compute_intraday(
        self,
        symbol: str,
        blocks: Sequence[tuple[Any, Sequence[Any]]],
        reduced: Any,
        as_of: datetime,
        trading_date: date,
    ) -> list[IndicatorValue]:
        assert self.calendar is not None
        target_day = trading_date
        if not calendars.is_session(self.calendar, target_day):
            target_day = calendars.next_session(self.calendar, target_day)
        slots = len(minute_grid(self.calendar, target_day, self.minutes))
        window = self._window(trading_date, [])  # intraday always has a calendar
        import numpy as np

        matrix = np.full((len(window), slots), np.nan)
        rows = {day: i for i, day in enumerate(window)}
        for _, bars in blocks:
            for day, row in reduced(bars, self._minute_rows, "minutes").items():
                i = rows.get(day)
                if i is not None:
                    width = min(slots, len(row))
                    present = ~np.isnan(row[:width])
                    matrix[i, :width][present] = row[:width][present]
        observations = np.count_nonzero(~np.isnan(matrix), axis=0)
        reduced_values = self._reduce(matrix) if len(window) else np.full(slots, np.nan)
        needed = self.period.trading_days
        name, seen = self.indicator_name, observations.tolist()
        values = reduced_values.tolist()
        details = IndicatorValue._field_defaults["details"]
        return [  # the records built in C: hundreds of thousands a run
            _new(
                IndicatorValue, (name, symbol, as_of, v if n else None, n >= needed, n, i, details)
            )
            for i, (v, n) in enumerate(zip(values, seen, strict=True))
        ]

    def _minute_rows(self, bars: Sequence[Any]) -> dict[date, np.ndarray]:
        """Per trading date of the block, the field at each minute of the day's grid (NaN
        where no bar is)."""
        import numpy as np

        assert self.calendar is not None
        field = self.field
        fallback_close = field == "vwap"
        rows: dict[date, np.ndarray] = {}
        positions: dict[date, dict[datetime, int]] = {}
        # a block of one trading day (what the engine passes): its date read once
        single = (
            self._local_date(bars[0].ts_event)
            if len(bars)
            and self._local_date(bars[0].ts_event) == self._local_date(bars[-1].ts_event)
            else None
        )
        for bar in bars:
            if bar.interval == "1d":
                continue
            day = single if single is not None else self._local_date(bar.ts_event)
            position = positions.get(day)
            if position is None:
                try:
                    grid = _minute_grid(self.calendar, day, self.minutes)
                except CalendarError:
                    grid = ()
                position = positions[day] = {minute: i for i, minute in enumerate(grid)}
                rows[day] = np.full(len(grid), np.nan)
            slot = position.get(bar.ts_event)
            if slot is None:
                continue
            raw = getattr(bar, field)
            if raw is None or raw != raw:
                raw = bar.close if fallback_close else np.nan
            rows[day][slot] = raw
        return rows


_new = tuple.__new__


def _has_daily_bar(bars: Sequence[Any]) -> bool:
    return any(bar.interval == "1d" for bar in bars)


def _number(value: Any, default: float = 0.0) -> float:
    if value is None or value != value:
        return default
    return float(value)


def _nan_reduce(function: str, matrix: np.ndarray) -> np.ndarray:
    """Apply numpy's NaN-ignoring reduction ``function`` (``"nanmean"`` ...) along days without
    warnings for all-NaN columns."""
    import numpy as np

    result = np.full(matrix.shape[1], np.nan)
    present = ~np.isnan(matrix).all(axis=0)
    if present.any():
        result[present] = getattr(np, function)(matrix[:, present], axis=0)
    return result


class TrailingAverage(_TrailingIndicator):
    """Mean of a bar field over the trailing trading days (daily, or per minute of day)."""

    name: ClassVar[str] = "trailing_average"
    description: ClassVar[str] = (
        "mean of a bar field over N trading days, one value or one per minute of the day"
    )

    @staticmethod
    def _reduce(matrix: np.ndarray) -> np.ndarray:
        return _nan_reduce("nanmean", matrix)


class TrailingMax(_TrailingIndicator):
    """Maximum of a bar field over the trailing trading days (e.g. the 52-week high)."""

    name: ClassVar[str] = "trailing_max"
    description: ClassVar[str] = "maximum of a bar field over N trading days"

    @staticmethod
    def _reduce(matrix: np.ndarray) -> np.ndarray:
        return _nan_reduce("nanmax", matrix)


class TrailingMin(_TrailingIndicator):
    """Minimum of a bar field over the trailing trading days (e.g. the 52-week low)."""

    name: ClassVar[str] = "trailing_min"
    description: ClassVar[str] = "minimum of a bar field over N trading days"

    @staticmethod
    def _reduce(matrix: np.ndarray) -> np.ndarray:
        return _nan_reduce("nanmin", matrix)


__all__ = ["TrailingAverage", "TrailingMax", "TrailingMin", "minute_grid"]
