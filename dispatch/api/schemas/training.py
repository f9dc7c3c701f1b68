"""Training and assessment: the course catalogue, course results, assessments, a technician's record."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from dispatch.network.enums import JobType, ProductCategory
from dispatch.training.enums import SkillEffect

DAYS = validate.Range(min=date(2000, 1, 1), max=date(2199, 12, 31))
SCORE = validate.Range(min=0, max=100)


class CourseCreateSchema(Schema):
    code = fields.String(required=True, validate=[validate.Length(min=2, max=32), validate.Regexp(r"^[A-Za-z0-9-]+$")])
    title = fields.String(required=True, validate=validate.Length(min=1, max=200),
                          metadata={"description": "also the name of the certificate a pass grants"})
    category = fields.Enum(ProductCategory, by_value=True, required=True)
    job_type = fields.Enum(JobType, by_value=True, required=True)
    pass_score = fields.Integer(required=True, validate=SCORE)
    certificate_months = fields.Integer(required=True, validate=validate.Range(min=1, max=120))


class CourseFilterSchema(Schema):
    category = fields.Enum(ProductCategory, by_value=True)
    job_type = fields.Enum(JobType, by_value=True)


class CourseSchema(Schema):
    id = fields.UUID()
    code = fields.String()
    title = fields.String()
    category = fields.Enum(ProductCategory, by_value=True)
    job_type = fields.Enum(JobType, by_value=True)
    pass_score = fields.Integer()
    certificate_months = fields.Integer()


class CourseResultCreateSchema(Schema):
    course_id = fields.UUID(required=True)
    held_on = fields.Date(required=True, validate=DAYS, metadata={"description": "the session's (local) day"})
    attended = fields.Boolean(required=True)
    exam_score = fields.Integer(load_default=None, allow_none=True, validate=SCORE)


class CourseResultSchema(Schema):
    id = fields.UUID()
    course_id = fields.UUID()
    course_code = fields.String(attribute="course.code")
    technician_id = fields.UUID()
    held_on = fields.Date()
    attended = fields.Boolean()
    exam_score = fields.Integer(allow_none=True)
    passed = fields.Boolean()
    certification_id = fields.UUID(allow_none=True, metadata={"description": "the certificate granted or renewed"})
    certificate_expires_on = fields.Date(allow_none=True)
    recorded_at = fields.DateTime()


class AssessmentCreateSchema(Schema):
    category = fields.Enum(ProductCategory, by_value=True, required=True)
    job_type = fields.Enum(JobType, by_value=True, required=True)
    assessed_on = fields.Date(required=True, validate=DAYS)
    score = fields.Integer(required=True, validate=SCORE)
    pass_score = fields.Integer(load_default=None, allow_none=True, validate=SCORE,
                                metadata={"description": "default 60"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class AssessmentSchema(Schema):
    id = fields.UUID()
    technician_id = fields.UUID()
    category = fields.Enum(ProductCategory, by_value=True)
    job_type = fields.Enum(JobType, by_value=True)
    assessed_on = fields.Date()
    score = fields.Integer()
    pass_score = fields.Integer()
    passed = fields.Boolean()
    skill_effect = fields.Enum(SkillEffect, by_value=True)
    note = fields.String()
    recorded_at = fields.DateTime()


class HeldSkillSchema(Schema):
    category = fields.Enum(ProductCategory, by_value=True)
    job_type = fields.Enum(JobType, by_value=True)
    since = fields.DateTime()
    reason = fields.String()


class TrainingRecordSchema(Schema):
    technician_id = fields.UUID(attribute="technician.id")
    results = fields.List(fields.Nested(CourseResultSchema))
    assessments = fields.List(fields.Nested(AssessmentSchema))
    held_skills = fields.List(fields.Nested(HeldSkillSchema),
                              metadata={"description": "withdrawn by a failed assessment until re-assessed"})
