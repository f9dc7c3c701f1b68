"""Builders for the spot-check tests: completed checklists written straight to the database
(a finished job, its checklist, optionally a photo with EXIF facts), and a clock-aware client.

Checklists are built as rows rather than through the job lifecycle: the audits only read what
the SOP domain stored (completion times, results, evidence), and the tests need full control of
the device and server clocks, which the lifecycle rightly refuses to give.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatch import clock
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Customer, JobType, Product, ServicePoint, Technician
from dispatch.auth.models import User
from dispatch.audits import sampling
from dispatch.sop.models import (
    Attachment,
    Checklist,
    ChecklistStatus,
    SopTemplate,
    SopVersion,
    StepEvidence,
    StepResult,
    VersionStatus,
)
from dispatch.sop.rules import StepStatus

TZ = ZoneInfo("Asia/Shanghai")
WEEK = sampling.lot_week(2030, 10, TZ)  # Monday 4 March 2030; far from the demo data's weeks
NEXT_WEEK = WEEK.next(TZ)
_numbers = itertools.count(1)


def local(day_offset: int, hour: int, minute: int = 0, week: sampling.LotWeek = WEEK) -> datetime:
    """A local time ``day_offset`` days after ``week``'s Monday."""
    return week.starts_at + timedelta(days=day_offset, hours=hour, minutes=minute)


