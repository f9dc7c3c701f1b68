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


def test_a_customer_picks_a_slot_moves_it_once_and_then_cancels(api, session, walk, settings, session_factory,
                                                                uow_factory):
    """The point allows one change per visit; the customer picks a slot while reporting the fault, moves it once
    (the technician's route follows), is told in Chinese that a second move needs a call, and
    cancels in time. Another customer cannot read the first's slots."""
    from dispatch.app import create_app

    cust = CustomerClient(create_app(settings, session_factory=session_factory,
                                     task_queue=RecordingTaskQueue()).test_client(), uow_factory, settings)
    owned, _ = demo_units(session)
    hz = session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ01"))
    here = {"lat": hz.lat + 0.01, "lon": hz.lon}
    rules = ok(api.put(f"{API}/service-points/{hz.id}/customer-rules", as_=MANAGER,
                       json={"max_reschedules": 1, "reschedule_notice_hours": 12, "cancel_notice_hours": 6}))
    assert rules["max_reschedules"] == 1

    token = cust.sign_in()
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    # While reporting the fault the customer sees the windows the point can offer, and picks one.
    choice = ok(cust.get(f"{API}/customer/units/{owned.id}/slots?from={day}&to={day}"
                         f"&lat={here['lat']}&lon={here['lon']}", token))["slots"]
    booked = ok(cust.post(f"{API}/customer/jobs", token, json={
        "unit_id": str(owned.id), "description": "净水器出水很慢", "location": here, "slot": choice[0]}), 201)
    assert booked["status"] == "scheduled" and booked["technician"]["name"]
    assert at(booked["window_start"]) == at(choice[0]["window_start"])
    visit = booked
    offer = ok(cust.get(f"{API}/customer/jobs/{visit['id']}/slots?from={day}&to={day}", token))["slots"]
    assert len(offer) >= 2

    # A second thought: the customer moves it to another offered window, once.
    moved = ok(cust.post(f"{API}/customer/jobs/{visit['id']}/booking", token, json=offer[-1]), 201)
    assert moved["window_start"] == offer[-1]["window_start"] and moved["reschedules_left"] == 0
    staff = ok(api.get(f"{API}/jobs/{visit['id']}", as_=MANAGER))
    tech = username_of(api, staff["technician_id"], MANAGER)
    stops = ok(api.get(f"{API}/technicians/me/route?date={day}", as_=tech))["stops"]
    [stop] = [s for s in stops if s["job_id"] == visit["id"]]
    assert at(offer[-1]["window_start"]) <= at(stop["start_at"]) <= at(offer[-1]["window_end"])
    again = cust.post(f"{API}/customer/jobs/{visit['id']}/booking", token, json=offer[0])
    assert again.status_code == 422 and "请致电服务网点" in again.json["detail"]

    # Another customer cannot even read the slots of this visit.
    other_phone = "13900009999"
    assert cust.get(f"{API}/customer/jobs/{visit['id']}/slots?from={day}&to={day}",
                    cust.sign_in(other_phone)).status_code == 404

    # The customer cancels in time; the technician's day no longer holds the visit.
    cancelled = ok(cust.post(f"{API}/customer/jobs/{visit['id']}/cancellation", token, json={"reason": "修好了"}))
    assert cancelled["status"] == "cancelled"
    stops = ok(api.get(f"{API}/technicians/me/route?date={day}", as_=tech))["stops"]
    assert visit["id"] not in {s["job_id"] for s in stops}
