"""The complaints desk over three days, role by role through HTTP: a customer reports a leak and,
when nobody calls, complains from the account; the complaint lands on the point manager's desk
with its time limit; the manager lets it run out, the hourly task escalates it to HQ's supervisor,
who takes it over; the customer turns down the first proposal and accepts a partial refund from
the account; HQ resolves and closes it, and the customer answers the satisfaction question."""

from __future__ import annotations

from datetime import timedelta

from dispatch import runtime as task_runtime
from tests.customer_support import CustomerClient, demo_units
from tests.dates import SUITE_TODAY, local, next_weekday
from tests.helpers import assert_problem
from tests.plan_builders import RecordingTaskQueue
from tests.scenarios.steps import ADMIN, API, at, ok
from workers import care_tasks

MANAGER = "manager.hz01"


def test_a_complaint_escalates_and_is_resolved_with_the_customers_agreement(api, session, walk, settings,
                                                                            session_factory, uow_factory):
    from dispatch.app import create_app

    cust = CustomerClient(create_app(settings, session_factory=session_factory,
                                     task_queue=RecordingTaskQueue()).test_client(), uow_factory, settings)
    owned, _ = demo_units(session)
    day = next_weekday(2, SUITE_TODAY + timedelta(days=1))

    # Morning: the customer reports a leak from the account and, annoyed, complains about the wait.
    walk.to(local(SUITE_TODAY, 9) if local(SUITE_TODAY, 9) > walk.now else walk.now)
    token = cust.sign_in()
    visit = ok(cust.post(f"{API}/customer/jobs", token, json={
        "unit_id": str(owned.id), "description": "漏水 / leaking under the sink",
        "window_start": local(day, 9).isoformat(), "window_end": local(day, 12).isoformat()}), 201)
    filed = ok(cust.post(f"{API}/customer/complaints", token, json={
        "category": "after_sales", "summary": "Nobody called me back about the leak", "job_id": visit["id"]}), 201)
    assert filed["channel"] == "online" and filed["owner"] == "point" and "owner_user_id" not in filed
    limit = at(filed["due_at"])
    assert limit - at(filed["received_at"]) == timedelta(hours=48)

    # The call centre classifies it; it is on the HZ01 manager's desk, not another point's.
    ok(api.post(f"{API}/complaints/{filed['id']}/transitions", as_=ADMIN, json={"to_status": "classified"}))
    desk = ok(api.get(f"{API}/complaints/?owner=point&status=classified&page_size=100", as_=MANAGER))
    assert next(c for c in desk if c["id"] == filed["id"])["owner_user_id"]  # staff see who owns it
    assert_problem(api.get(f"{API}/complaints/{filed['id']}", as_="manager.nb01"), 404)
    ok(api.post(f"{API}/complaints/{filed['id']}/transitions", as_=MANAGER, json={"to_status": "investigating"}))

    # Two days later the manager has proposed nothing: the hourly task hands it to HQ's supervisor.
    walk.to(limit + timedelta(minutes=5))
    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        assert filed["reference"] in care_tasks.escalate_overdue_complaints()["references"]
        assert care_tasks.escalate_overdue_complaints()["references"] == []  # once only
    escalated = ok(api.get(f"{API}/complaints/?escalated=true&owner=hq&page_size=100", as_=ADMIN))
    assert filed["id"] in {c["id"] for c in escalated}
    assert_problem(api.post(f"{API}/complaints/{filed['id']}/transitions", as_=MANAGER, json={
        "to_status": "solution_proposed", "note": "A free filter", "resolution_type": "repair"}), 403)

    # HQ proposes an explanation; the customer turns it down in the account.
    ok(api.post(f"{API}/complaints/{filed['id']}/transitions", as_=ADMIN, json={
        "to_status": "solution_proposed", "note": "The part was on back order", "resolution_type": "explanation"}))
    proposal = [m for m in cust.deliver() if m.recipient == "13900000000"]
    assert any("The part was on back order" in m.body for m in proposal), [m.body for m in proposal]
    token = cust.sign_in()
    mine = f"{API}/customer/complaints/{filed['id']}"
    assert ok(cust.get(mine, token))["status"] == "solution_proposed"
    turned_down = ok(cust.post(f"{mine}/answer", token, json={"accepted": False, "note": "not good enough"}))
    assert turned_down["status"] == "investigating" and turned_down["customer_answer"] == "rejected"

    # A partial refund next: the customer accepts it; only then HQ resolves and closes.
    walk.by(hours=2)
    ok(api.post(f"{API}/complaints/{filed['id']}/transitions", as_=ADMIN, json={
        "to_status": "solution_proposed", "note": "Refund the call-out fee", "resolution_type": "partial_refund",
        "amount": "60.00"}))
    cust.deliver()
    token = cust.sign_in()
    agreed = ok(cust.post(f"{mine}/answer", token, json={"accepted": True}))
    assert agreed["customer_answer"] == "accepted" and agreed["compensation_amount"] == "60.00"
    ok(api.post(f"{API}/complaints/{filed['id']}/transitions", as_=ADMIN,
                json={"to_status": "resolved", "note": "60.00 refunded"}))
    closed = ok(api.post(f"{API}/complaints/{filed['id']}/transitions", as_=ADMIN,
                         json={"to_status": "closed", "note": "done"}))
    assert closed["satisfaction_asked_at"] is not None

    # The customer gets the satisfaction question by text and answers it in the account.
    texts = [m for m in cust.deliver() if m.recipient == "13900000000"]
    assert any(filed["reference"] in m.body for m in texts)
    rated = ok(cust.post(f"{mine}/satisfaction", token, json={"score": 4, "comment": "took long, but fair"}))
    assert rated["satisfaction_score"] == 4
    assert all(set(e) == {"kind", "from_status", "to_status", "at"} for e in rated["events"])  # no staff notes
    history = [(e["kind"], e["to_status"]) for e in rated["events"]]
    assert history == [("received", "received"), ("transition", "classified"), ("transition", "investigating"),
                       ("escalated", "investigating"), ("transition", "solution_proposed"),
                       ("rejected", "investigating"), ("transition", "solution_proposed"),
                       ("accepted", "solution_proposed"), ("transition", "resolved"), ("transition", "closed"),
                       ("satisfaction", "closed")]
