"""core.store on SQLite and PostgreSQL (``store_url``): idempotent upserts, reads, UTC."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import StoreError
from core.models import (
    Aggressor,
    Bar,
    ForeignRoom,
    IndexTick,
    IndicatorValue,
    PhaseVolume,
    QualityResult,
    Quote,
    SecurityStatus,
    Trade,
    replace,
)
from core.store import Store, normalize_url

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
ICT = timezone(timedelta(hours=7))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.from_url(store_url) as opened:
        yield opened


def minute(i: int) -> datetime:
    return T0 + timedelta(minutes=i)


def bar(symbol: str, i: int, close: float = 10.0, source: str = "syn", **kw: object) -> Bar:
    fields: dict = dict(
        open=close - 0.1,
        high=close + 0.2,
        low=close - 0.3,
        close=close,
        volume=100.0 + i,
        trade_count=5,
        vwap=close - 0.05,
        source=source,
    )
    fields.update(kw)
    return Bar(symbol, "1m", minute(i), **fields)  # type: ignore[arg-type]


def all_rows(store: Store, table: str) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1, 2, 3"))]


# --- bars -------------------------------------------------------------------------------------


def test_upserting_the_same_bars_twice_leaves_the_same_rows(store: Store) -> None:
    bars = [bar(s, i, close=10 + i) for s in ("AAA", "BBB") for i in range(50)]
    assert store.upsert_bars(bars) == 100
    first = all_rows(store, "bars")
    assert store.upsert_bars(bars) == 100
    assert all_rows(store, "bars") == first
    assert len(first) == 100
    assert store.read_bars(["AAA", "BBB"], "1m", T0, minute(50)) == sorted(
        bars, key=lambda b: (b.ts_event, b.symbol)
    )


def test_upserting_changed_bars_updates_their_values(store: Store) -> None:
    store.upsert_bars([bar("AAA", i) for i in range(3)])
    store.upsert_bars([bar("AAA", 1, close=12.5, trade_count=None, vwap=None)])
    got = store.read_bars("AAA", "1m", T0, minute(3))
    assert [b.close for b in got] == [10.0, 12.5, 10.0]
    assert got[1].trade_count is None and got[1].vwap is None
    assert got[1].open == pytest.approx(12.4)
    assert store.count_bars("AAA", "1m", T0, minute(3)) == 3


@pytest.mark.parametrize("size", [10, 3000])  # PostgreSQL: executemany / COPY staging
def test_a_key_repeated_in_one_batch_keeps_its_last_values(store: Store, size: int) -> None:
    bars = [bar("AAA", i) for i in range(size)]
    bars.append(bar("AAA", 0, close=99.0))
    bars.insert(0, bar("AAA", 1, close=55.0))
    assert store.upsert_bars(bars) == size + 2
    assert store.count_bars("AAA", "1m", T0, minute(size)) == size
    got = store.read_bars("AAA", "1m", T0, minute(2))
    assert [b.close for b in got] == [99.0, 10.0]


def test_large_upsert_through_the_bulk_path_round_trips_every_value(store: Store) -> None:
    bars = [
        bar(f"S{s}", i, close=10 + s + i / 100, trade_count=i if i % 3 else None)
        for s in range(3)
        for i in range(1500)
    ]
    store.upsert_bars(bars)
    changed = [replace(b, close=b.close + 1) for b in bars[::2]]
    store.upsert_bars(changed)
    expected = {(b.symbol, b.ts_event): b for b in bars} | {
        (b.symbol, b.ts_event): b for b in changed
    }
    got = store.read_bars(["S0", "S1", "S2"], "1m", T0, minute(1500))
    assert got == sorted(expected.values(), key=lambda b: (b.ts_event, b.symbol))


def test_read_bars_orders_by_time_then_symbol_and_filters_a_half_open_range(store: Store) -> None:
    store.upsert_bars([bar(s, i) for s in ("CCC", "AAA", "BBB") for i in (4, 0, 2, 1, 3)])
    store.upsert_bars([bar("AAA", 2, source="other", close=1.0)])
    got = store.read_bars(["CCC", "AAA"], "1m", minute(1), minute(3))
    assert [(b.ts_event, b.symbol) for b in got] == [
        (minute(1), "AAA"),
        (minute(1), "CCC"),
        (minute(2), "AAA"),
        (minute(2), "AAA"),
        (minute(2), "CCC"),
    ]
    assert [b.source for b in got if b.ts_event == minute(2) and b.symbol == "AAA"] == [
        "other",
        "syn",
    ]
    only_syn = store.read_bars("AAA", "1m", minute(1), minute(3), source="syn")
    assert [(b.ts_event, b.source) for b in only_syn] == [(minute(1), "syn"), (minute(2), "syn")]
    assert store.read_bars("AAA", "5m", T0, minute(10)) == []
    assert store.count_bars(["AAA", "BBB", "CCC"], "1m", T0, minute(5)) == 16
    assert store.count_bars("AAA", "1m", T0, minute(5), source="other") == 1


def test_bars_round_trip_as_aware_utc_whatever_offset_they_were_written_with(store: Store) -> None:
    local = datetime(2024, 1, 2, 21, 30, tzinfo=ICT)  # 14:30 UTC
    store.upsert_bars([Bar("VNM", "1m", local, 1, 1, 1, 1, 1, source="ssi")])
    (got,) = store.read_bars("VNM", "1m", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert got.ts_event == T0
    assert got.ts_event.tzinfo is UTC
    assert got.ts_event.utcoffset() == timedelta(0)
    # the same instant written in UTC is the same key
    store.upsert_bars([Bar("VNM", "1m", T0, 2, 2, 2, 2, 2, source="ssi")])
    assert store.count_bars("VNM", "1m", T0, minute(1)) == 1
    # range bounds may be given in any offset too
    assert len(store.read_bars("VNM", "1m", local, local + timedelta(minutes=1))) == 1


def test_a_naive_bar_time_is_rejected_naming_the_field(store: Store) -> None:
    naive = Bar("AAA", "1m", datetime(2024, 1, 2, 14, 30), 1, 1, 1, 1, 1, source="syn")
    with pytest.raises(StoreError, match=r"Bar\.ts_event: naive datetime 2024-01-02T14:30:00"):
        store.upsert_bars([bar("AAA", 0), naive])
    assert store.count_bars("AAA", "1m", T0, minute(5)) == 0  # the batch is atomic


def test_a_naive_range_bound_is_rejected_naming_the_argument(store: Store) -> None:
    with pytest.raises(StoreError, match="^end: naive datetime"):
        store.read_bars("AAA", "1m", T0, datetime(2024, 1, 3))
    with pytest.raises(StoreError, match="^start: naive datetime"):
        store.count_bars("AAA", "1m", datetime(2024, 1, 1), T0)


def test_read_bars_frame_has_the_documented_columns_and_utc_times(store: Store) -> None:
    store.upsert_bars([bar("AAA", 0), bar("BBB", 0, trade_count=None), bar("AAA", 1, close=11)])
    frame = store.read_bars_frame(["AAA", "BBB"], "1m", T0, minute(2))
    assert list(frame.columns) == [
        "symbol",
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "trade_count",
        "vwap",
        "source",
    ]
    assert str(frame["ts"].dtype) == "datetime64[ns, UTC]"
    assert list(frame["symbol"]) == ["AAA", "BBB", "AAA"]
    assert [ts.to_pydatetime() for ts in frame["ts"]] == [T0, T0, minute(1)]
    assert list(frame["close"]) == [10.0, 10.0, 11.0]
    assert frame["trade_count"].isna().tolist() == [False, True, False]
    empty = store.read_bars_frame("ZZZ", "1m", T0, minute(2))
    assert empty.empty and list(empty.columns) == list(frame.columns)


def test_bar_days_counts_bars_per_utc_date(store: Store) -> None:
    day2 = T0 + timedelta(days=1)
    store.upsert_bars(
        [bar("AAA", i) for i in range(3)]
        + [replace(bar("AAA", i), ts_event=day2 + timedelta(minutes=i)) for i in range(5)]
        + [replace(bar("AAA", 0), ts_event=T0.replace(hour=23, minute=59))]
        + [bar("AAA", 0, source="other"), bar("BBB", 0)]
    )
    start, end = T0.replace(hour=0), day2 + timedelta(days=1)
    assert store.bar_days("AAA", "1m", "syn", start, end) == {
        date(2024, 1, 2): 4,
        date(2024, 1, 3): 5,
    }
    assert store.bar_days("AAA", "1m", None, start, end) == {
        date(2024, 1, 2): 5,
        date(2024, 1, 3): 5,
    }
    assert store.bar_days("AAA", "1m", "syn", day2, end) == {date(2024, 1, 3): 5}
    assert store.bar_days("AAA", "5m", "syn", start, end) == {}


def test_delete_bars_removes_only_the_range(store: Store) -> None:
    store.upsert_bars([bar("AAA", i) for i in range(6)] + [bar("BBB", 2)])
    assert store.delete_bars("AAA", "1m", minute(2), minute(4)) == 2
    assert [b.ts_event for b in store.read_bars("AAA", "1m", T0, minute(6))] == [
        minute(0),
        minute(1),
        minute(4),
        minute(5),
    ]
    assert store.count_bars("BBB", "1m", T0, minute(6)) == 1


# --- events sharing timestamps ------------------------------------------------------------------


def trade(i: int, price: float, volume: float, **kw: object) -> Trade:
    return Trade("VNM", T0 + timedelta(seconds=i), price, volume, source="ssi", **kw)  # type: ignore[arg-type]


def test_trades_round_trip_and_upsert_idempotently(store: Store) -> None:
    trades = [
        trade(
            0,
            10.0,
            100,
            side=Aggressor.BUY,
            trading_session="LO",
            total_volume=100,
            total_value=1000.0,
        ),
        trade(
            0,
            10.1,
            200,
            side=Aggressor.SELL,
            trading_session="LO",
            total_volume=300,
            total_value=3020.0,
        ),
        trade(1, 10.0, 50, trade_id="t-9", ts_received=T0 + timedelta(seconds=1.5)),
        trade(1, 10.0, 50, trade_id="t-10"),
    ]
    assert store.upsert_trades(trades) == 4
    assert store.upsert_trades(trades) == 4
    got = store.read_trades("VNM", T0, T0 + timedelta(seconds=2))
    assert len(got) == 4
    assert got[:2] == trades[:2]  # same second: ordered by cumulative volume
    assert {t.trade_id for t in got[2:]} == {"t-9", "t-10"}
    assert got[0].side is Aggressor.BUY and got[0].ts_event.tzinfo is UTC
    assert next(t for t in got if t.trade_id == "t-9").ts_received == T0 + timedelta(seconds=1.5)
    # a vendor correction of a trade with an id updates it in place
    store.upsert_trades([replace(trades[2], price=10.5)])
    prices = {t.trade_id: t.price for t in store.read_trades("VNM", T0, T0 + timedelta(seconds=2))}
    assert prices["t-9"] == 10.5
    assert store.read_trades("VNM", T0, T0 + timedelta(seconds=2), source="alpaca") == []


def test_two_identical_prints_in_one_batch_are_both_kept_and_rewriting_keeps_two(
    store: Store,
) -> None:
    same = [trade(0, 10.0, 100), trade(0, 10.0, 100)]
    store.upsert_trades(same)
    store.upsert_trades(same)
    assert store.read_trades("VNM", T0, T0 + timedelta(seconds=1)) == same


def test_trades_with_naive_receive_time_are_rejected(store: Store) -> None:
    with pytest.raises(StoreError, match=r"Trade\.ts_received: naive datetime"):
        store.upsert_trades([trade(0, 1.0, 1, ts_received=datetime(2024, 1, 2, 14, 30, 1))])


def test_quotes_keep_their_depth_and_upsert_idempotently(store: Store) -> None:
    quotes = [
        Quote(
            "FPT",
            T0,
            99.9,
            1000,
            100.0,
            500,
            bids=((99.9, 1000.0), (99.8, 2000.0)),
            asks=((100.0, 500.0),),
            trading_session="LO",
            source="ssi",
        ),
        Quote("FPT", T0, 99.8, 10, 100.0, 600, source="ssi", ts_received=T0 + timedelta(seconds=1)),
        Quote("FPT", T0 + timedelta(seconds=1), 99.7, 1, 99.9, 2, source="ssi"),
    ]
    store.upsert_quotes(quotes)
    store.upsert_quotes(quotes)
    got = store.read_quotes(["FPT"], T0, T0 + timedelta(seconds=2))
    assert sorted(got, key=lambda q: (q.ts_event, q.bid_price)) == sorted(
        quotes, key=lambda q: (q.ts_event, q.bid_price)
    )
    assert len(all_rows(store, "quotes")) == 3


def test_foreign_room_snapshots_round_trip_in_cumulative_order(store: Store) -> None:
    rows = [
        ForeignRoom("HPG", T0, 300, 100, 3e6, 1e6, total_room=1e9, current_room=5e8, source="ssi"),
        ForeignRoom("HPG", T0, 100, 50, 1e6, 5e5, source="ssi"),
        ForeignRoom("HPG", T0 + timedelta(seconds=3), 400, 100, 4e6, 1e6, source="ssi"),
    ]
    store.upsert_foreign(rows)
    store.upsert_foreign(rows)
    got = store.read_foreign("HPG", T0, T0 + timedelta(minutes=1))
    assert got == [rows[1], rows[0], rows[2]]


def test_index_ticks_round_trip_and_upsert_idempotently(store: Store) -> None:
    ticks = [
        IndexTick(
            "VN30",
            T0,
            1250.5,
            prior_value=1240.0,
            change=10.5,
            ratio_change=0.85,
            total_volume=1e6,
            total_value=2e10,
            advances=20,
            declines=8,
            no_changes=2,
            ceilings=1,
            floors=0,
            trading_session="LO",
            source="ssi",
        ),
        IndexTick("VN30", T0 + timedelta(seconds=5), 1251.0, total_volume=2e6, source="ssi"),
        IndexTick("VNINDEX", T0, 1100.0, source="ssi"),
    ]
    store.upsert_index_ticks(ticks)
    store.upsert_index_ticks(ticks)
    assert store.read_index_ticks("VN30", T0, T0 + timedelta(minutes=1)) == ticks[:2]
    assert store.read_index_ticks(["VN30", "VNINDEX"], T0, T0 + timedelta(seconds=1)) == [
        ticks[0],
        ticks[2],
    ]


def test_security_statuses_round_trip_and_upsert_idempotently(store: Store) -> None:
    statuses = [
        SecurityStatus("VNM", T0, "Normal", "ATO", exchange="HOSE", source="ssi"),
        SecurityStatus("VNM", T0, "Normal", "LO", exchange="HOSE", source="ssi"),
        SecurityStatus("VNM", T0 + timedelta(minutes=1), "Halt", None, source="ssi"),
    ]
    store.upsert_statuses(statuses)
    store.upsert_statuses(statuses)
    got = store.read_statuses("VNM", T0, T0 + timedelta(minutes=2))
    assert len(got) == 3
    assert sorted(got[:2], key=lambda s: s.trading_session or "") == statuses[:2]
    assert got[2] == statuses[2]


# --- derived data -------------------------------------------------------------------------------


def test_indicator_values_daily_and_per_minute_round_trip_and_update(store: Store) -> None:
    as_of = datetime(2024, 1, 2, tzinfo=UTC)
    values = [
        IndicatorValue("avg_volume_10d", "AAA", as_of, 1234.5, complete=False, observations=7),
        IndicatorValue("avg_volume_10d", "AAA", as_of, 10.0, observations=10, minute_of_day=0),
        IndicatorValue(
            "avg_volume_10d",
            "AAA",
            as_of,
            None,
            observations=0,
            minute_of_day=1,
            details={"max": 3.0},
        ),
        IndicatorValue("avg_volume_10d", "BBB", as_of, 5.0),
        IndicatorValue("other", "AAA", as_of, 1.0),
    ]
    assert store.upsert_indicator_values(values, source="syn") == 5
    assert store.upsert_indicator_values(values, source="syn") == 5
    got = store.read_indicator_values(
        "avg_volume_10d", ["AAA", "BBB"], as_of, as_of + timedelta(days=1)
    )
    assert got == values[:4]
    assert got[0].minute_of_day is None and got[0].as_of.tzinfo is UTC
    store.upsert_indicator_values([replace(values[0], value=99.0, complete=True)], source="syn")
    (daily,) = [
        v
        for v in store.read_indicator_values(
            "avg_volume_10d", "AAA", as_of, as_of + timedelta(days=1)
        )
        if v.minute_of_day is None
    ]
    assert daily.value == 99.0 and daily.complete is True
    assert store.read_indicator_values("avg_volume_10d", "AAA", as_of, as_of, source="syn") == []
    assert (
        store.read_indicator_values(
            "avg_volume_10d", "AAA", as_of, as_of + timedelta(days=1), source="x"
        )
        == []
    )


def test_quality_results_round_trip_with_missing_minutes(store: Store) -> None:
    rows = [
        QualityResult(
            "AAA",
            "1m",
            date(2024, 1, 2),
            390,
            388,
            100 * 388 / 390,
            missing=(minute(5), minute(6)),
            source="syn",
        ),
        QualityResult("AAA", "1m", date(2024, 1, 3), 390, 390, 100.0, source="syn"),
        QualityResult("BBB", "5m", date(2024, 1, 2), 78, 78, 100.0, source="syn"),
    ]
    store.upsert_quality(rows)
    store.upsert_quality([replace(rows[1], actual_bars=389, quality_pct=99.7)])
    got = store.read_quality()
    assert got == [rows[0], rows[2], replace(rows[1], actual_bars=389, quality_pct=99.7)]
    assert got[0].missing[0].tzinfo is UTC
    assert store.read_quality("AAA", "1m", start_date=date(2024, 1, 3)) == [got[2]]
    assert store.read_quality(["BBB"], end_date=date(2024, 1, 2), source="syn") == [rows[2]]


def test_phase_volumes_round_trip_and_a_restart_overwrites_the_day(store: Store) -> None:
    day = date(2024, 3, 4)
    rows = [
        PhaseVolume(
            "vn30",
            "VNM",
            day,
            "ato",
            buy_volume=0,
            sell_volume=0,
            neutral_volume=5000,
            neutral_value=3.5e8,
            trade_count=1,
        ),
        PhaseVolume("vn30", "VNM", day, "continuous", 1000, 800, 0, 7e7, 5.6e7, 0, 42),
        PhaseVolume("vn30", "FPT", day, "continuous", 10, 20, 0, 1e6, 2e6, 0, 3),
    ]
    store.upsert_phase_volumes(rows)
    resumed = replace(rows[1], buy_volume=1500, trade_count=50, last_total_volume=123_400.0)
    store.upsert_phase_volumes([resumed])
    got = store.read_phase_volumes("vn30", start_date=day, end_date=day)
    assert got == [rows[2], rows[0], resumed]
    assert store.read_phase_volumes(symbols="VNM") == [rows[0], resumed]
    assert store.read_phase_volumes("other") == []


def test_session_runs_are_started_finished_and_listed_newest_first(store: Store) -> None:
    first = store.start_session_run(
        "example",
        "session_configs/example_session.json",
        "backtest",
        "XNYS",
        date(2024, 1, 2),
        date(2024, 1, 5),
        started_at=T0,
    )
    second = store.start_session_run("vn30", "vn30.json", "live", "XSTC")
    assert second > first
    store.finish_session_run(
        first,
        "completed",
        {
            "events": 1200,
            "events_per_second": 5.5e5,
            "nan": math.nan,
            "first_day": date(2024, 1, 2),
        },
        finished_at=T0 + timedelta(minutes=3),
    )
    runs = store.read_session_runs()
    assert [r.id for r in runs] == [second, first]
    done = runs[1]
    assert (done.session_name, done.config_path, done.mode, done.exchange) == (
        "example",
        "session_configs/example_session.json",
        "backtest",
        "XNYS",
    )
    assert (done.start_date, done.end_date, done.status) == (
        date(2024, 1, 2),
        date(2024, 1, 5),
        "completed",
    )
    assert done.started_at == T0 and done.finished_at == T0 + timedelta(minutes=3)
    assert done.metrics == {
        "events": 1200,
        "events_per_second": 5.5e5,
        "nan": None,
        "first_day": "2024-01-02",
    }
    running = runs[0]
    assert running.status == "running" and running.finished_at is None
    assert running.started_at.tzinfo is UTC
    assert store.read_session_runs("vn30") == [running]
    assert store.read_session_runs(limit=1) == [running]


def test_finishing_an_unknown_session_run_is_an_error(store: Store) -> None:
    with pytest.raises(StoreError, match="session run 4242 does not exist"):
        store.finish_session_run(4242, "completed", {})


# --- opening ------------------------------------------------------------------------------------


def test_postgresql_urls_get_the_psycopg_driver() -> None:
    assert normalize_url("postgresql://u@h:5432/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg2://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///var/x.db").database == "var/x.db"


def test_unsupported_and_unparsable_urls_are_rejected_without_the_password() -> None:
    with pytest.raises(StoreError, match="scheme 'mysql' is not supported") as info:
        Store.from_url("mysql://root:hunter2@localhost/db")
    assert "hunter2" not in str(info.value)
    with pytest.raises(StoreError, match="cannot be parsed"):
        Store.from_url("not a url")


def test_store_url_defaults_to_the_sessiond_db_url_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIOND_DB_URL", f"sqlite:///{tmp_path / 'env' / 'from_env.db'}")
    with Store.from_url() as store:
        store.upsert_bars([bar("AAA", 0)])
    assert (tmp_path / "env" / "from_env.db").is_file()


def test_the_sqlite_file_and_its_parent_directories_are_created_on_first_use(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a" / "b" / "store.db"
    with Store.from_url(f"sqlite:///{path}") as store:
        assert store.dialect == "sqlite"
        assert not path.exists()  # opening connects to nothing
        assert store.read_bars("AAA", "1m", T0, minute(1)) == []
    assert path.is_file()


def test_sqlite_runs_in_wal_mode_with_normal_sync_and_a_busy_timeout(sqlite_url: str) -> None:
    with Store.from_url(sqlite_url) as store:
        store.upsert_bars([bar("AAA", 0)])
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_a_sqlite_write_transaction_takes_the_write_lock_before_its_first_statement(
    sqlite_url: str,
) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    with Store.from_url(sqlite_url) as store:
        store.upgrade()
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with store.engine.begin():  # no statement yet: BEGIN IMMEDIATE already ran
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                # readers are not blocked by the writer (WAL)
                assert other.execute("SELECT count(*) FROM bars").fetchone() == (0,)
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()


def test_reads_run_while_another_connection_holds_the_write_lock(sqlite_url: str) -> None:
    with Store.from_url(sqlite_url) as store:
        store.upsert_bars([bar("AAA", 0)])
        with store.engine.begin() as writer:
            writer.exec_driver_sql("DELETE FROM bars")
            assert len(store.read_bars("AAA", "1m", T0, minute(1))) == 1  # the committed snapshot
        assert store.read_bars("AAA", "1m", T0, minute(1)) == []


def test_postgresql_reads_utc_whatever_the_session_time_zone(pg_url: str) -> None:
    local_url = pg_url.replace("options=", "options=-ctimezone%3DAsia/Ho_Chi_Minh%20", 1)
    assert local_url != pg_url
    with Store.from_url(local_url) as store:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW timezone").scalar() == "Asia/Ho_Chi_Minh"
        store.upsert_bars([bar("VNM", 0)] + [bar("VNM", i) for i in range(1, 2500)])
        got = store.read_bars("VNM", "1m", T0, minute(2))
        assert [b.ts_event for b in got] == [T0, minute(1)]
        assert all(b.ts_event.tzinfo is UTC for b in got)
        frame = store.read_bars_frame("VNM", "1m", T0, minute(1))
        assert frame["ts"].iloc[0].to_pydatetime() == T0
        assert store.bar_days("VNM", "1m", "syn", T0.replace(hour=0), T0 + timedelta(days=2)) == {
            date(2024, 1, 2): 570,
            date(2024, 1, 3): 1440,
            date(2024, 1, 4): 490,
        }


def test_an_in_memory_sqlite_store_keeps_rows_across_calls() -> None:
    with Store.from_url("sqlite://") as store:
        store.upsert_bars([bar("AAA", 0), bar("AAA", 1)])
        store.upsert_bars([bar("AAA", 1, close=11.0)])
        assert [b.close for b in store.read_bars("AAA", "1m", T0, minute(2))] == [10.0, 11.0]


@pytest.mark.parametrize("size", [3, 2500])
def test_bars_built_from_numpy_scalars_are_stored_as_plain_numbers(store: Store, size: int) -> None:
    import numpy as np

    bars = [
        Bar(
            "AAA",
            "1m",
            minute(i),
            np.float64(10.5),
            np.float32(11.0),
            np.float64(10.0),
            np.float64(10.25),
            np.float64(100 + i),
            np.int64(i),
            None,
            "syn",
        )  # type: ignore[arg-type]
        for i in range(size)
    ]
    store.upsert_bars(bars)
    got = store.read_bars("AAA", "1m", T0, minute(size))
    assert [(b.high, b.close, b.trade_count) for b in got[:3]] == [
        (11.0, 10.25, i) for i in range(3)
    ]
    assert type(got[2].trade_count) is int and type(got[2].high) is float


def test_database_failures_on_the_fast_path_are_store_errors(sqlite_url: str) -> None:
    with Store.from_url(sqlite_url) as store:
        store.upgrade()
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE bars")
        with pytest.raises(
            StoreError, match=r"cannot write the store at sqlite:.*no such table: bars"
        ):
            store.upsert_bars([bar("AAA", 0)])
        with pytest.raises(
            StoreError, match=r"cannot read the store at sqlite:.*no such table: bars"
        ):
            store.read_bars("AAA", "1m", T0, minute(1))


# --- property: any batch sequence ends as "last write per key wins" -------------------------------

_OFFSETS = [UTC, ICT, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]

_bar_strategy = st.builds(
    lambda symbol, i, offset, close, count, source: Bar(
        symbol,
        "1m",
        minute(i).astimezone(offset),
        close,
        close + 1,
        close - 1,
        close,
        float(i),
        count,
        None,
        source,
    ),
    st.sampled_from(["AAA", "BBB", "aaa"]),
    st.integers(0, 12),
    st.sampled_from(_OFFSETS),
    st.floats(1, 1000, allow_nan=False).map(lambda x: round(x, 4)),
    st.none() | st.integers(0, 10**6),
    st.sampled_from(["syn", "ssi"]),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(st.lists(_bar_strategy, max_size=12), min_size=1, max_size=4))
def test_any_sequence_of_batches_stores_the_last_write_of_each_key(
    store_url: str, batches: list[list[Bar]]
) -> None:
    with Store.from_url(store_url) as store:
        # small thresholds so every bulk path runs (multi-row SQLite statements, PostgreSQL COPY)
        store.sqlite_rows_per_statement = 3
        store.copy_min_rows = 4
        store.delete_bars(["AAA", "BBB", "aaa"], "1m", T0, minute(13))
        expected: dict[tuple, Bar] = {}
        for batch in batches:
            assert store.upsert_bars(batch) == len(batch)
            for b in batch:
                expected[(b.symbol, b.ts_event, b.source)] = replace(
                    b, ts_event=b.ts_event.astimezone(UTC)
                )
        got = store.read_bars(["AAA", "BBB", "aaa"], "1m", T0, minute(13))
    assert got == sorted(expected.values(), key=lambda b: (b.ts_event, b.symbol, b.source))
    assert all(b.ts_event.tzinfo is UTC for b in got)


_trade_strategy = st.builds(
    lambda second, price, volume, trade_id: Trade(
        "VNM", T0 + timedelta(seconds=second), price, volume, trade_id=trade_id, source="ssi"
    ),
    st.integers(0, 3),
    st.sampled_from([10.0, 10.05, 10.1]),
    st.sampled_from([100.0, 200.0]),
    st.none() | st.sampled_from(["a", "b", "c"]),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(trades=st.lists(_trade_strategy, max_size=15))
def test_rewriting_a_batch_of_trades_keeps_every_print_once(
    sqlite_url: str, trades: list[Trade]
) -> None:
    with Store.from_url(sqlite_url) as store:
        store.upgrade()
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM trades")
        store.upsert_trades(trades)
        store.upsert_trades(trades)
        got = store.read_trades("VNM", T0, T0 + timedelta(seconds=4))
    # prints without an id are all kept (identical ones too); an id names one trade at its
    # instant (the last write wins)
    by_id = {(t.ts_event, t.trade_id): t for t in trades if t.trade_id is not None}
    expected = [t for t in trades if t.trade_id is None] + list(by_id.values())
    key = lambda t: (t.ts_event, t.price, t.volume, t.trade_id or "")  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)
