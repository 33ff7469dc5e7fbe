"""The model behind the ``synthetic`` data source (``plugins.sources.synthetic``, which imports
this module, and numpy, only when data is first asked for: loading the plugins stays light).

Everything is a pure function of ``(seed, symbol, trading day)``: asking for one day or for a
year gives the same bars for that day.

Model (per symbol):

- **Daily closes.** A bounded random walk over the exchange's sessions, anchored at the first
  session on or after 2024-01-01 (a hashed base price per symbol). Each session's return is a
  hashed normal, clipped to 60 % of the board's daily limit, so every close lies inside the band
  around the previous close (the reference price). Prices stay within about 0.45x–2.2x of the
  base.
- **Minutes.** A Brownian bridge from the open (reference price plus a small gap) to the day's
  close over the session's trading minutes (``core.calendars.session_minutes``: the lunch break
  is empty, early closes are respected), rounded to the board's tick grid and clipped to the
  floor/ceiling.
- **Trades.** Every 1-minute bar is made of 4–8 trades: open, high and low (in hashed order),
  extra trades inside the range, and the close. Volumes are in round lots; a bar's ``volume``,
  ``trade_count`` and ``vwap`` are the sums over its trades. Continuous-session trades carry an
  aggressor ``side`` (uptick = BUY, downtick = SELL, hashed on ties; BUY at the ceiling, SELL at
  the floor); auction trades (``ATO``/``ATC``) carry none. ``trading_session`` is the phase code
  (``ATO``/``LO``/``ATC``) on Vietnamese boards, ``None`` in the US.
- **Quotes.** One best bid/ask 1 ms before each trade: a buy lifts the ask, a sell hits the bid.

Boards (``vietnam_market.md`` §3): HOSE tick 10/50/100 VND (below 10,000 / below 50,000 /
above) and ±7 %; HNX tick 100 VND and ±10 %; UPCoM tick 100 VND and ±15 %; VN30 futures tick
0.1 point and ±7 %; US prices in cents with no limit. Limits are rounded inward (ceiling down,
floor up). Round lot 100 shares (1 contract for futures).

Randomness is a counter-based hash (splitmix64) of ``(seed, symbol, date, minute, stream)``,
vectorised with numpy, so any day can be generated on its own and in bulk: bar arrays for
30 symbols x 20 days are computed in tens of milliseconds (``bar_frame``); building the ``Bar``
objects dominates ``request_bars``.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from core import calendars
from core.boards import (
    US,
    board_rules,
    limits_units,
    round_to_grid,
    tick_units,
)
from core.errors import SourceError
from core.models import Aggressor, Bar, Quote, Trade
from core.timeframes import parse_interval

# --------------------------------------------------------------------------------------------
# Counter-based randomness
# --------------------------------------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SALT = np.uint64(0x2545F4914F6CDD1D)
_S30, _S27, _S31, _S11 = (np.uint64(n) for n in (30, 27, 31, 11))

(
    _DAILY,
    _GAP,
    _MINUTE,
    _WICK_HIGH,
    _WICK_LOW,
    _VOLUME,
    _TRADES,
    _TRADE_PRICE,
    _TRADE_WEIGHT,
    _HIGH_FIRST,
    _TRADE_TIME,
    _TIE,
    _BID_SIZE,
    _ASK_SIZE,
    _BASE,
    _BASE_LOTS,
) = range(1, 17)


def _mix(x: np.ndarray) -> np.ndarray:
    x = x + _GOLDEN
    x = (x ^ (x >> _S30)) * _MIX1
    x = (x ^ (x >> _S27)) * _MIX2
    return x ^ (x >> _S31)


def _hash(*parts: Any) -> np.ndarray:
    """splitmix64 of the parts (broadcast uint64 arrays), at least 1-d."""
    with np.errstate(over="ignore"):
        h = _mix(np.atleast_1d(np.asarray(parts[0], dtype=np.uint64)))
        for part in parts[1:]:
            h = _mix(h ^ np.asarray(part, dtype=np.uint64))
    return h


def _derive(h: np.ndarray, stream: int) -> np.ndarray:
    """A new hash stream from existing hashes (one mixing round)."""
    with np.errstate(over="ignore"):
        salt = np.asarray(stream, dtype=np.uint64) * _SALT
        return _mix(h ^ salt)


def _uniform(h: np.ndarray) -> np.ndarray:
    """Uniform in (0, 1) from hashes."""
    return ((h >> _S11).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def _normal(*parts: Any) -> np.ndarray:
    """Standard normals (Box-Muller on two hashed uniforms)."""
    u1 = _uniform(_hash(*parts, 1))
    u2 = _uniform(_hash(*parts, 2))
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _symbol_key(symbol: str) -> int:
    return zlib.crc32(symbol.encode()) | (zlib.adler32(symbol.encode()) << 32)


# --------------------------------------------------------------------------------------------
# Session layout (cached per calendar and day)
# --------------------------------------------------------------------------------------------

_NS_PER_MINUTE = 60_000_000_000
_QUOTE_LEAD_NS = 1_000_000
"""A quote precedes its trade by 1 ms."""
_EPOCH = dt.date(2024, 1, 1)
_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SESSION_CODES = {"ato": "ATO", "continuous": "LO", "atc": "ATC"}


@dataclass(frozen=True, slots=True)
class _Day:
    """The trading minutes of one session: bar-open times (ns since epoch, UTC), the segment of
    each minute (0 before the lunch break, 1 after) and its phase code (ATO/LO/ATC or None)."""

    date: dt.date
    minutes_ns: np.ndarray
    segment: np.ndarray
    segment_start_ns: tuple[int, ...]
    codes: tuple[str | None, ...]
    open_ns: int


def _ns(ts: dt.datetime) -> int:
    delta = ts - _UTC_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


@lru_cache(maxsize=4096)
def _day(calendar: str, day: dt.date, vietnamese: bool) -> _Day:
    bounds = calendars.session_bounds(calendar, day)
    spans = (
        [(bounds.open, bounds.break_start), (bounds.break_end, bounds.close)]
        if bounds.break_start is not None and bounds.break_end is not None
        else [(bounds.open, bounds.close)]
    )
    minutes, segment = [], []
    for index, (start, end) in enumerate(spans):
        count = int((end - start) // dt.timedelta(minutes=1))
        minutes.append(_ns(start) + np.arange(count, dtype=np.int64) * _NS_PER_MINUTE)
        segment.append(np.full(count, index, dtype=np.int8))
    minutes_ns = np.concatenate(minutes)
    codes: list[str | None] = [None] * len(minutes_ns)
    if vietnamese:
        from core.phases import phase_windows

        for window in phase_windows(calendar, day):
            code = _SESSION_CODES.get(str(window.phase))
            if code is None:
                continue
            lo, hi = np.searchsorted(minutes_ns, [_ns(window.start), _ns(window.end)])
            codes[lo:hi] = [code] * (hi - lo)
    return _Day(
        day,
        minutes_ns,
        np.concatenate(segment),
        tuple(_ns(s) for s, _ in spans),
        tuple(codes),
        _ns(bounds.open),
    )


@lru_cache(maxsize=1 << 16)
def _utc_from_ns(ns: int) -> dt.datetime:
    return _UTC_EPOCH + dt.timedelta(microseconds=ns // 1000)


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Minutes:
    """1-minute bars of several symbols over several sessions, as arrays.

    Shapes: per-minute ``(T,)``; per symbol and minute ``(S, T)``. Prices in integer units.
    """

    days: tuple[_Day, ...]
    day_index: np.ndarray  # (T,) index into days
    minute_index: np.ndarray  # (T,) minute within its day
    ts_ns: np.ndarray  # (T,)
    floor: np.ndarray  # (S, D)
    ceiling: np.ndarray  # (S, D)
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    lots: np.ndarray
    trades: np.ndarray  # trade count per bar
    keys: np.ndarray  # (S, T) hash of (seed, symbol, date, minute): the bar's randomness


@dataclass(frozen=True, slots=True)
class _Trades:
    """The trades of a ``_Minutes`` block, flattened bar by bar (symbol-major)."""

    bar: np.ndarray  # flat bar index s * T + t
    price: np.ndarray  # units
    lots: np.ndarray
    offset_ns: np.ndarray  # from the bar open
    side: np.ndarray  # +1 buy, -1 sell, 0 none (auction)
    bid: np.ndarray  # the quote before the trade (units): a buy lifts the ask, a sell hits
    ask: np.ndarray  # the bid, an auction match sits between; never outside floor/ceiling
    bid_lots: np.ndarray  # quote sizes in lots
    ask_lots: np.ndarray


class SyntheticModel:
    """Deterministic random-walk bars, trades and quotes for any symbol on calendar
    ``calendar`` (a resolved name), from ``seed`` (checked by ``SyntheticSource``)."""

    name: ClassVar[str] = "synthetic"

    def __init__(self, calendar: str, seed: int) -> None:
        self.calendar = calendar
        self.seed = seed
        self.rules = board_rules(self.calendar)
        self._vietnamese = self.rules is not US

    # -- public API (documented on SyntheticSource) ------------------------------------------

    def request_bars(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime, interval: str
    ) -> Iterator[Bar]:
        frame = self.bar_frame(symbols, start, end, interval)
        label, source = frame["interval"], self.name
        ts = [_utc_from_ns(int(v)) for v in frame["ts_ns"]]
        unit = self.rules.unit
        for s, symbol in enumerate(frame["symbols"]):
            rows = zip(
                ts,
                np.round(frame["open"][s] * unit, 6).tolist(),
                np.round(frame["high"][s] * unit, 6).tolist(),
                np.round(frame["low"][s] * unit, 6).tolist(),
                np.round(frame["close"][s] * unit, 6).tolist(),
                frame["volume"][s].tolist(),
                frame["trade_count"][s].tolist(),
                frame["vwap"][s].tolist(),
                frame["valid"][s].tolist(),
                strict=True,
            )
            for t, o, h, lo, c, v, n, vw, valid in rows:
                if valid:  # the record built in C (Bar(...) runs a Python __new__)
                    yield _new(Bar, (symbol, label, t, o, h, lo, c, v, n, vw, source, None))

    def bar_frame(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime, interval: str
    ) -> dict[str, Any]:
        label = parse_interval(interval).label
        symbols = _check_symbols(symbols)
        start, end = _check_range(start, end)
        if label == "1s":
            return self._second_frame(symbols, start, end)
        minutes = self._minutes(symbols, start, end)
        if minutes.ts_ns.size:
            trades = self._trades(minutes, full=False)
            lots_total = minutes.lots
            value = np.add.reduceat(trades.price * trades.lots, _bar_starts(minutes.trades.ravel()))
            value = value.reshape(minutes.lots.shape)
        else:
            lots_total = value = minutes.lots
        key = _bucket_keys(minutes, label)
        starts = (
            np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            if len(key)
            else np.array([], dtype=np.int64)
        )
        ends = np.r_[starts[1:], len(key)] - 1 if len(key) else starts
        bar_ts = _bucket_ts(minutes, key, starts, label)
        if len(starts):
            frame_open = minutes.open[:, starts]
            frame_close = minutes.close[:, ends]
            frame_high = np.maximum.reduceat(minutes.high, starts, axis=1)
            frame_low = np.minimum.reduceat(minutes.low, starts, axis=1)
            lots = np.add.reduceat(lots_total, starts, axis=1)
            value = np.add.reduceat(value, starts, axis=1)
            count = np.add.reduceat(minutes.trades, starts, axis=1)
        else:
            shape = (len(symbols), 0)
            frame_open = frame_close = frame_high = frame_low = np.zeros(shape, dtype=np.int64)
            lots = value = count = np.zeros(shape, dtype=np.int64)
        start_ns, end_ns = _ns(start), _ns(end)
        valid = np.broadcast_to((bar_ts >= start_ns) & (bar_ts < end_ns), frame_open.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap = np.where(lots > 0, value / np.maximum(lots, 1), 0.0) * self.rules.unit
        return {
            "symbols": list(symbols),
            "interval": label,
            "ts_ns": bar_ts,
            "open": frame_open,
            "high": frame_high,
            "low": frame_low,
            "close": frame_close,
            "volume": (lots * self.rules.lot).astype(np.float64),
            "trade_count": count,
            "vwap": vwap,
            "valid": valid,
        }

    def request_trades(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> Iterator[Trade]:
        rows = self._tick_rows(symbols, start, end, shift_ns=0)
        source = self.name
        for symbol, ts, price, volume, side, code, *_ in rows:
            yield Trade(symbol, ts, price, volume, side=side, trading_session=code, source=source)

    def request_quotes(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> Iterator[Quote]:
        rows = self._tick_rows(symbols, start, end, shift_ns=-_QUOTE_LEAD_NS)
        source = self.name
        for symbol, ts, _price, _volume, _side, code, bid, bid_size, ask, ask_size in rows:
            yield Quote(
                symbol, ts, bid, bid_size, ask, ask_size, trading_session=code, source=source
            )

    def reference_price(self, symbol: str, day: dt.date) -> float:
        self._check_session(day)
        return round(float(self._reference_units((symbol,), [day])[0, 0]) * self.rules.unit, 6)

    def daily_close(self, symbol: str, day: dt.date) -> float:
        self._check_session(day)
        log_close, positions, _ = self._daily((symbol,), [day])
        return round(
            float(self._to_units(log_close[:, [positions[day]]])[0, 0]) * self.rules.unit, 6
        )

    # -- internals ---------------------------------------------------------------------------

    def _check_session(self, day: dt.date) -> None:
        if not calendars.is_session(self.calendar, day):
            raise SourceError(f"synthetic source: {day} is not a {self.calendar} session")

    def _sessions(self, start: dt.datetime, end: dt.datetime) -> list[dt.date]:
        lo, hi = calendars.covered_range(self.calendar)
        first = max(start.date() - dt.timedelta(days=1), lo)
        last = min(end.date(), hi)
        if first > last:
            return []
        days = calendars.sessions_in_range(self.calendar, first, last)
        start_ns, end_ns = _ns(start), _ns(end)
        out = []
        for day in days:
            bounds = calendars.session_bounds(self.calendar, day)
            if _ns(bounds.open) < end_ns and _ns(bounds.close) > start_ns:
                out.append(day)
        return out

    def _daily(
        self, symbols: Sequence[str], days: Sequence[dt.date]
    ) -> tuple[np.ndarray, dict[dt.date, int], np.ndarray]:
        """Log-prices at every session from the anchor to the requested days.

        Returns ``(log_close (S, L), position of each session in L, log_prev (S, L))`` where
        ``log_prev[:, i]`` is the log close of the session before ``L[i]`` (the reference).
        """
        lo, hi = calendars.covered_range(self.calendar)
        anchor = min(max(_EPOCH, lo), hi)
        first = min(min(days), anchor)
        last = max(max(days), anchor)
        sessions = calendars.sessions_in_range(self.calendar, first, last)
        positions = {day: i for i, day in enumerate(sessions)}
        anchor_index = next((i for i, day in enumerate(sessions) if day >= anchor), len(sessions))
        ordinals = np.array([day.toordinal() for day in sessions], dtype=np.uint64)
        keys = np.array([_symbol_key(s) for s in symbols], dtype=np.uint64)[:, None]
        rules = self.rules
        band = (rules.limit_pct or 10) / 100.0
        step = np.clip(
            rules.daily_sigma * _normal(self.seed, keys, ordinals, _DAILY), -0.6 * band, 0.6 * band
        )
        cumulative = np.cumsum(step, axis=1)
        before_anchor = cumulative[:, anchor_index - 1 : anchor_index] if anchor_index > 0 else 0.0
        walk = cumulative - before_anchor
        previous = (
            np.concatenate([np.zeros((len(symbols), 1)), cumulative[:, :-1]], axis=1)
            - before_anchor
        )
        low, high = rules.base_range
        base = np.log(low) + _uniform(_hash(self.seed, keys, _BASE)) * (np.log(high) - np.log(low))
        bound = 0.8
        log_close = base + bound * np.tanh(walk / bound)
        log_prev = base + bound * np.tanh(previous / bound)
        return log_close, positions, log_prev

    def _to_units(self, log_price: np.ndarray) -> np.ndarray:
        return round_to_grid(self.rules, np.exp(log_price) / self.rules.unit)

    def _reference_units(self, symbols: Sequence[str], days: Sequence[dt.date]) -> np.ndarray:
        _, positions, log_prev = self._daily(symbols, days)
        return self._to_units(log_prev[:, [positions[d] for d in days]])

    def _minutes(self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime) -> _Minutes:
        days = tuple(_day(self.calendar, d, self._vietnamese) for d in self._sessions(start, end))
        S = len(symbols)
        if not days:
            empty = np.zeros((S, 0), dtype=np.int64)
            none = np.zeros(0, dtype=np.int64)
            return _Minutes(
                days,
                none,
                none,
                none,
                empty,
                empty,
                empty,
                empty,
                empty,
                empty,
                empty,
                empty,
                empty.astype(np.uint64),
            )
        rules = self.rules
        log_close, positions, log_prev = self._daily(symbols, [d.date for d in days])
        columns = [positions[d.date] for d in days]
        close_units = self._to_units(log_close[:, columns])  # (S, D)
        ref_units = self._to_units(log_prev[:, columns])
        floor, ceiling = limits_units(rules, ref_units)
        close_units = np.clip(close_units, floor, ceiling)

        counts = np.array([len(d.minutes_ns) for d in days])
        day_index = np.repeat(np.arange(len(days)), counts)
        day_start = np.r_[0, np.cumsum(counts)[:-1]]
        minute_index = np.arange(counts.sum()) - day_start[day_index]
        ts_ns = np.concatenate([d.minutes_ns for d in days])
        ordinals = np.array([d.date.toordinal() for d in days], dtype=np.uint64)
        keys = np.array([_symbol_key(s) for s in symbols], dtype=np.uint64)[:, None]
        minute_keys = _hash(self.seed, keys, ordinals[day_index], minute_index.astype(np.uint64))
        day_keys = _hash(self.seed, keys, ordinals)

        sigma_day = rules.daily_sigma
        band = (rules.limit_pct or 10) / 100.0
        gap = np.clip(0.3 * sigma_day * _normal(day_keys, _GAP), -0.4 * band, 0.4 * band)
        ref_log = np.log(ref_units * rules.unit)
        open_log = ref_log + gap
        target_log = np.log(close_units * rules.unit)

        z = _normal(minute_keys, _MINUTE)
        cumulative = np.cumsum(z, axis=1)
        before = np.where(day_start > 0, cumulative[:, np.maximum(day_start - 1, 0)], 0.0)  # (S, D)
        walk = cumulative - before[:, day_index]
        last = walk[:, day_start + counts - 1]  # (S, D)
        fraction = (minute_index + 1) / counts[day_index]
        bridge = walk - fraction * last[:, day_index]
        sigma_minute = 0.8 * sigma_day / np.sqrt(counts)[day_index]
        log_price = (
            open_log[:, day_index]
            + fraction * (target_log - open_log)[:, day_index]
            + sigma_minute * bridge
        )
        lo, hi = floor[:, day_index], ceiling[:, day_index]
        close = np.clip(round_to_grid(rules, np.exp(log_price) / rules.unit), lo, hi)
        day_last = day_start + counts - 1
        close[:, day_last] = close_units
        first_open = np.clip(round_to_grid(rules, np.exp(open_log) / rules.unit), floor, ceiling)
        open_ = np.empty_like(close)
        open_[:, 1:] = close[:, :-1]
        open_[:, day_start] = first_open

        top = np.maximum(open_, close)
        bottom = np.minimum(open_, close)
        wick_scale = 0.6 * sigma_minute * top
        wick_high = np.floor(-np.log(_uniform(_derive(minute_keys, _WICK_HIGH))) * wick_scale)
        wick_low = np.floor(-np.log(_uniform(_derive(minute_keys, _WICK_LOW))) * wick_scale)
        high = np.clip(np.maximum(round_to_grid(rules, top + wick_high), top), lo, hi)
        low = np.clip(np.minimum(round_to_grid(rules, bottom - wick_low), bottom), lo, hi)

        trades = 4 + (_uniform(_derive(minute_keys, _TRADES)) * 5).astype(np.int64)
        base_low, base_high = rules.base_lots
        base_lots = base_low + _uniform(_hash(self.seed, keys, _BASE_LOTS)) * (base_high - base_low)
        m = counts[day_index]
        profile = (
            0.6 + 1.6 * np.exp(-minute_index / 25.0) + 1.2 * np.exp(-(m - 1 - minute_index) / 25.0)
        )
        noise = np.exp(0.5 * _normal(minute_keys, _VOLUME) - 0.125)
        lots = np.maximum(np.rint(base_lots * profile * noise), trades).astype(np.int64)
        return _Minutes(
            days,
            day_index,
            minute_index,
            ts_ns,
            floor,
            ceiling,
            open_,
            high,
            low,
            close,
            lots,
            trades,
            minute_keys,
        )

    def _trades(self, minutes: _Minutes, *, full: bool = True) -> _Trades:
        """Expand each 1-minute bar into its trades: open, high and low (hashed order), extra
        trades inside the range, close. ``full=False`` computes only prices and lots (what a
        bar's vwap needs)."""
        rules = self.rules
        n = minutes.trades.ravel()
        total = int(n.sum())
        bar = np.repeat(np.arange(n.size), n)
        starts = _bar_starts(n)
        last = starts + n - 1
        position = np.arange(total) - np.repeat(starts, n)
        bar_keys = minutes.keys.ravel()
        keys = _derive(bar_keys[bar], 1000 + position)
        o, c = minutes.open.ravel(), minutes.close.ravel()
        h, lo = minutes.high.ravel(), minutes.low.ravel()

        price = np.empty(total, dtype=np.int64)
        extra = np.flatnonzero((position >= 3) & (position < n[bar] - 1))
        extra_bar = bar[extra]
        u = _uniform(_derive(keys[extra], _TRADE_PRICE))
        extra_price = lo[extra_bar] + u * (h[extra_bar] - lo[extra_bar])
        price[extra] = np.clip(round_to_grid(rules, extra_price), lo[extra_bar], h[extra_bar])
        high_first = _uniform(_derive(bar_keys, _HIGH_FIRST)) < 0.5
        price[starts + 1] = np.where(high_first, h, lo)
        price[starts + 2] = np.where(high_first, lo, h)
        price[starts] = o
        price[last] = c

        weight = _uniform(_derive(keys, _TRADE_WEIGHT))
        weight_sum = np.add.reduceat(weight, starts)
        spare = (minutes.lots.ravel() - n).astype(np.float64)
        lots = 1 + np.floor(weight * (spare / weight_sum)[bar]).astype(np.int64)
        lots[last] += minutes.lots.ravel() - np.add.reduceat(lots, starts)
        if not full:
            empty = np.zeros(0, dtype=np.int64)
            return _Trades(
                bar, price, lots, empty, empty.astype(np.int8), empty, empty, empty, empty
            )

        count = n[bar]
        offset = (
            (position + 0.1 + 0.8 * _uniform(_derive(keys, _TRADE_TIME))) / count * _NS_PER_MINUTE
        )
        offset_ns = (offset // 1000).astype(np.int64) * 1000
        previous = np.empty_like(price)
        previous[1:] = price[:-1]
        previous[starts] = o
        tie = np.where(_uniform(_derive(keys, _TIE)) < 0.5, 1, -1)
        side = np.sign(price - previous)
        side = np.where(side == 0, tie, side)
        S, T = minutes.close.shape
        symbol_of, t_of = bar // max(T, 1), bar % max(T, 1)
        floor = minutes.floor[symbol_of, minutes.day_index[t_of]]
        ceiling = minutes.ceiling[symbol_of, minutes.day_index[t_of]]
        side = np.where(price >= ceiling, 1, np.where(price <= floor, -1, side))
        if self._vietnamese:
            auction = np.array(
                [code in ("ATO", "ATC") for d in minutes.days for code in d.codes], dtype=bool
            )
            side = np.where(auction[t_of], 0, side)
        tick = tick_units(rules, price)
        bid = np.maximum(np.where(side == -1, price, price - tick), floor)
        ask = np.minimum(np.where(side == 1, price, price + tick), ceiling)
        bid_lots = 1 + (_uniform(_derive(keys, _BID_SIZE)) * 50).astype(np.int64)
        ask_lots = 1 + (_uniform(_derive(keys, _ASK_SIZE)) * 50).astype(np.int64)
        return _Trades(
            bar, price, lots, offset_ns, side.astype(np.int8), bid, ask, bid_lots, ask_lots
        )

    def _tick_rows(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime, *, shift_ns: int
    ) -> Iterator[tuple[Any, ...]]:
        """Rows ``(symbol, ts, price, volume, side, code, bid, bid_size, ask, ask_size)`` of the
        trades whose time plus ``shift_ns`` (0 for trades, -1 ms for quotes) is in the range;
        ``ts`` is that shifted time."""
        symbols = _check_symbols(symbols)
        start, end = _check_range(start, end)
        widened = end + dt.timedelta(microseconds=-shift_ns // 1000)
        minutes = self._minutes(symbols, start, widened)
        S, T = minutes.close.shape
        if T == 0:
            return
        trades = self._trades(minutes)
        ts_ns = minutes.ts_ns[trades.bar % T] + trades.offset_ns + shift_ns
        index = np.flatnonzero((ts_ns >= _ns(start)) & (ts_ns < _ns(end)))
        price, side = trades.price[index], trades.side[index]
        bid, ask = trades.bid[index], trades.ask[index]
        unit, lot = self.rules.unit, self.rules.lot
        codes = [code for d in minutes.days for code in d.codes]
        sides = {1: Aggressor.BUY, -1: Aggressor.SELL, 0: None}
        bars = trades.bar[index].tolist()
        yield from zip(
            [symbols[b // T] for b in bars],
            [_UTC_EPOCH + dt.timedelta(microseconds=ns // 1000) for ns in ts_ns[index].tolist()],
            np.round(price * unit, 6).tolist(),
            (trades.lots[index] * lot).astype(np.float64).tolist(),
            [sides[x] for x in side.tolist()],
            [codes[b % T] for b in bars],
            np.round(bid * unit, 6).tolist(),
            (trades.bid_lots[index] * lot).astype(np.float64).tolist(),
            np.round(ask * unit, 6).tolist(),
            (trades.ask_lots[index] * lot).astype(np.float64).tolist(),
            strict=True,
        )

    def _second_frame(
        self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, Any]:
        """1-second bars from the trades: one bar per second with at least one trade."""
        minutes = self._minutes(symbols, start, end)
        S, T = minutes.close.shape
        empty = {
            "symbols": list(symbols),
            "interval": "1s",
            "ts_ns": np.zeros(0, dtype=np.int64),
            **{
                k: np.zeros((S, 0), dtype=np.int64)
                for k in ("open", "high", "low", "close", "trade_count")
            },
            "volume": np.zeros((S, 0)),
            "vwap": np.zeros((S, 0)),
            "valid": np.zeros((S, 0), dtype=bool),
        }
        if T == 0:
            return empty
        trades = self._trades(minutes)
        ts_ns = minutes.ts_ns[trades.bar % T] + trades.offset_ns
        second = ts_ns // 1_000_000_000 * 1_000_000_000
        symbol_of = trades.bar // T
        seconds = np.unique(second)
        column = np.searchsorted(seconds, second)
        group = symbol_of * len(seconds) + column
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        ends = np.r_[starts[1:], len(group)] - 1
        rows, cols = symbol_of[starts], column[starts]
        shape = (S, len(seconds))

        def scatter(values: Any, dtype: Any) -> np.ndarray:
            out = np.zeros(shape, dtype=dtype)
            out[rows, cols] = values
            return out

        lots = np.add.reduceat(trades.lots, starts)
        value = np.add.reduceat(trades.price * trades.lots, starts)
        valid = scatter(True, bool)
        start_ns, end_ns = _ns(start), _ns(end)
        valid &= ((seconds >= start_ns) & (seconds < end_ns))[None, :]
        return {
            "symbols": list(symbols),
            "interval": "1s",
            "ts_ns": seconds,
            "open": scatter(trades.price[starts], np.int64),
            "high": scatter(np.maximum.reduceat(trades.price, starts), np.int64),
            "low": scatter(np.minimum.reduceat(trades.price, starts), np.int64),
            "close": scatter(trades.price[ends], np.int64),
            "volume": scatter(lots * self.rules.lot, np.float64),
            "trade_count": scatter(ends - starts + 1, np.int64),
            "vwap": scatter(value / lots * self.rules.unit, np.float64),
            "valid": valid,
        }


_new = tuple.__new__


def _check_symbols(symbols: Sequence[str]) -> list[str]:
    if isinstance(symbols, str):
        symbols = [symbols]
    out = list(dict.fromkeys(symbols))
    if not all(isinstance(s, str) and s for s in out):
        raise SourceError(f"synthetic source: symbols must be non-empty strings, was {symbols!r}")
    return out


def _check_range(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    for label, value in (("start", start), ("end", end)):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise SourceError(f"synthetic source: {label} must be an aware datetime, was {value!r}")
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _bar_starts(counts: np.ndarray) -> np.ndarray:
    if counts.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)


def _bucket_keys(minutes: _Minutes, label: str) -> np.ndarray:
    """A key per minute, equal for the minutes of one output bar (and increasing)."""
    if label == "1m":
        return np.arange(len(minutes.ts_ns), dtype=np.int64)
    if label == "1d":
        return minutes.day_index.astype(np.int64)
    size = parse_interval(label).seconds // 60
    open_ns = np.array([d.open_ns for d in minutes.days], dtype=np.int64)[minutes.day_index]
    segment = np.concatenate([d.segment for d in minutes.days]).astype(np.int64)
    bucket = (minutes.ts_ns - open_ns) // (size * _NS_PER_MINUTE)
    return (minutes.day_index.astype(np.int64) * 4 + segment) * 100_000 + bucket


def _bucket_ts(minutes: _Minutes, key: np.ndarray, starts: np.ndarray, label: str) -> np.ndarray:
    if len(starts) == 0:
        return np.zeros(0, dtype=np.int64)
    if label == "1m":
        return minutes.ts_ns
    day = minutes.day_index[starts]
    open_ns = np.array([d.open_ns for d in minutes.days], dtype=np.int64)
    if label == "1d":
        return open_ns[day]
    size = parse_interval(label).seconds // 60
    bucket = key[starts] % 100_000
    aligned = open_ns[day] + bucket * size * _NS_PER_MINUTE
    segment_start = np.array(
        [
            minutes.days[d].segment_start_ns[int(s)]
            for d, s in zip(day.tolist(), ((key[starts] // 100_000) % 4).tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    return np.maximum(aligned, segment_start)


__all__ = ["SyntheticModel"]
