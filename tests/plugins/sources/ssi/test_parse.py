"""SSI wire formats -> core models: every RType, units, UTC times, both encodings and spellings."""

from __future__ import annotations

import json
import string
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import Aggressor, Bar, ForeignRoom, IndexTick, Quote, SecurityStatus, Trade
from daemon.demo.ssi_server import broadcast_frame
from plugins.sources.ssi import parse
from plugins.sources.ssi.parse import MalformedMessageError

# SSI GitBook samples (reference §4.1), decoded
F_SAMPLE = {
    "RType": "F",
    "MarketId": "HOSE",
    "TradingDate": "14/08/2023",
    "Time": "13:00:00",
    "Symbol": "SSI",
    "TradingSession": "LO",
    "TradingStatus": "N",
    "Exchange": "HOSE",
}
X_TRADE_SAMPLE = {
    "RType": "X-TRADE",
    "TradingDate": "14/08/2023",
    "Time": "14:07:53",
    "Isin": "ACB",
    "Symbol": "ACB",
    "Ceiling": 24500.0,
    "Floor": 21300.0,
    "RefPrice": 22900.0,
    "AvgPrice": 22927.93,
    "PriorVal": 22900.0,
    "LastPrice": 22950.0,
    "LastVol": 100.0,
    "TotalVal": 201713015000.0,
    "TotalVol": 8797700.0,
    "MarketId": "HOSE",
    "Exchange": "HOSE",
    "TradingSession": "LO",
    "TradingStatus": "N",
    "Change": 50.0,
    "RatioChange": 0.22,
    "EstMatchedPrice": 22900.0,
    "Highest": 23050,
    "Lowest": 22800,
    "Side": "SD",
}
X_QUOTE_SAMPLE = {
    "TradingDate": "14/08/2023",
    "Time": "14:00:28",
    "Exchange": "HOSE",
    "Symbol": "ACB",
    "RType": "X-QUOTE",
    "TradingSession": "LO",
}
for _i, (_bp, _bv, _ap, _av) in enumerate(
    [
        (22900.0, 290900.0, 22950.0, 109100.0),
        (22850.0, 454200.0, 23000.0, 208600.0),
        (22800.0, 678800.0, 23050.0, 207200.0),
    ],
    start=1,
):
    X_QUOTE_SAMPLE.update(
        {f"BidPrice{_i}": _bp, f"BidVol{_i}": _bv, f"AskPrice{_i}": _ap, f"AskVol{_i}": _av}
    )
for _i in range(4, 11):
    X_QUOTE_SAMPLE.update(
        {f"BidPrice{_i}": 0.0, f"BidVol{_i}": 0.0, f"AskPrice{_i}": 0.0, f"AskVol{_i}": 0.0}
    )
X_SAMPLE = {
    "RType": "X",
    "TradingDate": "15/08/2023",
    "Time": "10:28:41",
    "Isin": "TAR",
    "Symbol": "TAR",
    "Ceiling": 23400.0,
    "Floor": 19200.0,
    "RefPrice": 21300.0,
    "Open": 21300.0,
    "High": 22300.0,
    "Low": 21300.0,
    "Close": 21800.0,
    "AvgPrice": 21784.0,
    "PriorVal": 21300.0,
    "LastPrice": 21800.0,
    "LastVol": 100.0,
    "TotalVal": 27946100000.0,
    "TotalVol": 1282900.0,
    "MarketId": "HNX",
    "Exchange": "HNX",
    "TradingSession": "LO",
    "TradingStatus": "N",
    "Change": 500.0,
    "RatioChange": 2.35,
    "EstMatchedPrice": 0.0,
}
for _i in range(1, 11):
    X_SAMPLE.update(
        {
            f"BidPrice{_i}": 21900.0 - 100 * _i,
            f"BidVol{_i}": 1000.0 * _i,
            f"AskPrice{_i}": 21800.0 + 100 * _i,
            f"AskVol{_i}": 500.0 * _i,
        }
    )
