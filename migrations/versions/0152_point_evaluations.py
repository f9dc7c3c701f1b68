"""kpis: monthly evaluations of service points (rank, score, KPIs, reward or penalty)

Revision ID: 0152
Revises: 0151
Create Date: 2026-12-05 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0152"
down_revision = "0151"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "point_evaluations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_point_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("ranked_points", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("kpis", dispatch.db.JsonDoc, nullable=False),
        sa.Column("incentive", sa.Enum("reward", "penalty", "none", name="incentive", native_enum=False, length=32),
                  nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", dispatch.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_point_evaluations_amount_not_negative")),
        sa.ForeignKeyConstraint(["service_point_id"], ["service_points.id"],
                                name=op.f("fk_point_evaluations_service_point_id_service_points")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_point_evaluations_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_evaluations")),
        sa.UniqueConstraint("service_point_id", "month", name="point_evaluation_month"),
    )
    with op.batch_alter_table("point_evaluations") as batch:
        batch.create_index(batch.f("ix_point_evaluations_service_point_id"), ["service_point_id"], unique=False)


def downgrade() -> None:
    op.drop_table("point_evaluations")
