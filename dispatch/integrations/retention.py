"""How long the webhook outbox is kept: pruned nightly (``workers.outbox_tasks.prune_outboxes``).

* A delivery the receiver took is kept :data:`DELIVERED_DAYS` after it was delivered (the
  delivery log HQ reads covers that window), then deleted with its attempts.
* A delivery never taken is kept :data:`UNDELIVERED_DAYS` after it was written, whatever its
  endpoint's state (an endpoint disabled for a quarter, or failing all along, does not get a
  quarter-old event when it comes back), then deleted with its attempts.
* An event whose deliveries are all gone (pruned, or its endpoint removed) is deleted once it
  is :data:`DELIVERED_DAYS` old.

An event nobody subscribes to is never written (:func:`dispatch.integrations.outbox.publish`), so
the outbox grows only with the traffic endpoints asked for. Each step deletes in batches of short
transactions under one deadline; a rerun, or a run next to live deliveries, is harmless (a
delivery being sent while it is pruned records nothing: see :mod:`dispatch.integrations.delivery`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import delete_in_batches
from dispatch.integrations.enums import DeliveryStatus
from dispatch.integrations.models import OutboundEvent, WebhookAttempt, WebhookDelivery
from dispatch.ports import TaskQueue
from dispatch.uow import UnitOfWork, UowFactory

PRUNE_TASK = "workers.outbox_tasks.prune_outboxes"
DELIVERED_DAYS = 30
UNDELIVERED_DAYS = 90
BATCH = 500
PRUNE_TIMEOUT_S = 1800
"""The task's job timeout (its own deadline is shorter: ``workers.outbox_tasks.DEADLINE_S``)."""


@dataclass
class WebhookPruneReport:
    deliveries: int = 0
    events: int = 0
    complete: bool = True  # False: the deadline came first; the next run goes on

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _delete_deliveries(session, ids: list) -> None:
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))


def _delete_events(session, ids: list) -> None:
    session.execute(delete(OutboundEvent).where(OutboundEvent.id.in_(ids),
                                                ~exists().where(WebhookDelivery.event_id == OutboundEvent.id)))


def prune(uow_factory: UowFactory, *, now: datetime, ends: float, delivered_days: int = DELIVERED_DAYS,
          undelivered_days: int = UNDELIVERED_DAYS, batch: int = BATCH) -> WebhookPruneReport:
    """Delete what the retention lets go, oldest first, until done or ``ends`` (monotonic)."""
    if delivered_days < 1 or undelivered_days < delivered_days:
        raise ValueError("keep delivered deliveries a day or more, and undelivered ones at least as long")
    delivered_before = now - timedelta(days=delivered_days)
    steps = (
        (select(WebhookDelivery.id).where(WebhookDelivery.status == DeliveryStatus.SUCCEEDED,
                                          WebhookDelivery.delivered_at < delivered_before)
         .order_by(WebhookDelivery.delivered_at), _delete_deliveries),
        (select(WebhookDelivery.id).where(WebhookDelivery.status == DeliveryStatus.PENDING,
                                          WebhookDelivery.created_at < now - timedelta(days=undelivered_days))
         .order_by(WebhookDelivery.created_at), _delete_deliveries),
    )
    report = WebhookPruneReport()
    for ids, delete_rows in steps:
        deleted, report.complete = delete_in_batches(uow_factory, ids, delete_rows, batch=batch, ends=ends)
        report.deliveries += deleted
        if not report.complete:
            return report
    orphans = (select(OutboundEvent.id).where(OutboundEvent.occurred_at < delivered_before,
                                              ~exists().where(WebhookDelivery.event_id == OutboundEvent.id))
               .order_by(OutboundEvent.occurred_at))
    report.events, report.complete = delete_in_batches(uow_factory, orphans, _delete_events, batch=batch, ends=ends)
    return report


def request_prune(uow: UnitOfWork, actor: Principal, tasks: TaskQueue) -> dict[str, str]:
    """HQ prunes the outboxes now (after a receiver's long outage was replayed, say) instead of at
    the nightly run; as harmless as the nightly run. The request is logged (who asked) and the
    task queued once that is durable."""
    actor.require(Role.ADMIN)
    task_id = f"prune-outboxes-{utcnow():%Y%m%dT%H%M%S}"
    with uow:
        audit_log.append(uow.session, kind="outbox.prune_requested", subject_id=task_id, payload={},
                         actor_id=actor.user_id)
        uow.after_commit(lambda: tasks.enqueue(PRUNE_TASK, task_id=task_id, queue="default",
                                               timeout_s=PRUNE_TIMEOUT_S))
        uow.commit()
    return {"task_id": task_id}
