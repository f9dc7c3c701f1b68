"""Bulk imports: the upload, a dry run's summary, a run's progress."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from dispatch.integrations.enums import ImportFormat, ImportKind, ImportStatus


class ImportUploadSchema(Schema):
    file = Upload(required=True, metadata={
        "description": "a UTF-8 CSV file, or an XLSX workbook (its first sheet; formula cells are refused), with a "
                       "header row naming the shape's columns (the operation lists them)"})


class ExportOptionsSchema(Schema):
    format = fields.Enum(ImportFormat, by_value=True, load_default=ImportFormat.CSV,
                         metadata={"description": "csv (UTF-8 with a BOM) or xlsx"})


class ImportOptionsSchema(Schema):
    dry_run = fields.Boolean(load_default=False, metadata={
        "description": "check every row and write nothing (422 lists the bad rows with their line numbers)"})


class DryRunSchema(Schema):
    rows = fields.Integer()
    valid = fields.Integer()


class ImportProblemSchema(Schema):
    line = fields.Integer(metadata={"description": "the line of the file (the header is line 1)"})
    field = fields.String()
    reason = fields.String()


class ImportRunSchema(Schema):
    id = fields.UUID()
    kind = fields.Enum(ImportKind, by_value=True)
    status = fields.Enum(ImportStatus, by_value=True)
    filename = fields.String()
    file_format = fields.Enum(ImportFormat, by_value=True)
    total = fields.Integer(allow_none=True, metadata={"description": "rows in the file (once read)"})
    processed = fields.Integer()
    applied = fields.Integer(metadata={"description": "rows written (or already as the file says)"})
    failed = fields.Integer()
    errors = fields.List(fields.Nested(ImportProblemSchema), metadata={"description": "the refused rows (first 1,000)"})
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
