"""Demo history: eight weeks of finished work per active point, so that the KPIs and the
maintenance plans have something to say.

Each point gets completed and closed repair, maintenance and install jobs with the full event
trail (created, dispatched, scheduled, en route, on site, completed, closed), ratings for most of
them, some repeat repairs within 30 days (first-time fix), some SLA misses, follow-up calls for the
unhappy customers and a few after-sales complaints. Points differ in quality so that the ranking
means something. Completed maintenance moves the unit's plan on.

Rows are written directly (as ``seeds.jobs`` does; one tamper-evident log entry per point lists
its imported jobs) and keyed by reference ``H-<point>-<nnn>`` (repeat repairs ``...R``); loading
twice adds nothing.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import User
from dispatch.care import complaints as care_complaints
from dispatch.care import maintenance
from dispatch.care import rules as care_rules
from dispatch.care.models import (
    Callback,
    CallbackOutcome,
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintOwner,
    ComplaintStatus,
    CustomerAnswer,
    ResolutionType,
    Rating,
    RatingSource,
)
from dispatch.clock import utcnow
from dispatch.jobs import rules as job_rules
from dispatch.jobs.models import (
    DispatchReason,
    EventKind,
    Job,
    JobEvent,
    JobStatus,
    Priority,
    SlaTarget,
    WarrantyDecision,
)
from dispatch.network import rules as network_rules
from dispatch.network.models import (
    AuthorisationStatus,
    Customer,
    JobType,
    Product,
    ProductCategory,
    ServicePoint,
    Technician,
    Unit,
)
from dispatch.network.regions import district_index
from dispatch.network.service_points import authorised_point_for
from seeds import SeedContext

DAYS = 56
JOBS_PER_POINT = 32
# How well each point works (0..1): drives SLA misses, repeat repairs, slow visits and ratings.
QUALITY = {"HZ01": 0.92, "HZ02": 0.8, "NB01": 0.86, "NB02": 0.72, "SZ01": 0.95, "SZ02": 0.62}
TYPES = ([JobType.REPAIR, JobType.MAINTENANCE, JobType.INSTALL], [45, 30, 25])
UNHAPPY = ["The technician was late and did not call", "Same leak came back after a week",
           "Left the kitchen dirty", "Had to explain the problem three times"]
HAPPY = ["Quick and tidy, thank you", "Explained everything clearly", "", "", "Arrived on time"]


@dataclass
class _Visit:
    reference: str
    type: JobType
    customer: Customer
    unit: Unit | None
    product: Product
    reported: datetime
    start: datetime


def _pools(ctx: SeedContext, points: list[ServicePoint]) -> dict[Any, list[tuple[Customer, list[Unit]]]]:
    """Customers (with their activated units) by the point authorised for their district."""
    session = ctx.session
    index = district_index(session)
    units: dict[Any, list[Unit]] = {}
    for unit in session.scalars(select(Unit).where(Unit.customer_id.is_not(None))
                                .options(selectinload(Unit.product)).order_by(Unit.serial)):
        units.setdefault(unit.customer_id, []).append(unit)
    by_id = {p.id: p for p in points}
    memo: dict[Any, Any] = {}
    pools: dict[Any, list[tuple[Customer, list[Unit]]]] = {}
    for customer in session.scalars(select(Customer).where(Customer.lat.is_not(None)).order_by(Customer.phone)):
        region_id = index.locate(customer.lat, customer.lon)
        if region_id is None:
            continue
        if region_id not in memo:
            memo[region_id] = authorised_point_for(session, region_id, ProductCategory.WATER_PURIFIER, ctx.today)
        point = memo[region_id]
        if point is not None and point.id in by_id:
            pools.setdefault(point.id, []).append((customer, units.get(customer.id, [])))
    return pools


def _technician(technicians: list[Technician], visit: _Visit, rng: random.Random) -> Technician | None:
    able = [t for t in technicians if network_rules.has_skill(t, visit.product.category, visit.type)]
    return rng.choice(able) if able else None


class _History:
    def __init__(self, ctx: SeedContext, targets: dict, admin_id, now: datetime) -> None:
        self.ctx, self.session, self.targets, self.admin_id, self.now = ctx, ctx.session, targets, admin_id, now
        self.jobs: list[Job] = []
        self.added: dict[str, int] = {}

    def count(self, table: str) -> None:
        self.added[table] = self.added.get(table, 0) + 1

    @staticmethod
    def event(job: Job, kind: EventKind, to: JobStatus, at: datetime, actor_id, data: dict | None = None) -> None:
        job.events.append(JobEvent(seq=len(job.events) + 1, kind=kind, from_status=job.status if job.events else None,
                                   to_status=to, actor_id=actor_id, at=at,
                                   recorded_at=at if to in job_rules.FIELD_STATUSES else None,
                                   lat=job.lat if to in job_rules.FIELD_STATUSES else None,
                                   lon=job.lon if to in job_rules.FIELD_STATUSES else None, data=data or {}))
        job.status = to

    def write(self, visit: _Visit, point: ServicePoint, technician: Technician, manager_id, quality: float,
              rng: random.Random) -> Job:
        """One finished job and its trail; the point's quality shapes how the visit went."""
        grade = visit.customer.grade
        target = self.targets.get((visit.type, Priority.NORMAL, grade))
        job = Job(id=uuid.uuid4(), reference=visit.reference, type=visit.type, priority=Priority.NORMAL, customer_id=visit.customer.id,
                  unit_id=visit.unit.id if visit.unit else None, product_id=visit.product.id,
                  service_point_id=point.id, technician_id=technician.id, address=visit.customer.address,
                  lat=visit.customer.lat, lon=visit.customer.lon, description=f"history: {visit.type.value}",
                  reported_at=visit.reported, dispatch_reason=DispatchReason.POLYGON, out_of_area=False,
                  duration_minutes=visit.product.minutes_for(visit.type), created_by=self.admin_id,
                  status=JobStatus.NEW)
        if target is not None:
            job.sla_due_at, job.sla_at_risk_at = job_rules.sla_deadlines(visit.reported, target.hours,
                                                                          target.at_risk_hours)
            job.sla_target_hours = target.hours
        if visit.type == JobType.REPAIR and visit.unit is not None:
            covered = network_rules.in_warranty(visit.unit, visit.reported.date())
            job.warranty_decision = WarrantyDecision.COVERED if covered else WarrantyDecision.CHARGEABLE
            job.labour_covered = job.parts_covered = covered
            job.warranty_until = network_rules.warranty_until(visit.unit)
        start = visit.start
        if job.sla_due_at is not None and rng.random() > quality:  # a late visit: SLA missed
            late = job.sla_due_at + timedelta(hours=rng.randint(1, 20))
            start = late if late < self.now - timedelta(hours=8) else start
        assigned = visit.reported + timedelta(minutes=rng.randint(20, 120))
        leave = start - timedelta(minutes=rng.randint(12, 45) + int((1 - quality) * 30))
        arrive = start + timedelta(minutes=rng.randint(-5, 10))
        on_site = max(10, round(job.duration_minutes * (1 + rng.gauss(0.4 * (1 - quality), 0.12))))
        done = arrive + timedelta(minutes=on_site)
        job.scheduled_start, job.scheduled_end = start, start + timedelta(minutes=job.duration_minutes)
        job.arrived_at, job.completed_at = arrive, done
        self.event(job, EventKind.CREATED, JobStatus.NEW, visit.reported, self.admin_id)
        self.event(job, EventKind.TRANSITION, JobStatus.DISPATCHED, visit.reported, self.admin_id,
                   {"service_point_id": str(point.id), "service_point_code": point.code})
        self.event(job, EventKind.ASSIGNMENT, JobStatus.SCHEDULED, min(assigned, leave), manager_id,
                   {"technician_id": str(technician.id), "scheduled_start": start.isoformat()})
        self.event(job, EventKind.TRANSITION, JobStatus.EN_ROUTE, leave, technician.user_id)
        self.event(job, EventKind.TRANSITION, JobStatus.ON_SITE, arrive, technician.user_id)
        self.event(job, EventKind.TRANSITION, JobStatus.COMPLETED, done, technician.user_id)
        closed = done + timedelta(hours=rng.randint(20, 60))
        if closed < self.now:
            job.closed_at = closed
            self.event(job, EventKind.TRANSITION, JobStatus.CLOSED, closed, manager_id)
        self.session.add(job)
        self.jobs.append(job)
        self.count("jobs")
        return job

    def follow_up(self, job: Job, quality: float, rng: random.Random) -> None:
        """The customer's rating (most rate), a call to the unhappy ones, sometimes a complaint."""
        if rng.random() > 0.75:
            return
        weights = [quality ** 3 * 60, 25, 10 * (1.2 - quality), 8 * (1.1 - quality), 6 * (1 - quality)]
        score = rng.choices([5, 4, 3, 2, 1], weights)[0]
        rated_at = min(job.completed_at + timedelta(hours=rng.randint(1, 40)), self.now - timedelta(minutes=5))
        self.session.add(Rating(job_id=job.id, score=score, source=RatingSource.LINK, created_at=rated_at,
                                comment=rng.choice(UNHAPPY if score <= 2 else HAPPY)))
        self.count("ratings")
        if score > 2:
            return
        called = min(rated_at + timedelta(hours=rng.randint(2, 24)), self.now - timedelta(minutes=1))
        self.session.add(Callback(job_id=job.id, outcome=CallbackOutcome.REACHED, satisfied=False,
                                  comment="Apologised; the point will call back to arrange a revisit",
                                  actor_id=self.admin_id, at=called))
        self.count("callbacks")
        if rng.random() < 0.5:
            self.complaint(job, called, rng)

    def complaint(self, job: Job, received: datetime, rng: random.Random) -> None:
        category = ComplaintCategory.AFTER_SALES
        due = care_rules.complaint_due_at(received, care_rules.DEFAULT_RESOLVE_HOURS[category])
        flow = [ComplaintStatus.RECEIVED, ComplaintStatus.CLASSIFIED, ComplaintStatus.INVESTIGATING,
                ComplaintStatus.SOLUTION_PROPOSED, ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED]
        reached = flow[-1] if due < self.now - timedelta(days=3) else rng.choice(flow[:4])
        complaint = Complaint(reference=f"CP-{job.reference}", category=category, status=reached,
                              customer_id=job.customer_id, unit_id=job.unit_id, job_id=job.id,
                              service_point_id=job.service_point_id, summary="Unhappy with the visit",
                              description="Raised on the follow-up call", received_at=received, due_at=due,
                              created_by=self.admin_id)
        steps = flow[: flow.index(reached) + 1]
        span = min(due, self.now) - received
        for index, status in enumerate(steps):
            at = received + span * index / len(steps)
            note = "Free revisit and filter replacement" if status in care_rules.NOTE_REQUIRED else ""
            complaint.events.append(ComplaintEvent(kind="received" if index == 0 else "transition",
                                                   from_status=steps[index - 1] if index else None, to_status=status,
                                                   note=note, actor_id=self.admin_id, at=at))
            if note:
                complaint.resolution = note
            if status == ComplaintStatus.RESOLVED:
                complaint.resolved_at = at
            if status == ComplaintStatus.CLOSED:
                complaint.closed_at = at
        if reached in care_rules.OPEN_COMPLAINT and due < self.now:
            complaint.escalated_at = due + timedelta(minutes=5)
            complaint.events.append(ComplaintEvent(kind="escalated", from_status=reached, to_status=reached,
                                                   note="deadline missed", at=complaint.escalated_at))
        complaint.channel = ComplaintChannel.PHONE
        complaint.owner = care_rules.complaint_owner(category, job.service_point_id, False,
                                                     complaint.escalated_at is not None)
        if reached == ComplaintStatus.SOLUTION_PROPOSED:
            complaint.resolution_type = ResolutionType.REPAIR
        elif flow.index(reached) > flow.index(ComplaintStatus.SOLUTION_PROPOSED):
            complaint.resolution_type, complaint.customer_answer = ResolutionType.REPAIR, CustomerAnswer.ACCEPTED
        if complaint.owner == ComplaintOwner.POINT:
            complaint.owner_user_id = care_complaints.point_manager(self.session, job.service_point_id)
        self.session.add(complaint)
        self.count("complaints")


