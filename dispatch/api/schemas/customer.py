"""Schemas of the customer channel: sign-in, the customer's units, visits, bills, complaints, and
the public look-ups (unit QR, technician badge, price list). No schema here carries another
person's data: the technician's name, photo and badge are what they show at the door."""

from __future__ import annotations

import base64
import binascii

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from dispatch.api.schemas.common import LocationSchema
from dispatch.api.schemas.complaints import ComplaintSchema
from dispatch.care.enums import ComplaintStatus
from dispatch.api.schemas.job_parts import BillLineSchema
from dispatch.api.schemas.stock import MONEY
from dispatch.care.enums import ComplaintCategory
from dispatch.customers.enums import CustomerJobType
from dispatch.jobs.rules import JobStatus
from dispatch.network.units import SalesChannel

PHONE = validate.Length(min=5, max=40)
LOCALE = validate.Regexp(r"^(zh[-_]CN|en)$", error="zh-CN or en")


class Base64Image(fields.String):
    """An image sent inline as base64 (invoice photo, signature): bytes once loaded."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationError("Not valid base64.") from exc
        if not raw:
            raise ValidationError("Empty image.")
        return raw


# --- sign-in ------------------------------------------------------------------------------------


class CodeRequestSchema(Schema):
    phone = fields.String(required=True, validate=PHONE, metadata={"example": "13900001111"})


class CodeSentSchema(Schema):
    expires_in = fields.Integer(attribute="ttl_s", metadata={"description": "seconds the code stays valid"})


class SessionRequestSchema(Schema):
    phone = fields.String(required=True, validate=PHONE)
    code = fields.String(required=True, validate=validate.Length(min=1, max=12))


class CustomerProfileSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(validate=validate.Length(max=200))
    phone = fields.String(dump_only=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    address = fields.String(validate=validate.Length(max=300))
    location = fields.Method("_location", deserialize="_load_location", allow_none=True,
                             metadata={"type": "object", "description": "{lat, lon}"})
    locale = fields.String(allow_none=True, validate=LOCALE,
                           metadata={"description": "language of the texts you receive: zh-CN (default) or en"})

    def _location(self, customer):
        return None if customer.lat is None else {"lat": customer.lat, "lon": customer.lon}

    def _load_location(self, value):
        return None if value is None else LocationSchema().load(value)


class CustomerSessionSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    new_customer = fields.Boolean(metadata={"description": "the number signed in for the first time"})
    customer = fields.Nested(CustomerProfileSchema)


# --- units --------------------------------------------------------------------------------------


class MyUnitSchema(Schema):
    id = fields.UUID()
    serial = fields.String()
    sku = fields.String()
    model = fields.String()
    category = fields.String()
    purchased_on = fields.Date(allow_none=True)
    warranty_status = fields.String()
    warranty_until = fields.Date(allow_none=True)
    flags = fields.List(fields.String(), metadata={"description": "what HQ will look at (far_from_sale_region, late)"})


class SelfActivationRequestSchema(Schema):
    serial = fields.String(required=True, validate=validate.Length(min=1, max=64))
    sig = fields.String(required=True, validate=validate.Length(min=1, max=64),
                        metadata={"description": "the signature printed in the QR code"})
    purchased_on = fields.Date(required=True)
    sales_channel = fields.Enum(SalesChannel, by_value=True, load_default=SalesChannel.RETAIL)
    address = fields.String(required=True, validate=validate.Length(min=1, max=300))
    location = fields.Nested(LocationSchema, required=True)
    invoice_photo = Base64Image(load_default=None, allow_none=True, metadata={"description": "base64 image, optional"})


class SelfActivationReviewSchema(Schema):
    id = fields.UUID()
    unit_id = fields.UUID()
    customer_id = fields.UUID()
    purchased_on = fields.Date()
    flags = fields.List(fields.String())
    distance_km = fields.Float(allow_none=True)
    days_after_purchase = fields.Integer()
    invoice_sha256 = fields.String(allow_none=True)
    created_at = fields.DateTime()
    reviewed_at = fields.DateTime(allow_none=True)
    review_note = fields.String()


class ReviewNoteSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReviewFilterSchema(Schema):
    reviewed = fields.Boolean(load_default=False)


# --- visits -------------------------------------------------------------------------------------


class WindowMixin(Schema):
    window_start = fields.AwareDateTime(load_default=None)
    window_end = fields.AwareDateTime(load_default=None)

    @validates_schema
    def _both_ends(self, data, **kwargs):
        if (data.get("window_start") is None) != (data.get("window_end") is None):
            raise ValidationError("give both ends of the window", "window_end")


class SlotChoiceSchema(Schema):
    window_start = fields.AwareDateTime(required=True)
    window_end = fields.AwareDateTime(required=True)


class FaultReportSchema(WindowMixin):
    unit_id = fields.UUID(required=True)
    type = fields.Enum(CustomerJobType, by_value=True, load_default=CustomerJobType.REPAIR)
    description = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    address = fields.String(load_default="", validate=validate.Length(max=300))
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    slot = fields.Nested(SlotChoiceSchema, load_default=None, allow_none=True, metadata={
        "description": "a window from GET /customer/units/{unit_id}/slots: the visit is booked on it "
                       "(instead of window_start/window_end, a preferred window)"})

    @validates_schema
    def _slot_or_window(self, data, **kwargs):
        if data.get("slot") is not None and data.get("window_start") is not None:
            raise ValidationError("pick a slot or give a preferred window, not both", "slot")


class UnitSlotQuerySchema(Schema):
    first = fields.Date(required=True, data_key="from", metadata={"description": "first local day"})
    last = fields.Date(required=True, data_key="to", metadata={"description": "last local day (at most 14 days)"})
    type = fields.Enum(CustomerJobType, by_value=True, load_default=CustomerJobType.REPAIR)
    lat = fields.Float(load_default=None, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(load_default=None, validate=validate.Range(min=-180, max=180))

    @validates_schema
    def _both(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("give both lat and lon, or neither (your saved location)", "lon")


class RescheduleSchema(Schema):
    window_start = fields.AwareDateTime(required=True)
    window_end = fields.AwareDateTime(required=True)


class CancelSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class TechnicianCardSchema(Schema):
    name = fields.String(attribute="technician_name")
    photo_url = fields.String(attribute="technician_photo_url", allow_none=True)
    badge = fields.String(attribute="technician_badge", allow_none=True)


class VisitSchema(Schema):
    id = fields.UUID(attribute="job.id")
    reference = fields.String(attribute="job.reference")
    type = fields.String(attribute="job.type.value")
    status = fields.Enum(JobStatus, by_value=True, attribute="job.status")
    unit_serial = fields.Method("_serial", metadata={"returns": fields.String(allow_none=True)})
    description = fields.String(attribute="job.description")
    reported_at = fields.DateTime(attribute="job.reported_at")
    window_start = fields.DateTime(attribute="job.window_start", allow_none=True)
    window_end = fields.DateTime(attribute="job.window_end", allow_none=True)
    scheduled_start = fields.DateTime(attribute="job.scheduled_start", allow_none=True)
    eta_start = fields.DateTime(allow_none=True, metadata={"description": "the arrival window, recomputed as the day moves"})
    eta_end = fields.DateTime(allow_none=True)
    on_the_way = fields.Boolean()
    technician = fields.Method("_technician", metadata={"type": "object", "nullable": True})
    service_point = fields.Method("_point", metadata={"type": "object", "nullable": True})
    completed_at = fields.DateTime(attribute="job.completed_at", allow_none=True)
    can_cancel = fields.Boolean()
    can_reschedule = fields.Boolean()
    reschedules_left = fields.Integer()

    def _serial(self, visit):
        return visit.job.unit.serial if visit.job.unit is not None else None

    def _technician(self, visit):
        return TechnicianCardSchema().dump(visit) if visit.technician_name else None

    def _point(self, visit):
        point = visit.job.service_point
        return None if point is None else {"code": point.code, "name": point.name, "phone": point.contact_phone}


class CustomerBillSchema(Schema):
    job_id = fields.UUID(attribute="job.id")
    job_reference = fields.String(attribute="job.reference")
    currency = fields.String(attribute="bill.currency")
    labour_covered = fields.Boolean(attribute="bill.labour_covered")
    parts_covered = fields.Boolean(attribute="bill.parts_covered")
    lines = fields.List(fields.Nested(BillLineSchema), attribute="bill.lines",
                        metadata={"description": "each line beside its list price (list_unit_price)"})
    total = fields.Decimal(places=2, as_string=True, attribute="bill.total", metadata=MONEY)
    signed_on_site = fields.Boolean(metadata={"description": "the SOP collected your signature at the visit"})
    confirmed_at = fields.Method("_confirmed_at", metadata={"type": "string", "format": "date-time", "nullable": True})

    def _confirmed_at(self, bill):
        return bill.confirmation.confirmed_at.isoformat() if bill.confirmation is not None else None


class BillConfirmSchema(Schema):
    total = fields.Decimal(required=True, places=2, metadata={"description": "the total you were shown"})
    signer_name = fields.String(load_default=None, validate=validate.Length(min=1, max=120))
    signature = Base64Image(load_default=None, metadata={"description": "base64 image of your signature "
                                                                       "(needed unless you signed on site)"})


class CustomerRatingSchema(Schema):
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class CustomerRatingOutSchema(Schema):
    job_id = fields.UUID()
    score = fields.Integer()
    comment = fields.String()
    created_at = fields.DateTime()


class CustomerComplaintCreateSchema(Schema):
    category = fields.Enum(ComplaintCategory, by_value=True, required=True)
    summary = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    unit_id = fields.UUID(load_default=None, allow_none=True)
    job_id = fields.UUID(load_default=None, allow_none=True)


class CustomerComplaintEventSchema(Schema):
    """A step of the customer's complaint as the customer sees it: no staff notes, no staff ids."""

    kind = fields.String()
    from_status = fields.Enum(ComplaintStatus, by_value=True, allow_none=True)
    to_status = fields.Enum(ComplaintStatus, by_value=True, allow_none=True)
    at = fields.DateTime()


