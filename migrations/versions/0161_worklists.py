"""worklists: what a point's manager and HQ must do next, with due times and outcomes

Revision ID: 0161
Revises: 0160
Create Date: 2026-12-05 19:00:00

One row per callback (after a completed visit, after a low rating), filter-change reminder call,
expiring certificate, complaint near its time limit, or warranty claim waiting for the old part;
opened once per occasion by the refresh task, closed by a person's outcome or cleared when the
reason goes away.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0161"
down_revision = "0160"
branch_labels = None
depends_on = None

UTC = dispatch.db.UtcDateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "worklist_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", _enum("worklistkind", "callback", "low_rating_callback", "filter_reminder",
                                "certificate_expiry", "complaint_deadline", "claim_old_part"), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("cycle", sa.String(length=40), nullable=False),
        sa.Column("service_point_id", sa.Uuid(), nullable=True),
        sa.Column("queue", _enum("worklistqueue", "point", "hq"), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("status", _enum("workliststatus", "open", "done", "cleared"), nullable=False),
        sa.Column("outcome", _enum("worklistoutcome", "reached", "no_answer", "wrong_number", "declined", "handled",
                                   "not_needed"), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("callback_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["service_point_id"], ["service_points.id"],
                                name=op.f("fk_worklist_items_service_point_id_service_points")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_worklist_items_job_id_jobs"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_worklist_items_customer_id_customers")),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"], name=op.f("fk_worklist_items_callback_id_callbacks")),
        sa.ForeignKeyConstraint(["closed_by"], ["users.id"], name=op.f("fk_worklist_items_closed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklist_items")),
        sa.UniqueConstraint("kind", "subject_id", "cycle", name="occasion"),
    )
    op.create_index(op.f("ix_worklist_items_service_point_id"), "worklist_items", ["service_point_id"])
    op.create_index("ix_worklist_items_status_due_at", "worklist_items", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_worklist_items_status_due_at", table_name="worklist_items")
    op.drop_index(op.f("ix_worklist_items_service_point_id"), table_name="worklist_items")
    op.drop_table("worklist_items")
