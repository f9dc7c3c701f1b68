"""How after-sales care follows a job's life, inside the job's own transaction.

- scheduled (a technician and a slot): the customer gets the ETA, unless that time has passed;
  a reschedule supersedes the unsent earlier message (one pending message per job and purpose);
- en route: the customer learns the technician is on the way (with the ETA only when the slot is
  today and still ahead);
- cancelled, put on hold or unscheduled: unsent "scheduled" and "on the way" messages are withdrawn;
- completed: the customer gets a rating link; a maintenance job moves its unit's plan on;
- a plan's maintenance job taken in: it is linked to its due date and the customer reminded;
- a plan's maintenance job cancelled: that cycle is skipped;
- a visit closed as a customer no-show (cancelled with ``outcome: no_show``): a callback is opened
  on the point's worklist to arrange a new visit.

Messages go to the outbox in the same transaction, so a change that rolls back sends nothing.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from dispatch.care import maintenance, notifications, rules
from dispatch.care.models import CallbackItem, CallbackItemStatus
from dispatch.care.templates import Template
from dispatch.clock import zone
from dispatch.jobs.hooks import JobChange
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Customer, JobType, Product, Technician, Unit

NETWORK_TZ = zone()
"""Hooks get no settings; the completion day is taken in the network's default local time
(:func:`dispatch.clock.zone` without a zone)."""


TIMED = (Template.JOB_SCHEDULED, Template.TECHNICIAN_EN_ROUTE)
"""Messages announcing a time: withdrawn when the visit no longer happens at it."""
WITHDRAWN_ON = frozenset({JobStatus.CANCELLED, JobStatus.ON_HOLD, JobStatus.DISPATCHED})


def _facts(change: JobChange, template: str) -> dict[str, str | None]:
    """The message's facts; times in the customer's local time (the network's time zone)."""
    job, session = change.job, change.session
    product = session.get(Product, job.product_id)
    technician = session.get(Technician, job.technician_id) if job.technician_id else None
    return {
        "job_id": str(job.id), "reference": job.reference, "job_type": job.type.value,
        "product": product.name if product else "", "technician": technician.name if technician else None,
        "eta": rules.eta_for(template, job.scheduled_start, change.at, NETWORK_TZ),
    }


def _notify(change: JobChange, template: str, payload: dict, *, by_email_too: bool = False) -> None:
    job: Job = change.job
    customer = change.session.get(Customer, job.customer_id)
    notifications.notify_customer(change.session, customer, template, payload, job_id=job.id,
                                  service_point_id=job.service_point_id, by_email_too=by_email_too)


def _done_on(change: JobChange) -> date:
    return (change.job.completed_at or change.at).astimezone(NETWORK_TZ).date()


def follow_the_customer(change: JobChange) -> None:
    if change.to_status == JobStatus.SCHEDULED:
        facts = _facts(change, Template.JOB_SCHEDULED)
        if facts["eta"] is None:  # no time to announce (already past): withdraw what was queued
            notifications.supersede(change.session, change.job.id, [Template.JOB_SCHEDULED])
        else:
            _notify(change, Template.JOB_SCHEDULED, facts)
    elif change.to_status == JobStatus.EN_ROUTE:
        _notify(change, Template.TECHNICIAN_EN_ROUTE, _facts(change, Template.TECHNICIAN_EN_ROUTE))
    elif change.to_status == JobStatus.COMPLETED:
        _notify(change, Template.JOB_COMPLETED, _facts(change, Template.JOB_COMPLETED))
    elif change.to_status in WITHDRAWN_ON:
        notifications.supersede(change.session, change.job.id, TIMED,
                                reason=f"withdrawn: the visit is {change.to_status.value}")


def follow_maintenance_plans(change: JobChange) -> None:
    job = change.job
    if job.type != JobType.MAINTENANCE or job.unit_id is None:
        return
    if change.to_status == JobStatus.DISPATCHED and change.from_status == JobStatus.NEW:
        linked = maintenance.link_claimed_job(change.session, job)
        if linked is None:
            return
        _plan, due_on = linked
        unit = change.session.get(Unit, job.unit_id)
        _notify(change, Template.MAINTENANCE_DUE,
                {**_facts(change, Template.MAINTENANCE_DUE), "serial": unit.serial, "due_on": due_on.isoformat()}, by_email_too=True)
    elif change.to_status == JobStatus.COMPLETED:
        maintenance.record_completion(change.session, job.unit_id, _done_on(change), job.service_point_id)
    elif change.to_status == JobStatus.CANCELLED:
        maintenance.record_cancellation(change.session, job.id)


NO_SHOW = "no_show"  # why a callback item was opened: the customer was not there


def call_back_after_a_no_show(change: JobChange) -> None:
    if change.to_status != JobStatus.CANCELLED or (change.data or {}).get("outcome") != NO_SHOW:
        return
    session, job = change.session, change.job
    if session.scalar(select(CallbackItem.id).where(CallbackItem.job_id == job.id,
                                                    CallbackItem.reason == NO_SHOW)) is not None:
        return
    session.add(CallbackItem(job_id=job.id, service_point_id=job.service_point_id, reason=NO_SHOW,
                             comment=change.reason, status=CallbackItemStatus.OPEN, opened_at=change.at,
                             due_at=rules.callback_due_at(change.at), attempts=0))
