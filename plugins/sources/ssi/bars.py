"""One-minute bars built from SSI trades, for the ``bars`` stream of a live session.

SSI's ``B`` channel is undocumented enough (``Volume`` is "the last matched volume", O=H=L=C
in the sample) that sessiond does not trust it as a bar feed. ``MinuteBarBuilder`` instead
folds X-TRADE / X trades into one-minute OHLCV bars:

- per-trade volume is the change in the cumulative ``TotalVol`` (``vietnam_market.md`` §6):
  a repeat (no change) or an out-of-order message (a decrease) adds nothing; the first trade
  of a symbol seen that day counts its ``LastVol``; trades without ``TotalVol`` count
  ``volume``;
- a bar opens at the UTC minute of its first trade (``ts_event``), so it covers
  ``[minute, minute + 1 min)``; ``trade_count`` and ``vwap`` come from the counted trades;
- a bar is emitted once it is complete: when a later-minute trade of the same symbol arrives,
  or when any event of the stream is ``grace_seconds`` past the bar's end (event time is the
  watermark; no wall clock is read). ``flush()`` emits what is still open.

A trade older than its symbol's open bar is counted in ``late_trades`` and left out of bars.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from core.models import Bar, Trade
from plugins.sources.ssi.parse import SOURCE, utc_to_local_date

_MINUTE = timedelta(minutes=1)


class _OpenBar:
    __slots__ = ("minute", "open", "high", "low", "close", "volume", "count", "notional")

    def __init__(self, minute: datetime, price: float, volume: float) -> None:
        self.minute = minute
        self.open = self.high = self.low = self.close = price
        self.volume = volume
        self.count = 1
        self.notional = price * volume

    def add(self, price: float, volume: float) -> None:
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.volume += volume
        self.count += 1
        self.notional += price * volume


class MinuteBarBuilder:
    """Completed one-minute bars from a stream of events (see module doc)."""

    def __init__(self, symbols: Iterable[str] | None = None, *, grace_seconds: float = 2.0) -> None:
        self.symbols = None if symbols is None else frozenset(symbols)
        self.grace = timedelta(seconds=grace_seconds)
        self._open: dict[str, _OpenBar] = {}
        self._last_total: dict[str, tuple[date, float]] = {}
        self._watermark: datetime | None = None
        self._flushed_before: datetime | None = None
        self.late_trades = 0
        self.repeats = 0

    def _volume(self, trade: Trade) -> float | None:
        total = trade.total_volume
        if total is None:
            return trade.volume or None
        day = utc_to_local_date(trade.ts_event)
        previous = self._last_total.get(trade.symbol)
        if previous is None or previous[0] != day:
            self._last_total[trade.symbol] = (day, total)
            return trade.volume or None
        delta = total - previous[1]
        if delta <= 0:
            self.repeats += 1
            return None
        self._last_total[trade.symbol] = (day, total)
        return delta

    def on_event(self, event: Any) -> list[Bar]:
        """Feed one event; return the bars it completes (usually none)."""
        out: list[Bar] = []
        ts = event.ts_event
        if type(event) is Trade and (self.symbols is None or event.symbol in self.symbols):
            self._on_trade(event, out)
        if self._watermark is None or ts > self._watermark:
            self._watermark = ts
            cutoff = (ts - self.grace).replace(second=0, microsecond=0)
            if self._flushed_before is None or cutoff > self._flushed_before:
                self._flushed_before = cutoff
                for symbol, bar in list(self._open.items()):
                    if bar.minute + _MINUTE <= cutoff:
                        out.append(self._emit(symbol, bar, event.ts_received))
                        del self._open[symbol]
        return out

    def _on_trade(self, trade: Trade, out: list[Bar]) -> None:
        minute = trade.ts_event.replace(second=0, microsecond=0)
        current = self._open.get(trade.symbol)
        if current is not None and minute < current.minute:
            self.late_trades += 1
            return
        volume = self._volume(trade)
        if volume is None:
            return
        if current is not None and minute > current.minute:
            out.append(self._emit(trade.symbol, current, trade.ts_received))
            current = None
        if current is None:
            self._open[trade.symbol] = _OpenBar(minute, trade.price, volume)
        else:
            current.add(trade.price, volume)

    @staticmethod
    def _emit(symbol: str, bar: _OpenBar, ts_received: datetime | None) -> Bar:
        vwap = bar.notional / bar.volume if bar.volume else None
        return Bar(
            symbol,
            "1m",
            bar.minute,
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
            bar.count,
            vwap,
            SOURCE,
            ts_received,
        )

    def flush(self) -> list[Bar]:
        """Emit every open bar (end of stream)."""
        bars = [self._emit(symbol, bar, None) for symbol, bar in sorted(self._open.items())]
        self._open.clear()
        return bars
