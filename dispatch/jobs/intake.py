"""Job intake: a call taken in (by the HQ call centre, a point's manager, the customer channel,
a maintenance plan or a recall) becomes a job with its customer, unit and product, its SLA due
time and warranty decision fixed, and is dispatched to the authorised point whose region covers
it, in one transaction. Every change goes through :func:`dispatch.jobs.service.change_job`, like
the lifecycle moves in :mod:`dispatch.jobs.service`."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.models import Role
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.clock import utcnow
from dispatch.clock import zone as clock_zone
from dispatch.errors import RuleViolation, ValidationFailed
from dispatch.geo import Location
from dispatch.jobs import resolution, rules, service
from dispatch.jobs.models import EventKind, Job, JobStatus, Priority, SlaTarget, WarrantyDecision
from dispatch.network import rules as network_rules
from dispatch.network.customers import normalise_phone
from dispatch.network.models import Customer, CustomerGrade, JobType, Product, Unit
from dispatch.uow import UnitOfWork


def new_reference(day: date) -> str:
    """``J<yymmdd>-<6 hex>``: readable on the phone, unguessable, unique in practice (the unique
    constraint turns the rare clash into a 409)."""
    return f"J{day:%y%m%d}-{secrets.token_hex(3).upper()}"


def _unit_and_product(session: Session, job_type: JobType, unit_serial: str | None,
                      product_sku: str | None) -> tuple[Unit | None, Product]:
    unit = None
    if unit_serial:
        unit = session.scalar(select(Unit).where(Unit.serial == unit_serial).options(selectinload(Unit.product)))
        if unit is None:
            raise ValidationFailed("unit_serial", f"no unit has the serial {unit_serial!r}")
    if job_type != JobType.INSTALL:
        if unit is None:
            raise ValidationFailed("unit_serial", f"a {job_type.value} job needs the unit's serial")
        if unit.customer_id is None or unit.activated_at is None:
            raise ValidationFailed("unit_serial", "the unit is not activated: register its warranty card first")
    if unit is not None:
        if product_sku and product_sku != unit.product.sku:
            raise ValidationFailed("product_sku", f"the unit is a {unit.product.sku}, not a {product_sku}")
        return unit, unit.product
    if not product_sku:
        raise ValidationFailed("product_sku", "an install names the model (product_sku) or the unit (unit_serial)")
    product = session.scalar(select(Product).where(Product.sku == product_sku))
    if product is None:
        raise ValidationFailed("product_sku", f"no model has the SKU {product_sku!r}")
    return None, product


def _customer(session: Session, customer_id: uuid.UUID | None, inline: Mapping[str, Any] | None,
              unit: Unit | None) -> Customer:
    if customer_id is not None and inline:
        raise ValidationFailed("customer", "give customer_id or an inline customer, not both")
    customer: Customer | None
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise ValidationFailed("customer_id", f"no customer has the id {customer_id}")
    elif inline:
        # The phone number identifies a household: a known number reuses its customer record.
        phone = normalise_phone(inline["phone"], "customer.phone")
        customer = session.scalar(select(Customer).where(Customer.phone == phone).order_by(
            Customer.created_at).limit(1))
        if customer is None:
            location = inline.get("location")
            customer = Customer(
                name=inline["name"], phone=phone, email=inline.get("email"),
                address=inline.get("address", ""), lat=location["lat"] if location else None,
                lon=location["lon"] if location else None, grade=inline.get("grade", CustomerGrade.STANDARD),
            )
            session.add(customer)
    elif unit is not None and unit.customer_id is not None:
        customer = session.get(Customer, unit.customer_id)
    else:
        raise ValidationFailed("customer_id", "name the customer: customer_id or an inline customer")
    assert customer is not None
    if unit is not None and unit.customer_id is not None and customer.id != unit.customer_id:
        raise ValidationFailed("unit_serial", "the unit is registered to another customer")
    return customer


def create_job(
    uow: UnitOfWork,
    actor: Principal,
    *,
    type: JobType,
    radius_km: float,
    tz: ZoneInfo | str | None = None,
    priority: Priority = Priority.NORMAL,
    customer_id: uuid.UUID | None = None,
    customer: Mapping[str, Any] | None = None,
    unit_serial: str | None = None,
    product_sku: str | None = None,
    address: str = "",
    location: Mapping[str, float] | None = None,
    region_code: str | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    description: str = "",
    crew_size: int = 1,
) -> Job:
    """Take a job in (call centre or a point's manager) and dispatch it to the authorised point.

    A manager may only take in jobs that land at their own point (422 otherwise: the call centre
    routes the rest). The SLA due time and, for repairs, the warranty decision are fixed at intake.
    """
    actor.require(Role.ADMIN, Role.MANAGER)
    service.require_aware(window_start, "window_start")
    service.require_aware(window_end, "window_end")
    if (window_start is None) != (window_end is None):
        raise ValidationFailed("window_end" if window_end is None else "window_start",
                               "give both ends of the requested window")
    if window_start is not None and window_end is not None and window_end <= window_start:
        raise ValidationFailed("window_end", "must be after window_start")
    place = Location(location["lat"], location["lon"]) if location else None
    zone = clock_zone(tz)
    now = utcnow()
    today = now.astimezone(zone).date()
    with uow:
        session = uow.session
        unit, product = _unit_and_product(session, type, unit_serial, product_sku)
        who = _customer(session, customer_id, customer, unit)
        if place is None and who.lat is not None and who.lon is not None:
            place = Location(who.lat, who.lon)
        decision = resolution.resolve(session, category=product.category, job_type=type, on=today,
                                      radius_km=radius_km, region_code=region_code, location=place)
        point = decision.service_point
        if actor.role == Role.MANAGER and point.id != actor.service_point_id:
            raise RuleViolation(
                f"this job dispatches to service point {point.code}, not yours; the HQ call centre takes it in",
                reason="dispatches-elsewhere", service_point_code=point.code,
            )
        if who.service_point_id is None:
            who.service_point_id = point.id  # the point that first serves the customer
        target = session.scalar(select(SlaTarget).where(
            SlaTarget.job_type == type, SlaTarget.priority == priority, SlaTarget.customer_grade == who.grade))
        job = Job(
            reference=new_reference(today), type=type, priority=priority, customer=who, unit=unit,
            product=product, address=address or who.address, lat=place.lat if place else None,
            lon=place.lon if place else None, description=description, reported_at=now,
            window_start=window_start, window_end=window_end, duration_minutes=product.minutes_for(type),
            crew_size=crew_size,
            created_by=None if actor.user_id == SYSTEM.user_id else actor.user_id,
        )
        if target is not None:
            job.sla_due_at, job.sla_at_risk_at = rules.sla_deadlines(now, target.hours, target.at_risk_hours)
            job.sla_target_hours = target.hours
        if type == JobType.REPAIR and unit is not None:
            covered = network_rules.in_warranty(unit, today)
            job.warranty_decision = WarrantyDecision.COVERED if covered else WarrantyDecision.CHARGEABLE
            job.labour_covered = job.parts_covered = covered
            job.warranty_until = network_rules.warranty_until(unit)
        session.add(job)
        session.flush()
        # The job is dispatched in the same transaction: the other domains' hooks see it once, as
        # NEW -> DISPATCHED (none acts on NEW; running them for it too cost a query each).
        service.change_job(session, job, kind=EventKind.CREATED, to=JobStatus.NEW, actor=actor, created=True,
                           run_hooks=False, data={"type": type.value, "priority": priority.value, "customer_id": who.id,
                                 "unit_serial": unit.serial if unit else None, "product_sku": product.sku})

        def dispatch_to_point() -> None:
            job.service_point, job.service_point_id = decision.service_point_in(session), point.id
            job.region = decision.region_in(session)
            job.region_id = decision.region.id if decision.region is not None else None
            job.dispatch_reason = decision.reason
            job.out_of_area, job.dispatch_distance_km = decision.out_of_area, decision.distance_km

        service.change_job(session, job, kind=EventKind.TRANSITION, to=JobStatus.DISPATCHED, actor=actor,
                           apply=dispatch_to_point,
                           data={"service_point_id": point.id, "service_point_code": point.code,
                                 "reason": decision.reason.value, "out_of_area": decision.out_of_area,
                                 "distance_km": decision.distance_km,
                                 "region_code": decision.region.code if decision.region is not None else None})
        uow.commit()
    return job

