"""An integrator's day, through HTTP: HQ creates a machine client for the ERP; the ERP gets a token
with its client credentials, loads last month's sales from CSV (a dry run first, which names the bad
line; then the real run in the background, polled to the end), and registers its own webhook
receiver (a real HTTP server on loopback), and cannot call what its scopes do not name; a repair is
taken in, booked, worked and completed; the delivery task sends each event signed as Standard
Webhooks do, the job's events in the order they happened; a receiver outage is ridden out with
retries, and HQ reads the delivery log. In the evening the ERP loads reference data, customers and a
price list (CSV) and new technicians (an XLSX sheet), and HZ01's manager sees them: the technicians
in the team, the customers in full (their point's), the new price. A month on, HQ prunes the outbox
at once and the day's deliveries leave the log."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
from sqlalchemy import select

from dispatch import runtime as task_runtime
from dispatch.network.models import Product
from dispatch.stock.models import Part
from tests.dates import SUITE_TODAY
from tests.scenarios.steps import (
    ADMIN,
    API,
    book,
    caller_unit,
    fill_repair_checklist,
    list_prices,
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


def _csv(api, erp: dict, text: str | bytes, dry_run: bool, kind: str = "units", filename: str = "sales.csv"):
    data = text.encode() if isinstance(text, str) else text
    return api.client.post(f"{API}/imports/{kind}{'?dry_run=true' if dry_run else ''}", headers=erp,
                           content_type="multipart/form-data", data={"file": (io.BytesIO(data), filename)})


def _imported(api, erp: dict, kind: str, data: str | bytes, filename: str) -> dict:
    """A real run of an import, polled through the API to its end."""
    started = _csv(api, erp, data, False, kind, filename)
    assert started.status_code == 202, started.json
    run = ok(api.client.get(started.headers["Location"], headers=erp))
    assert run["status"] == "succeeded" and run["failed"] == 0, run
    return run


def load_reference_data(api, session, erp: dict) -> None:
    customers = ("phone,name,address,lat,lon,service_point_code\n"
                 "13766660001,Qian Hua,8 West Lake Road,30.26,120.15,HZ01\n"
                 "13766660002,Sun Li,9 West Lake Road,,,HZ01\n")
    problem = _csv(api, erp, customers + "ask reception,Too Short,,,,HZ01\n", True, "customers", "crm.csv")
    assert problem.status_code == 422 and problem.json["problems"][0] == {
        "line": 4, "field": "phone", "reason": "not a phone number (digits, optional leading +)"}
    _imported(api, erp, "customers", customers, "crm.csv")
    sku = session.scalar(select(Part.sku).where(Part.active.is_(True)).order_by(Part.sku))
    product = session.scalar(select(Product.sku).order_by(Product.sku))
    prices = f"sku,name,list_price,compatible_products\n{sku},,88.00,\nERP-FLT-9,ERP filter,36.50,{product}\n"
    _imported(api, erp, "parts", prices, "prices.csv")
    book = openpyxl.Workbook()
    book.active.append(["username", "name", "service_point_code", "hired_on", "skills", "weekly_shifts"])
    book.active.append(["erp.hz01.new", "Wu Tao", "HZ01", SUITE_TODAY - timedelta(days=3),
                        "water_purifier:install;water_purifier:repair", "0 08:30-17:30;2 08:30-17:30"])
    sheet = io.BytesIO()
    book.save(sheet)
    hired = _imported(api, erp, "technicians", sheet.getvalue(), "hr.xlsx")
    assert (hired["file_format"], hired["applied"]) == ("xlsx", 1)

    mine = {t["name"]: t for t in team(api, MANAGER)}
    assert {(s["category"], s["job_type"]) for s in mine["Wu Tao"]["skills"]} == {
        ("water_purifier", "install"), ("water_purifier", "repair")}
    found = ok(api.get(f"{API}/customers/?phone=13766660001", as_=MANAGER))
    assert [(c["name"], c["masked"]) for c in found] == [("Qian Hua", False)]
    assert list_prices(api, [sku, "ERP-FLT-9"], as_=MANAGER) == {sku: "88.00", "ERP-FLT-9": "36.50"}
    again = _imported(api, erp, "technicians", sheet.getvalue(), "hr.xlsx")  # the same file tomorrow
    assert again["applied"] == 1 and {t["name"]: t for t in team(api, MANAGER)}["Wu Tao"] == mine["Wu Tao"]

    # The file carries no password: the manager gives the new technician a first one, who signs in
    # and changes it.
    assert api.post(f"{API}/users/{mine['Wu Tao']['user_id']}/password", as_=MANAGER,
                    json={"new_password": "first-day-2468"}).status_code == 204
    first = ok(api.post(f"{API}/auth/token", json={"username": "erp.hz01.new", "password": "first-day-2468"}))
    bearer = {"Authorization": f"Bearer {first['access_token']}"}
    assert api.post(f"{API}/users/me/password", headers=bearer, json={
        "current_password": "first-day-2468", "new_password": "wu-tao-own-1357"}).status_code == 204
    ok(api.post(f"{API}/auth/token", json={"username": "erp.hz01.new", "password": "wu-tao-own-1357"}))


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
        "name": "ERP", "scopes": ["jobs:read", "units:read", "units:import", "webhooks:manage", "customers:import",
                                  "parts:import", "technicians:import"]}), 201)
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
    load_reference_data(api, session, erp)

    # A month on, HQ prunes the outbox now rather than at night: the day's deliveries leave the log.
    walk.by(days=31)
    ok(api.post(f"{API}/webhooks/pruning", as_=ADMIN), 202)
    kept = ok(api.get(f"{API}/webhooks/endpoints/{endpoint['id']}/deliveries?page_size=100", as_=ADMIN))
    assert not [d for d in kept if d["payload"]["data"].get("job_id") == taken["id"]]
