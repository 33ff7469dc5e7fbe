"""SSI FastConnect wire formats -> core models. The only module that knows SSI's formats.

Conventions handled here (``../shared/reference/ssi_fastconnect.md`` §2.3, §3-4):

- Times: ``TradingDate`` is ``dd/mm/yyyy`` and ``Time`` (or ``TradingTime``) is ``HH:MM:SS``
  exchange-local (Asia/Ho_Chi_Minh, UTC+7, no daylight saving); both become one aware UTC
  ``datetime``. Second resolution, no sequence number.
- Numbers: JSON numbers (often floats) on the stream, strings on REST (``"28600"``); empty
  strings and ``null`` mean "not provided" (``None``).
- Units: stock prices in VND (not thousands), index and futures prices in index points,
  volumes in shares or contracts, values in VND. Passed through unchanged.
- Stream frames (classic SignalR 1.5): ``{}`` keep-alive, ``{"S": 1, ...}`` init, ``{"I": ..}``
  invocation result, ``{"E": ..}`` error, ``{"C": .., "M": [{"H", "M": "Broadcast", "A": [..]}]}``
  data. ``A[0]`` is a JSON string ``{"DataType", "Content"}`` whose ``Content`` is *again* a
  JSON string (double encoding); an object in either place is accepted too.
- Field spellings: ``BuyVol``/``FBuyVol`` (and Sell/Val), ``TradingTime``/``Time``,
  ``AvgPrice``/``Avg``, ``IndexId``/``IndexCode``.

Demux by ``RType`` (falling back to the envelope's ``DataType``): ``X-TRADE`` -> Trade,
``X-QUOTE`` -> Quote, ``X`` -> Trade + Quote, ``R`` -> ForeignRoom, ``MI`` -> IndexTick,
``F`` -> SecurityStatus, ``B`` -> Bar (``1m``), anything else (``OL``) -> nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from operator import itemgetter
from typing import Any, NamedTuple

from core.errors import SourceError
from core.models import Aggressor, Bar, ForeignRoom, IndexTick, Quote, SecurityStatus, Trade
from core.phases import normalize_trading_session

SOURCE = "ssi"
LOCAL_OFFSET = timedelta(hours=7)
"""Asia/Ho_Chi_Minh is UTC+7 all year."""
LOCAL_TZ = timezone(LOCAL_OFFSET, "ICT")
HUB_NAME = "fcmarketdatav2hub"  # compared case-insensitively

try:  # three JSON layers per message: orjson decodes them ~4x faster than json
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover - orjson is a declared dependency
    _json_loads = json.loads
_UTC = UTC


class MalformedMessageError(SourceError):
    """A stream frame or REST row that does not follow the SSI wire format."""


# --------------------------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------------------------


def number(value: Any) -> float | None:
    """A float from a JSON number or a numeric string; ``None`` for null / ``""``."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return float(value)
    if value is None:
        return None
    if kind is str:
        text = value.strip()
        if not text:
            return None
        try:
            return float(text.replace(",", ""))
        except ValueError:
            raise MalformedMessageError(f"expected a number, was {value[:40]!r}") from None
    if kind is bool:
        raise MalformedMessageError(f"expected a number, was {value!r}")
    raise MalformedMessageError(f"expected a number, was a {kind.__name__}")


def integer(value: Any) -> int | None:
    """An int from a JSON number or numeric string (``"25"``, ``25.0``); ``None`` when absent."""
    as_float = number(value)
    return None if as_float is None else int(as_float)


