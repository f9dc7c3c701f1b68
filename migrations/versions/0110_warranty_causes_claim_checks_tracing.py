"""warranty: fault cause catalogue and each repair's cause, self-checking claims, traceable serials

Revision ID: 0110
Revises: 0100
Create Date: 2026-12-05 14:30:00

HQ's fault cause catalogue (per product category: component, symptom, cause, defect or misuse) and
the cause each repair found; claims keep the checks they passed and failed, the old part's return
(or HQ's photo waiver), and may be held for review (a repeat claim); one row of claim settings;
agents and dealers, and the dated journey of every serial.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0110"
down_revision = "0100"
branch_labels = None
depends_on = None

CATEGORY = sa.Enum("water_purifier", "water_heater", name="productcategory", native_enum=False, length=32)
UTC = dispatch.db.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fault_causes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("category", CATEGORY, nullable=False),
        sa.Column("component", sa.String(length=120), nullable=False),
        sa.Column("symptom", sa.String(length=200), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.Enum("defect", "misuse", name="faultkind", native_enum=False, length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fault_causes")),
        sa.UniqueConstraint("code", name=op.f("uq_fault_causes_code")),
    )
    with op.batch_alter_table("fault_causes") as batch:
        batch.create_index(batch.f("ix_fault_causes_category"), ["category"], unique=False)
    op.create_table(
        "job_fault_causes",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("fault_cause_id", sa.Uuid(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("intake_labour_covered", sa.Boolean(), nullable=True),
        sa.Column("intake_parts_covered", sa.Boolean(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", UTC, nullable=True),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_fault_causes_job_id_jobs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["fault_cause_id"], ["fault_causes.id"],
                                name=op.f("fk_job_fault_causes_fault_cause_id_fault_causes")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_job_fault_causes_actor_id_users")),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_fault_causes")),
    )
    with op.batch_alter_table("job_fault_causes") as batch:
        batch.create_index(batch.f("ix_job_fault_causes_fault_cause_id"), ["fault_cause_id"], unique=False)

    with op.batch_alter_table("warranty_claims") as batch:
        batch.add_column(sa.Column("checks", dispatch.db.JsonDoc, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("return_received_at", UTC, nullable=True))
        batch.add_column(sa.Column("return_received_by", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("return_waived_at", UTC, nullable=True))
        batch.add_column(sa.Column("return_waived_by", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("return_waiver_reason", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("return_waiver_attachment_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(batch.f("fk_warranty_claims_return_received_by_users"), "users",
                                 ["return_received_by"], ["id"])
        batch.create_foreign_key(batch.f("fk_warranty_claims_return_waived_by_users"), "users",
                                 ["return_waived_by"], ["id"])
        batch.create_foreign_key(batch.f("fk_warranty_claims_return_waiver_attachment_id_attachments"),
                                 "attachments", ["return_waiver_attachment_id"], ["id"])
    with op.batch_alter_table("warranty_claims") as batch:
        batch.alter_column("checks", server_default=None)
        batch.alter_column("return_waiver_reason", server_default=None)
    op.create_table(
        "claim_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repeat_window_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("repeat_window_days >= 0", name=op.f("ck_claim_policies_repeat_window_not_negative")),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_claim_policies_updated_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_policies")),
    )

    op.create_table(
        "trade_partners",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.Enum("agent", "dealer", name="partnerkind", native_enum=False, length=32),
                  nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["trade_partners.id"],
                                name=op.f("fk_trade_partners_agent_id_trade_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_partners")),
        sa.UniqueConstraint("code", name=op.f("uq_trade_partners_code")),
    )
    op.create_table(
        "unit_journey_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Enum("factory_out", "to_agent", "to_dealer", "activation", name="journeykind",
                                  native_enum=False, length=32), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=True),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("flag", sa.Enum("activated_by_other_dealer", name="journeyflag", native_enum=False, length=32),
                  nullable=True),
        sa.Column("flag_detail", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_unit_journey_events_unit_id_units")),
        sa.ForeignKeyConstraint(["partner_id"], ["trade_partners.id"],
                                name=op.f("fk_unit_journey_events_partner_id_trade_partners")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_unit_journey_events_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_journey_events")),
        sa.UniqueConstraint("unit_id", "kind", "partner_id", "on", name="journey_step"),
    )
    with op.batch_alter_table("unit_journey_events") as batch:
        batch.create_index(batch.f("ix_unit_journey_events_unit_id"), ["unit_id"], unique=False)
        batch.create_index(batch.f("ix_unit_journey_events_partner_id"), ["partner_id"], unique=False)
        batch.create_index(batch.f("ix_unit_journey_events_flag"), ["flag"], unique=False)


def downgrade() -> None:
    op.drop_table("unit_journey_events")
    op.drop_table("trade_partners")
    op.drop_table("claim_policies")
    with op.batch_alter_table("warranty_claims") as batch:
        batch.drop_constraint(batch.f("fk_warranty_claims_return_waiver_attachment_id_attachments"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_warranty_claims_return_waived_by_users"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_warranty_claims_return_received_by_users"), type_="foreignkey")
        for column in ("return_waiver_attachment_id", "return_waiver_reason", "return_waived_by", "return_waived_at",
                       "return_received_by", "return_received_at", "checks"):
            batch.drop_column(column)
    op.drop_table("job_fault_causes")
    op.drop_table("fault_causes")
