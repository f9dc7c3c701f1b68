"""idempotency: records serve every retried create, not only sync pushes

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-05 10:00:00

A record is written with the create it guards, before its response is known: status_code and
body become nullable (NULL = the first request is still in flight), and the response's headers
(Location) are kept for the replay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch:
        batch.alter_column("status_code", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("body", existing_type=JSON, nullable=True)
        batch.add_column(sa.Column("headers", JSON, nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_records WHERE status_code IS NULL")
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_column("headers")
        batch.alter_column("body", existing_type=JSON, nullable=False)
        batch.alter_column("status_code", existing_type=sa.Integer(), nullable=False)