def text_or_none(value: Any) -> str | None:
    """A stripped string, or ``None`` for null / empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


_DATE_CACHE: dict[str, date] = {}
_DAY_START: dict[str, datetime] = {}
_TIME_OFFSET: dict[str, timedelta] = {}
_CACHE_LIMIT = 100_000


def parse_date(text: str) -> date:
    """``dd/mm/yyyy`` -> ``date`` (also accepts ISO ``yyyy-mm-dd`` as REST sometimes does)."""
    cached = _DATE_CACHE.get(text)
    if cached is not None:
        return cached
    if type(text) is not str:
        raise MalformedMessageError(f"expected a dd/mm/yyyy date, was {text!r}")
    value = text.strip()
    try:
        if len(value) == 10 and value[2] == "/" and value[5] == "/":
            result = date(int(value[6:10]), int(value[3:5]), int(value[0:2]))
        elif len(value) >= 10 and value[4] == "-" and value[7] == "-":
            result = date(int(value[0:4]), int(value[5:7]), int(value[8:10]))
        else:
            raise ValueError
    except (ValueError, IndexError):
        raise MalformedMessageError(f"expected a dd/mm/yyyy date, was {text[:40]!r}") from None
    if len(_DATE_CACHE) < 10_000:
        _DATE_CACHE[text] = result
    return result


def format_date(day: date) -> str:
    """``date`` -> ``dd/mm/yyyy`` (SSI request format)."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def _day_start(trading_date: str) -> datetime:
    day = parse_date(trading_date)
    result = datetime(day.year, day.month, day.day, tzinfo=_UTC) - LOCAL_OFFSET
    if len(_DAY_START) < 10_000:
        _DAY_START[trading_date] = result
    return result


def _time_offset(time_text: str) -> timedelta:
    if type(time_text) is str and len(time_text) == 8 and time_text[2] == ":" == time_text[5]:
        hh, mm, ss = time_text[0:2], time_text[3:5], time_text[6:8]
        if hh.isdigit() and mm.isdigit() and ss.isdigit():
            hour, minute, second = int(hh), int(mm), int(ss)
            if hour < 24 and minute < 60 and second < 60:
                result = timedelta(0, hour * 3600 + minute * 60 + second)
                if len(_TIME_OFFSET) < _CACHE_LIMIT:
                    _TIME_OFFSET[time_text] = result
                return result
    if type(time_text) is not str:
        raise MalformedMessageError(f"expected an HH:MM:SS time, was {time_text!r}")
    try:
        parts = time_text.strip().split(":")
        if len(parts) not in (2, 3):
            raise ValueError
        hour, minute = int(parts[0]), int(parts[1])
        second = micro = 0
        if len(parts) == 3:
            whole, _, frac = parts[2].partition(".")
            second = int(whole)
            if frac:
                micro = int((frac + "000000")[:6])
        if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
            raise ValueError
    except ValueError:
        raise MalformedMessageError(f"expected an HH:MM:SS time, was {time_text[:40]!r}") from None
    result = timedelta(hours=hour, minutes=minute, seconds=second, microseconds=micro)
    if len(_TIME_OFFSET) < _CACHE_LIMIT:
        _TIME_OFFSET[time_text] = result
    return result


def local_to_utc(trading_date: str, time_text: str | None) -> datetime:
    """``("14/08/2023", "14:07:53")`` (UTC+7) -> aware UTC ``datetime(2023, 8, 14, 7, 7, 53)``.

    A missing time means local midnight. The day start and the time of day are cached
    separately (a day has at most 86,400 distinct times), so a conversion is two dict
    lookups and one addition.
    """
    try:
        base = _DAY_START.get(trading_date)
        if base is None:
            base = _day_start(trading_date)
        if not time_text:
            return base
        offset = _TIME_OFFSET.get(time_text)
    except TypeError:  # a list or object where a date or time belongs
        raise MalformedMessageError(
            f"expected dd/mm/yyyy and HH:MM:SS, was {str(trading_date)[:20]!r} {str(time_text)[:20]!r}"
        ) from None
    if offset is None:
        offset = _time_offset(time_text)
    return base + offset


def utc_to_local_date(ts: datetime) -> date:
    """The exchange-local calendar date of an aware UTC instant."""
    return (ts.astimezone(_UTC) + LOCAL_OFFSET).date()


_SESSION_CACHE: dict[Any, str | None] = {}


def trading_session(raw: Any) -> str | None:
    """Normalised phase code (``ATO``, ``LO``, ``ATC``, ``PT``, ``C``, ``BREAK``, ``H``) or None."""
    try:
        return _SESSION_CACHE[raw]
    except KeyError:
        pass
    except TypeError:  # unhashable
        return None
    value = normalize_trading_session(raw if isinstance(raw, str) or raw is None else str(raw))
    if len(_SESSION_CACHE) < 256:
        _SESSION_CACHE[raw] = value
    return value


