"""Recall campaigns: HQ recalls a part over a serial range, or over a model made within a date
range. Launched, a background task (``run``) opens a repair job per affected activated unit, in
batches, and tells each customer; every unit is claimed once (a ``RecallUnit`` row, inserted with
ON CONFLICT DO NOTHING), so a rerun, a retry after a crash or two workers never open a second
job. Progress (affected, processed, opened, failed) is kept on the campaign; completion is read
per service point from the jobs' statuses.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.care import notifications
from dispatch.care.templates import Template
from dispatch.clock import local_today, utcnow
from dispatch.db import page
from dispatch.errors import Conflict, DispatchError, NotFound, ValidationFailed
from dispatch.jobs import intake
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import JobType, Product, ServicePoint, Unit
from dispatch.network.units import parse_serial
from dispatch.ports import TaskQueue
from dispatch.stock.catalogue import resolve_part
from dispatch.stock.ledger import actor_id_of
from dispatch.uow import UnitOfWork, UowFactory
from dispatch.warranty.enums import RecallStatus
from dispatch.warranty.models import RecallCampaign, RecallUnit

log = logging.getLogger(__name__)

RUN_TASK = "workers.warranty_tasks.run_recall"
BATCH = 50
DONE = (JobStatus.COMPLETED, JobStatus.CLOSED)
VISIT_HOURS = (time(9), time(18))
DEADLINE_S = 3000  # the task stops (and can be run again) before its 3600 s RQ timeout


@dataclass(frozen=True)
class PointProgress:
    service_point_id: uuid.UUID | None
    code: str
    opened: int
    completed: int
    cancelled: int

    @property
    def open(self) -> int:
        return self.opened - self.completed - self.cancelled


def affected(campaign: RecallCampaign):
    query = select(Unit.id).where(Unit.customer_id.is_not(None), Unit.warranty_closed_on.is_(None))
    if campaign.serial_from is not None:
        query = query.where(Unit.serial >= campaign.serial_from, Unit.serial <= campaign.serial_to)
    if campaign.product_id is not None:
        query = query.where(Unit.product_id == campaign.product_id)
    if campaign.made_from is not None:
        query = query.where(Unit.manufactured_on >= campaign.made_from, Unit.manufactured_on <= campaign.made_to)
    return query


def create(uow: UnitOfWork, actor: Principal, *, code: str, title: str, part_sku: str, product_sku: str | None = None,
           serial_from: str | None = None, serial_to: str | None = None, made_from: date | None = None,
           made_to: date | None = None) -> RecallCampaign:
    """HQ defines a campaign: a serial range, or a model and a manufacture date range (or both)."""
    actor.require(Role.ADMIN)
    code = code.strip().upper()
    if (serial_from is None) != (serial_to is None):
        raise ValidationFailed("serial_to", "give both ends of the serial range")
    if serial_from is not None:
        serial_from, serial_to = parse_serial(serial_from, "serial_from")[0], parse_serial(serial_to, "serial_to")[0]
        if serial_from > serial_to:
            raise ValidationFailed("serial_to", "the range ends before it starts")
    elif product_sku is None or made_from is None or made_to is None:
        raise ValidationFailed("product_sku", "name a serial range, or a model and a manufacture date range")
    if (made_from is None) != (made_to is None) or (made_from and made_from > made_to):
        raise ValidationFailed("made_to", "give a manufacture date range that ends after it starts")
    with uow:
        session = uow.session
        if session.scalar(select(RecallCampaign.id).where(RecallCampaign.code == code)) is not None:
            raise Conflict(f"recall campaign {code} exists already")
        part = resolve_part(session, part_sku=part_sku)
        product = None
        if product_sku is not None:
            product = session.scalar(select(Product).where(Product.sku == product_sku))
            if product is None:
                raise ValidationFailed("product_sku", f"no product {product_sku}")
        row = RecallCampaign(code=code, title=title.strip(), part_id=part.id, part_sku=part.sku,
                             product_id=product.id if product else None, serial_from=serial_from, serial_to=serial_to,
                             made_from=made_from, made_to=made_to, status=RecallStatus.DRAFT, total=0, processed=0,
                             opened=0, failed=0, created_by=actor_id_of(actor), created_at=utcnow(), version=1)
        session.add(row)
        session.flush()
        row.total = session.scalar(select(func.count()).select_from(affected(row).subquery()))
        audit_log.append(session, kind="warranty.recall", subject_id=row.id, actor_id=actor_id_of(actor),
                         payload={"code": code, "part": part.sku, "product": product_sku, "serial_from": serial_from,
                                  "serial_to": serial_to, "made_from": made_from, "made_to": made_to,
                                  "affected": row.total})
        uow.commit()
        return row


def _get(session: Session, campaign_id: uuid.UUID, *, for_update: bool = False) -> RecallCampaign:
    query = select(RecallCampaign).where(RecallCampaign.id == campaign_id)
    row = session.scalar(query.with_for_update(of=RecallCampaign) if for_update else query)
    if row is None:
        raise NotFound(f"recall campaign {campaign_id} does not exist")
    return row


def list_campaigns(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int) -> tuple[list[RecallCampaign], int]:
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        return page(uow.session, select(RecallCampaign).order_by(RecallCampaign.created_at.desc(), RecallCampaign.id),
                    offset=offset, limit=limit)


def get_campaign(uow: UnitOfWork, actor: Principal, campaign_id: uuid.UUID) -> RecallCampaign:
    """Every office role reads a campaign and its progress (it is HQ's, not a point's)."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        return _get(uow.session, campaign_id)


