"""Route plans: the request, the plan with routes and ETAs, and urgent insertions."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.api.schemas.common import LocationSchema
from dispatch.routing.enums import PlanStatus

MAX_TIME_LIMIT_S = 300
MAX_INSERTION_TIME_LIMIT_S = 30


class RoutePlanCreateSchema(Schema):
    date = fields.Date(required=True, metadata={"description": "local day to plan (today re-plans the rest "
                                                               "of the day); the first day of a longer plan"})
    date_to = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "the last day of a plan over several days (at most 7 in all): one solve, so a job whose "
                       "window spans days goes on its best day; default: date alone"})
    time_limit_s = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_TIME_LIMIT_S),
        metadata={"description": "solver time limit; default: the server's DISPATCH_SOLVE_TIME_LIMIT_S"},
    )
    seed = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1),
                          metadata={"description": "makes the search reproducible"})
    balance_weight = fields.Float(
        load_default=0.0, validate=validate.Range(min=0, max=10),
        metadata={"description": "workload balance between technicians: a second of work above the fair "
                                 "share costs this many seconds of driving (0: off)"},
    )
    wait_cost = fields.Float(
        load_default=0.0, validate=validate.Range(min=0, max=10),
        metadata={"description": "a second a technician is on duty but idle (waiting on site, leaving early) "
                                 "costs this many seconds of driving (0: off; slows the search)"},
    )


class RoutePlanFilterSchema(Schema):
    date = fields.Date(metadata={"description": "only plans of this local day"})
    status = fields.Enum(PlanStatus, by_value=True)


class PlanInsertionCreateSchema(Schema):
    job_id = fields.UUID(required=True, metadata={"description": "a dispatched job of the plan's point"})
    time_limit_s = fields.Integer(load_default=2, validate=validate.Range(min=1, max=MAX_INSERTION_TIME_LIMIT_S),
                                  metadata={"description": "time to re-optimise the day (the answer waits)"})


class RoutePlanSummarySchema(Schema):
    id = fields.UUID()
    service_point_id = fields.UUID()
    date = fields.Date()
    timezone = fields.String()
    status = fields.Enum(PlanStatus, by_value=True)
    progress = fields.Integer(metadata={"description": "percent"})
    time_limit_s = fields.Integer()
    seed = fields.Integer()
    input_hash = fields.String(metadata={"description": "fingerprint of the problem solved last"})
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    stats = fields.Dict(metadata={"description": "jobs, served, unassigned (by reason), technicians used, "
                                                 "distance_m, travel_s, solver statistics"})
    requested_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    applied_at = fields.DateTime(allow_none=True)
    revision = fields.Integer(metadata={"description": "urgent insertions applied so far"})
    insertions = fields.List(fields.Dict())
    balance_weight = fields.Float()
    wait_cost = fields.Float()
    days = fields.Integer(metadata={"description": "days covered, from date on"})
    date_to = fields.Date(metadata={"description": "the last day covered (date for a one-day plan)"})


class PlannedStopSchema(Schema):
    sequence = fields.Integer()
    job_id = fields.UUID()
    job_reference = fields.String()
    priority = fields.String()
    location = fields.Nested(LocationSchema)
    arrival_at = fields.DateTime(metadata={"description": "ETA (local time)"})
    start_at = fields.DateTime()
    finish_at = fields.DateTime()
    wait_s = fields.Integer(metadata={"description": "waiting for the window to open"})
    travel_s = fields.Integer(metadata={"description": "leg from the previous stop or the start place"})
    distance_m = fields.Integer()
    pinned = fields.Boolean(metadata={"description": "under way or locked by the manager"})
    helper = fields.Boolean(metadata={"description": "a crew job's helper stop (the lead's stop has false; the "
                                                     "crew starts together)"})


class PlannedRouteSchema(Schema):
    technician_id = fields.UUID()
    technician_name = fields.String()
    start = fields.Nested(LocationSchema)
    end = fields.Nested(LocationSchema)
    shift_start_at = fields.DateTime()
    shift_end_at = fields.DateTime()
    leave_at = fields.DateTime()
    return_at = fields.DateTime()
    break_start_at = fields.DateTime(allow_none=True)
    break_minutes = fields.Integer()
    distance_m = fields.Integer()
    travel_s = fields.Integer()
    return_travel_s = fields.Integer(metadata={"description": "leg from the last stop to the end place"})
    return_distance_m = fields.Integer()
    date = fields.Date(metadata={"description": "the route's day (a plan may cover several)"})
    stops = fields.List(fields.Nested(PlannedStopSchema))


class UnassignedJobSchema(Schema):
    job_id = fields.UUID()
    job_reference = fields.String()
    priority = fields.String()
    location = fields.Nested(LocationSchema, allow_none=True)
    reason = fields.String(metadata={"description": "stable code, e.g. capacity, no_skilled_technician, "
                                                    "window_outside_all_shifts, unreachable_in_window, "
                                                    "pin_infeasible, no_location, no_technician_on_shift"})
    detail = fields.String()


class RoutePlanSchema(RoutePlanSummarySchema):
    routes = fields.List(fields.Nested(PlannedRouteSchema))
    unassigned = fields.List(fields.Nested(UnassignedJobSchema))


class PlanInsertionSlaSchema(Schema):
    due_at = fields.DateTime(metadata={"description": "the job's SLA due time (technician on site by then)"})
    met = fields.Boolean(metadata={"description": "the planned start is at or before the due time"})
    breach_minutes = fields.Integer(metadata={"description": "projected breach: minutes the planned start is "
                                                             "after the due time (0 when met)"})
    status = fields.String(allow_none=True, metadata={"description": "the job's SLA status now: ok | at_risk "
                                                                      "(the plan starts it late) | breached"})
    detail = fields.String()


class PlanInsertionSchema(Schema):
    job_id = fields.UUID()
    technician_id = fields.UUID()
    sequence = fields.Integer()
    start_at = fields.DateTime()
    rescheduled_job_ids = fields.List(fields.UUID(), metadata={"description": "other jobs given a new slot"})
    date = fields.Date(metadata={"description": "the day of the plan the job went on (a plan over several days "
                                                "takes it on the earliest day its window allows and it fits)"})
    sla = fields.Nested(PlanInsertionSlaSchema, allow_none=True,
                        metadata={"description": "the job is placed where it meets its SLA due time whenever any "
                                                 "technician can; otherwise as early as it can, and this says by "
                                                 "how much it will be late (null: no SLA)"})
    plan = fields.Nested(RoutePlanSchema)
