"""After-sales care: maintenance plans, the notification outbox, customer ratings and callbacks,
complaints with their handling deadlines."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.care.enums import (
    Channel,
    NotificationStatus,
    RatingSource,
    CallbackOutcome,
    CallbackItemStatus,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintOwner,
    ComplaintStatus,
    CustomerAnswer,
    ResolutionType,
)
from dispatch.clock import utcnow
from dispatch.db import Base, Money, TimestampMixin, UuidPk, str_enum
from dispatch.jobs.models import Job  # noqa: F401 - the relationships below name it
from dispatch.network.models import Unit

# --- maintenance plans ------------------------------------------------------------------------


class MaintenancePlan(UuidPk, TimestampMixin, Base):
    """The maintenance rhythm of one activated unit (filters, anode, descaling)."""

    __tablename__ = "maintenance_plans"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), unique=True)
    interval_days: Mapped[int]  # from the model at creation; HQ or the point may tune it per unit
    next_due_on: Mapped[date] = mapped_column(index=True)  # local date
    last_done_on: Mapped[date | None]  # local date of the last completed maintenance
    # The point that served the last maintenance job of the plan (scopes the plan for managers).
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    unit: Mapped[Unit] = relationship(lazy="raise")
    occurrences: Mapped[list[MaintenanceOccurrence]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="MaintenanceOccurrence.due_on", lazy="raise"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (CheckConstraint("interval_days > 0", name="interval_positive"),)


class MaintenanceOccurrence(UuidPk, Base):
    """One due date of a plan and the maintenance job created for it.

    The unique (plan, due date) pair is what makes job generation idempotent: a second run, or a
    concurrent one, cannot claim the same due date twice.
    """

    __tablename__ = "maintenance_occurrences"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("maintenance_plans.id", ondelete="CASCADE"))
    due_on: Mapped[date]
    # Set in the transaction that claims the due date (the claim row is inserted first).
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    plan: Mapped[MaintenancePlan] = relationship(back_populates="occurrences", lazy="raise")

    __table_args__ = (UniqueConstraint("plan_id", "due_on", name="plan_due_on"),)


# --- notifications ----------------------------------------------------------------------------


class Notification(UuidPk, TimestampMixin, Base):
    """One outgoing message in the outbox, written in the transaction of the event that causes it."""

    __tablename__ = "notifications"

    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    recipient: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    # The provider's id of the sent message (an SMS gateway's), which its delivery receipts name.
    provider_message_id: Mapped[str | None] = mapped_column(String(100), index=True)

    __table_args__ = (
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notifications_status_updated_at", "status", "updated_at"),  # the retention's
        # One pending message per job and purpose (template) and channel: a newer one supersedes.
        Index("uq_notifications_pending_purpose", "job_id", "template", "channel", unique=True,
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
    )


class DeliveryReceipt(UuidPk, Base):
    """What the provider later reported about a sent message (delivered, undeliverable...)."""

    __tablename__ = "delivery_receipts"

    notification_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL"), index=True)
    provider_message_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(32))  # the provider's word: delivered, failed, ...
    error_code: Mapped[str | None] = mapped_column(String(64))
    reported_at: Mapped[datetime | None]  # the provider's clock
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- ratings and callbacks --------------------------------------------------------------------


class Rating(UuidPk, Base):
    """The customer's 1-5 verdict on a completed job; one per job."""

    __tablename__ = "ratings"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[RatingSource] = mapped_column(str_enum(RatingSource))
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    job: Mapped[Job] = relationship(lazy="raise")

    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)


class Callback(UuidPk, Base):
    """A follow-up call by the call centre after a job."""

    __tablename__ = "callbacks"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[CallbackOutcome] = mapped_column(str_enum(CallbackOutcome))
    satisfied: Mapped[bool | None]  # the customer's answer to "was the problem solved?"
    score: Mapped[int | None]  # a score given on the phone (also recorded as the job's rating)
    comment: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("score IS NULL OR score BETWEEN 1 AND 5", name="score_range"),)


