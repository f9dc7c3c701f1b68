"""integrations: import runs of every shape (customers, parts, technicians), XLSX files, and the
service point a manager's run belongs to

Revision ID: 0180
Revises: 0172
Create Date: 2026-12-05 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0180"
down_revision = "0172"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_runs") as batch:
        batch.add_column(sa.Column("file_format", sa.String(length=32), nullable=False, server_default="csv"))
        batch.add_column(sa.Column("raw", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("service_point_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(op.f("fk_import_runs_service_point_id_service_points"), "service_points",
                                 ["service_point_id"], ["id"])
        batch.create_index(op.f("ix_import_runs_service_point_id"), ["service_point_id"])


def downgrade() -> None:
    with op.batch_alter_table("import_runs") as batch:
        batch.drop_index(op.f("ix_import_runs_service_point_id"))
        batch.drop_constraint(op.f("fk_import_runs_service_point_id_service_points"), type_="foreignkey")
        batch.drop_column("service_point_id")
        batch.drop_column("raw")
        batch.drop_column("file_format")
