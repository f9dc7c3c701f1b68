"""The hash-chained log. Each entry's hash covers its content and the previous entry's hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base


class LogEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(64), index=True)  # e.g. "job.transition", "stock.movement"
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[uuid.UUID | None]
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class LogHead(Base):
    """One row: the chain's tip. Locking it serialises appends so the chain never forks."""

    __tablename__ = "audit_log_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
