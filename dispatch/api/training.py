"""Training and assessment: HQ's course catalogue; each technician's course results (a pass
grants or renews the certificate) and periodic assessments (考核; a fail withdraws the skill)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.training import (
    AssessmentCreateSchema,
    AssessmentSchema,
    CourseCreateSchema,
    CourseFilterSchema,
    CourseResultCreateSchema,
    CourseResultSchema,
    CourseSchema,
    TrainingRecordSchema,
)
from dispatch.training import service

blp = Blueprint("training", __name__, url_prefix="/api/v1", description="Training courses and assessments")


@blp.route("/training/courses")
class Courses(MethodView):
    @blp.arguments(CourseFilterSchema, location="query")
    @blp.response(200, CourseSchema(many=True))
    def get(self, filters):
        """The course catalogue, by code (every staff role)."""
        return service.list_courses(unit_of_work(), current_principal(), **filters)

    @blp.arguments(CourseCreateSchema)
    @blp.response(201, CourseSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the code is taken")
    def post(self, body):
        """A course for one skill (admin): its pass mark and the certificate's validity."""
        return service.create_course(unit_of_work(), current_principal(), **body)


@blp.route("/technicians/<uuid:technician_id>/course-results")
class CourseResults(MethodView):
    @blp.arguments(CourseResultCreateSchema)
    @blp.response(201, CourseResultSchema)
    def post(self, body, technician_id):
        """Attendance and exam score at a course session (admin; the point's manager). A pass
        grants the course's certificate or renews it from the session's day."""
        return service.record_course_result(unit_of_work(), current_principal(), technician_id,
                                            tz=settings().timezone, **body)


@blp.route("/technicians/<uuid:technician_id>/assessments")
class Assessments(MethodView):
    @blp.arguments(AssessmentCreateSchema)
    @blp.response(201, AssessmentSchema)
    def post(self, body, technician_id):
        """A periodic assessment of one skill (admin; the point's manager). A fail withdraws the
        skill (assignment and planning refuse it) until a passed re-assessment restores it."""
        return service.record_assessment(unit_of_work(), current_principal(), technician_id,
                                         tz=settings().timezone, **body)


@blp.route("/technicians/<uuid:technician_id>/training")
class TrainingRecord(MethodView):
    @blp.response(200, TrainingRecordSchema)
    def get(self, technician_id):
        """Course results, assessments and withdrawn skills (HQ; the manager; the technician)."""
        return service.get_record(unit_of_work(), current_principal(), technician_id)
