"""The authorisation matrix (OWASP API1 BOLA, API5 function level): every route of the OpenAPI
document with an object id in its path, for every role, against an object of the caller's own
service point and one of a foreign point.

- A point's manager (``manager.hz01``) and technician (``tech.hz01.1``) never succeed on a foreign
  object (NB01, or another point when NB01 has none of that kind): a read answers 404, a write
  403 or 404, and the database sees no INSERT, UPDATE or DELETE. A 403 is accepted only when
  the same role gets 403 on its own point's object too (the role may not do it at all), and the
  status always equals the one for an id that names nothing (with the realistic If-Match, a
  stale one and none), so it never tells a foreign object from a missing one: scope is checked
  before role, version (412/428) and state (409).
- Customers and units form a registry every role may read (foreign personal data masked); a
  write to a foreign one answers 404, like a missing one, and changes nothing.
- Colleagues inside one point: a technician reaches none of another technician's personal
  objects (jobs, checklists, uploads, van transfers, records, account) nor the manager's account
  and uploads, and the manager no upload of a technician not yet attached to a step; each answer
  equals the one for a missing id.
- Catalogue objects (products, regions, parts, SOP templates, SLA targets, labour rates,
  complaint deadlines) belong to HQ: a point role's write is 403 and changes nothing.
- HQ roles (admin, reviewer) see every point's objects: their reads of the foreign object are
  never 404 (which also proves the ids used here are real).

Writes carry a body that passes validation (a table per operation below), so a 422 from the
schema cannot hide a missing check; with an ETag, ``If-Match`` is what the caller's own GET
returned (or the admin's when the caller cannot read it). Every request runs in a savepoint that
is rolled back, so the checks do not depend on each other.

A route with a path parameter this module cannot map fails ``test_every_route_with_an_object_id
_is_in_the_matrix`` unless it is exempted below with a reason; so does a list filter naming an
object (``?service_point_id=``, ``?job_id=``, ``?location=``...). Filtering a list by a foreign
object must show nothing of that point, and a write naming a foreign object in its body (stock
moved out of a foreign point, a complaint about a foreign job, an own job given to a foreign
technician...) must fail without a write, or be re-homed to the caller's own point.
"""

from __future__ import annotations

import functools
import io
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import sessionmaker

from dispatch.app import create_app
from dispatch.auth import clients
from dispatch.auth.models import User
from dispatch.auth.principal import Principal
from dispatch.auth.service import TokenConfig
from dispatch.care import notifications
from dispatch.care.models import Channel, Complaint, MaintenancePlan
from dispatch.clock import utcnow
from dispatch.config import Settings
from dispatch.correction.enums import CorrectivePlanStatus
from dispatch.correction.models import CorrectiveAction, CorrectivePlan
from dispatch.integrations import outbox, signing
from dispatch.integrations.enums import EventType, ImportKind, ImportStatus
from dispatch.integrations.models import ImportRun, WebhookDelivery, WebhookEndpoint
from dispatch.jobs.models import Job, JobStatus, SlaTarget
from dispatch.network.models import Certification, Customer, Product, Region, ServicePoint, Technician, Unit
from dispatch.routing import service as routing
from dispatch.audits.models import Audit, AuditLot, AuditStatus
from dispatch.routing.models import Replan, ReplanStatus
from dispatch.sop.models import Attachment, Checklist, SopTemplate, SopVersion
from dispatch.stock.models import Part, StockLevel, StockLocation, UnitReturn, WarrantyClaim
from dispatch.training.models import Course
from dispatch.uow import UnitOfWork
from dispatch.warranty.models import FaultCause, RecallCampaign, RemedyRequest, ServiceContract
from dispatch.worklists.enums import WorklistKind, WorklistQueue
from dispatch.worklists.models import WorklistItem
from tests.module_app import ModuleApp
from tests.plan_builders import RecordingTaskQueue, principal

HQ = ("admin", "reviewer")
POINT_ROLES = ("manager.hz01", "tech.hz01.1")
OWN_POINT, FOREIGN_POINTS = "HZ01", ("NB01", "NB02", "SZ01", "SZ02", "HZ02")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}

POINT, SHARED, CATALOGUE = "point", "shared", "catalogue"
"""How the object behind a path parameter is scoped (see the module docstring)."""

KINDS: dict[tuple[str, str], tuple[str, str]] = {
    # (path segment before the parameter, parameter) -> (object kind, scope)
    ("attachments", "attachment_id"): ("attachment", POINT),
    ("lots", "lot_id"): ("audit_lot", POINT),
    ("audits", "audit_id"): ("audit", POINT),
    ("jobs", "job_id"): ("job", POINT),
    ("steps", "key"): ("step_key", POINT),
    ("checklists", "checklist_id"): ("checklist", POINT),
    ("claims", "claim_id"): ("claim", POINT),
    ("complaints", "complaint_id"): ("complaint", POINT),
    ("worklist-items", "item_id"): ("worklist_item", POINT),
    ("corrective-plans", "corrective_plan_id"): ("corrective_plan", POINT),
    ("maintenance-plans", "plan_id"): ("maintenance_plan", POINT),
    ("notifications", "notification_id"): ("notification", POINT),
    ("service-points", "point_id"): ("service_point", POINT),
    ("plans", "plan_id"): ("route_plan", POINT),
    ("replans", "replan_id"): ("replan", POINT),
    ("transfers", "transfer_id"): ("transfer", POINT),
    ("technicians", "technician_id"): ("technician", POINT),
    ("certifications", "certification_id"): ("certification", POINT),
    ("shift-exceptions", "exception_id"): ("shift_exception", POINT),
    ("users", "user_id"): ("user", POINT),
    ("customers", "customer_id"): ("customer", SHARED),
    ("units", "serial"): ("unit", SHARED),
    ("products", "product_id"): ("product", CATALOGUE),
    ("regions", "region_id"): ("region", CATALOGUE),
    ("parts", "part_id"): ("part", CATALOGUE),
    ("sla-targets", "target_id"): ("sla_target", CATALOGUE),
    ("templates", "template_id"): ("template", CATALOGUE),
    ("versions", "number"): ("version_number", CATALOGUE),
    ("deadlines", "category"): ("complaint_category", CATALOGUE),
    ("labour-rates", "job_type"): ("job_type", CATALOGUE),
    ("fault-causes", "cause_id"): ("fault_cause", CATALOGUE),
    ("trade-partners", "code"): ("trade_partner", CATALOGUE),
    ("statutory-periods", "category"): ("product_category", CATALOGUE),
    ("remedy-requests", "request_id"): ("remedy_request", POINT),
    ("unit-returns", "return_id"): ("unit_return", POINT),
    ("service-contracts", "contract_id"): ("service_contract", POINT),
    ("recall-campaigns", "campaign_id"): ("recall_campaign", CATALOGUE),
    ("endpoints", "endpoint_id"): ("webhook_endpoint", CATALOGUE),
    ("deliveries", "delivery_id"): ("webhook_delivery", CATALOGUE),
    ("clients", "client_uuid"): ("api_client", CATALOGUE),
    ("imports", "run_id"): ("import_run", POINT),
}

EXEMPT = {
    ("GET", "/api/v1/feedback/{token}"): "public: addressed by the signed link texted to the customer, no role "
                                         "involved (forged and expired links: tests/api/test_care_feedback.py)",
    ("POST", "/api/v1/feedback/{token}"): "public: addressed by the signed link texted to the customer, no role "
                                          "involved (forged and expired links: tests/api/test_care_feedback.py)",
    ("GET", "/api/v1/units/{serial}/journey"): "HQ's traceability report, not the shared registry: 403 for every "
                                               "point role whatever the unit (tests/api/test_warranty_tracing.py)",
}

SOLVER_LAUNCHING = {("POST", "/api/v1/service-points/{point_id}/plans"), ("POST", "/api/v1/plans/{plan_id}/insertions"),
                    ("POST", "/api/v1/service-points/{point_id}/replans")}
"""Only the foreign request is sent (it must fail before any solve); the own and HQ ones would
solve a day inline."""


