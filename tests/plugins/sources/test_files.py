"""The files source: real CSV files from ../shared/market_data, mappings, time zones, errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ConfigError, SourceError
from plugins.sources.files import FilesSource
from plugins.testing import check_data_source

UTC = dt.UTC
EVER = (dt.datetime(1990, 1, 1, tzinfo=UTC), dt.datetime(2035, 1, 1, tzinfo=UTC))
BT_MINUTE_NAMES = ["Date", "Time", "Open", "High", "Low", "Close", "Volume", "OpenInterest"]


def _all(source: FilesSource, symbol: str, interval: str | None = None):
    return list(source.request_bars([symbol], *EVER, interval or source.interval))


# ---------------------------------------------------------------------------------------------
# The real files
# ---------------------------------------------------------------------------------------------


def test_nautilus_btc_perp_minutes_load_with_their_naive_utc_timestamps(market_data_dir: Path):
    source = FilesSource(
        path=market_data_dir / "nt_btc-perp-20211231-20220201_1m.csv", symbol="BTC-PERP"
    )
    bars = _all(source, "BTC-PERP")
    assert len(bars) == 45_031
    first = bars[0]
    assert first.ts_event == dt.datetime(2021, 12, 31, 23, 1, tzinfo=UTC)
    assert (first.open, first.high, first.low, first.close) == (
        46_319.0,
        46_385.0,
        46_319.0,
        46_377.0,
    )
    assert first.volume == pytest.approx(2_300_413.7295)
    assert (first.interval, first.source, first.symbol) == ("1m", "files", "BTC-PERP")
    assert all(a.ts_event < b.ts_event for a, b in zip(bars, bars[1:], strict=False))


def test_nautilus_cme_gzip_file_with_timestamp_utc_column_loads(market_data_dir: Path):
    source = FilesSource(
        path=market_data_dir / "nt_6EH4.XCME_1min_bars_20240101_20240131.csv.gz", symbol="6EH4"
    )
    bars = _all(source, "6EH4")
    assert len(bars) == 29_996
    assert bars[0].ts_event == dt.datetime(2024, 1, 1, 23, 1, tzinfo=UTC)
    assert (bars[0].open, bars[0].close, bars[0].volume) == (1.1076, 1.1078, 205.0)
    assert bars[-1].ts_event < dt.datetime(2024, 2, 1, tzinfo=UTC)


def test_fxcm_file_with_offset_timestamps_and_no_volume_loads_with_zero_volume(
    market_data_dir: Path,
):
    source = FilesSource(path=market_data_dir / "nt_gbpusd-m1-bid-2012.csv", symbol="GBPUSD")
    bars = _all(source, "GBPUSD")
    assert len(bars) == 30_117
    assert bars[0].ts_event == dt.datetime(2012, 2, 1, tzinfo=UTC)
    assert bars[0].close == 1.57576
    assert {bar.volume for bar in bars} == {0.0}


def test_backtrader_minute_file_needs_names_and_honours_its_time_zone(market_data_dir: Path):
    path = market_data_dir / "bt_2006-01-02-volume-min-001.txt"
    with pytest.raises(SourceError) as error:
        _all(FilesSource(path=path, symbol="FUT"), "FUT")
    assert str(error.value) == (
        f"files source: {path}: the header names 7 columns but rows have 8; pass names=[...] "
        "with one name per column"
    )
    source = FilesSource(path=path, symbol="FUT", names=BT_MINUTE_NAMES, timezone="Europe/Berlin")
    bars = _all(source, "FUT")
    assert len(bars) == 30_889
    # 2006-01-02 09:01 in Berlin (CET, UTC+1) is 08:01 UTC
    assert bars[0].ts_event == dt.datetime(2006, 1, 2, 8, 1, tzinfo=UTC)
    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close, bars[0].volume) == (
        3602.0,
        3603.0,
        3597.0,
        3599.0,
        5699.0,
    )


def test_backtrader_five_minute_file_with_date_and_time_columns(market_data_dir: Path):
    source = FilesSource(path=market_data_dir / "bt_2006-min-005.txt", symbol="IDX", interval="5m")
    bars = _all(source, "IDX")
    assert len(bars) == 2_142
    assert bars[0].ts_event == dt.datetime(2006, 1, 2, 9, 5, tzinfo=UTC)
    assert bars[0].interval == "5m"
    with pytest.raises(SourceError, match=r"holds 5m bars; asked for 1m"):
        _all(source, "IDX", "1m")


def test_yahoo_daily_file_with_dates_only_is_stamped_at_the_session_open(market_data_dir: Path):
    source = FilesSource(
        path=market_data_dir / "bt_nvda-1999-2014.txt",
        symbol="NVDA",
        interval="1d",
        timezone="America/New_York",
    )
    bars = _all(source, "NVDA")
    assert len(bars) == 4_012
    # daily bars are stamped at the session open: 09:30 EST = 14:30 UTC
    assert bars[0].ts_event == dt.datetime(1999, 1, 22, 14, 30, tzinfo=UTC)
    assert bars[0].ts_event.astimezone(ZoneInfo("America/New_York")).date() == dt.date(1999, 1, 22)
    summer = next(b for b in bars if b.ts_event.date() == dt.date(2013, 7, 3))
    assert summer.ts_event == dt.datetime(2013, 7, 3, 13, 30, tzinfo=UTC)  # EDT
    assert bars[0].close == 1.640625 and bars[0].volume == 67_867_200.0


def test_directory_of_real_files_gives_one_symbol_per_file(market_data_dir: Path, tmp_path: Path):
    for name in ("nt_gbpusd-m1-bid-2012.csv", "nt_usdjpy-m1-bid-2013.csv"):
        (tmp_path / name).write_bytes((market_data_dir / name).read_bytes())
    source = FilesSource(path=tmp_path)
    assert source.symbols() == ["nt_gbpusd-m1-bid-2012", "nt_usdjpy-m1-bid-2013"]
    assert len(_all(source, "nt_usdjpy-m1-bid-2013")) == 28_761
    globbed = FilesSource(path=str(tmp_path / "*usdjpy*.csv"))
    assert globbed.symbols() == ["nt_usdjpy-m1-bid-2013"]


def test_files_source_passes_the_conformance_kit_on_real_data(market_data_dir: Path):
    bars = check_data_source(
        FilesSource,
        symbols=["BTC-PERP"],
        start=dt.datetime(2022, 1, 10, tzinfo=UTC),
        end=dt.datetime(2022, 1, 11, tzinfo=UTC),
        options={
            "path": str(market_data_dir / "nt_btc-perp-20211231-20220201_1m.csv"),
            "symbol": "BTC-PERP",
        },
    )
    assert len(bars) == 1_440


# ---------------------------------------------------------------------------------------------
# Mappings, formats and time zones on small files
# ---------------------------------------------------------------------------------------------


def test_declared_column_mapping_and_time_zone_are_applied(tmp_path: Path):
    path = tmp_path / "quotes.csv"
    path.write_text(
        "when;ticker;o;hi;lo;c;qty\n"
        "2024-03-04 09:30:00;AAPL;100;101;99.5;100.5;1200\n"
        "2024-03-04 09:31:00;AAPL;100.5;100.7;100.1;100.2;800\n"
        "2024-03-04 09:30:00;MSFT;400;401;399;400.5;300\n".replace(";", ",")
    )
    source = FilesSource(
        path=path,
        columns={
            "ts": "when",
            "symbol": "ticker",
            "open": "o",
            "high": "hi",
            "low": "lo",
            "close": "c",
            "volume": "qty",
        },
        timezone="America/New_York",
    )
    bars = list(source.request_bars(["MSFT", "AAPL"], *EVER, "1m"))
    assert [(b.symbol, b.ts_event) for b in bars] == [
        ("MSFT", dt.datetime(2024, 3, 4, 14, 30, tzinfo=UTC)),
        ("AAPL", dt.datetime(2024, 3, 4, 14, 30, tzinfo=UTC)),
        ("AAPL", dt.datetime(2024, 3, 4, 14, 31, tzinfo=UTC)),
    ]
    assert bars[1].high == 101.0 and bars[1].volume == 1200.0
    window = list(
        source.request_bars(["AAPL"], dt.datetime(2024, 3, 4, 14, 31, tzinfo=UTC), EVER[1], "1m")
    )
    assert [b.ts_event.minute for b in window] == [31]


def test_parquet_file_loads_like_csv(tmp_path: Path):
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-03-04 14:30", "2024-03-04 14:31"]).tz_localize(
                "UTC"
            ),
            "open": [1.0, 2.0],
            "high": [2.0, 3.0],
            "low": [0.5, 1.5],
            "close": [1.5, 2.5],
            "volume": [10, 20],
        }
    )
    frame.to_parquet(tmp_path / "spy.parquet")
    bars = _all(FilesSource(path=tmp_path / "spy.parquet"), "spy")
    assert [(b.ts_event.minute, b.close, b.volume) for b in bars] == [
        (30, 1.5, 10.0),
        (31, 2.5, 20.0),
    ]


def test_missing_columns_and_bad_options_are_named(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("stamp,open,high,low,close\n2024-03-04 14:30,1,1,1,1\n")
    with pytest.raises(SourceError) as error:
        _all(FilesSource(path=path), "x")
    assert "cannot find column(s) for ts (or date)" in str(error.value)
    assert "(columns: stamp, open, high, low, close); declare them in 'columns'" in str(error.value)
    with pytest.raises(SourceError, match=r"columns.ts names 'when', which is not a column"):
        _all(FilesSource(path=path, columns={"ts": "when"}), "x")
    with pytest.raises(ConfigError, match=r"columns has unknown field\(s\) 'price'"):
        FilesSource(path=path, columns={"price": "close"})
    with pytest.raises(ConfigError, match=r"timezone 'Mars/Olympus' is not an IANA zone"):
        FilesSource(path=path, timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match=r"option 'path' is required"):
        FilesSource()
    with pytest.raises(SourceError, match=r"no data files at"):
        _all(FilesSource(path=tmp_path / "nothing-*.csv"), "x")


def test_a_non_numeric_price_names_the_row(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "ts,open,high,low,close\n2024-03-04 14:30,1,1,1,1\n2024-03-04 14:31,1,n/a,1,1\n"
    )
    with pytest.raises(SourceError, match=r"bad.csv: row 3 has a missing or non-numeric price"):
        _all(FilesSource(path=path), "bad")


bar_rows = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=60 * 24 * 365),  # minute offset
        st.decimals(min_value="0.01", max_value="100000", places=2),
        st.decimals(min_value="0", max_value="50", places=2),
        st.decimals(min_value="0", max_value="50", places=2),
        st.integers(min_value=0, max_value=10**9),
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda row: row[0],
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=bar_rows, zone=st.sampled_from(["UTC", "Asia/Ho_Chi_Minh", "America/New_York"]))
def test_written_bars_read_back_identically_in_any_zone(tmp_path_factory, rows, zone):
    path = tmp_path_factory.mktemp("roundtrip") / "sym.csv"
    tz = ZoneInfo(zone)
    base = dt.datetime(2023, 1, 1, tzinfo=UTC)
    expected = []
    lines = ["Date,Time,Open,High,Low,Close,Volume"]
    for offset, low, up, down, volume in rows:
        ts = base + dt.timedelta(minutes=offset)
        local = ts.astimezone(tz)
        low_f = float(low)
        o, c = low_f + float(down), low_f + float(up)
        h = max(o, c) + 0.5
        lines.append(f"{local:%Y-%m-%d},{local:%H:%M:%S},{o!r},{h!r},{low_f!r},{c!r},{volume}")
        expected.append((ts, o, h, low_f, c, float(volume)))
    path.write_text("\n".join(lines) + "\n")
    ambiguous = any(
        (base + dt.timedelta(minutes=offset)).astimezone(tz).fold for offset, *_ in rows
    )
    source = FilesSource(path=path, timezone=zone)
    if ambiguous:  # a repeated local hour (DST end) cannot be read back unambiguously
        with pytest.raises(Exception):  # noqa: B017 - pandas raises its own AmbiguousTimeError
            _all(source, "sym")
        return
    bars = _all(source, "sym")
    assert [(b.ts_event, b.open, b.high, b.low, b.close, b.volume) for b in bars] == sorted(
        expected
    )
