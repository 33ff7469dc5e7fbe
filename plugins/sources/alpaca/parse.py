"""Alpaca wire format -> sessiond models. The only module that knows Alpaca's field names.

REST rows are the dicts of the historical API (``{"t": "2024-01-02T14:30:00Z", "o": ...}``,
timestamps RFC 3339 strings, nanoseconds truncated to microseconds); stream messages are the
msgpack-decoded dicts of the stock stream (``T`` type, ``S`` symbol, ``t`` a
``msgpack.Timestamp``). Both become aware-UTC core models. Prices are US dollars, sizes shares.

Interval labels map to Alpaca timeframes: ``1m -> 1Min``, ``5m -> 5Min``, ``10m -> 10Min``,
``15m -> 15Min``, ``30m -> 30Min``, ``1h -> 1Hour``, ``1d -> 1Day``; ``1s`` has no Alpaca
equivalent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.errors import SourceError
from core.models import Bar, Quote, SecurityStatus, Trade

SOURCE_NAME = "alpaca"

_TIMEFRAMES: dict[str, tuple[int, str]] = {
    "1m": (1, "Min"),
    "5m": (5, "Min"),
    "10m": (10, "Min"),
    "15m": (15, "Min"),
    "30m": (30, "Min"),
    "1h": (1, "Hour"),
    "1d": (1, "Day"),
}
"""Our interval label -> (amount, alpaca-py ``TimeFrameUnit`` value); alpaca-py itself is
imported when a timeframe is built (start-up stays light)."""

ALPACA_INTERVALS: tuple[str, ...] = tuple(_TIMEFRAMES)
"""Interval labels this source can request, smallest first."""

OPENING_CONDITIONS = frozenset({"O", "Q"})
"""SIP sale conditions of opening-cross prints (opening trade, official open)."""
CLOSING_CONDITIONS = frozenset({"6", "M"})
"""SIP sale conditions of closing-cross prints (closing trade, official close)."""


def timeframe_for(interval: str) -> Any:
    """The alpaca-py ``TimeFrame`` for one of our interval labels (``SourceError`` otherwise)."""
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

    try:
        amount, unit = _TIMEFRAMES[interval]
    except KeyError:
        raise SourceError(
            f"interval {interval!r} is not available from alpaca "
            f"(expected one of {', '.join(ALPACA_INTERVALS)})"
        ) from None
    return TimeFrame(amount, TimeFrameUnit(unit))


def interval_for(timeframe: str) -> str:
    """Our interval label for an Alpaca timeframe string such as ``"5Min"``."""
    for label, (amount, unit) in _TIMEFRAMES.items():
        if f"{amount}{unit}" == timeframe:
            return label
    raise SourceError(f"alpaca timeframe {timeframe!r} has no sessiond interval")


def parse_time(value: Any) -> datetime:
    """An Alpaca timestamp (RFC 3339 string, ``msgpack.Timestamp`` or datetime) as aware UTC."""
    if isinstance(value, str):
        ts = datetime.fromisoformat(value)
    elif isinstance(value, datetime):
        ts = value
    elif hasattr(value, "to_datetime"):
        ts = value.to_datetime()
    else:
        raise SourceError(f"alpaca timestamp has an unexpected type {type(value).__name__}")
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC) if ts.utcoffset() else ts


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def bar_from_wire(
    symbol: str,
    row: Mapping[str, Any],
    interval: str,
    *,
    ts_event: datetime | None = None,
    received: datetime | None = None,
) -> Bar:
    """A bar row (REST ``bars[symbol][i]`` or stream ``T: b/u/d``) as a core ``Bar``.

    ``ts_event`` overrides the bar's open time (daily bars are re-anchored at the session open).
    """
    return Bar(
        symbol=symbol,
        interval=interval,
        ts_event=ts_event if ts_event is not None else parse_time(row["t"]),
        open=float(row["o"]),
        high=float(row["h"]),
        low=float(row["l"]),
        close=float(row["c"]),
        volume=float(row["v"]),
        trade_count=_opt_int(row.get("n")),
        vwap=_opt_float(row.get("vw")),
        source=SOURCE_NAME,
        ts_received=received,
    )


def auction_code(conditions: Any) -> str | None:
    """``"ATO"``/``"ATC"`` for opening/closing-cross prints (they have no aggressor), else None."""
    if not conditions:
        return None
    codes = (conditions,) if isinstance(conditions, str) else conditions
    for code in codes:
        if code in OPENING_CONDITIONS:
            return "ATO"
        if code in CLOSING_CONDITIONS:
            return "ATC"
    return None


def trade_from_wire(
    symbol: str, row: Mapping[str, Any], *, received: datetime | None = None
) -> Trade:
    """A trade row (REST ``trades[symbol][i]`` or stream ``T: t``) as a core ``Trade``.

    Alpaca trades carry no aggressor (``side`` is None: a classifier decides); opening and
    closing cross prints are tagged ``trading_session`` ``ATO``/``ATC``.
    """
    trade_id = row.get("i")
    return Trade(
        symbol=symbol,
        ts_event=parse_time(row["t"]),
        price=float(row["p"]),
        volume=float(row["s"]),
        side=None,
        trading_session=auction_code(row.get("c")),
        trade_id=None if trade_id is None else str(trade_id),
        source=SOURCE_NAME,
        ts_received=received,
    )


def quote_from_wire(
    symbol: str, row: Mapping[str, Any], *, received: datetime | None = None
) -> Quote:
    """A quote row (REST ``quotes[symbol][i]`` or stream ``T: q``) as a core ``Quote`` (NBBO)."""
    return Quote(
        symbol=symbol,
        ts_event=parse_time(row["t"]),
        bid_price=float(row["bp"]),
        bid_size=float(row["bs"]),
        ask_price=float(row["ap"]),
        ask_size=float(row["as"]),
        source=SOURCE_NAME,
        ts_received=received,
    )


def status_from_wire(row: Mapping[str, Any], *, received: datetime | None = None) -> SecurityStatus:
    """A trading-status message (``T: s``): ``sc`` status code (``H`` halt, ``T`` trading ...),
    ``z`` tape as the exchange field."""
    status = row.get("sc")
    return SecurityStatus(
        symbol=str(row["S"]),
        ts_event=parse_time(row["t"]),
        trading_status=None if status is None else str(status),
        trading_session=None,
        exchange=row.get("z"),
        source=SOURCE_NAME,
        ts_received=received,
    )


STREAM_BAR_INTERVALS = {"b": "1m", "u": "1m", "d": "1d"}
"""Stream message type -> interval of the bar it carries (minute, updated minute, daily)."""


def event_from_stream(
    message: Mapping[str, Any], *, received: datetime | None = None
) -> Bar | Trade | Quote | SecurityStatus | None:
    """One decoded stream message as a core model; None for types sessiond does not use."""
    kind = message.get("T")
    symbol = message.get("S")
    if symbol is None:
        return None
    if kind == "t":
        return trade_from_wire(symbol, message, received=received)
    if kind == "q":
        return quote_from_wire(symbol, message, received=received)
    if kind in STREAM_BAR_INTERVALS:
        return bar_from_wire(symbol, message, STREAM_BAR_INTERVALS[kind], received=received)
    if kind == "s":
        return status_from_wire(message, received=received)
    return None
