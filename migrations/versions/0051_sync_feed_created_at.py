"""sync: feed entries record when they were written (for tombstone retention)

Revision ID: 0051
Revises: 0050
Create Date: 2026-11-23 05:10:00

Nullable: entries written before this revision have no time; retention leaves them to
compaction (a later entry for the same entity supersedes them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sync_feed", sa.Column("created_at", dispatch.db.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_feed") as batch:
        batch.drop_column("created_at")