@dataclass
class World:
    """Own and foreign objects of every kind, plus what write bodies refer to."""

    own: dict[str, str] = field(default_factory=dict)
    foreign: dict[str, str] = field(default_factory=dict)
    # Inside the own point: (caller, whose objects) -> the ids of that person's objects
    colleagues: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    own_point_id: str = ""
    own_technician_id: str = ""
    part_sku: str = ""
    own_part_in_stock: str = ""
    today: date = date.min


Body = Callable[[World, dict[str, str]], Any]
SERIAL_YEAR = re.compile(r"(\d{4})\d{7}$")

BODIES: dict[tuple[str, str], Body] = {
    ("POST", "/api/v1/audits/{audit_id}/verdict"): lambda w, ids: {"verdict": "conforming", "note": "matrix"},
    ("POST", "/api/v1/audits/{audit_id}/disputes"): lambda w, ids: {"reason": "the photo shows the new filter"},
    ("POST", "/api/v1/audits/{audit_id}/adjudication"): lambda w, ids: {"outcome": "upheld", "note": "matrix"},
    ("PUT", "/api/v1/jobs/{job_id}/checklist/steps/{key}"): lambda w, ids: {
        "value": True, "recorded_at": datetime.combine(w.today, datetime.min.time(), ZoneInfo("UTC")).isoformat()},
    ("POST", "/api/v1/claims/{claim_id}/decision"): lambda w, ids: {"approve": True},
    ("POST", "/api/v1/claims/{claim_id}/defective-return"): lambda w, ids: {"note": "matrix"},
    ("POST", "/api/v1/claims/{claim_id}/return-waiver"): lambda w, ids: {"attachment_id": ids["attachment"],
                                                                         "reason": "matrix"},
    ("PATCH", "/api/v1/fault-causes/{cause_id}"): lambda w, ids: {"symptom": "matrix"},
    ("PATCH", "/api/v1/webhooks/endpoints/{endpoint_id}"): lambda w, ids: {"description": "matrix"},
    ("DELETE", "/api/v1/webhooks/endpoints/{endpoint_id}"): lambda w, ids: None,
    ("POST", "/api/v1/webhooks/endpoints/{endpoint_id}/secret"): lambda w, ids: None,
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/redelivery"): lambda w, ids: None,
    ("POST", "/api/v1/webhooks/pruning"): lambda w, ids: None,
    ("PATCH", "/api/v1/clients/{client_uuid}"): lambda w, ids: {"scopes": ["jobs:read"]},
    ("DELETE", "/api/v1/clients/{client_uuid}"): lambda w, ids: None,
    ("POST", "/api/v1/clients/{client_uuid}/secret"): lambda w, ids: None,
    ("PUT", "/api/v1/jobs/{job_id}/fault-cause"): lambda w, ids: {"fault_cause_code": "WP-VLV-STUCK"},
    ("PUT", "/api/v1/statutory-periods/{category}"): lambda w, ids: {"refund_days": 7, "replace_days": 15},
    ("POST", "/api/v1/remedy-requests/{request_id}/decision"): lambda w, ids: {"approve": False, "reason": "matrix"},
    ("POST", "/api/v1/service-contracts/{contract_id}/cancellation"): lambda w, ids: {"reason": "matrix"},
    ("POST", "/api/v1/users/{user_id}/password"): lambda w, ids: {"new_password": "matrix-password-1"},
    ("POST", "/api/v1/unit-returns/{return_id}/receipt"): lambda w, ids: {"note": "matrix"},
    ("POST", "/api/v1/recall-campaigns/{campaign_id}/launch"): lambda w, ids: None,
    ("POST", "/api/v1/complaints/{complaint_id}/transitions"): lambda w, ids: {"to_status": "investigating",
                                                                          "note": "matrix"},
    ("PUT", "/api/v1/complaints/deadlines/{category}"): lambda w, ids: {"resolve_within_hours": 72},
    ("POST", "/api/v1/complaints/{complaint_id}/answer"): lambda w, ids: {"accepted": True},
    ("POST", "/api/v1/worklist-items/{item_id}/done"): lambda w, ids: {"outcome": "handled", "note": "matrix"},
    ("POST", "/api/v1/complaints/{complaint_id}/satisfaction"): lambda w, ids: {"score": 4},
    ("POST", "/api/v1/corrective-plans/{corrective_plan_id}/answers"): lambda w, ids: {
        "action_id": ids["corrective_action"], "answer": "matrix", "evidence": [ids["attachment"]]},
    ("POST", "/api/v1/corrective-plans/{corrective_plan_id}/reaudit"): lambda w, ids: None,
    ("POST", "/api/v1/corrective-plans/{corrective_plan_id}/reaudit/verdicts"): lambda w, ids: {
        "checklist_id": ids["checklist"], "verdict": "conforming"},
    ("POST", "/api/v1/corrective-plans/{corrective_plan_id}/decision"): lambda w, ids: {
        "outcome": "extend", "note": "matrix", "deadline": (w.today + timedelta(days=60)).isoformat()},
    ("PATCH", "/api/v1/customers/{customer_id}"): lambda w, ids: {"address": "8 Matrix Road"},
    ("POST", "/api/v1/jobs/{job_id}/callbacks"): lambda w, ids: {"outcome": "reached", "satisfied": True, "score": 5},
    ("POST", "/api/v1/jobs/{job_id}/rating-link"): lambda w, ids: None,
    ("POST", "/api/v1/jobs/{job_id}/parts"): lambda w, ids: {"part_sku": w.part_sku, "quantity": 1},
    ("PUT", "/api/v1/jobs/{job_id}/parts/expected"): lambda w, ids: {"parts": [{"part_sku": w.part_sku, "quantity": 1}]},
    ("POST", "/api/v1/jobs/{job_id}/parts/reservations"): lambda w, ids: None,
    ("PUT", "/api/v1/jobs/{job_id}/bill/overrides"): lambda w, ids: {
        "overrides": [{"part_sku": w.part_sku, "unit_price": 1.5, "reason": "goodwill"}]},
    ("PUT", "/api/v1/labour-rates/{job_type}"): lambda w, ids: {"amount": 120.0},
    ("POST", "/api/v1/jobs/{job_id}/transitions"): lambda w, ids: {"to": "on_hold", "reason": "matrix"},
    ("POST", "/api/v1/jobs/{job_id}/assignment"): lambda w, ids: {
        "technician_id": w.own_technician_id, "reason": "matrix",
        "scheduled_start": datetime.combine(w.today + timedelta(days=1), datetime.min.time(),
                                            ZoneInfo("Asia/Shanghai")).replace(hour=10).isoformat()},
    ("POST", "/api/v1/jobs/{job_id}/transfer"): lambda w, ids: {"service_point_id": w.own_point_id, "reason": "matrix"},
    ("POST", "/api/v1/jobs/{job_id}/crew"): lambda w, ids: {"crew_size": 2},
    ("PATCH", "/api/v1/maintenance-plans/{plan_id}"): lambda w, ids: {"interval_days": 120},
    ("POST", "/api/v1/notifications/{notification_id}/retry"): lambda w, ids: None,
    ("PATCH", "/api/v1/parts/{part_id}"): lambda w, ids: {"description": "matrix"},
    ("POST", "/api/v1/service-points/{point_id}/plans"): lambda w, ids: {"date": w.today.isoformat(), "time_limit_s": 1},
    ("POST", "/api/v1/plans/{plan_id}/apply"): lambda w, ids: None,
    ("POST", "/api/v1/jobs/{job_id}/booking"): lambda w, ids: {
        "window_start": _tomorrow_at(w, 10).isoformat(), "window_end": _tomorrow_at(w, 12).isoformat()},
    ("PUT", "/api/v1/service-points/{point_id}/slot-length"): lambda w, ids: {"minutes": 120},
    ("PUT", "/api/v1/service-points/{point_id}/customer-rules"): lambda w, ids: {"max_reschedules": 3},
    ("POST", "/api/v1/service-points/{point_id}/replans"): lambda w, ids: {
        "kind": "no_show", "job_id": ids["job"], "time_limit_s": 1},
    ("POST", "/api/v1/replans/{replan_id}/confirm"): lambda w, ids: None,
    ("POST", "/api/v1/replans/{replan_id}/discard"): lambda w, ids: None,
    ("POST", "/api/v1/plans/{plan_id}/insertions"): lambda w, ids: {"job_id": ids["job"], "time_limit_s": 1},
    ("PATCH", "/api/v1/products/{product_id}"): lambda w, ids: {"name": "Matrix purifier"},
    ("DELETE", "/api/v1/products/{product_id}"): lambda w, ids: None,
    ("PATCH", "/api/v1/regions/{region_id}"): lambda w, ids: {"name": "Matrix district"},
    ("DELETE", "/api/v1/regions/{region_id}"): lambda w, ids: None,
    ("PATCH", "/api/v1/service-points/{point_id}"): lambda w, ids: {"address": "8 Matrix Road"},
    ("POST", "/api/v1/service-points/{point_id}/authorise"): lambda w, ids: {
        "valid_until": (w.today + timedelta(days=365)).isoformat()},
    ("POST", "/api/v1/service-points/{point_id}/suspend"): lambda w, ids: {"reason": "matrix"},
    ("POST", "/api/v1/service-points/{point_id}/reinstate"): lambda w, ids: {"reason": "matrix"},
    ("POST", "/api/v1/service-points/{point_id}/revoke"): lambda w, ids: {"reason": "matrix"},
    ("PATCH", "/api/v1/sla-targets/{target_id}"): lambda w, ids: {"hours": 48},
    ("POST", "/api/v1/sop/templates/{template_id}/versions"): lambda w, ids: None,
    ("PUT", "/api/v1/sop/templates/{template_id}/versions/{number}"): lambda w, ids: {
        "title": "Matrix", "steps": [{"key": "done", "title": "Done", "kind": "confirm"}]},
    ("POST", "/api/v1/sop/templates/{template_id}/versions/{number}/publish"): lambda w, ids: None,
    ("POST", "/api/v1/stock/transfers/{transfer_id}/receipt"): lambda w, ids: None,
    ("PATCH", "/api/v1/technicians/{technician_id}"): lambda w, ids: {"phone": "13800001234"},
    ("POST", "/api/v1/technicians/{technician_id}/certifications"): lambda w, ids: {
        "name": "Heater safety", "category": "water_heater", "issued_on": (w.today - timedelta(days=10)).isoformat(),
        "expires_on": (w.today + timedelta(days=365)).isoformat()},
    ("DELETE", "/api/v1/technicians/{technician_id}/certifications/{certification_id}"): lambda w, ids: None,
    ("POST", "/api/v1/technicians/{technician_id}/course-results"): lambda w, ids: {
        "course_id": ids["course"], "held_on": w.today.isoformat(), "attended": True, "exam_score": 90},
    ("POST", "/api/v1/technicians/{technician_id}/assessments"): lambda w, ids: {
        "category": "water_heater", "job_type": "install", "assessed_on": w.today.isoformat(), "score": 90},
    ("POST", "/api/v1/technicians/{technician_id}/shift-exceptions"): lambda w, ids: {
        "on": (w.today + timedelta(days=9)).isoformat(), "kind": "leave", "reason": "matrix"},
    ("DELETE", "/api/v1/technicians/{technician_id}/shift-exceptions/{exception_id}"): lambda w, ids: None,
    ("PATCH", "/api/v1/units/{serial}"): lambda w, ids: {  # a date in the year the serial says
        "manufactured_on": SERIAL_YEAR.search(ids["unit"]).group(1) + "-01-15"},
    ("POST", "/api/v1/units/{serial}/activation"): lambda w, ids: {
        "customer_id": w.own["customer"], "purchased_on": w.today.isoformat(), "sales_channel": "retail"},
    ("PUT", "/api/v1/units/{serial}/activation"): lambda w, ids: {
        "customer_id": w.own["customer"], "reason": "matrix"},
}