class CustomerComplaintSchema(ComplaintSchema):
    """The complaint as its customer sees it: which desk owns it, not which person."""

    class Meta:
        exclude = ("owner_user_id",)

    events = fields.List(fields.Nested(CustomerComplaintEventSchema))


# --- public -------------------------------------------------------------------------------------


class PointCardSchema(Schema):
    code = fields.String()
    name = fields.String()
    address = fields.String()
    phone = fields.String()


class PublicUnitQuerySchema(Schema):
    sig = fields.String(load_default=None, validate=validate.Length(max=64))
    lat = fields.Float(load_default=None, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(load_default=None, validate=validate.Range(min=-180, max=180))
    region_code = fields.String(load_default=None, validate=validate.Length(min=1, max=32))

    @validates_schema
    def _both(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("give lat and lon together", "lon")


class PublicUnitSchema(Schema):
    serial = fields.String()
    sku = fields.String()
    model = fields.String()
    category = fields.String()
    genuine = fields.Boolean()
    activated = fields.Boolean()
    warranty_status = fields.String()
    warranty_until = fields.Date(allow_none=True)
    authorised_point = fields.Nested(PointCardSchema, allow_none=True)


class BadgeQuerySchema(Schema):
    badge = fields.String(required=True, validate=validate.Length(min=1, max=32))
    sig = fields.String(load_default=None, validate=validate.Length(max=64),
                        metadata={"description": "the signature of a badge QR code"})


class CertificateSchema(Schema):
    name = fields.String()
    category = fields.String()
    expires_on = fields.Date()


class TechnicianCheckSchema(Schema):
    authorised = fields.Boolean()
    name = fields.String(allow_none=True)
    badge = fields.String(allow_none=True)
    photo_url = fields.String(allow_none=True)
    service_point = fields.Nested(PointCardSchema, allow_none=True)
    certificates = fields.List(fields.Nested(CertificateSchema))


class PriceListPartSchema(Schema):
    sku = fields.String()
    name = fields.String()
    list_price = fields.Decimal(places=2, as_string=True, metadata=MONEY)
    currency = fields.String()
    consumable = fields.Boolean()
    warranty_covered = fields.Boolean()


class LabourPriceSchema(Schema):
    job_type = fields.String()
    amount = fields.Decimal(places=2, as_string=True, metadata=MONEY)
    currency = fields.String()


class WarrantyTermsSchema(Schema):
    months = fields.Integer()
    labour_covered = fields.Boolean()
    parts_covered = fields.Boolean()


class PriceListSchema(Schema):
    sku = fields.String()
    model = fields.String()
    category = fields.String()
    currency = fields.String()
    parts = fields.List(fields.Nested(PriceListPartSchema))
    labour = fields.List(fields.Nested(LabourPriceSchema))
    warranty = fields.Nested(WarrantyTermsSchema)
