"""Service contracts sold per unit: annual service packages (包年) and extended warranties.

An annual service package includes a number of visits (their labour) and listed parts for a
year; it sets the unit's maintenance plan to its rhythm (a year divided by the visits). An
extended warranty covers repair labour and warranty parts after the factory warranty, for 12 to 36
months. A job of the unit inside the contract's period is billed to the contract (a stock
:class:`~dispatch.stock.models.BillCover`, written when the job is taken in and recomputed when it
completes); the customer is never charged for what is included. A completed job uses up a visit
and the included parts fitted. Customers are reminded through the outbox before a contract ends.
A contract may be cancelled (HQ or the selling point): the customer is owed the unused share of
the price (:func:`refund_owed`), and the unit's maintenance goes back to its model's rhythm.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.care import maintenance, notifications
from dispatch.care.templates import Template
from dispatch.clock import local_today, utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.jobs.models import Job, JobStatus
from dispatch.jobs.rules import OPEN
from dispatch.network import rules as network_rules
from dispatch.network.models import JobType, Unit
from dispatch.network.units import parse_serial
from dispatch.ports import TaskQueue
from dispatch.stock.catalogue import resolve_part
from dispatch.stock.ledger import actor_id_of
from dispatch.stock.models import BillCover, PartUsage
from dispatch.uow import UnitOfWork, UowFactory
from dispatch.warranty.enums import ContractKind, ContractStatus, FaultKind
from dispatch.warranty.models import (
    ContractJob,
    ContractPart,
    JobFaultCause,
    ServiceContract,
)

REMIND_TASK = "workers.warranty_tasks.remind_expiring_contracts"
DEFAULT_REMIND_DAYS = 30
COVERED_TYPES = {ContractKind.ANNUAL_SERVICE: frozenset({JobType.MAINTENANCE, JobType.REPAIR}),
                 ContractKind.EXTENDED_WARRANTY: frozenset({JobType.REPAIR})}


@dataclass(frozen=True)
class IncludedPart:
    quantity: int
    part_sku: str | None = None
    part_id: uuid.UUID | None = None


# --- selling and reading ---------------------------------------------------------------------


def _reference(session: Session) -> str:
    count = session.scalar(select(func.count()).select_from(ServiceContract)) or 0
    return f"SC-{count + 1:06d}"


def sell(uow: UnitOfWork, actor: Principal, *, serial: str, kind: ContractKind, price: Decimal, months: int = 12,
         starts_on: date | None = None, included_visits: int = 0,
         parts: Sequence[IncludedPart] = ()) -> ServiceContract:
    """HQ or the point's manager sells a contract for an activated unit (one of a kind at a time)."""
    actor.require(Role.ADMIN, Role.MANAGER)
    kind = ContractKind(kind)
    serial, _ = parse_serial(serial)
    if price < 0:
        raise ValidationFailed("price", "cannot be negative")
    with uow:
        session = uow.session
        unit = session.scalar(select(Unit).where(Unit.serial == serial).with_for_update(of=Unit))
        if unit is None or (not actor.is_hq and unit.customer is not None
                            and unit.customer.service_point_id not in (None, actor.service_point_id)):
            raise NotFound(f"no unit has serial {serial}")
        if unit.customer_id is None or unit.warranty_closed_on is not None:
            raise Conflict(f"unit {serial} has no open warranty card: activate it first")
        today = local_today()
        until = network_rules.warranty_until(unit)
        if kind == ContractKind.EXTENDED_WARRANTY:
            if not 12 <= months <= 36:
                raise ValidationFailed("months", "an extended warranty runs 12 to 36 months")
            if until < today - timedelta(days=30):
                raise Conflict(f"unit {serial}'s warranty ended on {until}; an extended warranty is sold before "
                               "it ends (or within 30 days)")
            starts_on = until + timedelta(days=1)
            if included_visits or parts:
                raise ValidationFailed("parts", "an extended warranty covers repairs; it lists no visits or parts")
        else:
            if months != 12:
                raise ValidationFailed("months", "an annual service package runs 12 months")
            starts_on = starts_on or today
            if starts_on < today:
                raise ValidationFailed("starts_on", "is in the past")
            if not 1 <= included_visits <= 12:
                raise ValidationFailed("included_visits", "an annual package includes 1 to 12 visits")
        ends_on = network_rules.add_months(starts_on, months) - timedelta(days=1)
        overlapping = session.scalar(select(ServiceContract.reference).where(
            ServiceContract.unit_id == unit.id, ServiceContract.kind == kind,
            ServiceContract.status == ContractStatus.ACTIVE, ServiceContract.starts_on <= ends_on,
            ServiceContract.ends_on >= starts_on))
        if overlapping is not None:
            raise Conflict(f"unit {serial} has {kind.value} contract {overlapping} for that time already")
        row = ServiceContract(reference=_reference(session), unit_id=unit.id, unit=unit, customer_id=unit.customer_id,
                              service_point_id=actor.service_point_id or unit.customer.service_point_id, kind=kind,
                              status=ContractStatus.ACTIVE, starts_on=starts_on, ends_on=ends_on, price=price,
                              included_visits=included_visits, visits_used=0, sold_by=actor_id_of(actor),
                              sold_at=utcnow(), version=1)
        for index, line in enumerate(parts):
            part = resolve_part(session, part_id=line.part_id, part_sku=line.part_sku, prefix=f"parts.{index}.")
            if line.quantity < 1:
                raise ValidationFailed(f"parts.{index}.quantity", "must be at least 1")
            if any(p.part_id == part.id for p in row.parts):
                raise ValidationFailed(f"parts.{index}.part_sku", f"{part.sku} is listed twice")
            row.parts.append(ContractPart(part_id=part.id, sku=part.sku, quantity=line.quantity, used=0))
        session.add(row)
        session.flush()
        if kind == ContractKind.ANNUAL_SERVICE:
            maintenance.follow_contract(session, unit.id, interval_days=365 // included_visits, starts_on=starts_on,
                                        today=today, service_point_id=row.service_point_id)
        audit_log.append(session, kind="warranty.contract", subject_id=row.id, actor_id=actor_id_of(actor),
                         payload={"reference": row.reference, "serial": serial, "kind": kind.value,
                                  "starts_on": starts_on, "ends_on": ends_on, "price": str(price),
                                  "included_visits": included_visits,
                                  "parts": {p.sku: p.quantity for p in row.parts}})
        uow.commit()
        return row


