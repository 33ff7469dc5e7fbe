"""Key text columns use the "C" (byte-order) collation on PostgreSQL.

Strings then sort the same on PostgreSQL as on SQLite (BINARY), and index keys compare with
``memcmp`` instead of the locale's rules, which makes bulk upserts noticeably faster. SQLite is
unchanged (its default collation is already byte order).

Revision ID: 0003_key_collation_c
Revises: 0002_phase_volume_last_total
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_key_collation_c"
down_revision: str | None = "0002_phase_volume_last_total"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_COLUMNS = {
    "bars": ("symbol", "interval", "source"),
    "trades": ("symbol", "event_key", "source"),
    "quotes": ("symbol", "event_key", "source"),
    "foreign_room": ("symbol", "event_key", "source"),
    "index_ticks": ("symbol", "event_key", "source"),
    "security_status": ("symbol", "event_key", "source"),
    "phase_volumes": ("session_name", "symbol", "phase"),
    "indicator_values": ("name", "symbol", "source"),
    "quality_results": ("symbol", "interval", "source"),
}


def _set_collation(collation: str | None) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, columns in KEY_COLUMNS.items():
        for column in columns:
            op.alter_column(
                table,
                column,
                type_=sa.String(collation=collation),
                existing_type=sa.String(),
                existing_nullable=False,
            )


def upgrade() -> None:
    _set_collation("C")


def downgrade() -> None:
    _set_collation(None)