QUERIES: dict[tuple[str, str], Callable[[World], str]] = {
    ("GET", "/api/v1/jobs/{job_id}/slots"): lambda w: f"?from={w.today + timedelta(days=1)}&to={w.today + timedelta(days=1)}",
    ("GET", "/api/v1/service-points/{point_id}/slots"): lambda w: (
        f"?from={w.today + timedelta(days=1)}&to={w.today + timedelta(days=1)}&lat=30.27&lon=120.15"
        "&job_type=repair&product_sku=WP-RO500"),
    ("GET", "/api/v1/technicians/{technician_id}/route"): lambda w: f"?date={w.today}",
    ("GET", "/api/v1/technicians/{technician_id}/qualification"): lambda w: "?category=water_purifier&job_type=install",
    ("GET", "/api/v1/technicians/{technician_id}/shifts"): lambda w: (
        f"?from={w.today.isoformat()}&to={(w.today + timedelta(days=6)).isoformat()}"),
}


def _tomorrow_at(w: World, hour: int) -> datetime:
    return datetime.combine(w.today + timedelta(days=1), datetime.min.time(), ZoneInfo("Asia/Shanghai")).replace(hour=hour)


# --- the routes -----------------------------------------------------------------------------


@functools.cache
def _document() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite://", secret_key="matrix-document-only-" + "0" * 32,
                              upload_dir=Path("unused"), testing=True))
    return app.test_client().get("/api/v1/openapi.json").json


def _routes() -> list[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return sorted((m.upper(), path) for path, item in _document()["paths"].items() for m in item
                  if m in methods and "{" in path)


ROUTES = _routes()
CUSTOMER_PREFIX, PUBLIC_PREFIX = "/api/v1/customer/", "/api/v1/public/"
CUSTOMER_ROUTES = [route for route in ROUTES if route[1].startswith(CUSTOMER_PREFIX)]
EXEMPT.update({route: "a customer route (customer tokens only; staff tokens get 401): the customer matrix at the "
                      "end of this module checks a customer against another customer's objects"
               for route in CUSTOMER_ROUTES})
EXEMPT.update({route: "public: no owner and no role; forged and guessed codes: tests/api/test_customer_public.py"
               for route in ROUTES if route[1].startswith(PUBLIC_PREFIX)})
EXEMPT[("POST", "/api/v1/self-activations/{activation_id}/review")] = (
    "HQ's review of a customer's self-activation: no point owns it; point roles get 403 "
    "(tests/api/test_customer_visits.py::TestSelfActivation)")
PARAM = re.compile(r"/([^/{}]+)/\{(\w+)\}")


def _kinds(path: str) -> list[tuple[str, str, str]] | None:
    """(parameter, kind, scope) for each path parameter, or None if one cannot be mapped."""
    found = []
    for segment, name in PARAM.findall(path):
        if (segment, name) not in KINDS:
            return None
        found.append((name, *KINDS[(segment, name)]))
    return found


MATRIX = [pytest.param(route, id=f"{route[0]} {route[1]}") for route in ROUTES if route not in EXEMPT]


def test_every_route_with_an_object_id_is_in_the_matrix():
    unmapped = [route for route in ROUTES if route not in EXEMPT and _kinds(route[1]) is None]
    assert unmapped == [], f"map these path parameters in KINDS (or exempt the route with a reason): {unmapped}"
    no_body = [route for route in ROUTES if route[0] in WRITES and route not in EXEMPT and route not in BODIES]
    assert no_body == [], f"give these writes a valid body in BODIES: {no_body}"
    assert not set(EXEMPT) - set(ROUTES), "exemptions for routes that no longer exist"


# --- the world: own and foreign objects -----------------------------------------------------


def _point_ids(session) -> tuple[uuid.UUID, list[uuid.UUID]]:
    codes = dict(session.execute(select(ServicePoint.code, ServicePoint.id)).all())
    return codes[OWN_POINT], [codes[c] for c in FOREIGN_POINTS]


def _webhook_objects(session) -> dict[str, str]:
    """An HQ webhook endpoint with one delivery (HQ's objects: no point owns them)."""
    endpoint = WebhookEndpoint(url="https://erp.example/hooks", event_types=["job.created"],
                               secret=signing.new_secret())
    session.add(endpoint)
    session.flush()
    outbox.publish(session, [outbox.Event(EventType.JOB_CREATED, {"matrix": True})])
    delivery = session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id))
    admin = session.scalar(select(User).where(User.username == "admin"))
    principal = Principal(user_id=admin.id, username=admin.username, role=admin.role)
    issued = clients.create_client(UnitOfWork(session=session), principal, TokenConfig(secret_key="matrix" * 8),
                                   name="Matrix ERP", scopes=["jobs:read"])
    return {"webhook_endpoint": str(endpoint.id), "webhook_delivery": str(delivery),
            "api_client": str(issued.client.id)}


