"""Training and assessment over a few weeks, role by role through HTTP: HZ01's quarterly
assessment fails a technician on purifier repairs, so the manager can no longer book them for
one; the technician retakes HQ's repair course (the pass renews the certificate) and passes the
re-assessment; the next purifier repair is theirs again."""

from __future__ import annotations

from tests.dates import SUITE_TODAY, local
from tests.helpers import assert_problem
from tests.scenarios.steps import (
    ADMIN,
    API,
    book,
    caller_unit,
    free_hour,
    next_working_day,
    ok,
    repair_call,
    take_in,
    team,
)

MANAGER = "manager.hz01"


def test_a_failed_assessment_keeps_a_technician_off_purifier_repairs_until_retrained(api, session, walk):
    worker = team(api, MANAGER)[0]
    tech_url = f"{API}/technicians/{worker['id']}"

    # --- HQ: the repair course is in the catalogue -----------------------------------------------
    courses = ok(api.get(f"{API}/training/courses?category=water_purifier&job_type=repair", as_=MANAGER))
    [repair_course] = courses

    # --- manager: the quarterly assessment; the technician fails purifier repairs --------------
    walk.to(local(SUITE_TODAY, 17))
    failed = ok(api.post(f"{tech_url}/assessments", as_=MANAGER, json={
        "category": "water_purifier", "job_type": "repair", "assessed_on": SUITE_TODAY.isoformat(), "score": 48,
        "note": "did not test the inlet pressure"}), 201)
    assert failed["skill_effect"] == "withdrawn"

    # --- call centre and manager: a purifier repair cannot go to that technician ---------------
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    taken = take_in(api, repair_call(unit, day, (9, 17), "purifier leaks")).json
    start = free_hour(api, MANAGER, worker["id"], day)
    refused = assert_problem(api.post(f"{API}/jobs/{taken['id']}/assignment", as_=MANAGER, json={
        "technician_id": worker["id"], "scheduled_start": start.isoformat()}), 422, field="technician_id")
    assert refused["rule"] == "skill"

    # --- the technician retakes the course (HQ records it) and passes the re-assessment ---------
    walk.by(hours=1)
    result = ok(api.post(f"{tech_url}/course-results", as_=ADMIN, json={
        "course_id": repair_course["id"], "held_on": SUITE_TODAY.isoformat(), "attended": True,
        "exam_score": 88}), 201)
    assert result["passed"] and result["certificate_expires_on"] > day.isoformat()
    passed = ok(api.post(f"{tech_url}/assessments", as_=MANAGER, json={
        "category": "water_purifier", "job_type": "repair", "assessed_on": SUITE_TODAY.isoformat(), "score": 81}),
        201)
    assert passed["skill_effect"] == "restored"

    # --- manager: the repair is theirs; the technician sees their record -------------------------
    booked = book(api, MANAGER, taken["id"], worker["id"], start)
    assert booked["technician_id"] == worker["id"]
    record = ok(api.get(f"{tech_url}/training", as_=worker["username"]))
    assert sorted(a["score"] for a in record["assessments"]) == [48, 81] and record["held_skills"] == []
