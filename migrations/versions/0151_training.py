"""training: courses per skill, course results granting certificates, assessments, skill holds

Revision ID: 0151
Revises: 0150
Create Date: 2026-12-05 18:40:00

The course catalogue, each technician's attendance and exam per course session (with the
certificate a pass granted or renewed), periodic assessments (考核) and the skills a failed
assessment withdrew (held until a passed re-assessment).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0151"
down_revision = "0150"
branch_labels = None
depends_on = None

UTC = dispatch.db.UtcDateTime(timezone=True)


def _category():
    return sa.Enum("water_purifier", "water_heater", name="productcategory", native_enum=False, length=32)


def _job_type():
    return sa.Enum("install", "repair", "maintenance", name="jobtype", native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "technician_skill_holds",
        sa.Column("technician_id", sa.Uuid(), nullable=False),
        sa.Column("category", _category(), nullable=False),
        sa.Column("job_type", _job_type(), nullable=False),
        sa.Column("since", UTC, nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["technician_id"], ["technicians.id"],
                                name=op.f("fk_technician_skill_holds_technician_id_technicians"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("technician_id", "category", "job_type", name=op.f("pk_technician_skill_holds")),
    )
    op.create_table(
        "training_courses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", _category(), nullable=False),
        sa.Column("job_type", _job_type(), nullable=False),
        sa.Column("pass_score", sa.Integer(), nullable=False),
        sa.Column("certificate_months", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint("pass_score BETWEEN 0 AND 100", name=op.f("ck_training_courses_pass_score_range")),
        sa.CheckConstraint("certificate_months > 0", name=op.f("ck_training_courses_certificate_months_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_courses")),
        sa.UniqueConstraint("code", name=op.f("uq_training_courses_code")),
    )
    op.create_table(
        "training_course_results",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("technician_id", sa.Uuid(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=False),
        sa.Column("exam_score", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("certification_id", sa.Uuid(), nullable=True),
        sa.Column("certificate_expires_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["training_courses.id"],
                                name=op.f("fk_training_course_results_course_id_training_courses")),
        sa.ForeignKeyConstraint(["technician_id"], ["technicians.id"],
                                name=op.f("fk_training_course_results_technician_id_technicians"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["certification_id"], ["certifications.id"],
                                name=op.f("fk_training_course_results_certification_id_certifications"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"],
                                name=op.f("fk_training_course_results_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_course_results")),
    )
    with op.batch_alter_table("training_course_results") as batch:
        batch.create_index(batch.f("ix_training_course_results_course_id"), ["course_id"], unique=False)
        batch.create_index(batch.f("ix_training_course_results_technician_id"), ["technician_id"], unique=False)
    op.create_table(
        "training_assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("technician_id", sa.Uuid(), nullable=False),
        sa.Column("category", _category(), nullable=False),
        sa.Column("job_type", _job_type(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("pass_score", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("skill_effect", sa.Enum("none", "withdrawn", "restored", name="skilleffect", native_enum=False,
                                          length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_training_assessments_score_range")),
        sa.ForeignKeyConstraint(["technician_id"], ["technicians.id"],
                                name=op.f("fk_training_assessments_technician_id_technicians"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_training_assessments_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_assessments")),
    )
    with op.batch_alter_table("training_assessments") as batch:
        batch.create_index(batch.f("ix_training_assessments_technician_id"), ["technician_id"], unique=False)


def downgrade() -> None:
    op.drop_table("training_assessments")
    op.drop_table("training_course_results")
    op.drop_table("training_courses")
    op.drop_table("technician_skill_holds")
