"""The ``synthetic`` data source: deterministic, realistic market data with no network.

It is the embedded default that makes ``make run`` work offline, and the source most tests use.
Everything is a pure function of ``(seed, symbol, trading day)``: asking for one day or for a
year gives the same bars for that day. The model (daily closes, minutes, trades, quotes, board
rules) and its numpy generation live in ``plugins.sources.synthetic_model``, imported when data
is first asked for, so loading the plugins (``sessiond check-config``, ``--help``) stays light.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from core import calendars
from core.errors import SourceError
from core.models import Bar, Quote, Trade
from plugins import hookimpl

if TYPE_CHECKING:
    from core.boards import BoardRules
    from plugins.sources.synthetic_model import SyntheticModel


class SyntheticSource:
    """Deterministic random-walk bars, trades and quotes for any symbol on any calendar."""

    name: ClassVar[str] = "synthetic"
    description: ClassVar[str] = (
        "Deterministic seeded market data (bars, trades with aggressor side, quotes) obeying "
        "each exchange's sessions, lunch break, tick grid and daily price band; no network"
    )

    def __init__(self, exchange: str = "XNYS", seed: int = 42) -> None:
        """``exchange``: calendar name, alias or group (``XNYS``, ``HOSE`` ...); ``seed``: any
        non-negative int; the same seed always gives the same data."""
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SourceError(
                f"synthetic source: seed must be a non-negative integer, was {seed!r}"
            )
        self.calendar = calendars.resolve_calendar_name(exchange)
        self.exchange = exchange
        self.seed = seed
        self._model: SyntheticModel | None = None

    @property
    def model(self) -> SyntheticModel:
        """The generator (built on first use)."""
        if self._model is None:
            from plugins.sources.synthetic_model import SyntheticModel

            self._model = SyntheticModel(self.calendar, self.seed)
        return self._model

    @property
    def rules(self) -> BoardRules:
        """The exchange's board rules (tick grid, price band, lot, price unit)."""
        return self.model.rules

    def request_bars(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime, interval: str
    ) -> Iterator[Bar]:
        """Bars with ``start <= ts_event < end``, ordered by (symbol, ts_event).

        ``1m`` bars cover every trading minute; larger intervals are resampled from them,
        aligned to the session open and never spanning the lunch break; ``1d`` is one bar per
        session stamped at the open; ``1s`` bars are built from the trades (one bar per second
        with at least one trade).
        """
        return self.model.request_bars(symbols, start, end, interval)

    def bar_frame(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime, interval: str
    ) -> dict[str, Any]:
        """The bars of ``request_bars`` as numpy arrays (no per-bar objects).

        Keys: ``symbols``, ``interval``, ``ts_ns`` (T,) bar opens in ns since the epoch (UTC),
        and (S, T) arrays ``open high low close`` (integer price units: multiply by
        ``rules.unit``), ``volume``, ``trade_count``, ``vwap`` (quote currency), ``valid``.
        """
        return self.model.bar_frame(symbols, start, end, interval)

    def request_trades(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> Iterator[Trade]:
        """The trades behind the bars, ``start <= ts_event < end``, ordered by (symbol, ts)."""
        return self.model.request_trades(symbols, start, end)

    def request_quotes(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> Iterator[Quote]:
        """Best bid/ask 1 ms before each trade: a buy trades at the ask, a sell at the bid,
        an auction match between the two; sizes in round lots. ``start <= ts_event < end``."""
        return self.model.request_quotes(symbols, start, end)

    def reference_price(self, symbol: str, day: dt.date) -> float:
        """The reference price of ``symbol`` on session ``day``: the previous session's close."""
        return self.model.reference_price(symbol, day)

    def daily_close(self, symbol: str, day: dt.date) -> float:
        """The close of ``symbol`` on session ``day`` (the next session's reference price)."""
        return self.model.daily_close(symbol, day)


@hookimpl
def register_data_sources() -> list[type]:
    return [SyntheticSource]


__all__ = ["SyntheticSource"]