def _import_run(session, point_id: uuid.UUID) -> str:
    """A manager's technician import: their point's (HQ sees every point's)."""
    run = ImportRun(kind=ImportKind.TECHNICIANS, status=ImportStatus.SUCCEEDED, filename="matrix.csv",
                    content="username", service_point_id=point_id)
    session.add(run)
    session.flush()
    return str(run.id)


def _first(session, query, what: str):
    value = session.scalar(query.limit(1))
    assert value is not None, f"the demo data has no {what}"
    return value


def build_world(session, api, today: date) -> World:
    """Pick (or create, where the demo data has none) an object of each kind at HZ01 and abroad.

    The own objects are ones both point roles may reach: tech.hz01.1's job, checklist and
    technician record; the point's attachments, claims, complaints, audits and plans."""
    own_point, foreign_points = _point_ids(session)
    users = dict(session.execute(select(User.username, User.id)).all())
    tech = _first(session, select(Technician.id).where(Technician.user_id == users["tech.hz01.1"]), "tech.hz01.1")
    foreign_point = foreign_points[0]
    world = World(own_point_id=str(own_point), own_technician_id=str(tech), today=today)

    def at(model, *conditions, what: str) -> tuple[str, str]:
        own = _first(session, select(model.id).where(*conditions, model.service_point_id == own_point)
                     .order_by(model.id), f"{what} at {OWN_POINT}")
        for point_id in foreign_points:
            foreign = session.scalar(select(model.id).where(*conditions, model.service_point_id == point_id)
                                     .order_by(model.id).limit(1))
            if foreign is not None:
                return str(own), str(foreign)
        raise AssertionError(f"the demo data has no {what} outside {OWN_POINT}")

    checklist_job = (select(Checklist.id).join(Job, Job.id == Checklist.job_id))
    own_checklist = _first(session, checklist_job.where(Job.technician_id == tech,
                                                        Job.status == JobStatus.ON_SITE), "on-site checklist")
    foreign_checklist = _first(session, checklist_job.where(Job.service_point_id == foreign_point,
                                                            Job.status == JobStatus.ON_SITE), "foreign checklist")
    world.own["checklist"], world.foreign["checklist"] = str(own_checklist), str(foreign_checklist)
    world.own["job"] = str(session.scalar(select(Checklist.job_id).where(Checklist.id == own_checklist)))
    world.foreign["job"] = str(session.scalar(select(Checklist.job_id).where(Checklist.id == foreign_checklist)))
    world.own["step_key"] = _confirm_step(api, world.own["job"])
    world.foreign["step_key"] = _confirm_step(api, world.foreign["job"])

    world.own["technician"] = str(tech)
    world.foreign["technician"] = str(_first(session, select(Technician.id).where(
        Technician.service_point_id == foreign_point).order_by(Technician.name), "foreign technician"))
    world.own["service_point"], world.foreign["service_point"] = str(own_point), str(foreign_point)
    world.own["user"] = str(users["tech.hz01.1"])
    world.foreign["user"] = str(users["tech.nb01.1"])
    for kind, model, conditions in (("attachment", Attachment, ()), ("claim", WarrantyClaim, ()),
                                    ("complaint", Complaint, ()), ("audit_lot", AuditLot, ()),
                                    ("audit", Audit, (Audit.status == AuditStatus.FINAL,)),
                                    ("remedy_request", RemedyRequest, ()), ("unit_return", UnitReturn, ()),
                                    ("service_contract", ServiceContract, ())):
        world.own[kind], world.foreign[kind] = at(model, *conditions, what=kind)
    world.own["worklist_item"], world.foreign["worklist_item"] = at(  # on the point's own list
        WorklistItem, WorklistItem.kind == WorklistKind.CLAIM_OLD_PART, WorklistItem.queue == WorklistQueue.POINT,
        what="worklist item")
    world.own["audit"] = str(_first(session, select(Audit.id).where(  # technicians read their own final ones
        Audit.technician_id == tech, Audit.status == AuditStatus.FINAL).order_by(Audit.id), "final audit of tech.hz01.1"))

    # Customers: one known to HZ01 through a job, and a unit owner only NB01 serves.
    hz01_customers = select(Job.customer_id).where(Job.service_point_id == own_point, Job.customer_id.is_not(None))
    world.own["customer"] = str(session.scalar(select(Job.customer_id).where(Job.id == uuid.UUID(world.own["job"]))))
    world.foreign["customer"] = str(_first(session, select(Customer.id).where(
        Customer.service_point_id == foreign_point, Customer.id.not_in(hz01_customers),
        Customer.id.in_(select(Unit.customer_id))).order_by(Customer.id), "unit owner only NB01 serves"))
    world.own["unit"] = _first(session, select(Unit.serial).where(Unit.customer_id.in_(hz01_customers))
                               .order_by(Unit.serial), "unit of an HZ01 customer")
    world.foreign["unit"] = _first(session, select(Unit.serial).where(
        Unit.customer_id == uuid.UUID(world.foreign["customer"])).order_by(Unit.serial), "unit of that customer")
    world.foreign["unit_id"] = str(_first(session, select(Unit.id).where(Unit.serial == world.foreign["unit"]), "unit"))
    world.own["certification"] = str(_first(session, select(Certification.id).where(
        Certification.technician_id == tech), "certification of tech.hz01.1"))
    world.foreign["certification"] = str(_first(session, select(Certification.id).where(
        Certification.technician_id == uuid.UUID(world.foreign["technician"])), "foreign certification"))

    # Kinds the demo data has none of at a point: made here, through the services and the API.
    admin = principal(session, "admin")
    for side, point_id in (("own", own_point), ("foreign", foreign_point)):
        plan = routing.request_plan(UnitOfWork(session=session), RecordingTaskQueue(), admin, point_id=point_id,
                                    day=today + timedelta(days=1), time_limit_s=1, timezone="Asia/Shanghai")
        getattr(world, side)["route_plan"] = str(plan.id)
        maintenance = session.scalar(select(MaintenancePlan).where(MaintenancePlan.service_point_id.is_(None))
                                     .order_by(MaintenancePlan.id).limit(1))
        maintenance.service_point_id = point_id  # as after a job of that point served the unit
        message = notifications.queue(session, channel=Channel.SMS, recipient="13900000000", template="reminder",
                                      payload={}, service_point_id=point_id)
        session.flush()
        getattr(world, side)["maintenance_plan"] = str(maintenance.id)
        proposal = Replan(service_point_id=point_id, service_day=today, timezone="Asia/Shanghai", kind="emergency",
                          status=ReplanStatus.PROPOSED, moves=[], flagged=[], versions={}, stats={})
        session.add(proposal)
        session.flush()
        getattr(world, side)["replan"] = str(proposal.id)
        corrective = CorrectivePlan(service_point_id=point_id, status=CorrectivePlanStatus.OPEN, findings="matrix",
                                    grounds=[], deadline=today + timedelta(days=14), opened_at=utcnow(),
                                    actions=[CorrectiveAction(seq=1, requirement="matrix")], items=[])
        session.add(corrective)
        session.flush()
        getattr(world, side)["corrective_plan"] = str(corrective.id)
        getattr(world, side)["corrective_action"] = str(corrective.actions[0].id)
        getattr(world, side)["notification"] = str(message.id)
    world.part_sku = _first(session, select(Part.sku).where(Part.active.is_(True)).order_by(Part.sku), "part")
    catalogue = {
        "product": str(_first(session, select(Product.id).order_by(Product.sku), "product")),
        "region": str(_first(session, select(Region.id).order_by(Region.code), "region")),
        "part": str(_first(session, select(Part.id).order_by(Part.sku), "part")),
        "sla_target": str(_first(session, select(SlaTarget.id).order_by(SlaTarget.id), "SLA target")),
        "template": str(_first(session, select(SopTemplate.id).order_by(SopTemplate.code), "SOP template")),
        "complaint_category": "after_sales",
        "job_type": "repair",
        "fault_cause": str(_first(session, select(FaultCause.id).order_by(FaultCause.code), "fault cause")),
        "trade_partner": "DL-HZ-01",
        "course": str(_first(session, select(Course.id).order_by(Course.code), "training course")),
        "product_category": "water_purifier",
        "recall_campaign": str(_first(session, select(RecallCampaign.id).order_by(RecallCampaign.code), "recall")),
        **_webhook_objects(session),
    }
    catalogue["version_number"] = str(_first(session, select(SopVersion.number).where(
        SopVersion.template_id == uuid.UUID(catalogue["template"])).order_by(SopVersion.number), "SOP version"))
    world.own |= catalogue
    world.foreign |= catalogue
    world.own["import_run"], world.foreign["import_run"] = _import_run(session, own_point), _import_run(
        session, foreign_point)
    codes = dict(session.execute(select(ServicePoint.id, ServicePoint.code)).all())
    world.foreign["point_code"] = codes[foreign_point]
    vans = {"own": "tech.hz01.1", "foreign": session.scalar(select(User.username).join(
        Technician, Technician.user_id == User.id).where(Technician.id == uuid.UUID(world.foreign["technician"])))}
    stocked = {code: _first(session, select(Part.sku).join(StockLevel, StockLevel.part_id == Part.id)
                            .join(StockLocation, StockLocation.id == StockLevel.location_id)
                            .where(StockLocation.code == code, StockLevel.on_hand - StockLevel.reserved > 0)
                            .order_by(Part.sku), f"part in stock at {code}")
               for code in (OWN_POINT, codes[foreign_point])}
    world.foreign["technician_username"], world.foreign["part_in_stock"] = vans["foreign"], stocked[codes[foreign_point]]
    world.own_part_in_stock = stocked[OWN_POINT]
    world.foreign["stock_location"] = str(_first(session, select(StockLocation.id).where(
        StockLocation.code == codes[foreign_point]), "foreign point's stock location"))
    session.commit()  # before the API requests below: their savepoints must not nest in this session's
    session.close()
    for side in ("own", "foreign"):
        ids = getattr(world, side)
        code, technician = codes[uuid.UUID(ids["service_point"])], vans[side]
        # from the point to a technician's van: both the point's manager and that technician see it
        transfer = api.post("/api/v1/stock/transfers", as_="admin", json={
            "from_location": code, "to_location": f"VAN-{technician}",
            "lines": [{"part_sku": stocked[code], "quantity": 1}]})
        assert transfer.status_code == 201, transfer.json
        ids["transfer"] = transfer.json["id"]
        leave = api.post(f"/api/v1/technicians/{ids['technician']}/shift-exceptions", as_="admin",
                         json={"on": (today + timedelta(days=8)).isoformat(), "kind": "leave", "reason": "matrix"})
        assert leave.status_code == 201, leave.json
        ids["shift_exception"] = leave.json["id"]
    return world