def launch(uow: UnitOfWork, actor: Principal, tasks: TaskQueue, campaign_id: uuid.UUID) -> RecallCampaign:
    """HQ launches (or resumes) the campaign: the task is queued once the launch is durable."""
    actor.require(Role.ADMIN)
    with uow:
        row = _get(uow.session, campaign_id, for_update=True)
        if row.status == RecallStatus.DONE:
            raise Conflict(f"recall {row.code} is done", current=row.status.value)
        row.status, row.launched_at = RecallStatus.RUNNING, row.launched_at or utcnow()
        row.total = uow.session.scalar(select(func.count()).select_from(affected(row).subquery()))
        row.version += 1
        audit_log.append(uow.session, kind="warranty.recall_launch", subject_id=row.id, actor_id=actor_id_of(actor),
                         payload={"code": row.code, "affected": row.total})
        task_id = f"recall-{row.id}-{row.version}"
        uow.after_commit(lambda: tasks.enqueue(RUN_TASK, str(campaign_id), task_id=task_id, queue="default"))
        uow.commit()
        return row


def _claim(session: Session, campaign_id: uuid.UUID, unit_id: uuid.UUID) -> bool:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (insert(RecallUnit).values(campaign_id=campaign_id, unit_id=unit_id, failure="", at=utcnow())
                 .on_conflict_do_nothing(index_elements=["campaign_id", "unit_id"]).returning(RecallUnit.unit_id))
    return session.execute(statement).first() is not None


def _open_one(session: Session, campaign: RecallCampaign, unit_id: uuid.UUID, *, radius_km: float,
              tz: ZoneInfo) -> bool | None:
    """Claim the unit and take its job in (the intake borrows the session: its commit commits the claim),
    then link the job and tell the customer. None: claimed before; False: the intake refused (kept)."""
    if not _claim(session, campaign.id, unit_id):
        session.rollback()
        return None
    unit = session.get(Unit, unit_id)
    day = local_today(tz) + timedelta(days=1)
    try:
        job = intake.create_job(
            UnitOfWork(session=session), SYSTEM, type=JobType.REPAIR, radius_km=radius_km, tz=tz,
            unit_serial=unit.serial, window_start=datetime.combine(day, VISIT_HOURS[0], tzinfo=tz),
            window_end=datetime.combine(day + timedelta(days=13), VISIT_HOURS[1], tzinfo=tz),
            description=f"Recall {campaign.code}: replace {campaign.part_sku} ({campaign.title}). Free of charge.")
    except DispatchError as exc:
        session.rollback()
        _claim(session, campaign.id, unit_id)
        session.execute(update(RecallUnit).where(RecallUnit.campaign_id == campaign.id, RecallUnit.unit_id == unit_id)
                        .values(failure=exc.detail[:500]))
        session.commit()
        return False
    job.labour_covered, job.parts_covered = True, True  # the manufacturer pays a recall
    session.execute(update(RecallUnit).where(RecallUnit.campaign_id == campaign.id, RecallUnit.unit_id == unit_id)
                    .values(job_id=job.id, service_point_id=job.service_point_id))
    notifications.notify_customer(session, unit.customer, Template.RECALL_OPENED,
                                  {"code": campaign.code, "serial": unit.serial, "part": campaign.part_sku,
                                   "title": campaign.title, "reference": job.reference},
                                  job_id=job.id, service_point_id=job.service_point_id)
    session.commit()
    return True


