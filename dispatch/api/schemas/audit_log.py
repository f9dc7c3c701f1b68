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
    first_broken_seq = fields.Integer(allow_none=True, metadata={
        "description": "global sequence number of the first bad entry (null when that entry is missing)"})
    first_broken_chain = fields.String(allow_none=True, metadata={
        "description": "the chain of the first bad or missing entry: `hq` or a service point's id"})
    first_broken_position = fields.Integer(allow_none=True, metadata={
        "description": "its position in that chain (chain_seq)"})
    chains = fields.Integer(metadata={"description": "how many chains the log has (one per point that wrote, "
                                                     "plus hq)"})
    problem = fields.String(allow_none=True)
    head_seq = fields.Integer(metadata={"description": "the newest entry the run verifies up to (the chains' "
                                                      "heads are read at its start)"})
    head_hash = fields.String(metadata={"description": "tree head: one hash over every chain's head at the start"})
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
    seq = fields.Integer(metadata={"description": "newest entry written before the end of the day (0: none)"})
    hash = fields.String(metadata={"description": "the day's root: one hash over every chain's last entry"})
    last_entry_at = fields.DateTime(allow_none=True)
    chains = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={
        "description": "per chain (`hq` or a point's id): the position and hash of its last entry of the day"})
