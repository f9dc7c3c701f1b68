from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate

from dispatch.api.deps import settings
from dispatch.api.schemas.common import LocationSchema
from dispatch.api.schemas.network_fields import Location, SearchFilterSchema, flatten_location
from dispatch.clock import local_today
from dispatch.network.enums import JobType, ProductCategory, ShiftExceptionKind, StartLocation


class TechnicianSkillSchema(Schema):
    category = fields.Enum(ProductCategory, by_value=True, required=True)
    job_type = fields.Enum(JobType, by_value=True, required=True)


class TechnicianCertificationSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    category = fields.Enum(ProductCategory, by_value=True, required=True)
    issued_on = fields.Date(required=True)
    expires_on = fields.Date(required=True, metadata={"description": "last valid day; expired from the day after"})
    valid_today = fields.Method("_valid_today", dump_only=True, metadata={"returns": fields.Boolean()})

    def _valid_today(self, certification) -> bool:
        return certification.valid_on(local_today(settings().timezone))


class TechnicianWeeklyShiftSchema(Schema):
    weekday = fields.Integer(required=True, validate=validate.Range(min=0, max=6),
                             metadata={"description": "0 = Monday ... 6 = Sunday"})
    start = fields.Time(required=True, metadata={"description": "local time"})
    end = fields.Time(required=True)


class TechnicianShiftExceptionSchema(Schema):
    id = fields.UUID(dump_only=True)
    on = fields.Date(required=True)
    kind = fields.Enum(ShiftExceptionKind, by_value=True, required=True,
                       metadata={"description": "leave (all day without times) or an extra shift"})
    start = fields.Time(load_default=None, allow_none=True)
    end = fields.Time(load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class TechnicianSchema(Schema):
    id = fields.UUID(dump_only=True)
    user_id = fields.UUID()
    username = fields.Function(lambda t: t.user.username, metadata={"returns": fields.String()})
    service_point_id = fields.UUID()
    service_point_code = fields.Function(lambda t: t.service_point.code, metadata={"returns": fields.String()})
    name = fields.String()
    phone = fields.String()
    hired_on = fields.Date()
    active = fields.Boolean()
    start_location = fields.Enum(StartLocation, by_value=True,
                                 metadata={"description": "where the working day starts and ends"})
    home_location = Location(prefix="home_", allow_none=True)
    depot = fields.Function(
        lambda t: ({"lat": t.home_lat, "lon": t.home_lon} if t.start_location == StartLocation.HOME
                   else {"lat": t.service_point.lat, "lon": t.service_point.lon}),
        metadata={"description": "the resolved start/end location (home or the point)",
                  "returns": fields.Nested(LocationSchema)},
    )
    break_minutes = fields.Integer()
    skills = fields.List(fields.Nested(TechnicianSkillSchema))
    certifications = fields.List(fields.Nested(TechnicianCertificationSchema))
    weekly_shifts = fields.List(fields.Nested(TechnicianWeeklyShiftSchema), attribute="shifts")
    updated_at = fields.DateTime(dump_only=True)


class _Flatten:
    @post_load
    def flatten(self, data, **_):
        return flatten_location(data, "home_location", "home_")


class TechnicianCreateSchema(_Flatten, Schema):
    service_point_id = fields.UUID(load_default=None, metadata={"description": "admin: required; manager: own"})
    user_id = fields.UUID(load_default=None, metadata={"description": "an existing technician account to link"})
    username = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z0-9][a-z0-9._-]{2,119}$"),
                             metadata={"description": "for a new account (with password)"})
    password = fields.String(load_default=None, load_only=True, validate=validate.Length(min=8, max=256))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = fields.String(load_default="", validate=validate.Length(max=40))
    hired_on = fields.Date(required=True)
    start_location = fields.Enum(StartLocation, by_value=True, load_default=StartLocation.POINT)
    home_location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    break_minutes = fields.Integer(load_default=30, validate=validate.Range(min=0, max=180))
    skills = fields.List(fields.Nested(TechnicianSkillSchema), load_default=list)
    certifications = fields.List(fields.Nested(TechnicianCertificationSchema), load_default=list)
    weekly_shifts = fields.List(fields.Nested(TechnicianWeeklyShiftSchema), load_default=list)


class TechnicianUpdateSchema(_Flatten, Schema):
    service_point_id = fields.UUID(metadata={"description": "admin only: move to another point"})
    name = fields.String(validate=validate.Length(min=1, max=120))
    phone = fields.String(validate=validate.Length(max=40))
    hired_on = fields.Date()
    active = fields.Boolean(metadata={"description": "false also locks the login account"})
    start_location = fields.Enum(StartLocation, by_value=True)
    home_location = fields.Nested(LocationSchema, allow_none=True)
    break_minutes = fields.Integer(validate=validate.Range(min=0, max=180))
    skills = fields.List(fields.Nested(TechnicianSkillSchema), metadata={"description": "replaces the current skills"})
    weekly_shifts = fields.List(fields.Nested(TechnicianWeeklyShiftSchema),
                                metadata={"description": "replaces the weekly pattern"})


class TechnicianFilterSchema(SearchFilterSchema):
    service_point_id = fields.UUID()
    active = fields.Boolean()
    category = fields.Enum(ProductCategory, by_value=True)
    job_type = fields.Enum(JobType, by_value=True)
    qualified_on = fields.Date(metadata={"description": "with a certification for `category` valid that day"})


class TechnicianCalendarQuerySchema(Schema):
    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")


class TechnicianShiftWindowSchema(Schema):
    start = fields.Time()
    end = fields.Time()


class TechnicianDayScheduleSchema(Schema):
    date = fields.Date(attribute="day")
    working = fields.Boolean()
    minutes = fields.Integer(metadata={"description": "scheduled working minutes that day"})
    windows = fields.List(fields.Nested(TechnicianShiftWindowSchema))
    exceptions = fields.List(fields.Nested(TechnicianShiftExceptionSchema))


class TechnicianQualificationQuerySchema(Schema):
    category = fields.Enum(ProductCategory, by_value=True, required=True)
    job_type = fields.Enum(JobType, by_value=True, required=True)
    on = fields.Date(load_default=None, metadata={"description": "default: today (local)"})


class TechnicianQualificationSchema(Schema):
    technician_id = fields.UUID()
    category = fields.Enum(ProductCategory, by_value=True)
    job_type = fields.Enum(JobType, by_value=True)
    on = fields.Date()
    qualified = fields.Boolean()
    has_skill = fields.Boolean()
    certification = fields.Nested(TechnicianCertificationSchema, allow_none=True)
    reason = fields.String()


class TechnicianExceptionRangeSchema(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
