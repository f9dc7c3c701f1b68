"""Shared schema building blocks."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate


class LocationSchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))


class PointFilterSchema(Schema):
    service_point_id = fields.UUID()


class Quantity(fields.Integer):
    """How many parts: a JSON integer and nothing else. ``1.5`` is not silently cut to 1, and
    ``"1"``, ``true`` and ``1.0`` are refused (422) like any other non-integer: every field
    that takes a count of parts or stock is this one."""

    default_error_messages = {"invalid": "Not a whole number: give a JSON integer, e.g. 2."}

    def __init__(self, *, minimum: int = 1, maximum: int, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):  # bool is an int to Python, not a count to anyone
            raise self.make_error("invalid", input=value)
        return super()._validated(value)