R_SAMPLE = {
    "RType": "R",
    "TradingDate": "14/08/2023",
    "Time": "14:24:02",
    "Isin": "SSI",
    "Symbol": "SSI",
    "TotalRoom": 1501130137.0,
    "CurrentRoom": 806887173.0,
    "BuyVol": 863352.0,
    "SellVol": 825308.0,
    "BuyVal": 25123543200.0,
    "SellVal": 24016462800.0,
    "MarketId": "HOSE",
    "Exchange": "HOSE",
}
MI_SAMPLE = {
    "IndexId": "VN30",
    "IndexValEst": 1200.03,
    "IndexValue": 1238.76,
    "PriorIndexValue": 1226.16,
    "TradingDate": "02/04/2021",
    "Time": "11:28:13",
    "TotalTrade": 0.0,
    "TotalQtty": 191838100.0,
    "TotalValue": 7289093000000.0,
    "IndexName": "VN30",
    "Advances": 25,
    "NoChanges": 2,
    "Declines": 3,
    "Ceilings": 0,
    "Floors": 0,
    "Change": 12.6,
    "RatioChange": 1.03,
    "TotalQttyPt": 2064000.0,
    "TotalValuePt": 244251000000.0,
    "Exchange": "HOSE",
    "AllQty": 193902100.0,
    "AllValue": 7533344000000.0,
    "IndexType": "Main",
    "TradingSession": None,
    "MarketId": None,
    "RType": "MI",
    "TotalQttyOd": 0.0,
    "TotalValueOd": 0.0,
}
B_SAMPLE = {
    "RType": "B",
    "Symbol": "X26",
    "TradingTime": "14:28:33",
    "Open": 16000,
    "High": 16000,
    "Low": 16000,
    "Close": 16000,
    "Volume": 5000,
    "Value": 0,
}


def frame_of(content: dict, data_type: str | None = None) -> str:
    return broadcast_frame(data_type or content["RType"], content, "d-1A2B3C4D-B,0|C,1")


def test_x_trade_becomes_a_trade_with_seller_side_and_utc_time() -> None:
    [trade] = parse.parse_message(frame_of(X_TRADE_SAMPLE))
    assert trade == Trade(
        symbol="ACB",
        ts_event=datetime(2023, 8, 14, 7, 7, 53, tzinfo=UTC),
        price=22950.0,
        volume=100.0,
        side=Aggressor.SELL,
        trading_session="LO",
        total_volume=8797700.0,
        total_value=201713015000.0,
        trade_id=None,
        source="ssi",
        ts_received=None,
    )


def test_reference_wire_frame_decodes_exactly() -> None:
    wire = (
        '{"C":"d-1A2B3C4D-B,0|C,1","M":[{"H":"FcMarketDataV2Hub","M":"Broadcast","A":["{\\"DataType\\":'
        '\\"X-TRADE\\",\\"Content\\":\\"{\\\\\\"RType\\\\\\":\\\\\\"X-TRADE\\\\\\",\\\\\\"TradingDate\\\\\\":'
        '\\\\\\"14/08/2023\\\\\\",\\\\\\"Time\\\\\\":\\\\\\"14:07:53\\\\\\",\\\\\\"Symbol\\\\\\":\\\\\\"ACB\\\\\\",'
        '\\\\\\"LastPrice\\\\\\":22950.0,\\\\\\"LastVol\\\\\\":100.0,\\\\\\"TotalVol\\\\\\":8797700.0,'
        '\\\\\\"Side\\\\\\":\\\\\\"SD\\\\\\"}\\"}"]}]}'
    )
    [trade] = parse.parse_message(wire)
    assert (trade.symbol, trade.price, trade.volume, trade.total_volume, trade.side) == (
        "ACB",
        22950.0,
        100.0,
        8797700.0,
        Aggressor.SELL,
    )
    assert trade.ts_event == datetime(2023, 8, 14, 7, 7, 53, tzinfo=UTC)


