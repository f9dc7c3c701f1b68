"""What a technician's device receives: a job with everything needed to work offline, and the
van's stock. Built in bulk (a few queries per page, never one per row)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, aliased

from dispatch.jobs.models import Job, JobHelper
from dispatch.network.models import Customer, Product, Unit
from dispatch.network.rules import in_warranty, warranty_until
from dispatch.routing import technician_day
from dispatch.sop.models import Checklist, SopStep, SopVersion, StepEvidence, StepResult
from dispatch.stock.models import JobExpectedPart, Part, PartFit, StockLevel, StockLocation, StockReservation


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _checklists(session: Session, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Each job's checklist: its pinned template version with the steps, and the current result of
    each step (the last revision) with its evidence. Column rows, four statements, no entities."""
    checklists = session.execute(
        select(Checklist.id, Checklist.job_id, Checklist.status, Checklist.template_version_id)
        .where(Checklist.job_id.in_(job_ids))
    ).all()
    if not checklists:
        return {}
    templates: dict[uuid.UUID, dict[str, Any]] = {}
    version_ids = {c.template_version_id for c in checklists}
    for version_id, number, title, key, position, step_title, instructions, kind, required, out_of_range, after, \
            params in session.execute(
                select(SopVersion.id, SopVersion.number, SopVersion.title, SopStep.key, SopStep.position, SopStep.title,
                       SopStep.instructions, SopStep.kind, SopStep.required, SopStep.out_of_range, SopStep.after,
                       SopStep.params)
                .outerjoin(SopStep, SopStep.version_id == SopVersion.id)
                .where(SopVersion.id.in_(version_ids)).order_by(SopVersion.id, SopStep.position)):
        template = templates.get(version_id)
        if template is None:
            template = templates[version_id] = {"version_id": str(version_id), "number": number, "title": title,
                                                "steps": []}
        if key is not None:
            template["steps"].append({"key": key, "position": position, "title": step_title,
                                      "instructions": instructions, "kind": kind.value, "required": required,
                                      "out_of_range": out_of_range.value, "after": after, "params": params})
    checklist_ids = [c.id for c in checklists]
    evidence: dict[uuid.UUID, list[str]] = defaultdict(list)
    for result_id, attachment_id in session.execute(
            select(StepEvidence.result_id, StepEvidence.attachment_id)
            .join(StepResult, StepResult.id == StepEvidence.result_id)
            .where(StepResult.checklist_id.in_(checklist_ids))
            .order_by(StepEvidence.result_id, StepEvidence.position)):
        evidence[result_id].append(str(attachment_id))
    current: dict[uuid.UUID, dict[str, Any]] = defaultdict(dict)
    for r in session.execute(
            select(StepResult.id, StepResult.checklist_id, StepResult.step_key, StepResult.revision, StepResult.value,
                   StepResult.status, StepResult.reasons, StepResult.recorded_at, StepResult.received_at)
            .where(StepResult.checklist_id.in_(checklist_ids)).order_by(StepResult.step_key, StepResult.revision)):
        current[r.checklist_id][r.step_key] = r  # ordered by (key, revision): the last one wins
    return {c.job_id: {
        "id": str(c.id),
        "status": c.status.value,
        "template": templates[c.template_version_id],
        "results": [{"id": str(r.id), "key": r.step_key, "revision": r.revision, "value": r.value,
                     "status": r.status.value, "reasons": r.reasons, "evidence": evidence.get(r.id, []),
                     "recorded_at": _iso(r.recorded_at), "received_at": _iso(r.received_at)}
                    for r in current[c.id].values()],
    } for c in checklists}


