"""Append to the chain inside the caller's transaction; verify it; export daily roots.

Each entry's hash is ``SHA-256(prev_hash ‖ canonical JSON of {seq, kind, subject, actor, at,
payload})``, so editing, deleting, inserting or reordering an entry breaks the chain from that
entry on. Someone with write access to the database can still rebuild every hash after an edit:
that is caught from outside by comparing a daily root exported earlier (:func:`daily_root`)
with the rebuilt chain's. The migration also installs append-only triggers on ``audit_log``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatch.audit_log.models import LogEntry, LogHead
from dispatch.auth.models import HQ_ROLES, Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.uow import UnitOfWork

GENESIS = "0" * 64


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, seq: int, kind: str, subject_id: str, actor_id: str | None,
               at: datetime, payload: dict[str, Any]) -> str:
    """The hash of one entry. ``at`` is hashed in UTC, whatever zone the driver returns it in."""
    body = _canonical({"seq": seq, "kind": kind, "subject": subject_id, "actor": actor_id,
                       "at": at.astimezone(UTC).isoformat(), "payload": payload})
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def append(session, *, kind: str, subject_id: Any, payload: dict[str, Any],
           actor_id: uuid.UUID | None = None) -> LogEntry:
    """Add one entry to the chain, in the caller's transaction (never commits)."""
    head = session.scalar(select(LogHead).where(LogHead.id == 1).with_for_update())
    if head is None:
        head = LogHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    seq = head.seq + 1
    at = utcnow()
    payload = json.loads(_canonical(payload))  # what is hashed is exactly what is stored
    digest = entry_hash(head.hash, seq, kind, str(subject_id), str(actor_id) if actor_id else None, at, payload)
    entry = LogEntry(seq=seq, kind=kind, subject_id=str(subject_id), actor_id=actor_id, at=at,
                     payload=payload, prev_hash=head.hash, hash=digest)
    session.add(entry)
    head.seq, head.hash = seq, digest
    session.flush()
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries_checked: int
    first_broken_seq: int | None = None
    problem: str | None = None
    head_hash: str = GENESIS
    head_seq: int = 0
    checked_at: datetime | None = None


_COLUMNS = (LogEntry.seq, LogEntry.kind, LogEntry.subject_id, LogEntry.actor_id, LogEntry.at, LogEntry.payload,
            LogEntry.prev_hash, LogEntry.hash)


def verify(session, *, batch: int = 5000) -> Verification:
    """Walk the chain from the start; name the first entry whose hash or link is wrong.

    Reads plain rows (not ORM objects) so that what is checked is what the database holds now,
    never a copy cached in the session.
    """
    prev, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    now = utcnow()
    while True:
        rows = session.execute(select(*_COLUMNS).where(LogEntry.seq > last_seq).order_by(LogEntry.seq)
                               .limit(batch)).all()
        if not rows:
            break
        for seq, kind, subject_id, actor_id, at, payload, prev_hash, digest in rows:
            if seq != expected_seq:  # rows come in seq order, so a gap means deleted entries
                return Verification(False, checked, expected_seq, f"entry {expected_seq} is missing", checked_at=now)
            if prev_hash != prev:
                return Verification(False, checked, seq, "link to the previous entry is broken", checked_at=now)
            recomputed = entry_hash(prev, seq, kind, subject_id, str(actor_id) if actor_id else None, at, payload)
            if recomputed != digest:
                return Verification(False, checked, seq, "content does not match its hash", checked_at=now)
            prev, expected_seq, checked = digest, expected_seq + 1, checked + 1
        last_seq = rows[-1][0]
    head = session.execute(select(LogHead.seq, LogHead.hash).where(LogHead.id == 1)).first()
    head_seq, head_hash = (head[0], head[1]) if head is not None else (0, GENESIS)
    if head_seq != checked or head_hash != prev:
        return Verification(False, checked, min(head_seq, checked) + 1,
                            "entries after the recorded head were removed or added", prev, head_seq, now)
    return Verification(True, checked, head_hash=prev, head_seq=head_seq, checked_at=now)


def daily_root(session, day: date, tz: str = "UTC") -> dict[str, Any]:
    """The hash of the last entry written up to the end of ``day`` (local): publish it outside
    the system so that a rebuilt chain (all hashes recomputed) is caught."""
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(tz))
    row = session.execute(select(LogEntry.seq, LogEntry.hash, LogEntry.at).where(LogEntry.at < end)
                          .order_by(LogEntry.seq.desc()).limit(1)).first()
    return {"day": day, "timezone": tz, "until": end, "seq": row[0] if row else 0,
            "hash": row[1] if row else GENESIS, "last_entry_at": row[2] if row else None}


# --- use cases for the HTTP layer ---------------------------------------------------------------


def verify_chain(uow: UnitOfWork, actor: Principal) -> Verification:
    """Walk the whole chain (HQ admins only: it reads every entry)."""
    actor.require(Role.ADMIN)
    with uow:
        return verify(uow.session)


def export_daily_root(uow: UnitOfWork, actor: Principal, *, day: date, tz: str) -> dict[str, Any]:
    """The root of ``day`` for HQ to keep outside the system (admins and reviewers)."""
    actor.require(*HQ_ROLES)
    with uow:
        return daily_root(uow.session, day, tz)
