"""Monthly evaluations of service points: the rank and score the month's KPIs gave the point,
frozen when HQ evaluates, and the reward or penalty HQ decided."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, UuidPk, str_enum
from dispatch.kpis.enums import Incentive
from dispatch.network.models import ServicePoint


class PointEvaluation(UuidPk, Base):
    __tablename__ = "point_evaluations"

    service_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_points.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # "2026-11"
    rank: Mapped[int]
    ranked_points: Mapped[int]
    score: Mapped[float | None] = mapped_column(Float)
    kpis: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the month's figures as evaluated
    incentive: Mapped[Incentive] = mapped_column(str_enum(Incentive))
    amount: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]

    service_point: Mapped[ServicePoint] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("service_point_id", "month", name="point_evaluation_month"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )
