"""One row per thing to do: kept by the refresh task, closed by a person's outcome."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.clock import utcnow
from dispatch.db import Base, UuidPk, str_enum
from dispatch.worklists.enums import WorklistKind, WorklistOutcome, WorklistQueue, WorklistStatus


class WorklistItem(UuidPk, Base):
    """A callback, reminder call, certificate renewal, complaint deadline or old-part return owed.

    ``(kind, subject_id, cycle)`` is unique: the refresh task can run any number of times (or
    twice at once) and opens each item once; ``cycle`` names the occasion (the due date of a
    plan, a certificate's expiry, a complaint's time limit), so the next occasion opens a new item.
    """

    __tablename__ = "worklist_items"

    kind: Mapped[WorklistKind] = mapped_column(str_enum(WorklistKind))
    subject_id: Mapped[uuid.UUID]  # the job, callback item, plan, certificate, complaint or claim
    cycle: Mapped[str] = mapped_column(String(40))
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    queue: Mapped[WorklistQueue] = mapped_column(str_enum(WorklistQueue))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    title: Mapped[str] = mapped_column(String(200))  # in English; the reader's language from the two below
    title_msgid: Mapped[str | None] = mapped_column(String(200))  # the catalogues' message id
    title_params: Mapped[dict[str, Any] | None]
    due_at: Mapped[datetime]
    status: Mapped[WorklistStatus] = mapped_column(str_enum(WorklistStatus), default=WorklistStatus.OPEN)
    outcome: Mapped[WorklistOutcome | None] = mapped_column(str_enum(WorklistOutcome))
    note: Mapped[str] = mapped_column(Text, default="")
    callback_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("callbacks.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint("kind", "subject_id", "cycle", name="occasion"),
        Index("ix_worklist_items_status_due_at", "status", "due_at"),
    )
