"""Historical loads through the real alpaca-py client against the loopback REST fake."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time, timedelta

import pytest

from core.errors import SettingsError, SourceAuthError, SourceError
from core.models import Bar
from plugins.sources.alpaca.source import AlpacaSource
from tests.fakes.alpaca_server import FakeAlpacaData, rfc3339
from tests.plugins.sources.alpaca.conftest import ET, minute_bars

DAY = date(2024, 1, 2)
OPEN = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
CLOSE = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


def regular_day_bars() -> dict[str, dict[str, list[dict]]]:
    return {
        "1Min": {
            "AAPL": minute_bars(185.0, DAY, time(9, 30), time(16, 0)),
            "MSFT": minute_bars(370.0, DAY, time(9, 30), time(16, 0)),
        }
    }


def make_source(fake: FakeAlpacaData, **options) -> tuple[AlpacaSource, list[float]]:
    waits: list[float] = []
    source = AlpacaSource(exchange="XNYS", data_url=fake.url, sleep=waits.append, **options)
    return source, waits


def bar_requests(fake: FakeAlpacaData) -> list[dict[str, str]]:
    return [query for path, query, _ in fake.requests if path == "/v2/stocks/bars"]


def test_multi_page_bars_for_two_symbols_land_exactly_once_in_the_store(alpaca_env, store_url):
    from core.store import Store

    with FakeAlpacaData(bars=regular_day_bars(), page_cap=100) as fake:
        source, _ = make_source(fake)
        bars = list(source.request_bars(["AAPL", "MSFT"], OPEN, CLOSE, "1m"))
        queries = bar_requests(fake)
        # 780 rows at 100 a page: 8 pages, the first without a token, then offsets 100..700
        assert len(queries) == 8
        assert "page_token" not in queries[0]
        assert [int(base64.b64decode(q["page_token"])) for q in queries[1:]] == list(
            range(100, 800, 100)
        )
        assert {q["symbols"] for q in queries} == {"AAPL,MSFT"}
        assert {q["timeframe"] for q in queries} == {"1Min"}
        assert {q["feed"] for q in queries} == {"iex"}
        assert {q["adjustment"] for q in queries} == {"raw"}

    store = Store.from_url(store_url)
    try:
        store.upsert_bars(bars)
        store.upsert_bars(bars)  # a rerun must not duplicate
        stored = store.read_bars(["AAPL", "MSFT"], "1m", OPEN, CLOSE)
        assert len(stored) == 780
        assert len({(b.symbol, b.ts_event) for b in stored}) == 780
        assert store.count_bars(["AAPL"], "1m", OPEN, CLOSE) == 390
        first = next(b for b in stored if b.symbol == "MSFT")
        assert (first.ts_event, first.open, first.high, first.low, first.close) == (
            OPEN,
            370.0,
            370.05,
            369.95,
            370.02,
        )
        assert (first.volume, first.trade_count, first.vwap, first.source) == (
            100.0,
            3,
            370.01,
            "alpaca",
        )
        last = stored[-1]
        assert (last.symbol, last.ts_event) == ("MSFT", CLOSE - timedelta(minutes=1))
        assert last.close == pytest.approx(370.0 + 389 * 0.01 + 0.02)
    finally:
        store.dispose()


def test_bars_come_as_aware_utc_models_ordered_by_time_then_symbol(alpaca_env):
    with FakeAlpacaData(bars=regular_day_bars(), page_cap=250) as fake:
        source, _ = make_source(fake)
        bars = list(source.request_bars(["MSFT", "AAPL"], OPEN, OPEN + timedelta(minutes=3), "1m"))
    assert [(b.ts_event.minute, b.symbol) for b in bars] == [
        (30, "AAPL"),
        (30, "MSFT"),
        (31, "AAPL"),
        (31, "MSFT"),
        (32, "AAPL"),
        (32, "MSFT"),
    ]
    assert all(isinstance(b, Bar) and b.ts_event.tzinfo is UTC for b in bars)
    assert all(b.interval == "1m" for b in bars)


def test_rate_limited_request_is_retried_then_succeeds(alpaca_env):
    with FakeAlpacaData(bars=regular_day_bars(), retry_after="2") as fake:
        fake.fail_next = [429, 429]
        source, waits = make_source(fake)
        bars = list(source.request_bars(["AAPL"], OPEN, CLOSE, "1m"))
        assert len(bar_requests(fake)) == 3
    assert len(bars) == 390
    assert waits == [2.0, 2.0]  # the server's Retry-After


def test_server_errors_are_retried_with_exponential_backoff(alpaca_env):
    with FakeAlpacaData(bars=regular_day_bars(), retry_after=None) as fake:
        fake.fail_next = [500, 503, 502]
        source, waits = make_source(fake, retry_wait_seconds=0.5)
        bars = list(source.request_bars(["AAPL"], OPEN, CLOSE, "1m"))
    assert len(bars) == 390
    assert waits == [0.5, 1.0, 2.0]


def test_persistent_rate_limit_gives_up_after_max_retries(alpaca_env):
    with FakeAlpacaData(bars=regular_day_bars()) as fake:
        fake.fail_next = [429] * 10
        source, waits = make_source(fake, max_retries=2)
        with pytest.raises(SourceError) as caught:
            list(source.request_bars(["AAPL"], OPEN, CLOSE, "1m"))
        assert len(bar_requests(fake)) == 3
    assert len(waits) == 2
    assert "after 2 retries: HTTP 429" in str(caught.value)


def test_other_http_error_becomes_source_error_naming_symbol_and_range(alpaca_env):
    with FakeAlpacaData(bars=regular_day_bars()) as fake:
        fake.fail_next = [422]
        source, waits = make_source(fake)
        with pytest.raises(SourceError) as caught:
            list(source.request_bars(["AAPL", "MSFT"], OPEN, CLOSE, "1m"))
        assert len(bar_requests(fake)) == 1  # not retried
    message = str(caught.value)
    assert not isinstance(caught.value, SourceAuthError)
    assert waits == []
    assert message.startswith(
        "alpaca 1m bars for AAPL,MSFT from 2024-01-02T14:30:00+00:00 to "
        "2024-01-02T21:00:00+00:00 failed: HTTP 422"
    )


def test_rejected_keys_raise_source_auth_error_without_the_secret(alpaca_env, monkeypatch):
    monkeypatch.setenv("ALPACA_SECRET_KEY", "wrong-secret-value-42")
    with FakeAlpacaData(bars=regular_day_bars()) as fake:
        source, _ = make_source(fake)
        with pytest.raises(SourceAuthError) as caught:
            list(source.request_bars(["AAPL"], OPEN, CLOSE, "1m"))
    message = str(caught.value)
    assert "HTTP 401" in message and "ALPACA_SECRET_KEY" in message
    assert "wrong-secret-value-42" not in message


def test_missing_keys_raise_one_settings_error_naming_both_variables(alpaca_env, monkeypatch):
    monkeypatch.delenv("ALPACA_API_KEY")
    monkeypatch.delenv("ALPACA_SECRET_KEY")
    source = AlpacaSource(exchange="XNYS", data_url="http://127.0.0.1:9")  # no error yet
    with pytest.raises(SettingsError) as caught:
        list(source.request_bars(["AAPL"], OPEN, CLOSE, "1m"))
    assert "ALPACA_API_KEY and ALPACA_SECRET_KEY" in str(caught.value)


def test_long_range_is_requested_chunk_by_chunk_lazily(alpaca_env):
    days = [date(2024, 1, d) for d in (2, 3, 4, 5, 8, 9, 10, 11, 12)]
    rows = [row for d in days for row in minute_bars(100.0, d, time(9, 30), time(9, 35))]
    with FakeAlpacaData(bars={"1Min": {"SPY": rows}}) as fake:
        source, _ = make_source(fake)
        start = datetime(2024, 1, 2, tzinfo=UTC)
        end = datetime(2024, 1, 13, tzinfo=UTC)
        stream = source.request_bars(["SPY"], start, end, "1m")
        first = next(stream)
        assert len(bar_requests(fake)) == 1  # only the first 5-day chunk so far
        rest = list(stream)
        queries = bar_requests(fake)
    bars = [first, *rest]
    assert len(bars) == 45
    assert [q["start"] for q in queries] == [
        "2024-01-02T00:00:00+00:00",
        "2024-01-07T00:00:00+00:00",
        "2024-01-12T00:00:00+00:00",
    ]
    assert queries[0]["end"] == "2024-01-06T23:59:59.999999+00:00"  # Alpaca's end is inclusive
    assert [b.ts_event for b in bars] == sorted(b.ts_event for b in bars)


def test_extended_hours_bars_are_kept_only_when_the_session_config_includes_them(alpaca_env):
    bars = {"1Min": {"AAPL": minute_bars(185.0, DAY, time(4, 0), time(20, 0))}}
    start, end = datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, 6, tzinfo=UTC)
    counts = {}
    with FakeAlpacaData(bars=bars) as fake:
        for label, options in {
            "regular": {},
            "pre": {"extended_hours": {"pre_market": True, "post_market": False}},
            "post": {"post_market": True},
            "both": {"extended_hours": {"pre_market": True, "post_market": True}},
        }.items():
            source, _ = make_source(fake, **options)
            got = list(source.request_bars(["AAPL"], start, end, "1m"))
            local = [b.ts_event.astimezone(ET).time() for b in got]
            counts[label] = (len(got), min(local), max(local))
    assert counts == {
        "regular": (390, time(9, 30), time(15, 59)),
        "pre": (330 + 390, time(4, 0), time(15, 59)),
        "post": (390 + 240, time(9, 30), time(19, 59)),
        "both": (960, time(4, 0), time(19, 59)),
    }


def test_early_close_day_ends_regular_bars_at_1300_et(alpaca_env):
    black_friday = date(2024, 11, 29)
    bars = {"1Min": {"AAPL": minute_bars(230.0, black_friday, time(4, 0), time(20, 0))}}
    start, end = datetime(2024, 11, 29, tzinfo=UTC), datetime(2024, 11, 30, 6, tzinfo=UTC)
    with FakeAlpacaData(bars=bars) as fake:
        regular = list(make_source(fake)[0].request_bars(["AAPL"], start, end, "1m"))
        with_post = list(
            make_source(fake, post_market=True)[0].request_bars(["AAPL"], start, end, "1m")
        )
    assert len(regular) == 210
    assert regular[-1].ts_event.astimezone(ET).time() == time(12, 59)
    # post-market on an early close runs 13:00-17:00 ET
    post = [b for b in with_post if b.ts_event.astimezone(ET).time() >= time(13, 0)]
    assert len(post) == 240
    assert post[-1].ts_event.astimezone(ET).time() == time(16, 59)


def test_hourly_bars_keep_the_0900_bar_that_holds_the_open(alpaca_env):
    hours = [
        {
            "t": rfc3339(datetime.combine(DAY, time(h, 0), ET).astimezone(UTC)),
            "o": 1,
            "h": 1,
            "l": 1,
            "c": 1,
            "v": 10,
            "n": 1,
            "vw": 1,
        }
        for h in range(4, 20)
    ]
    with FakeAlpacaData(bars={"1Hour": {"AAPL": hours}}) as fake:
        got = list(
            make_source(fake)[0].request_bars(
                ["AAPL"], datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC), "1h"
            )
        )
    assert [b.ts_event.astimezone(ET).hour for b in got] == [9, 10, 11, 12, 13, 14, 15]


def test_daily_bars_are_anchored_at_the_session_open(alpaca_env):
    daily = [
        {
            "t": "2024-11-27T05:00:00Z",
            "o": 1,
            "h": 2,
            "l": 0.5,
            "c": 1.5,
            "v": 1e6,
            "n": 10,
            "vw": 1.2,
        },
        {
            "t": "2024-11-29T05:00:00Z",
            "o": 2,
            "h": 3,
            "l": 1.5,
            "c": 2.5,
            "v": 5e5,
            "n": 5,
            "vw": 2.2,
        },
    ]
    with FakeAlpacaData(bars={"1Day": {"AAPL": daily}}) as fake:
        source, _ = make_source(fake)
        got = list(
            source.request_bars(
                ["AAPL"],
                datetime(2024, 11, 27, tzinfo=UTC),
                datetime(2024, 11, 30, tzinfo=UTC),
                "1d",
            )
        )
    assert [(b.ts_event, b.interval, b.close, b.volume) for b in got] == [
        (datetime(2024, 11, 27, 14, 30, tzinfo=UTC), "1d", 1.5, 1e6),
        (datetime(2024, 11, 29, 14, 30, tzinfo=UTC), "1d", 2.5, 5e5),
    ]


def test_trades_and_quotes_are_parsed_filtered_and_paged(alpaca_env):
    def at(hh: int, mm: int, ss: int = 0, ns: str = "") -> str:
        ts = datetime.combine(DAY, time(hh, mm, ss), ET).astimezone(UTC)
        return ts.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ns}" if ns else "") + "Z"

    trades = [
        {"t": at(8, 0), "x": "V", "p": 184.0, "s": 5, "c": ["@", "T"], "i": 1, "z": "C"},
        {
            "t": at(9, 30, 0, "000123456"),
            "x": "V",
            "p": 185.0,
            "s": 100,
            "c": ["O"],
            "i": 2,
            "z": "C",
        },
        {"t": at(9, 31), "x": "V", "p": 185.1, "s": 10, "c": ["@"], "i": 3, "z": "C"},
        {"t": at(16, 0), "x": "V", "p": 186.0, "s": 500, "c": ["6"], "i": 4, "z": "C"},
    ]
    quotes = [
        {
            "t": at(9, 29, 59),
            "ax": "V",
            "ap": 185.05,
            "as": 3,
            "bx": "V",
            "bp": 184.95,
            "bs": 4,
            "c": ["R"],
            "z": "C",
        },
        {
            "t": at(9, 30, 30),
            "ax": "V",
            "ap": 185.2,
            "as": 1,
            "bx": "V",
            "bp": 185.0,
            "bs": 2,
            "c": ["R"],
            "z": "C",
        },
    ]
    start, end = datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)
    with FakeAlpacaData(trades={"AAPL": trades}, quotes={"AAPL": quotes}, page_cap=1) as fake:
        source, _ = make_source(fake, pre_market=True, tick_chunk_minutes=24 * 60)
        got_trades = list(source.request_trades(["AAPL"], start, end))
        got_quotes = list(source.request_quotes(["AAPL"], start, end))
        paths = fake.paths()
    assert paths.count("/v2/stocks/trades") == 4  # one row a page
    assert paths.count("/v2/stocks/quotes") == 2
    # the 16:00 closing print is post-market: dropped without post_market
    assert [(t.trade_id, t.price, t.volume, t.trading_session, t.side) for t in got_trades] == [
        ("1", 184.0, 5.0, None, None),
        ("2", 185.0, 100.0, "ATO", None),
        ("3", 185.1, 10.0, None, None),
    ]
    assert got_trades[1].ts_event == datetime(2024, 1, 2, 14, 30, 0, 123, tzinfo=UTC)
    assert [(q.bid_price, q.bid_size, q.ask_price, q.ask_size) for q in got_quotes] == [
        (184.95, 4.0, 185.05, 3.0),
        (185.0, 2.0, 185.2, 1.0),
    ]


def test_unsupported_interval_fails_before_any_request(alpaca_env):
    with FakeAlpacaData() as fake:
        source, _ = make_source(fake)
        with pytest.raises(SourceError, match=r"interval '1s' is not available from alpaca"):
            list(source.request_bars(["AAPL"], OPEN, CLOSE, "1s"))
        assert fake.requests == []


def test_keys_never_appear_in_rest_logs_output_or_errors(alpaca_env, caplog, capsys):
    import logging

    from tests.fakes.alpaca_server import KEY, SECRET

    caplog.set_level(logging.DEBUG)
    with FakeAlpacaData(bars=regular_day_bars(), page_cap=200) as fake:
        fake.fail_next = [429, 503, 422]
        source, _ = make_source(fake)
        with pytest.raises(SourceError) as caught:
            list(source.request_bars(["AAPL"], OPEN, CLOSE, "1m"))
        headers = fake.requests[0][2]
    assert (headers["APCA-API-KEY-ID"], headers["APCA-API-SECRET-KEY"]) == (KEY, SECRET)
    captured = capsys.readouterr()
    text = caplog.text + captured.out + captured.err + str(caught.value) + repr(caught.value)
    assert "HTTP 429, retry 1/5" in text and "HTTP 422" in text  # the logs were captured
    assert KEY not in text and SECRET not in text
    assert KEY not in repr(source.settings) and SECRET not in repr(source.settings)
