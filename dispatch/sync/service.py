"""Offline-first sync for the technicians' app: pull (snapshot, then a per-user feed) and push
(per-device mutations applied at most once, in order, never blocking the device)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, lazyload

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import transaction_memo
from dispatch.errors import (
    Conflict,
    DispatchError,
    NotFound,
    PayloadTooLarge,
    RuleViolation,
    ValidationFailed,
)
from dispatch.idempotency import service as idempotency
from dispatch.jobs import calendar
from dispatch.jobs.models import EventKind, Job, JobEvent, JobStatus
from dispatch.stock.models import StockLocation
from dispatch.sync import cursor as cursors
from dispatch.sync import documents
from dispatch.sync.feed import JOB, VAN, append, insert_ignore, job_in_scope
from dispatch.sync.models import (
    Device,
    FeedEntry,
    FeedOp,
    Membership,
    MutationRecord,
    MutationStatus,
    PendingEvidence,
    QuarantinedEvidence,
    SyncCounter,
)
from dispatch.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_MUTATIONS = 500
MAX_LIMIT = 1000
CLOCK_SKEW_FLAG_S = 300

# Server-owned fields (technician, schedule, priority, stock levels...): a mutation naming one is
# rejected as ``forbidden_field``. What each kind may carry is its payload schema at the edge.
SERVER_OWNED = {"technician_id", "service_point_id", "scheduled_start", "scheduled_end", "status", "priority",
                "on_hand", "reserved", "available", "in_transit", "sla_due_at", "locked", "assignment"}


@dataclass(frozen=True)
class SyncConfig:
    secret_key: str
    timezone: str = "Asia/Shanghai"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _technician(actor: Principal) -> uuid.UUID:
    actor.require(Role.TECHNICIAN)
    if actor.technician_id is None:
        raise NotFound("no technician profile belongs to this account")
    return actor.technician_id


# --- scope -------------------------------------------------------------------------------------


def _scope(session: Session, technician_id: uuid.UUID, now: datetime, tz: ZoneInfo) -> dict[tuple[str, uuid.UUID], None]:
    """The entities the technician's device should hold now (ordered by key): their jobs, as the
    lead or as a crew helper, and their van."""
    jobs = session.execute(select(Job.id, Job.technician_id, Job.status, Job.scheduled_start, Job.window_start)
                           .where(calendar.worked_by(technician_id))).all()
    keys = [(JOB, row.id) for row in jobs if job_in_scope(row, now, tz)]
    van = session.scalar(select(StockLocation.id).where(StockLocation.technician_id == technician_id))
    if van is not None:
        keys.append((VAN, van))
    return dict.fromkeys(sorted(keys, key=_key))


def _reconcile(session: Session, user_id: uuid.UUID, scope: dict[tuple[str, uuid.UUID], None]) -> None:
    """Feed the differences between what the device holds and what it should hold (jobs that
    drifted out of or into the date window: no write announced them)."""
    held = {(t, i) for t, i in session.execute(select(Membership.entity_type, Membership.entity_id)
                                                .where(Membership.user_id == user_id))}
    entries = [(t, i, FeedOp.REMOVE) for t, i in held - scope.keys()]
    entries += [(t, i, FeedOp.PUT) for t, i in scope.keys() - held]
    if entries:
        append(session, {user_id: entries})


def _changes(session: Session, keys: list[tuple[str, uuid.UUID, FeedOp]], technician_id: uuid.UUID,
             now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    job_puts = [i for t, i, op in keys if t == JOB and op == FeedOp.PUT]
    # Defence in depth: every job is re-checked against the caller's scope at read time.
    rows = session.execute(select(Job.id, Job.technician_id, Job.status, Job.scheduled_start, Job.window_start)
                           .where(Job.id.in_(job_puts), calendar.worked_by(technician_id))).all() if job_puts else []
    allowed = [row.id for row in rows if job_in_scope(row, now, tz)]
    job_docs = documents.job_documents(session, allowed, now.astimezone(tz).date(), tz, technician_id=technician_id)
    removed_jobs = [i for t, i, op in keys if t == JOB and op == FeedOp.REMOVE]
    removed_jobs += [job_id for job_id in job_puts if job_id not in job_docs]
    van_puts = [i for t, i, op in keys if t == VAN and op == FeedOp.PUT]
    vans = documents.van_documents(session, van_puts)
    children = documents.child_ids(session, removed_jobs)
    return {
        "jobs": {"upserted": [job_docs[i] for i in job_puts if i in job_docs],
                 "removed": [str(i) for i in removed_jobs]},
        "checklists": {"removed": children.get("checklists", [])},
        "step_results": {"removed": children.get("step_results", [])},
        "van_stock": {"upserted": [vans[i] for i in van_puts if i in vans],
                      "removed": [str(i) for t, i, op in keys if t == VAN and op == FeedOp.REMOVE]},
    }


def _key(entity: tuple[str, uuid.UUID]) -> str:
    return f"{entity[0]}:{entity[1]}"


def pull(uow: UnitOfWork, actor: Principal, config: SyncConfig, *, cursor: str | None, limit: int = 500,
         device_id: uuid.UUID | None = None) -> dict[str, Any]:
    """One page of changes for the caller's device.

    No cursor: a snapshot of the whole scope, paged by entity key, positioned at the feed head
    read *before* the scope (anything committed later has a higher sequence and follows). Then
    the feed in commit order. A forged, foreign or pruned cursor is 410 ``reset_required``.
    """
    technician_id = _technician(actor)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("limit", f"must be between 1 and {MAX_LIMIT}")
    now = utcnow()
    position = cursors.decode(cursor, config.secret_key, user_id=actor.user_id) if cursor else None
    snapshot = position is None or position.snapshot_after is not None
    with uow:  # 1. bookkeeping writes: what the device holds (fresh replica) or window drift
        session = uow.session
        counter = session.get(SyncCounter, actor.user_id)
        head = counter.last_seq if counter else 0
        if position is not None and counter is not None and position.seq < counter.floor_seq:
            raise cursors.CursorReset("the cursor is older than the retained history")
        if position is not None and position.seq > head:
            raise cursors.CursorReset("the cursor is ahead of this server's history")
        scope = None
        if position is None:
            # The snapshot's scope, read after its head: page 2 lists it from here (anything
            # committed after ``head`` follows in the feed) instead of reading it again.
            scope = _scope(session, technician_id, now, config.tz)
            session.execute(delete(Membership).where(Membership.user_id == actor.user_id))
            insert_ignore(session.connection(), Membership, [  # one statement for the whole scope
                {"user_id": actor.user_id, "entity_type": entity_type, "entity_id": entity_id}
                for entity_type, entity_id in scope])
        elif not snapshot:
            _reconcile(session, actor.user_id, _scope(session, technician_id, now, config.tz))
        uow.commit()

    with uow:  # 2. the page: head first, then the data (read committed is enough, see above)
        session = uow.session
        first_head = head
        counter = session.get(SyncCounter, actor.user_id, populate_existing=True)
        head = counter.last_seq if counter else 0
        if snapshot:
            start_seq = first_head if position is None else position.seq
            after = position.snapshot_after if position is not None else None
            if scope is None:
                scope = _scope(session, technician_id, now, config.tz)
            keys = [k for k in scope if after is None or _key(k) > after]
            page, rest = keys[:limit], keys[limit:]
            changes = _changes(session, [(t, i, FeedOp.PUT) for t, i in page], technician_id, now, config.tz)
            if position is None:
                changes["reference"] = documents.reference_data(session)
            next_position = cursors.Cursor(actor.user_id, start_seq, _key(page[-1]) if rest else None)
            has_more = bool(rest) or head > start_seq
        else:
            rows = session.execute(select(FeedEntry.seq, FeedEntry.entity_type, FeedEntry.entity_id, FeedEntry.op)
                                   .where(FeedEntry.user_id == actor.user_id, FeedEntry.seq > position.seq)
                                   .order_by(FeedEntry.seq).limit(limit + 1)).all()
            has_more = len(rows) > limit
            rows = rows[:limit]
            latest: dict[tuple[str, uuid.UUID], FeedOp] = {}
            for row in rows:  # the last operation on an entity within the page wins
                latest.pop((row.entity_type, row.entity_id), None)
                latest[(row.entity_type, row.entity_id)] = row.op
            changes = _changes(session, [(t, i, op) for (t, i), op in latest.items()], technician_id, now, config.tz)
            next_position = cursors.Cursor(actor.user_id, rows[-1].seq if rows else position.seq)
        device = session.get(Device, device_id) if device_id else None
        last_mutation_id = device.last_mutation_id if device is not None and device.user_id == actor.user_id else None
    return {
        "changes": changes,
        "next_cursor": cursors.encode(next_position, config.secret_key),
        "has_more": has_more,
        "snapshot": snapshot,
        "last_mutation_id": last_mutation_id,
        "server_time": now,
    }


# --- push ----------------------------------------------------------------------------------------


def _problem(error: DispatchError) -> dict[str, Any]:
    problem = {"code": error.code, "title": error.title, "detail": error.detail}
    problem.update({k: v for k, v in error.extra.items() if k != "retry_after_s"})
    return problem


class _Rejected(DispatchError):
    code = "rejected"
    title = "Mutation rejected"


class _InvalidPayload(RuleViolation):
    """The payload does not fit its kind's schema (``errors`` by dotted field, from the edge)."""

    code = "validation-error"
    title = "Request validation failed"