def _visits(ctx: SeedContext, point: ServicePoint, pool, now: datetime) -> list[_Visit]:
    """The point's finished visits (plus repeat repairs), deterministic per reference.

    Units are visited in a shuffled order, repairs taking them from one end and maintenance from
    the other, with the units that have a repair in today's demo work at the maintenance end: the
    repeat repairs within 30 days are then mostly the ones made on purpose.
    """
    owned = [(customer, unit) for customer, units in pool for unit in units]
    random.Random(f"history-units:{point.code}").shuffle(owned)
    busy = ctx.cache["units_with_open_repairs"]
    owned.sort(key=lambda pair: pair[1].id in busy)  # stable: units called out today come last
    quality = QUALITY.get(point.code, 0.8)
    visits: list[_Visit] = []
    next_front = next_back = 0
    for n in range(1, JOBS_PER_POINT + 1):
        reference = f"H-{point.code}-{n:03d}"
        rng = random.Random(reference)
        job_type = rng.choices(*TYPES)[0]
        if job_type == JobType.INSTALL or not owned:
            customer, _units = rng.choice(pool)
            unit, product = None, rng.choice(ctx.cache["history_products"])
        else:  # repairs from the front of the queue, maintenance from the back
            front = job_type == JobType.REPAIR
            customer, unit = owned[(next_front if front else -1 - next_back) % len(owned)]
            next_front, next_back = next_front + front, next_back + (not front)
            product = unit.product
        day = ctx.today - timedelta(days=rng.randint(3, DAYS))
        reported = ctx.local(day, rng.randint(8, 17), rng.choice([0, 15, 30, 45]))
        start = ctx.local(day + timedelta(days=rng.randint(0, 2)), rng.randint(9, 15), rng.choice([0, 30]))
        start = max(start, reported + timedelta(hours=2))
        visits.append(_Visit(reference, job_type, customer, unit, product, reported, start))
        if job_type == JobType.REPAIR and unit is not None and rng.random() > quality + 0.03:
            back = start + timedelta(days=rng.randint(4, 25), hours=rng.randint(0, 5))
            if back < now - timedelta(days=2):
                visits.append(_Visit(f"{reference}R", JobType.REPAIR, customer, unit, product, back,
                                     back + timedelta(hours=rng.randint(4, 30))))
    return visits


