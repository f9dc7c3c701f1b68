"""Route plans as stored: one row per planning run, its routes, timed stops and unplanned jobs.

Times of day are kept as the solver gives them (whole seconds since local midnight of the plan's
``service_day`` in the plan's ``timezone``); :meth:`RoutePlan.local_time` turns them into aware
datetimes. A plan is re-solved or re-optimised by *replacing* its rows, never by appending, so a
task that runs twice leaves the same rows behind.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, Float, ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, TimestampMixin, UuidPk, str_enum
from dispatch.jobs.models import Job
from dispatch.network.models import Technician
from dispatch.routing.enums import PlanStatus, ReplanStatus


class RoutePlan(UuidPk, TimestampMixin, Base):
    """One planning run for a service point and a day: the durable record the task works from."""

    __tablename__ = "route_plans"

    service_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_points.id"))
    service_day: Mapped[date]  # local day being planned
    timezone: Mapped[str] = mapped_column(String(64))  # the network's time zone when it was requested
    status: Mapped[PlanStatus] = mapped_column(str_enum(PlanStatus), default=PlanStatus.QUEUED, index=True)
    progress: Mapped[int] = mapped_column(default=0)  # percent, 0..100
    input_hash: Mapped[str] = mapped_column(String(64))  # fingerprint of the problem (last) solved
    time_limit_s: Mapped[int]
    seed: Mapped[int] = mapped_column(default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # Idempotent claiming: a run takes the plan with a conditional UPDATE and holds it until the
    # lease expires; ``attempts`` doubles as the fencing token checked before results are stored.
    attempts: Mapped[int] = mapped_column(default=0)
    lease_expires_at: Mapped[datetime | None]
    solve_started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None]
    applied_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    revision: Mapped[int] = mapped_column(default=0)  # bumped by every applied insertion
    insertions: Mapped[list[Any]] = mapped_column(default=list)  # what each insertion changed

    routes: Mapped[list[PlannedRoute]] = relationship(
        cascade="all, delete-orphan", order_by="PlannedRoute.position", lazy="raise"
    )
    unassigned: Mapped[list[UnassignedJob]] = relationship(
        cascade="all, delete-orphan", order_by="UnassignedJob.position", lazy="raise"
    )

    __table_args__ = (
        Index("ix_route_plans_point_day", "service_point_id", "service_day"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        CheckConstraint("time_limit_s > 0", name="time_limit_positive"),
    )

    def local_time(self, seconds: int | None) -> datetime | None:
        """Seconds since local midnight of the plan's day, as an aware local datetime."""
        if seconds is None:
            return None
        midnight = datetime(self.service_day.year, self.service_day.month, self.service_day.day,
                            tzinfo=ZoneInfo(self.timezone))
        return midnight + timedelta(seconds=seconds)

    def progress_at(self, now: datetime) -> int:
        """Progress shown to people: while solving, the share of the time limit used so far.

        The solver searches until its time limit, so elapsed time is an honest measure; the
        stored value marks the phases (claimed, solving, storing, done).
        """
        if self.status != PlanStatus.RUNNING or self.solve_started_at is None:
            return self.progress
        share = (now - self.solve_started_at).total_seconds() / self.time_limit_s
        return max(self.progress, min(90, 10 + int(80 * max(0.0, share))))


class PlannedRoute(Base):
    """One technician's day in a plan (possibly without stops: idle that day)."""

    __tablename__ = "planned_routes"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("route_plans.id", ondelete="CASCADE"), primary_key=True)
    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technicians.id"), primary_key=True)
    position: Mapped[int]  # order of the routes in the plan (colours on the map follow it)
    start_lat: Mapped[float] = mapped_column(Float)
    start_lon: Mapped[float] = mapped_column(Float)
    end_lat: Mapped[float] = mapped_column(Float)
    end_lon: Mapped[float] = mapped_column(Float)
    shift_start_s: Mapped[int]
    shift_end_s: Mapped[int]
    start_s: Mapped[int]  # leaves the start place
    end_s: Mapped[int]  # back at the end place
    distance_m: Mapped[int]  # whole route, including the way back
    travel_s: Mapped[int]
    break_start_s: Mapped[int | None]
    break_s: Mapped[int] = mapped_column(default=0)

    technician: Mapped[Technician] = relationship(lazy="raise")
    stops: Mapped[list[PlannedStop]] = relationship(
        cascade="all, delete-orphan", order_by="PlannedStop.sequence", lazy="raise"
    )


class PlannedStop(Base):
    """A job in a route: order, times (seconds since local midnight) and the leg that leads to it."""

    __tablename__ = "planned_stops"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), primary_key=True, index=True)
    technician_id: Mapped[uuid.UUID]
    sequence: Mapped[int]  # 1, 2, 3... within the route
    arrival_s: Mapped[int]
    start_s: Mapped[int]
    finish_s: Mapped[int]
    travel_s: Mapped[int]  # leg from the previous stop (or the start place)
    distance_m: Mapped[int]
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    job_version: Mapped[int]  # Job.version the plan was made from (apply refuses if it moved on)
    pinned: Mapped[bool] = mapped_column(default=False)  # under way or locked by the manager

    job: Mapped[Job] = relationship(lazy="raise")

    __table_args__ = (
        ForeignKeyConstraint(
            ["plan_id", "technician_id"], ["planned_routes.plan_id", "planned_routes.technician_id"],
            ondelete="CASCADE",
        ),
        Index("ix_planned_stops_route_sequence", "plan_id", "technician_id", "sequence", unique=True),
    )


class UnassignedJob(Base):
    """A job of the day the plan leaves out, with a stable reason code and a sentence for people."""

    __tablename__ = "plan_unassigned_jobs"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("route_plans.id", ondelete="CASCADE"), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), primary_key=True, index=True)
    position: Mapped[int]
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    job_version: Mapped[int]

    job: Mapped[Job] = relationship(lazy="raise")


class Replan(UuidPk, TimestampMixin, Base):
    """A proposed re-plan of the rest of a point's day after something went wrong (issue 19):
    nothing of it is applied until the manager confirms it."""

    __tablename__ = "replans"

    service_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_points.id"), index=True)
    service_day: Mapped[date]
    timezone: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"))
    extra_minutes: Mapped[int | None]
    status: Mapped[ReplanStatus] = mapped_column(str_enum(ReplanStatus), default=ReplanStatus.PROPOSED)
    moves: Mapped[list[Any]] = mapped_column(default=list)  # job, from/to technician and start
    flagged: Mapped[list[Any]] = mapped_column(default=list)  # job, reason, detail
    versions: Mapped[dict[str, Any]] = mapped_column(default=dict)  # job id -> Job.version proposed from
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
