"""A technician reads their own route of a day (stops, ETAs, legs, break, the drive home) through
a plain endpoint and in the sync feed, and never another technician's (issue 19)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dispatch import clock
from dispatch.jobs.models import JobType
from tests.api.jobs_builders import MONDAY, TUESDAY, assign, local, technician
from tests.helpers import assert_problem
from tests.plan_builders import make_job
from tests.schedule_check import calendar_violations


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


def book(api, session, hour, minute=0, who="tech.hz01.1", seed=None):
    job = make_job(session, "HZ01", TUESDAY, window=None, seed=seed)
    session.commit()
    answer = assign(api, {"id": str(job.id)}, technician(session, who).id, local(TUESDAY, hour, minute))
    assert answer.status_code == 200, answer.json
    return job


def at(text):
    return datetime.fromisoformat(text)


def test_a_technician_reads_their_own_day_with_etas_legs_and_the_break(api, session):
    first, second = book(api, session, 10, seed="r1"), book(api, session, 14, seed="r2")
    answer = api.get(f"/api/v1/technicians/me/route?date={TUESDAY}", as_="tech.hz01.1")
    assert answer.status_code == 200, answer.json
    route = answer.json
    assert route["working"] and route["technician_id"] == str(technician(session, "tech.hz01.1").id)
    stops = route["stops"]
    assert [s["job_id"] for s in stops] == [str(first.id), str(second.id)] and [s["sequence"] for s in stops] == [1, 2]
    assert at(stops[0]["start_at"]) == local(TUESDAY, 10) and at(stops[1]["start_at"]) == local(TUESDAY, 14)
    assert all(s["travel_from_prev_s"] > 0 and s["distance_from_prev_km"] > 0 for s in stops)
    assert at(route["leave_at"]) == local(TUESDAY, 10) - timedelta(seconds=stops[0]["travel_from_prev_s"])
    assert at(stops[1]["arrival_at"]) == at(stops[0]["finish_at"]) + timedelta(seconds=stops[1]["travel_from_prev_s"])
    assert stops[1]["wait_s"] == (at(stops[1]["start_at"]) - at(stops[1]["arrival_at"])).total_seconds()
    lunch = at(route["break_start_at"])
    assert route["break_minutes"] == 30 and local(TUESDAY, 11) <= lunch <= local(TUESDAY, 14)
    assert lunch >= at(stops[0]["finish_at"]) and lunch + timedelta(minutes=30) <= at(stops[1]["start_at"])
    assert route["travel_s"] > sum(s["travel_from_prev_s"] for s in stops)  # and the drive home
    assert at(route["return_at"]) > at(stops[1]["finish_at"])
    assert calendar_violations(session, "HZ01", TUESDAY) == []
    # the manager reads it too, by id
    by_id = api.get(f"/api/v1/technicians/{route['technician_id']}/route?date={TUESDAY}", as_="manager.hz01")
    assert by_id.status_code == 200 and by_id.json == route


def test_nobody_reads_another_technicians_route(api, session):
    book(api, session, 10, seed="r3")
    mine = technician(session, "tech.hz01.1").id
    assert_problem(api.get(f"/api/v1/technicians/{mine}/route?date={TUESDAY}", as_="tech.hz01.2"), 404)
    assert_problem(api.get(f"/api/v1/technicians/{mine}/route?date={TUESDAY}", as_="manager.hz02"), 404)
    assert_problem(api.get(f"/api/v1/technicians/me/route?date={TUESDAY}", as_="manager.hz01"), 422,
                   field="technician_id")
    assert_problem(api.get("/api/v1/technicians/me/route", as_="tech.hz01.1"), 422, field="date")
    assert_problem(api.get("/api/v1/technicians/me/route?date=tuesday", as_="tech.hz01.1"), 422, field="date")
    other = api.get(f"/api/v1/technicians/me/route?date={TUESDAY}", as_="tech.hz01.2").json
    assert str(mine) != other["technician_id"] and all(s["job_id"] for s in other["stops"])


def test_the_sync_feed_carries_each_jobs_place_in_the_route_and_keeps_it_current(api, session):
    first, second = book(api, session, 10, seed="r4"), book(api, session, 14, seed="r5")
    snapshot = api.get("/api/v1/sync/changes", as_="tech.hz01.1").json
    docs = {d["id"]: d for d in snapshot["changes"]["jobs"]["upserted"]}
    assert (docs[str(first.id)]["route"]["sequence"], docs[str(first.id)]["route"]["of"]) == (1, 2)
    assert docs[str(second.id)]["route"]["eta"] == local(TUESDAY, 14).isoformat()
    assert docs[str(second.id)]["route"]["break_start_at"] is not None
    # an early visit is added: both others move down the route, and the device hears of it
    early = book(api, session, 8, 45, seed="r6")
    page = api.get(f"/api/v1/sync/changes?cursor={snapshot['next_cursor']}", as_="tech.hz01.1").json
    moved = {d["id"]: d["route"] for d in page["changes"]["jobs"]["upserted"]}
    assert set(moved) == {str(early.id), str(first.id), str(second.id)}
    assert [moved[str(j.id)]["sequence"] for j in (early, first, second)] == [1, 2, 3]
    assert {moved[k]["of"] for k in moved} == {3}
    # another technician's device never hears of them
    theirs = api.get("/api/v1/sync/changes", as_="tech.hz01.2").json
    assert not {str(first.id), str(second.id), str(early.id)} & {d["id"] for d in
                                                                  theirs["changes"]["jobs"]["upserted"]}


LEAD, HELPER = "tech.hz01.1", "tech.hz01.2"


def crew_job(api, session, hour, helpers, seed):
    job = make_job(session, "HZ01", TUESDAY, window=None, sku="WH-EH60", job_type=JobType.INSTALL, minutes=90,
                   crew_size=2, seed=seed)
    session.commit()
    answer = assign(api, {"id": str(job.id)}, technician(session, LEAD).id, local(TUESDAY, hour),
                    helper_ids=[str(technician(session, h).id) for h in helpers])
    assert answer.status_code == 200, answer.json
    return job


def route_docs(page) -> dict:
    return {d["id"]: d["route"] for d in page["changes"]["jobs"]["upserted"]}


def test_a_helper_sees_the_crew_job_on_their_own_day_with_their_own_legs_never_the_leads(api, session):
    """The lead drives two visits before the crew job, the helper one of their own: each reads
    the crew visit as a stop of their own day, with their own leg to it, their own sequence, leave
    time and break, in the plain endpoint and in the sync feed; nobody else's device holds it."""
    book(api, session, 9, who=LEAD, seed="cr1")
    book(api, session, 10, 30, who=LEAD, seed="cr2")
    own = book(api, session, 9, 30, who=HELPER, seed="cr3")
    crew = crew_job(api, session, 14, [HELPER], seed="cr-crew")
    mine = api.get(f"/api/v1/technicians/me/route?date={TUESDAY}", as_=HELPER).json
    theirs = api.get(f"/api/v1/technicians/me/route?date={TUESDAY}", as_=LEAD).json
    assert [(s["job_id"], s["sequence"], s["helper"]) for s in mine["stops"]] == [
        (str(own.id), 1, False), (str(crew.id), 2, True)]
    helping, leading = mine["stops"][1], theirs["stops"][2]
    assert (leading["job_id"], leading["sequence"], leading["helper"]) == (str(crew.id), 3, False)
    assert helping["start_at"] == leading["start_at"]  # on site together
    # the helper's leg comes from their own visit, not from the lead's
    assert at(helping["arrival_at"]) == at(mine["stops"][0]["finish_at"]) + timedelta(
        seconds=helping["travel_from_prev_s"])
    assert helping["travel_from_prev_s"] != leading["travel_from_prev_s"]
    assert mine["leave_at"] != theirs["leave_at"]
    lead_id = technician(session, LEAD).id  # helping on a crew job shows nobody the lead's route
    assert_problem(api.get(f"/api/v1/technicians/{lead_id}/route?date={TUESDAY}", as_=HELPER), 404)

    # the sync feed: the same facts, each from the reader's own day
    helper_snapshot = api.get("/api/v1/sync/changes", as_=HELPER).json
    facts = route_docs(helper_snapshot)
    assert str(crew.id) in facts, "the helper's device holds the crew job"
    assert (facts[str(crew.id)]["sequence"], facts[str(crew.id)]["of"], facts[str(crew.id)]["helper"]) == (2, 2, True)
    assert facts[str(crew.id)]["travel_from_prev_s"] == helping["travel_from_prev_s"]
    assert facts[str(crew.id)]["leave_at"] == mine["leave_at"]
    assert facts[str(crew.id)]["break_start_at"] == mine["break_start_at"]
    lead_facts = route_docs(api.get("/api/v1/sync/changes", as_=LEAD).json)[str(crew.id)]
    assert (lead_facts["sequence"], lead_facts["of"], lead_facts["helper"]) == (3, 3, False)
    assert lead_facts["leave_at"] == theirs["leave_at"]
    assert str(crew.id) not in route_docs(api.get("/api/v1/sync/changes", as_="tech.hz01.3").json)

    # the helper's day changes: their device hears of the crew job's new place in it
    noon = book(api, session, 12, who=HELPER, seed="cr4")
    page = route_docs(api.get(f"/api/v1/sync/changes?cursor={helper_snapshot['next_cursor']}", as_=HELPER).json)
    assert (page[str(noon.id)]["sequence"], page[str(crew.id)]["sequence"], page[str(crew.id)]["of"]) == (2, 3, 3)
    # another helper takes over: the crew job leaves this device and comes to theirs
    cursor = api.get(f"/api/v1/sync/changes?cursor={helper_snapshot['next_cursor']}", as_=HELPER).json["next_cursor"]
    answer = assign(api, {"id": str(crew.id)}, technician(session, LEAD).id, local(TUESDAY, 14),
                    helper_ids=[str(technician(session, "tech.hz01.4").id)], reason="helper needed elsewhere")
    assert answer.status_code == 200, answer.json
    gone = api.get(f"/api/v1/sync/changes?cursor={cursor}", as_=HELPER).json["changes"]["jobs"]
    assert str(crew.id) in gone["removed"]
    newcomer = route_docs(api.get("/api/v1/sync/changes", as_="tech.hz01.4").json)[str(crew.id)]
    assert (newcomer["sequence"], newcomer["helper"]) == (1, True)
    assert calendar_violations(session, "HZ01", TUESDAY) == []
