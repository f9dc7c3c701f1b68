"""Jobs and SLA targets: what intake accepts, what a job looks like, the lifecycle actions."""

from __future__ import annotations

from types import SimpleNamespace

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from dispatch.api.schemas.common import FastDumpSchema, LocationSchema
from dispatch.jobs.enums import DispatchReason, EventKind, JobStatus, Priority, SlaStatus, WarrantyDecision
from dispatch.network.enums import CustomerGrade, JobType, ProductCategory

# --- input -----------------------------------------------------------------------------------


class InlineCustomerSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(required=True, validate=validate.Regexp(r"^\+?[0-9][0-9 -]{5,38}$"),
                          metadata={"description": "a known number reuses that customer's record"})
    email = fields.Email(load_default=None, allow_none=True)
    address = fields.String(load_default="", validate=validate.Length(max=300))
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    grade = fields.Enum(CustomerGrade, by_value=True, load_default=CustomerGrade.STANDARD)


class JobCreateSchema(Schema):
    type = fields.Enum(JobType, by_value=True, required=True)
    priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    customer_id = fields.UUID(load_default=None, allow_none=True,
                              metadata={"description": "an existing customer (or give `customer`)"})
    customer = fields.Nested(InlineCustomerSchema, load_default=None, allow_none=True,
                             metadata={"description": "a new customer, taken in with the job"})
    unit_serial = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                                metadata={"description": "required for repair and maintenance (activated unit)"})
    product_sku = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                                metadata={"description": "the model to install, when there is no unit yet"})
    address = fields.String(load_default="", validate=validate.Length(max=300),
                            metadata={"description": "defaults to the customer's address"})
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True,
                             metadata={"description": "defaults to the customer's location"})
    region_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32),
                                metadata={"description": "dispatch by region instead of by location"})
    window_start = fields.AwareDateTime(load_default=None, allow_none=True,
                                        metadata={"description": "start of the customer's requested window"})
    window_end = fields.AwareDateTime(load_default=None, allow_none=True)
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    crew_size = fields.Integer(load_default=1, validate=validate.Range(min=1, max=4),
                               metadata={"description": "technicians needed on site together (a heavy unit: 2)"})

    @validates_schema
    def _window(self, data, **kwargs):
        start, end = data.get("window_start"), data.get("window_end")
        if (start is None) != (end is None):
            raise ValidationError("give both ends of the requested window",
                                  field_name="window_end" if end is None else "window_start")
        if start is not None and end is not None and end <= start:
            raise ValidationError("must be after window_start", field_name="window_end")


class JobFilterSchema(Schema):
    status = fields.List(fields.Enum(JobStatus, by_value=True),
                         metadata={"description": "repeat to match several (status=scheduled&status=en_route)"})
    date = fields.Date(metadata={"description": "local service day (scheduled start, else requested window)"})
    technician_id = fields.UUID()
    service_point_id = fields.UUID()
    type = fields.Enum(JobType, by_value=True)
    sla = fields.Enum(SlaStatus, by_value=True)
    priority = fields.Enum(Priority, by_value=True)


class TransitionSchema(Schema):
    to = fields.Enum(JobStatus, by_value=True, required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    recorded_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                       metadata={"description": "the device's clock when it happened"})
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True,
                             metadata={"description": "where the device was"})


class AssignmentSchema(Schema):
    technician_id = fields.UUID(required=True)
    scheduled_start = fields.AwareDateTime(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000),
                           metadata={"description": "required when the job changes technician"})
    locked = fields.Boolean(load_default=False,
                            metadata={"description": "pin technician and slot: route planning keeps them"})
    helper_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=3),
                             metadata={"description": "a crew job's helpers (crew_size - 1 of them); the "
                                                      "technician is the lead"})


class CrewSchema(Schema):
    crew_size = fields.Integer(required=True, validate=validate.Range(min=1, max=4),
                               metadata={"description": "technicians needed on site together"})


class TransferSchema(Schema):
    service_point_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


# --- output ----------------------------------------------------------------------------------


class JobCustomerSchema(FastDumpSchema):
    id = fields.UUID()
    name = fields.String()
    phone = fields.String()
    grade = fields.Enum(CustomerGrade, by_value=True)


class DispatchSchema(FastDumpSchema):
    service_point_id = fields.UUID(allow_none=True)
    service_point_code = fields.String(allow_none=True)
    reason = fields.Enum(DispatchReason, by_value=True, allow_none=True,
                         metadata={"description": "region_code | polygon | nearest | transfer"})
    region_code = fields.String(allow_none=True)
    out_of_area = fields.Boolean()
    distance_km = fields.Float(allow_none=True, metadata={"description": "from the point to the job"})