_SIDES = {"BU": Aggressor.BUY, "SD": Aggressor.SELL, "bu": Aggressor.BUY, "sd": Aggressor.SELL}


def side(raw: Any) -> Aggressor | None:
    """SSI ``Side``: ``BU`` -> BUY (buyer lifted the ask), ``SD`` -> SELL, anything else None."""
    if raw is None:
        return None
    try:
        return _SIDES.get(raw)
    except TypeError:
        return None


# --------------------------------------------------------------------------------------------
# Frames and envelopes
# --------------------------------------------------------------------------------------------


class Frame(NamedTuple):
    """One decoded SignalR text frame.

    ``kind``: ``keepalive`` (``{}``), ``init`` (``S`` present), ``result`` (invocation result),
    ``data`` (hub messages), ``error`` (top-level ``E``). ``payloads`` holds each Broadcast's
    ``A[0]`` (string or object, undecoded); ``errors`` the texts of hub ``Error`` calls and
    ``E``; ``message_id`` the cursor ``C``.
    """

    kind: str
    payloads: tuple[Any, ...] = ()
    errors: tuple[str, ...] = ()
    message_id: str | None = None


KEEPALIVE = Frame("keepalive")


def decode_frame(text: str | bytes) -> Frame:
    """Classify and unwrap one server frame; raise ``MalformedMessageError`` for garbage."""
    if text == "{}":
        return KEEPALIVE
    try:
        obj = _json_loads(text)
    except (ValueError, TypeError):
        raise MalformedMessageError("frame is not JSON") from None
    if type(obj) is not dict:
        raise MalformedMessageError(f"frame is a JSON {type(obj).__name__}, expected an object")
    if not obj:
        return KEEPALIVE
    messages = obj.get("M")
    message_id = obj.get("C")
    if message_id is not None and type(message_id) is not str:
        message_id = str(message_id)
    errors: list[str] = []
    if "E" in obj and obj["E"] is not None:
        errors.append(str(obj["E"]))
    if messages is None:
        if errors:
            return Frame("error", errors=tuple(errors), message_id=message_id)
        if "S" in obj:
            return Frame("init", message_id=message_id)
        if "I" in obj:
            return Frame("result", message_id=message_id)
        return Frame("keepalive", message_id=message_id)
    if type(messages) is not list:
        raise MalformedMessageError("frame field M is not a list")
    payloads: list[Any] = []
    for message in messages:
        if type(message) is not dict:
            raise MalformedMessageError("hub message is not an object")
        hub = message.get("H")
        if hub != "FcMarketDataV2Hub" and (type(hub) is not str or hub.lower() != HUB_NAME):
            raise MalformedMessageError(f"unexpected hub {str(hub)[:40]!r}")
        method = message.get("M")
        args = message.get("A")
        if type(args) is not list or not args:
            raise MalformedMessageError(f"hub call {str(method)[:20]!r} has no arguments")
        if method == "Broadcast" or (type(method) is str and method.lower() == "broadcast"):  # fmt: skip
            payloads.append(args[0])
        elif type(method) is str and method.lower() == "error":
            errors.append(str(args[0]))
        else:
            raise MalformedMessageError(f"unexpected hub method {str(method)[:20]!r}")
    if payloads:
        return Frame("data", tuple(payloads), tuple(errors), message_id)
    if errors:
        return Frame("error", errors=tuple(errors), message_id=message_id)
    return Frame("init" if "S" in obj else "keepalive", message_id=message_id)


