"""Training and assessment: HQ's courses per skill; a passed course grants or renews the
certificate assignment checks (an expired one made valid again), a failed exam grants nothing;
a failed assessment withdraws the skill (assignment and the planner refuse it, editing the
technician cannot give it back) until a passed re-assessment restores it; who may do what."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.audit_log.models import LogEntry
from dispatch.network.models import ProductCategory
from dispatch.network.rules import add_months
from dispatch.routing import day as planning_day
from tests.api.jobs_builders import (
    MONDAY,
    TUESDAY,
    assign,
    create_job,
    local,
    own_hooks_only,  # noqa: F401 - fixture
    point,
    technician,
    units,
)
from tests.helpers import assert_problem

COURSES = "/api/v1/training/courses"
TODAY = MONDAY.date()


@pytest.fixture(autouse=True)
def monday(own_hooks_only):
    with clock.frozen(MONDAY):
        yield MONDAY


def course(api, code: str, category: str, job_type: str = "install", months: int = 12) -> dict:
    response = api.post(COURSES, as_="admin", json={"code": code, "title": f"Course {code}", "category": category,
                                                    "job_type": job_type, "pass_score": 70,
                                                    "certificate_months": months})
    assert response.status_code == 201, response.json
    return response.json


def qualification(api, technician_id, category: str, job_type: str, as_: str = "admin") -> dict:
    response = api.get(f"/api/v1/technicians/{technician_id}/qualification?category={category}&job_type={job_type}"
                       f"&on={TODAY.isoformat()}", as_=as_)
    assert response.status_code == 200, response.json
    return response.json


def test_hq_keeps_the_catalogue_and_every_role_reads_it(api):
    made = course(api, "T-WH1", "water_heater")
    assert_problem(api.post(COURSES, as_="admin", json={**{k: made[k] for k in (
        "code", "title", "category", "job_type", "pass_score", "certificate_months")}}), 409)
    assert_problem(api.post(COURSES, as_="manager.hz01", json={
        "code": "T-X", "title": "x", "category": "water_heater", "job_type": "install", "pass_score": 70,
        "certificate_months": 12}), 403)
    bad = assert_problem(api.post(COURSES, as_="admin", json={
        "code": "T-Y", "title": "y", "category": "kettle", "job_type": "install", "pass_score": 150,
        "certificate_months": 0}), 422)
    assert {"category", "pass_score", "certificate_months"} <= set(bad["errors"])
    listed = api.get(f"{COURSES}?category=water_heater", as_="tech.hz01.1").json
    assert made["id"] in {c["id"] for c in listed}


def test_a_passed_course_renews_an_expired_certificate_and_a_failed_exam_grants_nothing(api, session):
    tech = technician(session, "tech.nb01.3")  # the demo's expired water-heater certificate
    assert qualification(api, tech.id, "water_heater", "install")["qualified"] is False
    heater = course(api, "T-WH2", "water_heater", months=12)
    url = f"/api/v1/technicians/{tech.id}/course-results"
    held_on = TODAY - timedelta(days=2)
    failed = api.post(url, as_="manager.nb01", json={"course_id": heater["id"], "held_on": held_on.isoformat(),
                                                     "attended": True, "exam_score": 55})
    assert failed.status_code == 201, failed.json
    assert (failed.json["passed"], failed.json["certification_id"]) == (False, None)
    assert qualification(api, tech.id, "water_heater", "install")["qualified"] is False
    passed = api.post(url, as_="manager.nb01", json={"course_id": heater["id"], "held_on": held_on.isoformat(),
                                                     "attended": True, "exam_score": 81})
    assert passed.status_code == 201, passed.json
    assert passed.json["passed"] is True and passed.json["certification_id"]
    assert passed.json["certificate_expires_on"] == (add_months(held_on, 12) - timedelta(days=1)).isoformat()
    assert qualification(api, tech.id, "water_heater", "install")["qualified"] is True
    # the next session renews the same certificate rather than adding another
    again = api.post(url, as_="admin", json={"course_id": heater["id"], "held_on": TODAY.isoformat(),
                                             "attended": True, "exam_score": 90}).json
    assert again["certification_id"] == passed.json["certification_id"]
    assert again["certificate_expires_on"] > passed.json["certificate_expires_on"]
    record = api.get(f"/api/v1/technicians/{tech.id}/training", as_="tech.nb01.3").json
    assert sorted(r["exam_score"] for r in record["results"] if r["course_code"] == "T-WH2") == [55, 81, 90]
    kinds = session.scalars(select(LogEntry.kind).where(LogEntry.subject_id == str(tech.id),
                                                        LogEntry.kind == "training.course_result")).all()
    assert len(kinds) == 3


def test_bad_results_and_foreign_technicians_are_refused(api, session):
    heater = course(api, "T-WH3", "water_heater")
    own, foreign = technician(session, "tech.hz01.2"), technician(session, "tech.nb01.1")
    body = {"course_id": heater["id"], "held_on": TODAY.isoformat(), "attended": False, "exam_score": 80}
    assert_problem(api.post(f"/api/v1/technicians/{own.id}/course-results", as_="manager.hz01", json=body),
                   422, field="exam_score")
    future = {**body, "attended": True, "held_on": (TODAY + timedelta(days=1)).isoformat()}
    assert_problem(api.post(f"/api/v1/technicians/{own.id}/course-results", as_="manager.hz01", json=future),
                   422, field="held_on")
    good = {**body, "attended": True}
    assert_problem(api.post(f"/api/v1/technicians/{foreign.id}/course-results", as_="manager.hz01", json=good), 404)
    assert_problem(api.post(f"/api/v1/technicians/{own.id}/course-results", as_="tech.hz01.2", json=good), 403)
    assert_problem(api.post(f"/api/v1/technicians/{own.id}/assessments", as_="manager.hz01", json={
        "category": "water_purifier", "job_type": "repair", "assessed_on": TODAY.isoformat(), "score": 101}),
        422, field="score")
    assert_problem(api.get(f"/api/v1/technicians/{own.id}/training", as_="tech.hz01.1"), 404)  # a colleague's
    assert_problem(api.get(f"/api/v1/technicians/{own.id}/training", as_="manager.nb01"), 404)


def test_a_failed_assessment_withdraws_the_skill_until_a_passed_reassessment(api, session):
    tech = technician(session, "tech.hz01.1")
    assert qualification(api, tech.id, "water_purifier", "repair")["has_skill"] is True
    url = f"/api/v1/technicians/{tech.id}/assessments"
    failed = api.post(url, as_="manager.hz01", json={"category": "water_purifier", "job_type": "repair",
                                                     "assessed_on": TODAY.isoformat(), "score": 42,
                                                     "note": "skipped the pressure test"})
    assert failed.status_code == 201, failed.json
    assert (failed.json["passed"], failed.json["skill_effect"]) == (False, "withdrawn")
    assert qualification(api, tech.id, "water_purifier", "repair")["has_skill"] is False

    # assignment refuses the technician for a purifier repair ...
    purifier = units(session, "HZ01", category=ProductCategory.WATER_PURIFIER)[0]
    job = create_job(api, session, unit_serial=purifier.serial)
    refused = assert_problem(assign(api, job, tech.id, local(TUESDAY, 10)), 422, field="technician_id")
    assert refused["rule"] == "skill"
    # ... the planner's input no longer gives them the skill ...
    session.expire_all()
    problem = planning_day.read_day(session, point(session, "HZ01"), TUESDAY, ZoneInfo("Asia/Shanghai"),
                                    now=MONDAY, time_limit_s=1, seed=0).problem
    assert "water_purifier:repair" not in problem.technician(str(tech.id)).skills
    # ... and editing the technician cannot give it back
    profile = api.get(f"/api/v1/technicians/{tech.id}", as_="manager.hz01")
    skills = profile.json["skills"] + [{"category": "water_purifier", "job_type": "repair"}]
    assert_problem(api.patch(f"/api/v1/technicians/{tech.id}", as_="manager.hz01", json={"skills": skills},
                             headers={"If-Match": profile.headers["ETag"]}), 422, field="skills")
    record = api.get(f"/api/v1/technicians/{tech.id}/training", as_="tech.hz01.1").json
    assert [(h["category"], h["job_type"]) for h in record["held_skills"]] == [("water_purifier", "repair")]

    passed = api.post(url, as_="admin", json={"category": "water_purifier", "job_type": "repair",
                                              "assessed_on": TODAY.isoformat(), "score": 78})
    assert (passed.json["passed"], passed.json["skill_effect"]) == (True, "restored")
    assert qualification(api, tech.id, "water_purifier", "repair")["qualified"] is True
    assert assign(api, job, tech.id, local(TUESDAY, 10)).status_code == 200
    assert api.get(f"/api/v1/technicians/{tech.id}/training", as_="admin").json["held_skills"] == []
