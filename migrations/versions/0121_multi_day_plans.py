"""multi-day route plans

Revision ID: 0121
Revises: 0120
Create Date: 2026-12-05 18:40:00

- route_plans.days (1..7): a plan covers ``service_day`` and the days after it, solved as one
  problem so a job whose window spans days goes on its best day;
- planned_routes.day / planned_stops.day: the day (0 = service_day) of a technician's route; a
  technician has one route per day of the plan, so the day joins the route's key (and the stop's
  reference to it). Times stay seconds since the local midnight of ``service_day``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0121"
down_revision = "0120"
branch_labels = None
depends_on = None

_STOPS_FK = "fk_planned_stops_plan_id_planned_routes"


def upgrade() -> None:
    with op.batch_alter_table("route_plans") as batch:
        batch.add_column(sa.Column("days", sa.Integer(), nullable=False, server_default="1"))
        batch.create_check_constraint("days_range", "days BETWEEN 1 AND 7")
    with op.batch_alter_table("planned_stops") as batch:
        batch.drop_constraint(_STOPS_FK, type_="foreignkey")
        batch.drop_index("ix_planned_stops_route_sequence")
        batch.add_column(sa.Column("day", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("planned_routes") as batch:
        batch.add_column(sa.Column("day", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("pk_planned_routes", type_="primary")
        batch.create_primary_key("pk_planned_routes", ["plan_id", "technician_id", "day"])
    with op.batch_alter_table("planned_stops") as batch:
        batch.create_index("ix_planned_stops_route_sequence", ["plan_id", "technician_id", "day", "sequence"],
                           unique=True)
        batch.create_foreign_key(_STOPS_FK, "planned_routes", ["plan_id", "technician_id", "day"],
                                 ["plan_id", "technician_id", "day"], ondelete="CASCADE")


def downgrade() -> None:
    op.execute("DELETE FROM route_plans WHERE days > 1")
    with op.batch_alter_table("planned_stops") as batch:
        batch.drop_constraint(_STOPS_FK, type_="foreignkey")
        batch.drop_index("ix_planned_stops_route_sequence")
        batch.drop_column("day")
    with op.batch_alter_table("planned_routes") as batch:
        batch.drop_constraint("pk_planned_routes", type_="primary")
        batch.create_primary_key("pk_planned_routes", ["plan_id", "technician_id"])
        batch.drop_column("day")
    with op.batch_alter_table("planned_stops") as batch:
        batch.create_index("ix_planned_stops_route_sequence", ["plan_id", "technician_id", "sequence"], unique=True)
        batch.create_foreign_key(_STOPS_FK, "planned_routes", ["plan_id", "technician_id"],
                                 ["plan_id", "technician_id"], ondelete="CASCADE")
    with op.batch_alter_table("route_plans") as batch:
        batch.drop_constraint("days_range", type_="check")
        batch.drop_column("days")