def _expected_parts(session: Session, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    parts: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    rows = session.execute(
        select(JobExpectedPart, Part).join(Part, Part.id == JobExpectedPart.part_id)
        .where(JobExpectedPart.job_id.in_(job_ids))
    ).all()
    reserved: dict[tuple[uuid.UUID, uuid.UUID], int] = defaultdict(int)
    for reservation in session.scalars(select(StockReservation).where(StockReservation.job_id.in_(job_ids))):
        reserved[(reservation.job_id, reservation.part_id)] += reservation.open_quantity
    for expected, part in rows:
        parts[expected.job_id].append({"part_id": str(part.id), "sku": part.sku, "name": part.name,
                                       "quantity": expected.quantity, "shortage": expected.shortage,
                                       "reserved": reserved[(expected.job_id, part.id)]})
    return parts


@dataclass(frozen=True, slots=True)
class _UnitWarranty:
    """What the warranty rules read of a unit (its purchase, its closing, its model's months)."""
    purchased_on: date | None
    warranty_closed_on: date | None
    product: Any


@dataclass(frozen=True, slots=True)
class _Months:
    warranty_months: int


@dataclass(slots=True)
class _BookedJob:
    """What the route facts read of a snapshot job."""
    id: uuid.UUID
    status: Any
    scheduled_start: Any
    technician_id: uuid.UUID | None
    helper_ids: list[uuid.UUID]


def _job_rows(session: Session, job_ids: list[uuid.UUID]) -> list[Row]:
    """The jobs' columns with their customer, product, unit and the unit's model: one statement."""
    unit_product = aliased(Product)
    return session.execute(
        select(Job.id, Job.reference, Job.type, Job.status, Job.priority, Job.version, Job.scheduled_start,
               Job.scheduled_end, Job.window_start, Job.window_end, Job.sla_due_at, Job.address, Job.lat, Job.lon,
               Job.description, Job.duration_minutes, Job.warranty_decision, Job.crew_size, Job.technician_id,
               Customer.id.label("customer_id"), Customer.name.label("customer_name"),
               Customer.phone.label("customer_phone"), Customer.address.label("customer_address"),
               Customer.grade.label("customer_grade"),
               Product.id.label("product_id"), Product.sku.label("product_sku"), Product.name.label("product_name"),
               Product.category.label("product_category"),
               Unit.id.label("unit_id"), Unit.serial.label("unit_serial"), Unit.purchased_on.label("purchased_on"),
               Unit.warranty_closed_on.label("warranty_closed_on"),
               unit_product.id.label("unit_product_id"), unit_product.sku.label("unit_product_sku"),
               unit_product.name.label("unit_product_name"), unit_product.category.label("unit_product_category"),
               unit_product.warranty_months.label("unit_warranty_months"))
        .join(Customer, Customer.id == Job.customer_id).join(Product, Product.id == Job.product_id)
        .outerjoin(Unit, Unit.id == Job.unit_id).outerjoin(unit_product, unit_product.id == Unit.product_id)
        .where(Job.id.in_(job_ids))
    ).all()


def job_documents(session: Session, job_ids: list[uuid.UUID], today: date,
                  tz: ZoneInfo = ZoneInfo("Asia/Shanghai"), *,
                  technician_id: uuid.UUID) -> dict[uuid.UUID, dict[str, Any]]:
    """Jobs with customer contact, unit and warranty, checklist (pinned template + current
    results), expected parts, and the job's place in the reading technician's own route of its
    day (sequence, ETA, leg, break; a crew job's helper gets their own:
    :func:`dispatch.routing.technician_day.stop_facts`). Read as column rows (no entities)."""
    if not job_ids:
        return {}
    rows = _job_rows(session, job_ids)
    helpers: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for job_id, helper_id in session.execute(
            select(JobHelper.job_id, JobHelper.technician_id).where(JobHelper.job_id.in_(job_ids))
            .order_by(JobHelper.job_id, JobHelper.technician_id)):
        helpers[job_id].append(helper_id)
    checklists = _checklists(session, job_ids)
    parts = _expected_parts(session, job_ids)
    route = technician_day.stop_facts(
        session, [_BookedJob(j.id, j.status, j.scheduled_start, j.technician_id, helpers.get(j.id, []))
                  for j in rows], tz, technician_id)
    documents = {}
    for job in rows:
        unit = None
        if job.unit_id is not None:
            warranty = _UnitWarranty(job.purchased_on, job.warranty_closed_on, _Months(job.unit_warranty_months))
            unit = {"serial": job.unit_serial,
                    "product": _product_of(job.unit_product_id, job.unit_product_sku, job.unit_product_name,
                                           job.unit_product_category),
                    "purchased_on": _iso(job.purchased_on), "warranty_until": _iso(warranty_until(warranty)),
                    "in_warranty": in_warranty(warranty, today)}
        documents[job.id] = {
            "id": str(job.id), "reference": job.reference, "type": job.type.value, "status": job.status.value,
            "priority": job.priority.value, "version": job.version,
            "scheduled_start": _iso(job.scheduled_start), "scheduled_end": _iso(job.scheduled_end),
            "window_start": _iso(job.window_start), "window_end": _iso(job.window_end),
            "sla_due_at": _iso(job.sla_due_at), "address": job.address, "lat": job.lat, "lon": job.lon,
            "description": job.description, "duration_minutes": job.duration_minutes,
            "customer": {"id": str(job.customer_id), "name": job.customer_name, "phone": job.customer_phone,
                         "address": job.customer_address, "grade": job.customer_grade.value},
            "product": _product_of(job.product_id, job.product_sku, job.product_name, job.product_category),
            "unit": unit,
            "warranty_decision": job.warranty_decision.value if job.warranty_decision else None,
            "checklist": checklists.get(job.id),
            "expected_parts": parts.get(job.id, []),
            "route": route.get(job.id),
            "crew_size": job.crew_size,
            "lead_technician_id": str(job.technician_id) if job.technician_id else None,
            "helper_ids": [str(h) for h in helpers.get(job.id, [])],
        }
    return documents


def _product_of(product_id, sku: str, name: str, category) -> dict[str, Any]:
    return {"id": str(product_id), "sku": sku, "name": name, "category": category.value}


def _product(product) -> dict[str, Any]:
    return _product_of(product.id, product.sku, product.name, product.category)


def child_ids(session: Session, job_ids: list[uuid.UUID]) -> dict[str, list[str]]:
    """Descendants of jobs leaving a device: it drops them too."""
    if not job_ids:
        return {}
    checklists = session.execute(select(Checklist.id).where(Checklist.job_id.in_(job_ids))).scalars().all()
    results = session.execute(select(StepResult.id).where(StepResult.checklist_id.in_(checklists))).scalars().all() \
        if checklists else []
    return {"checklists": [str(c) for c in checklists], "step_results": [str(r) for r in results]}


def van_documents(session: Session, location_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    if not location_ids:
        return {}
    locations = dict(session.execute(select(StockLocation.id, StockLocation.code)
                                     .where(StockLocation.id.in_(location_ids))).all())
    levels: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    rows = session.execute(select(StockLevel, Part).join(Part, Part.id == StockLevel.part_id)
                           .where(StockLevel.location_id.in_(location_ids)).order_by(Part.sku)).all()
    for level, part in rows:
        levels[level.location_id].append({"part_id": str(part.id), "sku": part.sku, "name": part.name,
                                          "on_hand": level.on_hand, "reserved": level.reserved,
                                          "available": level.available, "in_transit": level.in_transit})
    return {loc_id: {"id": str(loc_id), "code": code, "levels": levels[loc_id]}
            for loc_id, code in locations.items()}


def reference_data(session: Session) -> dict[str, Any]:
    """Catalogue data the app needs offline (products and parts): the columns it shows, three
    statements, no entities (a part's fits as id pairs, not fit rows each joined to its product)."""
    products = session.execute(select(Product.id, Product.sku, Product.name, Product.category,
                                      Product.standard_minutes).order_by(Product.sku)).all()
    parts = session.execute(select(Part.id, Part.sku, Part.name, Part.list_price, Part.currency, Part.is_consumable)
                            .where(Part.active.is_(True)).order_by(Part.sku)).all()
    fits: dict[uuid.UUID, list[str]] = defaultdict(list)
    active_fits = (select(PartFit.part_id, PartFit.product_id).join(Part, Part.id == PartFit.part_id)
                   .where(Part.active.is_(True)).order_by(PartFit.part_id, PartFit.product_id))
    for part_id, product_id in session.execute(active_fits):
        fits[part_id].append(str(product_id))
    return {
        "products": [_product(p) | {"standard_minutes": p.standard_minutes} for p in products],
        "parts": [{"id": str(p.id), "sku": p.sku, "name": p.name, "list_price": str(p.list_price),
                   "currency": p.currency, "is_consumable": p.is_consumable,
                   "fits": fits.get(p.id, [])} for p in parts],
    }
