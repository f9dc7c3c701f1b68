"""warranty: a service contract cancelled before its end (the day, the reason, the refund owed)

Revision ID: 0221
Revises: 0220
Create Date: 2026-12-06 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0221"
down_revision = "0220"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_contracts") as batch:
        batch.add_column(sa.Column("cancelled_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("refund", sa.Numeric(precision=12, scale=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_contracts") as batch:
        batch.drop_column("refund")
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_on")
