"""A plan over several days through HTTP (issue 19, 'a plan over several days is one request'): one
solve puts a job whose window spans days on its best day, the plan is applied like a one-day plan
(the calendar books every day), and the independent checker finds each booked day feasible."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dispatch.jobs.models import Priority
from dispatch.network.models import JobType
from tests.helpers import assert_problem
from tests.plan_builders import local, make_job, next_workday, point
from tests.schedule_check import calendar_violations

MANAGER = "manager.hz01"
KM_LAT, KM_LON = 1 / 111.0, 1 / 96.0


@pytest.fixture
def monday():
    day = next_workday() + timedelta(days=7)  # past the demo's booked days
    while day.weekday() != 0:  # three working days in a row: Monday to Wednesday
        day += timedelta(days=1)
    return day


def request(api, session, body):
    return api.post(f"/api/v1/service-points/{point(session, 'HZ01').id}/plans", as_=MANAGER, json=body)


def lead_stops(plan):
    return {stop["job_id"]: (route["date"], route["technician_id"], stop)
            for route in plan["routes"] for stop in route["stops"] if not stop["helper"]}


def test_a_week_plan_puts_a_job_spanning_days_on_its_best_day_and_books_every_day(api, session, monday):
    hz = point(session, "HZ01")
    east = (hz.lat, hz.lon + 14 * KM_LON)
    west = (hz.lat, hz.lon - 14 * KM_LON)
    first = make_job(session, "HZ01", monday, window=(9, 12), location=east, seed="md-east")
    third = make_job(session, "HZ01", monday + timedelta(days=2), window=(9, 12), location=west, seed="md-west")
    flexible = make_job(session, "HZ01", monday, window=None, location=(west[0] + 0.2 * KM_LAT, west[1]),
                        seed="md-flexible")
    flexible.window_start, flexible.window_end = local(monday, 8), local(monday + timedelta(days=2), 17)
    crew = make_job(session, "HZ01", monday, window=(13, 17), sku="WH-EH60", job_type=JobType.INSTALL,
                    minutes=90, crew_size=2, seed="md-crew")
    session.commit()

    answer = request(api, session, {"date": monday.isoformat(), "date_to": (monday + timedelta(days=2)).isoformat(),
                                    "time_limit_s": 3})
    assert answer.status_code == 202, answer.json
    assert (answer.json["days"], answer.json["date_to"]) == (3, (monday + timedelta(days=2)).isoformat())
    plan = api.get(answer.headers["Location"], as_=MANAGER).json
    assert plan["status"] == "done", plan
    placed = lead_stops(plan)
    for job in (first, third, flexible, crew):
        assert str(job.id) in placed, plan["unassigned"]
    day_of = {job_id: date for job_id, (date, _, _) in placed.items()}
    assert day_of[str(first.id)] == monday.isoformat()
    assert day_of[str(third.id)] == day_of[str(flexible.id)] == (monday + timedelta(days=2)).isoformat()
    assert len([s for r in plan["routes"] for s in r["stops"] if s["job_id"] == str(flexible.id)]) == 1
    for route in plan["routes"]:
        for stop in route["stops"]:
            assert datetime.fromisoformat(stop["start_at"]).date().isoformat() == route["date"]

    assert api.get(f"/api/v1/plans/{plan['id']}/gantt.svg", as_=MANAGER).status_code == 200
    assert api.get(f"/api/v1/plans/{plan['id']}/map.svg", as_=MANAGER).status_code == 200
    applied = api.post(f"/api/v1/plans/{plan['id']}/apply", as_=MANAGER)
    assert applied.status_code == 200, applied.json
    for job in (first, third, flexible, crew):
        booked = api.get(f"/api/v1/jobs/{job.id}", as_=MANAGER).json
        _, technician, stop = placed[str(job.id)]
        assert (booked["status"], booked["technician_id"]) == ("scheduled", technician)
        assert datetime.fromisoformat(booked["scheduled_start"]) == datetime.fromisoformat(stop["start_at"])
    assert len(api.get(f"/api/v1/jobs/{crew.id}", as_=MANAGER).json["helper_ids"]) == 1
    for k in range(3):
        assert calendar_violations(session, "HZ01", monday + timedelta(days=k)) == []
    again = api.post(f"/api/v1/plans/{plan['id']}/apply", as_=MANAGER)
    assert_problem(again, 409)


def insert(api, plan, job):
    return api.post(f"/api/v1/plans/{plan['id']}/insertions", as_=MANAGER,
                    json={"job_id": str(job.id), "time_limit_s": 2})


def routes_of(plan, day):
    return {(r["technician_id"]): [(s["job_id"], s["start_at"], s["helper"]) for s in r["stops"]]
            for r in plan["routes"] if r["date"] == day.isoformat()}


def test_an_urgent_job_goes_into_the_day_of_a_week_plan_its_window_and_sla_decide(api, session, monday):
    days = [monday + timedelta(days=k) for k in range(3)]
    for k, day in enumerate(days):
        for n in range(2):
            make_job(session, "HZ01", day, window=(9, 17), seed=f"mdi-{k}-{n}")
    session.commit()
    answer = request(api, session, {"date": days[0].isoformat(), "date_to": days[2].isoformat(), "time_limit_s": 2})
    plan = api.get(answer.headers["Location"], as_=MANAGER).json
    assert plan["status"] == "done" and not plan["unassigned"], plan["unassigned"]
    assert api.post(f"/api/v1/plans/{plan['id']}/apply", as_=MANAGER).status_code == 200

    # due on Tuesday noon, its window Tuesday only: Tuesday it is, by noon; Monday and Wednesday stay
    tuesday = make_job(session, "HZ01", days[1], window=(9, 17), priority=Priority.URGENT,
                       sla_due_at=local(days[1], 12), seed="mdi-urgent")
    session.commit()
    inserted = insert(api, plan, tuesday)
    assert inserted.status_code == 201, inserted.json
    body = inserted.json
    assert body["date"] == days[1].isoformat() and body["sla"]["met"] is True
    assert local(days[1], 9) <= datetime.fromisoformat(body["start_at"]) <= local(days[1], 12)
    after = body["plan"]
    for day in (days[0], days[2]):
        assert routes_of(after, day) == routes_of(plan, day)  # the other days are left as they were
    assert str(tuesday.id) in {job_id for stops in routes_of(after, days[1]).values() for job_id, _, _ in stops}
    booked = api.get(f"/api/v1/jobs/{tuesday.id}", as_=MANAGER).json
    assert (booked["status"], booked["technician_id"]) == ("scheduled", body["technician_id"])
    assert after["revision"] == 1 and after["insertions"][0]["date"] == days[1].isoformat()

    # a window over all three days: the earliest day it fits
    flexible = make_job(session, "HZ01", days[0], window=None, seed="mdi-flexible")
    flexible.window_start, flexible.window_end = local(days[0], 9), local(days[2], 17)
    session.commit()
    assert insert(api, plan, flexible).json["date"] == days[0].isoformat()
    for day in days:
        assert calendar_violations(session, "HZ01", day) == []

    # outside the plan's days, or too long for any day: 422 naming why, nothing written
    later = make_job(session, "HZ01", monday + timedelta(days=4), window=(9, 17), seed="mdi-later")
    endless = make_job(session, "HZ01", days[2], window=(9, 17), minutes=600, seed="mdi-endless")
    session.commit()
    outside = assert_problem(insert(api, plan, later), 422)
    assert outside["reason"] == "outside_plan" and days[2].isoformat() in outside["detail"]
    too_long = assert_problem(insert(api, plan, endless), 422)
    assert [d["date"] for d in too_long["days"]] == [days[2].isoformat()] and too_long["days"][0]["detail"]
    assert days[2].isoformat() in too_long["detail"]
    for job in (later, endless):
        assert api.get(f"/api/v1/jobs/{job.id}", as_=MANAGER).json["status"] == "dispatched"
    assert api.get(f"/api/v1/plans/{plan['id']}", as_=MANAGER).json["revision"] == 2


def test_a_bad_range_is_a_problem_naming_date_to(api, session, monday):
    before = request(api, session, {"date": monday.isoformat(), "date_to": (monday - timedelta(days=1)).isoformat()})
    assert_problem(before, 422, field="date_to")
    too_long = request(api, session, {"date": monday.isoformat(), "date_to": (monday + timedelta(days=7)).isoformat()})
    assert_problem(too_long, 422, field="date_to")
    not_a_day = request(api, session, {"date": monday.isoformat(), "date_to": "next week"})
    assert_problem(not_a_day, 422, field="date_to")
    week = request(api, session, {"date": monday.isoformat(), "date_to": (monday + timedelta(days=6)).isoformat(),
                                  "time_limit_s": 1})
    assert week.status_code == 202 and week.json["days"] == 7


def test_a_week_plan_is_checked_day_by_day_before_it_is_applied_and_refused_whole(api, session, monday):
    """The calendar moves on between planning and applying without any of the plan's jobs
    changing: a technician's shift on the second day now starts later, then a visit booked by hand
    on the third day leaves its technician no room for lunch. Each time the whole plan is refused
    (409, the day and the technician named) and nothing is written; once the day holds again the
    plan applies and the independent checker finds every day feasible."""
    days = [monday + timedelta(days=k) for k in range(3)]
    jobs = [make_job(session, "HZ01", days[0], window=(9, 17), seed=f"mdc-{n}") for n in range(2)]
    jobs += [make_job(session, "HZ01", day, window=(9, 10), seed=f"mdc-early-{k}") for k, day in enumerate(days[1:])]
    session.commit()
    answer = request(api, session, {"date": days[0].isoformat(), "date_to": days[2].isoformat(), "time_limit_s": 2})
    plan = api.get(answer.headers["Location"], as_=MANAGER).json
    placed = lead_stops(plan)
    assert plan["status"] == "done" and all(str(job.id) in placed for job in jobs), plan["unassigned"]
    second, third = placed[str(jobs[2].id)][1], placed[str(jobs[3].id)][1]

    def refused(day, technician_id) -> dict:
        body = assert_problem(api.post(f"/api/v1/plans/{plan['id']}/apply", as_=MANAGER), 409)
        assert {(p["date"], p["technician_id"]) for p in body["problems"]} == {(day.isoformat(), technician_id)}
        assert day.isoformat() in body["detail"]
        for job in jobs:  # nothing written, on any day
            assert api.get(f"/api/v1/jobs/{job.id}", as_=MANAGER).json["status"] == "dispatched"
        assert api.get(f"/api/v1/plans/{plan['id']}", as_=MANAGER).json["applied_at"] is None
        return body

    # the second day: the technician now starts at 11:00 (leave in the morning)
    leave = api.post(f"/api/v1/technicians/{second}/shift-exceptions", as_=MANAGER,
                     json={"on": days[1].isoformat(), "kind": "leave", "start": "08:30", "end": "11:00",
                           "reason": "dentist"})
    assert leave.status_code == 201, leave.json
    body = refused(days[1], second)
    assert any("not on shift" in p["detail"] or "shift is now" in p["detail"] for p in body["problems"])
    assert api.delete(f"/api/v1/technicians/{second}/shift-exceptions/{leave.json['id']}",
                      as_=MANAGER).status_code == 204

    # the third day: a walk-in booked by hand from 11:00 to 13:45 leaves no gap for lunch
    spot = placed[str(jobs[3].id)][2]["location"]  # next door to the technician's visit of that morning
    walk_in = make_job(session, "HZ01", days[2], window=(8, 18), minutes=165, location=(spot["lat"], spot["lon"]),
                       seed="mdc-walk-in")
    session.commit()
    booked = api.post(f"/api/v1/jobs/{walk_in.id}/assignment", as_=MANAGER,
                      json={"technician_id": third, "scheduled_start": local(days[2], 11).isoformat()})
    assert booked.status_code == 200, booked.json
    body = refused(days[2], third)
    assert "break no longer fits" in body["problems"][0]["detail"]

    assert api.post(f"/api/v1/jobs/{walk_in.id}/transitions", as_=MANAGER,
                    json={"to": "cancelled", "reason": "customer called off"}).status_code == 200
    assert api.post(f"/api/v1/plans/{plan['id']}/apply", as_=MANAGER).status_code == 200
    for day in days:
        assert calendar_violations(session, "HZ01", day) == []
