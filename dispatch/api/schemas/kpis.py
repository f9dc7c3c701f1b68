"""KPI report."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.stock import MONEY, PRICE
from dispatch.kpis.enums import Incentive


class KpiFilterSchema(Schema):
    # "from" is a Python keyword: the query parameter is mapped with data_key.
    date_from = fields.Date(data_key="from", load_default=None,
                            metadata={"description": "first local day (default: 29 days before `to`)"})
    date_to = fields.Date(data_key="to", load_default=None, metadata={"description": "last local day (default: today)"})
    service_point = fields.String(load_default=None, metadata={"description": "point id or code (HQ)"})
    technician = fields.String(load_default=None, metadata={"description": "technician id or username"})


class KpisSchema(Schema):
    jobs_done = fields.Integer()
    first_time_fix_rate = fields.Float(allow_none=True, metadata={
        "description": "share of repairs with no other repair of the unit within 30 days"})
    sla_compliance = fields.Float(allow_none=True, metadata={"description": "share on site by the SLA due time"})
    mean_travel_minutes = fields.Float(allow_none=True)
    mean_on_site_minutes = fields.Float(allow_none=True)
    mean_standard_minutes = fields.Float(allow_none=True)
    on_site_vs_standard = fields.Float(allow_none=True, metadata={
        "description": "on-site time / the models' standard time (1.0 = on standard)"})
    rating_average = fields.Float(allow_none=True)
    rating_count = fields.Integer()
    audit_pass_rate = fields.Float(allow_none=True, metadata={
        "description": "share of HQ's random-sample audits (final verdicts) that found no defect"})
    audits = fields.Integer()
    complaints = fields.Integer()
    complaints_per_100_jobs = fields.Float(allow_none=True)


class RankingEntrySchema(Schema):
    kind = fields.String()
    id = fields.UUID()
    code = fields.String(allow_none=True)
    name = fields.String()
    rank = fields.Integer()
    score = fields.Float(allow_none=True)
    kpis = fields.Nested(KpisSchema)


class KpiReportSchema(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    service_point_id = fields.UUID(allow_none=True)
    technician_id = fields.UUID(allow_none=True)
    kpis = fields.Nested(KpisSchema)
    ranking_of = fields.String(allow_none=True, metadata={"description": "service_point, technician or null"})
    ranking = fields.List(fields.Nested(RankingEntrySchema))


# --- trends and monthly evaluations -------------------------------------------------------------


class KpiSeriesFilterSchema(Schema):
    interval = fields.String(load_default="week", validate=validate.OneOf(["week", "month"]))
    periods = fields.Integer(load_default=8, validate=validate.Range(min=1, max=26),
                             metadata={"description": "how many periods (weeks: 26 at most, months: 24)"})
    date_to = fields.Date(data_key="to", load_default=None,
                          validate=validate.Range(min=date(2000, 1, 1), max=date(2199, 12, 31)),
                          metadata={"description": "a day of the last period (default: today)"})
    service_point = fields.String(load_default=None, metadata={"description": "point id or code (HQ)"})
    technician = fields.String(load_default=None, metadata={"description": "technician id or username"})


class TrendFiguresSchema(Schema):
    kpis = fields.Nested(KpisSchema)
    repeat_repairs = fields.Integer(metadata={"description": "repairs followed by another within 30 days"})
    parts_cost_per_job = fields.Float(allow_none=True)
    labour_cost_per_job = fields.Float(allow_none=True)
    cost_per_job = fields.Float(allow_none=True, metadata={
        "description": "(parts at the list price when fitted + labour at the rate table) / jobs done"})


class TrendPointSchema(Schema):
    period = fields.String(attribute="period.label", metadata={"description": "2026-W49 or 2026-11"})
    date_from = fields.Date(attribute="period.date_from", data_key="from")
    date_to = fields.Date(attribute="period.date_to", data_key="to")
    figures = fields.Nested(TrendFiguresSchema)
    previous = fields.Nested(TrendFiguresSchema, metadata={"description": "the period before, for comparison"})


class KpiSeriesSchema(Schema):
    interval = fields.String()
    service_point_id = fields.UUID(allow_none=True)
    technician_id = fields.UUID(allow_none=True)
    points = fields.List(fields.Nested(TrendPointSchema))


MONTH = validate.Regexp(r"^2[01]\d{2}-(0[1-9]|1[0-2])$")


class EvaluationCreateSchema(Schema):
    service_point_id = fields.UUID(required=True)
    month = fields.String(required=True, validate=MONTH, metadata={"description": "a finished month, 2026-11"})
    incentive = fields.Enum(Incentive, by_value=True, required=True)
    amount = fields.Decimal(required=True, places=2, validate=PRICE, metadata=MONEY | {
        "description": "decimal string, 2 places; 0 when the incentive is none"})
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class EvaluationFilterSchema(Schema):
    month = fields.String(validate=MONTH)
    service_point_id = fields.UUID()


class EvaluationSchema(Schema):
    id = fields.UUID()
    service_point_id = fields.UUID()
    service_point_code = fields.String(attribute="service_point.code")
    month = fields.String()
    rank = fields.Integer()
    ranked_points = fields.Integer()
    score = fields.Float(allow_none=True)
    kpis = fields.Dict()
    incentive = fields.Enum(Incentive, by_value=True)
    amount = fields.Decimal(places=2, as_string=True, metadata=MONEY)
    note = fields.String()
    decided_by = fields.UUID(allow_none=True)
    decided_at = fields.DateTime()
