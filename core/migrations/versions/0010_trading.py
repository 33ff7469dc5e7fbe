"""Trading: orders (latest state and every status), fills, end-of-day positions, equity curve.

Money and prices are exact decimal text (``core.tables.DecimalText``). Key text columns use
the "C" collation on PostgreSQL like the other tables (migration 0003).

Revision ID: 0010
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
TABLES = (
    "trading_orders",
    "trading_order_events",
    "trading_fills",
    "trading_positions",
    "trading_equity",
)


def upgrade() -> None:
    key = sa.String(collation="C") if op.get_context().dialect.name == "postgresql" else sa.String()
    text = sa.String
    op.create_table(
        "trading_orders",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("order_id", key, nullable=False),
        sa.Column("broker_order_id", text(), nullable=True),
        sa.Column("trading_date", sa.Date(), nullable=True),
        sa.Column("symbol", text(), nullable=False),
        sa.Column("side", text(), nullable=False),
        sa.Column("order_type", text(), nullable=False),
        sa.Column("time_in_force", text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("limit_price", text(), nullable=True),
        sa.Column("stop_price", text(), nullable=True),
        sa.Column("status", text(), nullable=False),
        sa.Column("filled_quantity", sa.Integer(), nullable=False),
        sa.Column("average_fill_price", text(), nullable=True),
        sa.Column("reject_reason", text(), nullable=True),
        sa.Column("reason", text(), nullable=False),
        sa.Column("replaces", text(), nullable=True),
        sa.Column("tag", text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "order_id"),
    )
    op.create_table(
        "trading_order_events",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("order_id", key, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", text(), nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("reason", text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "order_id", "seq"),
    )
    op.create_table(
        "trading_fills",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("fill_id", key, nullable=False),
        sa.Column("order_id", key, nullable=False),
        sa.Column("symbol", text(), nullable=False),
        sa.Column("side", text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", text(), nullable=False),
        sa.Column("commission", text(), nullable=False),
        sa.Column("tax", text(), nullable=False),
        sa.Column("realized_pnl", text(), nullable=False),
        sa.Column("ts_event", _TS, nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "fill_id"),
    )
    op.create_table(
        "trading_positions",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=False),
        sa.Column("symbol", key, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("sellable", sa.Integer(), nullable=False),
        sa.Column("average_price", text(), nullable=False),
        sa.Column("cost_basis", text(), nullable=False),
        sa.Column("mark", text(), nullable=True),
        sa.Column("market_value", text(), nullable=False),
        sa.Column("unrealized_pnl", text(), nullable=False),
        sa.Column("realized_pnl", text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "trading_date", "symbol"),
    )
    op.create_table(
        "trading_equity",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("trading_date", sa.Date(), nullable=True),
        sa.Column("cash", text(), nullable=False),
        sa.Column("equity", text(), nullable=False),
        sa.Column("realized_pnl", text(), nullable=False),
        sa.Column("fees", text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "ts"),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
