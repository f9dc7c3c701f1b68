"""A job's bill: labour from the rate table plus the parts fitted, at list price.

Every price comes from the catalogue (the price when the part was fitted, or today's list price
if that is lower) and the labour rate table, never from a request. A manager may lower a line's
price (goodwill); a price above list is refused with 422. When the job's warranty covers labour
or parts, those lines cost the customer nothing (consumables the warranty does not cover are
still billed). Coverage is the job's own warranty decision, fixed at intake for repairs of a
registered unit; jobs without one (installs, maintenance) are chargeable. A job under a service
contract has a :class:`BillCover`: the contract pays the labour and the parts it includes (up to
their quantity), and those lines cost the customer nothing either (``paid_by`` names the payer).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import Conflict, Forbidden, ValidationFailed
from dispatch.jobs import service as jobs
from dispatch.jobs.models import Job, JobStatus
from dispatch.stock import rules
from dispatch.stock.catalogue import resolve_part
from dispatch.stock.ledger import actor_id_of
from dispatch.stock.models import BILLING_CURRENCY, BillCover, BillPriceOverride, LabourRate, Part, PartUsage
from dispatch.uow import UnitOfWork

FINAL = frozenset({JobStatus.CLOSED, JobStatus.CANCELLED})


@dataclass(frozen=True)
class PriceOverride:
    """A lower price for the labour line (no part named) or for one part on the bill."""

    unit_price: Decimal
    reason: str
    part_id: uuid.UUID | None = None
    part_sku: str | None = None


@dataclass(frozen=True)
class JobBill:
    job: Job
    bill: rules.Bill
    overrides: list[BillPriceOverride]


def _labour_rate(session: Session, job: Job) -> Decimal:
    rate = session.get(LabourRate, job.type)
    if rate is None:
        raise Conflict(f"no labour rate is set for {job.type.value} jobs; HQ sets it under /labour-rates",
                       job_type=job.type.value)
    return rate.amount


def _chargeable_parts(session: Session, job: Job) -> list[rules.ChargeablePart]:
    """Parts fitted, grouped by part and applicable list price (the lower of then and now)."""
    quantities: dict[tuple[uuid.UUID, Decimal], int] = defaultdict(int)
    parts: dict[uuid.UUID, Part] = {}
    for usage, part in session.execute(select(PartUsage, Part).join(Part, Part.id == PartUsage.part_id)
                                       .where(PartUsage.job_id == job.id)):
        parts[part.id] = part
        quantities[(part.id, min(usage.list_price, part.list_price))] += usage.quantity
    return [rules.ChargeablePart(part_id=pid, sku=parts[pid].sku, name=parts[pid].name, quantity=qty,
                                 list_price=price, warranty_covered=parts[pid].warranty_covered)
            for (pid, price), qty in quantities.items()]


def _overrides(session: Session, job: Job) -> list[BillPriceOverride]:
    return list(session.scalars(select(BillPriceOverride).where(BillPriceOverride.job_id == job.id)
                                .order_by(BillPriceOverride.at)))


def compute(session: Session, job: Job) -> JobBill:
    """The bill of ``job`` as of now (joins the caller's transaction)."""
    overrides = _overrides(session, job)
    row = session.get(BillCover, job.id)
    cover = None if row is None else rules.Cover(
        payer=row.payer, labour=row.labour, parts={uuid.UUID(k): int(v) for k, v in row.parts.items()},
        warranty_parts=row.warranty_parts)
    bill = rules.compute_bill(
        job_type=job.type.value, labour_rate=_labour_rate(session, job), labour_covered=bool(job.labour_covered),
        parts_covered=bool(job.parts_covered), parts=_chargeable_parts(session, job),
        overrides={o.part_id: o.unit_price for o in overrides}, currency=BILLING_CURRENCY, cover=cover,
    )
    return JobBill(job=job, bill=bill, overrides=overrides)


def get_bill(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID) -> JobBill:
    """HQ, the point's manager and the assigned technician (who shows it to the customer)."""
    with uow:
        job = jobs.get_visible_job(uow.session, actor, job_id, with_events=False)
        return compute(uow.session, job)


def set_price_overrides(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID,
                        overrides: Sequence[PriceOverride]) -> JobBill:
    """Replace the manager's price reductions on a job's bill; none may exceed the list price."""
    with uow:
        job = jobs.get_visible_job(uow.session, actor, job_id, for_update=True, with_events=False)
        if not (actor.is_admin or (actor.role == Role.MANAGER and actor.service_point_id == job.service_point_id)):
            raise Forbidden("only the point's manager or an HQ admin changes a bill")
        if job.status in FINAL:
            raise Conflict(f"job {job.reference} is {job.status.value}; its bill is final", current=job.status.value)
        on_bill: dict[uuid.UUID, Decimal] = {}
        for line in _chargeable_parts(uow.session, job):
            on_bill[line.part_id] = min(on_bill.get(line.part_id, line.list_price), line.list_price)
        labour = rules.money(_labour_rate(uow.session, job))
        rows: dict[uuid.UUID | None, BillPriceOverride] = {}
        now = utcnow()
        for index, override in enumerate(overrides):
            prefix = f"overrides.{index}."
            part_id = None
            list_price = labour
            if override.part_id is not None or override.part_sku is not None:
                part = resolve_part(uow.session, part_id=override.part_id, part_sku=override.part_sku, prefix=prefix)
                if part.id not in on_bill:
                    raise ValidationFailed(f"{prefix}part_sku", f"part {part.sku} is not on this job's bill")
                part_id, list_price = part.id, rules.money(on_bill[part.id])
            if part_id in rows:
                raise ValidationFailed(prefix.rstrip("."), "this line already has a price")
            if not override.reason.strip():
                raise ValidationFailed(f"{prefix}reason", "say why the price is lowered")
            rules.check_price_override(override.unit_price, list_price, f"{prefix}unit_price")
            rows[part_id] = BillPriceOverride(job_id=job.id, part_id=part_id, unit_price=rules.money(override.unit_price),
                                              reason=override.reason.strip(), actor_id=actor_id_of(actor), at=now)
        replaced = _overrides(uow.session, job)
        for old in replaced:
            uow.session.delete(old)
        uow.session.flush()  # the old lines go before the new ones take their (job, part) keys
        uow.session.add_all(rows.values())
        uow.session.flush()
        audit_log.append(uow.session, kind="stock.bill_prices", subject_id=job.id, actor_id=actor_id_of(actor),
                         seal=list(rows.values()), deleted=replaced,
                         payload={"overrides": [{"part_id": r.part_id, "unit_price": str(r.unit_price),
                                                 "reason": r.reason} for r in rows.values()]})
        bill = compute(uow.session, job)
        uow.commit()
    return bill
