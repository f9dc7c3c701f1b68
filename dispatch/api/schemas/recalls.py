"""Recall campaigns: HQ recalls a part over a serial range or a model and manufacture dates."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.warranty import CODE
from dispatch.warranty.enums import RecallStatus


class RecallCreateSchema(Schema):
    code = fields.String(required=True, validate=CODE)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    part_sku = fields.String(required=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "the part every affected unit gets"})
    product_sku = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "the model"})
    serial_from = fields.String(validate=validate.Length(min=1, max=32))
    serial_to = fields.String(validate=validate.Length(min=1, max=32))
    made_from = fields.Date(metadata={"description": "first manufacture day (with product_sku and made_to)"})
    made_to = fields.Date()


class RecallSchema(Schema):
    id = fields.UUID()
    code = fields.String()
    title = fields.String()
    part_sku = fields.String()
    product_id = fields.UUID(allow_none=True)
    serial_from = fields.String(allow_none=True)
    serial_to = fields.String(allow_none=True)
    made_from = fields.Date(allow_none=True)
    made_to = fields.Date(allow_none=True)
    status = fields.Enum(RecallStatus, by_value=True)
    total = fields.Integer(metadata={"description": "affected activated units (counted at launch)"})
    processed = fields.Integer(metadata={"description": "units the task has dealt with so far"})
    opened = fields.Integer(metadata={"description": "jobs opened"})
    failed = fields.Integer(metadata={"description": "units the intake could not place (no point covers them)"})
    created_at = fields.DateTime()
    launched_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class RecallPointSchema(Schema):
    service_point_id = fields.UUID(allow_none=True)
    code = fields.String()
    opened = fields.Integer()
    completed = fields.Integer()
    cancelled = fields.Integer()
    open = fields.Integer()