def _visible(actor: Principal, query):
    if actor.is_hq:
        return query
    actor.require(Role.MANAGER)
    return query.where(ServiceContract.service_point_id == actor.service_point_id)


def list_contracts(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int, serial: str | None = None,
                   status: ContractStatus | None = None) -> tuple[list[ServiceContract], int]:
    with uow:
        query = _visible(actor, select(ServiceContract).order_by(ServiceContract.sold_at.desc(), ServiceContract.id))
        if serial is not None:
            query = query.join(Unit, Unit.id == ServiceContract.unit_id).where(Unit.serial == parse_serial(serial)[0])
        if status is not None:
            query = query.where(ServiceContract.status == status)
        return page(uow.session, query, offset=offset, limit=limit)


def get_contract(uow: UnitOfWork, actor: Principal, contract_id: uuid.UUID) -> ServiceContract:
    with uow:
        row = uow.session.scalar(_visible(actor, select(ServiceContract).where(ServiceContract.id == contract_id)))
        if row is None:
            raise NotFound(f"service contract {contract_id} does not exist")
        return row


# --- cancelling --------------------------------------------------------------------------------


def refund_owed(contract: ServiceContract, on: date) -> Decimal:
    """What a contract cancelled on ``on`` owes back: its price times the share not used, i.e. the
    days left after ``on`` (all of them before it starts) and, for an annual package, also the
    visits left, whichever is smaller. Rounded down to the fen: never more than was paid."""
    days = (contract.ends_on - contract.starts_on).days + 1
    days_left = days if on < contract.starts_on else max(0, (contract.ends_on - on).days)
    left = Fraction(days_left, days)
    if contract.kind == ContractKind.ANNUAL_SERVICE and contract.included_visits:
        left = min(left, Fraction(contract.included_visits - contract.visits_used, contract.included_visits))
    return (contract.price * left.numerator / left.denominator).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def cancel(uow: UnitOfWork, actor: Principal, contract_id: uuid.UUID, *, reason: str) -> ServiceContract:
    """HQ or the selling point's manager cancels a running contract today: the refund owed is
    recorded and texted to the customer, an annual package's maintenance rhythm goes back to the
    model's, and later jobs are no longer billed to it. Refused (409) while a job billed to it is
    still open: finish or cancel that visit first."""
    actor.require(Role.ADMIN, Role.MANAGER)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("reason", "say why the contract is cancelled")
    with uow:
        session = uow.session
        row = session.scalar(_visible(actor, select(ServiceContract).where(ServiceContract.id == contract_id))
                             .with_for_update(of=ServiceContract))
        if row is None:
            raise NotFound(f"service contract {contract_id} does not exist")
        if row.status != ContractStatus.ACTIVE:
            raise Conflict(f"contract {row.reference} is {row.status.value} already", current=row.status.value)
        today = local_today()
        if today > row.ends_on:
            raise Conflict(f"contract {row.reference} ended on {row.ends_on}: there is nothing left to cancel")
        busy = session.scalar(select(Job.reference).join(ContractJob, ContractJob.job_id == Job.id).where(
            ContractJob.contract_id == row.id, ContractJob.booked.is_(False), Job.status.in_(OPEN)).limit(1))
        if busy is not None:
            raise Conflict(f"visit {busy} is billed to contract {row.reference} and still open: finish or cancel "
                           "it first")
        row.status, row.cancelled_on, row.cancel_reason = ContractStatus.CANCELLED, today, reason[:2000]
        row.refund = refund_owed(row, today)
        row.version += 1
        session.flush()
        plan = None
        if row.kind == ContractKind.ANNUAL_SERVICE:
            plan = maintenance.leave_contract(session, row.unit_id, today=today)
        payload = {"reference": row.reference, "serial": row.unit.serial, "cancelled_on": today.isoformat(),
                   "refund": str(row.refund), "reason": reason}
        notifications.notify_customer(session, row.unit.customer, Template.CONTRACT_CANCELLED, payload,
                                      service_point_id=row.service_point_id)
        audit_log.append(session, kind="warranty.contract_cancelled", subject_id=row.id, actor_id=actor_id_of(actor),
                         payload=payload | {"maintenance_interval_days": plan.interval_days if plan else None})
        uow.commit()
        return row


