"""phase_volumes.last_total_volume: the vendor's cumulative day volume last counted.

A session restarted mid-day restores its per-phase volumes and drops trades at or below this
cumulative volume, so nothing is counted twice.

Revision ID: 0002_phase_volume_last_total
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_phase_volume_last_total"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("phase_volumes", sa.Column("last_total_volume", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("phase_volumes") as batch:
        batch.drop_column("last_total_volume")
