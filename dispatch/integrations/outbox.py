"""Outbound events, written in the transaction of the change they report (the transactional outbox).

Two sources, both listed in the composition root (:mod:`dispatch.wiring`):

* the job lifecycle: :func:`dispatch.integrations.job_hooks.publish_job_events` is an after-hook of the jobs service (created,
  dispatched, scheduled, every status change, completed);
* other domains' objects: :func:`install` puts one ``after_flush`` listener on the session that
  runs the *watchers* it is given, each ``(model, function)``: the function reads the flushed
  object's attribute history and returns the events it makes (a checklist completed, an audit's
  verdict, a stock level falling to its minimum, a claim decided, a complaint opened or escalated).

Each event is fanned out at once to every active endpoint subscribed to its type (one delivery
row each); an event nobody subscribes to is not written at all. Nothing leaves the process before
the transaction commits (then :mod:`dispatch.integrations.prompt` enqueues its delivery), and a
rolled-back change leaves no event behind. Rows are written on the flush's connection (a flush may not add objects).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from dispatch.clock import utcnow
from dispatch.integrations import prompt
from dispatch.integrations.enums import DeliveryStatus, EndpointStatus, EventType
from dispatch.integrations.models import OutboundEvent, WebhookDelivery, WebhookEndpoint
from dispatch.jobs.hooks import JobChange
from dispatch.jobs.rules import JobStatus


@dataclass(frozen=True)
class Event:
    type: EventType
    data: dict[str, Any]
    ordering_key: str | None = None


Watcher = Callable[[Any, bool], Iterable[Event]]
"""(flushed object, is it new) -> the events it makes."""


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def publish(session: Session, events: Sequence[Event]) -> list[int]:
    """Write ``events`` and their deliveries on the session's connection (no commit, no flush); an
    event no active endpoint subscribes to is not kept (fan-out happens here, once)."""
    if not events:
        return []
    connection = session.connection()
    endpoints = connection.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(WebhookEndpoint.status == EndpointStatus.ACTIVE)
    ).all()
    now = utcnow()
    ids = []
    for item in events:
        subscribers = [endpoint_id for endpoint_id, types in endpoints if item.type.value in (types or ())]
        if not subscribers:
            continue  # nobody listens: nothing to keep
        envelope = {"type": item.type.value, "timestamp": now.isoformat(), "data": _plain(item.data)}
        event_id = connection.execute(insert(OutboundEvent).values(
            message_id=f"msg_{secrets.token_hex(12)}", type=item.type.value, ordering_key=item.ordering_key,
            payload=envelope, occurred_at=now)).inserted_primary_key[0]
        ids.append(event_id)
        rows = [{"id": uuid.uuid4(), "endpoint_id": endpoint_id, "event_id": event_id,
                 "ordering_key": item.ordering_key, "status": DeliveryStatus.PENDING, "attempts": 0,
                 "next_attempt_at": now, "manual": False, "created_at": now}
                for endpoint_id in subscribers]
        connection.execute(insert(WebhookDelivery), rows)
        prompt.note(session, [item.ordering_key])  # a task sends them once this commits
    return ids


# --- the job lifecycle ------------------------------------------------------------------------


def job_key(job_id: uuid.UUID | None) -> str | None:
    return f"job:{job_id}" if job_id else None


def job_data(change: JobChange) -> dict[str, Any]:
    job = change.job
    return {"job_id": job.id, "reference": job.reference, "type": job.type, "status": change.to_status,
            "from_status": change.from_status, "priority": job.priority, "service_point_id": job.service_point_id,
            "technician_id": job.technician_id, "customer_id": job.customer_id, "unit_id": job.unit_id,
            "scheduled_start": job.scheduled_start, "scheduled_end": job.scheduled_end, "reason": change.reason,
            "at": change.at}


SPECIFIC = {JobStatus.DISPATCHED: EventType.JOB_DISPATCHED, JobStatus.SCHEDULED: EventType.JOB_SCHEDULED,
            JobStatus.COMPLETED: EventType.JOB_COMPLETED}


def job_events(change: JobChange) -> list[Event]:
    data, key = job_data(change), job_key(change.job.id)
    if change.from_status is None:
        return [Event(EventType.JOB_CREATED, data, key)]
    events = [Event(EventType.JOB_STATUS_CHANGED, data, key)]
    if change.from_status == JobStatus.NEW and change.to_status == JobStatus.DISPATCHED:
        # Intake: the job is taken in and dispatched to its point in one transaction, and the
        # hooks run once for both (NEW is never left any other way than to dispatched or cancelled).
        events.insert(0, Event(EventType.JOB_CREATED, data, key))
    specific = SPECIFIC.get(change.to_status)
    if specific is not None:
        events.append(Event(specific, data, key))
    return events


# --- the session listener ---------------------------------------------------------------------

_watchers: list[tuple[type, Watcher]] = []
_at_commit: list[Callable[[Session], Iterable[Event]]] = []
_on_rollback: list[Callable[[Session], None]] = []
_installed = False


def changed_to(obj: Any, attribute: str) -> tuple[bool, Any]:
    """Whether ``attribute`` changed in this flush, and its value before."""
    history = inspect(obj).attrs[attribute].history
    if not history.added:
        return False, None
    return True, history.deleted[0] if history.deleted else None


def _after_flush(session: Session, _context) -> None:
    if not _watchers:
        return
    events: list[Event] = []
    new = set(map(id, session.new))
    for obj in [*session.new, *session.dirty]:
        for model, watcher in _watchers:
            if isinstance(obj, model):
                events.extend(watcher(obj, id(obj) in new))
    publish(session, events)


def _before_commit(session: Session) -> None:
    events = [item for watcher in _at_commit for item in watcher(session)]
    publish(session, events)


def _after_rollback(session: Session, _transaction=None) -> None:
    for forget in _on_rollback:
        forget(session)


def install(watchers: Sequence[tuple[type, Watcher]], *,
            at_commit: Sequence[Callable[[Session], Iterable[Event]]] = (),
            on_rollback: Sequence[Callable[[Session], None]] = ()) -> None:
    """Install the listeners with the watchers (replacing an earlier table): ``watchers`` run on
    every flush, ``at_commit`` just before the transaction commits (for changes written without
    the ORM, which a flush does not see), ``on_rollback`` forgets what they noted."""
    global _installed
    _watchers[:] = list(watchers)
    _at_commit[:] = list(at_commit)
    _on_rollback[:] = list(on_rollback)
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
        _installed = True


def installed() -> bool:
    return _installed
