"""Demo 三包 data and service contracts: HQ's periods per category; for units the demo repaired twice
within their warranty (both times for a product defect, recorded here as the same fault) a
replacement suggestion and a replace request (grounds: the repeat fault), at HZ01 and NB02: one
approved (the replacement bound to the customer with the remaining warranty, the old unit expected
back at HQ) and one waiting for HQ; and at HZ01 and NB01 an annual package and an extended warranty."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from dispatch.care import maintenance
from dispatch.clock import utcnow
from dispatch.jobs.models import Job, JobStatus
from dispatch.network import rules
from dispatch.network.models import (
    Activation,
    Customer,
    JobType,
    Product,
    ProductCategory,
    ServicePoint,
    Unit,
)
from dispatch.sop.models import Attachment
from dispatch.stock.enums import UnitReturnStatus
from dispatch.stock.models import Part, UnitReturn
from dispatch.warranty import recalls
from dispatch.warranty.enums import (
    ContractKind,
    ContractStatus,
    FaultKind,
    RecallStatus,
    RemedyKind,
    RemedyStatus,
)
from dispatch.warranty.models import (
    ContractPart,
    JobFaultCause,
    JourneyEvent,
    RecallCampaign,
    RemedyRequest,
    ReplacementSuggestion,
    ServiceContract,
    StatutoryPeriods,
)
from seeds import SeedContext

PERIODS = {ProductCategory.WATER_PURIFIER: (7, 15), ProductCategory.WATER_HEATER: (7, 15)}
POINTS = ("HZ01", "NB02")


def _twice_repaired(ctx: SeedContext, point: ServicePoint) -> list[tuple[Unit, Job, Job, JobFaultCause]]:
    session = ctx.session
    done = [JobStatus.COMPLETED, JobStatus.CLOSED]
    unit_ids = session.scalars(select(Job.unit_id).where(
        Job.service_point_id == point.id, Job.type == JobType.REPAIR, Job.status.in_(done), Job.unit_id.is_not(None))
        .group_by(Job.unit_id).having(func.count() >= 2).order_by(Job.unit_id)).all()
    found = []
    for unit_id in unit_ids:
        unit = session.get(Unit, unit_id)
        if not rules.in_warranty(unit, ctx.today):
            continue
        first, second = session.scalars(select(Job).where(
            Job.unit_id == unit_id, Job.type == JobType.REPAIR, Job.status.in_(done))
            .order_by(Job.reported_at).limit(2)).all()
        causes = [session.get(JobFaultCause, job.id) for job in (first, second)]
        if any(c is None or c.fault_cause.kind != FaultKind.DEFECT for c in causes):
            continue
        if causes[1].fault_cause_id != causes[0].fault_cause_id:
            causes[1].fault_cause_id, causes[1].fault_cause = causes[0].fault_cause_id, causes[0].fault_cause
        found.append((unit, first, second, causes[0]))
    return found[:2]


def _approve(ctx: SeedContext, request: RemedyRequest, unit: Unit) -> None:
    session, now = ctx.session, utcnow()
    new = session.scalar(select(Unit).where(Unit.product_id == unit.product_id, Unit.customer_id.is_(None),
                                            Unit.warranty_closed_on.is_(None),
                                            Unit.id.not_in(select(JourneyEvent.unit_id)))  # not a traced serial
                         .order_by(Unit.serial).limit(1))
    if new is None:
        return
    new.customer_id, new.purchased_on, new.sales_channel, new.activated_at = (
        unit.customer_id, unit.purchased_on, unit.sales_channel or "retail", now)
    session.add(Activation(unit_id=new.id, customer_id=unit.customer_id, purchased_on=unit.purchased_on,
                           sales_channel=new.sales_channel, activated_at=now,
                           reason=f"三包 replacement of {unit.serial}"))
    request.replacement_unit_id = new.id
    unit.warranty_closed_on = ctx.today
    back = UnitReturn(unit_id=unit.id, service_point_id=request.service_point_id, status=UnitReturnStatus.EXPECTED,
                      reason=f"{request.kind.value} under 三包", reference=f"remedy {request.id}", created_at=now,
                      note="")
    session.add(back)
    session.flush()
    request.unit_return_id, request.status = back.id, RemedyStatus.APPROVED
    request.decided_at, request.decision_reason = now, "demo: the same defect came back"


def seed(ctx: SeedContext) -> dict[str, int]:
    session = ctx.session
    added = {"statutory_periods": 0, "replacement_suggestions": 0, "remedy_requests": 0}
    for category, (refund, replace) in PERIODS.items():
        if session.get(StatutoryPeriods, category) is None:
            session.add(StatutoryPeriods(category=category, refund_days=refund, replace_days=replace, version=1))
            added["statutory_periods"] += 1
    if session.scalar(select(RemedyRequest.id).limit(1)) is not None:
        added |= _contracts(ctx) | _recall(ctx)
        return {k: v for k, v in added.items() if v}
    for code in POINTS:
        point = session.scalar(select(ServicePoint).where(ServicePoint.code == code))
        photo = session.scalar(select(Attachment.id).where(Attachment.service_point_id == point.id)
                               .order_by(Attachment.id).limit(1)) if point else None
        if point is None or photo is None:
            continue
        for index, (unit, first, second, cause) in enumerate(_twice_repaired(ctx, point)):
            session.add(ReplacementSuggestion(unit_id=unit.id, fault_cause_id=cause.fault_cause_id,
                                              first_job_id=first.id, second_job_id=second.id,
                                              service_point_id=point.id, at=utcnow()))
            request = RemedyRequest(unit_id=unit.id, job_id=second.id, customer_id=unit.customer_id,
                                    service_point_id=point.id, kind=RemedyKind.REPLACE,
                                    status=RemedyStatus.PENDING, fault_cause_id=cause.fault_cause_id,
                                    evidence=[str(photo)], note="demo: the same fault again",
                                    days_since_purchase=(ctx.today - unit.purchased_on).days, grounds="repeat_fault",
                                    requested_at=utcnow(), decision_reason="")
            session.add(request)
            session.flush()
            if index == 0:
                _approve(ctx, request, unit)
            added["replacement_suggestions"] += 1
            added["remedy_requests"] += 1
    session.flush()
    added["maintenance_plans"] = maintenance.ensure_plans(session, today=ctx.today, tz=ctx.tz)  # the new units'
    added |= _contracts(ctx) | _recall(ctx)
    return {k: v for k, v in added.items() if v}


# --- service contracts ---------------------------------------------------------------------------

CONTRACT_POINTS = ("HZ01", "NB01")


def _contracts(ctx: SeedContext) -> dict[str, int]:
    """Per point: an annual package (2 visits, 2 PP cartridges) on an out-of-warranty purifier whose
    maintenance plan follows it, and an extended warranty on one whose factory warranty ends soon; one
    package ends within the month (its reminder is due)."""
    session, now = ctx.session, utcnow()
    if session.scalar(select(ServiceContract.id).limit(1)) is not None:
        return {}
    pp = session.scalar(select(Part).where(Part.sku == "FLT-PP-S1"))
    added = 0
    for code in CONTRACT_POINTS:
        point = session.scalar(select(ServicePoint).where(ServicePoint.code == code))
        units = [u for u in session.scalars(select(Unit).join(Customer, Customer.id == Unit.customer_id).where(
            Customer.service_point_id == point.id, Unit.warranty_closed_on.is_(None)).order_by(Unit.serial))
            if u.product.category == ProductCategory.WATER_PURIFIER]
        expired = [u for u in units if not rules.in_warranty(u, ctx.today)]
        ending = [u for u in units if rules.in_warranty(u, ctx.today)
                  and rules.warranty_until(u) <= ctx.today + timedelta(days=365)]
        if expired and pp is not None:
            unit = expired[-1]  # the last: tests take the first out-of-warranty unit as one without a contract
            starts = ctx.today - timedelta(days=345 if code == "HZ01" else 30)  # HZ01's ends within the month
            package = ServiceContract(
                reference=f"SC-{added + 1:06d}", unit_id=unit.id, customer_id=unit.customer_id,
                service_point_id=point.id, kind=ContractKind.ANNUAL_SERVICE, status=ContractStatus.ACTIVE,
                starts_on=starts, ends_on=rules.add_months(starts, 12) - timedelta(days=1), price=Decimal("360.00"),
                included_visits=2, visits_used=0, sold_at=now, version=1)
            package.parts.append(ContractPart(part_id=pp.id, sku=pp.sku, quantity=2, used=0))
            session.add(package)
            maintenance.follow_contract(session, unit.id, interval_days=182, starts_on=starts, today=ctx.today,
                                        service_point_id=point.id)
            added += 1
        if ending:
            unit = ending[-1]
            starts = rules.warranty_until(unit) + timedelta(days=1)
            session.add(ServiceContract(
                reference=f"SC-{added + 1:06d}", unit_id=unit.id, customer_id=unit.customer_id,
                service_point_id=point.id, kind=ContractKind.EXTENDED_WARRANTY, status=ContractStatus.ACTIVE,
                starts_on=starts, ends_on=rules.add_months(starts, 24) - timedelta(days=1), price=Decimal("299.00"),
                included_visits=0, visits_used=0, sold_at=now, version=1))
            added += 1
    session.flush()
    return {"service_contracts": added}


def _recall(ctx: SeedContext) -> dict[str, int]:
    """A recall of the RO-800's inlet valve for the units made in one year, defined and not launched
    (a reviewer launches it and watches the jobs open)."""
    session = ctx.session
    if session.scalar(select(RecallCampaign.id).where(RecallCampaign.code == "RC-RO800-VALVE")) is not None:
        return {}
    part = session.scalar(select(Part).where(Part.sku == "VLV-SOL-IN"))
    product = session.scalar(select(Product).where(Product.sku == "WP-RO800"))
    if part is None or product is None:
        return {}
    first_made = session.scalar(select(func.min(Unit.manufactured_on)).where(
        Unit.product_id == product.id, Unit.customer_id.is_not(None)))
    if first_made is None:
        return {}
    made_from = date(first_made.year, 1, 1)  # the year the first sold RO-800s were made
    campaign = RecallCampaign(code="RC-RO800-VALVE", title="inlet valve coil may overheat", part_id=part.id,
                              part_sku=part.sku, product_id=product.id, made_from=made_from,
                              made_to=date(made_from.year, 12, 31), status=RecallStatus.DRAFT, total=0, processed=0,
                              opened=0, failed=0, created_at=utcnow(), version=1)
    session.add(campaign)
    session.flush()
    campaign.total = session.scalar(select(func.count()).select_from(recalls.affected(campaign).subquery()))
    return {"recall_campaigns": 1}