class CallbackItem(UuidPk, Base):
    """A callback (回访) the point owes a customer, on the point's worklist: opened by a rating of
    2 or less, due within a deadline, done when a call reaches the customer."""

    __tablename__ = "callback_items"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    rating_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ratings.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(32))  # "low_rating"
    score: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CallbackItemStatus] = mapped_column(str_enum(CallbackItemStatus), default=CallbackItemStatus.OPEN)
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)  # calls made about it so far
    closed_at: Mapped[datetime | None]
    callback_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("callbacks.id"))

    job: Mapped[Job] = relationship(lazy="raise")

    __table_args__ = (UniqueConstraint("job_id", "reason", name="job_reason"),)


# --- complaints -------------------------------------------------------------------------------


class Complaint(UuidPk, TimestampMixin, Base):
    __tablename__ = "complaints"

    reference: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[ComplaintCategory] = mapped_column(str_enum(ComplaintCategory), index=True)
    status: Mapped[ComplaintStatus] = mapped_column(
        str_enum(ComplaintStatus), default=ComplaintStatus.RECEIVED, index=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    summary: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)  # resolved by then, or it is escalated to HQ
    escalated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[ComplaintChannel] = mapped_column(str_enum(ComplaintChannel), default=ComplaintChannel.PHONE)
    about_point: Mapped[bool] = mapped_column(default=False)  # the complaint is about the point itself
    owner: Mapped[ComplaintOwner] = mapped_column(str_enum(ComplaintOwner), default=ComplaintOwner.HQ, index=True)
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))  # the point's manager
    resolution_type: Mapped[ResolutionType | None] = mapped_column(str_enum(ResolutionType))
    compensation_amount: Mapped[Decimal | None] = mapped_column(Money)  # refund or compensation proposed
    # What HQ's rule offers for a linked visit that was late against its SLA (set at intake).
    compensation_offer: Mapped[Decimal | None] = mapped_column(Money)
    minutes_late: Mapped[int | None]
    customer_answer: Mapped[CustomerAnswer | None] = mapped_column(str_enum(CustomerAnswer))
    customer_answered_at: Mapped[datetime | None]
    satisfaction_asked_at: Mapped[datetime | None]
    satisfaction_score: Mapped[int | None]
    satisfaction_comment: Mapped[str] = mapped_column(Text, default="")
    satisfaction_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan", order_by="ComplaintEvent.at", lazy="raise"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("satisfaction_score IS NULL OR satisfaction_score BETWEEN 1 AND 5",
                        name="satisfaction_range"),
        CheckConstraint("compensation_amount IS NULL OR compensation_amount > 0", name="compensation_positive"),
    )


class ComplaintEvent(UuidPk, Base):
    """What happened to a complaint: status moves, reclassification, escalation."""

    __tablename__ = "complaint_events"

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # "received", "transition", "escalated"
    from_status: Mapped[ComplaintStatus | None] = mapped_column(str_enum(ComplaintStatus))
    to_status: Mapped[ComplaintStatus | None] = mapped_column(str_enum(ComplaintStatus))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class ComplaintDeadline(Base):
    """How many hours HQ gives each category of complaint to be resolved."""

    __tablename__ = "complaint_deadlines"

    category: Mapped[ComplaintCategory] = mapped_column(str_enum(ComplaintCategory), primary_key=True)
    resolve_within_hours: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (CheckConstraint("resolve_within_hours > 0", name="hours_positive"),)


class CompensationTier(Base):
    """HQ's rule for a visit late against its SLA: from this many minutes late, this amount is
    offered to a customer who complains about the visit (the highest tier reached applies)."""

    __tablename__ = "compensation_tiers"

    min_minutes_late: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (CheckConstraint("min_minutes_late > 0", name="minutes_positive"),
                      CheckConstraint("amount > 0", name="amount_positive"))
