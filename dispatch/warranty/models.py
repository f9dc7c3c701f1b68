"""Tables of the warranty domain: the fault cause catalogue and each repair's cause, trade partners
(agents, dealers) and the dated journey of every serial, 三包 periods, requests and suggestions,
and the service contracts sold per unit."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, TimestampMixin, UuidPk, str_enum
from dispatch.network.models import Customer, ProductCategory, Unit
from dispatch.warranty.enums import (
    ContractKind,
    ContractStatus,
    FaultKind,
    JourneyFlag,
    JourneyKind,
    PartnerKind,
    RecallStatus,
    RemedyKind,
    RemedyStatus,
)


class FaultCause(UuidPk, TimestampMixin, Base):
    """One entry of HQ's catalogue: for a product category, a component, the symptom seen and the
    cause found, and whether that is a product defect or misuse / an outside cause."""

    __tablename__ = "fault_causes"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory), index=True)
    component: Mapped[str] = mapped_column(String(120))
    symptom: Mapped[str] = mapped_column(String(200))
    cause: Mapped[str] = mapped_column(String(200))
    kind: Mapped[FaultKind] = mapped_column(str_enum(FaultKind))
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)


class JobFaultCause(Base):
    """The fault cause a repair found (one per job; replaced until the job completes). The job's
    warranty coverage at intake is kept so that a misuse finding can be taken back."""

    __tablename__ = "job_fault_causes"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    fault_cause_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fault_causes.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    intake_labour_covered: Mapped[bool | None]
    intake_parts_covered: Mapped[bool | None]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None]  # the device's clock
    at: Mapped[datetime]  # server time

    fault_cause: Mapped[FaultCause] = relationship(lazy="joined")


class TradePartner(UuidPk, TimestampMixin, Base):
    """An agent or a dealer: the trade channel a serial travels through to its buyer."""

    __tablename__ = "trade_partners"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PartnerKind] = mapped_column(str_enum(PartnerKind))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trade_partners.id"))  # a dealer's agent
    region_code: Mapped[str] = mapped_column(String(32), default="")
    version: Mapped[int] = mapped_column(default=1)


class JourneyEvent(UuidPk, Base):
    """One dated step of a serial's journey: factory → agent → dealer → activation."""

    __tablename__ = "unit_journey_events"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[JourneyKind] = mapped_column(str_enum(JourneyKind))
    partner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("trade_partners.id"), index=True)
    on: Mapped[date]
    flag: Mapped[JourneyFlag | None] = mapped_column(str_enum(JourneyFlag), index=True)
    flag_detail: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str] = mapped_column(String(120), default="")  # e.g. the shipping note
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]

    partner: Mapped[TradePartner | None] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship()

    __table_args__ = (UniqueConstraint("unit_id", "kind", "partner_id", "on", name="journey_step"),)


class StatutoryPeriods(Base):
    """HQ's 三包 periods for a product category, in days from the purchase: within ``refund_days`` a
    defect may be refunded or the unit replaced, within ``replace_days`` replaced; after that it is
    repaired (a replacement only when the same fault came back, see :class:`ReplacementSuggestion`)."""

    __tablename__ = "statutory_periods"

    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory), primary_key=True)
    refund_days: Mapped[int]
    replace_days: Mapped[int]
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (CheckConstraint("refund_days >= 0 AND replace_days >= refund_days", name="periods_ordered"),)


class RemedyRequest(UuidPk, Base):
    """A point's request to refund or replace a unit (三包), with the fault cause and photo evidence;
    HQ decides. An approval closes the unit's warranty, expects the unit back at HQ and, for a
    replacement, binds the new unit to the customer with the remaining warranty."""

    __tablename__ = "remedy_requests"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    kind: Mapped[RemedyKind] = mapped_column(str_enum(RemedyKind))
    status: Mapped[RemedyStatus] = mapped_column(str_enum(RemedyStatus), index=True)
    fault_cause_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fault_causes.id"))
    evidence: Mapped[list[Any]]  # attachment ids (photos of the fault)
    note: Mapped[str] = mapped_column(Text, default="")
    days_since_purchase: Mapped[int]
    grounds: Mapped[str] = mapped_column(String(32))  # refund_period | replace_period | repeat_fault
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    replacement_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    unit_return_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("unit_returns.id"))
    version: Mapped[int] = mapped_column(default=1)

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], lazy="joined")
    replacement_unit: Mapped[Unit | None] = relationship(foreign_keys=[replacement_unit_id], lazy="joined")
    fault_cause: Mapped[FaultCause] = relationship(lazy="joined")
    customer: Mapped[Customer] = relationship()


