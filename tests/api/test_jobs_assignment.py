"""Assignment (each rule, reassignment, who may) and HQ transfer to another point."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.audit_log.models import LogEntry
from dispatch.network.models import ProductCategory, ShiftException, ShiftExceptionKind
from tests.api.jobs_builders import (
    MONDAY,
    TUESDAY,
    assign,
    create_job,
    local,
    move,
    own_hooks_only,  # noqa: F401 - fixture
    point,
    technician,
    units,
)
from tests.helpers import assert_problem


@pytest.fixture(autouse=True)
def monday(own_hooks_only):
    with clock.frozen(MONDAY):
        yield MONDAY


def assert_rule(response, rule: str, field: str) -> dict:
    body = assert_problem(response, 422, field=field)
    assert body["rule"] == rule, body
    return body


def test_the_points_manager_schedules_a_qualified_technician_on_shift(api, session):
    job = create_job(api, session)
    tech = technician(session, "tech.hz01.1")
    start = local(TUESDAY, 10)
    response = assign(api, job, tech.id, start, locked=True)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["status"], body["technician_id"], body["locked"]) == ("scheduled", str(tech.id), True)
    assert body["technician_name"] == tech.name
    assert datetime.fromisoformat(body["scheduled_start"]) == start
    assert datetime.fromisoformat(body["scheduled_end"]) == start + timedelta(minutes=body["duration_minutes"])
    event = body["events"][-1]
    assert (event["kind"], event["from_status"], event["to_status"]) == ("assignment", "dispatched", "scheduled")
    assert event["data"]["technician_id"] == str(tech.id) and event["data"]["previous_technician_id"] is None
    assert api.get(f"/api/v1/jobs/{job['id']}", as_="tech.hz01.1").status_code == 200


def test_a_technician_of_another_point_breaks_the_same_point_rule(api, session):
    job = create_job(api, session)
    assert_rule(assign(api, job, technician(session, "tech.hz02.1").id, local(TUESDAY, 10)), "same-point",
                "technician_id")


def test_an_inactive_technician_cannot_be_assigned(api, session):
    job = create_job(api, session)
    tech = technician(session, "tech.hz01.3")
    tech.active = False
    session.flush()
    assert_rule(assign(api, job, tech.id, local(TUESDAY, 10)), "active", "technician_id")


def test_the_technician_needs_the_skill_for_the_category_and_job_type(api, session):
    heater = units(session, "HZ01", category=ProductCategory.WATER_HEATER)[0]
    job = create_job(api, session, unit_serial=heater.serial)
    body = assert_rule(assign(api, job, technician(session, "tech.hz01.2").id, local(TUESDAY, 10)), "skill",
                       "technician_id")
    assert "water_heater/repair" in body["detail"]
    assert assign(api, job, technician(session, "tech.hz01.1").id, local(TUESDAY, 10)).status_code == 200


def test_the_technician_needs_a_certification_valid_on_the_day(api, session):
    heater = units(session, "NB01", category=ProductCategory.WATER_HEATER)[0]
    job = create_job(api, session, "NB01", unit_serial=heater.serial)
    body = assert_rule(assign(api, job, technician(session, "tech.nb01.3").id, local(TUESDAY, 10),
                              as_="manager.nb01"), "certification", "technician_id")
    assert TUESDAY.isoformat() in body["detail"]


@pytest.mark.parametrize(("day", "hour", "minute"), [
    (TUESDAY, 20, 0),  # evening
    (TUESDAY, 7, 0),  # before the shift
    (TUESDAY, 17, 0),  # starts on shift, but the job runs past 17:30
    (TUESDAY + timedelta(days=5), 10, 0),  # Sunday
], ids=["evening", "early", "runs-past-the-end", "sunday"])
def test_the_technician_must_be_on_shift_for_the_whole_job(api, session, day, hour, minute):
    job = create_job(api, session)
    assert_rule(assign(api, job, technician(session, "tech.hz01.1").id, local(day, hour, minute)), "on-shift",
                "scheduled_start")


def test_a_day_of_leave_takes_the_technician_off_shift(api, session):
    job = create_job(api, session)
    tech = technician(session, "tech.hz01.1")
    session.add(ShiftException(technician_id=tech.id, on=TUESDAY, kind=ShiftExceptionKind.LEAVE, reason="dentist",
                               start=time(9, 0), end=time(12, 0)))
    session.flush()
    assert_rule(assign(api, job, tech.id, local(TUESDAY, 10)), "on-shift", "scheduled_start")
    assert assign(api, job, tech.id, local(TUESDAY, 13)).status_code == 200


def test_giving_the_job_to_another_technician_needs_a_reason(api, session):
    job = create_job(api, session)
    first, second = technician(session, "tech.hz01.1"), technician(session, "tech.hz01.4")
    assert assign(api, job, first.id, local(TUESDAY, 10)).status_code == 200
    moved = assign(api, job, first.id, local(TUESDAY, 14))  # same technician, new slot: no reason needed
    assert moved.status_code == 200 and moved.json["scheduled_start"].startswith(f"{TUESDAY}T14:00")
    assert_rule(assign(api, job, second.id, local(TUESDAY, 10)), "reassignment-reason", "reason")
    response = assign(api, job, second.id, local(TUESDAY, 10), reason="first technician is off sick")
    assert response.status_code == 200, response.json
    event = response.json["events"][-1]
    assert (event["from_status"], event["to_status"], event["reason"]) == (
        "scheduled", "scheduled", "first technician is off sick")
    assert event["data"]["previous_technician_id"] == str(first.id)
    assert_problem(api.get(f"/api/v1/jobs/{job['id']}", as_="tech.hz01.1"), 404)


def test_a_job_on_hold_is_scheduled_again_with_a_new_slot(api, session):
    job = create_job(api, session)
    tech = technician(session, "tech.hz01.1")
    assign(api, job, tech.id, local(TUESDAY, 10))
    assert move(api, job, "on_hold", "manager.hz01", reason="waiting for parts").status_code == 200
    response = assign(api, job, tech.id, local(TUESDAY + timedelta(days=1), 9))
    assert response.status_code == 200 and response.json["status"] == "scheduled"


def test_only_a_dispatched_scheduled_or_held_job_is_assigned(api, session):
    job = create_job(api, session)
    tech = technician(session, "tech.hz01.1")
    assign(api, job, tech.id, local(TUESDAY, 10))
    move(api, job, "en_route", "tech.hz01.1")
    body = assert_problem(assign(api, job, tech.id, local(TUESDAY, 11)), 409, code="invalid-transition")
    assert body["current"] == "en_route" and body["allowed"] == ["cancelled", "on_hold", "on_site"]


def test_who_may_assign_and_what_the_body_must_hold(api, session):
    job = create_job(api, session)
    tech = technician(session, "tech.hz01.1")
    start = local(TUESDAY, 10)
    assert_problem(assign(api, job, tech.id, start, as_="manager.hz02"), 404)
    assert_problem(assign(api, job, tech.id, start, as_="reviewer"), 403, code="forbidden")
    assert_problem(assign(api, job, tech.id, start, as_="tech.hz01.1"), 404)  # not theirs to see yet
    assert_rule(assign(api, job, "00000000-0000-0000-0000-00000000abcd", start), "same-point", "technician_id")
    naive = api.post(f"/api/v1/jobs/{job['id']}/assignment", as_="manager.hz01",
                     json={"technician_id": str(tech.id), "scheduled_start": "2027-03-02T10:00:00"})
    assert_problem(naive, 422, field="scheduled_start")
    assert_problem(api.post(f"/api/v1/jobs/{job['id']}/assignment", as_="manager.hz01", json={}), 422,
                   field="technician_id")
    assert assign(api, job, tech.id, start, as_="admin").status_code == 200
    assert_problem(assign(api, job, tech.id, start, as_="tech.hz01.1"), 403, code="forbidden")


# --- transfer --------------------------------------------------------------------------------


def transfer(api, job, code_or_id, session, as_="admin", reason="HZ01 has nobody free this week"):
    target = point(session, code_or_id).id if len(code_or_id) == 4 else code_or_id
    return api.post(f"/api/v1/jobs/{job['id']}/transfer", as_=as_,
                    json={"service_point_id": str(target), "reason": reason})


def test_hq_transfers_a_job_to_another_point_where_it_is_dispatched_again(api, session):
    job = create_job(api, session)
    assign(api, job, technician(session, "tech.hz01.1").id, local(TUESDAY, 10))
    response = transfer(api, job, "HZ02", session)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["status"], body["technician_id"], body["scheduled_start"]) == ("dispatched", None, None)
    assert body["dispatch"]["service_point_code"] == "HZ02"
    assert (body["dispatch"]["reason"], body["dispatch"]["out_of_area"]) == ("transfer", True)
    assert body["dispatch"]["distance_km"] > 0
    event = body["events"][-1]
    assert (event["kind"], event["from_status"], event["to_status"], event["reason"]) == (
        "transfer", "scheduled", "dispatched", "HZ01 has nobody free this week")
    assert (event["data"]["from_service_point_code"], event["data"]["to_service_point_code"]) == ("HZ01", "HZ02")
    assert_problem(api.get(f"/api/v1/jobs/{job['id']}", as_="manager.hz01"), 404)
    assert api.get(f"/api/v1/jobs/{job['id']}", as_="manager.hz02").status_code == 200
    kinds = session.scalars(select(LogEntry.kind).where(LogEntry.subject_id == job["id"]).order_by(LogEntry.seq))
    assert list(kinds)[-1] == "job.transfer"
    back = transfer(api, job, "HZ01", session, reason="HZ02 overloaded")
    assert back.json["dispatch"]["out_of_area"] is False  # HZ01 covers the job's district


def test_transfer_is_for_hq_admins_to_an_authorised_other_point_with_a_reason(api, session):
    job = create_job(api, session)
    assert_problem(transfer(api, job, "HZ02", session, as_="manager.hz01"), 403, code="forbidden")
    assert_problem(transfer(api, job, "HZ02", session, as_="reviewer"), 403, code="forbidden")
    assert_problem(transfer(api, job, "HZ01", session), 422, field="service_point_id")
    assert_problem(transfer(api, job, "SZ03", session), 422, field="service_point_id")  # suspended
    assert_problem(transfer(api, job, "00000000-0000-0000-0000-000000000042", session), 422,
                   field="service_point_id")
    assert_problem(transfer(api, job, "HZ02", session, reason=""), 422, field="reason")


def test_a_job_someone_is_already_driving_to_is_not_transferred(api, session):
    job = create_job(api, session)
    assign(api, job, technician(session, "tech.hz01.1").id, local(TUESDAY, 10))
    move(api, job, "en_route", "tech.hz01.1")
    body = assert_problem(transfer(api, job, "HZ02", session), 409, code="invalid-transition")
    assert body["current"] == "en_route"
