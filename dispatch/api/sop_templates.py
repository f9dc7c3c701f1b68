"""SOP templates: HQ admins draft and publish immutable versions; everyone may read what is published."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.sop_templates import (
    ApplicableQuerySchema,
    TemplateCreateSchema,
    TemplateFilterSchema,
    TemplateSchema,
    VersionEditSchema,
    VersionSchema,
    VersionSummarySchema,
)
from dispatch.sop import templates

blp = Blueprint("sop_templates", __name__, url_prefix="/api/v1/sop/templates",
                description="SOP templates: versioned step lists that checklists are pinned to")


@blp.route("/")
class Templates(MethodView):
    @blp.arguments(TemplateFilterSchema(), location="query")
    @blp.response(200, TemplateSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List templates by code."""
        items, total = templates.list_templates(unit_of_work(), current_principal(),
                                                offset=pagination_parameters.first_item,
                                                limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(TemplateCreateSchema())
    @blp.response(201, TemplateSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="code taken, or another template covers the same scope")
    def post(self, body):
        """Create a template (admin); its version 1 is a draft until published."""
        template = templates.create_template(unit_of_work(), current_principal(), **body)
        return template, {"Location": url_for("sop_templates.TemplateById", template_id=template.id)}


@blp.route("/applicable")
class ApplicableVersion(MethodView):
    @blp.arguments(ApplicableQuerySchema(), location="query")
    @blp.response(200, VersionSchema)
    def get(self, query):
        """The version a job of this type on this model gets if it is scheduled now."""
        return templates.applicable_version(unit_of_work(), current_principal(), **query)


@blp.route("/<uuid:template_id>")
class TemplateById(MethodView):
    @blp.response(200, TemplateSchema)
    def get(self, template_id):
        """One template."""
        return templates.get_template(unit_of_work(), current_principal(), template_id)


@blp.route("/<uuid:template_id>/versions")
class TemplateVersions(MethodView):
    @blp.response(200, VersionSummarySchema(many=True))
    def get(self, template_id):
        """Every version, oldest first (drafts only for HQ)."""
        return templates.list_versions(unit_of_work(), current_principal(), template_id)

    @blp.response(201, VersionSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the template already has a draft")
    def post(self, template_id):
        """Start the next draft from the newest version's content (admin)."""
        version = templates.start_draft(unit_of_work(), current_principal(), template_id)
        return version, {"Location": url_for("sop_templates.TemplateVersionByNumber", template_id=template_id,
                                             number=version.number)}


@blp.route("/<uuid:template_id>/versions/<int:number>")
class TemplateVersionByNumber(MethodView):
    @blp.response(200, VersionSchema)
    def get(self, template_id, number):
        """One version with its steps."""
        return templates.get_version(unit_of_work(), current_principal(), template_id, number)

    @blp.arguments(VersionEditSchema())
    @blp.response(200, VersionSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the version is published: immutable")
    def put(self, body, template_id, number):
        """Replace a draft's title, description and steps (admin)."""
        return templates.edit_draft(unit_of_work(), current_principal(), template_id, number, **body)


@blp.route("/<uuid:template_id>/versions/<int:number>/publish")
class TemplateVersionPublication(MethodView):
    @blp.response(200, VersionSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="already published")
    def post(self, template_id, number):
        """Publish a draft (admin): it is in force for jobs scheduled from now on; checklists in
        flight keep the version they were pinned to."""
        return templates.publish(unit_of_work(), current_principal(), template_id, number)