def decode_payload(payload: Any) -> tuple[str, dict[str, Any]]:
    """A Broadcast ``A[0]`` -> ``(key, content)``.

    ``key`` identifies the message by content (the exact ``Content`` JSON text, or the
    canonical JSON of an object) and is what the stream de-duplicates on; ``content`` is the
    decoded ``Content`` dict (``DataType`` copied into it as ``RType`` when it has none).
    """
    if type(payload) is str:
        try:
            envelope = _json_loads(payload)
        except ValueError:
            raise MalformedMessageError("Broadcast argument is not JSON") from None
    else:
        envelope = payload
    if type(envelope) is not dict:
        raise MalformedMessageError("Broadcast argument is not an object")
    raw = envelope.get("Content")
    if type(raw) is str:
        key = raw
        try:
            content = _json_loads(raw)
        except ValueError:
            raise MalformedMessageError("Content is not JSON") from None
    elif type(raw) is dict:
        content = raw
        key = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    else:
        raise MalformedMessageError("Broadcast envelope has no Content")
    if type(content) is not dict:
        raise MalformedMessageError("Content is not an object")
    if "RType" not in content:
        data_type = envelope.get("DataType")
        if data_type is not None:
            content["RType"] = data_type
    return key, content


# --------------------------------------------------------------------------------------------
# Demux: Content dict -> core models
# --------------------------------------------------------------------------------------------

_BID_KEYS = tuple((f"BidPrice{i}", f"BidVol{i}") for i in range(1, 11))
_ASK_KEYS = tuple((f"AskPrice{i}", f"AskVol{i}") for i in range(1, 11))


def _time_of(c: Mapping[str, Any], default_date: str | None) -> datetime:
    trading_date = c.get("TradingDate") or default_date
    time_text = c.get("Time")
    if time_text is None:
        time_text = c.get("TradingTime")
    if not trading_date:
        raise MalformedMessageError(f"{c.get('RType')} message has no TradingDate")
    return local_to_utc(trading_date, time_text)


def _symbol(c: Mapping[str, Any]) -> str:
    symbol = c.get("Symbol")
    if type(symbol) is not str or not symbol:
        raise MalformedMessageError(f"{c.get('RType')} message has no Symbol")
    return symbol


_BID_GET = itemgetter(*(key for pair in _BID_KEYS for key in pair))
_ASK_GET = itemgetter(*(key for pair in _ASK_KEYS for key in pair))
_FLOAT_ONLY = frozenset((float,))


def _levels(
    c: Mapping[str, Any], getter: Any, keys: tuple[tuple[str, str], ...]
) -> tuple[tuple[float, float], ...]:
    """Non-empty (price, size) levels, best first. Fast path: all ten levels present as floats
    (what the stream sends); otherwise level by level with conversion."""
    try:
        values = getter(c)
    except KeyError:
        values = None
    if values is not None and _FLOAT_ONLY.issuperset(map(type, values)):
        pairs = zip(values[0::2], values[1::2], strict=True)
        return tuple([(price, size) for price, size in pairs if price or size])
    out = []
    get = c.get
    for price_key, size_key in keys:
        price = get(price_key)
        if price is None:
            break
        size = get(size_key)
        if type(price) is not float:
            try:
                price = number(price) or 0.0
            except MalformedMessageError:  # e.g. "ATO"/"ATC" shown instead of a price
                price = 0.0
        if type(size) is not float:
            size = number(size) or 0.0
        if price or size:
            out.append((price, size))
    return tuple(out)


def parse_trade(
    c: Mapping[str, Any], ts_received: datetime | None = None, default_date: str | None = None
) -> Trade | None:
    """X-TRADE / X -> Trade (``None`` when no match has happened yet: no or zero LastPrice).

    ``volume`` is ``LastVol`` as sent; ``total_volume``/``total_value`` are the cumulative day
    totals (order matching), from whose change per-trade volume is derived downstream. SSI
    sends no trade id (``trade_id`` None).
    """
    price = number(c.get("LastPrice"))
    if not price:
        return None
    return Trade(
        _symbol(c),
        _time_of(c, default_date),
        price,
        number(c.get("LastVol")) or 0.0,
        side(c.get("Side")),
        trading_session(c.get("TradingSession")),
        number(c.get("TotalVol")),
        number(c.get("TotalVal")),
        None,
        SOURCE,
        ts_received,
    )


