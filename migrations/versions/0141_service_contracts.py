"""warranty: service contracts (annual service packages, extended warranties) and bills they pay

Revision ID: 0141
Revises: 0140
Create Date: 2026-12-05 18:40:00

Contracts sold per unit with the parts they include, the jobs billed to them, and the stock
domain's bill covers (a third party paying a job's labour and parts).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0141"
down_revision = "0140"
branch_labels = None
depends_on = None

UTC = dispatch.db.UtcDateTime(timezone=True)


def _fk(table: str, column: str, referred: str, **kw) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"], name=op.f(f"fk_{table}_{column}_{referred}"), **kw)


def upgrade() -> None:
    op.create_table(
        "bill_covers",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("payer", sa.String(length=64), nullable=False),
        sa.Column("labour", sa.Boolean(), nullable=False),
        sa.Column("parts", dispatch.db.JsonDoc, nullable=False),
        sa.Column("warranty_parts", sa.Boolean(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        _fk("bill_covers", "job_id", "jobs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_bill_covers")),
    )
    op.create_table(
        "service_contracts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("service_point_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.Enum("annual_service", "extended_warranty", name="contractkind", native_enum=False,
                                  length=32), nullable=False),
        sa.Column("status", sa.Enum("active", "cancelled", name="contractstatus", native_enum=False, length=32),
                  nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("included_visits", sa.Integer(), nullable=False),
        sa.Column("visits_used", sa.Integer(), nullable=False),
        sa.Column("sold_by", sa.Uuid(), nullable=True),
        sa.Column("sold_at", UTC, nullable=False),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_service_contracts_period_ordered")),
        sa.CheckConstraint("included_visits >= 0 AND visits_used >= 0",
                           name=op.f("ck_service_contracts_visits_not_negative")),
        _fk("service_contracts", "unit_id", "units"),
        _fk("service_contracts", "customer_id", "customers"),
        _fk("service_contracts", "service_point_id", "service_points"),
        _fk("service_contracts", "sold_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_contracts")),
        sa.UniqueConstraint("reference", name=op.f("uq_service_contracts_reference")),
    )
    with op.batch_alter_table("service_contracts") as batch:
        batch.create_index(batch.f("ix_service_contracts_unit_id"), ["unit_id"], unique=False)
        batch.create_index(batch.f("ix_service_contracts_service_point_id"), ["service_point_id"], unique=False)
        batch.create_index(batch.f("ix_service_contracts_status"), ["status"], unique=False)
        batch.create_index(batch.f("ix_service_contracts_ends_on"), ["ends_on"], unique=False)
    op.create_table(
        "contract_parts",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("part_id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        _fk("contract_parts", "contract_id", "service_contracts", ondelete="CASCADE"),
        _fk("contract_parts", "part_id", "parts"),
        sa.PrimaryKeyConstraint("contract_id", "part_id", name=op.f("pk_contract_parts")),
    )
    op.create_table(
        "contract_jobs",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("booked", sa.Boolean(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        _fk("contract_jobs", "job_id", "jobs", ondelete="CASCADE"),
        _fk("contract_jobs", "contract_id", "service_contracts"),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_contract_jobs")),
    )
    with op.batch_alter_table("contract_jobs") as batch:
        batch.create_index(batch.f("ix_contract_jobs_contract_id"), ["contract_id"], unique=False)


def downgrade() -> None:
    op.drop_table("contract_jobs")
    op.drop_table("contract_parts")
    op.drop_table("service_contracts")
    op.drop_table("bill_covers")
