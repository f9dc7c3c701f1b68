"""Maintenance plans: one per activated unit whose model needs periodic maintenance.

The nightly tasks keep the plans in step with the activated units (:func:`sync_plans`) and create
each maintenance job ``lead_days`` before it falls due (:func:`generate_due_jobs`). A due date is
claimed by inserting its (plan, due date) row first; the unique constraint makes a second or
concurrent run skip it, and the job is created in the same transaction through the jobs intake,
so either both exist or neither does. The job hooks (``dispatch.care.job_hooks``) link the job to
its claim and queue the customer's reminder in that transaction, and move the plan on when a
maintenance job is completed (or skip a cycle when it is cancelled).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.care import rules
from dispatch.care.models import MaintenanceOccurrence, MaintenancePlan
from dispatch.clock import local_today, utcnow
from dispatch.db import page
from dispatch.errors import DispatchError, NotFound, PreconditionFailed, ValidationFailed
from dispatch.jobs import intake
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import JobType, Product, Unit
from dispatch.ports import TaskQueue
from dispatch.uow import UnitOfWork, UowFactory

log = logging.getLogger(__name__)

GENERATE_TASK = "workers.care_tasks.generate_maintenance_jobs"
VISIT_DAY = (time(9, 0), time(18, 0))
"""The requested window of a maintenance job: the due day's working hours (local time)."""

DONE = (JobStatus.COMPLETED, JobStatus.CLOSED)


# --- plans follow the activated units ---------------------------------------------------------


def _last_maintenance_on(session: Session, unit_id: uuid.UUID, tz: ZoneInfo) -> date | None:
    done_at = session.scalar(select(func.max(Job.completed_at)).where(
        Job.unit_id == unit_id, Job.type == JobType.MAINTENANCE, Job.status.in_(DONE)))
    return done_at.astimezone(tz).date() if done_at is not None else None


def ensure_plans(session: Session, *, today: date, tz: ZoneInfo) -> int:
    """Add a plan for every activated unit with a maintenance interval that has none. No commit.

    The first due date counts from the last completed maintenance, or else from the purchase.
    """
    missing = session.execute(
        select(Unit.id, Unit.purchased_on, Unit.activated_at, Product.maintenance_interval_days)
        .join(Product, Product.id == Unit.product_id)
        .outerjoin(MaintenancePlan, MaintenancePlan.unit_id == Unit.id)
        .where(Unit.customer_id.is_not(None), Unit.activated_at.is_not(None), Unit.warranty_closed_on.is_(None),
               Product.maintenance_interval_days.is_not(None), MaintenancePlan.id.is_(None))
        .order_by(Unit.serial)
    ).all()
    for unit_id, purchased_on, activated_at, interval in missing:
        anchor = (_last_maintenance_on(session, unit_id, tz) or purchased_on
                  or activated_at.astimezone(tz).date())
        session.add(MaintenancePlan(unit_id=unit_id, interval_days=interval,
                                    next_due_on=rules.first_due_on(anchor, interval, today),
                                    last_done_on=_last_maintenance_on(session, unit_id, tz)))
    session.flush()
    return len(missing)


def follow_contract(session: Session, unit_id: uuid.UUID, *, interval_days: int, starts_on: date,
                    today: date, service_point_id: uuid.UUID | None = None) -> MaintenancePlan:
    """A service contract sets the unit's maintenance rhythm (no commit): the plan takes the contract's
    interval and falls due one interval after the last maintenance, or after the contract starts."""
    if interval_days <= 0:
        raise ValidationFailed("included_visits", "a maintenance rhythm needs at least one visit")
    plan = session.scalar(select(MaintenancePlan).where(MaintenancePlan.unit_id == unit_id).with_for_update())
    if plan is None:
        plan = MaintenancePlan(unit_id=unit_id, interval_days=interval_days, next_due_on=starts_on, last_done_on=None)
        session.add(plan)
    anchor = max(plan.last_done_on or starts_on, starts_on - timedelta(days=interval_days))
    plan.interval_days, plan.active = interval_days, True
    plan.service_point_id = plan.service_point_id or service_point_id
    plan.next_due_on = rules.first_due_on(anchor, interval_days, max(today, starts_on))
    session.flush()
    return plan


