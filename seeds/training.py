"""Demo training: HQ's four courses (install and repair, per product category), a session of
the water-heater installation course a month ago at HZ02 (one pass that granted the course's
certificate, one failed exam, one absence) and a passed assessment. Idempotent by course code
and by (course, technician, day)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.auth.models import User
from dispatch.clock import utcnow
from dispatch.network.enums import JobType, ProductCategory
from dispatch.network.models import Technician
from dispatch.training.enums import SkillEffect
from dispatch.training.models import Assessment, Course, CourseResult
from dispatch.training.service import grant_certificate
from seeds import SeedContext

COURSES = [
    ("WP-INST", "Water purifier installation", ProductCategory.WATER_PURIFIER, JobType.INSTALL, 70, 24),
    ("WP-REP", "Water purifier repair", ProductCategory.WATER_PURIFIER, JobType.REPAIR, 75, 24),
    ("WH-INST", "Water heater installation and gas safety", ProductCategory.WATER_HEATER, JobType.INSTALL, 80, 12),
    ("WH-REP", "Water heater repair", ProductCategory.WATER_HEATER, JobType.REPAIR, 75, 12),
]
SESSION = [("tech.hz02.1", True, 92), ("tech.hz02.2", True, 64), ("tech.hz02.3", False, None)]


def seed(ctx: SeedContext) -> dict[str, int]:
    session, added = ctx.session, {}
    courses = {c.code: c for c in session.scalars(select(Course))}
    for code, title, category, job_type, pass_score, months in COURSES:
        if code not in courses:
            courses[code] = Course(code=code, title=title, category=category, job_type=job_type,
                                   pass_score=pass_score, certificate_months=months)
            session.add(courses[code])
            added["training_courses"] = added.get("training_courses", 0) + 1
    session.flush()
    course, held_on = courses["WH-INST"], ctx.today - timedelta(days=30)
    admin = session.scalar(select(User.id).where(User.username == "admin"))
    for username, attended, score in SESSION:
        technician = session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                                    .where(User.username == username))
        if technician is None or session.scalar(select(CourseResult.id).where(
                CourseResult.course_id == course.id, CourseResult.technician_id == technician.id,
                CourseResult.held_on == held_on)):
            continue
        passed = attended and score >= course.pass_score
        certificate = grant_certificate(technician, course, held_on) if passed else None
        session.flush()
        session.add(CourseResult(course_id=course.id, technician_id=technician.id, held_on=held_on,
                                 attended=attended, exam_score=score, passed=passed,
                                 certification_id=certificate.id if certificate else None,
                                 certificate_expires_on=certificate.expires_on if certificate else None,
                                 recorded_by=admin, recorded_at=utcnow()))
        added["training_course_results"] = added.get("training_course_results", 0) + 1
        if passed and not session.scalar(select(Assessment.id).where(Assessment.technician_id == technician.id)):
            session.add(Assessment(technician_id=technician.id, category=course.category, job_type=course.job_type,
                                   assessed_on=held_on + timedelta(days=7), score=88, pass_score=60, passed=True,
                                   skill_effect=SkillEffect.NONE, note="quarterly assessment", recorded_by=admin,
                                   recorded_at=utcnow()))
            added["training_assessments"] = added.get("training_assessments", 0) + 1
    return added
