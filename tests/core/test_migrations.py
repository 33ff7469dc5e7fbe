"""core.migrations: head creates exactly core.tables' metadata, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core import migrations
from core.store import Store
from core.tables import metadata

EXPECTED_TABLES = {
    "bars",
    "trades",
    "quotes",
    "foreign_room",
    "index_ticks",
    "security_status",
    "phase_volumes",
    "indicator_values",
    "quality_results",
    "session_runs",
    "trading_orders",
    "trading_order_events",
    "trading_fills",
    "trading_positions",
    "trading_equity",
    "session_leases",
}


def schema_differences(store: Store) -> list[object]:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def table_names(store: Store) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names()) - {"alembic_version"}


def test_the_metadata_declares_every_table_of_the_store() -> None:
    assert set(metadata.tables) == EXPECTED_TABLES


def test_migrating_to_head_creates_exactly_the_sqlmodel_metadata(store_url: str) -> None:
    with Store.from_url(store_url) as store:
        assert store.revision() is None
        assert store.upgrade() == migrations.head_revision()
        assert store.revision() == migrations.head_revision()
        assert table_names(store) == EXPECTED_TABLES
        assert schema_differences(store) == []


def test_first_use_and_db_upgrade_agree_and_upgrading_again_changes_nothing(store_url: str) -> None:
    with Store.from_url(store_url) as store:
        assert store.count_bars("AAA", "1m", *_range()) == 0  # first use migrates
        assert store.revision() == migrations.head_revision()
        assert store.upgrade() == migrations.head_revision()
        assert schema_differences(store) == []


def test_downgrading_to_base_drops_every_table_and_upgrading_restores_them(
    store_url: str,
) -> None:
    with Store.from_url(store_url) as store:
        store.upgrade()
        with store.engine.begin() as conn:
            migrations.downgrade(conn, "base")
        assert table_names(store) == set()
        with store.engine.begin() as conn:
            migrations.upgrade(conn)
        assert table_names(store) == EXPECTED_TABLES
        assert schema_differences(store) == []


def test_sqlite_market_tables_are_without_rowid(sqlite_url: str) -> None:
    with Store.from_url(sqlite_url) as store:
        store.upgrade()
        with store.engine.connect() as conn:
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'bars'").scalar()
    assert sql is not None and sql.rstrip().endswith("WITHOUT ROWID")
    assert "PRIMARY KEY (symbol, interval, ts, source)" in sql


def _range() -> tuple:
    from datetime import UTC, datetime

    return datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)


def test_upgrading_a_store_from_the_first_revision_keeps_its_rows(store_url: str) -> None:
    from datetime import date

    with Store.from_url(store_url) as store:
        with store.engine.begin() as conn:
            migrations.upgrade(conn, "0001_initial")
            conn.execute(
                sa.text(
                    "INSERT INTO phase_volumes VALUES "
                    "('vn30', 'VNM', :day, 'ato', 1, 2, 3, 4, 5, 6, 7)"
                ),
                {"day": date(2024, 3, 4)},
            )
        assert store.revision() == "0001_initial"
        (row,) = store.read_phase_volumes("vn30")  # first use migrates to head
        assert store.revision() == migrations.head_revision()
        assert (row.symbol, row.phase, row.buy_volume, row.neutral_value, row.trade_count) == (
            "VNM",
            "ato",
            1.0,
            6.0,
            7,
        )
        assert row.last_total_volume is None
        assert schema_differences(store) == []


def test_postgresql_key_columns_have_the_collation_the_metadata_declares(pg_url: str) -> None:
    # alembic's comparison ignores collations: check them against the metadata here
    with Store.from_url(pg_url) as store:
        store.upgrade()
        dialect = store.engine.dialect

        def string_type(column: sa.Column) -> sa.String | None:
            type_ = column.type.dialect_impl(dialect)
            if isinstance(type_, sa.types.TypeDecorator):  # sqlmodel's AutoString
                type_ = type_.impl_instance
            return type_ if isinstance(type_, sa.String) else None

        expected = {
            (table.name, column.name): string_type(column).collation  # type: ignore[union-attr]
            for table in metadata.tables.values()
            for column in table.columns
            if string_type(column) is not None
        }
        with store.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND data_type = 'character varying'"
                )
            )
            actual = {(t, c): collation for t, c, collation in rows if t != "alembic_version"}
    assert actual == expected
    assert actual[("bars", "symbol")] == "C" and actual[("session_runs", "mode")] is None
