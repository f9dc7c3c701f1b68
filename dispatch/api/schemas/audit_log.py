"""Schemas of the tamper-evident log endpoints."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate


class VerificationSchema(Schema):
    ok = fields.Boolean(metadata={"description": "every entry's hash and link checked out"})
    entries_checked = fields.Integer(metadata={"description": "entries verified before the first problem"})
    first_broken_seq = fields.Integer(allow_none=True,
                                      metadata={"description": "sequence number of the first bad entry"})
    problem = fields.String(allow_none=True)
    head_seq = fields.Integer()
    head_hash = fields.String(metadata={"description": "hash of the last verified entry"})
    checked_at = fields.DateTime()


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
