"""Corrective-action plans: HQ's findings and required actions for a flagged point, the point
manager's answer to each action with evidence, and the targeted re-audit's sample with its
verdicts. The plan's decision (close, extend, suspend, revoke) is a column of the plan; every
step is also an entry in the tamper-evident log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.audits import sampling
from dispatch.audits.sampling import LotDecision, Verdict
from dispatch.correction.enums import CorrectiveActionStatus, CorrectiveOutcome, CorrectivePlanStatus
from dispatch.db import Base, TimestampMixin, UuidPk, str_enum
from dispatch.network.models import ServicePoint


@dataclass(frozen=True)
class ReauditResult:
    """The re-audit so far: verdicts given, defects, and the decision its sampling plan makes."""

    judged: int
    defects: int
    critical: bool
    decision: LotDecision | None


class CorrectivePlan(UuidPk, TimestampMixin, Base):
    __tablename__ = "corrective_plans"

    service_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_points.id"), index=True)
    status: Mapped[CorrectivePlanStatus] = mapped_column(str_enum(CorrectivePlanStatus), default=CorrectivePlanStatus.OPEN, index=True)
    findings: Mapped[str] = mapped_column(Text)
    grounds: Mapped[list[Any]] = mapped_column(default=list)  # [{"code": "scorecard", "detail": {...}}]
    deadline: Mapped[date]  # last local day to correct; the re-audit samples work completed after it
    opened_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime]
    round: Mapped[int] = mapped_column(default=1)  # re-audit round (an extension starts the next)

    reaudit_seed: Mapped[str | None] = mapped_column(String(64))
    reaudit_frame_sha256: Mapped[str | None] = mapped_column(String(64))
    reaudit_drawn_at: Mapped[datetime | None]
    frame_size: Mapped[int | None]
    sample_size: Mapped[int | None]
    accept_number: Mapped[int | None]
    reject_number: Mapped[int | None]

    outcome: Mapped[CorrectiveOutcome | None] = mapped_column(str_enum(CorrectiveOutcome))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    successor_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"))
    version: Mapped[int] = mapped_column(default=1)

    service_point: Mapped[ServicePoint] = relationship(foreign_keys=[service_point_id], lazy="raise")
    actions: Mapped[list[CorrectiveAction]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="CorrectiveAction.seq", lazy="raise")
    items: Mapped[list[ReauditItem]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="[ReauditItem.round, ReauditItem.rank]",
        lazy="raise")

    __mapper_args__ = {"version_id_col": version}

    @property
    def current_items(self) -> list[ReauditItem]:
        return [i for i in self.items if i.round == self.round]

    @property
    def reaudit(self) -> ReauditResult | None:
        """None until drawn; then the ISO 2859-1 decision over the verdicts given so far."""
        if self.reaudit_drawn_at is None or self.frame_size is None:
            return None
        items = self.current_items
        verdicts = [i.verdict for i in items if i.verdict is not None]
        critical = Verdict.CRITICAL in verdicts
        decision = sampling.decide_lot(sampling.plan_for(self.frame_size), verdicts, critical_anywhere=critical,
                                       complete=len(verdicts) == len(items))
        return ReauditResult(len(verdicts), sum(1 for v in verdicts if v in sampling.DEFECTIVE), critical, decision)


class CorrectiveAction(UuidPk, Base):
    """One required action and the manager's answer to it."""

    __tablename__ = "corrective_actions"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("corrective_plans.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]
    requirement: Mapped[str] = mapped_column(Text)
    status: Mapped[CorrectiveActionStatus] = mapped_column(str_enum(CorrectiveActionStatus), default=CorrectiveActionStatus.OPEN)
    answer: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[Any]] = mapped_column(default=list)  # attachment ids (strings)
    answered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None]

    plan: Mapped[CorrectivePlan] = relationship(back_populates="actions", lazy="raise")

    __table_args__ = (UniqueConstraint("plan_id", "seq", name="corrective_action_seq"),)


class ReauditItem(Base):
    """A checklist of the targeted re-audit's sample and the reviewer's verdict on it."""

    __tablename__ = "corrective_reaudit_items"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("corrective_plans.id", ondelete="CASCADE"),
                                               primary_key=True)
    round: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklists.id"), primary_key=True)
    rank: Mapped[int]
    rank_key: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[Verdict | None] = mapped_column(str_enum(Verdict))
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    judged_at: Mapped[datetime | None]

    plan: Mapped[CorrectivePlan] = relationship(back_populates="items", lazy="raise")
