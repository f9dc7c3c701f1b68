"""The composition root of the domains: what runs when a job changes, which rows the
tamper-evident log seals, and what listens to the session, built in one place and installed
explicitly by every process (the app factory, the RQ workers, the ``rq cron`` entry and the
seeds), never as a side effect of what a process happened to import.

Each hook is named here by attribute, so a renamed or missing one fails at import, loudly.
"""

from __future__ import annotations

from dispatch.audit_log import seals
from dispatch.audits import seals as audits_seals
from dispatch.audits.models import Audit
from dispatch.care import job_hooks as care_hooks
from dispatch.care.models import Complaint
from dispatch.integrations import job_hooks as integrations_hooks
from dispatch.integrations import outbox, prompt
from dispatch.integrations import watchers as webhook_watchers
from dispatch.jobs import hooks
from dispatch.network import index as network_index
from dispatch.network import seals as network_seals
from dispatch.sop import job_hooks as sop_hooks
from dispatch.sop import seals as sop_seals
from dispatch.sop.models import Checklist
from dispatch.stock import job_hooks as stock_hooks
from dispatch.stock import seals as stock_seals
from dispatch.stock.models import StockMovement, WarrantyClaim
from dispatch.sync import feed
from dispatch.warranty import job_hooks as warranty_hooks

JOB_HOOKS_BEFORE: tuple[hooks.Hook, ...] = (
    sop_hooks.refuse_completion_while_checklist_incomplete,  # the SOP completion gate
    warranty_hooks.refuse_completion_without_fault_cause,  # a repair closes with its fault cause
)
"""Run before a job changes status; raising refuses the change."""

JOB_HOOKS_AFTER: tuple[hooks.Hook, ...] = (
    sop_hooks.keep_checklist_in_step_with_job,  # checklist created when scheduled, frozen when done
    stock_hooks.keep_reservations_in_step,  # parts reserved, released, moved with a transfer
    care_hooks.follow_the_customer,  # messages to the customer, rating link, callbacks
    care_hooks.follow_maintenance_plans,  # a completed maintenance visit moves its plan on
    care_hooks.call_back_after_a_no_show,  # a no-show opens a callback item
    warranty_hooks.bill_jobs_under_contract,  # a unit under a service contract: the contract pays
    integrations_hooks.publish_job_events,  # job.created/dispatched/scheduled/status_changed/completed to webhooks
)
"""Run after the change is flushed, in the same transaction, in this order."""

WEBHOOK_WATCHERS: tuple[tuple[type, outbox.Watcher], ...] = (
    (Checklist, webhook_watchers.checklist_completed),  # checklist.completed
    (Audit, webhook_watchers.audit_verdict),  # audit.verdict
    (StockMovement, webhook_watchers.stock_movement_noted),  # notes the movements of each level
    (WarrantyClaim, webhook_watchers.claim_decided),  # claim.decided
    (Complaint, webhook_watchers.complaint_opened_or_escalated),  # complaint.opened, complaint.escalated
)
"""Objects whose flushed changes are outbound events (the outbox's session listener runs them)."""

WEBHOOK_AT_COMMIT = (
    webhook_watchers.stock_below_minimum,  # stock.below_minimum: the ledger moves levels without the ORM
)
"""Run just before a transaction commits; ``webhook_watchers.forget_stock_notes`` on rollback."""


SEALED_TABLES = (*sop_seals.SEALS, *audits_seals.SEALS, *stock_seals.SEALS, *network_seals.SEALS)
"""The rows the tamper-evident log vouches for, each domain's specs (dispatch.audit_log.seals)."""


def install() -> None:
    """Install the job-lifecycle hook table, the sealed tables, the sync feed's listeners, the
    webhook outbox's (and its prompt delivery after commit), and the one that keeps job
    resolution's network index honest inside a transaction that changes the network (idempotent:
    a table already installed, e.g. a test's narrower one, is left as it is)."""
    if not hooks.installed():
        hooks.install(before=JOB_HOOKS_BEFORE, after=JOB_HOOKS_AFTER)
    if not seals.installed():
        seals.install(SEALED_TABLES)
    feed.install()
    outbox.install(WEBHOOK_WATCHERS, at_commit=WEBHOOK_AT_COMMIT, on_rollback=(webhook_watchers.forget_stock_notes,))
    prompt.install()  # after a commit that wrote webhook deliveries: enqueue their delivery (when a queue is bound)
    network_index.install()


def installed() -> bool:
    return (hooks.installed() and seals.installed() and feed.installed() and outbox.installed()
            and prompt.installed() and network_index.installed())