class ReplacementSuggestion(UuidPk, Base):
    """The same defect repaired a second time on a unit within its warranty: HQ is told that the
    unit should rather be replaced (and a replace request is allowed after the replace period)."""

    __tablename__ = "replacement_suggestions"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    fault_cause_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fault_causes.id"))
    first_job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"))
    second_job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"))
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    at: Mapped[datetime]

    unit: Mapped[Unit] = relationship(lazy="joined")
    fault_cause: Mapped[FaultCause] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("unit_id", "fault_cause_id", name="one_suggestion_per_fault"),)


class ServiceContract(UuidPk, Base):
    """A service contract sold for one unit: an annual service package (包年: ``included_visits``
    visits and the parts listed) or an extended warranty (repair labour and warranty parts after the
    factory warranty). Jobs of the unit inside the period are billed to it, not to the customer."""

    __tablename__ = "service_contracts"

    reference: Mapped[str] = mapped_column(String(32), unique=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    kind: Mapped[ContractKind] = mapped_column(str_enum(ContractKind))
    status: Mapped[ContractStatus] = mapped_column(str_enum(ContractStatus), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date] = mapped_column(index=True)
    price: Mapped[Decimal]
    included_visits: Mapped[int]  # annual service: visits (labour) included; extended warranty: 0 = unlimited
    visits_used: Mapped[int] = mapped_column(default=0)
    sold_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    sold_at: Mapped[datetime]
    reminded_on: Mapped[date | None]  # the expiry reminder was queued that day
    cancelled_on: Mapped[date | None]  # local date; the refund is what was owed back that day
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    refund: Mapped[Decimal | None]
    version: Mapped[int] = mapped_column(default=1)

    unit: Mapped[Unit] = relationship(lazy="joined")
    parts: Mapped[list[ContractPart]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                     order_by="ContractPart.part_id")

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="period_ordered"),
                      CheckConstraint("included_visits >= 0 AND visits_used >= 0", name="visits_not_negative"))


class ContractPart(Base):
    """A part an annual service package includes, and how many were fitted under it so far."""

    __tablename__ = "contract_parts"

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_contracts.id", ondelete="CASCADE"),
                                                   primary_key=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    used: Mapped[int] = mapped_column(default=0)


class ContractJob(Base):
    """A job billed to a contract, and what it used of it once completed."""

    __tablename__ = "contract_jobs"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_contracts.id"), index=True)
    booked: Mapped[bool] = mapped_column(default=False)  # the visit and parts were counted (job completed)
    at: Mapped[datetime]


class RecallCampaign(UuidPk, Base):
    """HQ's recall of a part: over a serial range, or a model made within a date range; a background
    task opens a job per affected activated unit (idempotently, in batches) and counts its progress."""

    __tablename__ = "recall_campaigns"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    part_sku: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"))
    serial_from: Mapped[str | None] = mapped_column(String(64))
    serial_to: Mapped[str | None] = mapped_column(String(64))
    made_from: Mapped[date | None]
    made_to: Mapped[date | None]
    status: Mapped[RecallStatus] = mapped_column(str_enum(RecallStatus), index=True)
    total: Mapped[int] = mapped_column(default=0)  # affected activated units when launched
    processed: Mapped[int] = mapped_column(default=0)
    opened: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    launched_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)


class RecallUnit(Base):
    """One affected unit of a campaign: claimed once (the task's idempotency), with its job, or why not."""

    __tablename__ = "recall_units"

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recall_campaigns.id", ondelete="CASCADE"),
                                                   primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), primary_key=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"))
    failure: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]