def parse_quote(
    c: Mapping[str, Any], ts_received: datetime | None = None, default_date: str | None = None
) -> Quote:
    """X-QUOTE / X -> Quote: a full book snapshot (HOSE 3 levels, others 10); empty levels dropped."""
    bids = _levels(c, _BID_GET, _BID_KEYS)
    asks = _levels(c, _ASK_GET, _ASK_KEYS)
    bid_price, bid_size = bids[0] if bids else (0.0, 0.0)
    ask_price, ask_size = asks[0] if asks else (0.0, 0.0)
    return Quote(
        _symbol(c),
        _time_of(c, default_date),
        bid_price,
        bid_size,
        ask_price,
        ask_size,
        bids,
        asks,
        trading_session(c.get("TradingSession")),
        SOURCE,
        ts_received,
    )


def _first(c: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = c.get(name)
        if value is not None:
            return value
    return None


def parse_foreign(
    c: Mapping[str, Any], ts_received: datetime | None = None, default_date: str | None = None
) -> ForeignRoom:
    """R -> ForeignRoom: cumulative day foreign buy/sell (``BuyVol`` or ``FBuyVol`` ...) and room."""
    return ForeignRoom(
        _symbol(c),
        _time_of(c, default_date),
        number(_first(c, "BuyVol", "FBuyVol")) or 0.0,
        number(_first(c, "SellVol", "FSellVol")) or 0.0,
        number(_first(c, "BuyVal", "FBuyVal")) or 0.0,
        number(_first(c, "SellVal", "FSellVal")) or 0.0,
        number(c.get("TotalRoom")),
        number(c.get("CurrentRoom")),
        SOURCE,
        ts_received,
    )


def parse_index(
    c: Mapping[str, Any], ts_received: datetime | None = None, default_date: str | None = None
) -> IndexTick:
    """MI -> IndexTick: value in points; ``total_volume``/``total_value`` are the normal-matching
    cumulative day totals (``TotalQtty``/``TotalValue``, put-through and odd lot excluded)."""
    index_id = _first(c, "IndexId", "IndexCode", "Symbol")
    if type(index_id) is not str or not index_id:
        raise MalformedMessageError("MI message has no IndexId")
    value = number(c.get("IndexValue"))
    if value is None:
        raise MalformedMessageError(f"MI message for {index_id} has no IndexValue")
    return IndexTick(
        index_id,
        _time_of(c, default_date),
        value,
        number(c.get("PriorIndexValue")),
        number(c.get("Change")),
        number(c.get("RatioChange")),
        number(c.get("TotalQtty")),
        number(c.get("TotalValue")),
        integer(c.get("Advances")),
        integer(c.get("Declines")),
        integer(c.get("NoChanges")),
        integer(c.get("Ceilings")),
        integer(c.get("Floors")),
        trading_session(c.get("TradingSession")),
        SOURCE,
        ts_received,
    )


def parse_status(
    c: Mapping[str, Any], ts_received: datetime | None = None, default_date: str | None = None
) -> SecurityStatus:
    """F -> SecurityStatus (``TradingStatus`` N/H/S/D/... as sent, phase code normalised)."""
    return SecurityStatus(
        _symbol(c),
        _time_of(c, default_date),
        text_or_none(c.get("TradingStatus")),
        trading_session(c.get("TradingSession")),
        text_or_none(_first(c, "Exchange", "MarketId")),
        SOURCE,
        ts_received,
    )


def parse_bar(
    c: Mapping[str, Any], ts_received: datetime | None = None, default_date: str | None = None
) -> Bar:
    """B -> Bar(``1m``) opening at the minute of ``TradingTime``/``Time``.

    SSI's B payload carries no date in its sample: ``default_date`` (``dd/mm/yyyy``) supplies
    it. ``volume`` is SSI's ``Volume`` (the last matched volume, per the spec).
    """
    ts = _time_of(c, default_date)
    ts = ts.replace(second=0, microsecond=0)
    close = number(c.get("Close"))
    if close is None:
        raise MalformedMessageError(f"B message for {c.get('Symbol')} has no Close")
    return Bar(
        _symbol(c),
        "1m",
        ts,
        number(c.get("Open")) or close,
        number(c.get("High")) or close,
        number(c.get("Low")) or close,
        close,
        number(c.get("Volume")) or 0.0,
        None,
        None,
        SOURCE,
        ts_received,
    )


def parse_content(
    c: dict[str, Any], ts_received: datetime | None = None, default_date: str | None = None
) -> list[Any]:
    """Demux one decoded ``Content`` by ``RType`` into core models (``[]`` for OL / unknown)."""
    rtype = c.get("RType")
    if rtype == "X-TRADE":
        trade = parse_trade(c, ts_received, default_date)
        return [] if trade is None else [trade]
    if rtype == "X-QUOTE":
        return [parse_quote(c, ts_received, default_date)]
    if rtype == "X":
        quote = parse_quote(c, ts_received, default_date)
        trade = parse_trade(c, ts_received, default_date)
        return [quote] if trade is None else [trade, quote]
    if rtype == "R":
        return [parse_foreign(c, ts_received, default_date)]
    if rtype == "MI":
        return [parse_index(c, ts_received, default_date)]
    if rtype == "F":
        return [parse_status(c, ts_received, default_date)]
    if rtype == "B":
        return [parse_bar(c, ts_received, default_date)]
    if type(rtype) is str and rtype.upper() in ("X-TRADE", "X-QUOTE"):
        c["RType"] = rtype.upper()
        return parse_content(c, ts_received, default_date)
    return []


def parse_message(
    text: str, ts_received: datetime | None = None, default_date: str | None = None
) -> list[Any]:
    """One server frame -> the core models it carries (no de-duplication). Used by replays of
    raw frames and the benchmark; the live stream uses ``decode_frame``/``decode_payload``."""
    frame = decode_frame(text)
    if not frame.payloads:
        return []
    events: list[Any] = []
    for payload in frame.payloads:
        events.extend(parse_content(decode_payload(payload)[1], ts_received, default_date))
    return events


# --------------------------------------------------------------------------------------------
# REST rows (numbers as strings, dd/mm/yyyy) -> core models / small SSI records
# --------------------------------------------------------------------------------------------

_FUTURES_PREFIXES = ("VN30F", "41I1", "41I2", "VN100F")


def is_futures_symbol(symbol: str) -> bool:
    """True for VN30/VN100 futures codes in either scheme (``VN30F2602``, ``41I1G2000``)."""
    return symbol.startswith(_FUTURES_PREFIXES)


def daily_bar_open(day: date, symbol: str) -> datetime:
    """UTC open of the trading day a daily bar covers: 09:00 local for stocks and indices,
    08:45 local for futures (the derivatives market opens 15 minutes earlier)."""
    minute = 45 if is_futures_symbol(symbol) else 0
    hour = 8 if minute else 9
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=_UTC) - LOCAL_OFFSET


