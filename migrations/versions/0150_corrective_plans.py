"""correction: corrective-action plans for flagged points, their actions and targeted re-audits

Revision ID: 0150
Revises: 0142
Create Date: 2026-12-05 18:30:00

HQ's plan for a flagged point (grounds, findings, deadline, the re-audit's seed and plan, the
decision), the required actions with the manager's answers and evidence, and the re-audit's
sampled checklists with their verdicts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0150"
down_revision = "0142"
branch_labels = None
depends_on = None

UTC = dispatch.db.UtcDateTime(timezone=True)
PLAN_STATUS = sa.Enum("open", "reaudit", "closed", "suspended", "revoked", name="planstatus", native_enum=False,
                      length=32)
OUTCOME = sa.Enum("close", "extend", "suspend", "revoke", name="outcome", native_enum=False, length=32)
ACTION_STATUS = sa.Enum("open", "answered", name="actionstatus", native_enum=False, length=32)
VERDICT = sa.Enum("conforming", "minor", "major", "critical", "unverifiable", name="verdict", native_enum=False,
                  length=32)


def upgrade() -> None:
    op.create_table(
        "corrective_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_point_id", sa.Uuid(), nullable=False),
        sa.Column("status", PLAN_STATUS, nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("grounds", dispatch.db.JsonDoc, nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("opened_by", sa.Uuid(), nullable=True),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("reaudit_seed", sa.String(length=64), nullable=True),
        sa.Column("reaudit_frame_sha256", sa.String(length=64), nullable=True),
        sa.Column("reaudit_drawn_at", UTC, nullable=True),
        sa.Column("frame_size", sa.Integer(), nullable=True),
        sa.Column("sample_size", sa.Integer(), nullable=True),
        sa.Column("accept_number", sa.Integer(), nullable=True),
        sa.Column("reject_number", sa.Integer(), nullable=True),
        sa.Column("outcome", OUTCOME, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("successor_point_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["service_point_id"], ["service_points.id"],
                                name=op.f("fk_corrective_plans_service_point_id_service_points")),
        sa.ForeignKeyConstraint(["successor_point_id"], ["service_points.id"],
                                name=op.f("fk_corrective_plans_successor_point_id_service_points")),
        sa.ForeignKeyConstraint(["opened_by"], ["users.id"], name=op.f("fk_corrective_plans_opened_by_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_corrective_plans_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrective_plans")),
    )
    with op.batch_alter_table("corrective_plans") as batch:
        batch.create_index(batch.f("ix_corrective_plans_service_point_id"), ["service_point_id"], unique=False)
        batch.create_index(batch.f("ix_corrective_plans_status"), ["status"], unique=False)
    op.create_table(
        "corrective_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("requirement", sa.Text(), nullable=False),
        sa.Column("status", ACTION_STATUS, nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("evidence", dispatch.db.JsonDoc, nullable=False),
        sa.Column("answered_by", sa.Uuid(), nullable=True),
        sa.Column("answered_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["corrective_plans.id"],
                                name=op.f("fk_corrective_actions_plan_id_corrective_plans"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["answered_by"], ["users.id"], name=op.f("fk_corrective_actions_answered_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrective_actions")),
        sa.UniqueConstraint("plan_id", "seq", name="corrective_action_seq"),
    )
    with op.batch_alter_table("corrective_actions") as batch:
        batch.create_index(batch.f("ix_corrective_actions_plan_id"), ["plan_id"], unique=False)
    op.create_table(
        "corrective_reaudit_items",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.Uuid(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("rank_key", sa.String(length=64), nullable=False),
        sa.Column("verdict", VERDICT, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.Uuid(), nullable=True),
        sa.Column("judged_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["corrective_plans.id"],
                                name=op.f("fk_corrective_reaudit_items_plan_id_corrective_plans"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["checklist_id"], ["checklists.id"],
                                name=op.f("fk_corrective_reaudit_items_checklist_id_checklists")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"],
                                name=op.f("fk_corrective_reaudit_items_reviewer_id_users")),
        sa.PrimaryKeyConstraint("plan_id", "round", "checklist_id", name=op.f("pk_corrective_reaudit_items")),
    )


def downgrade() -> None:
    op.drop_table("corrective_reaudit_items")
    op.drop_table("corrective_actions")
    op.drop_table("corrective_plans")
