"""Demo worklists: HZ01's manager opens the day with something on every list — follow-up calls
after the week's visits, a customer who rated a visit 2/5, a filter change to remind, a
technician's certificate expiring in three weeks, the complaint near its time limit (seeds.care),
a warranty claim waiting for the old part (seeds.warranty), a technician's yearly assessment of
purifier maintenance falling due in twelve days — and HQ with its own desk. The lists
are filled by the same refresh the cron task runs."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from dispatch.auth.models import User
from dispatch.care import feedback
from dispatch.care.enums import RatingSource
from dispatch.care.models import MaintenancePlan, Rating
from dispatch.clock import utcnow
from dispatch.jobs.models import Job
from dispatch.jobs.rules import JobStatus
from dispatch.network.enums import JobType, ProductCategory
from dispatch.network.models import Certification, ServicePoint, Technician
from dispatch.network.rules import add_months
from dispatch.training.enums import SkillEffect
from dispatch.training.models import Assessment
from dispatch.worklists import rules as worklist_rules
from dispatch.worklists import service as worklists
from seeds import SeedContext

EXPIRING = "Water heater gas safety (demo: expires in 3 weeks)"


LOW_RATING_COMMENT = "Left a mess under the sink"


def _low_rating(session, point_id: uuid.UUID) -> int:
    if session.scalar(select(Rating.id).where(Rating.comment == LOW_RATING_COMMENT)) is not None:
        return 0
    rated = select(Rating.job_id)
    job = session.scalar(select(Job).where(Job.service_point_id == point_id, Job.status == JobStatus.COMPLETED,
                                           Job.id.not_in(rated)).order_by(Job.completed_at.desc()).limit(1))
    if job is None:
        return 0
    rating = Rating(id=uuid.uuid4(), job_id=job.id, score=2, comment=LOW_RATING_COMMENT,
                    source=RatingSource.LINK, created_at=utcnow() - timedelta(hours=3))
    session.add(rating)
    session.flush()
    feedback.open_callback_item(session, job, rating)
    return 1


def _expiring_certificate(ctx: SeedContext, point_id: uuid.UUID) -> int:
    session = ctx.session
    if session.scalar(select(Certification.id).where(Certification.name == EXPIRING)) is not None:
        return 0
    technician = session.scalar(select(Technician).where(Technician.service_point_id == point_id,
                                                         Technician.active.is_(True)).order_by(Technician.name.desc()))
    session.add(Certification(technician_id=technician.id, name=EXPIRING, category=ProductCategory.WATER_HEATER,
                              issued_on=ctx.today - timedelta(days=700), expires_on=ctx.today + timedelta(days=21)))
    return 1


def _filter_change_soon(ctx: SeedContext, point_id: uuid.UUID) -> int:
    """A unit HZ01 maintained falls due in 25 days: its reminder call is due in 4 days."""
    session = ctx.session
    soon = (MaintenancePlan.next_due_on >= ctx.today) & (MaintenancePlan.next_due_on <= ctx.today + timedelta(days=30))
    if session.scalar(select(MaintenancePlan.id).where(MaintenancePlan.service_point_id == point_id, soon)) is not None:
        return 0
    plan = session.scalar(select(MaintenancePlan).where(MaintenancePlan.active.is_(True),
                                                        MaintenancePlan.service_point_id.is_(None),
                                                        MaintenancePlan.next_due_on > ctx.today + timedelta(days=30))
                          .order_by(MaintenancePlan.next_due_on.desc()).limit(1))
    if plan is None:
        return 0
    plan.service_point_id, plan.next_due_on = point_id, ctx.today + timedelta(days=25)
    return 1


def _assessment_falling_due(ctx: SeedContext, point_id: uuid.UUID) -> int:
    """tech.hz01.2 was last assessed on purifier maintenance a year ago less twelve days."""
    session = ctx.session
    technician = session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                                .where(User.username == "tech.hz01.2", Technician.service_point_id == point_id))
    if technician is None or session.scalar(select(Assessment.id).where(Assessment.technician_id == technician.id)):
        return 0
    assessed_on = add_months(ctx.today + timedelta(days=12), -worklist_rules.ASSESSMENT_EVERY_MONTHS)
    session.add(Assessment(technician_id=technician.id, category=ProductCategory.WATER_PURIFIER,
                           job_type=JobType.MAINTENANCE, assessed_on=assessed_on, score=81, pass_score=60,
                           passed=True, skill_effect=SkillEffect.NONE, note="yearly assessment",
                           recorded_at=utcnow() - timedelta(days=353)))
    return 1


def seed(ctx: SeedContext) -> dict[str, int]:
    session = ctx.session
    hz01 = session.scalar(select(ServicePoint.id).where(ServicePoint.code == "HZ01"))
    if hz01 is None:
        return {}
    added = {"low_ratings": _low_rating(session, hz01), "certifications": _expiring_certificate(ctx, hz01),
             "maintenance_plans_due": _filter_change_soon(ctx, hz01),
             "training_assessments": _assessment_falling_due(ctx, hz01)}
    added["worklist_items"] = worklists.refresh_in(session, tz=ctx.tz)["opened"]
    return {k: v for k, v in added.items() if v}
