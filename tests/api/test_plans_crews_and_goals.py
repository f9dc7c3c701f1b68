"""Plans with crews, floating breaks and a manager's balance weight, through HTTP; every plan is
checked by the independent checker (tests/plan_checks.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from dispatch.network.models import JobType
from tests.helpers import assert_problem
from tests.plan_builders import local, make_job, next_workday, point, technicians
from tests.plan_checks import plan_violations

MANAGER = "manager.hz01"


@pytest.fixture
def day():
    return next_workday()


def plan_day(api, session, day, **extra) -> dict:
    response = api.post(f"/api/v1/service-points/{point(session, 'HZ01').id}/plans", as_=MANAGER,
                        json={"date": day.isoformat(), "time_limit_s": 2, **extra})
    assert response.status_code == 202, response.json
    plan = api.get(response.headers["Location"], as_=MANAGER).json
    assert plan["status"] == "done", plan
    return plan


def crew_stops(plan, job_id) -> list[tuple[str, dict]]:
    return [(route["technician_id"], stop) for route in plan["routes"] for stop in route["stops"]
            if stop["job_id"] == job_id]


def test_a_crew_install_is_planned_for_two_technicians_on_site_together_and_applied_to_both(api, session, day):
    install = make_job(session, "HZ01", day, window=(9, 16), sku="WH-EH60", job_type=JobType.INSTALL,
                       minutes=120, crew_size=2, seed="crew-install")
    for i in range(6):
        make_job(session, "HZ01", day, window=(9 + i % 3 * 2, 12 + i % 3 * 2), seed=f"crew-day{i}")
    session.commit()
    plan = plan_day(api, session, day)
    assert plan_violations(session, "HZ01", day, plan) == []
    crew = crew_stops(plan, str(install.id))
    assert sorted(stop["helper"] for _, stop in crew) == [False, True]
    assert len({stop["start_at"] for _, stop in crew}) == 1 and len({t for t, _ in crew}) == 2
    lead = next(t for t, stop in crew if not stop["helper"])
    helper = next(t for t, stop in crew if stop["helper"])
    applied = api.post(f"/api/v1/plans/{plan['id']}/apply", as_=MANAGER)
    assert applied.status_code == 200, applied.json
    job = api.get(f"/api/v1/jobs/{install.id}", as_=MANAGER).json
    assert (job["status"], job["technician_id"], job["helper_ids"]) == ("scheduled", lead, [helper])
    assert datetime.fromisoformat(job["scheduled_start"]) == datetime.fromisoformat(crew[0][1]["start_at"])


def test_a_crew_job_nobody_can_staff_is_left_out_with_the_reason(api, session, day):
    job = make_job(session, "HZ01", day, window=(9, 16), sku="WH-EH60", job_type=JobType.INSTALL, minutes=120,
                   crew_size=4, seed="crew-of-four")
    for tech in technicians(session, "HZ01")[2:]:
        tech.active = False  # two technicians left: no crew of four
    session.commit()
    plan = plan_day(api, session, day)
    assert plan_violations(session, "HZ01", day, plan) == []
    left_out = {item["job_id"]: item for item in plan["unassigned"]}
    assert left_out[str(job.id)]["reason"] == "no_crew" and "crew of 4" in left_out[str(job.id)]["detail"]


def test_the_break_floats_in_the_technicians_break_window(api, session, day):
    tech = technicians(session, "HZ01")[0]
    path = f"/api/v1/technicians/{tech.id}"
    etag = api.get(path, as_=MANAGER).headers["ETag"]
    changed = api.patch(path, as_=MANAGER, headers={"If-Match": etag},
                        json={"break_window": {"earliest": "12:30", "latest": "13:30"}})
    assert changed.status_code == 200, changed.json
    assert changed.json["break_window"] == {"earliest": "12:30", "latest": "13:30"}
    for i in range(10):
        make_job(session, "HZ01", day, window=(9, 17), seed=f"break{i}")
    session.commit()
    plan = plan_day(api, session, day)
    assert plan_violations(session, "HZ01", day, plan) == []
    route = next(r for r in plan["routes"] if r["technician_id"] == str(tech.id))
    if route["stops"]:
        begins = datetime.fromisoformat(route["break_start_at"])
        assert local(day, 12, 30) <= begins <= local(day, 13, 30)


def test_break_windows_are_validated(api, session):
    tech = technicians(session, "HZ01")[0]
    path = f"/api/v1/technicians/{tech.id}"
    etag = api.get(path, as_=MANAGER).headers["ETag"]
    for window, field in [({"earliest": "13:00", "latest": "12:00"}, "break_window.latest"),
                          ({"earliest": "12:00"}, "break_window.latest"),
                          ({"earliest": "noon", "latest": "13:00"}, "break_window.earliest")]:
        assert_problem(api.patch(path, as_=MANAGER, headers={"If-Match": etag}, json={"break_window": window}),
                       422, field=field)
    cleared = api.patch(path, as_=MANAGER, headers={"If-Match": etag}, json={"break_window": None})
    assert cleared.status_code == 200 and cleared.json["break_window"] is None
    session.expire_all()
    assert session.get(type(tech), tech.id).break_earliest is None


def test_a_balance_weight_shares_the_day_and_is_kept_on_the_plan(api, session, day):
    for i in range(12):
        make_job(session, "HZ01", day, window=(9, 17), spread_km=2.0, seed=f"balance{i}")
    session.commit()
    plain = plan_day(api, session, day)
    balanced = plan_day(api, session, day, balance_weight=5.0, seed=1)
    assert balanced["balance_weight"] == 5.0 and plain["balance_weight"] == 0.0
    for plan in (plain, balanced):
        assert plan_violations(session, "HZ01", day, plan) == []

    def work_h(plan) -> list[float]:
        return sorted(round((route["travel_s"] + sum(
            (datetime.fromisoformat(s["finish_at"]) - datetime.fromisoformat(s["start_at"])).total_seconds()
            for s in route["stops"])) / 3600, 2) for route in plan["routes"])

    print("work per technician (h): plain", work_h(plain), "balanced", work_h(balanced))
    assert plain["stats"]["served"] == balanced["stats"]["served"]
    assert max(work_h(balanced)) - min(work_h(balanced)) < max(work_h(plain)) - min(work_h(plain))


@pytest.mark.parametrize(("body", "field"), [
    ({"balance_weight": -1}, "balance_weight"), ({"balance_weight": 11}, "balance_weight"),
    ({"balance_weight": "heavy"}, "balance_weight"), ({"wait_cost": -0.5}, "wait_cost"),
])
def test_bad_goals_name_the_field(api, session, day, body, field):
    response = api.post(f"/api/v1/service-points/{point(session, 'HZ01').id}/plans", as_=MANAGER,
                        json={"date": day.isoformat(), **body})
    assert_problem(response, 422, field=field)