def test_buy_up_side_is_buy_and_missing_side_is_unknown() -> None:
    buy = parse.parse_trade(dict(X_TRADE_SAMPLE, Side="BU"))
    unknown = parse.parse_trade({k: v for k, v in X_TRADE_SAMPLE.items() if k != "Side"})
    odd = parse.parse_trade(dict(X_TRADE_SAMPLE, Side="XX"))
    assert buy is not None and buy.side is Aggressor.BUY
    assert unknown is not None and unknown.side is None
    assert odd is not None and odd.side is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ATO", "ATO"),
        ("ATC", "ATC"),
        (" lo ", "LO"),
        ("CLOSE", "C"),
        ("Break", "BREAK"),
        ("HALT", "H"),
        ("", None),
        (None, None),
        ("PLO", None),
    ],
)
def test_trading_session_codes_are_normalised(raw: str | None, expected: str | None) -> None:
    trade = parse.parse_trade(dict(X_TRADE_SAMPLE, TradingSession=raw))
    assert trade is not None and trade.trading_session == expected


def test_x_quote_keeps_three_hose_levels_and_drops_empty_ones() -> None:
    [quote] = parse.parse_message(frame_of(X_QUOTE_SAMPLE))
    assert isinstance(quote, Quote)
    assert quote.ts_event == datetime(2023, 8, 14, 7, 0, 28, tzinfo=UTC)
    assert (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (
        22900.0,
        290900.0,
        22950.0,
        109100.0,
    )
    assert quote.bids == ((22900.0, 290900.0), (22850.0, 454200.0), (22800.0, 678800.0))
    assert quote.asks == ((22950.0, 109100.0), (23000.0, 208600.0), (23050.0, 207200.0))
    assert quote.trading_session == "LO"


def test_x_message_gives_a_trade_and_a_ten_level_quote() -> None:
    trade, quote = parse.parse_message(frame_of(X_SAMPLE))
    assert isinstance(trade, Trade) and isinstance(quote, Quote)
    assert trade.side is None  # the X sample carries no Side
    assert (trade.price, trade.total_volume) == (21800.0, 1282900.0)
    assert len(quote.bids) == 10 and len(quote.asks) == 10
    assert quote.bids[9] == (20900.0, 10000.0)
    assert trade.ts_event == quote.ts_event == datetime(2023, 8, 15, 3, 28, 41, tzinfo=UTC)


def test_x_before_the_first_match_gives_only_a_quote() -> None:
    events = parse.parse_content(dict(X_SAMPLE, LastPrice=0.0, LastVol=0.0))
    assert [type(e) for e in events] == [Quote]


def test_foreign_room_accepts_both_spellings() -> None:
    plain = parse.parse_content(dict(R_SAMPLE))[0]
    prefixed_sample = {
        k: v for k, v in R_SAMPLE.items() if k not in ("BuyVol", "SellVol", "BuyVal", "SellVal")
    }
    prefixed_sample.update(
        FBuyVol=863352.0, FSellVol=825308.0, FBuyVal=25123543200.0, FSellVal=24016462800.0
    )
    prefixed = parse.parse_content(prefixed_sample)[0]
    assert (
        plain
        == prefixed
        == ForeignRoom(
            "SSI",
            datetime(2023, 8, 14, 7, 24, 2, tzinfo=UTC),
            863352.0,
            825308.0,
            25123543200.0,
            24016462800.0,
            1501130137.0,
            806887173.0,
            "ssi",
            None,
        )
    )


def test_index_message_in_points_with_normal_matching_totals() -> None:
    [tick] = parse.parse_message(frame_of(MI_SAMPLE))
    assert tick == IndexTick(
        index_id="VN30",
        ts_event=datetime(2021, 4, 2, 4, 28, 13, tzinfo=UTC),
        value=1238.76,
        prior_value=1226.16,
        change=12.6,
        ratio_change=1.03,
        total_volume=191838100.0,
        total_value=7289093000000.0,
        advances=25,
        declines=3,
        no_changes=2,
        ceilings=0,
        floors=0,
        trading_session=None,
        source="ssi",
    )


def test_status_message_keeps_trading_status_and_phase() -> None:
    [status] = parse.parse_message(frame_of(F_SAMPLE))
    assert status == SecurityStatus(
        "SSI", datetime(2023, 8, 14, 6, 0, tzinfo=UTC), "N", "LO", "HOSE", "ssi"
    )


def test_b_message_uses_trading_time_and_the_default_date() -> None:
    [bar] = parse.parse_message(frame_of(B_SAMPLE), default_date="14/08/2023")
    assert bar == Bar(
        "X26",
        "1m",
        datetime(2023, 8, 14, 7, 28, tzinfo=UTC),
        16000.0,
        16000.0,
        16000.0,
        16000.0,
        5000.0,
        source="ssi",
    )
    with pytest.raises(MalformedMessageError, match="TradingDate"):
        parse.parse_message(frame_of(B_SAMPLE))
    dated = dict(B_SAMPLE, TradingDate="15/08/2023", Time="09:15:02")
    del dated["TradingTime"]
    assert parse.parse_content(dated)[0].ts_event == datetime(2023, 8, 15, 2, 15, tzinfo=UTC)


def test_content_as_object_and_envelope_as_object_are_accepted() -> None:
    object_content = broadcast_frame("X-TRADE", X_TRADE_SAMPLE, "c", as_object=True)
    envelope_object = json.dumps(
        {
            "C": "c",
            "M": [
                {
                    "H": "fcmarketdatav2hub",
                    "M": "Broadcast",
                    "A": [{"DataType": "X-TRADE", "Content": json.dumps(X_TRADE_SAMPLE)}],
                }
            ],
        }
    )
    expected = parse.parse_message(frame_of(X_TRADE_SAMPLE))
    assert parse.parse_message(object_content) == expected
    assert parse.parse_message(envelope_object) == expected


def test_rtype_missing_falls_back_to_the_envelope_data_type() -> None:
    content = {k: v for k, v in R_SAMPLE.items() if k != "RType"}
    assert isinstance(parse.parse_message(frame_of(content, "R"))[0], ForeignRoom)


def test_odd_lot_and_unknown_types_produce_nothing() -> None:
    assert parse.parse_content({"RType": "OL", "Symbol": "MBB"}) == []
    assert parse.parse_content({"RType": "ZZ"}) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("{}", "keepalive"),
        ('{"C":"s-0,1","S":1,"M":[]}', "init"),
        ('{"I":"0"}', "result"),
        ('{"E":"boom"}', "error"),
        ('{"M":[{"H":"FcMarketDataV2Hub","M":"Error","A":["bad channel"]}]}', "error"),
    ],
)
def test_control_frames_are_classified(text: str, kind: str) -> None:
    frame = parse.decode_frame(text)
    assert frame.kind == kind and frame.payloads == ()