def run(uow_factory: UowFactory, campaign_id: uuid.UUID, *, radius_km: float, tz: ZoneInfo,
        batch: int = BATCH) -> dict[str, object]:
    """The background task: open the jobs of the units not claimed yet, ``batch`` at a time, updating
    the campaign's progress after each batch; safe to run again (claimed units are skipped)."""
    started, campaign_id = utcnow(), uuid.UUID(str(campaign_id))
    with uow_factory() as uow:
        session = uow.session
        campaign = _get(session, campaign_id)
        if campaign.status != RecallStatus.RUNNING:
            return {"code": campaign.code, "status": campaign.status.value, "opened": 0}
        claimed = select(RecallUnit.unit_id).where(RecallUnit.campaign_id == campaign.id)
        todo = list(session.scalars(affected(campaign).where(Unit.id.not_in(claimed)).order_by(Unit.serial)))
        session.rollback()
        opened = failed = 0
        for start in range(0, len(todo), batch):
            for unit_id in todo[start:start + batch]:
                outcome = _open_one(session, campaign, unit_id, radius_km=radius_km, tz=tz)
                opened += outcome is True
                failed += outcome is False
            _progress(session, campaign.id)
            if (utcnow() - started).total_seconds() > DEADLINE_S:
                log.warning("recall %s: stopped at the deadline; run it again to go on", campaign.code)
                return {"code": campaign.code, "status": "running", "opened": opened, "failed": failed}
        _progress(session, campaign.id, finished=True)
        return {"code": campaign.code, "status": "done", "opened": opened, "failed": failed}


def _progress(session: Session, campaign_id: uuid.UUID, *, finished: bool = False) -> None:
    campaign = _get(session, campaign_id, for_update=True)
    rows = session.execute(select(RecallUnit.job_id.is_not(None), func.count()).where(
        RecallUnit.campaign_id == campaign_id).group_by(RecallUnit.job_id.is_not(None))).all()
    counts = {bool(k): n for k, n in rows}
    campaign.opened, campaign.failed = counts.get(True, 0), counts.get(False, 0)
    campaign.processed = campaign.opened + campaign.failed
    if finished:
        campaign.status, campaign.finished_at = RecallStatus.DONE, utcnow()
    campaign.version += 1
    session.commit()


def points(uow: UnitOfWork, actor: Principal, campaign_id: uuid.UUID) -> list[PointProgress]:
    """Completion per service point: jobs opened, completed and cancelled (a manager: their point)."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        _get(uow.session, campaign_id)
        query = (select(RecallUnit.service_point_id, ServicePoint.code, Job.status, func.count())
                 .join(Job, Job.id == RecallUnit.job_id)
                 .outerjoin(ServicePoint, ServicePoint.id == RecallUnit.service_point_id)
                 .where(RecallUnit.campaign_id == campaign_id)
                 .group_by(RecallUnit.service_point_id, ServicePoint.code, Job.status))
        if not actor.is_hq:
            query = query.where(RecallUnit.service_point_id == actor.service_point_id)
        totals: dict[uuid.UUID | None, list] = {}
        for point_id, code, status, n in uow.session.execute(query):
            entry = totals.setdefault(point_id, [code or "", 0, 0, 0])
            entry[1] += n
            entry[2] += n if status in DONE else 0
            entry[3] += n if status == JobStatus.CANCELLED else 0
        return sorted((PointProgress(pid, *values) for pid, values in totals.items()), key=lambda p: p.code)