COLLEAGUE, MANAGER = "tech.hz01.2", "manager.hz01"
PERSONAL = {"job", "checklist", "step_key", "technician", "certification", "shift_exception", "user", "attachment",
            "transfer", "audit"}
"""Kinds of object that belong to one person of a point rather than to the point as a whole."""
PAIRS = {("tech.hz01.1", COLLEAGUE): PERSONAL, ("tech.hz01.1", MANAGER): {"user", "attachment"},
         ("manager.hz01", "tech.hz01.1"): {"attachment"}}
"""(caller, owner of the objects) -> the kinds of the owner's own objects tried: technician vs
technician, technician vs manager, manager vs technician (an upload not attached to a step yet)."""


def _upload(api, username: str, label: str) -> str:
    from tests.unit.sop.evidence_images import jpeg

    response = api.post("/api/v1/attachments/", as_=username, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(jpeg(camera=f"Matrix {label}")), f"{label}.jpg")})
    assert response.status_code == 201, response.json
    return response.json["id"]


def build_colleagues(session, api, world: World) -> None:
    """The personal objects of a colleague technician and of the point's manager, each with the
    point's shared objects (which the caller may reach anyway) for the other path parameters."""
    users = dict(session.execute(select(User.username, User.id)).all())
    colleague = _first(session, select(Technician.id).where(Technician.user_id == users[COLLEAGUE]), COLLEAGUE)
    jobs = select(Checklist.id, Checklist.job_id).join(Job, Job.id == Checklist.job_id).where(
        Job.technician_id == colleague)
    checklist, job = session.execute(jobs.order_by((Job.status == JobStatus.ON_SITE).desc(), Job.id).limit(1)).one()
    audit = session.scalar(select(Audit.id).where(Audit.service_point_id == uuid.UUID(world.own_point_id),
                                                  Audit.technician_id != uuid.UUID(world.own_technician_id),
                                                  Audit.status == AuditStatus.FINAL).order_by(Audit.id).limit(1))
    certification = session.scalar(select(Certification.id).where(Certification.technician_id == colleague).limit(1))
    session.close()
    if certification is None:
        made = api.post(f"/api/v1/technicians/{colleague}/certifications", as_="admin", json={
            "name": "Matrix", "category": "water_heater", "issued_on": (world.today - timedelta(days=5)).isoformat(),
            "expires_on": (world.today + timedelta(days=300)).isoformat()})
        assert made.status_code == 201, made.json
        certification = made.json["id"]
    leave = api.post(f"/api/v1/technicians/{colleague}/shift-exceptions", as_="admin",
                     json={"on": (world.today + timedelta(days=10)).isoformat(), "kind": "leave", "reason": "matrix"})
    assert leave.status_code == 201, leave.json
    transfer = api.post("/api/v1/stock/transfers", as_="admin", json={
        "from_location": OWN_POINT, "to_location": f"VAN-{COLLEAGUE}",
        "lines": [{"part_sku": world.own_part_in_stock, "quantity": 1}]})
    assert transfer.status_code == 201, transfer.json
    world.colleagues[("tech.hz01.1", COLLEAGUE)] = world.own | {
        "technician": str(colleague), "user": str(users[COLLEAGUE]), "job": str(job), "checklist": str(checklist),
        "step_key": _confirm_step(api, str(job)), "certification": str(certification),
        "shift_exception": leave.json["id"], "transfer": transfer.json["id"],
        "attachment": _upload(api, COLLEAGUE, "colleague"), **({"audit": str(audit)} if audit else {})}
    world.colleagues[("tech.hz01.1", MANAGER)] = world.own | {
        "user": str(users[MANAGER]), "attachment": _upload(api, MANAGER, "manager")}
    world.colleagues[("manager.hz01", "tech.hz01.1")] = world.own | {
        "attachment": _upload(api, "tech.hz01.1", "technician")}


def _confirm_step(api, job_id: str) -> str:
    checklist = api.get(f"/api/v1/jobs/{job_id}/checklist", as_="admin")
    assert checklist.status_code == 200, checklist.json
    return next(step["key"] for step in checklist.json["steps"] if step["kind"] == "confirm")


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_app(base_settings) -> ModuleApp:
    return ModuleApp(base_settings.with_(access_token_ttl_s=3600))


@pytest.fixture(scope="module")
def world(module_app, engine):
    """The demo data plus the objects made for the matrix, in one transaction for the module
    (rolled back at its end); each request then runs in a savepoint of its own."""
    with engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
        module_app.use(factory)
        tokens = {username: module_app.api.token(username) for username in HQ + POINT_ROLES + (COLLEAGUE,)}
        with factory() as session:
            today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
            built = build_world(session, module_app.api, today)
        with factory() as session:
            build_colleagues(session, module_app.api, built)
        writes: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            verb = statement.lstrip().split(None, 1)[0].upper()
            if verb in {"INSERT", "UPDATE", "DELETE"}:
                writes.append(statement.split("\n", 1)[0][:120])

        event.listen(connection, "before_cursor_execute", record)
        yield Matrix(module_app, connection, built, tokens, writes)
        event.remove(connection, "before_cursor_execute", record)
        module_app.use(None)
        outer.rollback()


@dataclass
class Answer:
    status: int
    body: Any
    writes: list[str]
    code: str | None


