"""Offered time slots and bookings."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.network.enums import JobType


class SlotRangeSchema(Schema):
    first = fields.Date(required=True, data_key="from", metadata={"description": "first local day"})
    last = fields.Date(required=True, data_key="to", metadata={"description": "last local day (at most 14 days)"})


class ProspectiveSlotQuerySchema(SlotRangeSchema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    job_type = fields.Enum(JobType, by_value=True, required=True)
    product_sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
    duration_minutes = fields.Integer(load_default=60, validate=validate.Range(min=5, max=600))


class SlotSchema(Schema):
    window_start = fields.DateTime()
    window_end = fields.DateTime()
    technician_id = fields.UUID(metadata={"description": "who would take it (tentative until planned)"})
    technician_name = fields.String()
    start_at = fields.DateTime(metadata={"description": "earliest start in the window for that technician"})
    added_travel_s = fields.Integer(metadata={"description": "driving the visit adds to that technician's day"})
    added_km = fields.Float()


class OfferSchema(Schema):
    slot_minutes = fields.Integer(metadata={"description": "the point's window length"})
    slots = fields.List(fields.Nested(SlotSchema), metadata={"description": "ranked by added travel"})


class BookingCreateSchema(Schema):
    window_start = fields.AwareDateTime(required=True)
    window_end = fields.AwareDateTime(required=True)


class BookingSchema(Schema):
    job_id = fields.UUID()
    job_reference = fields.String()
    window_start = fields.DateTime()
    window_end = fields.DateTime()
    technician_id = fields.UUID()
    technician_name = fields.String()
    scheduled_start = fields.DateTime()
    added_travel_s = fields.Integer()
    added_km = fields.Float()


class SlotLengthSchema(Schema):
    minutes = fields.Integer(required=True, strict=True, metadata={"description": "30..480, a multiple of 15"})