def leave_contract(session: Session, unit_id: uuid.UUID, *, today: date) -> MaintenancePlan | None:
    """A cancelled annual package (no commit): the unit's plan goes back to its model's rhythm,
    counted from the last maintenance (or the purchase), or pauses when the model has none."""
    plan = session.scalar(select(MaintenancePlan).where(MaintenancePlan.unit_id == unit_id).with_for_update())
    if plan is None:
        return None
    interval, purchased_on = session.execute(
        select(Product.maintenance_interval_days, Unit.purchased_on).join(Unit, Unit.product_id == Product.id)
        .where(Unit.id == unit_id)).one()
    if interval is None:
        plan.active = False
    else:
        plan.interval_days = interval
        plan.next_due_on = rules.first_due_on(plan.last_done_on or purchased_on or today, interval, today)
    session.flush()
    return plan


def follow_replacement(session: Session, old_unit_id: uuid.UUID, new_unit_id: uuid.UUID | None) -> MaintenancePlan | None:
    """A unit replaced or refunded under 三包 (no commit): its plan moves to the replacement with its
    rhythm and next due date (the customer's filters do not start over), or pauses on a refund."""
    plan = session.scalar(select(MaintenancePlan).where(MaintenancePlan.unit_id == old_unit_id).with_for_update())
    if plan is None:
        return None
    taken = new_unit_id is not None and session.scalar(
        select(MaintenancePlan.id).where(MaintenancePlan.unit_id == new_unit_id)) is not None
    if new_unit_id is None or taken:
        plan.active = False
    else:
        plan.unit_id = new_unit_id
    session.flush()
    return plan


def sync_plans(uow: UnitOfWork, *, today: date, tz: ZoneInfo) -> dict[str, int]:
    """Nightly: plans for newly activated units (not for one whose warranty HQ closed under 三包: its
    plan followed the replacement); plans of units no longer bound to a customer pause."""
    with uow:
        created = ensure_plans(uow.session, today=today, tz=tz)
        orphaned = uow.session.scalars(
            select(MaintenancePlan).join(Unit, Unit.id == MaintenancePlan.unit_id)
            .where(MaintenancePlan.active.is_(True), Unit.customer_id.is_(None))
        ).all()
        for plan in orphaned:
            plan.active = False
        uow.commit()
    return {"created": created, "paused": len(orphaned)}


# --- job generation ---------------------------------------------------------------------------


@dataclass
class GenerationReport:
    created: list[str] = field(default_factory=list)  # job references
    already_done: int = 0  # claimed by an earlier or concurrent run
    failed: dict[str, str] = field(default_factory=dict)  # plan id -> why intake refused

    def as_dict(self) -> dict[str, object]:
        return {"created": len(self.created), "already_done": self.already_done, "failed": len(self.failed),
                "references": self.created, "failures": self.failed}


