"""Courses, each technician's attendance and exam result per course session, and assessments."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, TimestampMixin, UuidPk, str_enum
from dispatch.network.enums import JobType, ProductCategory
from dispatch.network.models import Technician
from dispatch.training.enums import SkillEffect


class Course(UuidPk, TimestampMixin, Base):
    """A course for one skill (product category x job type); passing it grants or renews the
    category's certificate for ``certificate_months``."""

    __tablename__ = "training_courses"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory))
    job_type: Mapped[JobType] = mapped_column(str_enum(JobType))
    pass_score: Mapped[int]
    certificate_months: Mapped[int]

    __table_args__ = (
        CheckConstraint("pass_score BETWEEN 0 AND 100", name="pass_score_range"),
        CheckConstraint("certificate_months > 0", name="certificate_months_positive"),
    )


class CourseResult(UuidPk, Base):
    """A technician at one session of a course: attended or not, the exam's score, and the
    certificate the pass granted or renewed."""

    __tablename__ = "training_course_results"

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_courses.id"), index=True)
    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date]
    attended: Mapped[bool]
    exam_score: Mapped[int | None]
    passed: Mapped[bool]
    certification_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("certifications.id", ondelete="SET NULL"))
    certificate_expires_on: Mapped[date | None]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    course: Mapped[Course] = relationship(lazy="joined")
    technician: Mapped[Technician] = relationship(lazy="raise")


class Assessment(UuidPk, Base):
    """A periodic assessment (考核) of one skill with its score."""

    __tablename__ = "training_assessments"

    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory))
    job_type: Mapped[JobType] = mapped_column(str_enum(JobType))
    assessed_on: Mapped[date]
    score: Mapped[int]
    pass_score: Mapped[int]
    passed: Mapped[bool]
    skill_effect: Mapped[SkillEffect] = mapped_column(str_enum(SkillEffect))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),)
