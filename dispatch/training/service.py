"""Training and assessment use cases.

* HQ (admin) keeps the course catalogue: one course per skill (product category x job type) with
  its pass mark and how long the certificate it grants lasts.
* HQ or the technician's point manager records a course session's result for a technician:
  attended, exam score; a pass (attended and score >= the course's pass mark) grants the
  category's certificate, or renews the one the course granted before, from the session's day
  for ``certificate_months`` (the certificate assignment and the planner already check,
  :func:`dispatch.network.rules.valid_certification`).
* HQ or the point manager records a periodic assessment (考核) of one skill with a score. A fail
  withdraws the skill (assignment and the planner refuse the technician for it) and holds it,
  so that editing the technician cannot give it back; a passed re-assessment restores it.

Each result and assessment appends to the tamper-evident log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import local_today, utcnow
from dispatch.errors import Conflict, ValidationFailed
from dispatch.network import rules as network_rules
from dispatch.network import technicians
from dispatch.network.enums import JobType, ProductCategory
from dispatch.network.models import Certification, Skill, SkillHold, Technician
from dispatch.training.enums import SkillEffect
from dispatch.training.models import Assessment, Course, CourseResult
from dispatch.uow import UnitOfWork

ASSESSMENT_PASS_SCORE = 60  # unless the assessor says otherwise


def _user(actor: Principal) -> uuid.UUID | None:
    return None if actor.user_id.int == 0 else actor.user_id


# --- courses -----------------------------------------------------------------------------------------


def list_courses(uow: UnitOfWork, actor: Principal, *, category: ProductCategory | None = None,
                 job_type: JobType | None = None) -> list[Course]:
    """The catalogue (every staff role reads it)."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER, Role.TECHNICIAN)
    query = select(Course).order_by(Course.code)
    if category is not None:
        query = query.where(Course.category == category)
    if job_type is not None:
        query = query.where(Course.job_type == job_type)
    with uow:
        return list(uow.session.scalars(query))


def create_course(uow: UnitOfWork, actor: Principal, *, code: str, title: str, category: ProductCategory,
                  job_type: JobType, pass_score: int, certificate_months: int) -> Course:
    actor.require(Role.ADMIN)
    with uow:
        code = code.upper()
        if uow.session.scalar(select(Course.id).where(Course.code == code)) is not None:
            raise Conflict(f"course code {code} is taken")
        course = Course(code=code, title=title, category=category, job_type=job_type, pass_score=pass_score,
                        certificate_months=certificate_months)
        uow.session.add(course)
        uow.commit()
    return course


# --- course results ----------------------------------------------------------------------------------


def grant_certificate(technician: Technician, course: Course, held_on: date) -> Certification:
    """The certificate the course granted before (same name and category), renewed; else a new one."""
    expires_on = network_rules.add_months(held_on, course.certificate_months) - timedelta(days=1)
    existing = next((c for c in technician.certifications
                     if c.category == course.category and c.name == course.title), None)
    if existing is None:
        existing = Certification(name=course.title, category=course.category, issued_on=held_on,
                                 expires_on=expires_on)
        technician.certifications.append(existing)
    elif expires_on > existing.expires_on:
        existing.issued_on, existing.expires_on = held_on, expires_on
    return existing


def record_course_result(uow: UnitOfWork, actor: Principal, technician_id: uuid.UUID, *, course_id: uuid.UUID,
                         held_on: date, attended: bool, exam_score: int | None, tz: str) -> CourseResult:
    """One technician's attendance and exam at a course session; a pass grants or renews the
    certificate (admin, or the technician's point manager)."""
    actor.require(Role.ADMIN, Role.MANAGER)
    if held_on > local_today(tz):
        raise ValidationFailed("held_on", "a result is recorded after the session, not before")
    if not attended and exam_score is not None:
        raise ValidationFailed("exam_score", "a technician who did not attend has no exam score")
    if attended and exam_score is None:
        raise ValidationFailed("exam_score", "give the exam score of a technician who attended")
    with uow:
        session = uow.session
        technician = technicians.load_for_management(session, actor, technician_id)
        course = session.get(Course, course_id)
        if course is None:
            raise ValidationFailed("course_id", f"no course has the id {course_id}")
        passed = attended and exam_score is not None and exam_score >= course.pass_score
        certificate = grant_certificate(technician, course, held_on) if passed else None
        technician.updated_at = utcnow()
        session.flush()
        result = CourseResult(course=course, technician_id=technician.id, held_on=held_on, attended=attended,
                              exam_score=exam_score, passed=passed,
                              certification_id=certificate.id if certificate else None,
                              certificate_expires_on=certificate.expires_on if certificate else None,
                              recorded_by=_user(actor), recorded_at=utcnow())
        session.add(result)
        session.flush()
        audit_log.append(session, kind="training.course_result", subject_id=technician.id, actor_id=_user(actor),
                         payload={"technician_id": str(technician.id), "course": course.code,
                                  "held_on": held_on.isoformat(), "attended": attended, "exam_score": exam_score,
                                  "passed": passed, "certificate_expires_on":
                                      certificate.expires_on.isoformat() if certificate else None})
        uow.commit()
    return result


