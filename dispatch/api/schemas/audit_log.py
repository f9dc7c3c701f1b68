"""Schemas of the tamper-evident log endpoints."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate


class DifferenceSchema(Schema):
    table = fields.String(metadata={"description": "the covered table"})
    id = fields.String(attribute="row_id", metadata={"description": "the row's primary key"})
    problem = fields.String(metadata={"description": "changed | unsealed (never recorded: written behind the "
                                                     "application) | missing (gone, no deletion recorded)"})
    fields_ = fields.List(fields.String(), attribute="fields", data_key="fields",
                          metadata={"description": "the columns whose content differs (changed rows)"})
    log_seq = fields.Integer(allow_none=True, metadata={"description": "the log entry whose seal the row contradicts"})


class VerificationSchema(Schema):
    ok = fields.Boolean(metadata={"description": "every entry's hash and link checked out, and every covered row "
                                                "matches its seal (so far, while a paged run is not complete)"})
    entries_checked = fields.Integer(metadata={"description": "entries verified before the first problem"})
    first_broken_seq = fields.Integer(allow_none=True,
                                      metadata={"description": "sequence number of the first bad entry"})
    problem = fields.String(allow_none=True)
    head_seq = fields.Integer(metadata={"description": "the head the run verifies up to (read at its start)"})
    head_hash = fields.String(metadata={"description": "hash of the last verified entry"})
    checked_at = fields.DateTime()
    rows_checked = fields.Integer(metadata={"description": "covered rows whose content hash was recomputed"})
    differences = fields.List(fields.Nested(DifferenceSchema), metadata={
        "description": "rows that disagree with the log (this page's; without paging the first 1000)"})
    differences_total = fields.Integer(metadata={"description": "all rows found to disagree so far"})
    complete = fields.Boolean(metadata={"description": "false: more pages; pass next_cursor"})
    next_cursor = fields.String(allow_none=True)


class VerificationQuerySchema(Schema):
    limit = fields.Integer(validate=validate.Range(min=100, max=100_000), metadata={
        "description": "verify in pages of about this many entries or rows (omit: the whole run in one answer)"})
    cursor = fields.String(validate=validate.Length(max=2000),
                           metadata={"description": "next_cursor of the previous page"})


class DailyRootQuerySchema(Schema):
    day = fields.Date(required=True, validate=validate.Range(min=date(2000, 1, 1), max=date(2199, 12, 31)),
                      metadata={"description": "local day (YYYY-MM-DD) whose root to export"})


class DailyRootSchema(Schema):
    day = fields.Date()
    timezone = fields.String()
    until = fields.DateTime(metadata={"description": "end of the day (exclusive)"})
    seq = fields.Integer(metadata={"description": "last entry written before the end of the day (0: none)"})
    hash = fields.String(metadata={"description": "that entry's hash: the chain's root for the day"})
    last_entry_at = fields.DateTime(allow_none=True)
