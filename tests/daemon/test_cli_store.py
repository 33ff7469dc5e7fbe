"""`sessiond db upgrade` and `sessiond bars` (every output format; UTC ISO 8601 times)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from core import migrations
from core.models import Bar
from core.store import Store
from daemon.cli import app

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture
def filled(store_url: str) -> str:
    with Store.from_url(store_url) as store:
        store.upsert_bars(
            [
                Bar("AAA", "1m", T0, 10.0, 10.5, 9.5, 10.25, 1200.0, 7, 10.1, source="syn"),
                Bar("BBB", "1m", T0, 20.0, 20.0, 20.0, 20.0, 5.0, None, None, source="syn"),
                Bar(
                    "AAA",
                    "1m",
                    T0 + timedelta(minutes=1),
                    10.25,
                    11.0,
                    10.0,
                    10.75,
                    800.0,
                    3,
                    10.6,
                    source="syn",
                ),
                Bar(
                    "AAA",
                    "1m",
                    T0 + timedelta(days=1),
                    11.0,
                    11.0,
                    11.0,
                    11.0,
                    1.0,
                    1,
                    11.0,
                    source="syn",
                ),
                Bar("AAA", "1m", T0, 99.0, 99.0, 99.0, 99.0, 1.0, 1, 99.0, source="other"),
            ]
        )
    return store_url


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_db_upgrade_creates_the_schema_and_says_so_twice_idempotently(store_url: str) -> None:
    code, out, _ = invoke("db", "upgrade", "--db", store_url)
    assert code == 0
    head = migrations.head_revision()
    assert f"migrated from empty to revision {head}" in out
    code, out, _ = invoke("db", "upgrade", "--db", store_url)
    assert code == 0 and f"already at revision {head}" in out
    with Store.from_url(store_url) as store:
        assert store.revision() == head


def test_bars_csv_prints_one_row_per_bar_with_utc_iso_times(filled: str) -> None:
    code, out, _ = invoke(
        "bars",
        "AAA",
        "--start",
        "2024-01-02",
        "--end",
        "2024-01-02",
        "--source",
        "syn",
        "--format",
        "csv",
        "--db",
        filled,
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["ts"] for r in rows] == ["2024-01-02T14:30:00Z", "2024-01-02T14:31:00Z"]
    assert rows[0] == {
        "symbol": "AAA",
        "ts": "2024-01-02T14:30:00Z",
        "open": "10.0",
        "high": "10.5",
        "low": "9.5",
        "close": "10.25",
        "volume": "1200.0",
        "trade_count": "7",
        "vwap": "10.1",
        "source": "syn",
    }


def test_bars_json_is_an_array_with_nulls_for_missing_values(filled: str) -> None:
    code, out, _ = invoke(
        "bars",
        "AAA,BBB",
        "--start",
        "2024-01-02T14:30:00Z",
        "--end",
        "2024-01-02T14:31:00Z",
        "--source",
        "syn",
        "--format",
        "json",
        "--db",
        filled,
    )
    assert code == 0
    records = json.loads(out)
    assert [(r["symbol"], r["ts"]) for r in records] == [
        ("AAA", "2024-01-02T14:30:00Z"),
        ("BBB", "2024-01-02T14:30:00Z"),
    ]
    assert records[1]["trade_count"] is None and records[1]["vwap"] is None
    assert records[0]["trade_count"] == 7 and records[0]["close"] == 10.25
    assert datetime.fromisoformat(records[0]["ts"]) == T0


def test_bars_without_source_include_every_source(filled: str) -> None:
    code, out, _ = invoke(
        "bars",
        "AAA",
        "--start",
        "2024-01-02",
        "--end",
        "2024-01-03",
        "--format",
        "json",
        "--db",
        filled,
    )
    assert code == 0
    assert [(r["ts"], r["source"]) for r in json.loads(out)] == [
        ("2024-01-02T14:30:00Z", "other"),
        ("2024-01-02T14:30:00Z", "syn"),
        ("2024-01-02T14:31:00Z", "syn"),
        ("2024-01-03T14:30:00Z", "syn"),
    ]


def test_bars_table_shows_every_column_uncropped(filled: str) -> None:
    code, out, _ = invoke(
        "bars",
        "AAA",
        "--start",
        "2024-01-02",
        "--end",
        "2024-01-02",
        "--source",
        "syn",
        "--db",
        filled,
    )
    assert code == 0
    # no run names AAA's exchange and no --exchange: the times are UTC, and say so
    assert "ts (UTC)" in out and "2024-01-02 14:30:00" in out and "2024-01-02 14:31:00" in out
    for header in ("symbol", "open", "high", "low", "close", "volume", "trades", "vwap", "source"):
        assert header in out
    line = next(line for line in out.splitlines() if "14:31:00" in line)
    assert line.split() == [
        "2024-01-02",
        "14:31:00",
        "AAA",
        "10.25",
        "11",
        "10",
        "10.75",
        "800",
        "3",
        "10.6",
        "syn",
    ]
    code, local, _ = invoke(
        "bars",
        "AAA",
        "--start",
        "2024-01-02",
        "--end",
        "2024-01-02",
        "--source",
        "syn",
        "--db",
        filled,
        "--exchange",
        "US_EQUITY",
    )
    assert code == 0 and "ts (America/New_York)" in local
    assert "2024-01-02 09:31:00" in local  # the exchange's time by default (--tz exchange)


def test_bars_parquet_writes_a_file_with_utc_timestamps(filled: str, tmp_path: Path) -> None:
    target = tmp_path / "out" / "bars.parquet"
    target.parent.mkdir()
    code, _, err = invoke(
        "bars",
        "AAA",
        "--start",
        "2024-01-02",
        "--end",
        "2024-01-03",
        "--source",
        "syn",
        "--format",
        "parquet",
        "--output",
        str(target),
        "--db",
        filled,
    )
    assert code == 0 and "wrote 3 bars" in err
    frame = pd.read_parquet(target)
    assert str(frame["ts"].dtype) == "datetime64[ns, UTC]"
    assert [ts.to_pydatetime() for ts in frame["ts"]] == [
        T0,
        T0 + timedelta(minutes=1),
        T0 + timedelta(days=1),
    ]
    assert list(frame["close"]) == [10.25, 10.75, 11.0]


def test_bars_csv_to_an_output_file(filled: str, tmp_path: Path) -> None:
    target = tmp_path / "bars.csv"
    code, out, _ = invoke(
        "bars",
        "BBB",
        "--start",
        "2024-01-02",
        "--end",
        "2024-01-02",
        "--format",
        "csv",
        "--output",
        str(target),
        "--db",
        filled,
    )
    assert code == 0 and out == ""
    assert target.read_text().splitlines() == [
        "symbol,ts,open,high,low,close,volume,trade_count,vwap,source",
        "BBB,2024-01-02T14:30:00Z,20.0,20.0,20.0,20.0,5.0,,,syn",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "--format 'xml' is not supported"),
        (["--format", "parquet"], "--format parquet writes a binary file: pass --output"),
        (["--interval", "7m"], "interval '7m' is not supported"),
        (["--start", "2024-13-01"], "--start '2024-13-01' is not a date"),
        (["--start", "2024-01-05"], "--end 2024-01-02 is not after --start 2024-01-05"),
        (["--db", "mysql://u:secret@h/db"], "scheme 'mysql' is not supported"),
    ],
)
def test_bars_user_errors_are_one_line_and_exit_1(
    sqlite_url: str, args: list[str], message: str
) -> None:
    base = {"--start": "2024-01-02", "--end": "2024-01-02", "--db": sqlite_url}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [part for pair in base.items() for part in pair]
    code, out, err = invoke("bars", "AAA", *flat)
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out and "secret" not in err


def test_bars_with_nothing_stored_says_so_on_stderr(sqlite_url: str) -> None:
    code, out, err = invoke(
        "bars", "ZZZ", "--start", "2024-01-02", "--end", "2024-01-02", "--db", sqlite_url
    )
    assert code == 0 and out == ""
    assert "no 1m bars for ZZZ in [2024-01-02T00:00:00+00:00, 2024-01-03T00:00:00+00:00)" in err


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://sessiond:hunter2@127.0.0.1:{port}/store"
    for args in (
        ["db", "upgrade"],
        ["bars", "AAA", "--start", "2024-01-02", "--end", "2024-01-02"],
    ):
        code, out, err = invoke(*args, "--db", url)
        assert code == 1, args
        assert "cannot read the store at postgresql+psycopg://sessiond:***@127.0.0.1" in err
        assert "Connection refused" in err
        assert len(err.strip().splitlines()) == 1
        assert "hunter2" not in err + out