def seed(ctx: SeedContext) -> dict[str, int]:
    session, now = ctx.session, utcnow()
    existing = set(session.scalars(select(Job.reference).where(Job.reference.like("H-%"))))
    users = {u.username: u.id for u in session.scalars(select(User))}
    admin_id = users["admin"]
    targets = {(t.job_type, t.priority, t.customer_grade): t for t in session.scalars(select(SlaTarget))}
    points = session.scalars(select(ServicePoint).where(ServicePoint.status == AuthorisationStatus.ACTIVE)
                             .order_by(ServicePoint.code)).all()
    ctx.cache["history_products"] = session.scalars(select(Product).order_by(Product.sku)).all()
    ctx.cache["units_with_open_repairs"] = set(session.scalars(
        select(Job.unit_id).where(Job.type == JobType.REPAIR, Job.unit_id.is_not(None),
                                  Job.reference.not_like("H-%"))))
    pools = _pools(ctx, points)
    history = _History(ctx, targets, admin_id, now)
    for point in points:
        pool = pools.get(point.id, [])
        technicians = session.scalars(
            select(Technician).where(Technician.service_point_id == point.id, Technician.active.is_(True))
            .options(selectinload(Technician.skills)).order_by(Technician.name, Technician.id)).all()
        if not pool or not technicians:
            continue
        quality = QUALITY.get(point.code, 0.8)
        manager_id = users.get(f"manager.{point.code.lower()}", admin_id)
        written = []
        for visit in _visits(ctx, point, pool, now):
            rng = random.Random(f"history:{visit.reference}")
            technician = _technician(technicians, visit, rng)
            if visit.reference in existing or technician is None:
                continue
            written.append((history.write(visit, point, technician, manager_id, quality, rng), rng))
        session.flush()  # the jobs first: ratings, callbacks and complaints refer to them
        for job, rng in written:
            history.follow_up(job, quality, rng)
    session.flush()
    with session.no_autoflush:  # one flush at the end, not one per plan moved on
        for job in sorted(history.jobs, key=lambda j: j.completed_at):
            if job.type == JobType.MAINTENANCE and job.unit_id is not None:
                maintenance.record_completion(session, job.unit_id, job.completed_at.astimezone(ctx.tz).date(),
                                              job.service_point_id)
    for point in points:  # one log entry per point for its imported history (an entry per job costs ~1 s)
        imported = [job for job in history.jobs if job.service_point_id == point.id]
        if imported:
            audit_log.append(session, kind="jobs.history_seeded", subject_id=point.id, actor_id=admin_id,
                             payload={"service_point": point.code, "seeded": True, "jobs": [
                                 {"id": str(j.id), "reference": j.reference, "status": j.status.value,
                                  "completed_at": j.completed_at.isoformat()} for j in imported]})
    return history.added
