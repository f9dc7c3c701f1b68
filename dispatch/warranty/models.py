"""Tables of the warranty domain: the fault cause catalogue and each repair's cause, trade partners
(agents, dealers) and the dated journey of every serial."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, TimestampMixin, UuidPk, str_enum
from dispatch.network.models import ProductCategory, Unit
from dispatch.warranty.enums import FaultKind, JourneyFlag, JourneyKind, PartnerKind


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
