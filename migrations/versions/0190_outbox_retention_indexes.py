"""outboxes: indexes the nightly retention reads by (delivered webhook deliveries, orphaned
outbound events, ended notifications)

Revision ID: 0190
Revises: 0180
Create Date: 2026-12-05 21:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0190"
down_revision = "0180"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_webhook_deliveries_status_delivered_at", "webhook_deliveries", ["status", "delivered_at"])
    op.create_index("ix_outbound_events_occurred_at", "outbound_events", ["occurred_at"])
    op.create_index("ix_notifications_status_updated_at", "notifications", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_status_updated_at", table_name="notifications")
    op.drop_index("ix_outbound_events_occurred_at", table_name="outbound_events")
    op.drop_index("ix_webhook_deliveries_status_delivered_at", table_name="webhook_deliveries")
