from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.common import LocationSchema
from dispatch.api.schemas.network_fields import SearchFilterSchema
from dispatch.network.enums import RegionLevel

CODE = validate.Regexp(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$", error="letters and digits in dash-separated parts")

BOUNDARY_DOC = {"description": "GeoJSON Polygon or MultiPolygon geometry, positions as [lon, lat] (districts only)",
                "example": {"type": "Polygon",
                            "coordinates": [[[120.08, 30.2], [120.19, 30.2], [120.19, 30.3], [120.08, 30.2]]]}}


class RegionSchema(Schema):
    id = fields.UUID(dump_only=True)
    code = fields.String()
    name = fields.String()
    level = fields.Enum(RegionLevel, by_value=True)
    parent_id = fields.UUID(allow_none=True)
    parent_code = fields.Function(lambda region: region.parent.code if region.parent else None, dump_only=True,
                                  metadata={"returns": fields.String(allow_none=True)})
    boundary = fields.Dict(allow_none=True, metadata=BOUNDARY_DOC)
    updated_at = fields.DateTime(dump_only=True)


class RegionCreateSchema(Schema):
    code = fields.String(required=True, validate=[validate.Length(min=2, max=32), CODE],
                         metadata={"description": "stable code, stored upper case, e.g. ZJ-HZ-XH"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    level = fields.Enum(RegionLevel, by_value=True, required=True)
    parent_id = fields.UUID(load_default=None, allow_none=True,
                            metadata={"description": "a city's province, a district's city; none for a province"})
    boundary = fields.Dict(load_default=None, allow_none=True, metadata=BOUNDARY_DOC)


class RegionUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    boundary = fields.Dict(allow_none=True, metadata=BOUNDARY_DOC)


class RegionFilterSchema(SearchFilterSchema):
    level = fields.Enum(RegionLevel, by_value=True)
    parent_id = fields.UUID()
    code = fields.String(validate=validate.Length(max=32))


LocateQuerySchema = LocationSchema
