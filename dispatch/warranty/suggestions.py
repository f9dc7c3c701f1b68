"""The same defect repaired a second time on a unit within its warranty raises a replacement
suggestion for HQ (三包: a unit whose fault comes back is replaced rather than repaired again)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.care import notifications
from dispatch.care.templates import Template
from dispatch.clock import local_midnight, local_today, utcnow
from dispatch.db import page
from dispatch.jobs.models import Job, JobStatus
from dispatch.network import rules as network_rules
from dispatch.network.models import JobType, Unit
from dispatch.uow import UnitOfWork
from dispatch.warranty.enums import FaultKind
from dispatch.warranty.models import FaultCause, JobFaultCause, ReplacementSuggestion


def suggest_if_repeat(session: Session, job: Job, cause: FaultCause) -> ReplacementSuggestion | None:
    """Called when a repair's cause is recorded (no commit): the same defect found on an earlier repair
    of the unit, the unit in warranty today, raises one suggestion per unit and fault and tells HQ."""
    if cause.kind != FaultKind.DEFECT or job.unit_id is None:
        return None
    unit = session.get(Unit, job.unit_id)
    if unit is None or not network_rules.in_warranty(unit, local_today()):
        return None
    known = session.scalar(select(ReplacementSuggestion).where(ReplacementSuggestion.unit_id == unit.id,
                                                               ReplacementSuggestion.fault_cause_id == cause.id))
    if known is not None:
        return known
    first = session.scalar(
        select(Job).join(JobFaultCause, JobFaultCause.job_id == Job.id)
        .where(Job.unit_id == unit.id, Job.id != job.id, Job.type == JobType.REPAIR,
               Job.status != JobStatus.CANCELLED, JobFaultCause.fault_cause_id == cause.id,
               Job.reported_at >= local_midnight(unit.purchased_on))
        .order_by(Job.reported_at).limit(1))
    if first is None:
        return None
    row = ReplacementSuggestion(unit_id=unit.id, unit=unit, fault_cause_id=cause.id, fault_cause=cause,
                                first_job_id=first.id, second_job_id=job.id, service_point_id=job.service_point_id,
                                at=utcnow())
    session.add(row)
    session.flush()
    notifications.notify_hq(session, Template.REPLACEMENT_SUGGESTED,
                            {"serial": unit.serial, "code": cause.code, "first": first.reference,
                             "second": job.reference}, service_point_id=job.service_point_id)
    audit_log.append(session, kind="warranty.replacement_suggestion", subject_id=row.id, actor_id=None,
                     payload={"serial": unit.serial, "code": cause.code, "first_job_id": first.id,
                              "second_job_id": job.id})
    return row


def list_suggestions(uow: UnitOfWork, actor: Principal, *, offset: int,
                     limit: int) -> tuple[list[ReplacementSuggestion], int]:
    """HQ sees every suggestion, a point's manager the point's; newest first."""
    with uow:
        query = select(ReplacementSuggestion).order_by(ReplacementSuggestion.at.desc(), ReplacementSuggestion.id)
        if not actor.is_hq:
            actor.require(Role.MANAGER)
            query = query.where(ReplacementSuggestion.service_point_id == actor.service_point_id)
        return page(uow.session, query, offset=offset, limit=limit)
