"""Complaints with an owner, through HTTP: the intake channel, the owner by category and point,
escalation to HQ's desk, proposals with a resolution type the customer accepts or rejects (also
from the customer channel), HQ's late-visit compensation rule, and satisfaction after closure."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch import runtime as task_runtime
from dispatch.audit_log.models import LogEntry
from dispatch.auth.models import User
from dispatch.care.models import Notification
from dispatch.clock import utcnow
from dispatch.jobs.models import Job
from dispatch.network.models import Customer
from tests.customer_support import DEMO_PHONE, cust, customer_app  # noqa: F401  (fixtures)
from tests.helpers import assert_problem
from workers import care_tasks


def _job(session, point: str = "HZ01") -> Job:
    return session.scalars(select(Job).where(Job.reference.like(f"DEMO-{point}-%"), Job.unit_id.is_not(None))
                           .order_by(Job.reference)).first()


def _complain(api, job: Job, as_: str = "admin", **overrides):
    body = {"category": "after_sales", "customer_id": str(job.customer_id), "job_id": str(job.id),
            "summary": "The technician came two days late", "channel": "wechat"} | overrides
    return api.post("/api/v1/complaints/", as_=as_, json=body)


def _move(api, complaint, to, as_="admin", **extra):
    return api.post(f"/api/v1/complaints/{complaint['id']}/transitions", as_=as_, json={"to_status": to} | extra)


def _to_investigation(api, complaint, as_="admin"):
    _move(api, complaint, "classified")
    return _move(api, complaint, "investigating", as_=as_).json


def _manager_id(session, username="manager.hz01"):
    return str(session.scalar(select(User.id).where(User.username == username)))


def test_the_points_manager_owns_what_the_point_can_put_right_and_hq_the_rest(api, session):
    job = _job(session)
    service = _complain(api, job)
    assert service.status_code == 201, service.json
    assert service.json["channel"] == "wechat"
    assert service.json["owner"] == "point" and service.json["owner_user_id"] == _manager_id(session)
    about_point = _complain(api, job, about_point=True, summary="The technician was rude").json
    assert about_point["owner"] == "hq" and about_point["owner_user_id"] is None and about_point["about_point"]
    billing = _complain(api, job, category="account_payment").json
    assert billing["owner"] == "hq"
    by_point = _complain(api, job, as_="manager.hz01", channel="phone").json
    assert by_point["owner"] == "point" and by_point["channel"] == "phone"
    assert_problem(_complain(api, job, channel="fax"), 422, field="channel")
    assert_problem(api.post("/api/v1/complaints/", as_="admin", json={
        "category": "after_sales", "customer_id": str(job.customer_id), "summary": "General gripe",
        "about_point": True}), 422, field="about_point")
    mine = {c["id"] for c in api.get("/api/v1/complaints/?owner=point&page_size=100", as_="admin").json}
    assert service.json["id"] in mine and about_point["id"] not in mine
    assert {c["channel"] for c in api.get("/api/v1/complaints/?channel=wechat&page_size=100", as_="admin").json} == {
        "wechat"}

    # the manager cannot handle a complaint about their own point: it is on HQ's desk
    _move(api, about_point, "classified")
    assert_problem(_move(api, about_point, "investigating", as_="manager.hz01"), 403)
    assert _move(api, about_point, "investigating").status_code == 200
    # reclassifying moves the owner with the category
    _move(api, service.json, "classified", category="order")
    assert api.get(f"/api/v1/complaints/{service.json['id']}", as_="admin").json["owner"] == "hq"


def test_a_complaint_past_its_time_limit_goes_to_the_hq_supervisor(api, session, settings, uow_factory):
    job = _job(session)
    late = _complain(api, job, received_at=(utcnow() - timedelta(hours=49)).isoformat()).json
    assert late["owner"] == "point"
    _to_investigation(api, late, as_="manager.hz01")
    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        assert late["reference"] in care_tasks.escalate_overdue_complaints()["references"]
        assert care_tasks.escalate_overdue_complaints()["references"] == []
    shown = api.get(f"/api/v1/complaints/{late['id']}", as_="manager.hz01").json
    assert shown["owner"] == "hq" and shown["owner_user_id"] is None and shown["escalated_at"]
    assert "owner point -> hq" in shown["events"][-1]["note"]
    assert_problem(_move(api, late, "solution_proposed", as_="manager.hz01", note="Revisit", resolution_type="repair"),
                   403)
    assert _move(api, late, "solution_proposed", note="Revisit", resolution_type="repair").status_code == 200


def test_a_proposal_names_its_resolution_type_and_amount(api, session):
    complaint = _to_investigation(api, _complain(api, _job(session)).json)

    def propose(**extra):
        return _move(api, complaint, "solution_proposed", as_="manager.hz01", note="We make it good", **extra)

    assert_problem(propose(resolution_type="barter"), 422, field="resolution_type")
    assert_problem(propose(resolution_type="explanation", amount="50.00"), 422, field="amount")
    assert_problem(propose(resolution_type="partial_refund"), 422, field="amount")
    assert_problem(propose(resolution_type="partial_refund", amount="-5"), 422, field="amount")
    assert_problem(propose(resolution_type="compensation"), 422, field="amount")  # no late-visit offer here
    fresh = _complain(api, _job(session)).json
    assert_problem(_move(api, fresh, "classified", resolution_type="repair"), 422, field="resolution_type")
    proposed = propose(resolution_type="partial_refund", amount="80.50")
    assert proposed.status_code == 200
    assert proposed.json["resolution_type"] == "partial_refund" and proposed.json["compensation_amount"] == "80.50"
    texts = session.scalars(select(Notification).where(Notification.template == "complaint_proposal")).all()
    assert [t.payload["reference"] for t in texts] == [complaint["reference"]]


def test_the_customer_rejects_a_proposal_on_the_phone_then_accepts_the_next(api, session):
    complaint = _to_investigation(api, _complain(api, _job(session)).json)
    answer = f"/api/v1/complaints/{complaint['id']}/answer"
    assert_problem(api.post(answer, as_="manager.hz01", json={"accepted": True}), 409)  # nothing proposed yet
    _move(api, complaint, "solution_proposed", as_="manager.hz01", note="An explanation", resolution_type="explanation")
    assert_problem(api.post(answer, as_="manager.hz01", json={}), 422, field="accepted")
    assert_problem(api.post(answer, as_="manager.nb01", json={"accepted": True}), 404)
    assert_problem(api.post(answer, as_="tech.hz01.1", json={"accepted": True}), 403)
    rejected = api.post(answer, as_="manager.hz01", json={"accepted": False, "note": "wants a new unit"})
    assert rejected.status_code == 200
    assert rejected.json["status"] == "investigating" and rejected.json["customer_answer"] == "rejected"
    assert_problem(api.post(answer, as_="manager.hz01", json={"accepted": True}), 409)
    _move(api, complaint, "solution_proposed", as_="manager.hz01", note="A new unit", resolution_type="replacement")
    assert api.get(f"/api/v1/complaints/{complaint['id']}", as_="admin").json["customer_answer"] is None
    assert api.post(answer, as_="manager.hz01", json={"accepted": True}).status_code == 200
    resolved = _move(api, complaint, "resolved", as_="manager.hz01", note="Unit replaced")
    assert resolved.status_code == 200
    kinds = [e["kind"] for e in resolved.json["events"]]
    assert kinds[-4:] == ["rejected", "transition", "accepted", "transition"]
    logged = session.scalars(select(LogEntry.kind).where(LogEntry.subject_id == complaint["id"])).all()
    assert {"complaint.received", "complaint.transition", "complaint.rejected", "complaint.accepted"} <= set(logged)


def test_a_late_visit_offers_hqs_compensation_and_the_customer_agrees_in_their_account(api, cust, session):  # noqa: F811
    tiers = [{"min_minutes_late": 60, "amount": "50.00"}, {"min_minutes_late": 240, "amount": "100.00"}]
    assert_problem(api.put("/api/v1/complaints/compensation-tiers", as_="manager.hz01", json={"tiers": tiers}), 403)
    assert_problem(api.put("/api/v1/complaints/compensation-tiers", as_="admin", json={"tiers": [
        {"min_minutes_late": 60, "amount": "50.00"}, {"min_minutes_late": 120, "amount": "40.00"}]}), 422,
        field="tiers")
    assert_problem(api.put("/api/v1/complaints/compensation-tiers", as_="admin",
                           json={"tiers": [{"min_minutes_late": 0, "amount": "5"}]}), 422, field="tiers.0.min_minutes_late")
    assert api.put("/api/v1/complaints/compensation-tiers", as_="admin", json={"tiers": tiers}).status_code == 200
    assert [t["amount"] for t in api.get("/api/v1/complaints/compensation-tiers", as_="manager.hz01").json] == [
        "50.00", "100.00"]

    customer = session.scalar(select(Customer).where(Customer.phone == DEMO_PHONE))
    job = _job(session)
    job.customer_id = customer.id  # the demo customer's own visit, which came late
    job.sla_due_at = utcnow() - timedelta(hours=6)
    job.arrived_at = job.sla_due_at + timedelta(minutes=150)
    session.commit()
    complaint = _complain(api, job, channel="phone").json
    assert complaint["minutes_late"] == 150 and complaint["compensation_offer"] == "50.00"
    _to_investigation(api, complaint, as_="admin" if complaint["owner"] == "hq" else "manager.hz01")
    proposed = _move(api, complaint, "solution_proposed", note="Sorry for the late visit",
                     resolution_type="compensation")
    assert proposed.status_code == 200 and proposed.json["compensation_amount"] == "50.00"

    cust.deliver()  # the proposal's text goes out first (the sign-in code is read from the last text)
    token = cust.sign_in()
    path = f"/api/v1/customer/complaints/{complaint['id']}"
    other = _complain(api, _job(session, "NB01")).json
    assert_problem(cust.post(f"/api/v1/customer/complaints/{other['id']}/answer", token, json={"accepted": True}),
                   404)
    assert_problem(cust.post(f"{path}/answer", token, json={"accepted": "maybe"}), 422, field="accepted")
    agreed = cust.post(f"{path}/answer", token, json={"accepted": True, "note": "fine"})
    assert agreed.status_code == 200 and agreed.json["customer_answer"] == "accepted"
    assert "note" not in agreed.json["events"][-1]  # the customer sees the steps, not staff notes
    staff_view = api.get(f"/api/v1/complaints/{complaint['id']}", as_="admin").json
    assert "in their account" in staff_view["events"][-1]["note"]
    assert_problem(cust.post(f"{path}/satisfaction", token, json={"score": 5}), 409)  # not closed yet
    _move(api, complaint, "resolved", note="50.00 paid")
    closed = _move(api, complaint, "closed", note="done")
    assert closed.json["satisfaction_asked_at"] is not None
    asked = session.scalars(select(Notification).where(Notification.template == "complaint_satisfaction")).all()
    assert [(m.recipient, m.payload["reference"]) for m in asked] == [(DEMO_PHONE, complaint["reference"])]
    assert_problem(cust.post(f"{path}/satisfaction", token, json={"score": 6}), 422, field="score")
    rated = cust.post(f"{path}/satisfaction", token, json={"score": 4, "comment": "ok in the end"})
    assert rated.status_code == 200 and rated.json["satisfaction_score"] == 4
    assert_problem(cust.post(f"{path}/satisfaction", token, json={"score": 5}), 409)


def test_hq_records_satisfaction_taken_on_the_phone_only_after_closure(api, session):
    complaint = _complain(api, _job(session)).json
    path = f"/api/v1/complaints/{complaint['id']}/satisfaction"
    assert_problem(api.post(path, as_="admin", json={"score": 3}), 409)
    assert_problem(api.post(path, as_="manager.nb01", json={"score": 3}), 404)
    assert_problem(api.post(path, as_="admin", json={"score": 0}), 422, field="score")


def test_the_offer_follows_a_visit_that_came_late_after_the_complaint(api, session):
    api.put("/api/v1/complaints/compensation-tiers", as_="admin",
            json={"tiers": [{"min_minutes_late": 30, "amount": "30.00"}]})
    job = _job(session)
    job.sla_due_at, job.arrived_at = utcnow() + timedelta(hours=2), None  # not due yet when the customer calls
    session.commit()
    complaint = _complain(api, job, summary="Nobody has come yet").json
    assert complaint["compensation_offer"] is None and complaint["minutes_late"] is None
    _to_investigation(api, complaint, as_="manager.hz01")
    job = session.get(Job, job.id)
    job.sla_due_at, job.arrived_at = utcnow() - timedelta(hours=2), utcnow() - timedelta(minutes=45)
    session.commit()
    proposed = _move(api, complaint, "solution_proposed", as_="manager.hz01", note="Sorry",
                     resolution_type="compensation")
    assert proposed.status_code == 200, proposed.json
    assert (proposed.json["minutes_late"], proposed.json["compensation_amount"]) == (75, "30.00")
