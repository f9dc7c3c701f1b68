"""The customer picks a time for their own visit: the offered slots, booking one (or moving a
booked visit to another one, within the point's rules), or a preferred window for the point.

The same service as the staff's booking (:func:`dispatch.routing.slots.book_job`): the point's row
lock and the technician's calendar, so of two customers taking the last window the second gets 409
``slot-taken``. Another customer's job answers 404 like a missing one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dispatch.auth.principal import SYSTEM, CustomerPrincipal
from dispatch.clock import utcnow
from dispatch.customers.visits import Visit, as_visit, check_move, mark_reschedule, own_job, point_rules
from dispatch.errors import Conflict, ValidationFailed
from dispatch.i18n import N_
from dispatch.jobs import service as jobs
from dispatch.jobs.models import Job, JobStatus
from dispatch.routing import slots
from dispatch.uow import UnitOfWork

#: A visit the customer may still give a preferred window to (not booked yet).
UNBOOKED = frozenset({JobStatus.NEW, JobStatus.DISPATCHED, JobStatus.ON_HOLD})


def visit_slots(uow: UnitOfWork, who: CustomerPrincipal, job_id: uuid.UUID, *, first: date, last: date,
                timezone: str) -> slots.Offer:
    """The windows offered for the customer's own visit (none once it is under way or done)."""
    tz = ZoneInfo(timezone)
    slots.check_range(first, last, tz)
    with uow:
        return slots.offer_for(uow.session, own_job(uow.session, who, job_id), first, last, tz)


def book_visit(uow: UnitOfWork, who: CustomerPrincipal, job_id: uuid.UUID, *, window_start: datetime,
               window_end: datetime, timezone: str) -> Visit:
    """Book an offered window for the customer's visit. A visit that is booked already moves to the
    new window: that is a reschedule, within the point's notice and number of changes (422)."""
    slots.check_window(window_start, window_end)
    with uow:
        session = uow.session
        job = own_job(session, who, job_id, lock=True)
        moving = job.status == JobStatus.SCHEDULED

        def rules(locked: Job) -> None:
            if moving:
                check_move(locked, point_rules(session, locked), utcnow())

        slots.book_job(session, job, SYSTEM, window_start=window_start, window_end=window_end,
                       tz=ZoneInfo(timezone), before=rules,
                       reason="the customer moved the visit to" if moving else "the customer booked the window")
        if moving:
            mark_reschedule(session, job, window_start=window_start, window_end=window_end)
        uow.commit()
        return as_visit(session, job)


def prefer_window(uow: UnitOfWork, who: CustomerPrincipal, job_id: uuid.UUID, *, window_start: datetime,
                  window_end: datetime) -> Visit:
    """A preferred window for a visit not booked yet: the point plans it there (it is no change of
    a booking, so it does not count against the point's rules). A booked visit is moved instead."""
    slots.check_window(window_start, window_end)
    if window_start < utcnow():
        raise ValidationFailed("window_start", N_("the preferred window has passed"))
    with uow:
        session = uow.session
        job = own_job(session, who, job_id, lock=True)
        if job.status not in UNBOOKED:
            raise Conflict(N_("the visit is {status}; pick another slot or ask to reschedule it"),
                           params={"status": job.status.value}, current=job.status.value)

        def new_window() -> None:
            job.window_start, job.window_end = window_start, window_end

        jobs.record_note(session, job, SYSTEM, reason="the customer gave a preferred window", apply=new_window,
                         data={"preferred_window": True, "window_start": window_start.isoformat(),
                               "window_end": window_end.isoformat()})
        uow.commit()
        return as_visit(session, job)
