"""warranty: 三包 periods per category, refund/replace requests, replacement suggestions, unit returns

Revision ID: 0140
Revises: 0130
Create Date: 2026-12-05 18:30:00

HQ's statutory periods per product category; a point's refund or replacement request (fault cause,
photo evidence) and HQ's decision; the suggestion raised when the same defect is repaired twice on a
unit in warranty; whole units coming back to HQ (stock); the day a unit's warranty was closed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0140"
down_revision = "0130"
branch_labels = None
depends_on = None

CATEGORY = sa.Enum("water_purifier", "water_heater", name="productcategory", native_enum=False, length=32)
UTC = dispatch.db.UtcDateTime(timezone=True)


def _fk(table: str, column: str, referred: str, **kw) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"], name=op.f(f"fk_{table}_{column}_{referred}"), **kw)


def upgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("warranty_closed_on", sa.Date(), nullable=True))
    op.create_table(
        "statutory_periods",
        sa.Column("category", CATEGORY, nullable=False),
        sa.Column("refund_days", sa.Integer(), nullable=False),
        sa.Column("replace_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("refund_days >= 0 AND replace_days >= refund_days",
                           name=op.f("ck_statutory_periods_periods_ordered")),
        _fk("statutory_periods", "updated_by", "users"),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_statutory_periods")),
    )
    op.create_table(
        "unit_returns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("service_point_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("status", sa.Enum("expected", "received", name="unitreturnstatus", native_enum=False, length=32),
                  nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("received_at", UTC, nullable=True),
        sa.Column("received_by", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("unit_returns", "unit_id", "units"),
        _fk("unit_returns", "service_point_id", "service_points"),
        _fk("unit_returns", "received_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_returns")),
    )
    with op.batch_alter_table("unit_returns") as batch:
        batch.create_index(batch.f("ix_unit_returns_unit_id"), ["unit_id"], unique=False)
        batch.create_index(batch.f("ix_unit_returns_service_point_id"), ["service_point_id"], unique=False)
        batch.create_index(batch.f("ix_unit_returns_status"), ["status"], unique=False)
    op.create_table(
        "remedy_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("service_point_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.Enum("refund", "replace", name="remedykind", native_enum=False, length=32),
                  nullable=False),
        sa.Column("status", sa.Enum("pending", "approved", "rejected", name="remedystatus", native_enum=False,
                                    length=32), nullable=False),
        sa.Column("fault_cause_id", sa.Uuid(), nullable=False),
        sa.Column("evidence", dispatch.db.JsonDoc, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("days_since_purchase", sa.Integer(), nullable=False),
        sa.Column("grounds", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("replacement_unit_id", sa.Uuid(), nullable=True),
        sa.Column("unit_return_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("remedy_requests", "unit_id", "units"),
        _fk("remedy_requests", "job_id", "jobs"),
        _fk("remedy_requests", "customer_id", "customers"),
        _fk("remedy_requests", "service_point_id", "service_points"),
        _fk("remedy_requests", "fault_cause_id", "fault_causes"),
        _fk("remedy_requests", "requested_by", "users"),
        _fk("remedy_requests", "decided_by", "users"),
        _fk("remedy_requests", "replacement_unit_id", "units"),
        _fk("remedy_requests", "unit_return_id", "unit_returns"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remedy_requests")),
    )
    with op.batch_alter_table("remedy_requests") as batch:
        batch.create_index(batch.f("ix_remedy_requests_unit_id"), ["unit_id"], unique=False)
        batch.create_index(batch.f("ix_remedy_requests_job_id"), ["job_id"], unique=False)
        batch.create_index(batch.f("ix_remedy_requests_service_point_id"), ["service_point_id"], unique=False)
        batch.create_index(batch.f("ix_remedy_requests_status"), ["status"], unique=False)
    op.create_table(
        "replacement_suggestions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("fault_cause_id", sa.Uuid(), nullable=False),
        sa.Column("first_job_id", sa.Uuid(), nullable=False),
        sa.Column("second_job_id", sa.Uuid(), nullable=False),
        sa.Column("service_point_id", sa.Uuid(), nullable=True),
        sa.Column("at", UTC, nullable=False),
        _fk("replacement_suggestions", "unit_id", "units"),
        _fk("replacement_suggestions", "fault_cause_id", "fault_causes"),
        _fk("replacement_suggestions", "first_job_id", "jobs"),
        _fk("replacement_suggestions", "second_job_id", "jobs"),
        _fk("replacement_suggestions", "service_point_id", "service_points"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replacement_suggestions")),
        sa.UniqueConstraint("unit_id", "fault_cause_id", name="one_suggestion_per_fault"),
    )
    with op.batch_alter_table("replacement_suggestions") as batch:
        batch.create_index(batch.f("ix_replacement_suggestions_unit_id"), ["unit_id"], unique=False)
        batch.create_index(batch.f("ix_replacement_suggestions_service_point_id"), ["service_point_id"],
                           unique=False)


def downgrade() -> None:
    op.drop_table("replacement_suggestions")
    op.drop_table("remedy_requests")
    op.drop_table("unit_returns")
    op.drop_table("statutory_periods")
    with op.batch_alter_table("units") as batch:
        batch.drop_column("warranty_closed_on")