def _claim(session: Session, plan_id: uuid.UUID, due_on: date) -> bool:
    """Insert the (plan, due date) row unless it exists; True if this transaction claimed it.

    On PostgreSQL a concurrent claim of the same pair waits for the first transaction and then
    finds the conflict, so exactly one of them proceeds.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(MaintenanceOccurrence)
        .values(id=uuid.uuid4(), plan_id=plan_id, due_on=due_on, job_id=None, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["plan_id", "due_on"])
        .returning(MaintenanceOccurrence.id)
    )
    return session.execute(statement).first() is not None


def _due_plans(session: Session, *, today: date, lead_days: int) -> list[tuple[uuid.UUID, date]]:
    """Active plans whose next due date is within the lead time and not claimed yet."""
    return [(plan_id, due_on) for plan_id, due_on in session.execute(
        select(MaintenancePlan.id, MaintenancePlan.next_due_on)
        .outerjoin(MaintenanceOccurrence, and_(MaintenanceOccurrence.plan_id == MaintenancePlan.id,
                                               MaintenanceOccurrence.due_on == MaintenancePlan.next_due_on))
        .where(MaintenancePlan.active.is_(True), MaintenanceOccurrence.id.is_(None),
               MaintenancePlan.next_due_on <= rules.creation_horizon(today, lead_days))
        .order_by(MaintenancePlan.next_due_on, MaintenancePlan.id)
    )]


def _create_one(session: Session, plan_id: uuid.UUID, due_on: date, *, radius_km: float, tz: ZoneInfo) -> Job | None:
    """One transaction: claim the due date, take the job in (which commits both), or nothing."""
    plan = session.get(MaintenancePlan, plan_id, populate_existing=True)
    if plan is None or not plan.active or plan.next_due_on != due_on or not _claim(session, plan_id, due_on):
        session.rollback()
        return None
    unit = session.scalar(select(Unit).where(Unit.id == plan.unit_id).options(selectinload(Unit.product)))
    window = (datetime.combine(due_on, VISIT_DAY[0], tzinfo=tz), datetime.combine(due_on, VISIT_DAY[1], tzinfo=tz))
    # The intake use case borrows this session: its commit also commits the claim.
    return intake.create_job(
        UnitOfWork(session=session), SYSTEM, type=JobType.MAINTENANCE, radius_km=radius_km, tz=tz,
        unit_serial=unit.serial, window_start=window[0], window_end=window[1],
        description=f"Scheduled maintenance ({unit.product.name}), due on {due_on.isoformat()}; "
                    f"every {plan.interval_days} days.",
    )


def generate_due_jobs(uow_factory: UowFactory, *, today: date, lead_days: int = rules.DEFAULT_LEAD_DAYS,
                      radius_km: float, tz: ZoneInfo) -> GenerationReport:
    """Create the maintenance jobs falling due within ``lead_days``; never twice for a due date.

    Each plan is its own transaction, so one customer the intake cannot place (no authorised
    point covers the address) does not hold up the others; it is retried on the next run.
    """
    if lead_days < 0:
        raise ValidationFailed("lead_days", "must not be negative")
    report = GenerationReport()
    with uow_factory() as uow:
        session = uow.session
        candidates = _due_plans(session, today=today, lead_days=lead_days)
        session.rollback()
        for plan_id, due_on in candidates:
            try:
                job = _create_one(session, plan_id, due_on, radius_km=radius_km, tz=tz)
            except DispatchError as exc:
                session.rollback()
                log.warning("maintenance plan %s (due %s): intake refused: %s", plan_id, due_on, exc.detail)
                report.failed[str(plan_id)] = exc.detail
                continue
            if job is None:
                report.already_done += 1
            else:
                report.created.append(job.reference)
    return report


def request_generation(uow: UnitOfWork, actor: Principal, tasks: TaskQueue, *, tz: ZoneInfo | str,
                       lead_days: int = rules.DEFAULT_LEAD_DAYS) -> dict[str, object]:
    """HQ runs the nightly job creation now (e.g. after tuning plans); as idempotent as the cron run.

    The request is logged (who asked, with which lead time) and the task queued once that is durable.
    """
    actor.require(Role.ADMIN)
    if lead_days < 0:
        raise ValidationFailed("lead_days", "must not be negative")
    today = local_today(tz)
    task_id = f"maintenance-generate-{today.isoformat()}-{lead_days}"
    with uow:
        audit_log.append(uow.session, kind="maintenance.generation_requested", subject_id=task_id,
                         payload={"lead_days": lead_days, "today": today.isoformat()}, actor_id=actor.user_id)
        uow.after_commit(lambda: tasks.enqueue(GENERATE_TASK, lead_days, task_id=task_id, queue="default"))
        uow.commit()
    return {"task_id": task_id, "lead_days": lead_days}


# --- reacting to maintenance jobs (called by the job hooks, in the job's transaction) ---------


def link_claimed_job(session: Session, job: Job) -> tuple[MaintenancePlan, date] | None:
    """A maintenance job just taken in for a claimed due date: link it to the claim."""
    row = session.execute(
        select(MaintenanceOccurrence, MaintenancePlan)
        .join(MaintenancePlan, MaintenancePlan.id == MaintenanceOccurrence.plan_id)
        .where(MaintenancePlan.unit_id == job.unit_id, MaintenanceOccurrence.job_id.is_(None))
    ).first()
    if row is None:
        return None
    occurrence, plan = row
    occurrence.job_id = job.id
    plan.service_point_id = job.service_point_id
    return plan, occurrence.due_on


def record_completion(session: Session, unit_id: uuid.UUID, done_on: date,
                      service_point_id: uuid.UUID | None) -> MaintenancePlan | None:
    """Maintenance done on ``done_on``: the next one falls due an interval later."""
    plan = session.scalar(select(MaintenancePlan).where(MaintenancePlan.unit_id == unit_id))
    if plan is None:
        return None
    if plan.last_done_on is None or done_on >= plan.last_done_on:
        plan.last_done_on = done_on
        plan.next_due_on = rules.next_due_after(done_on, plan.interval_days)
    if service_point_id is not None:
        plan.service_point_id = service_point_id
    return plan


def record_cancellation(session: Session, job_id: uuid.UUID) -> MaintenancePlan | None:
    """The plan's job for its current due date was cancelled: that cycle is skipped."""
    row = session.execute(
        select(MaintenanceOccurrence, MaintenancePlan)
        .join(MaintenancePlan, MaintenancePlan.id == MaintenanceOccurrence.plan_id)
        .where(MaintenanceOccurrence.job_id == job_id)
    ).first()
    if row is None:
        return None
    occurrence, plan = row
    if plan.next_due_on == occurrence.due_on:
        plan.next_due_on = rules.next_due_after(occurrence.due_on, plan.interval_days)
    return plan


