"""REST through the real ssi-fc-data MarketDataClient against the loopback fake."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import SecretStr

from core.errors import SettingsError, SourceAuthError, SourceError
from core.models import Bar
from daemon.demo.ssi_server import FakeSsiServer
from plugins.sources.ssi.client import SsiRestClient, date_windows
from plugins.sources.ssi.settings import SsiSettings, load_ssi_settings
from plugins.sources.ssi.source import SsiSource

START, END = date(2023, 8, 1), date(2023, 9, 14)  # 45 calendar days


def minute_rows(symbol: str, start: date, end: date, per_day: int = 60) -> list[dict]:
    rows = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            for minute in range(per_day):
                t = datetime(2000, 1, 1, 9, 15) + timedelta(minutes=minute)
                price = 20000 + 50 * ((day.toordinal() + minute) % 17)
                rows.append(
                    {
                        "Symbol": symbol,
                        "Value": str(price),
                        "TradingDate": day.strftime("%d/%m/%Y"),
                        "Time": t.strftime("%H:%M:%S"),
                        "Open": str(price),
                        "High": str(price + 100),
                        "Low": str(price - 50),
                        "Close": str(price + 50),
                        "Volume": str(1000 + minute),
                    }
                )
        day += timedelta(days=1)
    return rows


def daily_rows(symbol: str, start: date, end: date) -> list[dict]:
    return [
        {
            "Symbol": symbol,
            "Market": "HOSE",
            "TradingDate": r["TradingDate"],
            "Time": None,
            "Open": "28600",
            "High": "28850.5",
            "Low": "28100",
            "Close": "28100",
            "Volume": "23382100",
            "Value": "663258204999.9850",
        }
        for r in minute_rows(symbol, start, end, per_day=1)
    ]


def test_date_windows_cover_the_range_without_gaps_or_overlap() -> None:
    windows = date_windows(START, END)
    assert windows == [
        (date(2023, 8, 1), date(2023, 8, 30)),
        (date(2023, 8, 31), date(2023, 9, 14)),
    ]
    assert date_windows(END, START) == []


def test_45_day_intraday_request_is_split_into_accepted_windows_and_pages(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.tables["intradayohlc"] = minute_rows("SSI", START, END) + minute_rows(
        "ACB", START, END
    )
    bars = SsiRestClient(ssi_settings).intraday_ohlc("SSI", START, END)

    assert len(bars) == 33 * 60  # 33 weekdays x 60 minutes, every row exactly once
    assert len({b.ts_event for b in bars}) == len(bars)
    assert all(b.symbol == "SSI" and b.interval == "1m" for b in bars)
    first = bars[0]
    assert first.ts_event == datetime(2023, 8, 1, 2, 15, tzinfo=UTC)  # 09:15 local
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        20000 + 50 * (date(2023, 8, 1).toordinal() % 17),
    ) * 1 + (first.open + 100, first.open - 50, first.open + 50, 1000.0)
    requests = [p for e, p in fake_ssi.rest_requests if e == "intradayohlc"]
    windows = sorted({(p["fromDate"], p["toDate"]) for p in requests})
    assert windows == [("01/08/2023", "30/08/2023"), ("31/08/2023", "14/09/2023")]
    assert {p["pageSize"] for p in requests} == {"1000"}
    assert sorted((p["fromDate"], int(p["pageIndex"])) for p in requests) == [
        ("01/08/2023", 1),
        ("01/08/2023", 2),
        ("31/08/2023", 1),
    ]  # 21 x 60 = 1260 rows -> 2 pages


def test_token_is_reused_while_it_has_more_than_an_hour_left(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.tables["dailyohlc"] = daily_rows("SSI", START, END)
    client = SsiRestClient(ssi_settings)
    for _ in range(3):
        client.daily_ohlc("SSI", START, START + timedelta(days=5))
    assert fake_ssi.token_requests == 1
    assert len(set(fake_ssi.rest_tokens)) == 1


def test_token_close_to_expiry_is_refreshed_before_the_next_call(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.token_lifetime_seconds = 1800  # < 3600 s left: ssi-fc-data treats it as expiring
    fake_ssi.tables["dailyohlc"] = daily_rows("SSI", START, END)
    client = SsiRestClient(ssi_settings)
    client.daily_ohlc("SSI", START, START)
    client.daily_ohlc("SSI", START, START)
    assert len(set(fake_ssi.rest_tokens)) == 2
    assert fake_ssi.rest_tokens == fake_ssi.issued_tokens[-2:]


def test_daily_rows_with_string_numbers_become_daily_bars(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.tables["dailyohlc"] = daily_rows("SSI", START, END)
    bars = SsiRestClient(ssi_settings).daily_ohlc("SSI", START, END)
    assert len(bars) == 33
    assert bars[0] == Bar(
        "SSI",
        "1d",
        datetime(2023, 8, 1, 2, 0, tzinfo=UTC),
        28600.0,
        28850.5,
        28100.0,
        28100.0,
        23382100.0,
        source="ssi",
    )


def test_html_500_is_retried_then_succeeds(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings, caplog: pytest.LogCaptureFixture
) -> None:
    fake_ssi.tables["dailyohlc"] = daily_rows("SSI", START, END)
    fake_ssi.rest_failures = ["html500", "garbage"]
    with caplog.at_level(logging.WARNING):
        bars = SsiRestClient(ssi_settings).daily_ohlc("SSI", START, START + timedelta(days=2))
    assert len(bars) == 3
    assert len([m for m in caplog.messages if "not JSON" in m]) == 2


def test_persistent_html_errors_become_a_source_error(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.rest_failures = ["html500"] * 3
    with pytest.raises(SourceError, match=r"DailyOhlc SSI .* failed after 3 attempts: .*not JSON"):
        SsiRestClient(ssi_settings).daily_ohlc("SSI", START, START)


def test_a_hanging_reply_is_cut_by_the_deadline_and_retried(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.tables["dailyohlc"] = daily_rows("SSI", START, END)
    fake_ssi.rest_failures = [("hang", 3.0)]
    settings = ssi_settings.model_copy(update={"request_timeout_seconds": 0.4})
    began = time.monotonic()
    bars = SsiRestClient(settings).daily_ohlc("SSI", START, START)
    assert len(bars) == 1
    assert time.monotonic() - began < 2.5


def test_envelope_errors_are_source_errors_with_the_server_message(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    with pytest.raises(SourceError, match="BadRequest.*exceeds 30 days"):
        SsiRestClient(ssi_settings)._call(
            "DailyOhlc",
            lambda c: c.daily_ohlc(
                None,
                __import__("ssi_fc_data").model.daily_ohlc(
                    "SSI", "01/08/2023", "14/09/2023", 1, 100, True
                ),
            ),
        )


def test_rejected_credentials_raise_source_auth_error_without_the_secret(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    settings = ssi_settings.model_copy(update={"consumer_secret": SecretStr("wrong-secret-123")})
    with pytest.raises(SourceAuthError, match="SSI_CONSUMER_ID and SSI_CONSUMER_SECRET") as info:
        SsiRestClient(settings).daily_ohlc("SSI", START, START)
    assert "wrong-secret-123" not in str(info.value)


def test_missing_credentials_give_one_error_naming_both_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.delenv("SSI_CONSUMER_ID", raising=False)
    monkeypatch.delenv("SSI_CONSUMER_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    with pytest.raises(
        SettingsError, match="missing SSI settings: SSI_CONSUMER_ID, SSI_CONSUMER_SECRET"
    ):
        load_ssi_settings()
    monkeypatch.setenv("SSI_CONSUMER_ID", "id")
    monkeypatch.setenv("SSI_CONSUMER_SECRET", "s3cret-value")
    monkeypatch.setenv("SSI_URL", "ftp://nowhere")
    with pytest.raises(SettingsError, match="SSI_URL") as info:
        load_ssi_settings()
    assert "s3cret-value" not in str(info.value)
    monkeypatch.setenv("SSI_URL", "http://127.0.0.1:9")
    assert load_ssi_settings().url == "http://127.0.0.1:9/"


def test_constructing_the_source_needs_no_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.delenv("SSI_CONSUMER_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    source = SsiSource(exchange="XSTC")
    with pytest.raises(SettingsError, match="SSI_CONSUMER_ID"):
        list(
            source.request_bars(
                ["SSI"], datetime(2023, 8, 1, tzinfo=UTC), datetime(2023, 8, 2, tzinfo=UTC), "1m"
            )
        )


def source_for(fake: FakeSsiServer, settings: SsiSettings) -> SsiSource:
    return SsiSource(
        exchange="XSTC",
        **settings.model_dump(mode="python")
        | {"consumer_secret": settings.consumer_secret.get_secret_value()},
    )


def test_request_bars_filters_to_the_utc_window_and_resamples(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    fake_ssi.tables["intradayohlc"] = minute_rows("SSI", START, END)
    fake_ssi.tables["dailyohlc"] = daily_rows("SSI", START, END)
    source = source_for(fake_ssi, ssi_settings)
    start = datetime(2023, 8, 2, 2, 30, tzinfo=UTC)  # 09:30 local
    end = datetime(2023, 8, 2, 2, 40, tzinfo=UTC)
    minutes = list(source.request_bars(["SSI"], start, end, "1m"))
    assert [b.ts_event for b in minutes] == [start + timedelta(minutes=i) for i in range(10)]
    fives = list(source.request_bars(["SSI"], start, end, "5m"))
    assert [b.ts_event for b in fives] == [start, start + timedelta(minutes=5)]
    assert fives[0].volume == sum(b.volume for b in minutes[:5])
    assert fives[0].open == minutes[0].open and fives[0].close == minutes[4].close
    assert fives[0].high == max(b.high for b in minutes[:5])
    days = list(
        source.request_bars(
            ["SSI"], datetime(2023, 8, 1, tzinfo=UTC), datetime(2023, 8, 8, tzinfo=UTC), "1d"
        )
    )
    assert [b.ts_event.date() for b in days] == [date(2023, 8, d) for d in (1, 2, 3, 4, 7)]
    with pytest.raises(SourceError, match="no time zone"):
        list(source.request_bars(["SSI"], datetime(2023, 8, 1), end, "1m"))


def test_vn30_components_securities_daily_index_and_stock_price(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    components = ["ACB", "BCM", "BID", "CTG", "FPT"]
    fake_ssi.tables["indexcomponents"] = [
        {
            "IndexCode": "VN30",
            "IndexName": "VN30",
            "Exchange": "HOSE",
            "TotalSymbolNo": "5",
            "IndexComponent": [
                {"Isin": f"VN{i}", "StockSymbol": s} for i, s in enumerate(components)
            ],
        },
        {
            "IndexCode": "VN100",
            "IndexName": "VN100",
            "Exchange": "HOSE",
            "TotalSymbolNo": "1",
            "IndexComponent": [{"Isin": "x", "StockSymbol": "ZZZ"}],
        },
    ]
    fake_ssi.tables["securities"] = [
        {"Market": "HOSE", "Symbol": f"S{i:03d}", "StockName": "n", "StockEnName": "e"}
        for i in range(1234)
    ]
    fake_ssi.tables["dailyindex"] = [
        {
            "IndexId": "VN30",
            "IndexValue": "1238.76",
            "TradingDate": "10/08/2023",
            "Time": None,
            "Change": "12.6",
            "RatioChange": "1.03",
            "TotalMatchVol": "191838100",
            "TotalMatchVal": "7289093000000",
            "Advances": "25",
            "Declines": "3",
            "NoChanges": "2",
            "Ceilings": "0",
            "Floors": "0",
            "TradingSession": "C",
        }
    ]
    fake_ssi.tables["dailystockprice"] = [
        {
            "Symbol": "SSI",
            "TradingDate": "10/08/2023",
            "ClosePrice": "28100",
            "ForeignBuyVolTotal": "863352",
            "RefPrice": "28000",
        }
    ]
    source = source_for(fake_ssi, ssi_settings)
    assert source.vn30_components() == components
    securities = source.securities("HOSE")
    assert len(securities) == 1234 and securities[-1].symbol == "S1233"
    [tick] = source.daily_index("VN30", date(2023, 8, 1), date(2023, 8, 30))
    assert (tick.value, tick.total_volume, tick.advances, tick.trading_session) == (
        1238.76,
        191838100.0,
        25,
        "C",
    )
    assert tick.ts_event == datetime(2023, 8, 10, 7, 45, tzinfo=UTC)
    [price] = source.daily_stock_price("SSI", date(2023, 8, 1), date(2023, 8, 30))
    assert (price.close, price.ref_price, price.foreign_buy_volume) == (28100.0, 28000.0, 863352.0)


def test_the_ssi_source_passes_the_plugin_conformance_kit(
    fake_ssi: FakeSsiServer, ssi_settings: SsiSettings
) -> None:
    from core import calendars
    from plugins.testing import check_data_source, default_window

    start, end = default_window("XSTC")
    day = parse_local_date(start)
    fake_ssi.tables["intradayohlc"] = [
        {
            "Symbol": "VNM",
            "TradingDate": day.strftime("%d/%m/%Y"),
            "Time": (m + timedelta(hours=7)).strftime("%H:%M:%S"),
            "Open": "70000",
            "High": "70200",
            "Low": "69900",
            "Close": "70100",
            "Volume": "1200",
            "Value": "70100",
        }
        for m in calendars.session_minutes("XSTC", day)
    ]
    options = ssi_settings.model_dump(mode="python") | {
        "consumer_secret": ssi_settings.consumer_secret.get_secret_value()
    }
    bars = check_data_source(SsiSource, exchange="XSTC", symbols=["VNM"], options=options)
    assert len(bars) == 255


def parse_local_date(ts: datetime) -> date:
    return (ts + timedelta(hours=7)).date()


def test_an_unreachable_server_is_a_source_error_after_the_retries(
    ssi_settings: SsiSettings,
) -> None:
    settings = ssi_settings.model_copy(
        update={"url": "http://127.0.0.1:9/"}
    )  # discard port: refused
    with pytest.raises(SourceError, match=r"failed after 3 attempts: ConnectionError"):
        SsiRestClient(settings).daily_ohlc("SSI", START, START)
