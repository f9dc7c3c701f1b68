"""Append to the chain inside the caller's transaction; verify it; export daily roots."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatch.audit_log.models import LogEntry, LogHead
from dispatch.clock import utcnow

GENESIS = "0" * 64


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, seq: int, kind: str, subject_id: str, actor_id: str | None,
               at: datetime, payload: dict[str, Any]) -> str:
    body = _canonical({"seq": seq, "kind": kind, "subject": subject_id, "actor": actor_id,
                       "at": at.isoformat(), "payload": payload})
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


def verify(session, *, batch: int = 5000) -> Verification:
    """Walk the chain from the start; name the first entry whose hash or link is wrong."""
    prev, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.scalars(select(LogEntry).where(LogEntry.seq > last_seq).order_by(LogEntry.seq)
                               .limit(batch)).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return Verification(False, checked, expected_seq, f"entry {expected_seq} is missing")
            if entry.prev_hash != prev:
                return Verification(False, checked, entry.seq, "link to the previous entry is broken")
            recomputed = entry_hash(prev, entry.seq, entry.kind, entry.subject_id,
                                    str(entry.actor_id) if entry.actor_id else None, entry.at, entry.payload)
            if recomputed != entry.hash:
                return Verification(False, checked, entry.seq, "content does not match its hash")
            prev, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
        last_seq = rows[-1].seq
    head = session.get(LogHead, 1)
    if head is not None and (head.seq != checked or head.hash != prev):
        return Verification(False, checked, checked + 1, "entries after the recorded head were removed or added")
    return Verification(True, checked, head_hash=prev)


def daily_root(session, day: date, tz: str = "UTC") -> dict[str, Any]:
    """The hash of the last entry written up to the end of ``day`` (local): publish it outside
    the system so that a rebuilt chain (all hashes recomputed) is caught."""
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(tz))
    entry = session.scalars(select(LogEntry).where(LogEntry.at < end).order_by(LogEntry.seq.desc()).limit(1)).first()
    return {"day": day.isoformat(), "seq": entry.seq if entry else 0, "hash": entry.hash if entry else GENESIS}