def _row_symbol(row: Mapping[str, Any], fallback: str | None) -> str:
    symbol = row.get("Symbol") or fallback
    if type(symbol) is not str or not symbol:
        raise MalformedMessageError("row has no Symbol")
    return symbol


def _required(row: Mapping[str, Any], name: str) -> float:
    value = number(row.get(name))
    if value is None:
        raise MalformedMessageError(f"row field {name} is empty")
    return value


def parse_daily_ohlc_row(row: Mapping[str, Any], symbol: str | None = None) -> Bar:
    """A DailyOhlc row -> ``Bar(interval="1d")`` opening at the day's session open (UTC)."""
    sym = _row_symbol(row, symbol)
    day = parse_date(row.get("TradingDate"))  # type: ignore[arg-type]
    return Bar(
        sym,
        "1d",
        daily_bar_open(day, sym),
        _required(row, "Open"),
        _required(row, "High"),
        _required(row, "Low"),
        _required(row, "Close"),
        number(row.get("Volume")) or 0.0,
        None,
        None,
        SOURCE,
        None,
    )


def parse_intraday_ohlc_row(row: Mapping[str, Any], symbol: str | None = None) -> Bar:
    """An IntradayOhlc row -> ``Bar(interval="1m")`` opening at ``TradingDate`` + ``Time``
    (local, converted to UTC). ``Value`` is ignored: in SSI's sample it repeats the close."""
    sym = _row_symbol(row, symbol)
    ts = local_to_utc(row.get("TradingDate"), row.get("Time"))  # type: ignore[arg-type]
    return Bar(
        sym,
        "1m",
        ts.replace(second=0, microsecond=0),
        _required(row, "Open"),
        _required(row, "High"),
        _required(row, "Low"),
        _required(row, "Close"),
        number(row.get("Volume")) or 0.0,
        None,
        None,
        SOURCE,
        None,
    )