class AuditWorld:
    """Writes completed checklists and drives the API at chosen moments."""

    def __init__(self, api, session_factory) -> None:
        self.api = api
        self.session_factory = session_factory

    @contextlib.contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        """Freeze the clock; tokens are issued afresh at that moment (they expire after 15 min)."""
        self.api._tokens.clear()
        with clock.frozen(moment):
            yield
        self.api._tokens.clear()

    def draw(self, moment: datetime, as_: str = "reviewer") -> dict:
        with self.at(moment):
            response = self.api.post("/api/v1/audits/samples", as_=as_)
        assert response.status_code == 200, response.json
        return response.json

    def lot(self, point: str, week: sampling.LotWeek = WEEK, as_: str = "reviewer") -> dict:
        point_id = self.point_id(point)
        response = self.api.get(f"/api/v1/audits/lots?service_point_id={point_id}&week={week.label}", as_=as_)
        assert response.status_code == 200, response.json
        (summary,) = response.json
        detail = self.api.get(f"/api/v1/audits/lots/{summary['id']}", as_=as_)
        assert detail.status_code == 200, detail.json
        return detail.json

    def audits(self, lot_id: str, as_: str = "reviewer", **filters) -> list[dict]:
        query = "&".join([f"lot_id={lot_id}", "page_size=100"] + [f"{k}={v}" for k, v in filters.items()])
        response = self.api.get(f"/api/v1/audits/?{query}", as_=as_)
        assert response.status_code == 200, response.json
        return response.json

    def point_id(self, code: str) -> uuid.UUID:
        with self.session_factory() as session:
            return session.scalar(select(ServicePoint.id).where(ServicePoint.code == code))

    def technician(self, code: str, n: int = 1) -> Technician:
        with self.session_factory() as session:
            return session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                                  .where(User.username == f"tech.{code.lower()}.{n}"))

    def checklist(self, point: str, *, completed_at: datetime, received_at: datetime | None = None, tech: int = 1,
                  on_site_minutes: int = 120, flagged_steps: tuple[str, ...] = (), photo: dict | None = None,
                  template: str = "WP-INSTALL", checklist_id: uuid.UUID | None = None) -> uuid.UUID:
        """A completed install job at ``point`` and its completed checklist.

        ``completed_at`` is the job's (device) completion time, ``received_at`` the server time the
        completion reached us (default: the same). ``photo`` adds a survey photo: keys ``sha256``,
        ``exif_taken_at``, ``gps`` ((lat, lon) or None), ``reuse`` (an attachment id to link again).
        """
        received_at = received_at or completed_at
        number = next(_numbers)
        with self.session_factory() as session:
            point_row = session.scalar(select(ServicePoint).where(ServicePoint.code == point))
            technician = session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                                        .where(User.username == f"tech.{point.lower()}.{tech}"))
            customer = session.scalars(select(Customer).order_by(Customer.phone)).first()
            product = session.scalar(select(Product).where(Product.sku == "WP-RO500"))
            version = session.scalar(select(SopVersion).join(SopTemplate).where(
                SopTemplate.code == template, SopVersion.status == VersionStatus.PUBLISHED)
                .order_by(SopVersion.number.desc()).limit(1))
            job = Job(reference=f"AUD-{uuid.uuid4().hex[:12]}", type=JobType.INSTALL, status=JobStatus.COMPLETED,
                      customer_id=customer.id, product_id=product.id, service_point_id=point_row.id,
                      technician_id=technician.id, address=f"{number} Audit Road", lat=point_row.lat + 0.01,
                      lon=point_row.lon + 0.01, reported_at=completed_at - timedelta(days=2),
                      arrived_at=completed_at - timedelta(minutes=on_site_minutes), completed_at=completed_at)
            session.add(job)
            session.flush()
            checklist = Checklist(id=checklist_id or uuid.uuid4(), job_id=job.id, template_version_id=version.id, service_point_id=point_row.id,
                                  status=ChecklistStatus.COMPLETED, technician_id=technician.id,
                                  completed_at=received_at, flagged_steps=list(flagged_steps),
                                  result_sha256=hashlib.sha256(str(number).encode()).hexdigest())
            session.add(checklist)
            session.flush()
            if photo is not None:
                attachment_id = photo.get("reuse")
                if attachment_id is None:
                    lat, lon = photo.get("gps") or (None, None)
                    attachment = Attachment(
                        sha256=photo.get("sha256") or hashlib.sha256(f"photo-{number}".encode()).hexdigest(),
                        service_point_id=point_row.id, received_at=received_at, media_type="image/jpeg",
                        size_bytes=1000, width=10, height=10, exif_taken_at=photo.get("exif_taken_at"),
                        gps_lat=lat, gps_lon=lon)
                    session.add(attachment)
                    session.flush()
                    attachment_id = attachment.id
                result = StepResult(checklist_id=checklist.id, step_key="site_survey_photo", revision=1, value=None,
                                    status=StepStatus.PASSED, reasons=[], recorded_at=job.arrived_at,
                                    received_at=received_at, lat=job.lat, lon=job.lon,
                                    technician_id=technician.id, source="api")
                session.add(result)
                session.flush()
                session.add(StepEvidence(result_id=result.id, position=0, attachment_id=attachment_id))
            session.commit()
            return checklist.id

    def sla_job(self, point: str, *, due_at: datetime, arrived_at: datetime | None = None,
                cancelled_at: datetime | None = None) -> uuid.UUID:
        """A job with an on-site deadline (for SLA compliance), no checklist."""
        with self.session_factory() as session:
            point_row = session.scalar(select(ServicePoint).where(ServicePoint.code == point))
            customer = session.scalars(select(Customer).order_by(Customer.phone)).first()
            product = session.scalar(select(Product).where(Product.sku == "WP-RO500"))
            status = JobStatus.CANCELLED if cancelled_at else JobStatus.ON_SITE if arrived_at else JobStatus.DISPATCHED
            job = Job(reference=f"SLA-{uuid.uuid4().hex[:12]}", type=JobType.REPAIR, status=status,
                      customer_id=customer.id, product_id=product.id, service_point_id=point_row.id,
                      reported_at=due_at - timedelta(hours=48), sla_due_at=due_at,
                      sla_at_risk_at=due_at - timedelta(hours=4), sla_target_hours=48, arrived_at=arrived_at,
                      cancelled_at=cancelled_at)
            session.add(job)
            session.commit()
            return job.id

    def attachment_of(self, checklist_id: uuid.UUID) -> uuid.UUID:
        with self.session_factory() as session:
            return session.scalar(select(StepEvidence.attachment_id).join(StepResult)
                                  .where(StepResult.checklist_id == checklist_id))

    def job_site(self, checklist_id: uuid.UUID) -> tuple[float, float]:
        with self.session_factory() as session:
            job = session.scalar(select(Job).join(Checklist, Checklist.job_id == Job.id)
                                 .where(Checklist.id == checklist_id))
            return job.lat, job.lon
