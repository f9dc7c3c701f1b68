"""Shared schema building blocks."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class LocationSchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))


class PointFilterSchema(Schema):
    service_point_id = fields.UUID()
