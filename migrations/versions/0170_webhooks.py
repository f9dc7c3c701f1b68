"""integrations: webhook endpoints, the outbound event outbox, deliveries and their attempts

Revision ID: 0170
Revises: 0161
Create Date: 2026-12-05 18:30:00

HQ registers receivers (URL, secret, event types); every event is written in the transaction of
the change it reports and fanned out to one delivery per subscribed endpoint; every attempt is
logged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0170"
down_revision = "0161"
branch_labels = None
depends_on = None

UTC = dispatch.db.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("event_types", dispatch.db.JsonDoc, nullable=False),
        sa.Column("status", sa.Enum("active", "disabled", name="endpointstatus", native_enum=False, length=32),
                  nullable=False),
        sa.Column("failing_since", UTC, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("disabled_at", UTC, nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_webhook_endpoints_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "outbound_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("ordering_key", sa.String(length=100), nullable=True),
        sa.Column("payload", dispatch.db.JsonDoc, nullable=False),
        sa.Column("occurred_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_events")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbound_events_message_id")),
    )
    with op.batch_alter_table("outbound_events") as batch:
        batch.create_index(batch.f("ix_outbound_events_type"), ["type"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("ordering_key", sa.String(length=100), nullable=True),
        sa.Column("status", sa.Enum("pending", "succeeded", name="deliverystatus", native_enum=False, length=32),
                  nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("last_attempt_at", UTC, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"],
                                name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["outbound_events.id"],
                                name=op.f("fk_webhook_deliveries_event_id_outbound_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.create_index(batch.f("ix_webhook_deliveries_event_id"), ["event_id"], unique=False)
        batch.create_index("ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False)
        batch.create_index("ix_webhook_deliveries_endpoint_order", ["endpoint_id", "ordering_key", "event_id"],
                           unique=False)
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_deliveries.id"],
                                name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts") as batch:
        batch.create_index(batch.f("ix_webhook_attempts_delivery_id"), ["delivery_id"], unique=False)


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("outbound_events")
    op.drop_table("webhook_endpoints")
