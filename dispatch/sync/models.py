"""Sync plumbing: devices, per-user feeds ordered by commit, the mutation log, and evidence kept in
quarantine when a job left the technician while they were offline. (A push batch's Idempotency-Key
is kept by dispatch.idempotency.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, UuidPk, str_enum
from dispatch.sync.enums import FeedOp, MutationStatus


class Device(Base):
    """A technician's phone. ``last_mutation_id`` moves in the same transaction as the effects."""

    __tablename__ = "sync_devices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last_mutation_id: Mapped[int] = mapped_column(BigInteger, default=0)
    app_version: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SyncCounter(Base):
    """One row per user: bumped (row-locked) inside every writing transaction that touches the
    user's scope, so feed sequence order equals commit order. ``floor_seq`` is the retention floor:
    cursors below it must reset."""

    __tablename__ = "sync_counters"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    floor_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class FeedEntry(Base):
    __tablename__ = "sync_feed"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID]
    op: Mapped[FeedOp] = mapped_column(str_enum(FeedOp))
    created_at: Mapped[datetime | None]  # server clock; None for entries older than the column

    __table_args__ = (Index("ix_sync_feed_entity", "user_id", "entity_type", "entity_id"),)


class MutationRecord(Base):
    """What happened to each pushed mutation; a replay answers from here."""

    __tablename__ = "sync_mutations"

    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sync_devices.id", ondelete="CASCADE"), primary_key=True)
    mutation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[MutationStatus] = mapped_column(str_enum(MutationStatus))
    result: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime | None]  # device clock
    applied_at: Mapped[datetime]  # server clock
    clock_skew_s: Mapped[int | None] = mapped_column(Integer)


class QuarantinedEvidence(UuidPk, Base):
    """Work a technician pushed for a job that was reassigned or cancelled while they were
    offline: never dropped, kept for the point's manager to look at."""

    __tablename__ = "quarantined_evidence"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"))
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sync_devices.id"))
    mutation_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime | None]
    received_at: Mapped[datetime]


class PendingEvidence(UuidPk, Base):
    """A step result pushed with a photo whose bytes have not arrived yet (referenced by SHA-256);
    completed when the upload lands."""

    __tablename__ = "pending_evidence"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sync_devices.id"))
    mutation_id: Mapped[int] = mapped_column(BigInteger)
    step_key: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class Membership(Base):
    """What the server believes each user's device holds: kept by the feed (P adds, R removes)
    and by snapshots, so that scope changes nobody wrote (a job drifting out of the 2-days-ago to
    7-days-ahead window) are found by a diff and sent as removals or additions."""

    __tablename__ = "sync_membership"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
