from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate

from dispatch.api.deps import settings
from dispatch.api.schemas.common import EnumValue, LocationSchema
from dispatch.api.schemas.network_fields import Location, SearchFilterSchema, flatten_location
from dispatch.clock import local_today
from dispatch.network.enums import AuthorisationStatus, JobType, ProductCategory

CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]{1,31}$", error="letters, digits and dashes")


class PointCoverageSchema(Schema):
    region_id = fields.UUID(required=True)
    region_code = fields.Function(lambda c: c.region.code, dump_only=True, metadata={"returns": fields.String()})
    region_name = fields.Function(lambda c: c.region.name, dump_only=True, metadata={"returns": fields.String()})
    category = fields.Enum(ProductCategory, by_value=True, required=True)


class AuthorisationChangeSchema(Schema):
    from_status = fields.Enum(AuthorisationStatus, by_value=True, allow_none=True)
    to_status = fields.Enum(AuthorisationStatus, by_value=True)
    valid_from = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    reason = fields.String()
    actor_id = fields.UUID(allow_none=True, metadata={"description": "the user who made the change"})
    at = fields.DateTime()


class PointContactSchema(Schema):
    name = fields.String(validate=validate.Length(max=120), load_default="")
    phone = fields.String(validate=validate.Length(max=40), load_default="")


class ServicePointSchema(Schema):
    id = fields.UUID(dump_only=True)
    code = fields.String()
    name = fields.String()
    address = fields.String()
    location = Location()
    contact = fields.Function(lambda p: {"name": p.contact_name, "phone": p.contact_phone},
                              metadata={"returns": fields.Nested(PointContactSchema)})
    status = fields.Enum(AuthorisationStatus, by_value=True)
    valid_from = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    is_authorised = fields.Method(
        "_authorised_today",
        metadata={"description": "active and inside its validity period today (a lapsed point is not)",
                  "returns": fields.Boolean()},
    )
    categories = fields.List(EnumValue(ProductCategory))
    job_types = fields.List(EnumValue(JobType))
    coverage = fields.List(fields.Nested(PointCoverageSchema))
    travel_speed_kmh = fields.Float()
    history = fields.List(fields.Nested(AuthorisationChangeSchema),
                          metadata={"description": "every status change: who, when, why"})
    updated_at = fields.DateTime(dump_only=True)

    def _authorised_today(self, point) -> bool:
        return point.is_authorised_on(local_today(settings().timezone))


def _flatten(data: dict) -> dict:
    data = flatten_location(data)
    if "contact" in data:
        contact = data.pop("contact")
        data["contact_name"], data["contact_phone"] = contact.get("name", ""), contact.get("phone", "")
    return data


class PointCoverageInSchema(Schema):
    region_id = fields.UUID(required=True)
    category = fields.Enum(ProductCategory, by_value=True, required=True)


class ServicePointCreateSchema(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    location = fields.Nested(LocationSchema, required=True)
    contact = fields.Nested(PointContactSchema, load_default=lambda: {"name": "", "phone": ""})
    categories = fields.List(fields.Enum(ProductCategory, by_value=True), required=True,
                             validate=validate.Length(min=1))
    job_types = fields.List(fields.Enum(JobType, by_value=True), required=True, validate=validate.Length(min=1))
    coverage = fields.List(fields.Nested(PointCoverageInSchema), load_default=list,
                           metadata={"description": "districts served, per product category"})
    travel_speed_kmh = fields.Float(load_default=30.0, validate=validate.Range(min=5, max=120))

    @post_load
    def flatten(self, data, **_):
        return _flatten(data)


class ServicePointUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    address = fields.String(validate=validate.Length(max=300))
    location = fields.Nested(LocationSchema)
    contact = fields.Nested(PointContactSchema)
    categories = fields.List(fields.Enum(ProductCategory, by_value=True), validate=validate.Length(min=1))
    job_types = fields.List(fields.Enum(JobType, by_value=True), validate=validate.Length(min=1))
    coverage = fields.List(fields.Nested(PointCoverageInSchema),
                           metadata={"description": "replaces the whole coverage; checked for exclusivity"})
    travel_speed_kmh = fields.Float(validate=validate.Range(min=5, max=120))

    @post_load
    def flatten(self, data, **_):
        return _flatten(data)


class ServicePointFilterSchema(SearchFilterSchema):
    status = fields.Enum(AuthorisationStatus, by_value=True)
    category = fields.Enum(ProductCategory, by_value=True)
    region_id = fields.UUID(metadata={"description": "points covering this district"})
    authorised_on = fields.Date(metadata={"description": "active and within the validity period on this day"})
    flagged = fields.Boolean(metadata={"description": "true: only points HQ spot-checks flag for review "
                                                      "(see /api/v1/audits/flagged-points); false: the others"})


class PointAuthoriseSchema(Schema):
    valid_from = fields.Date(load_default=None, allow_none=True, metadata={"description": "default: today"})
    valid_until = fields.Date(required=True, allow_none=True,
                              metadata={"description": "last day of the authorisation; null = open-ended"})
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class PointReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class PointOptionalReasonSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
