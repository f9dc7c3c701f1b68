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
from dispatch.customers import visits
from dispatch.customers.units import own_unit
from dispatch.customers.visits import Visit, as_visit, check_move, mark_reschedule, own_job, point_rules
from dispatch.errors import Conflict, ValidationFailed
from dispatch.geo import Location
from dispatch.i18n import N_
from dispatch.jobs import resolution
from dispatch.jobs import service as jobs
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Customer, JobType
from dispatch.routing import slots
from dispatch.uow import UnitOfWork

#: A visit the customer may still give a preferred window to (not booked yet).
UNBOOKED = frozenset({JobStatus.NEW, JobStatus.DISPATCHED, JobStatus.ON_HOLD})


def _place(session, who: CustomerPrincipal, location: dict | None) -> Location:
    if location is not None:
        return Location(location["lat"], location["lon"])
    me = session.get(Customer, who.customer_id)
    if me is None or me.lat is None or me.lon is None:
        raise ValidationFailed("lat", N_("say where the unit is (lat and lon), or save your location first"))
    return Location(me.lat, me.lon)


def unit_slots(uow: UnitOfWork, who: CustomerPrincipal, unit_id: uuid.UUID, *, type: JobType, first: date,
               last: date, radius_km: float, timezone: str, location: dict | None = None) -> slots.Offer:
    """Before reporting a fault: the windows the point that would take the job (the same intake
    rule) can offer at the unit's place, for a job of the unit's model and ``type``."""
    tz = ZoneInfo(timezone)
    slots.check_range(first, last, tz)
    with uow:
        session = uow.session
        unit = own_unit(session, who, unit_id)
        place = _place(session, who, location)
        point = resolution.resolve(session, category=unit.product.category, job_type=type,
                                   on=utcnow().astimezone(tz).date(), radius_km=radius_km, region_code=None,
                                   location=place).service_point_in(session)
        work = slots.Work(lat=place.lat, lon=place.lon, category=unit.product.category, job_type=type,
                          duration_minutes=unit.product.minutes_for(type))
        return slots.offered(session, point, work, first, last, tz, now=utcnow())


def report_and_book(uow_factory, who: CustomerPrincipal, *, slot: dict, radius_km: float, timezone: str,
                    **report) -> Visit:
    """Report a fault on a window picked from :func:`unit_slots`. The window is checked before
    anything is written (409 ``slot-taken`` if it is no longer offered); the job is then taken in
    with the window as its preferred one and booked on it under the point's lock. Should another
    customer take the window in between, the report stands, unbooked, with that preferred window
    (``status`` says ``dispatched``) and the customer picks another slot."""
    start, end = slot["window_start"], slot["window_end"]
    slots.check_window(start, end)
    tz = ZoneInfo(timezone)
    day = start.astimezone(tz).date()
    if day < utcnow().astimezone(tz).date():
        raise ValidationFailed("window_start", N_("the window is in the past"))
    offer = unit_slots(uow_factory(), who, report["unit_id"], type=report["type"], first=day, last=day,
                       radius_km=radius_km, timezone=timezone, location=report.get("location"))
    if not any(s.window_start == start and s.window_end == end for s in offer.slots):
        raise slots.SlotTaken(N_("no technician can serve the visit between {start} and {end} any more; "
                                 "ask for the slots again"),
                              params={"start": f"{start.astimezone(tz):%Y-%m-%d %H:%M}",
                                      "end": f"{end.astimezone(tz):%H:%M}"})
    job = visits.report_fault(uow_factory(), who, radius_km=radius_km, tz=timezone, window_start=start,
                              window_end=end, **report)
    try:
        return book_visit(uow_factory(), who, job.id, window_start=start, window_end=end, timezone=timezone)
    except slots.SlotTaken:
        return visits.get_visit(uow_factory(), who, job.id)


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
