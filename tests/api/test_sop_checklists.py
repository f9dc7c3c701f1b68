"""SOP checklists through HTTP: pinned at scheduling, each step kind validated, ranges that block
or flag, ordering, revisions, who may record, the completion gate and read-only afterwards."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from dispatch import clock
from dispatch.audit_log.models import LogEntry
from dispatch.sop.models import SopTemplate, SopVersion, VersionStatus
from tests.api.jobs_builders import MONDAY, move
from tests.api.sop_builders import (
    MANAGER,
    RECORDED_AT,
    STEPS,
    TECH,
    checklist,
    complete_every_step,
    on_site_job,
    photo_ids,
    publish_template,
    put_step,
    scheduled_job,
    step,
    upload,
)
from tests.helpers import assert_problem


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


@pytest.fixture
def template(api, session):
    return publish_template(api, session)


@pytest.fixture
def job(api, session, template):
    return on_site_job(api, session)


def test_scheduling_a_job_gives_it_a_checklist_pinned_to_the_version_in_force(api, session, template):
    job = scheduled_job(api, session)
    body = checklist(api, job)
    assert (body["template_code"], body["version_number"], body["status"]) == ("TEST-REPAIR-MODEL", 1, "open")
    assert body["job_id"] == job["id"] and body["service_point_id"] == job["service_point_id"]
    assert [s["key"] for s in body["steps"]] == [s["key"] for s in STEPS]
    assert {s["status"] for s in body["steps"]} == {"pending"}
    assert body["missing_steps"] == ["photo_before", "pressure", "tds_tap", "tds_purified", "diagnosis", "leak_free",
                                     "customer_signature"]  # notes is optional
    assert not body["complete"]
    pressure = step(body, "pressure")
    assert (pressure["unit"], pressure["min"], pressure["max"], pressure["decimals"]) == ("MPa", 0.1, 0.4, 2)
    assert pressure["prerequisites"] == ["photo_before"]
    assert step(body, "leak_free")["prerequisites"] == ["photo_before", "pressure", "tds_tap", "tds_purified",
                                                         "diagnosis"]
    assert checklist(api, job, as_=MANAGER)["id"] == body["id"]
    assert checklist(api, job, as_="reviewer")["id"] == body["id"]
    assert_problem(api.get(f"/api/v1/jobs/{job['id']}/checklist", as_="manager.hz02"), 404)
    assert_problem(api.get(f"/api/v1/jobs/{job['id']}/checklist", as_="tech.hz01.2"), 404)


def test_publishing_a_new_version_never_changes_a_checklist_in_flight(api, session, template):
    in_flight = scheduled_job(api, session)
    draft = api.post(f"/api/v1/sop/templates/{template['id']}/versions", as_="admin")
    assert draft.status_code == 201
    edited = api.put(f"/api/v1/sop/templates/{template['id']}/versions/2", as_="admin", json={
        "title": "Repair (test model) v2", "steps": [*STEPS, {"key": "handover", "title": "Handover",
                                                                 "kind": "confirm"}]})
    assert edited.status_code == 200, edited.json
    assert api.post(f"/api/v1/sop/templates/{template['id']}/versions/2/publish", as_="admin").status_code == 200
    pinned = checklist(api, in_flight)
    assert pinned["version_number"] == 1 and "handover" not in [s["key"] for s in pinned["steps"]]
    newer = checklist(api, scheduled_job(api, session))
    assert newer["version_number"] == 2 and newer["steps"][-1]["key"] == "handover"


@pytest.mark.parametrize(("key", "value", "evidence", "field"), [
    ("photo_before", None, 0, "evidence"),  # a photo step needs min_count photos
    ("photo_before", None, 3, "evidence"),  # ... and at most max_count
    ("photo_before", "caption", 1, "value"),
    ("pressure", "0.25", 0, "value"),  # a number, not text
    ("pressure", 0.255, 0, "value"),  # at most 2 decimals
    ("pressure", True, 0, "value"),
    ("tds_tap", None, 0, "value"),
    ("diagnosis", "gremlins", 0, "value"),  # one of the options
    ("notes", "   ", 0, "value"),
    ("leak_free", "yes", 0, "value"),  # confirm is true or false
    ("customer_signature", "Qian Hao", 0, "evidence"),  # the signature image
    ("customer_signature", "", 1, "value"),  # the signer's name
])
def test_each_step_kind_rejects_a_value_of_the_wrong_shape_naming_the_field(api, job, key, value, evidence, field):
    for earlier, earlier_value, n in [("photo_before", None, 1), ("pressure", 0.2, 0), ("tds_tap", 100, 0),
                                      ("tds_purified", 10, 0), ("diagnosis", "pump failure", 0), ("leak_free", True, 0)]:
        if earlier == key:
            break
        assert put_step(api, job, earlier, earlier_value, photo_ids(api, n)).status_code == 200
    assert_problem(put_step(api, job, key, value, photo_ids(api, evidence)), 422, field=field)
    assert step(checklist(api, job), key)["status"] == "pending"  # nothing stored


def test_each_step_kind_accepts_a_well_formed_value(api, job):
    photos = photo_ids(api, 2)
    response = put_step(api, job, "photo_before", None, photos, location={"lat": 30.26, "lon": 120.13})
    assert response.status_code == 200, response.json
    current = response.json["current"]
    assert (response.json["status"], current["revision"], current["lat"], current["lon"]) == (
        "passed", 1, 30.26, 120.13)
    assert [e["id"] for e in current["evidence"]] == photos
    assert datetime.fromisoformat(current["recorded_at"]) == datetime.fromisoformat(RECORDED_AT)
    assert datetime.fromisoformat(current["received_at"]) == MONDAY
    for key, value in [("pressure", 0.25), ("tds_tap", 180), ("tds_purified", 12), ("diagnosis", "pump failure"),
                       ("notes", "  replaced the pump  "), ("leak_free", True)]:
        response = put_step(api, job, key, value)
        assert response.status_code == 200, response.json
        assert response.json["status"] == "passed"
    assert step(checklist(api, job), "notes")["current"]["value"] == "replaced the pump"
    signed = put_step(api, job, "customer_signature", "Qian Hao", photo_ids(api, 1))
    assert (signed.status_code, signed.json["current"]["value"]) == (200, "Qian Hao")
    assert checklist(api, job)["complete"] is True


def test_a_blocking_reading_out_of_range_is_stored_and_fails_the_step(api, job):
    put_step(api, job, "photo_before", None, photo_ids(api, 1))
    response = put_step(api, job, "pressure", 0.05)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "failed"
    assert response.json["reasons"] == [{"code": "below-min", "message": "0.05 MPa is below the minimum 0.1 MPa"}]
    assert response.json["current"]["value"] == 0.05
    assert checklist(api, job)["failed_steps"] == ["pressure"]


def test_a_confirm_answered_false_fails_a_blocking_step(api, job):
    complete_every_step(api, job)
    response = put_step(api, job, "leak_free", False)
    assert (response.json["status"], response.json["reasons"][0]["code"]) == ("failed", "not-confirmed")


def test_purified_water_not_lower_than_tap_water_is_flagged_for_review_not_failed(api, job):
    assert put_step(api, job, "tds_tap", 90).status_code == 200
    flagged = put_step(api, job, "tds_purified", 95)
    assert flagged.json["status"] == "flagged"
    assert [r["code"] for r in flagged.json["reasons"]] == ["not-lower"]
    assert "not lower than tds_tap (90 ppm)" in flagged.json["reasons"][0]["message"]
    body = checklist(api, job)
    assert body["flagged_steps"] == ["tds_purified"] and body["failed_steps"] == []
    put_step(api, job, "tds_tap", 300)  # re-measured: the comparison follows the reference
    assert step(checklist(api, job), "tds_purified")["status"] == "passed"


def test_steps_go_in_order_unless_they_declare_what_they_need(api, job):
    early = put_step(api, job, "leak_free", True)
    body = assert_problem(early, 409, code="step-out-of-order")
    assert body["missing_steps"] == ["photo_before", "pressure", "tds_tap", "tds_purified", "diagnosis"]
    needs_photo = assert_problem(put_step(api, job, "pressure", 0.2), 409, code="step-out-of-order")
    assert needs_photo["missing_steps"] == ["photo_before"]
    # after: [] means any time; the comparison's reference is needed first
    assert put_step(api, job, "notes", "customer home all day").status_code == 200
    assert assert_problem(put_step(api, job, "tds_purified", 10), 409)["missing_steps"] == ["tds_tap"]
    assert put_step(api, job, "tds_tap", 200).status_code == 200
    assert put_step(api, job, "tds_purified", 10).status_code == 200
    state = step(checklist(api, job), "diagnosis")
    assert state["waiting_for"] == ["photo_before", "pressure"]
    put_step(api, job, "photo_before", None, photo_ids(api, 1))
    put_step(api, job, "pressure", 0.2)
    assert put_step(api, job, "diagnosis", "leak at a fitting").status_code == 200  # optional notes never blocked


def test_submitting_a_step_again_keeps_the_earlier_value_as_a_revision(api, job):
    put_step(api, job, "photo_before", None, photo_ids(api, 1))
    put_step(api, job, "pressure", 0.46)
    again = put_step(api, job, "pressure", 0.32, recorded_at=(datetime.fromisoformat(RECORDED_AT) + timedelta(minutes=15)).isoformat())
    assert (again.json["status"], again.json["current"]["revision"], again.json["current"]["value"]) == (
        "passed", 2, 0.32)
    plain = step(checklist(api, job), "pressure")
    assert "revisions" not in plain and plain["current"]["value"] == 0.32
    history = step(checklist(api, job, as_="reviewer", include="revisions"), "pressure")["revisions"]
    assert [(r["revision"], r["value"], r["status"]) for r in history] == [(1, 0.46, "failed"), (2, 0.32, "passed")]
    assert history[0]["reasons"][0]["code"] == "above-max"
    entries = api.client.application.extensions["dispatch"].session_factory
    with entries() as session:
        logged = session.scalars(select(LogEntry).where(LogEntry.kind == "sop.step_result")
                                 .order_by(LogEntry.seq.desc()).limit(2)).all()
    assert [(e.payload["step_key"], e.payload["revision"], e.payload["value"]) for e in reversed(logged)] == [
        ("pressure", 1, 0.46), ("pressure", 2, 0.32)]


def test_only_the_assigned_technician_records_steps_and_only_on_site(api, session, template):
    waiting = scheduled_job(api, session)
    not_yet = assert_problem(put_step(api, waiting, "photo_before", None, photo_ids(api, 1)), 409)
    assert not_yet["job_status"] == "scheduled"
    job = on_site_job(api, session)
    assert_problem(put_step(api, job, "photo_before", None, photo_ids(api, 1, as_=MANAGER), as_=MANAGER), 403)
    assert_problem(put_step(api, job, "photo_before", None, photo_ids(api, 1, as_="tech.hz01.2"),
                            as_="tech.hz01.2"), 404)
    assert_problem(put_step(api, job, "no_such_step", True), 404)
    assert_problem(api.put(f"/api/v1/jobs/{job['id']}/checklist/steps/leak_free", as_=TECH, json={"value": True}),
                   422, field="recorded_at")


def test_evidence_must_be_an_image_the_callers_point_uploaded(api, job):
    foreign = upload(api, as_="tech.hz02.1").json["id"]
    body = assert_problem(put_step(api, job, "photo_before", None, [foreign]), 422, field="evidence.0")
    assert foreign in body["errors"]["evidence.0"][0]
    unknown = str(uuid.uuid4())
    assert_problem(put_step(api, job, "photo_before", None, [unknown]), 422, field="evidence.0")
    mine = photo_ids(api, 1)[0]
    assert_problem(put_step(api, job, "photo_before", None, [mine, mine]), 422, field="evidence")


def test_completion_is_refused_while_steps_are_missing_or_a_blocking_step_failed(api, job):
    put_step(api, job, "photo_before", None, photo_ids(api, 1))
    put_step(api, job, "pressure", 0.5)
    body = assert_problem(move(api, job, "completed", TECH), 409, code="checklist-incomplete")
    assert body["missing_steps"] == ["tds_tap", "tds_purified", "diagnosis", "leak_free", "customer_signature"]
    assert body["failed_steps"] == ["pressure"]
    assert "Inlet pressure" in body["detail"]
    complete_every_step(api, job)  # pressure re-measured in range
    put_step(api, job, "tds_purified", 200)  # out of its range and not lower: flagged only
    done = move(api, job, "completed", TECH)
    assert done.status_code == 200, done.json
    assert done.json["status"] == "completed"


def test_after_completion_the_checklist_is_read_only_and_found_by_point_and_week(api, session, job):
    complete_every_step(api, job)
    assert move(api, job, "completed", TECH).status_code == 200
    body = checklist(api, job, as_="reviewer")
    assert body["status"] == "completed" and body["complete"] is True
    assert datetime.fromisoformat(body["completed_at"]) == MONDAY
    assert len(body["result_sha256"]) == 64
    closed = put_step(api, job, "notes", "one more thing")
    assert_problem(closed, 409, code="checklist-read-only")
    iso_year, iso_week, _ = MONDAY.isocalendar()
    this_week = f"{iso_year}-W{iso_week:02d}"
    next_year, next_week, _ = (MONDAY + timedelta(days=7)).isocalendar()
    week = api.get("/api/v1/checklists", as_="reviewer",
                   query_string={"service_point_id": job["service_point_id"], "week": this_week,
                                 "status": "completed"})
    assert week.status_code == 200, week.json
    assert body["id"] in [c["id"] for c in week.json]
    listed = next(c for c in week.json if c["id"] == body["id"])
    assert (listed["template_code"], listed["version_number"], listed["job_reference"]) == (
        "TEST-REPAIR-MODEL", 1, job["reference"])
    other_week = api.get("/api/v1/checklists", as_="reviewer", query_string={"week": f"{next_year}-W{next_week:02d}"})
    assert body["id"] not in [c["id"] for c in other_week.json]
    assert body["id"] in [c["id"] for c in api.get(f"/api/v1/checklists?week={this_week}&page_size=100",
                                                    as_=MANAGER).json]
    assert body["id"] not in [c["id"] for c in api.get(f"/api/v1/checklists?week={this_week}&page_size=100",
                                                        as_="manager.hz02").json]
    assert_problem(api.get("/api/v1/checklists", as_=TECH), 403)
    assert_problem(api.get(f"/api/v1/checklists?week={iso_year}-W60", as_="reviewer"), 422, field="week")
    by_id = api.get(f"/api/v1/checklists/{body['id']}?include=revisions", as_="reviewer")
    assert by_id.status_code == 200 and step(by_id.json, "pressure")["revisions"][0]["value"] == 0.25
    assert_problem(api.get(f"/api/v1/checklists/{body['id']}", as_="manager.hz02"), 404)
    with api.client.application.extensions["dispatch"].session_factory() as s:
        completed = s.scalar(select(LogEntry).where(LogEntry.kind == "sop.checklist.completed",
                                                    LogEntry.subject_id == body["id"]))
    assert completed.payload["result_sha256"] == body["result_sha256"]


def test_a_job_no_published_template_applies_to_completes_without_a_checklist(api, session, template):
    session.execute(update(SopVersion).where(SopVersion.template_id.in_(
        select(SopTemplate.id).where(SopTemplate.code.in_(["TEST-REPAIR-MODEL", "WP-REPAIR"]))))
        .values(status=VersionStatus.DRAFT))
    session.commit()
    job = on_site_job(api, session)
    assert_problem(api.get(f"/api/v1/jobs/{job['id']}/checklist", as_=TECH), 404)
    assert move(api, job, "completed", TECH).status_code == 200


def test_a_checklist_moves_with_its_job_when_hq_transfers_it(api, session, template):
    job = scheduled_job(api, session)
    hz02 = api.get("/api/v1/users/me", as_="manager.hz02").json["service_point_id"]
    moved = api.post(f"/api/v1/jobs/{job['id']}/transfer", as_="admin",
                     json={"service_point_id": hz02, "reason": "HZ01 has nobody free this week"})
    assert moved.status_code == 200, moved.json
    body = checklist(api, job, as_="manager.hz02")
    assert (body["service_point_id"], body["version_number"]) == (hz02, 1)  # still pinned
    assert_problem(api.get(f"/api/v1/jobs/{job['id']}/checklist", as_=MANAGER), 404)


def test_a_cancelled_jobs_checklist_becomes_read_only(api, job):
    assert move(api, job, "cancelled", MANAGER, reason="customer moved away").status_code == 200
    assert checklist(api, job, as_=MANAGER)["status"] == "cancelled"
