"""Bulk import (dry run, background run with progress) and export, CSV or XLSX, of each shape:
units with sale data, customers, parts with their list prices, technicians. One route pair per
shape (``POST /imports/<shape>``, ``GET /imports/<shape>/export``), made from one template."""

from __future__ import annotations

import itertools

from flask import Response, jsonify, stream_with_context, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api import csv_export
from dispatch.api.csv_export import csv_lines
from dispatch.api.deps import current_principal, settings, task_queue, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.imports import (
    DryRunSchema,
    ExportOptionsSchema,
    ImportOptionsSchema,
    ImportRunSchema,
    ImportUploadSchema,
)
from dispatch.errors import ValidationFailed
from dispatch.integrations import imports, sheets
from dispatch.integrations.enums import ImportFormat, ImportKind

blp = Blueprint("imports", __name__, url_prefix="/api/v1/imports",
                description="Bulk import and export (CSV or XLSX) of units, customers, parts and technicians")

XLSX_MAGIC = b"PK\x03\x04"

#: What each shape is, who may import it, and its columns (the operations' descriptions).
SHAPES: dict[ImportKind, tuple[str, str]] = {
    ImportKind.UNITS: ("Import units with their sale data, buyers and dealers (admin)",
                       ("Natural key `serial`; columns serial, product_sku, manufactured_on (required), customer_phone, "
                        "customer_name, customer_address, purchased_on, sales_channel, dealer_code.")),
    ImportKind.CUSTOMERS: ("Import customers (admin)",
                           ("Natural key `phone` (normalised); columns phone, name (required), email, address, lat, "
                            "lon, grade, service_point_code, locale. An empty cell leaves the stored value.")),
    ImportKind.PARTS: ("Import parts and their list prices (admin)",
                       ("Natural key `sku`; columns sku (required; name and list_price too for a new part), "
                        "description, list_price (the published price bills use), currency, is_consumable, "
                        "warranty_covered, active, compatible_products (model SKUs separated by `;`). Every change "
                        "goes through the catalogue's service and is sealed in the audit log.")),
    ImportKind.TECHNICIANS: ("Import technicians and their accounts (admin; a manager for their own point)",
                             ("Natural key `username`; columns username, name, service_point_code, hired_on "
                              "(required), phone, active, start_location, home_lat, home_lon, break_minutes, "
                              "break_earliest, break_latest, skills (`category:job_type;...`), certifications "
                              "(`name|category|issued_on|expires_on;...`), weekly_shifts (`weekday HH:MM-HH:MM;...`, "
                              "0 is Monday). A new account gets a random password (files never carry passwords).")),
}


def _upload(upload) -> imports.Upload:
    data = upload.stream.read()
    name = upload.filename or ""
    if data.startswith(XLSX_MAGIC) or name.lower().endswith(".xlsx"):
        return imports.Upload(ImportFormat.XLSX, data, name)
    try:
        return imports.Upload(ImportFormat.CSV, data.decode("utf-8"), name)
    except UnicodeDecodeError:
        raise ValidationFailed("file", "not UTF-8 text: save the sheet as CSV UTF-8, or as XLSX") from None


def _import(kind: ImportKind, options, files):
    upload = _upload(files["file"])
    if options["dry_run"]:
        summary = imports.dry_run(unit_of_work(), current_principal(), upload=upload, tz=settings().timezone,
                                  kind=kind)
        return jsonify(DryRunSchema().dump(summary))
    run = imports.start(unit_of_work(), current_principal(), task_queue(), kind=kind, upload=upload)
    return run, 202, {"Location": url_for("imports.ImportById", run_id=run.id)}


def _export(kind: ImportKind, options):
    rows = imports.export(unit_of_work(), current_principal(), kind)
    header = next(rows)  # the role check runs before the response starts
    if options["format"] == ImportFormat.XLSX:
        body = sheets.xlsx_bytes(itertools.chain([header], rows), sheet=kind.value)
        return Response(body, mimetype=sheets.XLSX_MEDIA_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{kind.value}.xlsx"'})
    return Response(stream_with_context(csv_lines(itertools.chain([header], rows))), mimetype=csv_export.MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{kind.value}.csv"'})


def _routes(kind: ImportKind) -> None:
    summary, columns = SHAPES[kind]
    title = kind.value.capitalize()

    class Upload(MethodView):
        @blp.arguments(ImportOptionsSchema, location="query")
        @blp.arguments(ImportUploadSchema, location="files")
        @blp.response(202, ImportRunSchema, description="the run, queued: poll its Location")
        @blp.alt_response(200, schema=DryRunSchema, description="dry run: every row is good")
        @blp.alt_response(422, schema=ProblemSchema, description="dry run: `problems` lists each bad row (line, "
                                                                 "field, reason); or the file itself is unreadable")
        def post(self, options, files):
            return _import(kind, options, files)

    class Export(MethodView):
        @blp.arguments(ExportOptionsSchema, location="query")
        @blp.response(200, description="every object of the shape in the import's columns (CSV or XLSX)")
        def get(self, options):
            return _export(kind, options)

    Upload.post.__doc__ = f"{summary}. `?dry_run=true` checks only.\n\n{columns}"
    Export.get.__doc__ = (f"{title} in the import's shape: re-importing the file changes nothing.\n\n"
                          "CSV (UTF-8 with a BOM; a cell that could start a formula is quoted) or `?format=xlsx`.")
    blp.route(f"/{kind.value}", endpoint=f"{title}Imports")(Upload)
    blp.route(f"/{kind.value}/export", endpoint=f"{title}Export")(Export)


for _kind in ImportKind:
    _routes(_kind)


@blp.route("/")
class Imports(MethodView):
    @blp.response(200, ImportRunSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Import runs, newest first (HQ; a manager their point's)."""
        items, total = imports.list_runs(unit_of_work(), current_principal(), offset=pagination_parameters.first_item,
                                         limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return items


@blp.route("/<uuid:run_id>")
class ImportById(MethodView):
    @blp.response(200, ImportRunSchema)
    def get(self, run_id):
        """One run's progress and refused rows (HQ; a manager their point's)."""
        return imports.get_run(unit_of_work(), current_principal(), run_id)
