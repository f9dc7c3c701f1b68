"""Requesting and reading route plans through HTTP: 202 + background task, routes with local ETAs,
scoping, validation, and "a plan always comes back"."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dispatch.app import create_app
from dispatch.clock import frozen, utcnow
from dispatch.jobs.models import Priority
from dispatch.network.models import StartLocation
from tests.helpers import Api, assert_problem
from tests.plan_builders import RecordingTaskQueue, make_job, next_workday, point, technicians


@pytest.fixture
def day():
    return next_workday()


def plan_day(api, point_id, day, as_="manager.hz01", time_limit_s=1, **extra):
    response = api.post(f"/api/v1/service-points/{point_id}/plans", as_=as_,
                        json={"date": day.isoformat(), "time_limit_s": time_limit_s, **extra})
    assert response.status_code == 202, response.json
    return response


def served_and_left_out(plan):
    served = {stop["job_id"]: (route, stop) for route in plan["routes"] for stop in route["stops"]}
    left_out = {item["job_id"]: item for item in plan["unassigned"]}
    return served, left_out


def test_a_manager_plans_the_day_and_reads_routes_with_local_etas_inside_the_windows(api, session, day):
    hz01 = point(session, "HZ01")
    jobs = [make_job(session, "HZ01", day, window=(9 + 2 * (i % 3), 11 + 2 * (i % 3)), seed=f"eta{i}")
            for i in range(8)]
    session.commit()

    response = plan_day(api, hz01.id, day)
    assert response.headers["Location"].endswith(f"/api/v1/plans/{response.json['id']}")
    assert response.json["status"] == "done"  # no Redis in tests: the task ran right after commit

    plan = api.get(response.headers["Location"], as_="manager.hz01").json
    assert plan["date"] == day.isoformat() and plan["progress"] == 100 and plan["attempts"] == 1
    served, left_out = served_and_left_out(plan)
    assert {str(j.id) for j in jobs} <= set(served) | set(left_out)
    assert not set(served) & set(left_out)
    for job in jobs:
        route, stop = served[str(job.id)]
        arrival = datetime.fromisoformat(stop["arrival_at"])
        start = datetime.fromisoformat(stop["start_at"])
        assert arrival.utcoffset() == timedelta(hours=8)
        assert job.window_start <= start <= job.window_end
        assert datetime.fromisoformat(stop["finish_at"]) - start == timedelta(minutes=45)
        assert stop["job_reference"] == job.reference
        assert datetime.fromisoformat(route["shift_start_at"]) <= arrival
    for route in plan["routes"]:
        assert [s["sequence"] for s in route["stops"]] == list(range(1, len(route["stops"]) + 1))
        assert route["technician_name"]
        assert route["distance_m"] == sum(s["distance_m"] for s in route["stops"]) + route["return_distance_m"]
        finishes = [datetime.fromisoformat(s["finish_at"]) for s in route["stops"]]
        arrivals = [datetime.fromisoformat(s["arrival_at"]) for s in route["stops"]]
        assert all(f <= a for f, a in zip(finishes, arrivals[1:]))
        if route["stops"]:
            assert datetime.fromisoformat(route["return_at"]) <= datetime.fromisoformat(route["shift_end_at"])
    stats = plan["stats"]
    assert stats["served"] == len(served) and stats["unassigned"] == len(left_out)
    assert stats["jobs"] == len(served) + len(left_out)
    assert stats["solver"]["time_limit_s"] == 1 and stats["technicians"] == 5


def test_an_oversubscribed_day_still_comes_back_and_drops_the_lowest_priorities_first(api, session, day):
    hz01 = point(session, "HZ01")
    ranks = {}
    for i in range(66):
        priority = (Priority.URGENT, Priority.NORMAL, Priority.LOW)[i % 3]
        job = make_job(session, "HZ01", day, window=(9, 17), minutes=60, spread_km=2, priority=priority,
                       seed=f"over{i}")
        ranks[str(job.id)] = priority.rank
    outside = make_job(session, "HZ01", day, window=(20, 22), seed="late")
    nowhere = make_job(session, "HZ01", day, location=None)
    session.commit()

    plan = api.get(plan_day(api, hz01.id, day, time_limit_s=2).headers["Location"], as_="manager.hz01").json
    assert plan["status"] == "done"
    served, left_out = served_and_left_out(plan)
    assert left_out[str(outside.id)]["reason"] == "window_outside_all_shifts"
    assert left_out[str(nowhere.id)]["reason"] == "no_location"
    dropped = [ranks[j] for j, item in left_out.items() if j in ranks]
    assert dropped and all(left_out[j]["reason"] == "capacity" for j in left_out if j in ranks)
    assert all(left_out[j]["detail"] for j in left_out)
    kept = {ranks[j] for j in served if j in ranks}
    assert Priority.URGENT.rank not in dropped and Priority.URGENT.rank in kept
    assert not (Priority.NORMAL.rank in dropped and Priority.LOW.rank in kept)
    assert plan["stats"]["unassigned_by_reason"]["capacity"] == \
        sum(1 for item in left_out.values() if item["reason"] == "capacity")


def test_a_day_without_anyone_on_shift_comes_back_with_every_job_unassigned(api, session, day):
    sunday = day + timedelta(days=(6 - day.weekday()))
    hz01 = point(session, "HZ01")
    job = make_job(session, "HZ01", sunday)
    session.commit()
    plan = api.get(plan_day(api, hz01.id, sunday).headers["Location"], as_="manager.hz01").json
    assert plan["status"] == "done" and plan["routes"] == []
    assert {"job_id": str(job.id), "reason": "no_technician_on_shift"}.items() <= \
        next(item for item in plan["unassigned"] if item["job_id"] == str(job.id)).items()


def test_a_manager_of_another_point_gets_404_for_the_point_and_its_plans(api, session, day):
    hz01 = point(session, "HZ01")
    make_job(session, "HZ01", day)
    session.commit()
    location = plan_day(api, hz01.id, day).headers["Location"]
    plan_id = location.rsplit("/", 1)[1]

    assert_problem(api.post(f"/api/v1/service-points/{hz01.id}/plans", as_="manager.nb01",
                            json={"date": day.isoformat()}), 404)
    assert_problem(api.get(f"/api/v1/service-points/{hz01.id}/plans", as_="manager.nb01"), 404)
    assert_problem(api.get(location, as_="manager.nb01"), 404)
    assert_problem(api.get(f"{location}/map.svg", as_="manager.nb01"), 404)
    assert_problem(api.post(f"{location}/apply", as_="manager.nb01"), 404)
    assert_problem(api.post(f"/api/v1/plans/{plan_id}/insertions", as_="manager.nb01",
                            json={"job_id": plan_id}), 404)
    assert api.get(location, as_="admin").status_code == 200
    assert api.get(location, as_="reviewer").status_code == 200


def test_reviewers_and_technicians_may_not_plan(api, session, day):
    hz01 = point(session, "HZ01")
    body = {"date": day.isoformat(), "time_limit_s": 1}
    assert_problem(api.post(f"/api/v1/service-points/{hz01.id}/plans", as_="reviewer", json=body), 403)
    assert_problem(api.post(f"/api/v1/service-points/{hz01.id}/plans", as_="tech.hz01.1", json=body), 403)
    assert_problem(api.get(f"/api/v1/service-points/{hz01.id}/plans", as_="tech.hz01.1"), 403)
    assert plan_day(api, hz01.id, day, as_="admin").json["status"] == "done"


def test_bad_requests_name_the_field(api, session, day):
    hz01 = point(session, "HZ01")
    url = f"/api/v1/service-points/{hz01.id}/plans"
    yesterday = day - timedelta(days=7)
    assert_problem(api.post(url, as_="manager.hz01", json={"date": yesterday.isoformat()}), 422, field="date")
    assert_problem(api.post(url, as_="manager.hz01", json={"date": (day + timedelta(days=400)).isoformat()}),
                   422, field="date")
    assert_problem(api.post(url, as_="manager.hz01", json={}), 422, field="date")
    assert_problem(api.post(url, as_="manager.hz01", json={"date": day.isoformat(), "time_limit_s": 0}),
                   422, field="time_limit_s")
    assert_problem(api.post(url, as_="manager.hz01", json={"date": "tomorrow"}), 422, field="date")
    assert_problem(api.get("/api/v1/plans/00000000-0000-0000-0000-000000000000", as_="admin"), 404)
    sz03 = point(session, "SZ03")
    assert_problem(api.post(f"/api/v1/service-points/{sz03.id}/plans", as_="admin",
                            json={"date": day.isoformat()}), 422, code="rule-violation")


def test_the_same_request_while_it_is_queued_returns_the_queued_plan(settings, session_factory, session, day):
    queue = RecordingTaskQueue()
    api = Api(create_app(settings, session_factory=session_factory, task_queue=queue).test_client())
    hz01 = point(session, "HZ01")
    make_job(session, "HZ01", day)
    session.commit()
    first = plan_day(api, hz01.id, day, time_limit_s=3).json
    again = plan_day(api, hz01.id, day, time_limit_s=3).json
    other = plan_day(api, hz01.id, day, time_limit_s=4).json
    assert first["status"] == "queued" and first["progress"] == 0
    assert again["id"] == first["id"] and other["id"] != first["id"]
    task_id = f"plan-routes-{first['id'].replace('-', '')}-{first['input_hash'][:16]}-0"
    assert [(task, args, name) for task, args, _, name in queue.enqueued] == [
        ("workers.routing_tasks.plan_routes", (first["id"],), "routing"),
        ("workers.routing_tasks.plan_routes", (first["id"],), "routing"),  # same task id: a no-op on RQ
        ("workers.routing_tasks.plan_routes", (other["id"],), "routing"),
    ]
    assert queue.enqueued[0][2] == queue.enqueued[1][2] == task_id


def test_plan_lists_are_newest_first_and_filter_by_date_and_status(api, session, day):
    hz01 = point(session, "HZ01")
    make_job(session, "HZ01", day)
    session.commit()
    first = plan_day(api, hz01.id, day).json["id"]
    with frozen(utcnow() + timedelta(seconds=30)):  # requested half a minute later
        second = plan_day(api, hz01.id, day, seed=7).json["id"]
        listed = api.get(f"/api/v1/service-points/{hz01.id}/plans?date={day.isoformat()}", as_="manager.hz01")
        assert listed.status_code == 200
    assert [p["id"] for p in listed.json][:2] == [second, first]
    assert all("routes" not in p for p in listed.json)
    failed = api.get(f"/api/v1/service-points/{hz01.id}/plans?status=failed", as_="manager.hz01").json
    assert failed == []


def test_master_data_the_planner_cannot_take_is_a_422_not_a_500(api, session, day):
    home_starter = next(t for t in technicians(session, "HZ01") if t.start_location == StartLocation.HOME)
    home_starter.home_lat = 95.0  # typed in wrongly: off the map
    session.commit()
    body = assert_problem(api.post(f"/api/v1/service-points/{point(session, 'HZ01').id}/plans", as_="manager.hz01",
                                   json={"date": day.isoformat(), "time_limit_s": 1}), 422, code="rule-violation")
    assert "latitude 95.0" in body["detail"]
