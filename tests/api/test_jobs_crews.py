"""Crew jobs through HTTP: sizing the crew, assigning a lead and helpers (each rule), both calendars
held, helpers see the job but only the lead completes it, unscheduling releases the crew."""

from __future__ import annotations

import pytest

from dispatch import clock
from dispatch.network.models import ProductCategory
from tests.api.jobs_builders import (
    MONDAY,
    TUESDAY,
    assign,
    create_job,
    local,
    move,
    own_hooks_only,  # noqa: F401 - fixture
    technician,
    units,
)
from tests.helpers import assert_problem

LEAD, HELPER, OTHER = "tech.hz01.1", "tech.hz01.2", "tech.hz01.3"  # only .1 has the heater skill


@pytest.fixture(autouse=True)
def monday(own_hooks_only):
    with clock.frozen(MONDAY):
        yield MONDAY


def heater_job(api, session, **overrides) -> dict:
    heater = units(session, "HZ01", category=ProductCategory.WATER_HEATER)[0]
    return create_job(api, session, unit_serial=heater.serial, **overrides)


def assert_rule(response, rule: str, field: str = "helper_ids") -> dict:
    body = assert_problem(response, 422, field=field)
    assert body["rule"] == rule, body
    return body


def test_a_crew_job_is_booked_for_a_skilled_lead_and_a_helper_without_the_skill(api, session):
    job = heater_job(api, session, crew_size=2)
    assert (job["crew_size"], job["helper_ids"]) == (2, [])
    lead, helper = technician(session, LEAD), technician(session, HELPER)
    response = assign(api, job, lead.id, local(TUESDAY, 10), helper_ids=[str(helper.id)])
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["status"], body["technician_id"], body["helper_ids"]) == ("scheduled", str(lead.id), [str(helper.id)])
    # the helper sees the job, and it is in their list, but only the lead moves it through the visit
    assert api.get(f"/api/v1/jobs/{job['id']}", as_=HELPER).status_code == 200
    assert job["id"] in {j["id"] for j in api.get("/api/v1/jobs/", as_=HELPER).json}
    assert api.get(f"/api/v1/jobs/{job['id']}", as_=OTHER).status_code == 404
    assert_problem(move(api, job, "en_route", HELPER), 403)
    for to in ("en_route", "on_site"):
        assert move(api, job, to, LEAD).status_code == 200
    assert_problem(move(api, job, "completed", HELPER), 403)
    assert move(api, job, "completed", LEAD).status_code == 200


def test_the_crew_must_be_complete_and_of_different_technicians(api, session):
    job = heater_job(api, session, crew_size=2)
    lead = technician(session, LEAD)
    assert_rule(assign(api, job, lead.id, local(TUESDAY, 10)), "crew-size")
    assert_rule(assign(api, job, lead.id, local(TUESDAY, 10), helper_ids=[str(lead.id)]), "crew-distinct")
    two = [str(technician(session, HELPER).id), str(technician(session, OTHER).id)]
    assert_rule(assign(api, job, lead.id, local(TUESDAY, 10), helper_ids=two), "crew-size")
    assert_rule(assign(api, job, lead.id, local(TUESDAY, 10), helper_ids=[two[0], two[0]]), "crew-size")
    assert_rule(assign(api, job, lead.id, local(TUESDAY, 10),
                       helper_ids=["00000000-0000-0000-0000-000000000001"]), "same-point")
    assert_rule(assign(api, job, lead.id, local(TUESDAY, 10), helper_ids=[str(technician(session, "tech.hz02.1").id)]),
                "same-point")
    assert_rule(assign(api, job, lead.id, local(TUESDAY, 20), helper_ids=[two[0]]), "on-shift", "scheduled_start")
    assert_problem(assign(api, job, lead.id, local(TUESDAY, 10), helper_ids=["not-a-uuid"]), 422, field="helper_ids.0")
    # nothing was written by any of these
    unchanged = api.get(f"/api/v1/jobs/{job['id']}", as_="manager.hz01").json
    assert (unchanged["status"], unchanged["technician_id"], unchanged["helper_ids"]) == ("dispatched", None, [])
    single = heater_job(api, session)
    assert_rule(assign(api, single, lead.id, local(TUESDAY, 14), helper_ids=[two[0]]), "crew-size")


def test_an_inactive_helper_is_refused(api, session):
    job = heater_job(api, session, crew_size=2)
    helper = technician(session, OTHER)
    helper.active = False
    session.flush()
    assert_rule(assign(api, job, technician(session, LEAD).id, local(TUESDAY, 10), helper_ids=[str(helper.id)]),
                "active")


def test_a_helpers_calendar_is_held_both_ways(api, session):
    crew_job, other_job = heater_job(api, session, crew_size=2), create_job(api, session)
    lead, helper = technician(session, LEAD), technician(session, HELPER)
    assert assign(api, crew_job, lead.id, local(TUESDAY, 10), helper_ids=[str(helper.id)]).status_code == 200
    # the helper is booked then: they cannot lead another job at the same time ...
    body = assert_problem(assign(api, other_job, helper.id, local(TUESDAY, 10, 30)), 409, code="double-booking")
    assert body["clashing_job_id"] == crew_job["id"]
    # ... and a technician booked elsewhere cannot join a crew then
    assert assign(api, other_job, technician(session, OTHER).id, local(TUESDAY, 15)).status_code == 200
    second_crew = heater_job(api, session, crew_size=2)
    body = assert_problem(assign(api, second_crew, lead.id, local(TUESDAY, 15),
                                 helper_ids=[str(technician(session, OTHER).id)]), 409, code="double-booking")
    assert body["clashing_job_id"] == other_job["id"]


def test_unscheduling_releases_the_crew_and_the_crew_is_sized_before_a_slot(api, session):
    job = heater_job(api, session)
    url = f"/api/v1/jobs/{job['id']}/crew"
    assert_problem(api.post(url, as_="manager.hz01", json={"crew_size": 5}), 422, field="crew_size")
    assert_problem(api.post(url, as_="manager.hz01", json={}), 422, field="crew_size")
    assert_problem(api.post(url, as_=LEAD, json={"crew_size": 2}), 404)  # not theirs to see yet
    sized = api.post(url, as_="manager.hz01", json={"crew_size": 2})
    assert sized.status_code == 200 and sized.json["crew_size"] == 2
    lead, helper = technician(session, LEAD), technician(session, HELPER)
    assert assign(api, job, lead.id, local(TUESDAY, 10), helper_ids=[str(helper.id)]).status_code == 200
    assert_problem(api.post(url, as_="manager.hz01", json={"crew_size": 1}), 409, code="invalid-transition")
    assert_problem(api.post(url, as_=LEAD, json={"crew_size": 1}), 403)
    released = move(api, job, "dispatched", "manager.hz01", reason="customer asked to rebook")
    assert released.status_code == 200 and released.json["helper_ids"] == []
    assert api.get(f"/api/v1/jobs/{job['id']}", as_=HELPER).status_code == 404
    assert api.post(url, as_="manager.hz01", json={"crew_size": 1}).json["crew_size"] == 1


def test_intake_refuses_a_crew_size_out_of_range(api, session):
    heater = units(session, "HZ01", category=ProductCategory.WATER_HEATER)[0]
    for size in (0, 5, "two"):
        body = {"type": "repair", "unit_serial": heater.serial, "crew_size": size}
        assert_problem(api.post("/api/v1/jobs/", as_="admin", json=body), 422, field="crew_size")