class Matrix:
    def __init__(self, module_app: ModuleApp, connection, world: World, tokens, writes: list[str]) -> None:
        self.client = module_app.app.test_client()
        self.connection = connection
        self.world = world
        self.tokens = tokens
        self.writes = writes

    def send(self, method: str, url: str, username: str, body: Any = None, if_match: str | None = None) -> Answer:
        """One request in a savepoint that is rolled back afterwards."""
        headers = {"Authorization": f"Bearer {self.tokens[username]}"}
        if if_match:
            headers["If-Match"] = if_match
        savepoint = self.connection.begin_nested()
        del self.writes[:]
        try:
            kwargs = {"json": body} if body is not None else {}
            response = self.client.open(url, method=method, headers=headers, **kwargs)
            is_json = response.content_type.split(";")[0].endswith("json")
            data = response.get_json(silent=True) if is_json else None
            code = data.get("code") if isinstance(data, dict) else None
            return Answer(response.status_code, data, list(self.writes), code)
        finally:
            savepoint.rollback()

    def etag(self, path: str, username: str) -> str | None:
        """The ETag this caller can read for the object (else the admin's)."""
        for reader in (username, "admin"):
            headers = {"Authorization": f"Bearer {self.tokens[reader]}"}
            savepoint = self.connection.begin_nested()
            try:
                response = self.client.get(path, headers=headers)
            finally:
                savepoint.rollback()
            if response.status_code == 200 and response.headers.get("ETag"):
                return response.headers["ETag"]
        return None


def _url(path: str, ids: dict[str, str]) -> str:
    def fill(match: re.Match) -> str:
        segment, name = match.group(1), match.group(2)
        return f"/{segment}/{ids[KINDS[(segment, name)][0]]}"

    return PARAM.sub(fill, path)


STALE_ETAG = '"' + "0" * 40 + '"'
MISSING = {"step_key": "no_such_step", "unit": "ZZ20269999999", "version_number": "999"}
"""Ids that name nothing (any other kind: a fresh UUID)."""


def _missing_url(path: str, ids: dict[str, str]) -> str:
    """``ids``'s URL with the first object id replaced by one that names nothing: it must answer
    exactly what the foreign object's URL answers (the status is no existence oracle)."""
    first = PARAM.search(path)
    kind = KINDS[(first.group(1), first.group(2))][0]
    return _url(path, ids | {kind: MISSING.get(kind, str(uuid.UUID(int=0xDEAD)))})


# --- the matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("route", MATRIX)
def test_no_foreign_read_or_write_ever_succeeds(route, world, record_property):
    method, path = route
    kinds = _kinds(path)
    assert kinds is not None
    scope = POINT if any(s == POINT for _, _, s in kinds) else kinds[-1][2]
    w = world.world
    query = QUERIES[route](w) if route in QUERIES else ""
    urls = {"own": _url(path, w.own) + query, "foreign": _url(path, w.foreign) + query,
            "missing": _missing_url(path, w.foreign) + query}
    answers: dict[tuple[str, str], Answer] = {}

    def ask(username: str, side: str, if_match: str | None = "realistic") -> Answer:
        ids = w.foreign if side == "missing" else getattr(w, side)
        body = BODIES[route](w, ids) if method in WRITES else None
        # A realistic If-Match: what the caller read (else the admin); for the missing id, the
        # foreign object's, so that only existence differs between the two requests.
        if if_match == "realistic":
            etag_url = urls["foreign" if side == "missing" else side]
            if_match = world.etag(etag_url, username) if method in {"PATCH", "DELETE"} else None
        answer = world.send(method, urls[side], username, body, if_match)
        answers[(username, side)] = answer
        assert answer.status < 500, (username, side, answer.status, answer.body)
        return answer

    for username in POINT_ROLES:
        foreign = ask(username, "foreign")
        assert foreign.code != "validation-error", ("the matrix's request does not validate", foreign.body)
        if method in WRITES or scope == POINT:
            assert not 200 <= foreign.status < 300, (username, "foreign", foreign.status, foreign.body)
            assert foreign.writes == [], (username, "foreign", foreign.writes)
            if scope != CATALOGUE and (route not in SOLVER_LAUNCHING or foreign.status == 404):
                missing = ask(username, "missing")
                assert foreign.status == missing.status, (
                    username, "foreign", foreign.status, "missing", missing.status, foreign.body, missing.body)
                if method in {"PATCH", "DELETE"}:  # a stale If-Match, or none: still only a 404 for both
                    for if_match in (STALE_ETAG, None):
                        foreign_answer, missing_answer = ask(username, "foreign", if_match), ask(username, "missing",
                                                                                                  if_match)
                        assert foreign_answer.status == missing_answer.status, (
                            username, if_match, foreign_answer.status, missing_answer.status, foreign_answer.body)
                        assert foreign_answer.writes == []
        if route in SOLVER_LAUNCHING and foreign.status == 404:
            continue  # the own request would solve a day
        own = ask(username, "own")
        if scope == POINT:
            expected = {404} | ({403} if own.status == 403 else set())
            assert foreign.status in expected, (username, "foreign", foreign.status, "own", own.status, foreign.body)
            if method not in WRITES:
                assert own.status != 404, (username, "own object not found: the matrix id is wrong", own.body)
        elif scope == CATALOGUE:  # one object: what a point role may do with it does not depend on the side
            assert foreign.status == own.status, (username, foreign.status, own.status)
            assert foreign.status in ({403} if method in WRITES else {200, 403}), (username, foreign.body)
        elif method in WRITES:  # the shared registry: readable by all, written by its own point (and HQ)
            assert foreign.status == 404, (username, foreign.status, foreign.body)
        else:
            assert foreign.status == 200 and _masked(foreign.body), (username, foreign.status, foreign.body)

    if route not in SOLVER_LAUNCHING:
        for username in HQ:
            answer = ask(username, "foreign")
            if method not in WRITES:
                assert answer.status in {200, 403}, (username, "HQ sees every point", answer.status, answer.body)
    record_property("combinations", len(answers))


def _masked(body: Any) -> bool:
    """A foreign customer (or a unit's foreign owner) comes back with personal data hidden."""
    owner = body.get("customer") if isinstance(body, dict) and "serial" in body else body
    return not isinstance(owner, dict) or owner.get("masked", True) is True


def test_the_matrix_size(world):
    """How many (route, role, own/foreign) combinations the matrix sends (printed with -s)."""
    combos = 0
    for route in ROUTES:
        if route in EXEMPT:
            continue
        combos += len(POINT_ROLES) * (1 if route in SOLVER_LAUNCHING else 2)
        combos += 0 if route in SOLVER_LAUNCHING else len(HQ)
    filters = sum(1 for f in QUERY_FILTERS if f[1] in FILTERS and f not in FILTER_EXEMPT) * len(POINT_ROLES)
    references = len(REFERENCES) * len(POINT_ROLES) + 1
    colleagues = sum(len(_personal_routes(pair)) for pair in PAIRS)
    print(f"authorisation matrix: {len(MATRIX)} routes with object ids, {combos} (route, role, own/foreign) "
          f"combinations, each foreign one also against a missing id; {colleagues} (route, colleague pair) "
          f"combinations inside one point; {filters} foreign list filters; {references} writes naming a foreign "
          "object")
    assert combos > 4 * len(MATRIX)

# --- object ids in the query and in the body ------------------------------------------------

FILTERS = {
    # query parameter of a collection -> the foreign value sent
    "service_point_id": "service_point", "technician_id": "technician", "job_id": "job", "lot_id": "audit_lot",
    "transfer_id": "transfer", "customer_id": "customer", "unit_id": "unit_id", "location": "point_code",
    "service_point": "point_code", "technician": "technician_username",
}
CATALOGUE_FILTERS = {"region_id", "parent_id", "product_id"}
FILTER_EXEMPT = {
    ("/api/v1/sync/changes", "device_id"): "a pull only reports the last mutation of a device that is the "
                                           "caller's own; the feed is the token's user's (dispatch/sync/service.py)",
    ("/api/v1/customers/", "service_point_id"): "the customer registry is readable network-wide, personal data of "
                                                "other points' customers masked (GET /customers/{id} above)",
    ("/api/v1/units/", "customer_id"): "the unit registry is readable network-wide, owners masked "
                                       "(GET /units/{serial} above)",
}
SCOPED = ("service_point", "job", "technician", "checklist", "claim", "complaint", "audit", "audit_lot", "transfer",
          "attachment", "maintenance_plan", "notification", "route_plan", "user", "shift_exception", "stock_location",
          "replan", "worklist_item", "corrective_plan")