# --- jobs under a contract (called by the job hooks, in the job's transaction) ---------------


def _contract_for(session: Session, job: Job, on: date) -> ServiceContract | None:
    if job.unit_id is None:
        return None
    kinds = [kind for kind, types in COVERED_TYPES.items() if job.type in types]
    return session.scalar(select(ServiceContract).where(
        ServiceContract.unit_id == job.unit_id, ServiceContract.status == ContractStatus.ACTIVE,
        ServiceContract.kind.in_(kinds), ServiceContract.starts_on <= on, ServiceContract.ends_on >= on)
        .order_by(ServiceContract.kind).limit(1).with_for_update(of=ServiceContract))


def _cover(session: Session, job: Job, contract: ServiceContract) -> BillCover:
    cover = session.get(BillCover, job.id)
    if cover is None:
        cover = BillCover(job_id=job.id, parts={}, labour=False)
        session.add(cover)
    cover.payer, cover.at = f"contract {contract.reference}", utcnow()
    if contract.kind == ContractKind.EXTENDED_WARRANTY:
        cause = session.get(JobFaultCause, job.id)
        misuse = cause is not None and cause.fault_cause.kind == FaultKind.MISUSE
        cover.labour = cover.warranty_parts = not misuse  # misuse is the customer's, under any warranty
        cover.parts = {}
    else:
        cover.labour = contract.visits_used < contract.included_visits
        cover.warranty_parts = False
        cover.parts = {str(p.part_id): p.quantity - p.used for p in contract.parts if p.quantity > p.used}
    return cover


def refresh_cover(session: Session, job: Job) -> None:
    """The repair's fault cause changed: an extended warranty pays nothing for misuse (no commit)."""
    link = session.get(ContractJob, job.id)
    if link is not None and not link.booked:
        _cover(session, job, session.get(ServiceContract, link.contract_id))


