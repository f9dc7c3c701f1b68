"""An integrator's day, through HTTP: HQ creates a machine client for the ERP; the ERP gets a token
with its client credentials, loads last month's sales from CSV (a dry run first, which names the
bad line; then the real run in the background, polled to the end), and registers its own webhook receiver (a real HTTP server on
loopback), and cannot call what its scopes do not name; a repair is taken in, booked, worked and completed; the delivery task sends each event
signed as Standard Webhooks do, the job's events in the order they happened; a receiver outage is
ridden out with retries, and HQ reads the delivery log."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from dispatch import runtime as task_runtime
from dispatch.network.models import Product
from tests.dates import SUITE_TODAY
from tests.scenarios.steps import (
    ADMIN,
    API,
    book,
    caller_unit,
    fill_repair_checklist,
    free_hour,
    next_working_day,
    ok,
    record_fault_cause,
    repair_call,
    take_in,
    team,
    transition,
)
from workers import webhook_tasks

MANAGER = "manager.hz01"
JOB_ORDER = ["job.created", "job.dispatched", "job.scheduled", "checklist.completed", "job.completed"]


def run_delivery_task(settings, uow_factory) -> dict:
    """What the worker does every 30 seconds."""
    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        return webhook_tasks.deliver_webhooks()


def erp_token(api, issued: dict) -> dict:
    """The ERP's client-credentials grant (its headers for the calls that follow)."""
    answer = ok(api.client.post(f"{API}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": issued["client_id"],
        "client_secret": issued["client_secret"]}))
    return {"Authorization": f"Bearer {answer['access_token']}"}


def _csv(api, erp: dict, text: str, dry_run: bool):
    return api.client.post(f"{API}/imports/units{'?dry_run=true' if dry_run else ''}", headers=erp,
                           content_type="multipart/form-data", data={"file": (io.BytesIO(text.encode()), "sales.csv")})


def load_last_months_sales(api, session, erp: dict) -> None:
    sku = session.scalar(select(Product.sku).order_by(Product.sku))
    year, sold = SUITE_TODAY.year - 1, SUITE_TODAY - timedelta(days=25)
    header = "serial,product_sku,manufactured_on,customer_phone,customer_name,purchased_on,sales_channel"
    rows = [f"ERP{year}{n:07d},{sku},{year}-05-0{n},1370000000{n},Buyer {n},{sold},online" for n in range(1, 4)]
    bad = rows[:2] + [rows[2].replace(sku, "WP-NOPE")]
    problem = _csv(api, erp, "\n".join([header, *bad]), dry_run=True)
    assert problem.status_code == 422 and problem.json["problems"][0]["line"] == 4
    assert ok(_csv(api, erp, "\n".join([header, *rows]), dry_run=True)) == {"rows": 3, "valid": 3}
    started = _csv(api, erp, "\n".join([header, *rows]), dry_run=False)
    assert started.status_code == 202
    run = ok(api.client.get(started.headers["Location"], headers=erp))
    assert (run["status"], run["applied"], run["failed"]) == ("succeeded", 3, 0)
    unit = ok(api.client.get(f"{API}/units/ERP{year}0000002", headers=erp))
    assert unit["purchased_on"] == sold.isoformat()


def test_an_integrators_day(api, session, walk, receiver, settings, uow_factory):
    issued = ok(api.post(f"{API}/clients", as_=ADMIN, json={
        "name": "ERP", "scopes": ["jobs:read", "units:read", "units:import", "webhooks:manage"]}), 201)
    erp = erp_token(api, issued)
    load_last_months_sales(api, session, erp)
    types = ok(api.client.get(f"{API}/webhooks/event-types", headers=erp))
    endpoint = ok(api.client.post(f"{API}/webhooks/endpoints", headers=erp, json={
        "url": receiver.url, "description": "ERP", "event_types": [t["type"] for t in types]}), 201)
    receiver.secret = endpoint["secret"]
    assert api.client.post(f"{API}/jobs/", headers=erp, json={}).status_code == 403  # no jobs:write

    day = next_working_day(api, MANAGER, SUITE_TODAY)
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    taken = take_in(api, repair_call(unit, day, (9, 18), "purifier leaks")).json
    assert run_delivery_task(settings, uow_factory)["succeeded"] >= 2

    receiver.fail_next = 2  # the ERP is down for its morning deploy
    worker = team(api, MANAGER)[0]
    start = free_hour(api, MANAGER, worker["id"], day, earliest=10)
    book(api, MANAGER, taken["id"], worker["id"], start)
    assert run_delivery_task(settings, uow_factory)["failed"] == 1  # the first event fails; the next waits
    walk.to(start - timedelta(minutes=15))
    tech = worker["username"]
    transition(api, taken["id"], "en_route", tech, walk.now)
    walk.to(start)
    transition(api, taken["id"], "on_site", tech, walk.now, location=taken["location"])
    walk.to(start + timedelta(minutes=50))
    fill_repair_checklist(api, taken["id"], tech, start, taken["location"])
    record_fault_cause(api, taken["id"], "WP-VLV-STUCK", tech)
    walk.to(start + timedelta(minutes=55))
    transition(api, taken["id"], "completed", tech, walk.now)
    for _ in range(3):  # the worker's next runs, later in the day
        run_delivery_task(settings, uow_factory)
        walk.by(hours=2)

    mine = [item for item in receiver.received if item.json["data"].get("job_id") == taken["id"]]
    assert all(item.signature_ok for item in receiver.received)
    delivered: list[str] = []
    for item in mine:  # each event once, in the order it happened, whatever the retries
        if not delivered or delivered[-1] != item.headers["webhook-id"]:
            delivered.append(item.headers["webhook-id"])
    assert len(delivered) == len(set(delivered))
    kinds = [next(i.type for i in mine if i.headers["webhook-id"] == d) for d in delivered]
    assert [kind for kind in kinds if kind in JOB_ORDER] == JOB_ORDER
    statuses = [next(i.json["data"]["status"] for i in mine if i.headers["webhook-id"] == d)
                for d, k in zip(delivered, kinds) if k == "job.status_changed"]
    assert statuses == ["dispatched", "scheduled", "en_route", "on_site", "completed"]

    erp = erp_token(api, issued)  # the morning's token has expired
    assert ok(api.client.get(f"{API}/jobs/{taken['id']}", headers=erp))["status"] == "completed"
    log = ok(api.client.get(f"{API}/webhooks/endpoints/{endpoint['id']}/deliveries?status=pending", headers=erp))
    assert log == []
    retried = [d for d in ok(api.get(f"{API}/webhooks/endpoints/{endpoint['id']}/deliveries?page_size=100",
                                     as_=ADMIN)) if d["attempts"] > 1]
    assert retried and all(d["status"] == "succeeded" for d in retried)
