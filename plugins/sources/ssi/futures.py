"""VN30 index futures: contract codes in both schemes, expiry dates, listed and primary contracts.

Facts (``../shared/reference/vietnam_market.md`` §4):

- Listed at any time: the current (front) month, the next month, and the next two quarter
  months (Mar/Jun/Sep/Dec) after those; a new contract is listed the day after an expiry.
- Last trading day: the **third Thursday** of the contract month, or the preceding business
  day when that Thursday is not a session (``core.calendars``, calendar ``VN30F``).
- The front (primary) contract rolls to the next month the day after its last trading day.
- Codes: legacy ``VN30F{YY}{MM}`` (``VN30F2602``) and the KRX-era ``41I1{year}{month}000``
  (``41I1G2000``): year character from ``0123456789ABCDEFGHJKLMNPQRSTVW`` indexed by
  ``(year - 2010) mod 30``, month ``1``-``9``, ``A``/``B``/``C``. Both denote one instrument.
  Contracts listed before the KRX go-live (2025-05-05) kept their legacy code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from core import calendars
from core.errors import SourceError

CALENDAR = "VN30F"
KRX_GO_LIVE = date(2025, 5, 5)
YEAR_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTVW"
MONTH_ALPHABET = "123456789ABC"
QUARTER_MONTHS = (3, 6, 9, 12)

_LEGACY_RE = re.compile(r"^VN30F(\d{2})(0[1-9]|1[0-2])$")
_KRX_RE = re.compile(r"^41I1([0-9A-HJ-NP-TV-W])([1-9A-C])000$")


@dataclass(frozen=True, slots=True, order=True)
class FuturesContract:
    """One VN30 futures contract month (``year``, ``month``)."""

    year: int
    month: int

    @property
    def legacy_code(self) -> str:
        """``VN30F2602`` form."""
        return f"VN30F{self.year % 100:02d}{self.month:02d}"

    @property
    def krx_code(self) -> str:
        """``41I1G2000`` form."""
        return f"41I1{YEAR_ALPHABET[(self.year - 2010) % 30]}{MONTH_ALPHABET[self.month - 1]}000"

    @property
    def expiry(self) -> date:
        """Last trading day (third Thursday, or the preceding session on a holiday)."""
        return expiry_date(self.year, self.month)

    @property
    def listed_on(self) -> date:
        """First trading day of the contract (the day after the expiry that opened its slot)."""
        return _listed_on(self.year, self.month)

    @property
    def symbol(self) -> str:
        """The exchange code the contract trades under: legacy when listed before the KRX
        go-live, the KRX code otherwise."""
        return self.legacy_code if self.listed_on < KRX_GO_LIVE else self.krx_code

    def shifted(self, months: int) -> FuturesContract:
        index = self.year * 12 + (self.month - 1) + months
        return FuturesContract(index // 12, index % 12 + 1)


def parse_contract(symbol: str) -> FuturesContract:
    """``VN30F2602`` or ``41I1G2000`` -> ``FuturesContract(2026, 2)``.

    KRX year characters repeat every 30 years; they are resolved to 2010-2039.
    """
    text = symbol.strip().upper() if isinstance(symbol, str) else ""
    match = _LEGACY_RE.match(text)
    if match:
        return FuturesContract(2000 + int(match.group(1)), int(match.group(2)))
    match = _KRX_RE.match(text)
    if match:
        return FuturesContract(
            2010 + YEAR_ALPHABET.index(match.group(1)), MONTH_ALPHABET.index(match.group(2)) + 1
        )
    raise SourceError(
        f"futures symbol {symbol!r} is not a VN30 contract code "
        "(expected VN30FYYMM like 'VN30F2602' or a KRX code like '41I1G2000')"
    )


def is_vn30_futures(symbol: str) -> bool:
    """True when ``symbol`` is a VN30 futures code in either scheme."""
    text = symbol.strip().upper()
    return bool(_LEGACY_RE.match(text) or _KRX_RE.match(text))


def to_krx(symbol: str) -> str:
    """Either form -> the KRX form (``VN30F2602`` -> ``41I1G2000``)."""
    return parse_contract(symbol).krx_code


def to_legacy(symbol: str) -> str:
    """Either form -> the legacy form (``41I1G2000`` -> ``VN30F2602``)."""
    return parse_contract(symbol).legacy_code


def aliases(symbol: str) -> tuple[str, str]:
    """Both codes of the instrument ``symbol`` names: ``(legacy, krx)``."""
    contract = parse_contract(symbol)
    return contract.legacy_code, contract.krx_code


def third_thursday(year: int, month: int) -> date:
    first = date(year, month, 1)
    offset = (3 - first.weekday()) % 7  # Thursday is weekday 3
    return first + timedelta(days=offset + 14)


@lru_cache(maxsize=256)
def expiry_date(year: int, month: int) -> date:
    """Last trading day of the contract month: the third Thursday, or the preceding session
    of the ``VN30F`` calendar when that Thursday is a holiday (CalendarError outside the
    calendar's years)."""
    thursday = third_thursday(year, month)
    if calendars.is_session(CALENDAR, thursday):
        return thursday
    return calendars.previous_session(CALENDAR, thursday)


def _listed_on(year: int, month: int) -> date:
    # The contract is listed the day after the expiry of the earliest month k whose
    # post-expiry listing set contains it. Third Thursdays suffice to place that day
    # relative to the KRX go-live (no holiday moves an expiry across 5 May).
    target = FuturesContract(year, month)
    for back in range(12, 0, -1):
        k = target.shifted(-back)
        if target in _listed_after(k):
            return third_thursday(k.year, k.month) + timedelta(days=1)
    return third_thursday(year, month)  # unreachable: M is listed after M-2's expiry


def _listed_after(expired: FuturesContract) -> tuple[FuturesContract, ...]:
    front = expired.shifted(1)
    return _listing(front)


def _listing(front: FuturesContract) -> tuple[FuturesContract, ...]:
    following = front.shifted(1)
    quarters: list[FuturesContract] = []
    candidate = following.shifted(1)
    while len(quarters) < 2:
        if candidate.month in QUARTER_MONTHS:
            quarters.append(candidate)
        candidate = candidate.shifted(1)
    return (front, following, *quarters)


def front_contract(day: date) -> FuturesContract:
    """The primary contract on ``day``: this month's until its last trading day (inclusive),
    then next month's."""
    contract = FuturesContract(day.year, day.month)
    if day > contract.expiry:
        contract = contract.shifted(1)
    return contract


def listed_contracts(day: date) -> list[FuturesContract]:
    """Contracts trading on ``day``: front month, next month, next two quarter months."""
    return list(_listing(front_contract(day)))


def listed_symbols(day: date) -> list[str]:
    """Exchange codes of ``listed_contracts(day)`` (legacy or KRX, as each trades)."""
    return [contract.symbol for contract in listed_contracts(day)]


def primary_symbol(day: date) -> str:
    """Exchange code of the front contract on ``day``."""
    return front_contract(day).symbol