def follow_job(session: Session, job: Job, to_status: JobStatus, tz: ZoneInfo | None = None) -> None:
    """A job taken in for a unit under contract is billed to it; completed, it uses a visit and the
    included parts fitted (booked once); cancelled, it leaves the contract untouched."""
    link = session.get(ContractJob, job.id)
    if link is None:
        on = job.reported_at.astimezone(tz).date() if tz else local_today()
        contract = _contract_for(session, job, on)
        if contract is None:
            return
        link = ContractJob(job_id=job.id, contract_id=contract.id, booked=False, at=utcnow())
        session.add(link)
        _cover(session, job, contract)
        session.flush()
        return
    contract = session.scalar(select(ServiceContract).where(ServiceContract.id == link.contract_id)
                              .with_for_update(of=ServiceContract))
    if to_status == JobStatus.CANCELLED and not link.booked:
        cover = session.get(BillCover, job.id)
        if cover is not None:
            session.delete(cover)
    elif to_status == JobStatus.COMPLETED and not link.booked:
        cover = _cover(session, job, contract)  # what is left of the contract now
        if cover.labour and contract.kind == ContractKind.ANNUAL_SERVICE:
            contract.visits_used += 1
        fitted = dict(session.execute(select(PartUsage.part_id, func.sum(PartUsage.quantity))
                                      .where(PartUsage.job_id == job.id).group_by(PartUsage.part_id)).all())
        for included in contract.parts:
            included.used += min(int(fitted.get(included.part_id, 0)), included.quantity - included.used)
        link.booked = True
        contract.version += 1
    session.flush()


def follow_replacement(session: Session, old: Unit, new: Unit | None) -> list[ServiceContract]:
    """A unit replaced or refunded under 三包 (no commit): its running contracts move to the
    replacement (what the customer paid for goes on), or are cancelled with the refund."""
    running = list(session.scalars(select(ServiceContract).where(
        ServiceContract.unit_id == old.id, ServiceContract.status == ContractStatus.ACTIVE)
        .order_by(ServiceContract.reference).with_for_update(of=ServiceContract)))
    for contract in running:
        if new is None:
            contract.status = ContractStatus.CANCELLED
        else:
            contract.unit_id, contract.unit = new.id, new
        contract.version += 1
    session.flush()
    return running


# --- expiry reminders --------------------------------------------------------------------------


def remind_expiring(uow_factory: UowFactory, *, today: date, days_ahead: int = DEFAULT_REMIND_DAYS,
                    batch: int = 200) -> dict[str, int]:
    """Queue one reminder per active contract ending within ``days_ahead`` days (idempotent: a contract
    is reminded once), in batches of ``batch`` contracts per transaction."""
    reminded = 0
    while True:
        with uow_factory() as uow:
            due = list(uow.session.scalars(select(ServiceContract).where(
                ServiceContract.status == ContractStatus.ACTIVE, ServiceContract.reminded_on.is_(None),
                ServiceContract.ends_on >= today, ServiceContract.ends_on <= today + timedelta(days=days_ahead))
                .order_by(ServiceContract.ends_on, ServiceContract.id).limit(batch).with_for_update(of=ServiceContract, skip_locked=True)))
            for contract in due:
                notifications.notify_customer(
                    uow.session, contract.unit.customer, Template.CONTRACT_EXPIRING,
                    {"reference": contract.reference, "serial": contract.unit.serial, "kind": contract.kind.value,
                     "ends_on": contract.ends_on.isoformat()}, service_point_id=contract.service_point_id)
                contract.reminded_on = today
            uow.commit()
        reminded += len(due)
        if len(due) < batch:
            return {"reminded": reminded}


def request_reminders(uow: UnitOfWork, actor: Principal, tasks: TaskQueue, *,
                      days_ahead: int = DEFAULT_REMIND_DAYS) -> dict[str, object]:
    """HQ runs the nightly reminder task now (as idempotent as the cron run)."""
    actor.require(Role.ADMIN)
    if not 1 <= days_ahead <= 90:
        raise ValidationFailed("days_ahead", "1 to 90 days")
    today = local_today()
    task_id = f"contract-reminders-{today.isoformat()}-{days_ahead}"
    with uow:
        audit_log.append(uow.session, kind="warranty.contract_reminders_requested", subject_id=task_id,
                         payload={"days_ahead": days_ahead, "today": today.isoformat()}, actor_id=actor.user_id)
        uow.after_commit(lambda: tasks.enqueue(REMIND_TASK, days_ahead, task_id=task_id, queue="default"))
        uow.commit()
    return {"task_id": task_id, "days_ahead": days_ahead}
