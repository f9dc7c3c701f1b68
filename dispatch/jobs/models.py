"""The job (field work order), its event history, and the SLA targets table."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint, and_, case
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch import clock
from dispatch.db import Base, TimestampMixin, UuidPk, str_enum
from dispatch.jobs import rules
from dispatch.jobs.enums import DispatchReason, EventKind, WarrantyDecision
from dispatch.network.models import (
    Customer,
    CustomerGrade,
    JobType,
    Product,
    Region,
    ServicePoint,
    Technician,
    Unit,
)


# The enums live with the pure lifecycle rules (dispatch.jobs.rules) and are re-exported here.
JobStatus = rules.JobStatus
Priority = rules.Priority
SlaStatus = rules.SlaStatus


class Job(UuidPk, TimestampMixin, Base):
    __tablename__ = "jobs"

    reference: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[JobType] = mapped_column(str_enum(JobType), index=True)
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus), default=JobStatus.NEW, index=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.NORMAL)

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"), index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"), index=True)
    region_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("regions.id"))

    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")

    dispatch_reason: Mapped[DispatchReason | None] = mapped_column(str_enum(DispatchReason))
    out_of_area: Mapped[bool] = mapped_column(default=False)
    dispatch_distance_km: Mapped[float | None] = mapped_column(Float)

    reported_at: Mapped[datetime]
    window_start: Mapped[datetime | None]  # the customer's requested window
    window_end: Mapped[datetime | None]
    scheduled_start: Mapped[datetime | None] = mapped_column(index=True)
    scheduled_end: Mapped[datetime | None]
    duration_minutes: Mapped[int] = mapped_column(default=60)  # standard on-site time
    locked: Mapped[bool] = mapped_column(default=False)  # the manager pinned technician and slot

    sla_due_at: Mapped[datetime | None]  # technician on site by then
    sla_at_risk_at: Mapped[datetime | None]  # from then on, not yet on site = at risk
    sla_target_hours: Mapped[int | None]
    # First on_site: the device's time, trusted only between the previous event and the server's now.
    arrived_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]  # stops the SLA clock of a job that never got a visit

    warranty_decision: Mapped[WarrantyDecision | None] = mapped_column(str_enum(WarrantyDecision))
    labour_covered: Mapped[bool | None]
    parts_covered: Mapped[bool | None]
    warranty_until: Mapped[date | None]  # last day of the warranty at the reported date

    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    customer: Mapped[Customer] = relationship()
    unit: Mapped[Unit | None] = relationship()
    product: Mapped[Product] = relationship()
    service_point: Mapped[ServicePoint | None] = relationship()
    technician: Mapped[Technician | None] = relationship()
    region: Mapped[Region | None] = relationship()
    events: Mapped[list[JobEvent]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="JobEvent.seq"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def sla_status(self) -> SlaStatus | None:
        """ok / at_risk / breached right now (None when no SLA target applied at intake)."""
        return rules.sla_status(self.sla_times(), clock.utcnow())

    def sla_times(self) -> rules.SlaTimes:
        return rules.SlaTimes(due_at=self.sla_due_at, at_risk_at=self.sla_at_risk_at,
                              arrived_at=self.arrived_at, cancelled_at=self.cancelled_at,
                              scheduled_start=self.scheduled_start)

    __table_args__ = (
        CheckConstraint("window_end IS NULL OR window_start IS NULL OR window_end > window_start", name="window_order"),
        CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name="lat_range"),
        CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name="lon_range"),
    )


class JobEvent(UuidPk, Base):
    """Everything that happened to a job: who, server time, device time and place."""

    __tablename__ = "job_events"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]  # 1, 2, 3... per job
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    from_status: Mapped[JobStatus | None] = mapped_column(str_enum(JobStatus))
    to_status: Mapped[JobStatus | None] = mapped_column(str_enum(JobStatus))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]  # server time
    recorded_at: Mapped[datetime | None]  # the device's clock
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    job: Mapped[Job] = relationship(back_populates="events")

    __table_args__ = (UniqueConstraint("job_id", "seq", name="job_event_seq"),)

    @hybrid_property
    def moment(self) -> datetime:
        """When it happened as far as the server trusts it (:func:`rules.event_moment`): the
        device's time, unless that is after the server received the event."""
        return rules.event_moment(self.at, self.recorded_at)

    @moment.inplace.expression
    @classmethod
    def _moment_expression(cls):
        return case((and_(cls.recorded_at.is_not(None), cls.recorded_at < cls.at), cls.recorded_at), else_=cls.at)


class SlaTarget(UuidPk, Base):
    """On-site deadline in hours after intake, by job type, priority and customer grade."""

    __tablename__ = "sla_targets"

    job_type: Mapped[JobType] = mapped_column(str_enum(JobType))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    customer_grade: Mapped[CustomerGrade] = mapped_column(str_enum(CustomerGrade))
    hours: Mapped[int]
    at_risk_hours: Mapped[int] = mapped_column(default=4)  # at_risk within this many hours of the due time
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("job_type", "priority", "customer_grade", name="sla_target_key"),
        CheckConstraint("hours > 0", name="hours_positive"),
        CheckConstraint("at_risk_hours >= 0 AND at_risk_hours < hours", name="at_risk_before_due"),
    )