def _filters() -> list[tuple[str, str]]:
    document = _document()
    found = []
    for path, item in document["paths"].items():
        if "{" in path or "get" not in item:
            continue
        for parameter in item["get"].get("parameters", []):
            name = parameter.get("name")  # None: a $ref (the If-None-Match header of ETag'd lists)
            if parameter.get("in") == "query" and (name.endswith("_id") or name in FILTERS):
                found.append((path, name))
    return sorted(found)


QUERY_FILTERS = _filters()


def test_every_filter_naming_an_object_is_in_the_matrix():
    unmapped = [f for f in QUERY_FILTERS if f[1] not in FILTERS and f[1] not in CATALOGUE_FILTERS
                and f not in FILTER_EXEMPT]
    assert unmapped == [], f"map these query parameters in FILTERS (or exempt them with a reason): {unmapped}"


@pytest.mark.parametrize("path, name", [pytest.param(*f, id=f"{f[0]}?{f[1]}") for f in QUERY_FILTERS
                                        if f[1] in FILTERS and f not in FILTER_EXEMPT])
def test_filtering_a_list_by_a_foreign_object_shows_nothing_of_it(path, name, world):
    w = world.world
    url = f"{path}?{name}={w.foreign[FILTERS[name]]}"
    foreign_ids = {w.foreign[kind] for kind in SCOPED}
    for username in POINT_ROLES:
        answer = world.send("GET", url, username)
        assert answer.status in {200, 403, 404, 422}, (username, answer.status, answer.body)
        assert answer.writes == [], (username, answer.writes)
        if answer.status == 200:
            leaked = {i for i in foreign_ids if i in json.dumps(answer.body)}
            assert not leaked, (username, "foreign objects listed", leaked)


REFERENCES: dict[str, Callable[[World], tuple[str, str, Any]]] = {
    "transfer stock out of a foreign point": lambda w: ("POST", "/api/v1/stock/transfers", {
        "from_location": w.foreign["point_code"], "to_location": OWN_POINT,
        "lines": [{"part_sku": w.foreign["part_in_stock"], "quantity": 1}]}),
    "adjust a foreign point's count": lambda w: ("POST", "/api/v1/stock/adjustments", {
        "location": w.foreign["point_code"], "part_sku": w.foreign["part_in_stock"], "delta": 1, "reason": "matrix"}),
    "return defective parts from a foreign point": lambda w: ("POST", "/api/v1/stock/defective-returns", {
        "location": w.foreign["point_code"], "part_sku": w.foreign["part_in_stock"], "quantity": 1,
        "reason": "matrix"}),
    "set a foreign point's stock limits": lambda w: ("PUT", "/api/v1/stock/limits", {
        "location": w.foreign["point_code"], "part_sku": w.foreign["part_in_stock"], "min_level": 1,
        "max_level": 5}),
    "file a complaint about a foreign job": lambda w: ("POST", "/api/v1/complaints", {
        "category": "after_sales", "customer_id": w.foreign["customer"], "job_id": w.foreign["job"],
        "summary": "matrix"}),
    "assign an own job to a foreign technician": lambda w: ("POST", f"/api/v1/jobs/{w.own['job']}/assignment", {
        "technician_id": w.foreign["technician"], "reason": "matrix",
        "scheduled_start": datetime.combine(w.today + timedelta(days=1), datetime.min.time(),
                                            ZoneInfo("Asia/Shanghai")).replace(hour=10).isoformat()}),
    "hire a technician into a foreign point": lambda w: ("POST", "/api/v1/technicians", {
        "service_point_id": w.foreign["service_point"], "name": "Matrix Tech", "hired_on": w.today.isoformat(),
        "username": "matrix.tech", "password": "matrix-password"}),
    "open an account at a foreign point": lambda w: ("POST", "/api/v1/users", {
        "username": "matrix.user", "password": "matrix-password", "role": "technician",
        "service_point_id": w.foreign["service_point"]}),
}


@pytest.mark.parametrize("case", sorted(REFERENCES))
def test_a_write_naming_a_foreign_object_in_its_body_fails_and_changes_nothing(case, world):
    w = world.world
    method, path, body = REFERENCES[case](w)
    for username in POINT_ROLES:
        answer = world.send(method, path, username, body)
        assert answer.status in {403, 404, 409, 422}, (username, answer.status, answer.body)
        assert answer.writes == [], (username, answer.writes)


def test_a_pushed_mutation_on_a_foreign_job_is_rejected_and_writes_no_event(world):
    body = {"device_id": str(uuid.uuid4()),
            "mutations": [{"id": 1, "kind": "note", "payload": {"job_id": world.world.foreign["job"], "text": "x"}}]}
    answer = world.send("POST", "/api/v1/sync/mutations", "tech.hz01.1", body)
    assert answer.status == 200, answer.body
    result = answer.body["results"][0]
    assert result["status"] == "rejected" and result["reason"] == "not-found" and not result.get("quarantined")
    assert not [w for w in answer.writes if "job_events" in w or "quarantined" in w], answer.writes


# --- colleagues inside one point ---------------------------------------------------------------


def _personal_routes(pair: tuple[str, str]) -> list:
    routes = []
    for route in ROUTES:
        kinds = _kinds(route[1])
        if route in EXEMPT or route in SOLVER_LAUNCHING or not kinds:
            continue
        point_kinds = {kind for _, kind, scope in kinds if scope == POINT}
        if point_kinds and point_kinds <= PERSONAL and point_kinds & PAIRS[pair]:
            routes.append(pytest.param(route, pair, id=f"{pair[0]} on {pair[1]}'s: {route[0]} {route[1]}"))
    return routes


@pytest.mark.parametrize("route, pair", [p for pair in PAIRS for p in _personal_routes(pair)])
def test_a_colleagues_objects_are_answered_like_missing_ones(route, pair, world):
    """Inside one point: a technician reaches none of a colleague's jobs, checklists, uploads,
    transfers, records or account, nor the manager's account or uploads; the manager no upload of a
    technician that is not attached to a step yet. Every answer equals the one for a missing id
    (with a realistic If-Match), and nothing is written."""
    method, path = route
    w = world.world
    ids = w.colleagues[pair]
    kinds = _kinds(path)
    if any(kind not in ids for _, kind, _ in kinds):
        pytest.skip(f"the demo data has no such object of {pair[1]}'s")
    query = QUERIES[route](w) if route in QUERIES else ""
    target, missing = _url(path, ids) + query, _missing_url(path, ids) + query
    body = BODIES[route](w, ids) if method in WRITES else None
    caller = pair[0]
    if_match = world.etag(target, caller) if method in {"PATCH", "DELETE"} else None
    theirs, nobodys = world.send(method, target, caller, body, if_match), world.send(method, missing, caller, body,
                                                                                      if_match)
    assert theirs.code != "validation-error", ("the matrix's request does not validate", theirs.body)
    assert theirs.status in {403, 404}, (caller, pair[1], theirs.status, theirs.body)
    assert theirs.status == nobodys.status, (caller, pair[1], theirs.status, "missing", nobodys.status, theirs.body)
    assert theirs.writes == [], theirs.writes


# --- the customer matrix ----------------------------------------------------------------------
# Every customer route with an object id: the demo customer on another customer's object gets
# exactly the answer for a missing id (404), and nothing is written; a staff token gets 401.

