"""SessionData: the in-memory store of a running session.

Per ``(symbol, key)`` — ``key`` is an interval label (``"1m"``, ``"5m"``) or an event kind
(``"trades"``, ``"quotes"``) — an append-only :class:`Series` of rows in ``ts_event`` order. A
row is a record (``core.models.Bar`` for bars, the event records for other kinds); the store
never copies or converts rows, so:

- append is one bound ``list.append`` (~0.03 µs),
- ``latest()`` is a C-level ``list[-1]`` (~0.03-0.06 µs),
- ``last(n)`` and ``between(start, end)`` return :class:`SeriesView` windows over the same list
  (no copy; ``between`` bisects on ``ts_event``, O(log n)). Views stay valid as the series grows
  because series are append-only.

Historical data (trailing days loaded before the session) lives in separate series
(:meth:`SessionData.history`) so that the day's data can be dropped at the end of each session
(:meth:`SessionData.clear_day`) while history, quality and historical indicators stay.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from itertools import islice
from operator import attrgetter, getitem
from typing import Any

import numpy as np

from core.errors import SessionError
from core.models import IndicatorValue, QualityResult

_TS = attrgetter("ts_event")

EVENT_KINDS = {
    "Trade": "trades",
    "Quote": "quotes",
    "ForeignRoom": "foreign",
    "IndexTick": "index",
    "SecurityStatus": "status",
    "Bar": "bars",
}
"""Record type name -> the key events of that kind are kept under."""


class SeriesView(Sequence[Any]):
    """A read-only window ``rows[start:stop)`` over a series' list, without copying."""

    __slots__ = ("_rows", "_start", "_stop")

    def __init__(self, rows: list[Any], start: int, stop: int) -> None:
        self._rows = rows
        self._start = start
        self._stop = stop

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._stop - self._start)
            if step != 1:
                return [self._rows[self._start + i] for i in range(start, stop, step)]
            return SeriesView(self._rows, self._start + start, self._start + max(start, stop))
        size = self._stop - self._start
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(f"series view index {index} out of range (length {size})")
        return self._rows[self._start + index]

    def __iter__(self) -> Iterator[Any]:
        rows = self._rows
        for i in range(self._start, self._stop):
            yield rows[i]

    def latest(self) -> Any | None:
        """The last row of the window, or None when it is empty."""
        return self._rows[self._stop - 1] if self._stop > self._start else None

    def column(self, field: str, dtype: Any = float) -> np.ndarray:
        """One field of every row as a new numpy array (a copy; for batch work)."""
        get = attrgetter(field)
        rows = self._rows
        return np.array([get(rows[i]) for i in range(self._start, self._stop)], dtype=dtype)

    def __repr__(self) -> str:
        return f"SeriesView(len={len(self)})"


class Series:
    """An append-only list of rows of one symbol and key, in ``ts_event`` order.

    ``append``, ``extend`` and ``latest`` are C-level callables bound to the underlying list
    (no Python frame on the hot path, no order check): callers feed rows in timestamp order;
    :meth:`append_checked` verifies the order and raises otherwise. Internally slot 0 of the
    list holds a ``None`` sentinel so that ``latest()`` is ``list[-1]`` and still returns None
    on an empty series.
    """

    __slots__ = ("symbol", "key", "_data", "append", "extend", "latest")

    def __init__(self, symbol: str, key: str) -> None:
        self.symbol = symbol
        self.key = key
        self._data: list[Any] = [None]
        self.append = self._data.append
        """Append one row (O(1), unchecked)."""
        self.extend = self._data.extend
        """Append many rows in order (O(k), unchecked)."""
        self.latest = partial(getitem, self._data, -1)
        """The most recent row, or None when the series is empty (O(1))."""

    def append_checked(self, row: Any) -> None:
        """Append one row, raising SessionError when its ts_event is earlier than the latest."""
        last = self._data[-1]
        if last is not None and row.ts_event < last.ts_event:
            raise SessionError(
                f"{self.symbol} {self.key}: row at {row.ts_event.isoformat()} is earlier than the "
                f"latest ({last.ts_event.isoformat()}); append rows in timestamp order"
            )
        self._data.append(row)

    @property
    def rows(self) -> SeriesView:
        """Every row present now, as a view (no copy)."""
        return SeriesView(self._data, 1, len(self._data))

    def last(self, n: int) -> SeriesView:
        """A view of the last ``n`` rows (fewer when the series is shorter). O(1), no copy."""
        size = len(self._data)
        return SeriesView(self._data, max(1, size - n), size)

    def between(self, start: datetime, end: datetime) -> SeriesView:
        """A view of the rows with ``start <= ts_event < end``. O(log n), no copy."""
        data = self._data
        lo = bisect_left(data, start, lo=1, key=_TS)
        hi = bisect_left(data, end, lo=lo, key=_TS)
        return SeriesView(data, lo, hi)

    def view(self) -> SeriesView:
        """A view of every row present now (rows appended later are not in it)."""
        return SeriesView(self._data, 1, len(self._data))

    def column(self, field: str, dtype: Any = float) -> np.ndarray:
        """One field of every row as a new numpy array (a copy)."""
        return self.view().column(field, dtype)

    def __len__(self) -> int:
        return len(self._data) - 1

    def __bool__(self) -> bool:
        return len(self._data) > 1

    def __getitem__(self, index: Any) -> Any:
        return self.view()[index]

    def __iter__(self) -> Iterator[Any]:
        return islice(self._data, 1, None)

    def __repr__(self) -> str:
        return f"Series({self.symbol!r}, {self.key!r}, len={len(self)})"