@pytest.mark.parametrize(
    "garbage",
    [
        "not json",
        "[1, 2]",
        '"text"',
        '{"M": 5}',
        '{"M": [7]}',
        '{"M": [{"H": "Other", "M": "Broadcast", "A": ["{}"]}]}',
        '{"M": [{"H": "FcMarketDataV2Hub", "M": "Broadcast", "A": []}]}',
    ],
)
def test_garbage_frames_raise_malformed(garbage: str) -> None:
    with pytest.raises(MalformedMessageError):
        parse.decode_frame(garbage)


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        json.dumps({"DataType": "X"}),
        json.dumps({"DataType": "X", "Content": "{bad"}),
        json.dumps({"DataType": "X", "Content": "[1]"}),
        7,
    ],
)
def test_bad_payloads_raise_malformed(payload: object) -> None:
    with pytest.raises(MalformedMessageError):
        parse.decode_payload(payload)


def test_bad_dates_times_and_numbers_name_the_value() -> None:
    with pytest.raises(MalformedMessageError, match="2023-13-45|dd/mm/yyyy"):
        parse.parse_date("45/13/2023")
    with pytest.raises(MalformedMessageError, match="25:00:00"):
        parse.local_to_utc("14/08/2023", "25:00:00")
    with pytest.raises(MalformedMessageError, match="abc"):
        parse.number("abc")