CUSTOMER_KINDS = {"job_id": "job", "complaint_id": "complaint", "unit_id": "unit"}
SIGNATURE_PNG = "iVBORw0KGgoAAAAAAAAAAAAAAAAAAAA="
CUSTOMER_BODIES: dict[str, Callable[[], dict]] = {
    "cancellation": lambda: {"reason": "matrix"},
    "rating": lambda: {"score": 5},
    "reschedule": lambda: {"window_start": (utcnow() + timedelta(days=3)).isoformat(),
                           "window_end": (utcnow() + timedelta(days=3, hours=2)).isoformat()},
    "confirmation": lambda: {"total": "0.00", "signer_name": "matrix", "signature": SIGNATURE_PNG},
    "booking": lambda: {"window_start": (utcnow() + timedelta(days=3)).isoformat(),
                        "window_end": (utcnow() + timedelta(days=3, hours=2)).isoformat()},
    "preferred-window": lambda: {"window_start": (utcnow() + timedelta(days=3)).isoformat(),
                                 "window_end": (utcnow() + timedelta(days=3, hours=3)).isoformat()},
    "answer": lambda: {"accepted": True},
    "satisfaction": lambda: {"score": 4},
}
CUSTOMER_QUERIES: dict[str, Callable[[], str]] = {
    "slots": lambda: "?from={0}&to={0}".format(utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)),
}


def test_every_customer_route_with_an_object_id_is_in_the_customer_matrix():
    assert CUSTOMER_ROUTES, "no customer routes in the document"
    for method, path in CUSTOMER_ROUTES:
        assert all(name in CUSTOMER_KINDS for name in re.findall(r"\{(\w+)\}", path)), path
        if method in WRITES:
            assert path.rsplit("/", 1)[-1] in CUSTOMER_BODIES, f"give {method} {path} a body in CUSTOMER_BODIES"


@pytest.mark.parametrize("route", [pytest.param(r, id=f"{r[0]} {r[1]}") for r in CUSTOMER_ROUTES])
def test_a_customer_never_reaches_another_customers_objects(route, world):
    from dispatch.auth import service as auth_service

    method, path = route
    connection = world.connection
    with sessionmaker(bind=connection, join_transaction_mode="create_savepoint")() as session:
        me = session.scalar(select(Customer).where(Customer.phone == "13900000000"))
        others = {
            "job": session.scalar(select(Job.id).where(Job.customer_id != me.id).order_by(Job.reference).limit(1)),
            "complaint": session.scalar(select(Complaint.id).where(Complaint.customer_id != me.id)
                                        .order_by(Complaint.reference).limit(1)),
            "unit": session.scalar(select(Unit.id).where(Unit.customer_id.is_not(None), Unit.customer_id != me.id)
                                   .order_by(Unit.serial).limit(1)),
        }
        config = world.client.application.extensions["dispatch"].token_config
        token = auth_service.customer_token(config, me.id, me.token_version, 3600)
    world.tokens["customer:demo"] = token
    names = re.findall(r"\{(\w+)\}", path)
    theirs = path
    missing = path
    for name in names:
        theirs = theirs.replace("{" + name + "}", str(others[CUSTOMER_KINDS[name]]))
        missing = missing.replace("{" + name + "}", str(uuid.uuid4()))
    body = CUSTOMER_BODIES[path.rsplit("/", 1)[-1]]() if method in WRITES else None
    query = CUSTOMER_QUERIES.get(path.rsplit("/", 1)[-1], lambda: "")()
    theirs, missing = theirs + query, missing + query
    foreign, nobody = world.send(method, theirs, "customer:demo", body), world.send(method, missing, "customer:demo", body)
    assert foreign.code != "validation-error", foreign.body
    assert foreign.status == nobody.status == 404, (foreign.status, nobody.status, foreign.body)
    assert foreign.body["title"] == nobody.body["title"] and foreign.writes == []
    staff = world.send(method, theirs, "admin", body)
    assert staff.status == 401, staff.body


# Customer routes without an id in the path: another customer's ids in the body answer 404 like a
# missing one and write nothing; the lists show only the caller's own objects; a staff token gets
# 401 on every customer route and a customer token 401 on every staff route.

CUSTOMER_BODY_IDS = [
    ("POST", "/api/v1/customer/jobs", "unit", lambda unit: {"unit_id": unit, "description": "matrix"}),
    ("POST", "/api/v1/customer/complaints", "unit",
     lambda unit: {"category": "after_sales", "summary": "matrix", "unit_id": unit}),
    ("POST", "/api/v1/customer/complaints", "job",
     lambda job: {"category": "after_sales", "summary": "matrix", "job_id": job}),
]


def _customer_world(world) -> tuple[Customer, dict[str, str]]:
    from dispatch.auth import service as auth_service

    with sessionmaker(bind=world.connection, join_transaction_mode="create_savepoint")() as session:
        me = session.scalar(select(Customer).where(Customer.phone == "13900000000"))
        others = {
            "job": str(session.scalar(select(Job.id).where(Job.customer_id != me.id).order_by(Job.reference).limit(1))),
            "unit": str(session.scalar(select(Unit.id).where(Unit.customer_id.is_not(None), Unit.customer_id != me.id)
                                       .order_by(Unit.serial).limit(1))),
        }
        config = world.client.application.extensions["dispatch"].token_config
        world.tokens["customer:demo"] = auth_service.customer_token(config, me.id, me.token_version, 3600)
        session.expunge(me)
    return me, others


@pytest.mark.parametrize(("method", "path", "kind", "body"), [pytest.param(*row, id=f"{row[0]} {row[1]} {row[2]}")
                                                              for row in CUSTOMER_BODY_IDS])
def test_another_customers_ids_in_a_body_answer_like_missing_ones(world, method, path, kind, body):
    _, others = _customer_world(world)
    foreign = world.send(method, path, "customer:demo", body(others[kind]))
    nobody = world.send(method, path, "customer:demo", body(str(uuid.uuid4())))
    assert foreign.status == nobody.status == 404, (foreign.status, foreign.body)
    assert foreign.body["title"] == nobody.body["title"] and foreign.writes == []


def test_a_customers_lists_hold_only_their_own_objects(world):
    me, _ = _customer_world(world)
    with sessionmaker(bind=world.connection, join_transaction_mode="create_savepoint")() as session:
        own_units = {str(i) for i in session.scalars(select(Unit.id).where(Unit.customer_id == me.id))}
        own_jobs = {str(i) for i in session.scalars(select(Job.id).where(Job.customer_id == me.id))}
        own_complaints = {str(i) for i in session.scalars(select(Complaint.id).where(Complaint.customer_id == me.id))}
    for path, own in (("/api/v1/customer/units/?page_size=100", own_units),
                      ("/api/v1/customer/jobs?page_size=100", own_jobs),
                      ("/api/v1/customer/complaints?page_size=100", own_complaints)):
        answer = world.send("GET", path, "customer:demo")
        assert answer.status == 200, (path, answer.body)
        assert {row["id"] for row in answer.body} <= own, path
    assert own_units, "the demo customer owns a unit"
    assert world.send("GET", "/api/v1/customer/me", "customer:demo").body["id"] == str(me.id)


TYPED_PARAMS = {"number": "1", "category": "after_sales", "job_type": "repair"}


def test_staff_and_customer_tokens_never_cross(world):
    """Every customer route refuses a staff token and every staff route a customer token (401)."""
    _customer_world(world)
    methods = {"get", "post", "put", "patch", "delete"}
    every = sorted((m.upper(), path) for path, item in _document()["paths"].items() for m in item if m in methods)
    customer = [r for r in every if r[1].startswith(CUSTOMER_PREFIX)
                and r[1] not in ("/api/v1/customer/otp", "/api/v1/customer/session")]
    # not behind a staff token: the public pages, the rating link, sign-in and refresh (their own
    # credentials in the body; a machine client's token request too), the SMS provider's signed delivery receipts, the probes
    no_token = (CUSTOMER_PREFIX, PUBLIC_PREFIX, "/api/v1/feedback/", "/api/v1/openapi", "/api/v1/auth/token",
                "/api/v1/auth/refresh", "/api/v1/oauth/token", "/api/v1/notifications/receipts", "/healthz", "/readyz")
    staff = [r for r in every if not r[1].startswith(no_token)]
    assert len(customer) >= 15 and len(staff) > 100
    crossed = [(r, "admin") for r in customer] + [(r, "customer:demo") for r in staff]
    wrong = []
    for (method, path), caller in crossed:
        url = re.sub(r"\{(\w+)\}", lambda m: TYPED_PARAMS.get(m[1], str(uuid.uuid4())), path)
        answer = world.send(method, url, caller, {} if method in WRITES else None)
        if answer.status != 401 or answer.writes:
            wrong.append((method, path, caller, answer.status, answer.writes))
    assert wrong == [], "\n".join(map(str, wrong))
