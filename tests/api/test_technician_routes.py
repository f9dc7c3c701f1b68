"""A technician reads their own route of a day (stops, ETAs, legs, break, the drive home) through
a plain endpoint and in the sync feed, and never another technician's (issue 19)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dispatch import clock
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
