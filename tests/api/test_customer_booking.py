"""The customer picks a time for their own visit (offered slots, booking, a preferred window) and
cancels or moves it within the point's rules, which the point's manager sets; the technician's
route and sync feed follow. Another customer's job answers 404, the last window is sold once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from dispatch.jobs.models import Job
from dispatch.network.models import Customer, JobType, ServicePoint, Technician
from tests.api.jobs_builders import own_hooks_only  # noqa: F401 - fixture (of live)
from tests.api.test_jobs_concurrency import live  # noqa: F401 - fixture
from tests.api.test_slots_booking import only_one_technician_on, race_for_the_window
from tests.customer_support import (  # noqa: F401  (fixtures)
    cust,
    customer_app,
    demo_units,
    other_customer_unit,
)
from tests.dates import SUITE_TODAY, local, next_weekday
from tests.helpers import assert_problem

DAY = next_weekday(1, SUITE_TODAY + timedelta(days=1))  # a Tuesday at least two days ahead
EN = {"Accept-Language": "en"}


def hz01(session) -> ServicePoint:
    return session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ01"))


def report(cust, session, token, unit) -> dict:
    point = hz01(session)
    answer = cust.post("/api/v1/customer/jobs", token, json={
        "unit_id": str(unit.id), "description": "不出水 / no water",
        "location": {"lat": point.lat + 0.01, "lon": point.lon + 0.01}, "address": "1 West Lake Road"})
    assert answer.status_code == 201, answer.json
    return answer.json


def offered(cust, token, visit, day=DAY) -> list[dict]:
    answer = cust.get(f"/api/v1/customer/jobs/{visit['id']}/slots?from={day}&to={day}", token)
    assert answer.status_code == 200, answer.json
    return answer.json["slots"]


def book(cust, token, visit, slot, headers=None):
    return cust.post(f"/api/v1/customer/jobs/{visit['id']}/booking", token, headers=headers,
                     json={"window_start": slot["window_start"], "window_end": slot["window_end"]})


def rules(api, session, as_="manager.hz01", **body):
    return api.put(f"/api/v1/service-points/{hz01(session).id}/customer-rules", as_=as_, json=body)


def other_sign_in(cust, session) -> tuple[str, object]:
    unit = other_customer_unit(session)
    phone = session.get(Customer, unit.customer_id).phone
    return cust.sign_in(phone), unit


def technician_name(session, job_id) -> str:
    job = session.get(Job, uuid.UUID(job_id))
    session.refresh(job)
    return session.get(Technician, job.technician_id).user.username


class TestPickASlot:
    def test_the_customer_books_an_offered_slot_and_the_technician_sees_it(self, cust, api, session):
        token = cust.sign_in()
        visit = report(cust, session, token, demo_units(session)[0])
        found = offered(cust, token, visit)
        assert found and set(found[0]) == {"window_start", "window_end"}  # no technician ids or driving
        staff = api.get(f"/api/v1/jobs/{visit['id']}/slots?from={DAY}&to={DAY}", as_="manager.hz01").json
        assert [s["window_start"] for s in found] == [s["window_start"] for s in staff["slots"]]  # one service
        answer = book(cust, token, visit, found[0])
        assert answer.status_code == 201, answer.json
        booked = answer.json
        assert booked["status"] == "scheduled" and booked["window_start"] == found[0]["window_start"]
        assert booked["technician"]["name"] and booked["eta_start"] and booked["reschedules_left"] == 2
        tech = technician_name(session, visit["id"])
        route = api.get(f"/api/v1/technicians/me/route?date={DAY}", as_=tech).json
        assert visit["id"] in {s["job_id"] for s in route["stops"]}
        feed = api.get("/api/v1/sync/changes?limit=500", as_=tech).json
        assert visit["id"] in {d["id"] for d in feed["changes"]["jobs"]["upserted"]}

    def test_the_last_window_is_sold_once_between_two_customers(self, cust, api, session):
        token = cust.sign_in()
        mine = report(cust, session, token, demo_units(session)[0])
        other_token, other_unit = other_sign_in(cust, session)
        theirs = report(cust, session, other_token, other_unit)
        keep = technician_name_for(api, session, mine)
        only_one_technician_on(api, session, DAY, keep=keep)
        assert api.put(f"/api/v1/service-points/{hz01(session).id}/slot-length", as_="manager.hz01",
                       json={"minutes": 30}).status_code == 200
        windows = [s for s in offered(cust, token, mine) if s in offered(cust, other_token, theirs)]
        assert windows, "both customers are offered a common window"
        ten = windows[0]
        assert book(cust, token, mine, ten).status_code == 201
        assert ten not in offered(cust, other_token, theirs)
        body = assert_problem(book(cust, other_token, theirs, ten), 409, code="slot-taken")
        assert body["title"] == "该时段已被约满" and "请重新查询可预约时段" in body["detail"]
        english = assert_problem(book(cust, other_token, theirs, ten, headers=EN), 409, code="slot-taken")
        assert english["detail"].startswith("no technician can serve job")
        session.expire_all()
        assert session.get(Job, uuid.UUID(theirs["id"])).status.value == "dispatched"

    def test_a_preferred_window_instead_of_a_slot(self, cust, session):
        token = cust.sign_in()
        visit = report(cust, session, token, demo_units(session)[0])
        window = {"window_start": local(DAY, 14).isoformat(), "window_end": local(DAY, 17).isoformat()}
        answer = cust.call("PUT", f"/api/v1/customer/jobs/{visit['id']}/preferred-window", token, json=window)
        assert answer.status_code == 200, answer.json
        assert answer.json["window_start"] == window["window_start"] and answer.json["reschedules_left"] == 2
        past = {"window_start": local(SUITE_TODAY, 8).isoformat(), "window_end": local(SUITE_TODAY, 9).isoformat()}
        assert_problem(cust.call("PUT", f"/api/v1/customer/jobs/{visit['id']}/preferred-window", token, json=past),
                       422, field="window_start")
        assert book(cust, token, visit, offered(cust, token, visit)[0]).status_code == 201
        booked = cust.call("PUT", f"/api/v1/customer/jobs/{visit['id']}/preferred-window", token, json=window)
        assert "请选择其他时段" in assert_problem(booked, 409)["detail"]

    def test_a_slot_picked_while_reporting_the_fault_is_booked_at_once(self, cust, api, session):
        token = cust.sign_in()
        unit = demo_units(session)[0]
        point = hz01(session)
        here = {"lat": point.lat + 0.01, "lon": point.lon + 0.01}
        ask = f"/api/v1/customer/units/{unit.id}/slots?from={DAY}&to={DAY}&lat={here['lat']}&lon={here['lon']}"
        answer = cust.get(ask, token)
        assert answer.status_code == 200, answer.json
        found = answer.json["slots"]
        staff = api.get(f"/api/v1/service-points/{point.id}/slots?from={DAY}&to={DAY}&lat={here['lat']}"
                        f"&lon={here['lon']}&job_type=repair&product_sku={unit.product.sku}"
                        f"&duration_minutes={unit.product.minutes_for(JobType.REPAIR)}", as_="manager.hz01").json
        assert found and [s["window_start"] for s in found] == [s["window_start"] for s in staff["slots"]]
        report = {"unit_id": str(unit.id), "description": "漏水", "location": here}
        night = datetime.fromisoformat(found[0]["window_start"]).replace(hour=2)
        gone = {"window_start": night.isoformat(), "window_end": night.replace(hour=4).isoformat()}
        before = len(cust.get("/api/v1/customer/jobs", token).json)
        refused = cust.post("/api/v1/customer/jobs", token, json=report | {"slot": gone})
        assert assert_problem(refused, 409, code="slot-taken")["title"] == "该时段已被约满"
        assert len(cust.get("/api/v1/customer/jobs", token).json) == before  # nothing was written
        both = report | {"slot": found[0], "window_start": found[0]["window_start"],
                         "window_end": found[0]["window_end"]}
        assert_problem(cust.post("/api/v1/customer/jobs", token, json=both), 422, field="slot")
        booked = cust.post("/api/v1/customer/jobs", token, json=report | {"slot": found[0]})
        assert booked.status_code == 201, booked.json
        assert booked.json["status"] == "scheduled" and booked.json["window_start"] == found[0]["window_start"]
        assert booked.json["technician"]["name"] and booked.headers["Location"].endswith(booked.json["id"])
        other_token, other_unit = other_sign_in(cust, session)
        assert_problem(cust.get(ask, other_token), 404)
        assert_problem(cust.get(ask.replace(str(unit.id), str(other_unit.id)), token), 404)

    def test_another_customers_visit_answers_404_and_bad_asks_422(self, cust, session):
        token = cust.sign_in()
        visit = report(cust, session, token, demo_units(session)[0])
        slot = offered(cust, token, visit)[0]
        other_token, _ = other_sign_in(cust, session)
        assert_problem(cust.get(f"/api/v1/customer/jobs/{visit['id']}/slots?from={DAY}&to={DAY}", other_token), 404)
        assert_problem(book(cust, other_token, visit, slot), 404)
        assert_problem(cust.call("PUT", f"/api/v1/customer/jobs/{visit['id']}/preferred-window", other_token,
                                 json={"window_start": slot["window_start"], "window_end": slot["window_end"]}), 404)
        assert_problem(book(cust, token, {"id": str(uuid.uuid4())}, slot), 404)
        yesterday = SUITE_TODAY - timedelta(days=1)
        body = assert_problem(cust.get(f"/api/v1/customer/jobs/{visit['id']}/slots?from={yesterday}&to={DAY}",
                                       token), 422, field="from")
        assert "已过" in body["detail"]
        start = datetime.fromisoformat(slot["window_start"])
        short = {"window_start": slot["window_start"], "window_end": (start + timedelta(minutes=45)).isoformat()}
        assert "分钟" in assert_problem(book(cust, token, visit, short), 422, field="window_end")["detail"]
        assert_problem(cust.get(f"/api/v1/customer/jobs/{visit['id']}/slots", token), 422, field="from")


def technician_name_for(api, session, visit) -> str:
    """A technician of HZ01 qualified for the visit (the best of its offered windows)."""
    staff = api.get(f"/api/v1/jobs/{visit['id']}/slots?from={DAY}&to={DAY}", as_="manager.hz01").json
    return session.get(Technician, uuid.UUID(staff["slots"][0]["technician_id"])).user.username


class TestThePointsRules:
    def test_the_manager_sets_the_rules_and_the_customer_moves_within_them(self, cust, api, session):
        assert rules(api, session, max_reschedules=1, reschedule_notice_hours=24).json == {
            "cancel_notice_hours": 2, "reschedule_notice_hours": 24, "max_reschedules": 1}
        assert api.get(f"/api/v1/service-points/{hz01(session).id}/customer-rules", as_="manager.hz01").json[
            "max_reschedules"] == 1
        token = cust.sign_in()
        visit = report(cust, session, token, demo_units(session)[0])
        first, *others = offered(cust, token, visit)
        assert book(cust, token, visit, first).status_code == 201
        before = technician_name(session, visit["id"])
        cursor = api.get("/api/v1/sync/changes?limit=500", as_=before).json["next_cursor"]
        later = others[-1]
        moved = book(cust, token, visit, later)
        assert moved.status_code == 201, moved.json
        assert moved.json["window_start"] == later["window_start"] and moved.json["reschedules_left"] == 0
        assert moved.json["can_reschedule"] is False
        after = technician_name(session, visit["id"])
        stops = api.get(f"/api/v1/technicians/me/route?date={DAY}", as_=after).json["stops"]
        [stop] = [s for s in stops if s["job_id"] == visit["id"]]
        assert datetime.fromisoformat(later["window_start"]) <= datetime.fromisoformat(stop["start_at"]) \
            <= datetime.fromisoformat(later["window_end"])
        page = api.get(f"/api/v1/sync/changes?limit=500&cursor={cursor}", as_=before).json
        assert visit["id"] in ({d["id"] for d in page["changes"]["jobs"]["upserted"]}
                               | set(page["changes"]["jobs"]["removed"]))
        again = assert_problem(book(cust, token, visit, first), 422, code="rule-violation")
        assert again["reason"] == "too-many-changes" and "已改约 1 次" in again["detail"]
        english = assert_problem(book(cust, token, visit, first, headers=EN), 422)
        assert english["detail"] == "this visit was moved 1 times already; call the point"
        window = {"window_start": first["window_start"], "window_end": first["window_end"]}
        assert_problem(cust.post(f"/api/v1/customer/jobs/{visit['id']}/reschedule", token, json=window), 422)

    def test_cancel_and_move_inside_the_notice_are_refused_then_allowed(self, cust, api, session):
        token = cust.sign_in()
        visit = report(cust, session, token, demo_units(session)[0])
        slots = offered(cust, token, visit)
        assert book(cust, token, visit, slots[0]).status_code == 201
        tech = technician_name(session, visit["id"])
        assert rules(api, session, cancel_notice_hours=168, reschedule_notice_hours=168).status_code == 200
        late = assert_problem(cust.post(f"/api/v1/customer/jobs/{visit['id']}/cancellation", token, json={}), 422)
        assert late["reason"] == "too-late" and "168 小时" in late["detail"]
        moving = assert_problem(book(cust, token, visit, slots[1], headers=EN), 422)
        assert moving["detail"] == "a booked visit is moved at least 168 hours ahead; call the point"
        assert cust.get(f"/api/v1/customer/jobs/{visit['id']}", token).json["can_cancel"] is False
        cursor = api.get("/api/v1/sync/changes?limit=500", as_=tech).json["next_cursor"]
        assert rules(api, session, cancel_notice_hours=0).status_code == 200
        done = cust.post(f"/api/v1/customer/jobs/{visit['id']}/cancellation", token, json={"reason": "fixed"})
        assert done.status_code == 200 and done.json["status"] == "cancelled"
        stops = api.get(f"/api/v1/technicians/me/route?date={DAY}", as_=tech).json["stops"]
        assert visit["id"] not in {s["job_id"] for s in stops}
        page = api.get(f"/api/v1/sync/changes?limit=500&cursor={cursor}", as_=tech).json
        assert visit["id"] in page["changes"]["jobs"]["removed"]
        assert offered(cust, token, visit) == []
        assert_problem(book(cust, token, visit, slots[0]), 409)

    @pytest.mark.parametrize("body", [{"max_reschedules": -1}, {"cancel_notice_hours": 200},
                                      {"reschedule_notice_hours": "4"}, {"max_reschedules": 11}])
    def test_bad_rules_are_422_naming_the_field(self, api, session, body):
        assert_problem(rules(api, session, **body), 422, field=next(iter(body)))

    def test_only_the_points_manager_or_hq_sets_them(self, api, session):
        assert_problem(rules(api, session, as_="manager.hz02", max_reschedules=3), 404)
        assert_problem(rules(api, session, as_="tech.hz01.1", max_reschedules=3), 403)
        assert rules(api, session, as_="admin", max_reschedules=3).json["max_reschedules"] == 3



@pytest.mark.postgres
def test_two_customers_booking_the_last_window_at_once_cannot_both_win(live):
    """Two customers' requests race for the only technician's 10:00-10:30 on their own database
    (two connections): the point's row lock makes the second wait, see the first visit, answer 409."""
    from dispatch.auth import service as auth_service
    from tests.api.jobs_builders import TUESDAY
    from tests.api.jobs_builders import local as at

    new_client, technician_id = live
    api = new_client()
    app = api.client.application
    config = app.extensions["dispatch"].token_config
    day = TUESDAY.isoformat()
    hz01 = next(p for p in api.get("/api/v1/service-points/?page_size=50", as_="admin").json if p["code"] == "HZ01")
    for row in api.get(f"/api/v1/technicians/?service_point_id={hz01['id']}&page_size=50", as_="admin").json:
        if row["id"] != technician_id:
            assert api.post(f"/api/v1/technicians/{row['id']}/shift-exceptions", as_="manager.hz01",
                            json={"on": day, "kind": "leave"}).status_code == 201
    assert api.put(f"/api/v1/service-points/{hz01['id']}/slot-length", as_="manager.hz01",
                   json={"minutes": 30}).status_code == 200
    window = {"window_start": at(TUESDAY, 10).isoformat(), "window_end": at(TUESDAY, 10, 30).isoformat()}
    for attempt in range(3):
        visits, tokens = [], []
        for n in range(2):
            created = api.post("/api/v1/jobs/", as_="admin", json={
                "type": "install", "product_sku": "WP-RO500", "region_code": "ZJ-HZ-XH",
                "customer": {"name": f"Caller {attempt}-{n}", "phone": f"1360000{attempt}{n:03d}",
                             "location": {"lat": 30.25, "lon": 120.14}}})
            assert created.status_code == 201, created.json
            customer_id = uuid.UUID(created.json["customer"]["id"])
            tokens.append(auth_service.customer_token(config, customer_id, 1, 600))  # a first sign-in's token
            visits.append(created.json)
        for visit, token in zip(visits, tokens):
            offered = new_client().client.get(f"/api/v1/customer/jobs/{visit['id']}/slots?from={day}&to={day}",
                                              headers={"Authorization": f"Bearer {token}"})
            assert offered.status_code == 200, offered.json
            assert window["window_start"] in {s["window_start"] for s in offered.json["slots"]}, offered.json
        race_for_the_window(api, visits, [
            lambda visit, token=token: new_client().client.post(
                f"/api/v1/customer/jobs/{visit['id']}/booking", json=window,
                headers={"Authorization": f"Bearer {token}"}).status_code for token in tokens])
