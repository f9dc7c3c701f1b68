"""A technician's calendar: the booked visits, never two at once, with time to drive between.

The calendar is not a table of its own: it is the technician's jobs that hold a slot (scheduled,
en route, on site), as the lead or as a helper of a crew job (both are booked for the same slot). Every way a slot is written (a manager's assignment, an applied route plan,
an urgent insertion) goes through :func:`dispatch.jobs.service.schedule_job`, which takes
:func:`lock` before it writes and :func:`ensure_free` after, in the same transaction. So the
calendar is one source of truth, and of two concurrent bookings for one technician the second
waits for the first and then sees it (the technician row is locked ``FOR UPDATE`` on PostgreSQL;
SQLite has one writer at a time).

Between two visits the technician needs the drive from one site to the next, estimated as the
route planner estimates it (:func:`dispatch.geo.drive_seconds` at the point's speed), so a plan
the planner made never clashes here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dispatch import geo
from dispatch.errors import Conflict
from dispatch.jobs.models import Job, JobHelper, JobStatus
from dispatch.network.models import ServicePoint, Technician

#: Statuses in which a job holds its technician's time.
BOOKED = (JobStatus.SCHEDULED, JobStatus.EN_ROUTE, JobStatus.ON_SITE)
#: How far around a changed slot other bookings are looked at (longer than any visit and drive).
REACH = timedelta(hours=14)


class DoubleBooking(Conflict):
    code = "double-booking"
    title = "The technician is already booked then"


@dataclass(frozen=True)
class Booking:
    job_id: uuid.UUID
    reference: str
    start: datetime
    end: datetime
    lat: float | None
    lon: float | None


def lock(session: Session, technician_id: uuid.UUID) -> None:
    """Hold the technician's calendar until the transaction ends (PostgreSQL row lock; a no-op
    on SQLite, whose write transactions already run one at a time)."""
    session.execute(select(Technician.id).where(Technician.id == technician_id).with_for_update())


def worked_by(technician_id: uuid.UUID):
    """Jobs the technician works on: as the lead, or as a crew helper."""
    helping = select(JobHelper.job_id).where(JobHelper.technician_id == technician_id)
    return or_(Job.technician_id == technician_id, Job.id.in_(helping))


def bookings(session: Session, technician_id: uuid.UUID, start: datetime, end: datetime) -> list[Booking]:
    """The technician's booked visits (lead or helper) overlapping ``[start, end)``, by start time."""
    rows = session.execute(
        select(Job.id, Job.reference, Job.scheduled_start, Job.scheduled_end, Job.lat, Job.lon)
        .where(worked_by(technician_id), Job.status.in_(BOOKED),
               Job.scheduled_start.is_not(None), Job.scheduled_start < end, Job.scheduled_end > start)
        .order_by(Job.scheduled_start, Job.id)
    ).all()
    return [Booking(*row) for row in rows]


def _drive_s(a: Booking, b: Booking, speed_kmh: float) -> int:
    if None in (a.lat, a.lon, b.lat, b.lon):
        return 0
    return geo.drive_seconds(a.lat, a.lon, b.lat, b.lon, speed_kmh=speed_kmh)


def ensure_free(session: Session, technician_id: uuid.UUID, changed: Iterable[uuid.UUID], *,
                tz: tzinfo | None = None) -> None:
    """After a transaction's slot writes (flushed): each changed job's visit neither overlaps
    another booked visit of ``technician_id`` nor leaves too little time to drive between them.
    Raises :class:`DoubleBooking` (409) naming the clashing job (times in ``tz``, the network's
    local time)."""
    changed_ids = set(changed)
    mine = _changed_bookings(session, technician_id, changed_ids)
    if not mine:
        return
    speed = session.scalar(select(ServicePoint.travel_speed_kmh).join(
        Technician, Technician.service_point_id == ServicePoint.id).where(Technician.id == technician_id))
    speed = speed or geo.DEFAULT_SPEED_KMH
    window_start = min(b.start for b in mine) - REACH
    window_end = max(b.end for b in mine) + REACH
    day = bookings(session, technician_id, window_start, window_end)
    for before, after in zip(day, day[1:]):
        if before.job_id not in changed_ids and after.job_id not in changed_ids:
            continue  # a clash between two untouched bookings is not this change's doing
        drive = timedelta(seconds=_drive_s(before, after, speed))
        if after.start < before.end + drive:
            booked, other = (after, before) if after.job_id in changed_ids else (before, after)
            start, end = (other.start.astimezone(tz), other.end.astimezone(tz)) if tz else (other.start, other.end)
            minutes = int(drive.total_seconds() // 60)
            raise DoubleBooking(
                f"the technician is already booked for job {other.reference} from {start:%Y-%m-%d %H:%M} "
                f"to {end:%H:%M}" + ("" if after.start < before.end
                                     else f", and the drive between the two sites takes {minutes} min"),
                clashing_job_id=str(other.job_id), clashing_job_reference=other.reference,
                clashing_start=start.isoformat(), clashing_end=end.isoformat(),
                job_reference=booked.reference, travel_minutes=minutes,
            )


def _changed_bookings(session: Session, technician_id: uuid.UUID, job_ids: set[uuid.UUID]) -> list[Booking]:
    if not job_ids:
        return []
    rows = session.execute(
        select(Job.id, Job.reference, Job.scheduled_start, Job.scheduled_end, Job.lat, Job.lon)
        .where(Job.id.in_(job_ids), worked_by(technician_id), Job.status.in_(BOOKED),
               Job.scheduled_start.is_not(None))
    ).all()
    return [Booking(*row) for row in rows]
