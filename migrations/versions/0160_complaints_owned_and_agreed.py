"""care: complaints with an intake channel, an owner, an agreed resolution and satisfaction

Revision ID: 0160
Revises: 0152
Create Date: 2026-12-05 18:30:00

A complaint records how it came in (phone, online, e-mail, WeChat, Weibo), whose desk it is on
(the point's manager, or HQ), the resolution proposed (type, amount) and the customer's answer,
what HQ's late-visit rule offered, and the satisfaction asked after closure. HQ's late-visit
compensation tiers get their own table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0160"
down_revision = "0152"
branch_labels = None
depends_on = None

UTC = dispatch.db.UtcDateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("channel", _enum("complaintchannel", "phone", "online", "email", "wechat",
                                                    "weibo"), nullable=False, server_default="phone"))
        batch.add_column(sa.Column("about_point", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("owner", _enum("complaintowner", "point", "hq"), nullable=False,
                                   server_default="hq"))
        batch.add_column(sa.Column("owner_user_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("resolution_type", _enum("resolutiontype", "explanation", "repair", "replacement",
                                                            "partial_refund", "compensation"), nullable=True))
        batch.add_column(sa.Column("compensation_amount", sa.Numeric(12, 2), nullable=True))
        batch.add_column(sa.Column("compensation_offer", sa.Numeric(12, 2), nullable=True))
        batch.add_column(sa.Column("minutes_late", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("customer_answer", _enum("customeranswer", "accepted", "rejected"), nullable=True))
        batch.add_column(sa.Column("customer_answered_at", UTC, nullable=True))
        batch.add_column(sa.Column("satisfaction_asked_at", UTC, nullable=True))
        batch.add_column(sa.Column("satisfaction_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("satisfaction_comment", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("satisfaction_at", UTC, nullable=True))
        batch.create_foreign_key(op.f("fk_complaints_owner_user_id_users"), "users", ["owner_user_id"], ["id"])
        batch.create_index(op.f("ix_complaints_owner"), ["owner"])
        batch.create_check_constraint(op.f("ck_complaints_satisfaction_range"),
                                      "satisfaction_score IS NULL OR satisfaction_score BETWEEN 1 AND 5")
        batch.create_check_constraint(op.f("ck_complaints_compensation_positive"),
                                      "compensation_amount IS NULL OR compensation_amount > 0")
    # Complaints already on a point's books stay with that point.
    op.execute("UPDATE complaints SET owner = 'point' WHERE service_point_id IS NOT NULL")
    with op.batch_alter_table("complaints") as batch:
        batch.alter_column("channel", server_default=None)
        batch.alter_column("about_point", server_default=None)
        batch.alter_column("owner", server_default=None)
        batch.alter_column("satisfaction_comment", server_default=None)

    op.create_table(
        "compensation_tiers",
        sa.Column("min_minutes_late", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("min_minutes_late > 0", name=op.f("ck_compensation_tiers_minutes_positive")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_compensation_tiers_amount_positive")),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_compensation_tiers_updated_by_users")),
        sa.PrimaryKeyConstraint("min_minutes_late", name=op.f("pk_compensation_tiers")),
    )


def downgrade() -> None:
    op.drop_table("compensation_tiers")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_constraint(op.f("ck_complaints_compensation_positive"), type_="check")
        batch.drop_constraint(op.f("ck_complaints_satisfaction_range"), type_="check")
        batch.drop_index(op.f("ix_complaints_owner"))
        batch.drop_constraint(op.f("fk_complaints_owner_user_id_users"), type_="foreignkey")
        for column in ("satisfaction_at", "satisfaction_comment", "satisfaction_score", "satisfaction_asked_at",
                       "customer_answered_at", "customer_answer", "minutes_late", "compensation_offer",
                       "compensation_amount", "resolution_type", "owner_user_id", "owner", "about_point",
                       "channel"):
            batch.drop_column(column)
