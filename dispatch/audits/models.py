"""HQ spot-checks of completed SOP checklists: weekly lots per service point, the audits drawn
from them (statistical sample and targeted reviews), reviewers' verdicts (append-only), the
point manager's disputes and their adjudication.

The lot's ``seed`` is secret until the lot freezes: only its SHA-256 (``seed_commitment``) is
published (in the tamper-evident log) when the lot opens. The API never shows the seed of an
open lot.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.audits.enums import AuditKind, AuditStatus, DisputeStatus, FindingCode, LotStatus, VerdictKind  # noqa: F401
from dispatch.audits.sampling import LotDecision, Verdict
from dispatch.db import Base, TimestampMixin, UuidPk, str_enum
from dispatch.network.models import ServicePoint
from dispatch.sop.models import Checklist


class AuditLot(UuidPk, TimestampMixin, Base):
    """The checklists one point completed in one ISO week (local time)."""

    __tablename__ = "audit_lots"

    service_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_points.id"), index=True)
    iso_year: Mapped[int]
    iso_week: Mapped[int]
    starts_at: Mapped[datetime]  # Monday 00:00 local
    ends_at: Mapped[datetime]
    freezes_at: Mapped[datetime] = mapped_column(index=True)  # ends_at + 48 h
    status: Mapped[LotStatus] = mapped_column(str_enum(LotStatus), default=LotStatus.OPEN, index=True)

    seed_commitment: Mapped[str] = mapped_column(String(64))  # SHA-256 of the seed, logged at opening
    seed: Mapped[str] = mapped_column(String(64))  # 32 random bytes, hex; secret until frozen
    opened_at: Mapped[datetime]
    commitment_log_seq: Mapped[int] = mapped_column(BigInteger)

    frozen_at: Mapped[datetime | None]
    frame: Mapped[list[Any] | None]  # sorted checklist ids at the freeze
    frame_sha256: Mapped[str | None] = mapped_column(String(64))
    frame_log_seq: Mapped[int | None] = mapped_column(BigInteger)

    inspection_level: Mapped[str] = mapped_column(String(3), default="II")
    aql: Mapped[str] = mapped_column(String(8), default="2.5")
    code_letter: Mapped[str | None] = mapped_column(String(1))
    plan_letter: Mapped[str | None] = mapped_column(String(1))
    sample_size: Mapped[int | None]
    accept_number: Mapped[int | None]
    reject_number: Mapped[int | None]

    decision: Mapped[LotDecision | None] = mapped_column(str_enum(LotDecision))
    decided_at: Mapped[datetime | None]
    defects: Mapped[int | None]  # d: defective checklists in the statistical sample at the decision
    critical_found: Mapped[bool] = mapped_column(default=False)

    service_point: Mapped[ServicePoint] = relationship(lazy="raise")
    items: Mapped[list[AuditLotItem]] = relationship(back_populates="lot", lazy="raise",
                                                     order_by="AuditLotItem.checklist_id")
    audits: Mapped[list[Audit]] = relationship(back_populates="lot", lazy="raise", order_by="Audit.sampled_at")

    __table_args__ = (
        UniqueConstraint("service_point_id", "iso_year", "iso_week", name="audit_lot_week"),
        CheckConstraint("iso_week BETWEEN 1 AND 53", name="iso_week_range"),
    )

    @property
    def label(self) -> str:
        return f"{self.iso_year}-W{self.iso_week:02d}"

    @property
    def revealed(self) -> bool:
        return self.status != LotStatus.OPEN


class AuditLotItem(Base):
    """Membership of a completed checklist in exactly one lot (late syncs land in a later lot)."""

    __tablename__ = "audit_lot_items"

    checklist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklists.id", ondelete="CASCADE"),
                                                    primary_key=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_lots.id", ondelete="CASCADE"), index=True)
    completed_week: Mapped[str] = mapped_column(String(8))  # ISO week of the job's completion, "2026-W47"
    received_at: Mapped[datetime]  # server time the completion reached us
    late_sync: Mapped[bool] = mapped_column(default=False)
    added_at: Mapped[datetime]

    lot: Mapped[AuditLot] = relationship(back_populates="items", lazy="raise")
    checklist: Mapped[Checklist] = relationship(lazy="raise")


class Audit(UuidPk, TimestampMixin, Base):
    """One checklist under review. ``verdict`` mirrors the newest verdict row (the rows are the
    record; this column serves queues and scores)."""

    __tablename__ = "audits"

    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_lots.id"), index=True)
    checklist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklists.id"), unique=True)
    service_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_points.id"), index=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), index=True)
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"), index=True)
    kind: Mapped[AuditKind] = mapped_column(str_enum(AuditKind))
    rank: Mapped[int | None]  # position in the lot's HMAC ranking (statistical)
    rank_key: Mapped[str | None] = mapped_column(String(64))
    triggers: Mapped[list[Any]] = mapped_column(default=list)  # [{"code": ..., "detail": {...}}]
    status: Mapped[AuditStatus] = mapped_column(str_enum(AuditStatus), default=AuditStatus.OPEN)
    sampled_at: Mapped[datetime]
    verdict: Mapped[Verdict | None] = mapped_column(str_enum(Verdict))
    verdict_at: Mapped[datetime | None]
    dispute_until: Mapped[datetime | None]
    final_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    lot: Mapped[AuditLot] = relationship(back_populates="audits", lazy="raise")
    checklist: Mapped[Checklist] = relationship(lazy="raise")
    verdicts: Mapped[list[AuditVerdict]] = relationship(back_populates="audit", lazy="raise",
                                                         order_by="AuditVerdict.seq")
    dispute: Mapped[AuditDispute | None] = relationship(back_populates="audit", lazy="raise")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_audits_queue", "status", "sampled_at"),
        CheckConstraint("kind <> 'statistical' OR rank_key IS NOT NULL", name="statistical_has_key"),
    )

    @property
    def current_verdict(self) -> AuditVerdict | None:
        return self.verdicts[-1] if self.verdicts else None


class AuditVerdict(UuidPk, Base):
    """A verdict. Never updated: a correction or an amending adjudication is a new row that
    supersedes the previous one (``supersedes_id`` is unique, so the history is a chain)."""

    __tablename__ = "audit_verdicts"

    audit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audits.id"), index=True)
    seq: Mapped[int]  # 1, 2, 3... per audit
    kind: Mapped[VerdictKind] = mapped_column(str_enum(VerdictKind))
    verdict: Mapped[Verdict] = mapped_column(str_enum(Verdict))
    findings: Mapped[list[Any]] = mapped_column(default=list)  # [{"step_key", "code", "note"}]
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("audit_verdicts.id"), unique=True)
    created_at: Mapped[datetime]
    log_seq: Mapped[int] = mapped_column(BigInteger)  # its entry in the tamper-evident log

    audit: Mapped[Audit] = relationship(back_populates="verdicts", lazy="raise")

    __table_args__ = (UniqueConstraint("audit_id", "seq", name="audit_verdict_seq"),)


class AuditDispute(UuidPk, Base):
    """The point manager's objection to a verdict; a second reviewer settles it."""

    __tablename__ = "audit_disputes"

    audit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audits.id"), unique=True)
    verdict_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_verdicts.id"))
    raised_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime]
    status: Mapped[DisputeStatus] = mapped_column(str_enum(DisputeStatus), default=DisputeStatus.OPEN)
    adjudicator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    adjudicated_at: Mapped[datetime | None]
    resolution: Mapped[str] = mapped_column(Text, default="")
    resulting_verdict_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("audit_verdicts.id"))

    audit: Mapped[Audit] = relationship(back_populates="dispute", lazy="raise")
