"""The ``rq cron`` configuration of the periodic tasks (care, audits, webhooks, housekeeping).

Run the scheduler and a worker for its queue next to the usual workers::

    rq cron workers.cron --url "$REDIS_URL"
    rq worker cron --url "$REDIS_URL"

rq 3's CronJob enqueues with RQ's default (pickle) serializer and no way to choose another, while
``python -m workers`` serves the app's queues with the JSON serializer; the periodic tasks
therefore have their own queue, ``cron``, served by a plain ``rq worker``. Every task here is
idempotent, so an overlap or a rerun after a crash does no harm.

Cron expressions are in the scheduler host's local time.
"""

from __future__ import annotations

from rq import cron

from dispatch import wiring
from workers import (
    audit_tasks,
    care_tasks,
    outbox_tasks,
    sync_tasks,
    warranty_tasks,
    webhook_tasks,
    worklist_tasks,
)

wiring.install()  # the cron entry, like every process that writes, installs the hooks and the feed

QUEUE = "cron"
MAINTENANCE_LEAD_DAYS = 14
"""Maintenance jobs are created this many days before the unit falls due."""

cron.register(care_tasks.deliver_notifications, QUEUE, interval=60, job_timeout=300, name="deliver-notifications")
cron.register(webhook_tasks.deliver_webhooks, QUEUE, interval=30, job_timeout=300, name="deliver-webhooks")
cron.register(care_tasks.escalate_overdue_complaints, QUEUE, cron="5 * * * *", job_timeout=600,
              name="escalate-overdue-complaints")
cron.register(care_tasks.sync_maintenance_plans, QUEUE, cron="30 1 * * *", job_timeout=1800,
              name="sync-maintenance-plans")
cron.register(care_tasks.generate_maintenance_jobs, QUEUE, kwargs={"lead_days": MAINTENANCE_LEAD_DAYS},
              cron="0 2 * * *", job_timeout=3600, name="generate-maintenance-jobs")
cron.register(audit_tasks.draw_audit_samples, QUEUE, cron="30 0 * * *", job_timeout=1800,
              name="draw-audit-samples")
cron.register(worklist_tasks.refresh_worklists, QUEUE, cron="*/15 * * * *", job_timeout=900,
              name="refresh-worklists")
cron.register(warranty_tasks.remind_expiring_contracts, QUEUE, cron="0 9 * * *", job_timeout=1800,
              name="remind-expiring-contracts")
cron.register(audit_tasks.bind_audit_log_roots, QUEUE, interval=600, job_timeout=300,
              name="bind-audit-log-roots")
cron.register(sync_tasks.prune_sync_history, QUEUE, cron="15 3 * * *", job_timeout=1800,
              name="prune-sync-history")
cron.register(outbox_tasks.prune_outboxes, QUEUE, cron="45 3 * * *", job_timeout=1800, name="prune-outboxes")
