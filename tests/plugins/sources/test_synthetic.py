"""The synthetic source: deterministic per (seed, symbol, day); sessions, tick grid, band, trades."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import calendars
from core.boards import is_on_tick_grid, price_limits, tick_size
from core.errors import SourceError
from core.models import Aggressor, Bar
from plugins.sources.synthetic import SyntheticSource

UTC = dt.UTC
VN = ZoneInfo("Asia/Ho_Chi_Minh")
NY = ZoneInfo("America/New_York")
BANDS = {"XSTC": 0.07, "XHNX": 0.10, "UPCOM": 0.15, "VN30F": 0.07}

property_settings = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
seeds = st.integers(min_value=0, max_value=2**40)
symbols = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6)
vn_days = st.dates(min_value=dt.date(2024, 1, 3), max_value=dt.date(2026, 12, 30))
exchanges = st.sampled_from(["XSTC", "XHNX", "UPCOM", "VN30F", "XNYS"])


def _session(calendar: str, day: dt.date) -> dt.date:
    return day if calendars.is_session(calendar, day) else calendars.next_session(calendar, day)


def _day_range(calendar: str, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    bounds = calendars.session_bounds(calendar, day)
    return bounds.open, bounds.close


def _bars(source: SyntheticSource, symbols: list[str], start, end, interval="1m") -> list[Bar]:
    return list(source.request_bars(symbols, start, end, interval))


# ---------------------------------------------------------------------------------------------
# Board rules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exchange", "reference", "floor", "ceiling"),
    [
        ("HOSE", 22_900, 21_300, 24_500),  # ACB, vietnam_market.md §3
        ("HOSE", 20_150, 18_750, 21_550),  # HUB
        ("HOSE", 22_650, 21_100, 24_200),  # MBB
        ("HNX", 21_300, 19_200, 23_400),  # TAR
        ("HOSE", 30_000, 27_900, 32_100),  # exact multiples are not pushed a tick inward
        ("UPCOM", 10_000, 8_500, 11_500),
        ("HOSE", 9_000, 8_370, 9_630),  # 10 VND tick below 10,000
        ("HOSE", 48_000, 44_650, 51_300),  # the ceiling's own level (100 VND) decides its tick
    ],
)
def test_price_limits_are_rounded_inward_to_the_tick_grid(exchange, reference, floor, ceiling):
    assert price_limits(exchange, reference) == (floor, ceiling)


@pytest.mark.parametrize(
    ("exchange", "price", "tick"),
    [
        ("HOSE", 9_990, 10),
        ("HOSE", 10_000, 50),
        ("HOSE", 49_950, 50),
        ("HOSE", 50_000, 100),
        ("HNX", 5_000, 100),
        ("UPCOM", 120_000, 100),
        ("VN30F", 1_250.3, 0.1),
        ("XNYS", 187.23, 0.01),
    ],
)
def test_tick_size_follows_the_board_and_price_level(exchange, price, tick):
    assert tick_size(exchange, price) == pytest.approx(tick)


def test_tick_grid_check_rejects_prices_between_ticks():
    assert is_on_tick_grid("HOSE", 28_650)
    assert not is_on_tick_grid("HOSE", 28_660)
    assert is_on_tick_grid("HOSE", 9_990)
    assert not is_on_tick_grid("HOSE", 50_050)
    assert is_on_tick_grid("XNYS", 187.23)
    assert not is_on_tick_grid("XNYS", 187.235)


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------


@property_settings
@given(seed=seeds, symbol=symbols, day=vn_days)
def test_bars_of_a_day_do_not_depend_on_the_requested_range_or_symbols(seed, symbol, day):
    source = SyntheticSource("HOSE", seed=seed)
    day = _session("XSTC", day)
    open_, close = _day_range("XSTC", day)
    alone = _bars(source, [symbol], open_, close)
    wider_start = open_ - dt.timedelta(days=6)
    wider = [
        bar
        for bar in _bars(
            SyntheticSource("HOSE", seed=seed),
            ["ZZZ", symbol],
            wider_start,
            close + dt.timedelta(days=3),
        )
        if bar.symbol == symbol and open_ <= bar.ts_event < close
    ]
    assert alone == wider
    assert len(alone) == 255


@property_settings
@given(seed=seeds, symbol=symbols, day=vn_days, minute=st.integers(min_value=0, max_value=250))
def test_trades_and_quotes_of_a_window_do_not_depend_on_the_requested_range(
    seed, symbol, day, minute
):
    day = _session("XSTC", day)
    source = SyntheticSource("HOSE", seed=seed)
    open_, close = _day_range("XSTC", day)
    start = calendars.session_minutes("XSTC", day)[minute]
    end = start + dt.timedelta(minutes=3)
    narrow = list(source.request_trades([symbol], start, end))
    wide = [t for t in source.request_trades(["OTHER", symbol], open_, close) if t.symbol == symbol]
    assert narrow == [t for t in wide if start <= t.ts_event < end] and narrow
    quotes = list(source.request_quotes([symbol], start, end))
    assert quotes == [
        q for q in source.request_quotes([symbol], open_, close) if start <= q.ts_event < end
    ]


def test_same_seed_gives_identical_data_and_another_seed_differs():
    start, end = dt.datetime(2024, 5, 6, tzinfo=UTC), dt.datetime(2024, 5, 8, tzinfo=UTC)
    first = _bars(SyntheticSource("XNYS", seed=7), ["AAPL", "MSFT"], start, end)
    again = _bars(SyntheticSource("XNYS", seed=7), ["AAPL", "MSFT"], start, end)
    other = _bars(SyntheticSource("XNYS", seed=8), ["AAPL", "MSFT"], start, end)
    assert first == again
    assert [b.close for b in first] != [b.close for b in other]
    trades = list(SyntheticSource("XNYS", seed=7).request_trades(["AAPL"], start, end))
    assert trades == list(SyntheticSource("XNYS", seed=7).request_trades(["AAPL"], start, end))


def test_symbols_get_different_paths():
    start, end = dt.datetime(2024, 5, 6, tzinfo=UTC), dt.datetime(2024, 5, 7, tzinfo=UTC)
    bars = _bars(SyntheticSource("XNYS"), ["AAPL", "MSFT"], start, end)
    by_symbol = defaultdict(list)
    for bar in bars:
        by_symbol[bar.symbol].append(bar.close)
    assert by_symbol["AAPL"] != by_symbol["MSFT"]


# ---------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------


@property_settings
@given(exchange=exchanges, day=vn_days, seed=seeds)
def test_one_minute_bars_cover_exactly_the_session_minutes(exchange, day, seed):
    day = _session(exchange, day)
    open_, close = _day_range(exchange, day)
    bars = _bars(
        SyntheticSource(exchange, seed=seed),
        ["SYM"],
        open_ - dt.timedelta(hours=3),
        close + dt.timedelta(hours=3),
    )
    assert [bar.ts_event for bar in bars] == calendars.session_minutes(exchange, day)


def test_hose_lunch_break_has_no_bars_and_the_day_has_255_minutes():
    day = dt.date(2024, 3, 5)
    bars = _bars(
        SyntheticSource("HOSE"),
        ["VNM"],
        dt.datetime(2024, 3, 5, tzinfo=UTC),
        dt.datetime(2024, 3, 6, tzinfo=UTC),
    )
    local = [bar.ts_event.astimezone(VN).time() for bar in bars]
    assert len(bars) == 255
    assert local[0] == dt.time(9, 0) and local[-1] == dt.time(14, 44)
    assert not [t for t in local if dt.time(11, 30) <= t < dt.time(13, 0)]
    assert dt.time(11, 29) in local and dt.time(13, 0) in local
    assert all(bar.ts_event.tzinfo is UTC for bar in bars)
    assert bars[0].ts_event.date() == day


def test_us_early_close_day_ends_at_13_00_new_york():
    day = dt.date(2024, 11, 29)  # day after Thanksgiving
    bars = _bars(
        SyntheticSource("XNYS"),
        ["SPY"],
        dt.datetime(2024, 11, 29, tzinfo=UTC),
        dt.datetime(2024, 11, 30, tzinfo=UTC),
    )
    assert len(bars) == 210
    assert bars[-1].ts_event.astimezone(NY).time() == dt.time(12, 59)
    assert calendars.session_bounds("XNYS", day).is_early_close


def test_holidays_and_weekends_have_no_bars():
    tet = (dt.datetime(2024, 2, 8, tzinfo=UTC), dt.datetime(2024, 2, 15, tzinfo=UTC))
    assert _bars(SyntheticSource("HOSE"), ["VNM"], *tet) == []
    weekend = (dt.datetime(2024, 3, 9, tzinfo=UTC), dt.datetime(2024, 3, 11, tzinfo=UTC))
    assert _bars(SyntheticSource("XNYS"), ["SPY"], *weekend) == []


def test_range_bounds_are_half_open_and_cut_inside_a_session():
    start = dt.datetime(2024, 3, 5, 2, 10, tzinfo=UTC)  # 09:10 local
    end = dt.datetime(2024, 3, 5, 2, 20, tzinfo=UTC)
    bars = _bars(SyntheticSource("HOSE"), ["VNM"], start, end)
    assert [bar.ts_event.minute for bar in bars] == list(range(10, 20))


# ---------------------------------------------------------------------------------------------
# Prices: tick grid, band, OHLC, volumes
# ---------------------------------------------------------------------------------------------


@property_settings
@given(exchange=exchanges, day=vn_days, seed=seeds, symbol=symbols)
def test_prices_are_on_the_tick_grid_inside_the_band_and_ohlc_consistent(
    exchange, day, seed, symbol
):
    day = _session(exchange, day)
    source = SyntheticSource(exchange, seed=seed)
    previous = calendars.previous_session(exchange, day)
    bars = _bars(source, [symbol], _day_range(exchange, previous)[0], _day_range(exchange, day)[1])
    yesterday = [b for b in bars if b.ts_event < _day_range(exchange, day)[0]]
    today = [b for b in bars if b.ts_event >= _day_range(exchange, day)[0]]
    reference = yesterday[-1].close
    assert source.reference_price(symbol, day) == reference
    assert source.daily_close(symbol, previous) == reference
    floor, ceiling = price_limits(exchange, reference)
    band = BANDS.get(calendars.resolve_calendar_name(exchange))
    if band is not None:
        assert reference * (1 - band) - 1e-6 <= floor < ceiling <= reference * (1 + band) + 1e-6
    lot = 1 if exchange == "VN30F" else 100
    for bar in today:
        for price in (bar.open, bar.high, bar.low, bar.close):
            assert is_on_tick_grid(exchange, price), (bar, price)
            assert floor <= price <= ceiling, (bar, floor, ceiling)
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.low - 1e-9 <= bar.vwap <= bar.high + 1e-9
        assert bar.volume > 0 and bar.volume % lot == 0
        assert bar.trade_count >= 4 and bar.volume >= bar.trade_count * lot
        assert bar.interval == "1m" and bar.source == "synthetic"
    assert today[0].open != 0 and today[-1].close == source.daily_close(symbol, day)


def test_us_prices_are_in_cents():
    bars = _bars(
        SyntheticSource("XNYS", seed=3),
        ["AAPL"],
        dt.datetime(2024, 6, 3, tzinfo=UTC),
        dt.datetime(2024, 6, 4, tzinfo=UTC),
    )
    assert len(bars) == 390
    for bar in bars:
        for price in (bar.open, bar.high, bar.low, bar.close):
            assert abs(price * 100 - round(price * 100)) < 1e-6


def test_a_year_of_hose_closes_stays_within_the_band_every_day():
    source = SyntheticSource("HOSE", seed=11)
    days = calendars.sessions_in_range("XSTC", dt.date(2024, 1, 2), dt.date(2024, 12, 31))
    bars = _bars(
        source,
        ["HPG"],
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        dt.datetime(2025, 1, 1, tzinfo=UTC),
        "1d",
    )
    assert [bar.ts_event.date() for bar in bars] == days
    for previous, bar in zip(bars, bars[1:], strict=False):
        floor, ceiling = price_limits("HOSE", previous.close)
        assert floor <= bar.low <= bar.high <= ceiling
    closes = [bar.close for bar in bars]
    assert len(set(closes)) > 50  # it moves
    assert max(closes) / min(closes) < 5


# ---------------------------------------------------------------------------------------------
# Resampling
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "per_day"),
    [("5m", 30 + 21), ("15m", 10 + 7), ("30m", 5 + 4), ("1h", 3 + 2), ("1d", 1)],
)
def test_larger_intervals_are_aggregated_from_1m_aligned_to_the_open_and_split_at_the_break(
    interval, per_day
):
    source = SyntheticSource("HOSE", seed=5)
    start, end = dt.datetime(2024, 3, 4, tzinfo=UTC), dt.datetime(2024, 3, 6, tzinfo=UTC)
    minutes = _bars(source, ["FPT"], start, end)
    bars = _bars(source, ["FPT"], start, end, interval)
    assert len(bars) == 2 * per_day
    ends = [b.ts_event for b in bars[1:]] + [end]
    for bar, bar_end in zip(bars, ends, strict=True):
        if interval != "1d":
            parts = [
                m
                for m in minutes
                if bar.ts_event
                <= m.ts_event
                < min(
                    bar_end,
                    bar.ts_event
                    + dt.timedelta(
                        minutes=int(interval[:-1]) * (60 if interval.endswith("h") else 1)
                    ),
                )
            ]
        else:
            parts = [m for m in minutes if m.ts_event.date() == bar.ts_event.date()]
        assert parts, bar
        if interval != "1d":
            local = {m.ts_event.astimezone(VN).time() < dt.time(12, 0) for m in parts}
            assert len(local) == 1  # never spans the lunch break
        assert bar.open == parts[0].open and bar.close == parts[-1].close
        assert bar.high == max(m.high for m in parts) and bar.low == min(m.low for m in parts)
        assert bar.volume == sum(m.volume for m in parts)
        assert bar.trade_count == sum(m.trade_count for m in parts)
        assert bar.vwap == pytest.approx(sum(m.vwap * m.volume for m in parts) / bar.volume)
        assert bar.interval == interval
    if interval == "1h":
        assert [b.ts_event.astimezone(VN).strftime("%H:%M") for b in bars[:5]] == [
            "09:00",
            "10:00",
            "11:00",
            "13:00",
            "14:00",
        ]


def test_futures_hourly_bar_after_the_break_starts_at_13_00_not_in_the_break():
    bars = _bars(
        SyntheticSource("VN30F"),
        ["VN30F1M"],
        dt.datetime(2024, 3, 4, tzinfo=UTC),
        dt.datetime(2024, 3, 5, tzinfo=UTC),
        "1h",
    )
    assert [b.ts_event.astimezone(VN).strftime("%H:%M") for b in bars] == [
        "08:45",
        "09:45",
        "10:45",
        "13:00",
        "13:45",
    ]


def test_one_second_bars_come_from_the_trades_and_add_up_to_the_minute_bars():
    source = SyntheticSource("HOSE", seed=12)
    start = dt.datetime(2024, 3, 5, 3, 0, tzinfo=UTC)
    end = start + dt.timedelta(minutes=5)
    seconds = _bars(source, ["VNM", "FPT"], start, end, "1s")
    trades = list(source.request_trades(["VNM", "FPT"], start, end))
    assert {(b.symbol, b.ts_event) for b in seconds} == {
        (t.symbol, t.ts_event.replace(microsecond=0)) for t in trades
    }
    assert sum(b.trade_count for b in seconds) == len(trades)
    for minute in _bars(source, ["VNM", "FPT"], start, end):
        parts = [
            b
            for b in seconds
            if b.symbol == minute.symbol
            and minute.ts_event <= b.ts_event < minute.ts_event + dt.timedelta(minutes=1)
        ]
        assert (parts[0].open, parts[-1].close) == (minute.open, minute.close)
        assert max(b.high for b in parts) == minute.high and min(b.low for b in parts) == minute.low
        assert sum(b.volume for b in parts) == minute.volume
        assert all(b.interval == "1s" and b.ts_event.microsecond == 0 for b in parts)


# ---------------------------------------------------------------------------------------------
# Trades and quotes
# ---------------------------------------------------------------------------------------------


@property_settings
@given(exchange=st.sampled_from(["XSTC", "XHNX", "XNYS"]), day=vn_days, seed=seeds)
def test_trades_add_up_to_the_bars(exchange, day, seed):
    day = _session(exchange, day)
    open_, _ = _day_range(exchange, day)
    start, end = open_, open_ + dt.timedelta(minutes=20)
    source = SyntheticSource(exchange, seed=seed)
    bars = _bars(source, ["SYM"], start, end)
    trades = list(source.request_trades(["SYM"], start, end))
    by_minute = defaultdict(list)
    for trade in trades:
        by_minute[trade.ts_event.replace(second=0, microsecond=0)].append(trade)
    assert [t.ts_event for t in trades] == sorted(t.ts_event for t in trades)
    assert len(by_minute) == len(bars) == 20
    for bar in bars:
        group = by_minute[bar.ts_event]
        prices = [t.price for t in group]
        assert (prices[0], prices[-1], max(prices), min(prices)) == (
            bar.open,
            bar.close,
            bar.high,
            bar.low,
        )
        assert sum(t.volume for t in group) == bar.volume
        assert len(group) == bar.trade_count
        assert sum(t.price * t.volume for t in group) / bar.volume == pytest.approx(bar.vwap)
        assert all(is_on_tick_grid(exchange, p) for p in prices)


def test_hose_trades_carry_ato_lo_atc_codes_and_auction_trades_have_no_side():
    source = SyntheticSource("HOSE", seed=2)
    trades = list(
        source.request_trades(
            ["SSI"], dt.datetime(2024, 3, 5, tzinfo=UTC), dt.datetime(2024, 3, 6, tzinfo=UTC)
        )
    )
    for trade in trades:
        local = trade.ts_event.astimezone(VN).time()
        expected = "ATO" if local < dt.time(9, 15) else "ATC" if local >= dt.time(14, 30) else "LO"
        assert trade.trading_session == expected, trade
        if expected == "LO":
            assert trade.side in (Aggressor.BUY, Aggressor.SELL)
        else:
            assert trade.side is None
    sides = {t.side for t in trades}
    assert sides == {Aggressor.BUY, Aggressor.SELL, None}


def test_quotes_precede_each_trade_and_the_aggressor_trades_at_the_touch():
    source = SyntheticSource("HOSE", seed=4)
    start = dt.datetime(2024, 3, 5, 3, 0, tzinfo=UTC)  # 10:00 local, continuous session
    end = start + dt.timedelta(minutes=10)
    trades = list(source.request_trades(["MWG"], start, end))
    quotes = list(source.request_quotes(["MWG"], start, end))
    assert len(quotes) == len(trades) > 40
    for quote, trade in zip(quotes, trades, strict=True):
        assert quote.ts_event == trade.ts_event - dt.timedelta(milliseconds=1)
        assert quote.bid_price < quote.ask_price
        assert is_on_tick_grid("HOSE", quote.bid_price) and is_on_tick_grid("HOSE", quote.ask_price)
        if trade.side is Aggressor.BUY:
            assert trade.price == quote.ask_price
        else:
            assert trade.price == quote.bid_price
        assert quote.bid_size % 100 == 0 and quote.ask_size > 0


@property_settings
@given(exchange=st.sampled_from(["XSTC", "XHNX", "UPCOM"]), day=vn_days, seed=seeds)
def test_quotes_of_a_whole_day_stay_inside_the_band_and_on_the_grid(exchange, day, seed):
    day = _session(exchange, day)
    source = SyntheticSource(exchange, seed=seed)
    floor, ceiling = price_limits(exchange, source.reference_price("SYM", day))
    quotes = list(source.request_quotes(["SYM"], *_day_range(exchange, day)))
    assert quotes
    for quote in quotes:
        assert floor <= quote.bid_price < quote.ask_price <= ceiling, quote
        assert is_on_tick_grid(exchange, quote.bid_price) and is_on_tick_grid(
            exchange, quote.ask_price
        )


def test_quotes_are_filtered_on_their_own_time():
    source = SyntheticSource("XNYS", seed=1)
    start = dt.datetime(2024, 3, 5, 15, 0, tzinfo=UTC)
    trades = list(source.request_trades(["SPY"], start, start + dt.timedelta(minutes=2)))
    first = trades[0].ts_event
    # a range ending between the quote (1 ms earlier) and the trade holds the quote only
    quotes = list(source.request_quotes(["SPY"], start, first - dt.timedelta(microseconds=500)))
    assert quotes[-1].ts_event == first - dt.timedelta(milliseconds=1)
    assert list(source.request_trades(["SPY"], start, first)) == []


def test_us_trades_have_a_side_and_no_trading_session_code():
    trades = list(
        SyntheticSource("XNYS").request_trades(
            ["SPY"],
            dt.datetime(2024, 3, 5, 14, 30, tzinfo=UTC),
            dt.datetime(2024, 3, 5, 14, 35, tzinfo=UTC),
        )
    )
    assert trades and {t.trading_session for t in trades} == {None}
    assert {t.side for t in trades} == {Aggressor.BUY, Aggressor.SELL}


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_naive_datetimes_and_bad_seeds_are_refused():
    source = SyntheticSource("XNYS")
    with pytest.raises(SourceError, match="start must be an aware datetime"):
        list(
            source.request_bars(
                ["SPY"], dt.datetime(2024, 3, 5), dt.datetime(2024, 3, 6, tzinfo=UTC), "1m"
            )
        )
    with pytest.raises(SourceError, match="seed must be a non-negative integer, was -1"):
        SyntheticSource("XNYS", seed=-1)
