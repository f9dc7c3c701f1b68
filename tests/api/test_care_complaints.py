"""Complaints through HTTP: intake with linked records, the handling flow, deadlines, escalation."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from dispatch import runtime as task_runtime
from dispatch.care.models import Notification
from dispatch.clock import utcnow
from dispatch.jobs.models import Job
from dispatch.network.models import Unit
from tests.helpers import assert_problem
from workers import care_tasks


def _job(session, point: str = "HZ01") -> Job:
    return session.scalars(select(Job).where(Job.reference.like(f"DEMO-{point}-%"), Job.unit_id.is_not(None))
                           .order_by(Job.reference)).first()


def _complain(api, job: Job, as_: str = "admin", **overrides):
    body = {"category": "after_sales", "customer_id": str(job.customer_id), "job_id": str(job.id),
            "unit_id": str(job.unit_id), "summary": "Technician left without fixing the leak"} | overrides
    return api.post("/api/v1/complaints/", as_=as_, json=body)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_call_centre_records_a_complaint_about_a_job_with_its_categorys_deadline(api, session):
    job = _job(session)
    created = _complain(api, job)
    assert created.status_code == 201, created.json
    body = created.json
    assert created.headers["Location"].endswith(f"/api/v1/complaints/{body['id']}")
    assert body["status"] == "received" and body["service_point_id"] == str(job.service_point_id)
    assert body["reference"].startswith("CP-") and body["escalated_at"] is None
    assert _at(body["due_at"]) - _at(body["received_at"]) == timedelta(hours=48)
    assert [(e["kind"], e["to_status"]) for e in body["events"]] == [("received", "received")]


def test_a_point_records_complaints_about_itself_only(api, session):
    own = _complain(api, _job(session, "HZ01"), as_="manager.hz01")
    assert own.status_code == 201 and own.json["service_point_id"] == str(_job(session, "HZ01").service_point_id)
    assert_problem(_complain(api, _job(session, "NB01"), as_="manager.hz01"), 422, field="job_id")
    assert_problem(_complain(api, _job(session, "HZ01"), as_="tech.hz01.1"), 403)


def test_the_linked_customer_unit_and_job_must_belong_together(api, session):
    job, other = _job(session, "HZ01"), _job(session, "SZ01")
    assert_problem(_complain(api, job, unit_id=str(other.unit_id)), 422, field="unit_id")
    assert_problem(_complain(api, job, customer_id=str(other.customer_id), unit_id=None), 422, field="job_id")
    assert_problem(_complain(api, job, customer_id="00000000-0000-0000-0000-000000000001"), 422,
                   field="customer_id")
    assert_problem(_complain(api, job, category="shipping"), 422, field="category")
    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert_problem(_complain(api, job, received_at=future), 422, field="received_at")


def test_a_complaint_goes_through_the_handling_flow_with_the_right_hands(api, session):
    complaint = _complain(api, _job(session)).json
    path = f"/api/v1/complaints/{complaint['id']}/transitions"

    def move(to, as_="admin", **extra):
        return api.post(path, as_=as_, json={"to_status": to} | extra)

    assert_problem(move("classified", as_="manager.hz01"), 403)
    skipped = assert_problem(move("resolved"), 409, code="invalid-transition")
    assert skipped["allowed"] == ["classified"]
    classified = move("classified", category="product_quality", note="a cracked housing, not the service")
    assert classified.status_code == 200
    assert classified.json["category"] == "product_quality"
    assert _at(classified.json["due_at"]) - _at(classified.json["received_at"]) == timedelta(hours=72)
    assert_problem(move("investigating", as_="manager.nb01"), 404)
    assert move("investigating", as_="manager.hz01").status_code == 200
    assert_problem(move("solution_proposed", as_="manager.hz01", resolution_type="replacement"), 422, field="note")
    assert_problem(move("solution_proposed", as_="manager.hz01", note="Replace it"), 422, field="resolution_type")
    proposed = move("solution_proposed", as_="manager.hz01", note="Replace the housing free of charge",
                    resolution_type="replacement")
    assert proposed.json["resolution"] == "Replace the housing free of charge"
    assert proposed.json["resolution_type"] == "replacement" and proposed.json["compensation_amount"] is None
    assert_problem(move("resolved", as_="manager.hz01", note="Housing replaced on site"), 409)
    accepted = api.post(f"/api/v1/complaints/{complaint['id']}/answer", as_="manager.hz01", json={"accepted": True})
    assert accepted.status_code == 200 and accepted.json["customer_answer"] == "accepted"
    resolved = move("resolved", as_="manager.hz01", note="Housing replaced on site")
    assert resolved.json["resolved_at"] is not None
    assert_problem(move("closed", as_="manager.hz01"), 403)
    closed = move("closed", note="Customer confirmed on the phone")
    assert closed.json["status"] == "closed" and closed.json["closed_at"] is not None
    assert [e["to_status"] for e in closed.json["events"]] == [
        "received", "classified", "investigating", "solution_proposed", "solution_proposed", "resolved", "closed"]
    assert_problem(move("investigating"), 409)


def test_complaints_are_scoped_to_their_point(api, session):
    complaint = _complain(api, _job(session, "HZ01")).json
    assert api.get(f"/api/v1/complaints/{complaint['id']}", as_="manager.hz01").status_code == 200
    assert_problem(api.get(f"/api/v1/complaints/{complaint['id']}", as_="manager.nb01"), 404)
    listed = api.get("/api/v1/complaints/?page_size=100", as_="manager.nb01").json
    assert complaint["id"] not in {c["id"] for c in listed}
    assert {c["service_point_id"] for c in listed} <= {str(_job(session, "NB01").service_point_id)}
    assert_problem(api.get("/api/v1/complaints/", as_="tech.hz01.1"), 403)


def test_hq_sets_each_categorys_deadline_and_new_complaints_follow_it(api, session):
    deadlines = {d["category"]: d["resolve_within_hours"] for d in api.get("/api/v1/complaints/deadlines",
                                                                           as_="manager.hz01").json}
    assert deadlines == {"product_quality": 72, "delivery": 48, "after_sales": 48, "order": 24,
                         "account_payment": 24}
    assert_problem(api.put("/api/v1/complaints/deadlines/after_sales", as_="manager.hz01",
                           json={"resolve_within_hours": 12}), 403)
    assert_problem(api.put("/api/v1/complaints/deadlines/shipping", as_="admin", json={"resolve_within_hours": 12}),
                   404)
    assert_problem(api.put("/api/v1/complaints/deadlines/after_sales", as_="admin", json={"resolve_within_hours": 0}),
                   422, field="resolve_within_hours")
    changed = api.put("/api/v1/complaints/deadlines/after_sales", as_="admin", json={"resolve_within_hours": 12})
    assert changed.status_code == 200 and changed.json["resolve_within_hours"] == 12
    complaint = _complain(api, _job(session)).json
    assert _at(complaint["due_at"]) - _at(complaint["received_at"]) == timedelta(hours=12)


def test_a_complaint_past_its_deadline_is_escalated_once_and_hq_is_told(api, session, settings, uow_factory):
    job = _job(session)
    late = _complain(api, job, received_at=(utcnow() - timedelta(hours=49)).isoformat()).json
    on_time = _complain(api, job, received_at=(utcnow() - timedelta(hours=47)).isoformat()).json
    done = _complain(api, job, received_at=(utcnow() - timedelta(hours=60)).isoformat()).json
    for to, note in (("classified", ""), ("investigating", ""), ("solution_proposed", "Revisit"),
                     ("resolved", "Revisited")):
        extra = {"resolution_type": "repair"} if to == "solution_proposed" else {}
        if to == "resolved":
            api.post(f"/api/v1/complaints/{done['id']}/answer", as_="admin", json={"accepted": True})
        api.post(f"/api/v1/complaints/{done['id']}/transitions", as_="admin",
                 json={"to_status": to, "note": note} | extra)
    overdue = {c["id"] for c in api.get("/api/v1/complaints/?overdue=true&page_size=100", as_="admin").json}
    assert late["id"] in overdue and on_time["id"] not in overdue and done["id"] not in overdue

    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        first = care_tasks.escalate_overdue_complaints()
        second = care_tasks.escalate_overdue_complaints()
    assert late["reference"] in first["references"] and second == {"escalated": 0, "references": []}
    assert on_time["reference"] not in first["references"] and done["reference"] not in first["references"]

    escalated = api.get("/api/v1/complaints/?escalated=true&page_size=100", as_="admin").json
    shown = next(c for c in escalated if c["id"] == late["id"])
    assert shown["escalated_at"] is not None and shown["events"][-1]["kind"] == "escalated"
    pushes = session.scalars(select(Notification).where(Notification.template == "complaint_escalated")).all()
    mine = [p for p in pushes if p.payload["reference"] == late["reference"]]
    assert {p.recipient for p in mine} == {"user:admin"} and {p.channel.value for p in mine} == {"push"}
    assert api.get("/api/v1/complaints/?escalated=false&page_size=100", as_="admin").status_code == 200
    assert on_time["id"] in {c["id"] for c in api.get("/api/v1/complaints/?escalated=false&page_size=100",
                                                      as_="admin").json}


def test_unit_ids_must_exist(api, session):
    job = _job(session)
    missing = session.scalar(select(Unit.id).where(Unit.customer_id.is_(None)).limit(1))
    assert_problem(_complain(api, job, unit_id=str(missing)), 422, field="unit_id")