def test_rest_daily_row_with_string_numbers_becomes_a_daily_bar_at_the_open() -> None:
    row = {
        "Symbol": "SSI",
        "Market": "HOSE",
        "TradingDate": "10/08/2023",
        "Time": None,
        "Open": "28600",
        "High": "28850",
        "Low": "28100",
        "Close": "28100",
        "Volume": "23382100",
        "Value": "663258204999.9850",
    }
    assert parse.parse_daily_ohlc_row(row) == Bar(
        "SSI",
        "1d",
        datetime(2023, 8, 10, 2, 0, tzinfo=UTC),
        28600.0,
        28850.0,
        28100.0,
        28100.0,
        23382100.0,
        source="ssi",
    )
    futures_bar = parse.parse_daily_ohlc_row(
        dict(row, Symbol="VN30F2602", TradingDate="02/02/2026")
    )
    assert futures_bar.ts_event == datetime(2026, 2, 2, 1, 45, tzinfo=UTC)


def test_rest_empty_strings_are_none_and_bad_rows_raise() -> None:
    price = parse.parse_daily_stock_price_row(
        {
            "Symbol": "SSI",
            "TradingDate": "10/08/2023",
            "ClosePrice": "28100",
            "RefPrice": "",
            "AveragePrice": None,
        }
    )
    assert (price.close, price.ref_price, price.average_price) == (28100.0, None, None)
    with pytest.raises(MalformedMessageError, match="Open"):
        parse.parse_intraday_ohlc_row(
            {
                "Symbol": "SSI",
                "TradingDate": "10/08/2023",
                "Time": "09:15:00",
                "Open": "",
                "High": "1",
                "Low": "1",
                "Close": "1",
            }
        )


# ---------------------------------------------------------------------------- properties

local_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)
)


@settings(max_examples=200, deadline=None)
@given(local_datetimes)
def test_any_local_date_and_time_converts_to_utc_minus_seven_hours(local: datetime) -> None:
    local = local.replace(microsecond=0)
    ts = parse.local_to_utc(local.strftime("%d/%m/%Y"), local.strftime("%H:%M:%S"))
    assert ts.tzinfo is not None and ts.utcoffset() == timedelta(0)
    assert ts.replace(tzinfo=None) == local - timedelta(hours=7)
    assert parse.utc_to_local_date(ts) == local.date()


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
def test_dates_round_trip_through_the_request_format(day: date) -> None:
    assert parse.parse_date(parse.format_date(day)) == day


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=1e15, allow_nan=False))
def test_numbers_as_strings_equal_numbers_as_json(value: float) -> None:
    assert parse.number(repr(value)) == parse.number(value) == value


quote_levels = st.lists(
    st.tuples(st.floats(0, 1e6, allow_nan=False), st.floats(0, 1e9, allow_nan=False)),
    min_size=0,
    max_size=10,
)


