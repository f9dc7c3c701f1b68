"""service points choose the length of the time windows offered to customers (issue 19)

Revision ID: 0080
Revises: 0060
Create Date: 2026-12-05 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0080"
down_revision = "0060"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_points") as batch:
        batch.add_column(sa.Column("slot_minutes", sa.Integer(), nullable=False, server_default="120"))


def downgrade() -> None:
    with op.batch_alter_table("service_points") as batch:
        batch.drop_column("slot_minutes")
