"""How long the notification outbox keeps messages that are done with: pruned nightly with the
webhook outbox (``workers.outbox_tasks.prune_outboxes``).

* A message sent is kept :data:`SENT_DAYS` after it went out, with the gateway's delivery
  receipts about it; the notification list (and a job's rating-link history) covers that window.
* A message that failed for good, was superseded or expired is kept :data:`ENDED_DAYS`, so HQ
  and the point can still see what never reached the customer.
* A pending message is never pruned (it is sent, superseded or expires first).
* A receipt naming no message of ours (an id the gateway got wrong, or a message sent before a
  restore) is kept :data:`ENDED_DAYS` after it arrived (:func:`prune_unmatched_receipts`).

"Done" is the message's last change (``updated_at``: a message in an end state does not change
again). Batches of short transactions under the caller's deadline; a rerun finds nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from dispatch.care.models import DeliveryReceipt, Notification, NotificationStatus
from dispatch.db import delete_in_batches
from dispatch.uow import UowFactory

SENT_DAYS = 30
ENDED_DAYS = 90
ENDED = (NotificationStatus.FAILED, NotificationStatus.SUPERSEDED, NotificationStatus.EXPIRED)
BATCH = 500


def _delete(session, ids: list) -> None:
    session.execute(delete(DeliveryReceipt).where(DeliveryReceipt.notification_id.in_(ids)))
    session.execute(delete(Notification).where(Notification.id.in_(ids)))


def prune(uow_factory: UowFactory, *, now: datetime, ends: float, sent_days: int = SENT_DAYS,
          ended_days: int = ENDED_DAYS, batch: int = BATCH) -> tuple[int, bool]:
    """Delete the messages the retention lets go, oldest first, until done or ``ends`` (monotonic):
    (messages deleted, whether nothing is left; False when the deadline came first)."""
    if sent_days < 1 or ended_days < 1:
        raise ValueError("keep messages a day or more")
    total = 0
    for statuses, days in (((NotificationStatus.SENT,), sent_days), (ENDED, ended_days)):
        ids = (select(Notification.id).where(Notification.status.in_(statuses),
                                             Notification.updated_at < now - timedelta(days=days))
               .order_by(Notification.updated_at))
        deleted, complete = delete_in_batches(uow_factory, ids, _delete, batch=batch, ends=ends)
        total += deleted
        if not complete:
            return total, False
    return total, True


def _delete_receipts(session, ids: list) -> None:
    session.execute(delete(DeliveryReceipt).where(DeliveryReceipt.id.in_(ids)))


def prune_unmatched_receipts(uow_factory: UowFactory, *, now: datetime, ends: float, days: int = ENDED_DAYS,
                             batch: int = BATCH) -> tuple[int, bool]:
    """Delete the receipts that name no message and arrived more than ``days`` ago, oldest first,
    until done or ``ends`` (monotonic): (receipts deleted, whether nothing is left)."""
    if days < 1:
        raise ValueError("keep receipts a day or more")
    ids = (select(DeliveryReceipt.id).where(DeliveryReceipt.notification_id.is_(None),
                                            DeliveryReceipt.received_at < now - timedelta(days=days))
           .order_by(DeliveryReceipt.received_at))
    return delete_in_batches(uow_factory, ids, _delete_receipts, batch=batch, ends=ends)