def _location(obj) -> dict | None:
    return {"lat": obj.lat, "lon": obj.lon} if obj.lat is not None and obj.lon is not None else None


_DISPATCH = DispatchSchema()  # built once: building a schema costs more than dumping it


def _dispatch(job) -> dict:
    # An object, not a dict: FastDumpSchema's one-getattr plan (a mapping goes marshmallow's longer way).
    return _DISPATCH.dump(SimpleNamespace(
        service_point_id=job.service_point_id,
        service_point_code=job.service_point.code if job.service_point else None,
        reason=job.dispatch_reason,
        region_code=job.region.code if job.region else None,
        out_of_area=job.out_of_area,
        distance_km=job.dispatch_distance_km,
    ))


class JobSchema(FastDumpSchema):
    id = fields.UUID(dump_only=True)
    reference = fields.String()
    type = fields.Enum(JobType, by_value=True)
    status = fields.Enum(JobStatus, by_value=True)
    priority = fields.Enum(Priority, by_value=True)
    customer = fields.Nested(JobCustomerSchema)
    unit_serial = fields.Function(lambda job: job.unit.serial if job.unit else None,
                                  metadata={"returns": fields.String(allow_none=True)})
    product_sku = fields.Function(lambda job: job.product.sku, metadata={"returns": fields.String()})
    category = fields.Function(lambda job: job.product.category.value,
                               metadata={"returns": fields.Enum(ProductCategory, by_value=True)})
    service_point_id = fields.UUID(allow_none=True)
    technician_id = fields.UUID(allow_none=True)
    technician_name = fields.Function(lambda job: job.technician.name if job.technician else None,
                                      metadata={"returns": fields.String(allow_none=True)})
    address = fields.String()
    location = fields.Function(_location, metadata={"description": "{lat, lon} or null",
                                                     "returns": fields.Nested(LocationSchema, allow_none=True)})
    description = fields.String()
    dispatch = fields.Function(_dispatch, metadata={"description": "which point got the job, and why",
                                                     "returns": fields.Nested(DispatchSchema)})
    reported_at = fields.DateTime()
    window_start = fields.DateTime(allow_none=True)
    window_end = fields.DateTime(allow_none=True)
    scheduled_start = fields.DateTime(allow_none=True)
    scheduled_end = fields.DateTime(allow_none=True)
    duration_minutes = fields.Integer()
    locked = fields.Boolean()
    crew_size = fields.Integer()
    helper_ids = fields.List(fields.UUID(), metadata={"description": "the crew's helpers (the lead is technician_id)"})
    sla_due_at = fields.DateTime(allow_none=True)
    sla_target_hours = fields.Integer(allow_none=True)
    sla_status = fields.Enum(SlaStatus, by_value=True, allow_none=True,
                             metadata={"description": "ok | at_risk | breached, now (null without a target)"})
    arrived_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    warranty_decision = fields.Enum(WarrantyDecision, by_value=True, allow_none=True)
    labour_covered = fields.Boolean(allow_none=True)
    parts_covered = fields.Boolean(allow_none=True)
    warranty_until = fields.Date(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class JobEventFieldsSchema(FastDumpSchema):
    """What every view of a job's event shows (the job's history, an audit's copy of it)."""

    seq = fields.Integer()
    kind = fields.Enum(EventKind, by_value=True)
    from_status = fields.Enum(JobStatus, by_value=True, allow_none=True)
    to_status = fields.Enum(JobStatus, by_value=True, allow_none=True)
    reason = fields.String()
    actor_id = fields.UUID(allow_none=True)
    at = fields.DateTime(metadata={"description": "server time"})
    recorded_at = fields.DateTime(allow_none=True, metadata={"description": "device time"})


class JobEventSchema(JobEventFieldsSchema):
    location = fields.Function(_location, metadata={"returns": fields.Nested(LocationSchema, allow_none=True)})
    data = fields.Dict(keys=fields.String())


class JobDetailSchema(JobSchema):
    events = fields.List(fields.Nested(JobEventSchema))


class SlaTargetSchema(FastDumpSchema):
    id = fields.UUID(dump_only=True)
    job_type = fields.Enum(JobType, by_value=True)
    priority = fields.Enum(Priority, by_value=True)
    customer_grade = fields.Enum(CustomerGrade, by_value=True)
    hours = fields.Integer(metadata={"description": "on site within this many hours of intake"})
    at_risk_hours = fields.Integer(metadata={"description": "at risk this many hours before the due time"})
    version = fields.Integer()


class SlaTargetUpdateSchema(Schema):
    hours = fields.Integer(validate=validate.Range(min=1, max=24 * 90))
    at_risk_hours = fields.Integer(validate=validate.Range(min=0, max=24 * 90))
