"""Foreign investor flows: cumulative vendor totals turned into deltas, net flow and speed.

SSI channel ``R`` sends, per symbol, the day's *cumulative* foreign buy/sell volume and value
(``BuyVol/SellVol/BuyVal/SellVal``) and the foreign room. The tracker keeps the latest totals,
the change since the previous message (a repeat or a decrease — out of order — adds nothing),
net volume/value (buy − sell), and speed: volume per minute over the trailing minute of event
time and on average since the first message of the day. A group (VN30) is the sum of its
symbols.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.models import ForeignRoom

SPEED_WINDOW = timedelta(minutes=1)


@dataclass(slots=True)
class ForeignFlow:
    """One symbol's foreign flow for the day."""

    symbol: str
    buy_volume: float = 0.0
    sell_volume: float = 0.0
    buy_value: float = 0.0
    sell_value: float = 0.0
    total_room: float | None = None
    current_room: float | None = None
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    updates: int = 0
    out_of_order: int = 0
    last_delta: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    _window: deque[tuple[datetime, float, float]] = field(default_factory=deque)

    @property
    def net_volume(self) -> float:
        return self.buy_volume - self.sell_volume

    @property
    def net_value(self) -> float:
        return self.buy_value - self.sell_value

    def apply(self, room: ForeignRoom) -> tuple[float, float, float, float]:
        """Fold in a cumulative message; returns the (buy_vol, sell_vol, buy_val, sell_val) delta."""
        delta = (
            room.buy_volume - self.buy_volume,
            room.sell_volume - self.sell_volume,
            room.buy_value - self.buy_value,
            room.sell_value - self.sell_value,
        )
        if self.last_ts is not None and min(delta) < 0:
            self.out_of_order += 1
            return (0.0, 0.0, 0.0, 0.0)
        self.buy_volume, self.sell_volume = room.buy_volume, room.sell_volume
        self.buy_value, self.sell_value = room.buy_value, room.sell_value
        if room.total_room is not None:
            self.total_room = room.total_room
        if room.current_room is not None:
            self.current_room = room.current_room
        if self.first_ts is None:
            self.first_ts = room.ts_event
        self.last_ts = room.ts_event
        self.updates += 1
        self.last_delta = delta
        window = self._window
        window.append((room.ts_event, room.buy_volume, room.sell_volume))
        while len(window) > 1 and room.ts_event - window[0][0] > SPEED_WINDOW:
            window.popleft()
        return delta

    def speed_per_minute(self) -> tuple[float, float]:
        """(buy, sell) volume per minute over the trailing minute of event time."""
        window = self._window
        if len(window) < 2:
            return (0.0, 0.0)
        start_ts, start_buy, start_sell = window[0]
        end_ts, end_buy, end_sell = window[-1]
        minutes = max((end_ts - start_ts).total_seconds() / 60.0, 1 / 60.0)
        return ((end_buy - start_buy) / minutes, (end_sell - start_sell) / minutes)

    def average_speed_per_minute(self) -> tuple[float, float]:
        """(buy, sell) volume per minute since the day's first message."""
        if self.first_ts is None or self.last_ts is None or self.last_ts <= self.first_ts:
            return (0.0, 0.0)
        minutes = (self.last_ts - self.first_ts).total_seconds() / 60.0
        return (self.buy_volume / minutes, self.sell_volume / minutes)

    def to_dict(self) -> dict[str, Any]:
        buy_speed, sell_speed = self.speed_per_minute()
        return {
            "symbol": self.symbol,
            "buy_volume": self.buy_volume,
            "sell_volume": self.sell_volume,
            "buy_value": self.buy_value,
            "sell_value": self.sell_value,
            "net_volume": self.net_volume,
            "net_value": self.net_value,
            "buy_speed_per_minute": buy_speed,
            "sell_speed_per_minute": sell_speed,
            "total_room": self.total_room,
            "current_room": self.current_room,
            "last_update": self.last_ts.isoformat() if self.last_ts else None,
        }


class ForeignFlowTracker:
    """Foreign flows per symbol, and for named groups of symbols (e.g. VN30)."""

    def __init__(self, groups: dict[str, Iterable[str]] | None = None) -> None:
        self._flows: dict[str, ForeignFlow] = {}
        self._groups = {name: tuple(symbols) for name, symbols in (groups or {}).items()}

    def reset(self) -> None:
        self._flows.clear()

    def set_group(self, name: str, symbols: Iterable[str]) -> None:
        self._groups[name] = tuple(symbols)

    def apply(self, room: ForeignRoom) -> tuple[float, float, float, float]:
        flow = self._flows.get(room.symbol)
        if flow is None:
            flow = self._flows[room.symbol] = ForeignFlow(room.symbol)
        return flow.apply(room)

    def flow(self, symbol: str) -> ForeignFlow | None:
        return self._flows.get(symbol)

    def group(self, name: str) -> dict[str, Any]:
        """Summed flows of a group's symbols (speeds summed too)."""
        totals = dict.fromkeys(
            (
                "buy_volume",
                "sell_volume",
                "buy_value",
                "sell_value",
                "net_volume",
                "net_value",
                "buy_speed_per_minute",
                "sell_speed_per_minute",
            ),
            0.0,
        )
        members = 0
        for symbol in self._groups.get(name, ()):
            flow = self._flows.get(symbol)
            if flow is None:
                continue
            members += 1
            for key, value in flow.to_dict().items():
                if key in totals:
                    totals[key] += value
        return {"group": name, "symbols_reporting": members, **totals}

    def snapshot(self) -> dict[str, Any]:
        return {
            "symbols": {s: f.to_dict() for s, f in sorted(self._flows.items())},
            "groups": {name: self.group(name) for name in sorted(self._groups)},
        }
