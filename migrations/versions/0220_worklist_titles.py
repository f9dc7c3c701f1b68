"""worklists: an item's title as a message id and its values, so lists read in the reader's language

Revision ID: 0220
Revises: 0210
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0220"
down_revision = "0210"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("worklist_items") as batch:
        batch.add_column(sa.Column("title_msgid", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("title_params", dispatch.db.JsonDoc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("worklist_items") as batch:
        batch.drop_column("title_params")
        batch.drop_column("title_msgid")
