"""RQ entry point of the outboxes' retention: nightly, the webhook deliveries and the customer
messages that are done with are pruned (dispatch.integrations.retention, dispatch.care.retention).
Safe to run twice or next to live deliveries: a second run finds nothing left to delete."""

from __future__ import annotations

import logging
import time

from dispatch.care import retention as notification_retention
from dispatch.clock import utcnow
from dispatch.integrations import retention as webhook_retention
from workers.runtime import get_runtime

log = logging.getLogger(__name__)

DEADLINE_S = 1200
"""The whole run's hard deadline (the cron entry's job timeout is longer); what is left waits
for the next night."""


def prune_outboxes(delivered_days: int = webhook_retention.DELIVERED_DAYS,
                   undelivered_days: int = webhook_retention.UNDELIVERED_DAYS,
                   deadline_s: float = DEADLINE_S) -> dict[str, object]:
    """Nightly: delivered webhook deliveries after ``delivered_days``, undelivered ones after
    ``undelivered_days``, their orphaned events; sent messages after ``delivered_days``, failed,
    superseded or expired ones and receipts naming no message after ``undelivered_days``."""
    runtime, now = get_runtime(), utcnow()
    ends = time.monotonic() + deadline_s
    webhooks = webhook_retention.prune(runtime.uow_factory, now=now, ends=ends, delivered_days=delivered_days,
                                       undelivered_days=undelivered_days)
    messages, complete = notification_retention.prune(runtime.uow_factory, now=now, ends=ends,
                                                      sent_days=delivered_days, ended_days=undelivered_days)
    receipts, receipts_complete = notification_retention.prune_unmatched_receipts(
        runtime.uow_factory, now=now, ends=ends, days=undelivered_days)
    outcome = {"webhooks": webhooks.as_dict(),
               "notifications": {"notifications": messages, "unmatched_receipts": receipts,
                                 "complete": complete and receipts_complete}}
    log.info("prune_outboxes %s", outcome)
    return outcome
