"""Initial schema: market data, derived data and session runs.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_NO_ROWID = {"sqlite_with_rowid": False}


def _event_key_columns() -> list[sa.Column]:
    return [
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("event_key", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
    ]


_EVENT_PK = ("symbol", "ts", "event_key", "source")


def upgrade() -> None:
    op.create_table(
        "bars",
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("interval", sa.String(), nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("open", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.Column("trade_count", sa.Integer(), nullable=True),
        sa.Column("vwap", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("symbol", "interval", "ts", "source"),
        **_NO_ROWID,
    )
    op.create_table(
        "trades",
        *_event_key_columns(),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.Column("side", sa.String(), nullable=True),
        sa.Column("trading_session", sa.String(), nullable=True),
        sa.Column("total_volume", sa.Float(), nullable=True),
        sa.Column("total_value", sa.Float(), nullable=True),
        sa.Column("trade_id", sa.String(), nullable=True),
        sa.Column("ts_received", _TS, nullable=True),
        sa.PrimaryKeyConstraint(*_EVENT_PK),
        **_NO_ROWID,
    )
    op.create_table(
        "quotes",
        *_event_key_columns(),
        sa.Column("bid_price", sa.Float(), nullable=False),
        sa.Column("bid_size", sa.Float(), nullable=False),
        sa.Column("ask_price", sa.Float(), nullable=False),
        sa.Column("ask_size", sa.Float(), nullable=False),
        sa.Column("bids", sa.JSON(), nullable=False),
        sa.Column("asks", sa.JSON(), nullable=False),
        sa.Column("trading_session", sa.String(), nullable=True),
        sa.Column("ts_received", _TS, nullable=True),
        sa.PrimaryKeyConstraint(*_EVENT_PK),
        **_NO_ROWID,
    )
    op.create_table(
        "foreign_room",
        *_event_key_columns(),
        sa.Column("buy_volume", sa.Float(), nullable=False),
        sa.Column("sell_volume", sa.Float(), nullable=False),
        sa.Column("buy_value", sa.Float(), nullable=False),
        sa.Column("sell_value", sa.Float(), nullable=False),
        sa.Column("total_room", sa.Float(), nullable=True),
        sa.Column("current_room", sa.Float(), nullable=True),
        sa.Column("ts_received", _TS, nullable=True),
        sa.PrimaryKeyConstraint(*_EVENT_PK),
        **_NO_ROWID,
    )
    op.create_table(
        "index_ticks",
        *_event_key_columns(),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("prior_value", sa.Float(), nullable=True),
        sa.Column("change", sa.Float(), nullable=True),
        sa.Column("ratio_change", sa.Float(), nullable=True),
        sa.Column("total_volume", sa.Float(), nullable=True),
        sa.Column("total_value", sa.Float(), nullable=True),
        sa.Column("advances", sa.Integer(), nullable=True),
        sa.Column("declines", sa.Integer(), nullable=True),
        sa.Column("no_changes", sa.Integer(), nullable=True),
        sa.Column("ceilings", sa.Integer(), nullable=True),
        sa.Column("floors", sa.Integer(), nullable=True),
        sa.Column("trading_session", sa.String(), nullable=True),
        sa.Column("ts_received", _TS, nullable=True),
        sa.PrimaryKeyConstraint(*_EVENT_PK),
        **_NO_ROWID,
    )
    op.create_table(
        "security_status",
        *_event_key_columns(),
        sa.Column("trading_status", sa.String(), nullable=True),
        sa.Column("trading_session", sa.String(), nullable=True),
        sa.Column("exchange", sa.String(), nullable=True),
        sa.Column("ts_received", _TS, nullable=True),
        sa.PrimaryKeyConstraint(*_EVENT_PK),
        **_NO_ROWID,
    )
    op.create_table(
        "phase_volumes",
        sa.Column("session_name", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("phase", sa.String(), nullable=False),
        sa.Column("buy_volume", sa.Float(), nullable=False),
        sa.Column("sell_volume", sa.Float(), nullable=False),
        sa.Column("neutral_volume", sa.Float(), nullable=False),
        sa.Column("buy_value", sa.Float(), nullable=False),
        sa.Column("sell_value", sa.Float(), nullable=False),
        sa.Column("neutral_value", sa.Float(), nullable=False),
        sa.Column("trade_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("session_name", "symbol", "trading_date", "phase"),
    )
    op.create_table(
        "indicator_values",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("as_of", _TS, nullable=False),
        sa.Column("minute_of_day", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("observations", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", "symbol", "as_of", "minute_of_day", "source"),
        **_NO_ROWID,
    )
    op.create_table(
        "quality_results",
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("interval", sa.String(), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("expected_bars", sa.Integer(), nullable=False),
        sa.Column("actual_bars", sa.Integer(), nullable=False),
        sa.Column("quality_pct", sa.Float(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "interval", "trading_date", "source"),
    )
    op.create_table(
        "session_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_name", sa.String(), nullable=False),
        sa.Column("config_path", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("exchange", sa.String(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_session_runs_session_name", "session_runs", ["session_name"])


def downgrade() -> None:
    op.drop_index("ix_session_runs_session_name", table_name="session_runs")
    for table in (
        "session_runs",
        "quality_results",
        "indicator_values",
        "phase_volumes",
        "security_status",
        "index_ticks",
        "foreign_room",
        "quotes",
        "trades",
        "bars",
    ):
        op.drop_table(table)