class HistoricalIndicator:
    """Values of one historical indicator for one symbol.

    Daily indicators hold one value (``daily``); intraday ones one value per minute of the
    trading day, indexed by ``minute_of_day`` (``at_minute(i)``).
    """

    __slots__ = ("name", "symbol", "values", "daily", "_by_minute")

    def __init__(self, name: str, symbol: str, values: Sequence[IndicatorValue]) -> None:
        self.name = name
        self.symbol = symbol
        self.values = list(values)
        self.daily: IndicatorValue | None = None
        by_minute: list[IndicatorValue | None] = []
        values = self.values
        if (
            values
            and values[0].minute_of_day == 0
            and values[-1].minute_of_day == len(values) - 1
            and all(v.minute_of_day == i for i, v in enumerate(values))
        ):  # the usual layout: every minute in order
            self._by_minute = list(values)
            return
        for value in self.values:
            if value.minute_of_day is None:
                self.daily = value
            else:
                if value.minute_of_day >= len(by_minute):
                    by_minute.extend([None] * (value.minute_of_day + 1 - len(by_minute)))
                by_minute[value.minute_of_day] = value
        self._by_minute = by_minute

    @property
    def is_intraday(self) -> bool:
        return bool(self._by_minute)

    @property
    def minutes(self) -> int:
        """Number of minute slots (0 for a daily indicator)."""
        return len(self._by_minute)

    def at_minute(self, minute_of_day: int) -> IndicatorValue | None:
        """The value for the 0-based trading minute, or None outside the range."""
        if 0 <= minute_of_day < len(self._by_minute):
            return self._by_minute[minute_of_day]
        return None

    def __repr__(self) -> str:
        return f"HistoricalIndicator({self.name!r}, {self.symbol!r}, values={len(self.values)})"


