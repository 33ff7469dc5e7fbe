"""The intraday phase of an exchange at any instant, and SSI ``TradingSession`` normalisation.

A trading day's phases tile the exchange-local calendar day ``[00:00, 24:00)`` with no gap.
Local times (``../shared/reference/vietnam_market.md`` §1; US per the Alpaca/NYSE hours):

HOSE (``XSTC``)
    closed, pre-open 08:30, ATO 09:00–09:15, continuous 09:15–11:30, break 11:30–13:00,
    continuous 13:00–14:30, ATC 14:30–14:45, put-through 14:45–15:00, closed.
HNX (``XHNX``)
    closed, pre-open 08:30, continuous 09:00–11:30, break, continuous 13:00–14:30,
    ATC 14:30–14:45, post-close (PLO) 14:45–15:00, closed.
UPCoM (``UPCOM``)
    closed, pre-open 08:30, continuous 09:00–11:30, break, continuous 13:00–15:00, closed.
VN30 futures (``VN30F``)
    closed, pre-open 08:15, ATO 08:45–09:00, continuous 09:00–11:30, break,
    continuous 13:00–14:30, ATC 14:30–14:45, closed.
US equities (``XNYS``, America/New_York)
    closed, pre-market 04:00–open, continuous (regular hours) open–close, post-market
    close–20:00 (close–17:00 on an early-close day), closed.

The 30-minute pre-open before the first Vietnamese phase (order entry, no matching) is a sessiond
convention; the exchanges publish no such window. Weekends and holidays are one closed window.
Other registered calendars get closed / continuous (with their break) / closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from core import calendars
from core.errors import CalendarError

__all__ = [
    "AUCTION_PHASES",
    "TRADING_SESSION_CODES",
    "Phase",
    "PhaseWindow",
    "normalize_trading_session",
    "phase_at",
    "phase_for_trading_session",
    "phase_windows",
]


class Phase(StrEnum):
    """An intraday market phase (values are the strings stored and sent to hooks)."""

    PRE_OPEN = "pre_open"
    ATO = "ato"
    CONTINUOUS = "continuous"
    BREAK = "break"
    ATC = "atc"
    POST_CLOSE = "post_close"
    PUT_THROUGH = "put_through"
    CLOSED = "closed"
    PRE_MARKET = "pre_market"
    POST_MARKET = "post_market"


AUCTION_PHASES: frozenset[Phase] = frozenset({Phase.ATO, Phase.ATC})
"""Call-auction phases: their matches have no aggressor (neutral volume)."""


@dataclass(frozen=True, slots=True)
class PhaseWindow:
    """One phase from ``start`` (inclusive) to ``end`` (exclusive), aware UTC."""

    phase: Phase
    start: dt.datetime
    end: dt.datetime

    def __contains__(self, ts: dt.datetime) -> bool:
        return self.start <= ts < self.end


def _t(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


# Intraday layout of a session day, local times: (phase, start) in order; each phase ends where
# the next begins; the first phase starts at 00:00 and the last ends at 24:00.
_VN_LAYOUTS: dict[str, tuple[tuple[Phase, dt.time], ...]] = {
    "XSTC": (
        (Phase.CLOSED, _t("00:00")),
        (Phase.PRE_OPEN, _t("08:30")),
        (Phase.ATO, _t("09:00")),
        (Phase.CONTINUOUS, _t("09:15")),
        (Phase.BREAK, _t("11:30")),
        (Phase.CONTINUOUS, _t("13:00")),
        (Phase.ATC, _t("14:30")),
        (Phase.PUT_THROUGH, _t("14:45")),
        (Phase.CLOSED, _t("15:00")),
    ),
    "XHNX": (
        (Phase.CLOSED, _t("00:00")),
        (Phase.PRE_OPEN, _t("08:30")),
        (Phase.CONTINUOUS, _t("09:00")),
        (Phase.BREAK, _t("11:30")),
        (Phase.CONTINUOUS, _t("13:00")),
        (Phase.ATC, _t("14:30")),
        (Phase.POST_CLOSE, _t("14:45")),
        (Phase.CLOSED, _t("15:00")),
    ),
    "UPCOM": (
        (Phase.CLOSED, _t("00:00")),
        (Phase.PRE_OPEN, _t("08:30")),
        (Phase.CONTINUOUS, _t("09:00")),
        (Phase.BREAK, _t("11:30")),
        (Phase.CONTINUOUS, _t("13:00")),
        (Phase.CLOSED, _t("15:00")),
    ),
    "VN30F": (
        (Phase.CLOSED, _t("00:00")),
        (Phase.PRE_OPEN, _t("08:15")),
        (Phase.ATO, _t("08:45")),
        (Phase.CONTINUOUS, _t("09:00")),
        (Phase.BREAK, _t("11:30")),
        (Phase.CONTINUOUS, _t("13:00")),
        (Phase.ATC, _t("14:30")),
        (Phase.CLOSED, _t("14:45")),
    ),
}

US_PRE_MARKET_START = _t("04:00")
"""US pre-market opens at 04:00 ET."""
US_POST_MARKET_END = _t("20:00")
"""US post-market ends at 20:00 ET."""
US_POST_MARKET_END_EARLY_CLOSE = _t("17:00")
"""US post-market ends at 17:00 ET on early-close days (NYSE Arca late session)."""


def _build(
    tz: dt.tzinfo, day: dt.date, starts: list[tuple[Phase, dt.datetime]]
) -> list[PhaseWindow]:
    """Turn ordered (phase, start) pairs into windows ending at the next local midnight.

    Adjacent equal phases merge; zero-length windows are dropped.
    """
    day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz).astimezone(dt.UTC)
    windows: list[PhaseWindow] = []
    for i, (phase, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else day_end
        if end <= start:
            continue
        if windows and windows[-1].phase == phase and windows[-1].end == start:
            windows[-1] = PhaseWindow(phase, windows[-1].start, end)
        else:
            windows.append(PhaseWindow(phase, start, end))
    return windows


def _windows(name: str, day: dt.date) -> tuple[PhaseWindow, ...]:
    return _cached_windows(name, day, calendars.generation)


@lru_cache(maxsize=2048)
def _cached_windows(name: str, day: dt.date, generation: int) -> tuple[PhaseWindow, ...]:
    """The windows of ``name`` on ``day``; ``generation`` drops entries of replaced calendars."""
    tz = calendars.exchange_timezone(name)

    def local(t: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, t, tz).astimezone(dt.UTC)

    midnight = local(dt.time(0))
    if not calendars.is_session(name, day):
        return tuple(_build(tz, day, [(Phase.CLOSED, midnight)]))
    bounds = calendars.session_bounds(name, day)
    if name in _VN_LAYOUTS:
        return tuple(_build(tz, day, [(phase, local(t)) for phase, t in _VN_LAYOUTS[name]]))
    if name == "XNYS":
        post_end = US_POST_MARKET_END_EARLY_CLOSE if bounds.is_early_close else US_POST_MARKET_END
        return tuple(
            _build(
                tz,
                day,
                [
                    (Phase.CLOSED, midnight),
                    (Phase.PRE_MARKET, local(US_PRE_MARKET_START)),
                    (Phase.CONTINUOUS, bounds.open),
                    (Phase.POST_MARKET, bounds.close),
                    (Phase.CLOSED, local(post_end)),
                ],
            )
        )
    starts: list[tuple[Phase, dt.datetime]] = [
        (Phase.CLOSED, midnight),
        (Phase.CONTINUOUS, bounds.open),
    ]
    if bounds.break_start is not None and bounds.break_end is not None:
        starts += [(Phase.BREAK, bounds.break_start), (Phase.CONTINUOUS, bounds.break_end)]
    starts.append((Phase.CLOSED, bounds.close))
    return tuple(_build(tz, day, starts))


def phase_windows(exchange: str, day: dt.date) -> list[PhaseWindow]:
    """The phases of one exchange-local day, in order, covering local 00:00 to 24:00.

    ``exchange`` is a calendar name, alias or exchange group (``"HOSE"``, ``"XNYS"``,
    ``"US_EQUITY"``). A weekend or holiday is a single closed window.
    """
    return list(_windows(calendars.resolve_calendar_name(exchange), day))


def phase_at(exchange: str, ts: dt.datetime) -> Phase:
    """The phase of ``exchange`` at the aware instant ``ts`` (e.g. ``Phase.ATO`` at 09:05 HOSE)."""
    if ts.tzinfo is None:
        raise CalendarError(f"phase_at needs an aware datetime, got naive {ts.isoformat()}")
    name = calendars.resolve_calendar_name(exchange)
    day = ts.astimezone(calendars.exchange_timezone(name)).date()
    for window in _windows(name, day):
        if ts < window.end:
            return window.phase
    raise AssertionError("phase windows cover the whole local day")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# SSI TradingSession codes (vietnam_market.md §2)
# ---------------------------------------------------------------------------------------------

TRADING_SESSION_CODES: frozenset[str] = frozenset({"ATO", "LO", "ATC", "PT", "C", "BREAK", "H"})
"""Normalised ``TradingSession`` codes."""

_CODE_ALIASES = {"CLOSE": "C", "HALT": "H"}

_PHASE_OF_CODE: dict[str, Phase | None] = {
    "ATO": Phase.ATO,
    "LO": Phase.CONTINUOUS,
    "ATC": Phase.ATC,
    "PT": Phase.PUT_THROUGH,
    "C": Phase.CLOSED,
    "BREAK": Phase.BREAK,
    "H": None,  # a halt says trading stopped, not which phase the clock is in
}


def normalize_trading_session(raw: str | None) -> str | None:
    """Normalise an SSI ``TradingSession`` value: trim, upper-case, ``CLOSE``->``C``, ``HALT``->``H``.

    Returns one of ``ATO LO ATC PT C BREAK H``, or None for a missing, empty or unknown value
    (the caller then derives the phase from the exchange clock).
    """
    if raw is None or not isinstance(raw, str):
        return None
    code = raw.strip().upper()
    code = _CODE_ALIASES.get(code, code)
    return code if code in TRADING_SESSION_CODES else None


def phase_for_trading_session(code: str | None) -> Phase | None:
    """The phase a ``TradingSession`` code (raw or normalised) names; None when it names none.

    ``H`` (halt) and unknown or empty values give None: derive the phase from the clock.
    """
    normalised = normalize_trading_session(code)
    if normalised is None:
        return None
    return _PHASE_OF_CODE[normalised]
