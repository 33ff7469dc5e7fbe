"""A realistic HOSE trading day of the VN30, as SSI FastConnect would stream it: the script the
demo's fake SSI server plays (``sessiond demo vn-live``).

Deterministic for a seed. Every stock of the VN30 trades on the HOSE tick grid inside its
daily limits (``core.boards``): the ATO match at 09:15, continuous trading 09:15-11:30 and
13:00-14:30 with more trades near the open and the close, the ATC match at 14:45. Each trade
is preceded by the best quote it hits (a buyer lifts the ask, a seller hits the bid; one trade
in ten comes without the vendor's side flag, for the quote and tick rules to decide). The
VN30 and VNINDEX move with the stocks (one tick a minute), the front-month VN30 futures trade
every 30 seconds at the index plus a drifting basis, foreign investors' cumulative volumes
update every 15 minutes.

Each message is sent when the session clock reaches its time: the steps wait with
``("until", seconds_left)`` on the caller's clock (a demo clock runs faster than real time).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from core import boards, calendars
from daemon.demo.messages import foreign, futures, index, quote, trade

EXCHANGE = "XSTC"
REFERENCE_PRICES = {
    "ACB": 24_850, "BCM": 61_200, "BID": 44_900, "CTG": 38_150, "DGC": 98_700,
    "FPT": 129_800, "GAS": 67_900, "GVR": 28_300, "HDB": 23_950, "HPG": 26_100,
    "LPB": 31_950, "MBB": 23_100, "MSN": 70_400, "MWG": 60_300, "PLX": 38_000,
    "SAB": 50_200, "SHB": 11_050, "SSB": 18_950, "SSI": 26_250, "STB": 38_300,
    "TCB": 24_900, "TPB": 15_300, "VCB": 60_100, "VHM": 45_200, "VIB": 18_900,
    "VIC": 44_800, "VJC": 99_600, "VNM": 61_900, "VPB": 19_050, "VRE": 25_150,
}  # fmt: skip
"""Reference prices (VND) of the VN30 components the demo trades."""

VN30_BASE, VNINDEX_BASE = 1_320.0, 1_265.0


@dataclass(frozen=True, slots=True)
class Message:
    """One message of the day: when it is due (UTC), its channel type and content."""

    at: datetime
    data_type: str
    content: dict[str, Any]


def _local(day: date, hhmmss: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmmss), calendars.exchange_timezone(EXCHANGE))


def _continuous_seconds(day: date) -> list[datetime]:
    """Every second of continuous trading (09:15:01-11:30, 13:00-14:30), local."""
    out: list[datetime] = []
    for start, end in (("09:15:01", "11:30:00"), ("13:00:00", "14:30:00")):
        at, stop = _local(day, start), _local(day, end)
        while at < stop:
            out.append(at)
            at += timedelta(seconds=1)
    return out


def _intensity(index: int, total: int) -> float:
    """U-shaped trading intensity over the continuous seconds: busier at the open and close."""
    position = index / total
    return 1.0 + 3.0 * math.exp(-position / 0.08) + 2.0 * math.exp(-(1 - position) / 0.08)


def _on_grid(price: float) -> float:
    tick = boards.tick_size(EXCHANGE, price)
    return round(round(price / tick) * tick, 2)


def _volume(rng: random.Random, scale: float) -> float:
    """A lot of 100 shares, log-normally sized."""
    return float(max(1, round(rng.lognormvariate(math.log(scale), 0.9) / 100)) * 100)


def day_messages(
    day: date, symbols: Sequence[str], futures_code: str | None, seed: int = 7
) -> list[Message]:
    """Every message of ``day`` for ``symbols`` (VN30 components; others are skipped) and the
    futures contract, ordered by time."""
    rng = random.Random(seed)
    text_day = day.strftime("%d/%m/%Y")
    seconds = _continuous_seconds(day)
    weights = [_intensity(i, len(seconds)) for i in range(len(seconds))]
    stocks = [s for s in symbols if s in REFERENCE_PRICES]
    messages: list[Message] = []
    paths: dict[str, list[tuple[datetime, float]]] = {}
    for number, symbol in enumerate(stocks):
        reference = float(REFERENCE_PRICES[symbol])
        floor, ceiling = boards.price_limits(EXCHANGE, reference)
        drift = rng.gauss(0.0, 0.012)  # the stock's mood of the day
        activity = rng.uniform(0.5, 1.6)
        price = _on_grid(reference * (1 + rng.gauss(0, 0.004)))
        total = 0.0
        stamp = lambda at: at.strftime("%H:%M:%S")  # noqa: E731
        ato = _local(day, "09:15:00")
        ato_volume = _volume(rng, 40_000 * activity)
        total += ato_volume
        messages.append(
            Message(
                ato - timedelta(seconds=30),
                "X-QUOTE",
                quote(
                    symbol, text_day, "09:14:30", price - boards.tick_size(EXCHANGE, price), price
                ),
            )
        )
        messages.append(
            Message(
                ato,
                "X-TRADE",
                trade(symbol, text_day, "09:15:00", price, ato_volume, total, "", "ATO"),
            )
        )
        path = [(ato, price)]
        count = int(140 * activity)
        times = sorted(set(rng.choices(range(len(seconds)), weights=weights, k=count)))
        for k, slot in enumerate(times):
            at = seconds[slot]
            target = reference * (1 + drift * (k + 1) / len(times))
            tick = boards.tick_size(EXCHANGE, price)
            step = rng.choices((-1, 0, 1), weights=(1.0, 1.4, 1.0))[0]
            if price < target - tick:
                step = rng.choice((0, 1, 1))
            elif price > target + tick:
                step = rng.choice((0, -1, -1))
            price = min(ceiling, max(floor, _on_grid(price + step * tick)))
            tick = boards.tick_size(EXCHANGE, price)
            buyer = rng.random() < (0.5 + 0.25 * step)
            bid, ask = (price - tick, price) if buyer else (price, price + tick)
            volume = _volume(rng, 1_500 * activity)
            total += volume
            side = "" if rng.random() < 0.1 else ("BU" if buyer else "SD")
            quoted = at - timedelta(seconds=1)
            messages.append(
                Message(quoted, "X-QUOTE", quote(symbol, text_day, stamp(quoted), bid, ask))
            )
            messages.append(
                Message(
                    at, "X-TRADE", trade(symbol, text_day, stamp(at), price, volume, total, side)
                )
            )
            path.append((at, price))
        atc = _local(day, "14:45:00")
        atc_volume = _volume(rng, 30_000 * activity)
        total += atc_volume
        messages.append(
            Message(
                atc,
                "X-TRADE",
                trade(symbol, text_day, "14:45:00", price, atc_volume, total, "", "ATC"),
            )
        )
        path.append((atc, price))
        paths[symbol] = path
        # foreign investors: cumulative buy / sell every 15 minutes of trading
        bought = sold = 0.0
        for minute in range(0, 330, 15):
            at = _local(day, "09:15:00") + timedelta(minutes=minute, seconds=number)
            if time(11, 30) <= at.time() < time(13, 0) or at.time() > time(14, 45):
                continue
            bought += _volume(rng, 3_000 * activity)
            sold += _volume(rng, 3_000 * activity)
            messages.append(
                Message(
                    at,
                    "R",
                    foreign(
                        symbol, text_day, stamp(at), bought, sold, bought * price, sold * price
                    ),
                )
            )
    messages.extend(_index_and_futures(day, paths, futures_code, rng))
    messages.sort(key=lambda m: m.at)
    return messages


def _price_at(path: list[tuple[datetime, float]], at: datetime) -> float:
    latest = path[0][1]
    for when, price in path:
        if when > at:
            break
        latest = price
    return latest


def _index_and_futures(
    day: date,
    paths: dict[str, list[tuple[datetime, float]]],
    futures_code: str | None,
    rng: random.Random,
) -> list[Message]:
    text_day = day.strftime("%d/%m/%Y")
    out: list[Message] = []
    minutes = [
        at
        for at in (_local(day, "09:15:00") + timedelta(minutes=m) for m in range(331))
        if not (time(11, 30) < at.time() < time(13, 0))
    ]
    basis = 4.0
    futures_total = 0.0
    last_future: float | None = None
    for at in minutes:
        ratios = [_price_at(p, at) / REFERENCE_PRICES[s] for s, p in paths.items()] or [1.0]
        move = sum(ratios) / len(ratios) - 1
        vn30 = round(VN30_BASE * (1 + 1.15 * move), 2)
        vnindex = round(VNINDEX_BASE * (1 + 0.9 * move + rng.gauss(0, 0.0003)), 2)
        hhmmss = at.strftime("%H:%M:%S")
        out.append(Message(at, "MI", index("VN30", text_day, hhmmss, vn30, VN30_BASE)))
        out.append(Message(at, "MI", index("VNINDEX", text_day, hhmmss, vnindex, VNINDEX_BASE)))
        if futures_code is None or at.time() > time(14, 30):
            continue
        for offset in (10, 40):
            basis = 0.9 * basis + 0.1 * 3.0 + rng.gauss(0, 0.6)
            price = round(vn30 + basis, 1)
            lot = float(rng.randint(5, 120))
            futures_total += lot
            trade_at = at + timedelta(seconds=offset)
            content = futures(
                futures_code, text_day, trade_at.strftime("%H:%M:%S"), price, lot, futures_total
            )
            content["Side"] = "BU" if last_future is None or price >= last_future else "SD"
            last_future = price
            out.append(Message(trade_at, "X", content))
    return out


def fake_scripts(
    messages: Sequence[Message], seconds_until: Callable[[datetime], float]
) -> dict[str, list[list[tuple[Any, ...]]]]:
    """The fake SSI server's scripts: per channel type, one connection's steps, each message
    sent when ``seconds_until(its time)`` (the session clock's wall seconds) reaches 0."""
    scripts: dict[str, list[tuple[Any, ...]]] = {}
    for message in messages:
        steps = scripts.setdefault(message.data_type, [])
        steps.append(("until", lambda at=message.at: seconds_until(at)))
        steps.append(("broadcast", message.data_type, message.content))
    return {data_type: [steps] for data_type, steps in scripts.items()}