class SessionData:
    """Everything the running session holds in memory: day series, history, quality, indicators.

    ``session_active`` is True between activation and the end of a trading session.
    """

    __slots__ = (
        "_day",
        "_history",
        "_quality",
        "_quality_results",
        "_indicators",
        "session_active",
    )

    def __init__(self) -> None:
        self._day: dict[tuple[str, str], Series] = {}
        self._history: dict[tuple[str, str], Series] = {}
        self._quality: dict[tuple[str, str], float] = {}
        self._quality_results: dict[tuple[str, str], QualityResult] = {}
        self._indicators: dict[tuple[str, str], HistoricalIndicator] = {}
        self.session_active = False

    # -- day data -----------------------------------------------------------------------------

    def series(self, symbol: str, key: str) -> Series:
        """Today's series for ``(symbol, key)``, created empty on first use."""
        found = self._day.get((symbol, key))
        if found is None:
            found = self._day[(symbol, key)] = Series(symbol, key)
        return found

    def append(self, symbol: str, key: str, row: Any) -> None:
        """Append one row to today's ``(symbol, key)`` series (hot path: use ``series().append``)."""
        found = self._day.get((symbol, key))
        if found is None:
            found = self._day[(symbol, key)] = Series(symbol, key)
        found.append(row)

    def append_event(self, event: Any) -> None:
        """Keep a market event that is not a streamed bar under its kind (``trades``,
        ``quotes``, ``foreign``, ``index``, ``status``, ``bars``) and its symbol or index id."""
        kind = EVENT_KINDS.get(type(event).__name__, type(event).__name__.lower())
        symbol = getattr(event, "symbol", None) or getattr(event, "index_id", "") or ""
        self.append(symbol, kind, event)

    def latest(self, symbol: str, key: str) -> Any | None:
        """Today's most recent row of ``(symbol, key)``, or None."""
        found = self._day.get((symbol, key))
        return None if found is None else found.latest()

    def day_keys(self) -> list[tuple[str, str]]:
        """``(symbol, key)`` pairs that have a series today."""
        return list(self._day)

    def set_session_active(self, active: bool) -> None:
        """Mark the trading session active (streaming) or not."""
        self.session_active = bool(active)

    def clear_day(self) -> None:
        """Drop today's series (end of session); history, quality and indicators stay."""
        self._day.clear()
        self.session_active = False

    # -- history ------------------------------------------------------------------------------

    def history(self, symbol: str, key: str) -> Series:
        """The historical series for ``(symbol, key)`` (trailing days), created empty on first use."""
        found = self._history.get((symbol, key))
        if found is None:
            found = self._history[(symbol, key)] = Series(symbol, key)
        return found

    def set_history(self, symbol: str, key: str, rows: Sequence[Any]) -> Series:
        """Replace the historical series of ``(symbol, key)`` with ``rows`` (ts_event order)."""
        series = self._history[(symbol, key)] = Series(symbol, key)
        series.extend(rows)
        return series

    def history_keys(self) -> list[tuple[str, str]]:
        return list(self._history)

    def clear_history(self) -> None:
        """Drop every historical series and historical indicator."""
        self._history.clear()
        self._indicators.clear()

    # -- quality ------------------------------------------------------------------------------

    def set_quality(
        self, symbol: str, interval: str, pct: float, result: QualityResult | None = None
    ) -> None:
        """Record the quality (percent, 0..100) of ``symbol``'s ``interval`` bars."""
        self._quality[(symbol, interval)] = float(pct)
        if result is not None:
            self._quality_results[(symbol, interval)] = result

    def quality(self, symbol: str, interval: str) -> float | None:
        """The recorded quality percent, or None when none was recorded."""
        return self._quality.get((symbol, interval))

    def quality_results(self) -> list[QualityResult]:
        """Every detailed quality result recorded with :meth:`set_quality`."""
        return list(self._quality_results.values())

    def quality_table(self) -> dict[tuple[str, str], float]:
        """``{(symbol, interval): percent}`` for everything recorded."""
        return dict(self._quality)

    # -- historical indicators ----------------------------------------------------------------

    def set_indicator(
        self, name: str, symbol: str, values: Sequence[IndicatorValue]
    ) -> HistoricalIndicator:
        """Store the values of indicator ``name`` for ``symbol`` (replacing earlier ones)."""
        indicator = HistoricalIndicator(name, symbol, values)
        self._indicators[(name, symbol)] = indicator
        return indicator

    def indicator(self, name: str, symbol: str) -> HistoricalIndicator | None:
        """The stored indicator, or None."""
        return self._indicators.get((name, symbol))

    def indicator_value(
        self, name: str, symbol: str, minute_of_day: int | None = None
    ) -> float | None:
        """The daily value (``minute_of_day`` None) or the value of one trading minute."""
        indicator = self._indicators.get((name, symbol))
        if indicator is None:
            return None
        value = indicator.daily if minute_of_day is None else indicator.at_minute(minute_of_day)
        return None if value is None else value.value

    def indicators(self) -> list[HistoricalIndicator]:
        return list(self._indicators.values())


__all__ = ["HistoricalIndicator", "Series", "SeriesView", "SessionData"]
