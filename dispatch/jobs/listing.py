"""The API's job list: one page read as a column projection (the job's own columns and the few
columns of its relations it shows, one LEFT JOIN each, and the total in the same statement),
turned into plain objects that :class:`dispatch.api.schemas.jobs.JobSchema` dumps exactly as it
dumps a :class:`~dispatch.jobs.models.Job`.

Issue 18: loading entities (identity map, six related entities per row, the crew's selectin
load) was 40 % of ``GET /jobs`` and closing the session that held them another 15 %. A view
holds no ORM state, so the request's session ends with a bare ROLLBACK.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select

from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.jobs import rules
from dispatch.jobs.models import Job, JobHelper
from dispatch.jobs.service import visible_jobs
from dispatch.network.models import (
    Customer,
    Product,
    Region,
    ServicePoint,
    Technician,
    Unit,
)
from dispatch.uow import UnitOfWork

#: Job columns a list never shows (who created it): everything else is read.
_HIDDEN = frozenset({"created_by"})
_JOB_COLUMNS = tuple(column for column in Job.__table__.c if column.key not in _HIDDEN)
_RELATED = (
    ServicePoint.code.label("_point_code"), Region.code.label("_region_code"),
    Technician.name.label("_technician_name"),
    Customer.name.label("_customer_name"), Customer.phone.label("_customer_phone"),
    Customer.grade.label("_customer_grade"),
    Product.sku.label("_product_sku"), Product.category.label("_product_category"),
    Unit.serial.label("_unit_serial"),
)


def _projection(query):
    """``query`` (over the job's columns) joined to the related rows whose columns it shows."""
    return (query.outerjoin(ServicePoint, ServicePoint.id == Job.service_point_id)
            .outerjoin(Region, Region.id == Job.region_id)
            .outerjoin(Technician, Technician.id == Job.technician_id)
            .join(Customer, Customer.id == Job.customer_id)
            .join(Product, Product.id == Job.product_id)
            .outerjoin(Unit, Unit.id == Job.unit_id))


_JOB_KEYS = tuple(column.key for column in _JOB_COLUMNS)


def _view(row: Any, helpers: dict[uuid.UUID, list[uuid.UUID]], now) -> SimpleNamespace:
    view = SimpleNamespace()
    view.__dict__.update(zip(_JOB_KEYS, row, strict=False))  # the job's own columns come first
    view.customer = SimpleNamespace(id=row.customer_id, name=row._customer_name, phone=row._customer_phone,
                                    grade=row._customer_grade)
    view.product = SimpleNamespace(id=row.product_id, sku=row._product_sku, category=row._product_category)
    view.unit = SimpleNamespace(id=row.unit_id, serial=row._unit_serial) if row.unit_id is not None else None
    view.technician = (SimpleNamespace(id=row.technician_id, name=row._technician_name)
                       if row.technician_id is not None else None)
    view.service_point = (SimpleNamespace(id=row.service_point_id, code=row._point_code)
                          if row.service_point_id is not None else None)
    view.region = SimpleNamespace(id=row.region_id, code=row._region_code) if row.region_id is not None else None
    view.helper_ids = helpers.get(row.id, [])
    view.sla_status = rules.sla_status(rules.SlaTimes(
        due_at=row.sla_due_at, at_risk_at=row.sla_at_risk_at, arrived_at=row.arrived_at,
        cancelled_at=row.cancelled_at, scheduled_start=row.scheduled_start), now)
    return view


def list_job_views(uow: UnitOfWork, actor: Principal, *, offset: int = 0, limit: int = 50,
                   **filters) -> tuple[list[SimpleNamespace], int]:
    """The caller's visible jobs (the filters of :func:`dispatch.jobs.service.visible_jobs`) as
    plain views with what a job's list entry shows; ``(page, total)``. Two statements: the page
    with its total (a window count), and the helpers of its crew jobs when it has any (a job
    has helpers only while its crew is larger than one: booking and resizing keep that)."""
    query = visible_jobs(actor, columns=(*_JOB_COLUMNS, *_RELATED, func.count().over().label("_total")), **filters)
    with uow:
        session = uow.session
        rows = session.execute(_projection(query).offset(offset).limit(limit)).all()
        if rows:
            total = rows[0]._total
        else:  # past the end (or nothing): the total still counts what the filters match
            total = session.scalar(select(func.count()).select_from(
                visible_jobs(actor, columns=(Job.id,), **filters).order_by(None).subquery())) or 0
        crews = [row.id for row in rows if row.crew_size > 1]
        helpers: dict[uuid.UUID, list[uuid.UUID]] = {}
        if crews:
            for job_id, technician_id in session.execute(
                    select(JobHelper.job_id, JobHelper.technician_id).where(JobHelper.job_id.in_(crews))
                    .order_by(JobHelper.job_id, JobHelper.technician_id)):
                helpers.setdefault(job_id, []).append(technician_id)
    now = utcnow()
    return [_view(row, helpers, now) for row in rows], total
