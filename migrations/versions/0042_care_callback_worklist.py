"""care: the points' callback (回访) worklist

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-05 12:00:00

A rating of 2 or less opens an item the point must call back by a due time; a call that reaches
the customer closes it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callback_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("service_point_id", sa.Uuid(), nullable=True),
        sa.Column("rating_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("status", sa.Enum("open", "done", name="callbackitemstatus", native_enum=False, length=32),
                  nullable=False),
        sa.Column("opened_at", dispatch.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_at", dispatch.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("closed_at", dispatch.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("callback_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_callback_items_job_id_jobs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_point_id"], ["service_points.id"],
                                name=op.f("fk_callback_items_service_point_id_service_points")),
        sa.ForeignKeyConstraint(["rating_id"], ["ratings.id"], name=op.f("fk_callback_items_rating_id_ratings"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"],
                                name=op.f("fk_callback_items_callback_id_callbacks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_items")),
        sa.UniqueConstraint("job_id", "reason", name="job_reason"),
    )
    with op.batch_alter_table("callback_items") as batch:
        batch.create_index(batch.f("ix_callback_items_service_point_id"), ["service_point_id"], unique=False)
        batch.create_index(batch.f("ix_callback_items_due_at"), ["due_at"], unique=False)


def downgrade() -> None:
    op.drop_table("callback_items")
