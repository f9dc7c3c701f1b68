"""``Idempotency-Key`` on every create a call centre, an app or an integration may retry: the same
key and body replay the first response (one thing created), another body under the key is 422,
keys are per principal, a failed request keeps nothing, concurrent duplicates create once, and
the header is in the OpenAPI document of each of those operations."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from dispatch import clock, migrate
from dispatch.app import create_app
from dispatch.care.models import Complaint
from dispatch.db import make_engine, make_session_factory
from dispatch.jobs.models import Job
from dispatch.network.models import Customer
from dispatch.routing.models import RoutePlan
from dispatch.stock.models import StockMovement, StockTransfer
from seeds import SeedContext, network
from tests.api.jobs_builders import MONDAY, repair_body, unactivated_unit
from tests.api.test_stock_movements import counted
from tests.conftest import fresh_database_url
from tests.helpers import Api, assert_problem
from tests.plan_builders import RecordingTaskQueue

KEY = "Idempotency-Key"


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


def send(api, path, body, key, as_="admin"):
    return api.post(path, as_=as_, json=body, headers={KEY: key})


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_posting_a_job_twice_with_one_key_makes_one_job_and_replays_the_first_answer(api, session):
    body = repair_body(session)
    before = count(session, Job)
    first = send(api, "/api/v1/jobs/", body, "call-0001")
    again = send(api, "/api/v1/jobs/", body, "call-0001")
    assert first.status_code == again.status_code == 201, (first.json, again.json)
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert count(session, Job) == before + 1

    other = send(api, "/api/v1/jobs/", body | {"description": "another fault"}, "call-0001")
    problem = assert_problem(other, 422, code="idempotency-key-reused", field=KEY)
    assert KEY in problem["detail"]
    elsewhere = send(api, "/api/v1/customers/", {"name": "Same Key", "phone": "13700009999"}, "call-0001")
    assert_problem(elsewhere, 422, code="idempotency-key-reused")  # the key names one request, not a route
    assert count(session, Job) == before + 1

    without_key = api.post("/api/v1/jobs/", as_="admin", json=body)
    assert without_key.status_code == 201 and without_key.json["id"] != first.json["id"]


def test_keys_belong_to_their_principal(api, session):
    body = repair_body(session)
    by_admin = send(api, "/api/v1/jobs/", body, "shared-key")
    by_manager = send(api, "/api/v1/jobs/", body, "shared-key", as_="manager.hz01")
    assert by_admin.status_code == by_manager.status_code == 201
    assert by_admin.json["id"] != by_manager.json["id"]
    assert "Idempotent-Replayed" not in by_manager.headers


def test_a_request_that_failed_keeps_nothing_and_its_retry_runs(api, session):
    body = repair_body(session)
    before = count(session, Job)
    assert_problem(send(api, "/api/v1/jobs/", body | {"unit_serial": "NO-SUCH-SERIAL"}, "retry-me"), 422)
    assert_problem(send(api, "/api/v1/jobs/", body | {"window_end": "not a time"}, "retry-me"), 422,
                   field="window_end")
    fixed = send(api, "/api/v1/jobs/", body, "retry-me")
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    assert count(session, Job) == before + 1
    assert_problem(send(api, "/api/v1/jobs/", body, "x" * 256), 422, field=KEY)


def _customer(session) -> str:
    return str(session.scalar(select(Job.customer_id).where(Job.customer_id.is_not(None),
                                                            Job.reference.like("DEMO-HZ01-%"))
                              .order_by(Job.reference).limit(1)))


CREATES = {
    "customer": ("/api/v1/customers/", lambda s: {"name": "Retry Customer", "phone": "13700001234"},
                 lambda s: count(s, Customer, Customer.phone == "13700001234")),
    "warranty activation": (lambda s: f"/api/v1/units/{unactivated_unit(s).serial}/activation",
                            lambda s: {"customer_id": _customer(s), "purchased_on": str(MONDAY.date() - timedelta(days=9)),
                                       "sales_channel": "retail"}, None),
    "complaint": ("/api/v1/complaints/", lambda s: {"category": "after_sales", "customer_id": _customer(s),
                                                    "summary": "technician was late"},
                  lambda s: count(s, Complaint, Complaint.summary == "technician was late")),
    "stock delivery": ("/api/v1/stock/deliveries", lambda s: {"lines": [{"part_sku": "FLT-PP-S1", "quantity": 7}],
                                                             "reference": "DN-RETRY-1"},
                       lambda s: count(s, StockMovement, StockMovement.reference == "DN-RETRY-1")),
    "stock transfer": ("/api/v1/stock/transfers", lambda s: {"from_location": "HQ", "to_location": "HZ01",
                                                            "lines": [{"part_sku": "FLT-PP-S1", "quantity": 1}],
                                                            "note": "retry transfer"},
                       lambda s: count(s, StockTransfer, StockTransfer.note == "retry transfer")),
    "stock adjustment": ("/api/v1/stock/adjustments", lambda s: {"location": "HZ01", "part_sku": "FLT-PP-S1",
                                                                "delta": 2, "reason": "retry count"},
                         lambda s: count(s, StockMovement, StockMovement.reason == "retry count")),
    "defective return": ("/api/v1/stock/defective-returns", lambda s: {"location": "HZ01", "part_sku": "FLT-PP-S1",
                                                                      "quantity": 1, "reason": "retry defect"},
                         lambda s: count(s, StockMovement, StockMovement.reason == "retry defect")),
}


@pytest.mark.parametrize("what", list(CREATES))
def test_each_retryable_create_replays_its_first_answer(what, api, session):
    path, body, created = CREATES[what]
    path = path(session) if callable(path) else path
    body = body(session)
    counted(api, "HQ", "FLT-PP-S1", 50)
    counted(api, "HZ01", "FLT-PP-S1", 5)
    first = send(api, path, body, f"retry-{what}")
    after_first = created(session) if created is not None else None
    again = send(api, path, body, f"retry-{what}")
    assert first.status_code in (200, 201), first.json
    assert (again.status_code, again.json) == (first.status_code, first.json)
    assert again.headers.get("Location") == first.headers.get("Location")
    assert again.headers["Idempotent-Replayed"] == "true"
    if created is not None:
        assert created(session) == after_first >= 1
    assert_problem(send(api, path, body | {"reason": "x", "summary": "xyz"}, f"retry-{what}"), 422,
                   code="idempotency-key-reused")


def test_a_plan_request_retried_with_its_key_queues_one_plan(settings, session_factory, session):
    queue = RecordingTaskQueue()
    api = Api(create_app(settings, session_factory=session_factory, task_queue=queue).test_client())
    point = api.get("/api/v1/users/me", as_="manager.hz01").json["service_point_id"]
    url = f"/api/v1/service-points/{point}/plans"
    body = {"date": (MONDAY.date() + timedelta(days=1)).isoformat(), "time_limit_s": 1}
    first = send(api, url, body, "plan-tuesday", as_="manager.hz01")
    again = send(api, url, body, "plan-tuesday", as_="manager.hz01")
    assert first.status_code == again.status_code == 202, first.json
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert len(queue.enqueued) == 1
    assert count(session, RoutePlan, RoutePlan.service_point_id == uuid.UUID(point)) == 1


IDEMPOTENT_OPERATIONS = [
    "/api/v1/jobs/", "/api/v1/customers/", "/api/v1/units/{serial}/activation", "/api/v1/complaints/",
    "/api/v1/stock/deliveries", "/api/v1/stock/transfers", "/api/v1/stock/adjustments",
    "/api/v1/stock/defective-returns", "/api/v1/service-points/{point_id}/plans",
]


def test_the_openapi_document_names_the_header_on_each_retryable_create(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in IDEMPOTENT_OPERATIONS:
        operation = paths[path]["post"]
        [header] = [p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == KEY]
        assert header["required"] is False and header["schema"]["maxLength"] == 255, path
        assert "application/problem+json" in operation["responses"]["422"]["content"], path
        assert "409" in operation["responses"], path
    assert not any(p["name"] == KEY for p in paths["/api/v1/jobs/{job_id}/transitions"]["post"].get("parameters", []))


@pytest.mark.postgres
def test_concurrent_duplicates_create_once(tmp_path, base_settings):
    """Real concurrent transactions on their own committed database: the unique key lets one
    request create, the others replay it or are told it is in flight (409), never a second job."""
    url = fresh_database_url("idempotency_race", tmp_path)
    migrate.upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        network.seed(SeedContext(session=session, settings=base_settings, today=MONDAY.date(),
                                 rng=random.Random("network")))
        session.commit()
    app = create_app(base_settings.with_(database_url=url))
    body = {"type": "install", "product_sku": "WP-RO500", "region_code": "ZJ-HZ-XH",
            "customer": {"name": "Race Customer", "phone": "13800004321", "location": {"lat": 30.25, "lon": 120.14}}}
    try:
        for attempt in range(3):
            clients = [Api(app.test_client()) for _ in range(4)]
            for api in clients:
                api.token("admin")
            answers: list = []
            start = threading.Barrier(len(clients))

            def post(api):
                start.wait()
                response = api.post("/api/v1/jobs/", as_="admin", json=body, headers={KEY: f"race-{attempt}"})
                answers.append((response.status_code, response.json))

            threads = [threading.Thread(target=post, args=(api,)) for api in clients]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            statuses = sorted(status for status, _ in answers)
            assert len(answers) == 4 and set(statuses) <= {201, 409}, answers
            ids = {payload["id"] for status, payload in answers if status == 201}
            assert len(ids) == 1, answers
            with make_session_factory(engine)() as session:
                assert session.scalar(select(func.count()).select_from(Job)) == attempt + 1
            replay = clients[0].post("/api/v1/jobs/", as_="admin", json=body, headers={KEY: f"race-{attempt}"})
            assert (replay.status_code, replay.json["id"]) == (201, ids.pop())
    finally:
        app.extensions["dispatch"].engine.dispose()
        engine.dispose()
