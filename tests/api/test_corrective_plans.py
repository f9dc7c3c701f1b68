"""Corrective action for weak points (整改): HQ opens a plan only for a flagged point, the point's
manager alone answers with evidence, the re-audit samples only that point's checklists completed
after the deadline (re-derivable from the logged seed), and HQ's decision closes, extends,
suspends, or revokes and hands the regions and open jobs to a successor; every step is logged."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.audit_log.models import LogEntry
from dispatch.audits import sampling
from dispatch.care.models import Complaint, ComplaintCategory, ComplaintStatus
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Coverage, Customer, ServicePoint
from tests.api.audit_builders import WEEK, AuditWorld, local
from tests.helpers import assert_problem
from tests.unit.sop.evidence_images import jpeg

PLANS = "/api/v1/corrective-plans"
OPENED_AT = local(1, 12)  # Tuesday of the builders' far-away week
DEADLINE = (WEEK.starts_at + timedelta(days=4)).date()  # Friday
AFTER = local(5, 9)  # Saturday morning: the deadline has passed


@pytest.fixture
def world(api, session_factory):
    return AuditWorld(api, session_factory)


def upload(api, username: str) -> str:
    response = api.post("/api/v1/attachments/", as_=username, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(jpeg(camera=f"Evidence {username}")), "sheet.jpg")})
    assert response.status_code == 201, response.json
    return response.json["id"]


def flag_by_sla(world, point: str) -> None:
    """Two visits that missed their SLA on the Monday: compliance 0 flags the point."""
    for hour in (10, 11):
        world.sla_job(point, due_at=local(0, hour))


def open_nb01(world) -> dict:
    flag_by_sla(world, "NB01")
    with world.at(OPENED_AT):
        response = world.api.post(PLANS, as_="reviewer", json={
            "service_point_id": str(world.point_id("NB01")), "findings": "SLA missed all week",
            "actions": ["Add a second shift on Mondays", "Call every customer before the visit"],
            "deadline": DEADLINE.isoformat()})
    assert response.status_code == 201, response.json
    return response.json


def log_kinds(session_factory, plan_id: str) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(select(LogEntry.kind).where(LogEntry.subject_id == plan_id)
                                    .order_by(LogEntry.seq)))


def test_a_plan_is_opened_only_for_a_flagged_point_and_only_once(world):
    with world.at(OPENED_AT):
        refused = world.api.post(PLANS, as_="reviewer", json={
            "service_point_id": str(world.point_id("HZ02")), "findings": "x", "actions": ["y"],
            "deadline": DEADLINE.isoformat()})
        assert_problem(refused, 422, code="rule-violation")
        bad = world.api.post(PLANS, as_="reviewer", json={"service_point_id": str(world.point_id("HZ02")),
                                                          "findings": "x", "actions": [], "deadline": "soon"})
        problem = assert_problem(bad, 422)
        assert {"actions", "deadline"} <= set(problem["errors"])
        past = world.api.post(PLANS, as_="reviewer", json={
            "service_point_id": str(world.point_id("HZ02")), "findings": "x", "actions": ["y"],
            "deadline": WEEK.starts_at.date().isoformat()})
        assert_problem(past, 422, field="deadline")
        assert_problem(world.api.post(PLANS, as_="manager.nb01", json={
            "service_point_id": str(world.point_id("NB01")), "findings": "x", "actions": ["y"],
            "deadline": DEADLINE.isoformat()}), 403)
    plan = open_nb01(world)
    assert plan["status"] == "open" and plan["service_point_code"] == "NB01"
    [ground] = [g for g in plan["grounds"] if g["code"] == "sla"]
    assert ground["detail"]["sla_compliance"] == 0.0 and ground["detail"]["jobs"] == 2
    assert [a["requirement"] for a in plan["actions"]] == ["Add a second shift on Mondays",
                                                           "Call every customer before the visit"]
    with world.at(OPENED_AT):
        again = world.api.post(PLANS, as_="admin", json={
            "service_point_id": str(world.point_id("NB01")), "findings": "again", "actions": ["y"],
            "deadline": DEADLINE.isoformat()})
        assert_problem(again, 409)


def test_a_complaint_rate_above_the_threshold_is_ground_enough(world, session_factory):
    """HZ02 kept its SLA on both visits, but one complaint over two jobs is 50 per 100."""
    for hour in (10, 11):
        world.sla_job("HZ02", due_at=local(0, hour), arrived_at=local(0, hour - 1))
    with session_factory() as session:
        customer = session.scalar(select(Customer).order_by(Customer.phone).limit(1))
        session.add(Complaint(reference="CP-CORR-1", category=ComplaintCategory.AFTER_SALES,
                              status=ComplaintStatus.RECEIVED, customer_id=customer.id,
                              service_point_id=world.point_id("HZ02"), summary="rude on the phone",
                              received_at=local(0, 15), due_at=local(2, 15)))
        session.commit()
    with world.at(OPENED_AT):
        response = world.api.post(PLANS, as_="reviewer", json={
            "service_point_id": str(world.point_id("HZ02")), "findings": "complaints", "actions": ["call back"],
            "deadline": DEADLINE.isoformat()})
    assert response.status_code == 201, response.json
    [ground] = response.json["grounds"]
    assert ground["code"] == "complaints"
    assert (ground["detail"]["complaints"], ground["detail"]["jobs"], ground["detail"]["per_100_jobs"]) == (1, 2, 50.0)


def test_only_the_points_manager_sees_and_answers_and_the_reaudit_decides(world, session_factory):
    plan = open_nb01(world)
    first, second = plan["actions"]
    url = f"{PLANS}/{plan['id']}"
    with world.at(OPENED_AT + timedelta(hours=2)):
        api = world.api
        assert api.get(url, as_="manager.nb01").json["id"] == plan["id"]
        assert_problem(api.get(url, as_="manager.hz01"), 404)
        assert_problem(api.get(url, as_="tech.nb01.1"), 403)
        assert api.get(f"{PLANS}?service_point_id={world.point_id('NB01')}", as_="manager.hz01").json == []
        assert [p["id"] for p in api.get(f"{PLANS}?open=true", as_="manager.nb01").json] == [plan["id"]]
        evidence, foreign = upload(api, "manager.nb01"), upload(api, "manager.hz01")
        answer = {"action_id": first["id"], "answer": "Second shift from next Monday", "evidence": [evidence]}
        assert_problem(api.post(f"{url}/answers", as_="manager.hz01", json=answer), 404)
        assert_problem(api.post(f"{url}/answers", as_="reviewer", json=answer), 403)
        assert_problem(api.post(f"{url}/answers", as_="manager.nb01", json={**answer, "evidence": [foreign]}),
                       422, field="evidence.0")
        assert_problem(api.post(f"{url}/answers", as_="manager.nb01", json={**answer, "evidence": []}), 422)
        assert_problem(api.post(f"{url}/answers", as_="manager.nb01",
                                json={**answer, "action_id": str(uuid.uuid4())}), 404)
        answered = api.post(f"{url}/answers", as_="manager.nb01", json=answer)
        assert answered.status_code == 200, answered.json
        [a1, a2] = answered.json["actions"]
        assert (a1["status"], a1["evidence"], a2["status"]) == ("answered", [evidence], "open")
        api.post(f"{url}/answers", as_="manager.nb01", json={**answer, "action_id": second["id"]})
        assert_problem(api.post(f"{url}/reaudit", as_="reviewer"), 422, code="rule-violation")  # before the deadline

    # work of the point before and after the deadline, and of another point after it
    world.checklist("NB01", completed_at=local(3, 10))
    after = [world.checklist("NB01", completed_at=local(5, 8, 0) - timedelta(hours=h)) for h in range(1, 7)]
    world.checklist("HZ01", completed_at=local(5, 7))
    with world.at(AFTER):
        api = world.api
        assert_problem(api.post(f"{url}/reaudit", as_="manager.nb01"), 403)
        drawn = api.post(f"{url}/reaudit", as_="reviewer")
        assert drawn.status_code == 200, drawn.json
        body = drawn.json
        assert (body["status"], body["frame_size"]) == ("reaudit", 6)
        frame = sampling.canonical_frame(after)
        assert body["reaudit_frame_sha256"] == sampling.frame_sha256(frame)
        ranking = sampling.derive_sample(bytes.fromhex(body["reaudit_seed"]), plan["id"], frame,
                                         body["sample_size"])
        assert {i["checklist_id"] for i in body["reaudit_items"]} == set(sampling.selected_ids(ranking))
        assert body["reaudit"] == {"judged": 0, "defects": 0, "critical": False, "decision": None}
        assert_problem(api.post(f"{url}/answers", as_="manager.nb01", json=answer), 409)
        assert_problem(api.post(f"{url}/decision", as_="admin", json={"outcome": "close", "note": "ok"}), 422)
        assert_problem(api.post(f"{url}/reaudit/verdicts", as_="reviewer", json={
            "checklist_id": str(uuid.uuid4()), "verdict": "conforming"}), 404)
        assert_problem(api.post(f"{url}/reaudit/verdicts", as_="reviewer", json={
            "checklist_id": body["reaudit_items"][0]["checklist_id"], "verdict": "splendid"}), 422)
        for item in body["reaudit_items"]:
            assert_problem(api.post(f"{url}/reaudit/verdicts", as_="manager.nb01", json={
                "checklist_id": item["checklist_id"], "verdict": "conforming"}), 403)
            judged = api.post(f"{url}/reaudit/verdicts", as_="reviewer", json={
                "checklist_id": item["checklist_id"], "verdict": "conforming", "note": "photos fine"})
            assert judged.status_code == 200, judged.json
        assert judged.json["reaudit"]["decision"] == "accepted"
        assert_problem(api.post(f"{url}/decision", as_="reviewer", json={"outcome": "close", "note": "ok"}), 403)
        closed = api.post(f"{url}/decision", as_="admin", json={"outcome": "close", "note": "corrected"})
        assert closed.status_code == 200, closed.json
        assert (closed.json["status"], closed.json["outcome"]) == ("closed", "close")
        assert_problem(api.post(f"{url}/decision", as_="admin", json={"outcome": "close", "note": "x"}), 409)
    kinds = log_kinds(session_factory, plan["id"])
    assert kinds == (["correction.opened", "correction.answered", "correction.answered", "correction.reaudit.drawn"]
                     + ["correction.reaudit.verdict"] * len(body["reaudit_items"]) + ["correction.decided"])


def test_a_rejected_reaudit_is_extended_and_the_next_round_samples_after_the_new_deadline(world):
    plan = open_nb01(world)
    url = f"{PLANS}/{plan['id']}"
    world.checklist("NB01", completed_at=local(5, 7))
    with world.at(AFTER):
        drawn = world.api.post(f"{url}/reaudit", as_="reviewer").json
        [item] = drawn["reaudit_items"]
        rejected = world.api.post(f"{url}/reaudit/verdicts", as_="reviewer", json={
            "checklist_id": item["checklist_id"], "verdict": "major"}).json
        assert rejected["reaudit"]["decision"] == "rejected"
        assert_problem(world.api.post(f"{url}/decision", as_="admin", json={"outcome": "close", "note": "x"}), 422)
        assert_problem(world.api.post(f"{url}/decision", as_="admin", json={"outcome": "extend", "note": "x"}),
                       422, field="deadline")
        new_deadline = (AFTER + timedelta(days=7)).date()
        extended = world.api.post(f"{url}/decision", as_="admin", json={
            "outcome": "extend", "note": "one more week", "deadline": new_deadline.isoformat()})
        assert extended.status_code == 200, extended.json
        assert (extended.json["status"], extended.json["round"], extended.json["deadline"]) == (
            "open", 2, new_deadline.isoformat())
        assert extended.json["reaudit"] is None
    world.checklist("NB01", completed_at=AFTER + timedelta(days=8, hours=1))
    with world.at(AFTER + timedelta(days=8, hours=2)):
        second = world.api.post(f"{url}/reaudit", as_="reviewer").json
        assert second["frame_size"] == 1  # the first round's checklist lies before the new deadline
        assert [i["round"] for i in second["reaudit_items"]] == [1, 2]


def test_revoking_hands_the_regions_and_the_open_jobs_to_the_successor(api, session_factory):
    """The demo's SZ02 is under a corrective plan; HQ revokes it in favour of SZ01."""
    [plan] = api.get(f"{PLANS}?open=true", as_="admin").json
    assert plan["service_point_code"] == "SZ02"
    with session_factory() as session:
        points = dict(session.execute(select(ServicePoint.code, ServicePoint.id)).all())
        regions = set(session.scalars(select(Coverage.region_id).where(Coverage.service_point_id == points["SZ02"])))
        open_jobs = set(session.scalars(select(Job.id).where(Job.service_point_id == points["SZ02"], Job.status.in_(
            (JobStatus.NEW, JobStatus.DISPATCHED, JobStatus.SCHEDULED, JobStatus.ON_HOLD)))))
    assert open_jobs, "the demo gives SZ02 open jobs"
    url = f"{PLANS}/{plan['id']}/decision"
    assert_problem(api.post(url, as_="admin", json={"outcome": "revoke", "note": "x"}), 422, field="successor_point_id")
    assert_problem(api.post(url, as_="admin", json={"outcome": "revoke", "note": "x",
                                                    "successor_point_id": str(points["SZ03"])}),
                   422, field="successor_point_id")  # suspended: it may not take over
    decided = api.post(url, as_="admin", json={"outcome": "revoke", "note": "no improvement",
                                               "successor_point_id": str(points["SZ01"])})
    assert decided.status_code == 200, decided.json
    assert (decided.json["status"], decided.json["successor_point_id"]) == ("revoked", str(points["SZ01"]))
    assert api.get(f"/api/v1/service-points/{points['SZ02']}", as_="admin").json["status"] == "revoked"
    with session_factory() as session:
        assert regions <= set(session.scalars(select(Coverage.region_id)
                                              .where(Coverage.service_point_id == points["SZ01"])))
        moved = session.scalars(select(Job).where(Job.id.in_(open_jobs))).all()
        assert {j.service_point_id for j in moved} == {points["SZ01"]}
    job = api.get(f"/api/v1/jobs/{next(iter(open_jobs))}", as_="admin").json
    [event] = [e for e in job["events"] if e["kind"] == "transfer"]
    assert "SZ02 revoked after its corrective plan" in event["reason"]


def test_suspending_suspends_the_point_and_ends_the_plan(api):
    [plan] = api.get(f"{PLANS}?open=true", as_="admin").json
    decided = api.post(f"{PLANS}/{plan['id']}/decision", as_="admin",
                       json={"outcome": "suspend", "note": "until the meters are replaced"})
    assert decided.status_code == 200, decided.json
    assert decided.json["status"] == "suspended"
    point = api.get(f"/api/v1/service-points/{plan['service_point_id']}", as_="admin").json
    assert point["status"] == "suspended"
    assert_problem(api.post(f"{PLANS}/{plan['id']}/decision", as_="admin", json={"outcome": "bogus", "note": "x"}),
                   422)