@settings(max_examples=150, deadline=None)
@given(quote_levels, quote_levels, st.sampled_from(["X-QUOTE", "X"]), st.booleans())
def test_quote_levels_survive_double_encoding(
    bids: list, asks: list, rtype: str, as_object: bool
) -> None:
    content: dict = {
        "RType": rtype,
        "TradingDate": "14/08/2023",
        "Time": "10:00:00",
        "Symbol": "ACB",
    }
    for i in range(10):
        bp, bv = bids[i] if i < len(bids) else (0.0, 0.0)
        ap, av = asks[i] if i < len(asks) else (0.0, 0.0)
        content.update(
            {
                f"BidPrice{i + 1}": bp,
                f"BidVol{i + 1}": bv,
                f"AskPrice{i + 1}": ap,
                f"AskVol{i + 1}": av,
            }
        )
    events = parse.parse_message(broadcast_frame(rtype, content, "c", as_object=as_object))
    quote = events[-1]
    assert isinstance(quote, Quote)
    assert quote.bids == tuple(level for level in bids if level[0] or level[1])
    assert quote.asks == tuple(level for level in asks if level[0] or level[1])
    assert quote.bid_price == (quote.bids[0][0] if quote.bids else 0.0)


trade_contents = st.fixed_dictionaries(
    {
        "RType": st.just("X-TRADE"),
        "Symbol": st.text(string.ascii_uppercase, min_size=1, max_size=9),
        "TradingDate": st.dates(date(2020, 1, 1), date(2030, 12, 31)).map(parse.format_date),
        "Time": st.times(time(8, 0), time(15, 0)).map(lambda t: t.strftime("%H:%M:%S")),
        "LastPrice": st.floats(1, 1e6, allow_nan=False),
        "LastVol": st.floats(0, 1e7, allow_nan=False),
        "TotalVol": st.floats(0, 1e10, allow_nan=False),
        "TotalVal": st.floats(0, 1e15, allow_nan=False),
        "Side": st.sampled_from(["BU", "SD", "", None, "XX"]),
        "TradingSession": st.sampled_from(["ATO", "LO", "ATC", "PT", "C", None, ""]),
    }
)


@settings(max_examples=150, deadline=None)
@given(trade_contents, st.booleans())
def test_trades_parse_the_same_from_numbers_and_from_strings(
    content: dict, as_strings: bool
) -> None:
    wire = dict(content)
    if as_strings:
        for key in ("LastPrice", "LastVol", "TotalVol", "TotalVal"):
            wire[key] = repr(wire[key])
    [trade] = parse.parse_message(frame_of(wire))
    assert trade.price == content["LastPrice"] and trade.volume == content["LastVol"]
    assert trade.total_volume == content["TotalVol"] and trade.total_value == content["TotalVal"]
    assert trade.side == {"BU": Aggressor.BUY, "SD": Aggressor.SELL}.get(content["Side"])
    assert parse.utc_to_local_date(trade.ts_event) == parse.parse_date(content["TradingDate"])


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["C", "M", "H", "A", "S", "E", "I", "RType"]), inner, max_size=4
                )
            ),
            max_leaves=12,
        ).map(json.dumps),
    )
)
def test_arbitrary_frames_either_parse_or_raise_malformed(text: str) -> None:
    try:
        events = parse.parse_message(text)
    except MalformedMessageError:
        return
    assert all(e.ts_event.tzinfo is not None for e in events)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["14/08/2023", "09:15:00", "LO", "BU", "", "1.5"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=5,
)
field_names = st.sampled_from(
    sorted(
        set(X_SAMPLE)
        | set(R_SAMPLE)
        | set(MI_SAMPLE)
        | set(F_SAMPLE)
        | {"TradingTime", "FBuyVol", "Side", "Volume", "IndexCode"}
    )
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["X-TRADE", "X-QUOTE", "X", "R", "MI", "F", "B", "OL"]),
    st.dictionaries(field_names, json_values, max_size=12),
    st.booleans(),
)
def test_any_field_values_either_parse_or_raise_malformed(
    rtype: str, fields: dict, dated: bool
) -> None:
    content = dict(fields, RType=rtype)
    try:
        events = parse.parse_content(content, None, "14/08/2023" if dated else None)
    except MalformedMessageError:
        return
    for event in events:
        assert event.ts_event.tzinfo is not None and event.source == "ssi"
