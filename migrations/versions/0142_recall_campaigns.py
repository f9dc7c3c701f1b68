"""warranty: recall campaigns and the units they reach

Revision ID: 0142
Revises: 0141
Create Date: 2026-12-05 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0142"
down_revision = "0141"
branch_labels = None
depends_on = None

UTC = dispatch.db.UtcDateTime(timezone=True)


def _fk(table: str, column: str, referred: str, **kw) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"], name=op.f(f"fk_{table}_{column}_{referred}"), **kw)


def upgrade() -> None:
    op.create_table(
        "recall_campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("part_id", sa.Uuid(), nullable=False),
        sa.Column("part_sku", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("serial_from", sa.String(length=64), nullable=True),
        sa.Column("serial_to", sa.String(length=64), nullable=True),
        sa.Column("made_from", sa.Date(), nullable=True),
        sa.Column("made_to", sa.Date(), nullable=True),
        sa.Column("status", sa.Enum("draft", "running", "done", name="recallstatus", native_enum=False, length=32),
                  nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("launched_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("recall_campaigns", "part_id", "parts"),
        _fk("recall_campaigns", "product_id", "products"),
        _fk("recall_campaigns", "created_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_campaigns")),
        sa.UniqueConstraint("code", name=op.f("uq_recall_campaigns_code")),
    )
    with op.batch_alter_table("recall_campaigns") as batch:
        batch.create_index(batch.f("ix_recall_campaigns_status"), ["status"], unique=False)
    op.create_table(
        "recall_units",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("service_point_id", sa.Uuid(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        _fk("recall_units", "campaign_id", "recall_campaigns", ondelete="CASCADE"),
        _fk("recall_units", "unit_id", "units"),
        _fk("recall_units", "job_id", "jobs"),
        _fk("recall_units", "service_point_id", "service_points"),
        sa.PrimaryKeyConstraint("campaign_id", "unit_id", name=op.f("pk_recall_units")),
    )
    with op.batch_alter_table("recall_units") as batch:
        batch.create_index(batch.f("ix_recall_units_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    op.drop_table("recall_units")
    op.drop_table("recall_campaigns")
