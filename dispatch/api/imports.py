"""Bulk import of the installed base from CSV (dry run, background run with progress) and export."""

from __future__ import annotations

from flask import Response, jsonify, stream_with_context, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api import csv_export
from dispatch.api.csv_export import csv_lines
from dispatch.api.deps import current_principal, settings, task_queue, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.imports import (
    DryRunSchema,
    ImportOptionsSchema,
    ImportRunSchema,
    ImportUploadSchema,
)
from dispatch.errors import ValidationFailed
from dispatch.integrations import imports
from dispatch.integrations.enums import ImportKind

blp = Blueprint("imports", __name__, url_prefix="/api/v1/imports",
                description="Bulk import and export of the installed base (CSV)")


def _text(upload) -> str:
    try:
        return upload.stream.read().decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("file", "not UTF-8 text: save the sheet as CSV UTF-8") from None


@blp.route("/units")
class UnitImports(MethodView):
    @blp.arguments(ImportOptionsSchema, location="query")
    @blp.arguments(ImportUploadSchema, location="files")
    @blp.response(202, ImportRunSchema, description="the run, queued: poll its Location")
    @blp.alt_response(200, schema=DryRunSchema, description="dry run: every row is good")
    @blp.alt_response(422, schema=ProblemSchema, description="dry run: `problems` lists each bad row (line, field, "
                                                             "reason); or the file itself is unreadable")
    def post(self, options, files):
        """Import units with their sale data, buyers and dealers (admin). `?dry_run=true` checks only."""
        upload = files["file"]
        content = _text(upload)
        if options["dry_run"]:
            summary = imports.dry_run(unit_of_work(), current_principal(), content=content, tz=settings().timezone)
            return jsonify(DryRunSchema().dump(summary))
        run = imports.start(unit_of_work(), current_principal(), task_queue(), kind=ImportKind.UNITS,
                            content=content, filename=upload.filename or "")
        return run, 202, {"Location": url_for("imports.ImportById", run_id=run.id)}


@blp.route("/units/export")
class UnitExport(MethodView):
    @blp.response(200, description="the installed base as CSV, in the import's columns")
    def get(self):
        """Every unit in the import's shape (HQ): re-importing it changes nothing."""
        rows = imports.export_units(unit_of_work(), current_principal())
        header = next(rows)  # the role check runs before the response starts
        body = stream_with_context(csv_lines(_chain(header, rows)))
        return Response(body, mimetype=csv_export.MEDIA_TYPE,
                        headers={"Content-Disposition": 'attachment; filename="units.csv"'})


def _chain(first, rest):
    yield first
    yield from rest


@blp.route("/")
class Imports(MethodView):
    @blp.response(200, ImportRunSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Import runs, newest first (HQ)."""
        items, total = imports.list_runs(unit_of_work(), current_principal(), offset=pagination_parameters.first_item,
                                         limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return items


@blp.route("/<uuid:run_id>")
class ImportById(MethodView):
    @blp.response(200, ImportRunSchema)
    def get(self, run_id):
        """One run's progress and refused rows (HQ)."""
        return imports.get_run(unit_of_work(), current_principal(), run_id)
