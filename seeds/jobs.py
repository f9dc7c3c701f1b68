"""Demo jobs: the SLA target table and a realistic day of about 200 jobs across the active points.

Per point: the next working day's work waiting to be planned (dispatched, with the customers'
windows) plus a few already scheduled (the next day on which the whole team works, so a weekend or
a holiday never leaves the demo with a day nobody can plan); today's jobs in every field state (scheduled later today, en route, on
site, on hold for parts, completed); yesterday's closed job; a cancellation; one job whose SLA is
breached and one at risk. Each job carries the event history the lifecycle would have written and
an audit-log entry.

The rows are built here rather than through ``dispatch.jobs.service`` on purpose: the lifecycle
hooks of other domains (SOP checklists, stock reservations) would run before their own demo data
exists (their steps come later in ``seeds.STEPS``); those steps add what they need for these jobs.
Jobs are keyed by reference (``DEMO-<point>-<nnn>``), independent of the day the demo is loaded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import User
from dispatch.clock import utcnow
from dispatch.jobs import rules
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
    CustomerGrade,
    JobType,
    Product,
    ProductCategory,
    Region,
    ServicePoint,
    Technician,
    Unit,
)
from dispatch.network.regions import district_index
from dispatch.network.service_points import authorised_point_for
from seeds import SeedContext

# On site within N hours of intake: (job type, grade) -> hours for low, normal, high, urgent.
SLA_HOURS = {
    (JobType.REPAIR, CustomerGrade.STANDARD): (72, 48, 24, 8),
    (JobType.REPAIR, CustomerGrade.VIP): (48, 24, 12, 4),
    (JobType.INSTALL, CustomerGrade.STANDARD): (120, 72, 48, 24),
    (JobType.INSTALL, CustomerGrade.VIP): (96, 48, 24, 12),
    (JobType.MAINTENANCE, CustomerGrade.STANDARD): (240, 168, 96, 48),
    (JobType.MAINTENANCE, CustomerGrade.VIP): (168, 120, 72, 24),
}
PRIORITY_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)

# (scenario, jobs per point): 34 per point, 204 over the six active points.
SCENARIOS = [
    ("next_day_open", 18),
    ("next_day_scheduled", 4),
    ("today_scheduled", 2),
    ("en_route", 1),
    ("on_site", 2),
    ("on_hold", 1),
    ("completed_today", 2),
    ("closed_yesterday", 1),
    ("cancelled", 1),
    ("breached", 1),
    ("at_risk", 1),
]
WINDOWS = [(9, 0, 11, 0), (10, 0, 12, 0), (13, 0, 15, 0), (14, 0, 16, 0), (9, 0, 13, 0), (13, 0, 17, 0),
           (15, 0, 17, 0), (8, 30, 10, 30)]
PROBLEMS = {
    JobType.REPAIR: ["leaking under the sink", "no hot water", "error code E3 on the display", "low flow rate",
                     "strange noise when heating", "water tastes odd", "pressure relief valve dripping",
                     "does not power on"],
    JobType.MAINTENANCE: ["scheduled filter change", "annual service", "descaling and anode check",
                          "membrane replacement due"],
    JobType.INSTALL: ["new installation, kitchen", "replace old unit", "install in the bathroom",
                      "install after renovation"],
}
HOLD_REASONS = ["waiting for parts: RO membrane", "waiting for parts: heating element",
                "waiting for parts: control board"]


def _point_for(session, memo: dict, region: Region, category: ProductCategory, day) -> ServicePoint | None:
    """The authorised point of (region, category) on ``day``, memoised in ``memo`` for this load."""
    key = (region.id, category, day)
    if key not in memo:
        memo[key] = authorised_point_for(session, region.id, category, day)
    return memo[key]


def _at_risk_hours(hours: int) -> int:
    return max(1, min(8, hours // 6))


@dataclass
class _Plan:
    """One demo job before it is written: what happened to it, and when."""

    reference: str
    scenario: str
    type: JobType
    priority: Priority
    customer: Customer
    unit: Unit | None
    product: Product
    description: str
    reported_at: datetime
    window: tuple[datetime, datetime] | None
    start: datetime | None  # the appointment, for the scenarios that have one


def _seed_sla_targets(session) -> int:
    existing = {(t.job_type, t.priority, t.customer_grade) for t in session.scalars(select(SlaTarget))}
    added = 0
    for (job_type, grade), hours_by_priority in SLA_HOURS.items():
        for priority, hours in zip(PRIORITY_ORDER, hours_by_priority, strict=True):
            if (job_type, priority, grade) in existing:
                continue
            session.add(SlaTarget(job_type=job_type, priority=priority, customer_grade=grade, hours=hours,
                                  at_risk_hours=_at_risk_hours(hours)))
            added += 1
    return added


class _Writer:
    """Writes one job with its events and audit entries, as the lifecycle would have."""

    def __init__(self, session, targets: dict[tuple[Any, ...], SlaTarget], now: datetime) -> None:
        self.session, self.targets, self.now = session, targets, now

    def event(self, job: Job, kind: EventKind, to: JobStatus, at: datetime, actor_id, *, reason: str = "",
              data: dict[str, Any] | None = None, recorded_at: datetime | None = None) -> None:
        before = None if kind == EventKind.CREATED else job.status
        job.status = to
        job.events.append(JobEvent(
            seq=len(job.events) + 1, kind=kind, from_status=before, to_status=to, reason=reason, actor_id=actor_id,
            at=at, recorded_at=recorded_at, lat=job.lat if to in rules.FIELD_STATUSES else None,
            lon=job.lon if to in rules.FIELD_STATUSES else None, data=data or {}))

    def log(self, jobs: list[Job], admin_id) -> None:
        """One audit entry per demo job, carrying its whole (seeded) history: the chain stays complete
        without an append per event, which would dominate the load time."""
        self.session.flush()
        for job in jobs:
            audit_log.append(self.session, kind="job.seeded", subject_id=job.id, actor_id=admin_id, payload={
                "reference": job.reference, "service_point_id": str(job.service_point_id), "seeded": True,
                "events": [{"seq": e.seq, "kind": e.kind.value, "from": e.from_status.value if e.from_status else None,
                            "to": e.to_status.value if e.to_status else None, "at": e.at.isoformat(),
                            "actor_id": str(e.actor_id) if e.actor_id else None, "reason": e.reason}
                           for e in job.events],
            })

    def intake(self, plan: _Plan, point: ServicePoint, region, admin_id) -> Job:
        job = Job(reference=plan.reference, type=plan.type, priority=plan.priority, customer=plan.customer,
                  unit=plan.unit, product=plan.product, address=plan.customer.address, lat=plan.customer.lat,
                  lon=plan.customer.lon, description=plan.description, reported_at=plan.reported_at,
                  window_start=plan.window[0] if plan.window else None,
                  window_end=plan.window[1] if plan.window else None,
                  duration_minutes=plan.product.minutes_for(plan.type), created_by=admin_id,
                  status=JobStatus.NEW)
        target = self.targets.get((plan.type, plan.priority, plan.customer.grade))
        if target is not None:
            job.sla_due_at, job.sla_at_risk_at = rules.sla_deadlines(plan.reported_at, target.hours,
                                                                      target.at_risk_hours)
            job.sla_target_hours = target.hours
        if plan.type == JobType.REPAIR and plan.unit is not None:
            covered = network_rules.in_warranty(plan.unit, plan.reported_at.date())
            job.warranty_decision = WarrantyDecision.COVERED if covered else WarrantyDecision.CHARGEABLE
            job.labour_covered = job.parts_covered = covered
            job.warranty_until = network_rules.warranty_until(plan.unit)
        self.session.add(job)
        self.event(job, EventKind.CREATED, JobStatus.NEW, plan.reported_at, admin_id,
                   data={"type": plan.type.value, "priority": plan.priority.value,
                         "customer_id": str(plan.customer.id), "product_sku": plan.product.sku,
                         "unit_serial": plan.unit.serial if plan.unit else None})
        job.service_point_id, job.region_id = point.id, region.id
        job.dispatch_reason, job.out_of_area = DispatchReason.POLYGON, False
        job.dispatch_distance_km = None
        self.event(job, EventKind.TRANSITION, JobStatus.DISPATCHED, plan.reported_at, admin_id,
                   data={"service_point_id": str(point.id), "service_point_code": point.code,
                         "reason": DispatchReason.POLYGON.value, "region_code": region.code,
                         "out_of_area": False, "distance_km": None})
        return job

    def assign(self, job: Job, technician: Technician, start: datetime, at: datetime, manager_id,
               locked: bool = False) -> None:
        end = start + timedelta(minutes=job.duration_minutes)
        job.technician_id, job.scheduled_start, job.scheduled_end, job.locked = technician.id, start, end, locked
        self.event(job, EventKind.ASSIGNMENT, JobStatus.SCHEDULED, at, manager_id,
                   data={"technician_id": str(technician.id), "previous_technician_id": None,
                         "scheduled_start": start.isoformat(), "scheduled_end": end.isoformat(), "locked": locked})


def seed(ctx: SeedContext) -> dict[str, int]:
    session, today = ctx.session, ctx.today
    added: dict[str, int] = {}
    sla_added = _seed_sla_targets(session)
    if sla_added:
        added["sla_targets"] = sla_added
    session.flush()
    targets = {(t.job_type, t.priority, t.customer_grade): t for t in session.scalars(select(SlaTarget))}

    existing = set(session.scalars(select(Job.reference).where(Job.reference.like("DEMO-%"))))
    now = utcnow()
    tz = ctx.tz
    users = {u.username: u for u in session.scalars(select(User))}
    admin_id = users["admin"].id
    index = district_index(session)

    points = session.scalars(select(ServicePoint).where(ServicePoint.status == AuthorisationStatus.ACTIVE)
                             .order_by(ServicePoint.code)).all()
    customers = session.scalars(select(Customer).where(Customer.lat.is_not(None)).order_by(Customer.phone)).all()
    units_by_customer: dict[Any, list[Unit]] = {}
    for unit in session.scalars(select(Unit).where(Unit.customer_id.is_not(None))
                                .options(selectinload(Unit.product)).order_by(Unit.serial)):
        units_by_customer.setdefault(unit.customer_id, []).append(unit)
    products = session.scalars(select(Product).order_by(Product.sku)).all()
    regions: dict[Any, Any] = {}
    memo: dict[tuple[Any, ...], ServicePoint | None] = {}
    customers_by_point: dict[Any, list[tuple[Customer, Any]]] = {}
    for customer in customers:
        region_id = index.locate(customer.lat, customer.lon)
        if region_id is None:
            continue
        if region_id not in regions:
            regions[region_id] = session.get(Region, region_id)
        point = _point_for(session, memo, regions[region_id], ProductCategory.WATER_PURIFIER, today)
        if point is not None:
            customers_by_point.setdefault(point.id, []).append((customer, regions[region_id]))

    writer = _Writer(session, targets, now)
    new_jobs: list[Job] = []
    for point in points:
        rng = random.Random(f"jobs:{point.code}")
        manager = users.get(f"manager.{point.code.lower()}")
        manager_id = manager.id if manager else admin_id
        technicians = session.scalars(
            select(Technician).where(Technician.service_point_id == point.id, Technician.active.is_(True))
            .options(selectinload(Technician.skills), selectinload(Technician.certifications),
                     selectinload(Technician.shifts), selectinload(Technician.shift_exceptions))
            .order_by(Technician.name, Technician.id)
        ).all()
        tech_users = {t.id: t.user_id for t in technicians}
        pool = customers_by_point.get(point.id, [])
        if not pool or not technicians:
            continue
        next_day = network_rules.next_working_day(technicians, today) or today + timedelta(days=1)
        with_units = [(c, r) for c, r in pool if units_by_customer.get(c.id)]
        number = 0
        for scenario, count in SCENARIOS:
            for _ in range(count):
                number += 1
                reference = f"DEMO-{point.code}-{number:03d}"
                job_type = rng.choices([JobType.REPAIR, JobType.MAINTENANCE, JobType.INSTALL], [50, 25, 25])[0]
                if scenario in ("breached", "at_risk", "on_hold"):
                    job_type = JobType.REPAIR
                priority = rng.choices(PRIORITY_ORDER, [10, 70, 15, 5])[0]
                if scenario in ("breached", "at_risk"):
                    priority = Priority.NORMAL
                if job_type == JobType.INSTALL:
                    customer, region = rng.choice(pool)
                    unit, product = None, rng.choice(products)
                else:
                    customer, region = rng.choice(with_units)
                    unit = rng.choice(units_by_customer[customer.id])
                    product = unit.product
                description = rng.choice(PROBLEMS[job_type])
                window_hours = rng.choice(WINDOWS)
                plan_day = {"next_day_open": next_day, "next_day_scheduled": next_day, "cancelled": next_day,
                            "breached": today - timedelta(days=1)}.get(scenario, today)
                window = (ctx.local(plan_day, window_hours[0], window_hours[1]),
                          ctx.local(plan_day, window_hours[2], window_hours[3]))
                start = _appointment(scenario, window, now, rng)
                if start is not None and scenario != "next_day_scheduled":
                    # today's field work: the window the customer asked for, around the appointment
                    hour = start.astimezone(tz).replace(minute=0, second=0, microsecond=0)
                    window = (hour - timedelta(hours=1), hour + timedelta(hours=2))
                target = targets[(job_type, priority, customer.grade)]
                if scenario == "breached":
                    reported = now - timedelta(hours=target.hours + rng.randint(3, 20))
                elif scenario == "at_risk":
                    due_in = timedelta(minutes=rng.randint(30, 60 * target.at_risk_hours - 10))
                    reported = now - timedelta(hours=target.hours) + due_in
                elif scenario == "closed_yesterday":
                    reported = now - timedelta(days=3, hours=rng.randint(0, 6))
                elif scenario in ("next_day_open", "next_day_scheduled", "cancelled"):
                    reported = min(ctx.local(today, rng.randint(8, 11), rng.choice([0, 15, 30, 45])),
                                   now - timedelta(minutes=rng.randint(5, 90)))
                else:
                    reported = now - timedelta(hours=rng.randint(18, 30))
                if reference in existing or _point_for(session, memo, region, product.category, today) is not point:
                    continue
                plan = _Plan(reference, scenario, job_type, priority, customer, unit, product, description,
                             reported, window, start)
                new_jobs.append(_write(writer, plan, point, region, admin_id, manager_id, technicians, tech_users,
                                       rng, now, tz))
    writer.log(new_jobs, admin_id)
    if new_jobs:
        added["jobs"] = len(new_jobs)
    return added


def _appointment(scenario: str, window: tuple[datetime, datetime], now: datetime,
                 rng: random.Random) -> datetime | None:
    """When the technician is (or was) due: the next working day's from the window, today's measured back from now."""
    if scenario == "next_day_scheduled":
        return window[0]
    minutes_ago = {"today_scheduled": -rng.randint(60, 180), "en_route": rng.randint(10, 25),
                   "on_site": rng.randint(40, 80), "on_hold": rng.randint(90, 150),
                   "completed_today": rng.randint(150, 300), "closed_yesterday": 60 * 24 + rng.randint(0, 120),
                   "at_risk": -rng.randint(30, 120)}.get(scenario)
    if minutes_ago is None:
        return None
    start = now - timedelta(minutes=minutes_ago)
    return start.replace(minute=(start.minute // 15) * 15, second=0, microsecond=0)


def _qualified(technicians: list[Technician], job: Job, start: datetime, tz, *, need_shift: bool,
               rng: random.Random) -> Technician | None:
    """A technician who may take ``job`` at ``start``. Today's work ignores shifts (call-outs), so
    who gets it does not depend on the weekday or the hour the demo is loaded."""
    order = list(technicians)
    rng.shuffle(order)
    for technician in order:
        violation = rules.assignment_violation(
            technician, service_point_id=job.service_point_id, category=job.product.category, job_type=job.type,
            start=start, minutes=job.duration_minutes, tz=tz)
        if violation is None or (violation.rule == "on-shift" and not need_shift):
            return technician
    return None


def _write(writer: _Writer, plan: _Plan, point, region, admin_id, manager_id, technicians, tech_users,
           rng: random.Random, now: datetime, tz) -> Job:
    job = writer.intake(plan, point, region, admin_id)
    _play(writer, job, plan, manager_id, technicians, tech_users, rng, now, tz)
    return job


def _play(writer: _Writer, job: Job, plan: _Plan, manager_id, technicians, tech_users, rng: random.Random,
          now: datetime, tz) -> None:
    """Walk ``job`` through its scenario, writing the events the lifecycle would have written."""
    scenario = plan.scenario
    planned_at = min(plan.reported_at + timedelta(minutes=rng.randint(20, 90)), now - timedelta(minutes=2))
    if scenario == "next_day_open":
        return
    if scenario == "cancelled":
        job.cancelled_at = planned_at
        writer.event(job, EventKind.TRANSITION, JobStatus.CANCELLED, planned_at, manager_id,
                     reason="customer cancelled: fixed it themselves")
        return
    start = plan.start
    if start is None:
        return
    if scenario == "next_day_scheduled":
        technician = _qualified(technicians, job, start, tz, need_shift=True, rng=rng)
        if technician is not None:
            writer.assign(job, technician, start, planned_at, manager_id, locked=rng.random() < 0.25)
        return
    technician = _qualified(technicians, job, start, tz, need_shift=False, rng=rng)
    if technician is None:
        return
    assigned_at = min(planned_at, start - timedelta(minutes=30), now - timedelta(minutes=1))
    assigned_at = max(assigned_at, plan.reported_at)
    writer.assign(job, technician, start, assigned_at, manager_id)
    if scenario in ("today_scheduled", "at_risk"):
        return
    tech_user = tech_users[technician.id]
    leave = min(start - timedelta(minutes=rng.randint(15, 35)), now - timedelta(minutes=1))
    leave = max(leave, assigned_at)
    writer.event(job, EventKind.TRANSITION, JobStatus.EN_ROUTE, leave, tech_user, recorded_at=leave)
    if scenario == "en_route":
        return
    arrive = max(min(start + timedelta(minutes=rng.randint(-5, 10)), now), leave)
    job.arrived_at = arrive
    writer.event(job, EventKind.TRANSITION, JobStatus.ON_SITE, arrive, tech_user, recorded_at=arrive)
    if scenario == "on_site":
        return
    if scenario == "on_hold":
        hold = min(arrive + timedelta(minutes=rng.randint(20, 40)), now)
        writer.event(job, EventKind.TRANSITION, JobStatus.ON_HOLD, hold, tech_user,
                     reason=rng.choice(HOLD_REASONS), recorded_at=hold)
        return
    done = min(arrive + timedelta(minutes=job.duration_minutes + rng.randint(-10, 20)), now)
    job.completed_at = done
    writer.event(job, EventKind.TRANSITION, JobStatus.COMPLETED, done, tech_user, recorded_at=done)
    if scenario == "closed_yesterday":
        closed = min(done + timedelta(hours=2), now)
        job.closed_at = closed
        writer.event(job, EventKind.TRANSITION, JobStatus.CLOSED, closed, manager_id,
                     reason="checked the checklist and the customer's signature")
