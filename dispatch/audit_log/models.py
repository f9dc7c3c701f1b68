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


class RowSeal(Base):
    """The content hash of one version of a covered row, recorded in the entry ``log_seq``.

    ``row_version`` counts the seals of one row (1, 2, 3...): the newest is the one with the
    highest version, whatever the entries' order. ``row_hash`` None records that the row was
    deleted. ``fields`` holds a short digest per column, to name what changed. The seals of an
    entry are part of that entry's hash (see :mod:`dispatch.audit_log.service`).
    """

    __tablename__ = "audit_log_seals"

    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    row_version: Mapped[int] = mapped_column(primary_key=True)
    log_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    row_hash: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[dict[str, Any] | None]
