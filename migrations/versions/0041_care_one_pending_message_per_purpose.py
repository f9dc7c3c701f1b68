"""care: one pending message per job, purpose (template) and channel

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-05 11:00:00

Rescheduling a job five times queued five "job scheduled" texts. From now on a newer message
supersedes an unsent older one; this partial unique index keeps it so. Older duplicates still
pending are marked superseded first (the newest of each stays pending).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.execute("""
        UPDATE notifications SET status = 'superseded', last_error = 'superseded by a newer message'
        WHERE status = 'pending' AND job_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM notifications AS newer
            WHERE newer.job_id = notifications.job_id AND newer.template = notifications.template
              AND newer.channel = notifications.channel AND newer.status = 'pending'
              AND (newer.created_at > notifications.created_at
                   OR (newer.created_at = notifications.created_at AND newer.id > notifications.id)))
    """)
    op.create_index("uq_notifications_pending_purpose", "notifications", ["job_id", "template", "channel"],
                    unique=True, postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade() -> None:
    op.drop_index("uq_notifications_pending_purpose", table_name="notifications")
    op.execute("UPDATE notifications SET status = 'failed' WHERE status IN ('superseded', 'expired')")