class _Quarantine(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _device(session: Session, actor: Principal, device_id: uuid.UUID, app_version: str | None) -> Device:
    """The device's row, locked (created on its first push). Its ``last_seen_at`` and
    ``app_version`` are the caller's to set, with ``last_mutation_id``: one UPDATE per push."""
    device = session.get(Device, device_id, with_for_update=True, populate_existing=True)
    if device is None:
        now = utcnow()
        insert_ignore(session.connection(), Device, id=device_id, user_id=actor.user_id, last_mutation_id=0,
                      app_version=app_version, created_at=now, last_seen_at=now)
        device = session.get(Device, device_id, with_for_update=True, populate_existing=True)
    if device is None or device.user_id != actor.user_id:
        raise NotFound(f"device {device_id} does not exist")
    if device.revoked_at is not None:
        raise Conflict(f"device {device_id} has been revoked; sign in again on a new device")
    return device


_LOCKED_JOBS = "sync_locked_jobs"  # transaction_memo: the jobs this push holds locked, by id


def _job_for(session: Session, actor: Principal, payload: dict[str, Any]) -> Job:
    """The job a mutation talks about. A job that left the technician (reassigned, cancelled)
    but was theirs raises _Quarantine; one they never had is simply not found."""
    try:
        job_id = uuid.UUID(str(payload.get("job_id")))
    except ValueError as exc:
        raise ValidationFailed("payload.job_id", "must be a job id") from exc
    locked = transaction_memo(session, _LOCKED_JOBS)
    # One device at a time per job: the first mutation of a batch on a job locks its row; the
    # next ones of the same batch find it locked already (held here: the identity map is weak).
    job = locked.get(job_id) or session.get(Job, job_id, with_for_update=True,
                                            options=[lazyload(Job.helpers)])  # the crew: read when used
    if job is not None and job.technician_id == actor.technician_id and job.status != JobStatus.CANCELLED:
        return job
    was_theirs = job is not None and session.scalar(
        select(FeedEntry.seq).where(FeedEntry.user_id == actor.user_id, FeedEntry.entity_type == JOB,
                                    FeedEntry.entity_id == job_id).limit(1)) is not None
    if not was_theirs:
        raise NotFound(f"job {job_id} does not exist")
    if job.status == JobStatus.CANCELLED:
        raise _Quarantine("job_cancelled", f"job {job.reference} was cancelled while you were offline")
    raise _Quarantine("job_reassigned", f"job {job.reference} was reassigned while you were offline")


def _location(payload: dict[str, Any]) -> dict[str, float] | None:
    location = payload.get("location")
    if location is None:
        return None
    try:
        lat, lon = float(location["lat"]), float(location["lon"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed("payload.location", "needs numeric lat and lon") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationFailed("payload.location", "lat/lon out of range")
    return {"lat": lat, "lon": lon}


@dataclass(frozen=True)
class _Applying:
    """One mutation being applied: ``payload`` as loaded at the edge (typed), ``raw`` as the
    device sent it (what is stored when the mutation waits or is quarantined)."""

    payload: dict[str, Any]
    raw: dict[str, Any]
    recorded_at: datetime | None
    device: Device
    mutation_id: int


def _apply_transition(session, actor, job, m: _Applying) -> dict[str, Any]:
    from dispatch.jobs import service as jobs

    event = jobs.apply_transition(session, job, JobStatus(m.payload.get("to")), actor,
                                  reason=str(m.payload.get("reason") or ""), recorded_at=m.recorded_at,
                                  location=_location(m.payload))
    return {"job_id": str(job.id), "status": job.status.value, "event_id": str(event.id)}


def _apply_step(session, actor, job, m: _Applying) -> dict[str, Any]:
    from dispatch.sop import checklists
    from dispatch.sop.models import Attachment

    payload, recorded_at = m.payload, m.recorded_at
    refs = [str(ref) for ref in payload.get("evidence") or []]
    attachment_ids, missing = [], []
    for ref in refs:
        attachment = _attachment_for(session, Attachment, ref, job.service_point_id)
        if attachment is None:
            missing.append(ref)
        else:
            attachment_ids.append(attachment.id)
    if missing:
        if any(len(ref) != 64 for ref in missing):
            raise ValidationFailed("payload.evidence", "unknown attachment ids (reference bytes not yet "
                                   "uploaded by their SHA-256)")
        for sha in missing:
            session.add(PendingEvidence(job_id=job.id, device_id=m.device.id, mutation_id=m.mutation_id,
                                        step_key=str(payload.get("key")), sha256=sha,
                                        payload={"payload": m.raw,
                                                 "recorded_at": recorded_at.isoformat() if recorded_at else None},
                                        created_at=utcnow()))
        return {"job_id": str(job.id), "key": payload.get("key"), "pending_evidence": missing}
    result = checklists.record_step(session, actor, job, str(payload.get("key")), value=payload.get("value"),
                                    evidence_ids=attachment_ids, recorded_at=recorded_at,
                                    location=_location(payload), source="sync")
    return {"job_id": str(job.id), "key": result.step_key, "revision": result.revision,
            "step_status": result.status.value}


def _attachment_for(session, attachment_model, ref: str, service_point_id):
    if len(ref) == 64:
        return session.scalar(select(attachment_model).where(attachment_model.sha256 == ref,
                                                              attachment_model.service_point_id == service_point_id))
    try:
        return session.get(attachment_model, uuid.UUID(ref))
    except ValueError:
        return None


def _apply_parts(session, actor, job, m: _Applying) -> dict[str, Any]:
    from dispatch.stock import job_parts

    lines = [line if line.recorded_at is not None else replace(line, recorded_at=m.recorded_at)
             for line in m.payload["lines"]]
    usages = job_parts.record_consumption(session, actor, job, lines)
    return {"job_id": str(job.id), "usages": [str(u.id) for u in usages]}


def _apply_note(session, actor, job, m: _Applying) -> dict[str, Any]:
    text = str(m.payload.get("text") or "").strip()
    if not text or len(text) > 4000:
        raise ValidationFailed("payload.text", "a note needs 1 to 4000 characters")
    # The next seq, computed by the INSERT itself (the job row is locked: no one else adds one).
    seq = select(func.coalesce(func.max(JobEvent.seq), 0) + 1).where(JobEvent.job_id == job.id).scalar_subquery()
    event = JobEvent(id=uuid.uuid4(), job_id=job.id, seq=seq, kind=EventKind.NOTE, reason=text, actor_id=actor.user_id,
                     at=utcnow(), recorded_at=m.recorded_at, data={"device_id": str(m.device.id)})
    session.add(event)
    session.flush()
    return {"job_id": str(job.id), "event_id": str(event.id)}


def _apply_fault_cause(session, actor, job, m: _Applying) -> dict[str, Any]:
    from dispatch.warranty import causes

    row = causes.record(session, actor, job, code=str(m.payload["fault_cause_code"]),
                        note=str(m.payload.get("note") or ""), recorded_at=m.recorded_at,
                        field="payload.fault_cause_code")
    return {"job_id": str(job.id), "fault_cause": row.fault_cause.code, "kind": row.fault_cause.kind.value}


HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {
    "job_transition": _apply_transition,
    "checklist_step": _apply_step,
    "parts_consumed": _apply_parts,
    "note": _apply_note,
    "fault_cause": _apply_fault_cause,
}


def _check_fields(kind: str, payload: Any, errors: dict[str, list[str]] | None) -> None:
    if kind not in HANDLERS:
        raise _Rejected(f"unknown mutation kind {kind!r}", reason="unknown_kind", allowed=sorted(HANDLERS))
    if not isinstance(payload, dict):
        raise ValidationFailed("payload", "must be an object")
    owned = sorted(set(payload) & SERVER_OWNED)
    if owned:
        raise _Rejected(f"server-owned fields cannot be written from a device: {', '.join(owned)}",
                        reason="forbidden_field", fields=owned)
    if errors:
        named = ", ".join(sorted(errors))
        raise _InvalidPayload(f"the {kind} mutation is not valid: {named}", errors=errors)


def _in_payload(error: DispatchError) -> DispatchError:
    """Field errors raised by the domain name fields of the payload (``lines.0.part_sku`` is
    ``payload.lines.0.part_sku`` in a mutation)."""
    errors = error.extra.get("errors")
    if isinstance(errors, dict):
        error.extra["errors"] = {k if k.startswith("payload") else f"payload.{k}": v for k, v in errors.items()}
    return error


def _quarantine(session, actor, device, job_id, mutation_id, kind, payload, recorded_at, now, reason, detail):
    session.add(QuarantinedEvidence(job_id=job_id, technician_id=actor.technician_id, device_id=device.id,
                                    mutation_id=mutation_id, kind=kind, payload=payload, reason=reason,
                                    detail=detail, recorded_at=recorded_at, received_at=now))


def clock_skew_s(recorded_at: datetime | None, now: datetime, device_offset_s: int | None) -> int | None:
    """How far the device's clock is off, as far as the server can tell.

    With the batch's ``sent_at`` the offset is measured (``sent_at`` - the server's now). Without
    it only a time in the server's future proves a wrong clock: a time in the past is work done
    offline and pushed later, which is what the app is for.
    """
    if device_offset_s is not None:
        return device_offset_s
    if recorded_at is None:
        return None
    ahead = int((recorded_at - now).total_seconds())
    return ahead if ahead > 0 else None


def _apply_one(session: Session, actor: Principal, device: Device, mutation: dict[str, Any], now: datetime,
               device_offset_s: int | None = None) -> tuple[dict[str, Any], MutationRecord]:
    """Apply one mutation in a savepoint. Whatever goes wrong with it (a bad payload, a refused
    change, even a bug) is recorded against this mutation alone: the batch goes on and the device
    is never blocked. Only a database that cannot be reached fails the batch (nothing applied)."""
    mutation_id, kind, payload = mutation["id"], mutation["kind"], mutation.get("payload")
    recorded_at: datetime | None = mutation.get("recorded_at")
    skew = clock_skew_s(recorded_at, now, device_offset_s)
    result: dict[str, Any] = {"id": mutation_id}
    if skew is not None and abs(skew) > CLOCK_SKEW_FLAG_S:
        result |= {"clock_skew_s": skew, "clock_flagged": True}
    savepoint = session.begin_nested()
    job = None
    try:
        _check_fields(kind, payload, mutation.get("errors"))
        job = _job_for(session, actor, payload)
        parsed = mutation.get("parsed")
        applying = _Applying(payload=parsed if parsed is not None else payload, raw=payload,
                             recorded_at=recorded_at, device=device, mutation_id=mutation_id)
        outcome = HANDLERS[kind](session, actor, job, applying)
        session.flush()
        savepoint.commit()
        # Only now: a lock taken inside a savepoint that rolls back is released with it.
        transaction_memo(session, _LOCKED_JOBS)[job.id] = job
        status = MutationStatus.APPLIED
        result |= {"status": status.value, "result": outcome}
    except _Quarantine as q:
        savepoint.rollback()
        _quarantine(session, actor, device, uuid.UUID(str(payload["job_id"])), mutation_id, kind, payload,
                    recorded_at, now, q.reason, q.detail)
        status = MutationStatus.REJECTED
        result |= {"status": status.value, "reason": q.reason, "quarantined": True,
                   "problem": {"code": q.reason, "title": "Job no longer yours", "detail": q.detail}}
    except (DispatchError, ValueError, IntegrityError) as error:
        savepoint.rollback()
        if isinstance(error, ValueError):
            error = ValidationFailed("payload", str(error))
        elif isinstance(error, IntegrityError):
            error = Conflict("the change conflicts with data already recorded")
        error = _in_payload(error)
        status = MutationStatus.CONFLICT if isinstance(error, Conflict) else MutationStatus.REJECTED
        result |= {"status": status.value, "reason": error.extra.get("reason", error.code), "problem": _problem(error)}
    except DBAPIError:
        raise  # the database itself failed: the whole batch is retried later
    except Exception:  # noqa: BLE001 - a server bug must not block the device nor lose the work
        log.exception("sync mutation %s of device %s (%s) failed", mutation_id, device.id, kind)
        savepoint.rollback()
        status = MutationStatus.REJECTED
        detail = "the server could not apply this mutation; it has been logged"
        if job is not None:
            _quarantine(session, actor, device, job.id, mutation_id, kind, payload, recorded_at, now,
                        "server_error", detail)
        result |= {"status": status.value, "reason": "server_error", "quarantined": job is not None,
                   "problem": {"code": "server-error", "title": "Mutation not applied", "detail": detail}}
    # Recorded by the caller after the batch: one INSERT of every record and one UPDATE of the
    # device, instead of a flush of each at the next mutation's savepoint.
    return result, MutationRecord(device_id=device.id, mutation_id=mutation_id, kind=kind, status=status,
                                  result=json.loads(json.dumps(result, default=str)), recorded_at=recorded_at,
                                  applied_at=now, clock_skew_s=skew)


@dataclass(frozen=True)
class PushReply:
    """A push's answer; ``replayed``: the stored answer of an earlier push with the same
    Idempotency-Key (nothing was applied this time)."""

    body: dict[str, Any]
    replayed: bool = False


def push(uow: UnitOfWork, actor: Principal, *, device_id: uuid.UUID, mutations: list[dict[str, Any]],
         idempotency_key: str | None = None, app_version: str | None = None,
         raw_mutations: list[dict[str, Any]] | None = None, sent_at: datetime | None = None) -> PushReply:
    """Apply a batch in order, each mutation at most once (per-device sequential ids).

    ``duplicate``: already applied (its original outcome is returned). A gap (an id beyond
    last + 1) stops the batch: what came before is kept and ``gap_at`` says where to resume.
    A rejected mutation is recorded and never blocks the device. With an ``Idempotency-Key``,
    a replay returns the identical response; the same key with another body is 422 (``sent_at``,
    the device's clock when it sent the batch, is not part of the body compared: a retry sends a
    later one).
    """
    _technician(actor)
    if len(mutations) > MAX_MUTATIONS:
        raise PayloadTooLarge(f"at most {MAX_MUTATIONS} mutations per batch", field="mutations")
    digest = idempotency.fingerprint("sync.push", str(device_id),
                                     raw_mutations if raw_mutations is not None else mutations)
    idempotency_key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
    now = utcnow()
    device_offset_s = int((sent_at - now).total_seconds()) if sent_at is not None else None
    with uow:
        session = uow.session
        if idempotency_key:
            stored = idempotency.replay(session, actor.user_id, idempotency_key, digest)
            if stored is not None:
                return PushReply(stored.body, replayed=True)
        device = _device(session, actor, device_id, app_version)
        replayed = [m["id"] for m in mutations if m["id"] <= device.last_mutation_id]
        stored = {m.mutation_id: m for m in session.scalars(  # only a retried batch has any
            select(MutationRecord).where(MutationRecord.device_id == device.id,
                                         MutationRecord.mutation_id.in_(replayed)))} if replayed else {}
        results, records, gap_at, last = [], [], None, device.last_mutation_id
        for mutation in mutations:
            if mutation["id"] <= last:
                original = stored.get(mutation["id"])
                results.append({"id": mutation["id"], "status": "duplicate",
                                "original": original.result if original else None})
                continue
            if mutation["id"] != last + 1:
                gap_at = last + 1
                break
            result, record = _apply_one(session, actor, device, mutation, now, device_offset_s)
            results.append(result)
            records.append(record)
            last = mutation["id"]
        session.add_all(records)
        device.last_seen_at, device.app_version = utcnow(), app_version or device.app_version
        device.last_mutation_id = last
        body = {"device_id": str(device.id), "last_mutation_id": device.last_mutation_id, "results": results,
                "gap_at": gap_at, "server_time": now.isoformat()}
        body = json.loads(json.dumps(body, default=str))
        if idempotency_key:
            idempotency.remember(session, actor.user_id, idempotency_key, digest, idempotency.StoredResponse(200, body))
        uow.commit()
    return PushReply(body)


def resolve_pending_evidence(session: Session, shas: set[str]) -> int:
    """Complete step results that waited for photos now uploaded (runs before commit of the
    upload's transaction). Returns how many step results were recorded."""
    from dispatch.auth.models import User
    from dispatch.network.models import Technician
    from dispatch.sop import checklists
    from dispatch.sop.models import Attachment

    pending = session.scalars(select(PendingEvidence).where(PendingEvidence.sha256.in_(shas),
                                                            PendingEvidence.resolved_at.is_(None))).all()
    done = 0
    for group in {(p.device_id, p.mutation_id) for p in pending}:
        rows = session.scalars(select(PendingEvidence).where(and_(PendingEvidence.device_id == group[0],
                                                                  PendingEvidence.mutation_id == group[1]))).all()
        job = session.get(Job, rows[0].job_id)
        if any(_attachment_for(session, Attachment, r.sha256, job.service_point_id) is None for r in rows):
            continue  # still waiting for another photo of the same step
        device = session.get(Device, group[0])
        user = session.get(User, device.user_id)
        technician = session.scalar(select(Technician).where(Technician.user_id == user.id))
        actor = Principal(user_id=user.id, username=user.username, role=user.role,
                          service_point_id=user.service_point_id, technician_id=technician.id if technician else None)
        payload = rows[0].payload["payload"]
        recorded_at = rows[0].payload.get("recorded_at")
        ids = [_attachment_for(session, Attachment, str(ref), job.service_point_id).id
               for ref in payload.get("evidence") or []]
        try:
            with session.begin_nested():
                checklists.record_step(session, actor, job, str(payload.get("key")), value=payload.get("value"),
                                       evidence_ids=ids,
                                       recorded_at=datetime.fromisoformat(recorded_at) if recorded_at else None,
                                       location=_location(payload), source="sync")
        except DispatchError as error:
            record = session.get(MutationRecord, (group[0], group[1]))
            if record is not None:
                record.result = record.result | {"pending_failed": _problem(error)}
        for row in rows:
            row.resolved_at = utcnow()
        done += 1
    return done


def quarantined_for_job(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID) -> list[QuarantinedEvidence]:
    """Evidence pushed for a job after it left the technician: for the point's manager and HQ."""
    from dispatch.jobs import service as jobs

    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        job = jobs.get_visible_job(uow.session, actor, job_id)
        return list(uow.session.scalars(select(QuarantinedEvidence).where(QuarantinedEvidence.job_id == job.id)
                                        .order_by(QuarantinedEvidence.received_at)))