# --- reads and edits --------------------------------------------------------------------------


def _visible(query, actor: Principal):
    point = actor.point_filter()
    return query if point is None else query.where(MaintenancePlan.service_point_id == point)


def list_plans(uow: UnitOfWork, actor: Principal, *, due_before: date | None = None, active: bool | None = None,
               service_point_id: uuid.UUID | None = None, unit_id: uuid.UUID | None = None,
               offset: int = 0, limit: int = 50) -> tuple[list[MaintenancePlan], int]:
    """Plans by next due date; a manager sees the plans their point last served."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    query = _visible(select(MaintenancePlan), actor)
    if due_before is not None:
        query = query.where(MaintenancePlan.next_due_on < due_before)
    if active is not None:
        query = query.where(MaintenancePlan.active.is_(active))
    if service_point_id is not None:
        query = query.where(MaintenancePlan.service_point_id == service_point_id)
    if unit_id is not None:
        query = query.where(MaintenancePlan.unit_id == unit_id)
    with uow:
        return page(uow.session,
                    query.options(selectinload(MaintenancePlan.unit), selectinload(MaintenancePlan.occurrences))
                    .order_by(MaintenancePlan.next_due_on, MaintenancePlan.id), offset=offset, limit=limit)


def get_plan(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID) -> MaintenancePlan:
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        plan = uow.session.scalar(
            _visible(select(MaintenancePlan).where(MaintenancePlan.id == plan_id), actor)
            .options(selectinload(MaintenancePlan.unit), selectinload(MaintenancePlan.occurrences))
            .execution_options(populate_existing=True)
        )
        if plan is None:
            raise NotFound(f"maintenance plan {plan_id} does not exist")
        return plan


def update_plan(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID, *, expected_version: int | None = None,
                interval_days: int | None = None, next_due_on: date | None = None,
                active: bool | None = None) -> MaintenancePlan:
    """Tune a unit's plan (hard water needs shorter intervals; a customer may pause maintenance)."""
    actor.require(Role.ADMIN, Role.MANAGER)
    with uow:
        plan = uow.session.scalar(
            _visible(select(MaintenancePlan).where(MaintenancePlan.id == plan_id), actor).with_for_update()
        )
        if plan is None:
            raise NotFound(f"maintenance plan {plan_id} does not exist")
        if expected_version is not None and plan.version != expected_version:
            raise PreconditionFailed("the maintenance plan changed since it was read; fetch it again")
        if interval_days is not None:
            if next_due_on is None and plan.last_done_on is not None:
                plan.next_due_on = rules.next_due_after(plan.last_done_on, interval_days)
            plan.interval_days = interval_days
        if next_due_on is not None:
            plan.next_due_on = next_due_on
        if active is not None:
            plan.active = active
        uow.commit()
    return get_plan(uow, actor, plan_id)
