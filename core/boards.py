"""Board rules of the exchanges sessiond knows: tick grid, daily price limits, round lot.

From ``../shared/reference/vietnam_market.md`` §3 (and §4 for VN30 futures):

=========  ==============================================  ============  =====
board      tick                                            daily limit   lot
=========  ==============================================  ============  =====
HOSE       10 VND below 10,000; 50 below 50,000; else 100  ±7 %          100
HNX        100 VND                                         ±10 %         100
UPCoM      100 VND                                         ±15 %         100
VN30F      0.1 index point                                 ±7 %          1
US         0.01 USD                                        none          100
=========  ==============================================  ============  =====

Limits are a percentage of the reference price (the previous close), rounded **inward** to the
tick grid: ceiling down, floor up (HOSE ref 22,900 -> 21,300 / 24,500), with the tick of the
unrounded limit's price level (ref 48,000 -> ceiling 51,300 on the 100 VND grid; which tick
applies across a level boundary is unverified). Prices are handled as
integers of the board's ``unit`` so that the rounding is exact. Used by the synthetic source
(prices it generates) and the Dagster price-limit check (ticks and limits it checks against).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core import calendars

if TYPE_CHECKING:  # numpy is imported by the array functions when called
    import numpy as np

# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardRules:
    """Price grid and limits of one board. Prices are handled as integers of ``unit``.

    ``unit`` is the smallest price step in quote currency (1 VND, 0.01 USD, 0.1 index point);
    ``ticks`` pairs ``(from_price_units, tick_units)``, ascending; ``limit_pct`` the daily
    band in percent of the reference price (None: no band); ``lot`` the round lot.
    ``base_range`` (quote currency), ``daily_sigma`` (fraction per session) and ``base_lots``
    (lots per minute) shape the synthetic source's data on this board.
    """

    board: str
    unit: float
    ticks: tuple[tuple[int, int], ...]
    limit_pct: int | None
    lot: int
    base_range: tuple[float, float]
    daily_sigma: float
    base_lots: tuple[int, int]


HOSE = BoardRules(
    "HOSE", 1.0, ((0, 10), (10_000, 50), (50_000, 100)), 7, 100, (8_000, 120_000), 0.018, (20, 400)
)
HNX = BoardRules("HNX", 1.0, ((0, 100),), 10, 100, (6_000, 60_000), 0.02, (10, 200))
UPCOM = BoardRules("UPCOM", 1.0, ((0, 100),), 15, 100, (5_000, 50_000), 0.022, (5, 100))
VN30F = BoardRules("VN30F", 0.1, ((0, 1),), 7, 1, (1_150.0, 1_400.0), 0.012, (50, 400))
US = BoardRules("US", 0.01, ((0, 1),), None, 100, (20.0, 400.0), 0.015, (20, 300))

_BOARD_OF_CALENDAR = {"XSTC": HOSE, "XHNX": HNX, "UPCOM": UPCOM, "VN30F": VN30F}


def board_rules(exchange: str) -> BoardRules:
    """Rules of the board an exchange calendar / alias / group trades on (US rules otherwise)."""
    return _BOARD_OF_CALENDAR.get(calendars.resolve_calendar_name(exchange), US)


def tick_units(rules: BoardRules, price_units: np.ndarray) -> np.ndarray:
    import numpy as np

    price_units = np.asarray(price_units)
    tick = np.full(price_units.shape, rules.ticks[0][1], dtype=np.int64)
    for threshold, size in rules.ticks[1:]:
        tick = np.where(price_units >= threshold, size, tick)
    return tick


def round_to_grid(rules: BoardRules, price_units: np.ndarray) -> np.ndarray:
    import numpy as np

    tick = tick_units(rules, price_units)
    return (np.rint(price_units / tick) * tick).astype(np.int64)


def limits_units(rules: BoardRules, reference_units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Floor and ceiling (integer units) around integer reference prices, rounded inward."""
    import numpy as np

    ref = np.asarray(reference_units, dtype=np.int64)
    if rules.limit_pct is None:
        return np.ones_like(ref), np.full_like(ref, np.iinfo(np.int64).max // 4)
    up = ref * (100 + rules.limit_pct)
    down = ref * (100 - rules.limit_pct)
    tick_up = tick_units(rules, up // 100)
    tick_down = tick_units(rules, -((-down) // 100))
    ceiling = (up // (100 * tick_up)) * tick_up
    floor = -((-down) // (100 * tick_down)) * tick_down
    return floor, ceiling


def tick_size(exchange: str, price: float) -> float:
    """The tick at ``price`` on the exchange's board (HOSE 28,600 VND -> 50.0; US -> 0.01)."""
    rules = board_rules(exchange)
    units = [round(price / rules.unit)]
    return float(tick_units(rules, units)[0]) * rules.unit


def is_on_tick_grid(exchange: str, price: float) -> bool:
    """True when ``price`` is a valid price on the exchange's board."""
    rules = board_rules(exchange)
    units = price / rules.unit
    if abs(units - round(units)) > 1e-6:
        return False
    return int(round(units)) % int(tick_units(rules, [round(units)])[0]) == 0


def price_limits(exchange: str, reference: float) -> tuple[float, float]:
    """``(floor, ceiling)`` for a reference price, rounded inward to the tick grid.

    HOSE ref 22,900 -> (21,300, 24,500); HNX ref 21,300 -> (19,200, 23,400). Boards without a
    daily limit (US) return ``(0.0, inf)``.
    """
    rules = board_rules(exchange)
    if rules.limit_pct is None:
        return 0.0, float("inf")
    floor, ceiling = limits_units(rules, [round(reference / rules.unit)])
    return float(floor[0]) * rules.unit, float(ceiling[0]) * rules.unit


__all__ = [
    "HNX",
    "HOSE",
    "UPCOM",
    "US",
    "VN30F",
    "BoardRules",
    "board_rules",
    "is_on_tick_grid",
    "limits_units",
    "price_limits",
    "round_to_grid",
    "tick_size",
    "tick_units",
]
