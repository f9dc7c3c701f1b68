"""KPI report."""

from __future__ import annotations

from marshmallow import Schema, fields


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
