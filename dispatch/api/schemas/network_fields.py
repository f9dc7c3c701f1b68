"""Field helpers shared by the network resources (regions, points, technicians, customers, units)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, missing, validate

from dispatch.api.schemas.common import LocationSchema


class Location(fields.Nested):
    """``{"lat", "lon"}`` on the wire, ``<prefix>lat``/``<prefix>lon`` attributes on the object.

    Loading yields the nested dict; :func:`flatten_location` turns it into the two keyword
    arguments the services take.
    """

    def __init__(self, prefix: str = "", **kwargs: Any) -> None:
        super().__init__(LocationSchema, **kwargs)
        self.prefix = prefix

    def get_value(self, obj: Any, attr: str, accessor=None, default: Any = missing) -> Any:
        lat, lon = getattr(obj, f"{self.prefix}lat", None), getattr(obj, f"{self.prefix}lon", None)
        return None if lat is None or lon is None else {"lat": lat, "lon": lon}


def flatten_location(data: dict[str, Any], key: str = "location", prefix: str = "") -> dict[str, Any]:
    """``{"location": {"lat": 1, "lon": 2}}`` -> ``{"lat": 1, "lon": 2}`` (None clears both)."""
    if key in data:
        location = data.pop(key)
        data[f"{prefix}lat"] = location["lat"] if location else None
        data[f"{prefix}lon"] = location["lon"] if location else None
    return data


class SearchFilterSchema(Schema):
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "case-insensitive fragment of the name or code"})
