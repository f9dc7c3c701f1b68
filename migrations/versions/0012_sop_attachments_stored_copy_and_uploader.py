"""sop: attachments: the stored copy has its own hash (metadata dropped); one row per uploader

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00

``stored_sha256`` names the blob kept in the evidence store, a copy of the upload without GPS
and other personal metadata; rows written before this revision were stored as uploaded, so they
get their own ``sha256``. The same bytes are now one attachment per uploader (an upload is the
uploader's until it is attached to a step), so the unique key gains ``uploaded_by``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.add_column(sa.Column("stored_sha256", sa.String(length=64), nullable=True))
    op.execute("UPDATE attachments SET stored_sha256 = sha256")
    with op.batch_alter_table("attachments") as batch:
        batch.alter_column("stored_sha256", existing_type=sa.String(length=64), nullable=False)
        batch.drop_constraint("attachment_owner", type_="unique")
        batch.create_unique_constraint("attachment_owner", ["sha256", "service_point_id", "uploaded_by"])


def downgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.drop_constraint("attachment_owner", type_="unique")
        batch.create_unique_constraint("attachment_owner", ["sha256", "service_point_id"])
        batch.drop_column("stored_sha256")
