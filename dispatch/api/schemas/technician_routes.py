"""A technician's route of a day."""

from __future__ import annotations

from marshmallow import Schema, fields


class RouteDateSchema(Schema):
    date = fields.Date(required=True, metadata={"description": "local day"})


class RouteStopSchema(Schema):
    sequence = fields.Integer()
    job_id = fields.UUID()
    job_reference = fields.String()
    status = fields.String()
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    window_start = fields.DateTime(allow_none=True)
    window_end = fields.DateTime(allow_none=True)
    travel_from_prev_s = fields.Integer()
    distance_from_prev_km = fields.Float()
    arrival_at = fields.DateTime()
    start_at = fields.DateTime(metadata={"description": "the booked start: the ETA the customer was given"})
    finish_at = fields.DateTime()
    wait_s = fields.Integer()
    helper = fields.Boolean(metadata={"description": "a crew job this technician helps on (the lead moves it "
                                                     "through the visit); the leg and times are still their own"})


class DayRouteSchema(Schema):
    technician_id = fields.UUID()
    technician_name = fields.String()
    date = fields.Date()
    working = fields.Boolean(metadata={"description": "false: not on shift that day"})
    shift_start_at = fields.DateTime(allow_none=True)
    shift_end_at = fields.DateTime(allow_none=True)
    start_lat = fields.Float()
    start_lon = fields.Float()
    leave_at = fields.DateTime(allow_none=True)
    return_at = fields.DateTime(allow_none=True)
    break_start_at = fields.DateTime(allow_none=True)
    break_minutes = fields.Integer()
    travel_s = fields.Integer(metadata={"description": "all driving, the way back included"})
    distance_km = fields.Float()
    stops = fields.List(fields.Nested(RouteStopSchema))