# --- assessments -------------------------------------------------------------------------------------


def record_assessment(uow: UnitOfWork, actor: Principal, technician_id: uuid.UUID, *, category: ProductCategory,
                      job_type: JobType, assessed_on: date, score: int, tz: str,
                      pass_score: int | None = None, note: str = "") -> Assessment:
    """A periodic assessment of one skill (admin, or the technician's point manager). A fail
    withdraws the skill until a passed re-assessment gives it back."""
    actor.require(Role.ADMIN, Role.MANAGER)
    if assessed_on > local_today(tz):
        raise ValidationFailed("assessed_on", "an assessment is recorded after it took place")
    pass_score = ASSESSMENT_PASS_SCORE if pass_score is None else pass_score
    with uow:
        session = uow.session
        technician = technicians.load_for_management(session, actor, technician_id)
        passed = score >= pass_score
        held = session.get(SkillHold, (technician.id, category, job_type))
        skill = next((s for s in technician.skills if s.category == category and s.job_type == job_type), None)
        effect = SkillEffect.NONE
        if not passed and (skill is not None or held is None):
            if skill is not None:
                technician.skills.remove(skill)
                effect = SkillEffect.WITHDRAWN
            if held is None:
                session.add(SkillHold(technician_id=technician.id, category=category, job_type=job_type,
                                      since=utcnow(), reason=f"assessment of {assessed_on.isoformat()}: {score}"))
        elif passed and held is not None:
            session.execute(delete(SkillHold).where(SkillHold.technician_id == technician.id,
                                                    SkillHold.category == category, SkillHold.job_type == job_type))
            if skill is None:
                technician.skills.append(Skill(category=category, job_type=job_type))
            effect = SkillEffect.RESTORED
        technician.updated_at = utcnow()
        assessment = Assessment(technician_id=technician.id, category=category, job_type=job_type,
                                assessed_on=assessed_on, score=score, pass_score=pass_score, passed=passed,
                                skill_effect=effect, note=note, recorded_by=_user(actor), recorded_at=utcnow())
        session.add(assessment)
        session.flush()
        audit_log.append(session, kind="training.assessment", subject_id=technician.id, actor_id=_user(actor),
                         payload={"technician_id": str(technician.id), "skill": f"{category.value}:{job_type.value}",
                                  "assessed_on": assessed_on.isoformat(), "score": score, "pass_score": pass_score,
                                  "passed": passed, "skill_effect": effect.value})
        uow.commit()
    return assessment


# --- a technician's record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingRecord:
    technician: Technician
    results: list[CourseResult]
    assessments: list[Assessment]
    held_skills: list[SkillHold]


def get_record(uow: UnitOfWork, actor: Principal, technician_id: uuid.UUID) -> TrainingRecord:
    """Courses, assessments and withdrawn skills (HQ; the point's manager; the technician)."""
    with uow:
        session = uow.session
        technician = technicians.load_visible(session, actor, technician_id)
        results = list(session.scalars(select(CourseResult).where(CourseResult.technician_id == technician.id)
                                       .order_by(CourseResult.held_on.desc(), CourseResult.recorded_at.desc())))
        assessments = list(session.scalars(select(Assessment).where(Assessment.technician_id == technician.id)
                                           .order_by(Assessment.assessed_on.desc(), Assessment.recorded_at.desc())))
        holds = list(session.scalars(select(SkillHold).where(SkillHold.technician_id == technician.id)
                                     .order_by(SkillHold.category, SkillHold.job_type)))
        return TrainingRecord(technician, results, assessments, holds)