def parse_daily_index_row(row: Mapping[str, Any]) -> IndexTick:
    """A DailyIndex row -> IndexTick at the row's time (14:45 local when ``Time`` is null);
    ``total_volume``/``total_value`` are the order-matching totals ``TotalMatchVol/Val``."""
    index_id = _first(row, "IndexId", "IndexCode")
    if type(index_id) is not str or not index_id:
        raise MalformedMessageError("DailyIndex row has no IndexId")
    return IndexTick(
        index_id,
        local_to_utc(row.get("TradingDate"), row.get("Time") or "14:45:00"),  # type: ignore[arg-type]
        _required(row, "IndexValue"),
        None,
        number(row.get("Change")),
        number(row.get("RatioChange")),
        number(row.get("TotalMatchVol")),
        number(row.get("TotalMatchVal")),
        integer(row.get("Advances")),
        integer(row.get("Declines")),
        integer(row.get("NoChanges")),
        integer(row.get("Ceilings")),
        integer(row.get("Floors")),
        trading_session(row.get("TradingSession")),
        SOURCE,
        None,
    )


@dataclass(frozen=True, slots=True)
class Security:
    """One listed security (REST ``Securities``)."""

    symbol: str
    market: str | None
    name: str | None
    name_en: str | None


def parse_security_row(row: Mapping[str, Any]) -> Security:
    return Security(
        _row_symbol(row, None),
        text_or_none(row.get("Market")),
        text_or_none(row.get("StockName")),
        text_or_none(row.get("StockEnName")),
    )


def parse_index_components(row: Mapping[str, Any]) -> list[str]:
    """An IndexComponents row -> its component symbols in the order SSI lists them."""
    components = row.get("IndexComponent") or []
    if type(components) is not list:
        raise MalformedMessageError("IndexComponent is not a list")
    symbols = []
    for item in components:
        symbol = item.get("StockSymbol") if type(item) is dict else None
        if type(symbol) is not str or not symbol.strip():
            raise MalformedMessageError("an IndexComponent entry has no StockSymbol")
        symbols.append(symbol.strip())
    return symbols


@dataclass(frozen=True, slots=True)
class DailyStockPrice:
    """One DailyStockPrice row: prices in VND, volumes in shares, values in VND.

    ``total_traded_volume``/``_value`` include put-through and odd lot; ``close_adjusted`` is
    back-adjusted for corporate actions; ``foreign_*`` are the day's foreign totals.
    """

    symbol: str
    trading_date: date
    ref_price: float | None
    ceiling_price: float | None
    floor_price: float | None
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    average_price: float | None
    close_adjusted: float | None
    total_match_volume: float | None
    total_match_value: float | None
    total_traded_volume: float | None
    total_traded_value: float | None
    foreign_buy_volume: float | None
    foreign_sell_volume: float | None
    foreign_current_room: float | None


def parse_daily_stock_price_row(row: Mapping[str, Any]) -> DailyStockPrice:
    return DailyStockPrice(
        _row_symbol(row, None),
        parse_date(row.get("TradingDate")),  # type: ignore[arg-type]
        number(row.get("RefPrice")),
        number(row.get("CeilingPrice")),
        number(row.get("FloorPrice")),
        number(row.get("OpenPrice")),
        number(row.get("HighestPrice")),
        number(row.get("LowestPrice")),
        number(row.get("ClosePrice")),
        number(row.get("AveragePrice")),
        number(row.get("ClosePriceAdjusted")),
        number(row.get("TotalMatchVol")),
        number(row.get("TotalMatchVal")),
        number(row.get("TotalTradedVol")),
        number(row.get("TotalTradedValue")),
        number(row.get("ForeignBuyVolTotal")),
        number(row.get("ForeignSellVolTotal")),
        number(row.get("ForeignCurrentRoom")),
    )
