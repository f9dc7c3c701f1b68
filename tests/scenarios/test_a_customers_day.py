"""A customer's day, through HTTP only, in Chinese: the customer scans the QR code of a new
purifier (genuine, not activated) and reads the published price list, signs in with the code
texted to them, activates the warranty card, reports a leak with a preferred window; the point
books a technician; the customer follows the visit, checks the technician's badge at the door,
sees them on the way and on site; and files a complaint from the account. Another customer's
visit stays out of reach all day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.network.models import ServicePoint
from tests.customer_support import CustomerClient, demo_units, qr_sig
from tests.dates import SUITE_TODAY, local
from tests.scenarios.steps import API, at, book, free_hour, move, next_working_day, ok, team, username_of
from tests.plan_builders import RecordingTaskQueue

MANAGER = "manager.hz01"


def test_a_customer_activates_reports_a_fault_and_follows_the_visit(api, session, walk, settings, session_factory,
                                                                    uow_factory):
    from dispatch.app import create_app

    cust = CustomerClient(create_app(settings, session_factory=session_factory,
                                     task_queue=RecordingTaskQueue()).test_client(), uow_factory, settings)
    _, new = demo_units(session)
    hz = session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ01"))
    here = {"lat": hz.lat, "lon": hz.lon}

    # Evening: the customer scans the QR code on the box and reads the price list, no account.
    scanned = ok(cust.get(f"{API}/public/units/{new.serial}?sig={qr_sig(settings, new.serial)}"
                          f"&lat={here['lat']}&lon={here['lon']}"))
    assert scanned["genuine"] and not scanned["activated"] and scanned["authorised_point"]["code"] == "HZ01"
    prices = ok(cust.get(f"{API}/public/products/{scanned['sku']}/price-list"))
    assert prices["parts"] and prices["labour"]

    # Sign in with the texted code (Chinese), activate the card, report a leak.
    token = cust.sign_in()
    unit = ok(cust.post(f"{API}/customer/units/activation", token, json={
        "serial": new.serial, "sig": qr_sig(settings, new.serial), "purchased_on": str(SUITE_TODAY - timedelta(days=2)),
        "address": "8 Lakeside Road", "location": here}), 201)
    assert unit["warranty_status"] == "in_warranty" and unit["flags"] == []
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    visit = ok(cust.post(f"{API}/customer/jobs", token, json={
        "unit_id": unit["id"], "description": "净水器漏水", "location": here,
        "window_start": local(day, 9).isoformat(), "window_end": local(day, 12).isoformat()}), 201)
    assert visit["status"] == "dispatched" and visit["service_point"]["code"] == "HZ01"

    # The point books a technician; the customer sees who is coming and when.
    technician = next(t for t in team(api, MANAGER) if t["active"])
    start = free_hour(api, MANAGER, technician["id"], day)
    book(api, MANAGER, visit["id"], technician["id"], start)
    tracked = ok(cust.get(f"{API}/customer/jobs/{visit['id']}", token))
    assert tracked["status"] == "scheduled" and tracked["technician"]["name"] == technician["name"]
    assert at(tracked["eta_start"]) <= start <= at(tracked["eta_end"])

    # Visit day: on the way, then the badge is checked at the door.
    walk.to(start - timedelta(minutes=40))
    tech = username_of(api, technician["id"], MANAGER)
    assert move(api, visit["id"], "en_route", tech).status_code == 200
    assert ok(cust.get(f"{API}/customer/jobs/{visit['id']}", token))["on_the_way"] is True
    walk.to(start)
    badge = tracked["technician"]["badge"]
    check = ok(cust.get(f"{API}/public/technicians/verify?badge={badge}"))
    assert check["authorised"] and check["service_point"]["code"] == "HZ01"
    assert move(api, visit["id"], "on_site", tech).status_code == 200
    assert ok(cust.get(f"{API}/customer/jobs/{visit['id']}", token))["status"] == "on_site"

    # The customer complains about the wait, in their account; the point sees it.
    complaint = ok(cust.post(f"{API}/customer/complaints", token, json={
        "category": "after_sales", "summary": "等待时间太长", "job_id": visit["id"]}), 201)
    assert ok(api.get(f"{API}/complaints/{complaint['id']}", as_=MANAGER))["job_id"] == visit["id"]

    # All day, another customer's visit stays out of reach, answered like a missing one.
    theirs = job_list_other(api)
    assert cust.get(f"{API}/customer/jobs/{theirs}", token).status_code == 404


def job_list_other(api) -> str:
    return ok(api.get(f"{API}/jobs/?page_size=1&status=dispatched", as_=MANAGER))[0]["id"]
