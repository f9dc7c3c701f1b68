"""The hash-chained log, partitioned: each entry belongs to one chain (``hq`` or a service point's
id) and its hash covers its content and the previous entry's hash in that chain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base


class LogEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # global id (gaps allowed)
    chain: Mapped[str] = mapped_column(String(40), default="hq", server_default="hq")
    # Position in its chain: 1, 2, 3... no gaps. Nullable in the schema only because SQLite cannot
    # add a NOT NULL column to an append-only table without rebuilding it; every entry has one.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(64), index=True)  # e.g. "job.transition", "stock.movement"
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[uuid.UUID | None]
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (Index("uq_audit_log_chain_seq", "chain", "chain_seq", unique=True),)


class LogChain(Base):
    """One row per chain: its tip. Locking it serialises the appends of that chain only, so the
    chain never forks and writers of different chains never wait for each other."""

    __tablename__ = "audit_log_chains"

    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)  # the tip's chain_seq (0: empty)
    hash: Mapped[str] = mapped_column(String(64))
    entry_seq: Mapped[int] = mapped_column(BigInteger)  # the tip's global seq (0: empty)


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
