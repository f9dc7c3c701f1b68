"""crews, break windows and a plan's soft goals

Revision ID: 0120
Revises: 0110
Create Date: 2026-12-05 14:20:00

- jobs.crew_size (1..4): how many technicians the job needs on site together; job_helpers: the
  crew's helpers (the lead stays jobs.technician_id), booked for the job's slot;
- technicians.break_earliest / break_latest: the window the break floats in (both or neither);
- route_plans.balance_weight / wait_cost: soft goals the manager set for the plan;
- planned_stops: a crew job has one stop per member, so the key takes the technician and a stop
  says whether it is a helper's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0120"
down_revision = "0110"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("crew_size", sa.Integer(), nullable=False, server_default="1"))
        batch.create_check_constraint("crew_size_range", "crew_size BETWEEN 1 AND 4")
    op.create_table(
        "job_helpers",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("technician_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_helpers_job_id_jobs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["technician_id"], ["technicians.id"],
                                name=op.f("fk_job_helpers_technician_id_technicians")),
        sa.PrimaryKeyConstraint("job_id", "technician_id", name=op.f("pk_job_helpers")),
    )
    with op.batch_alter_table("job_helpers") as batch:
        batch.create_index(batch.f("ix_job_helpers_technician_id"), ["technician_id"], unique=False)
    with op.batch_alter_table("technicians") as batch:
        batch.add_column(sa.Column("break_earliest", sa.Time(), nullable=True))
        batch.add_column(sa.Column("break_latest", sa.Time(), nullable=True))
        batch.create_check_constraint(
            "break_window",
            "(break_earliest IS NULL AND break_latest IS NULL) OR "
            "(break_earliest IS NOT NULL AND break_latest IS NOT NULL AND break_earliest <= break_latest)",
        )
    with op.batch_alter_table("route_plans") as batch:
        batch.add_column(sa.Column("balance_weight", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("wait_cost", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("planned_stops") as batch:
        batch.add_column(sa.Column("helper", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.drop_constraint("pk_planned_stops", type_="primary")
        batch.create_primary_key("pk_planned_stops", ["plan_id", "job_id", "technician_id"])


def downgrade() -> None:
    op.execute("DELETE FROM planned_stops WHERE helper")
    with op.batch_alter_table("planned_stops") as batch:
        batch.drop_constraint("pk_planned_stops", type_="primary")
        batch.create_primary_key("pk_planned_stops", ["plan_id", "job_id"])
        batch.drop_column("helper")
    with op.batch_alter_table("route_plans") as batch:
        batch.drop_column("wait_cost")
        batch.drop_column("balance_weight")
    with op.batch_alter_table("technicians") as batch:
        batch.drop_constraint("break_window", type_="check")
        batch.drop_column("break_latest")
        batch.drop_column("break_earliest")
    with op.batch_alter_table("job_helpers") as batch:
        batch.drop_index(batch.f("ix_job_helpers_technician_id"))
    op.drop_table("job_helpers")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("crew_size_range", type_="check")
        batch.drop_column("crew_size")
