"""Worklists through HTTP: the refresh task opens each owed item once, per point and for HQ, with
due times; "done with outcome" takes an item off the list and records the outcome (a callback's
answer on the visit); items whose reason went away are cleared; scoping (a manager sees their
point's list only; foreign ids 404) and bad input."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from dispatch import runtime as task_runtime
from dispatch.audit_log.models import LogEntry
from dispatch.clock import utcnow
from dispatch.network.models import Certification
from dispatch.worklists import rules
from tests.api.jobs_builders import technician
from tests.dates import TZ
from tests.helpers import assert_problem
from workers import worklist_tasks

LIST = "/api/v1/worklist-items/"
KINDS = {"callback", "low_rating_callback", "filter_reminder", "certificate_expiry", "complaint_deadline",
         "claim_old_part", "assessment_due"}


def _refresh(settings, uow_factory) -> dict:
    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        return worklist_tasks.refresh_worklists()


def _items(api, as_="manager.hz01", **query) -> list[dict]:
    query = {"page_size": 100} | query
    response = api.get(LIST + "?" + "&".join(f"{k}={v}" for k, v in query.items()), as_=as_)
    assert response.status_code == 200, response.json
    return response.json


def _one(api, kind, as_="manager.hz01") -> dict:
    return _items(api, as_=as_, kind=kind)[0]


def _done(api, item, as_="manager.hz01", **body):
    return api.post(f"{LIST}{item['id']}/done", as_=as_, json=body)


def _point_ids(api) -> dict[str, str]:
    return {p["code"]: p["id"] for p in api.get("/api/v1/service-points/?page_size=100", as_="admin").json}


def test_the_manager_sees_every_list_of_their_point_with_due_times_and_hq_sees_all(api, settings, uow_factory):
    assert _refresh(settings, uow_factory) == {"opened": 0, "cleared": 0}  # the demo is up to date: idempotent
    points = _point_ids(api)
    mine = _items(api)
    assert {i["kind"] for i in mine} == KINDS
    assert {i["service_point_id"] for i in mine} == {points["HZ01"]} and {i["queue"] for i in mine} == {"point"}
    dues = [i["due_at"] for i in mine]
    assert dues == sorted(dues)
    everyone = _items(api, as_="admin", page_size=100)
    assert len({i["service_point_id"] for i in everyone}) > 1
    hq_desk = _items(api, as_="reviewer", queue="hq")
    assert hq_desk and {i["queue"] for i in hq_desk} == {"hq"}
    assert not {i["id"] for i in hq_desk} & {i["id"] for i in mine}  # HQ's complaints are not on the point's list

    paged = api.get(f"{LIST}?page_size=2&page=2", as_="manager.hz01")
    assert len(paged.json) == 2
    assert json.loads(paged.headers["X-Pagination"])["total"] == len(mine)

    summary = {s["kind"]: s for s in api.get(f"{LIST}summary", as_="manager.hz01").json}
    assert set(summary) == KINDS and all(summary[k]["open"] >= 1 for k in KINDS)
    assert sum(s["open"] for s in summary.values()) == len(mine)
    certificate = _one(api, "certificate_expiry")
    expires = datetime.fromisoformat(certificate["due_at"]).astimezone(TZ)
    assert certificate["title"].endswith(f"expires {expires.date().isoformat()}") and expires.hour == 9
    overdue = _items(api, overdue="true")
    assert all(i["due_at"] < utcnow().isoformat() for i in overdue)


def test_a_callback_done_records_the_customers_answer_on_the_visit(api, session, settings, uow_factory):
    item = _one(api, "callback")
    assert_problem(_done(api, item, outcome="handled"), 422, field="outcome")
    assert_problem(_done(api, item, outcome="no_answer", score=4), 422, field="score")
    assert_problem(_done(api, item, outcome="reached", score=9), 422, field="score")
    assert_problem(_done(api, item), 422, field="outcome")
    done = _done(api, item, outcome="reached", satisfied=True, score=5, note="All fine, filter works")
    assert done.status_code == 200, done.json
    assert done.json["status"] == "done" and done.json["outcome"] == "reached" and done.json["callback_id"]
    assert item["id"] not in {i["id"] for i in _items(api)}
    assert item["id"] in {i["id"] for i in _items(api, status="done")}
    calls = api.get(f"/api/v1/jobs/{item['job_id']}/callbacks", as_="manager.hz01").json
    assert [(c["outcome"], c["satisfied"], c["score"]) for c in calls][-1] == ("reached", True, 5)
    assert_problem(_done(api, item, outcome="reached"), 409)
    assert _refresh(settings, uow_factory) == {"opened": 0, "cleared": 0}  # not reopened
    logged = session.scalars(select(LogEntry.kind).where(LogEntry.subject_id == item["id"])).all()
    assert logged == ["worklist.done"]


def test_a_low_rating_callback_not_answered_leaves_the_list_with_its_outcome(api):
    item = _one(api, "low_rating_callback")
    assert item["title"].startswith("Call back: visit") and "2/5" in item["title"]
    reference = item["title"].split()[3]
    assert item["title"] == f"Call back: visit {reference} rated 2/5"
    chinese = api.get(f"{LIST}{item['id']}", as_="manager.hz01", headers={"Accept-Language": "zh-CN"}).json
    assert chinese["title"] == f"回电：上门服务 {reference} 评分 2/5"  # the reader's language, asked for
    done = _done(api, item, outcome="no_answer", note="rang twice")
    assert done.status_code == 200 and done.json["outcome"] == "no_answer"
    calls = api.get(f"/api/v1/jobs/{item['job_id']}/callbacks", as_="admin").json
    assert calls[-1]["outcome"] == "no_answer"


def test_other_lists_end_with_handled_or_not_needed_with_a_reason(api):
    certificate = _one(api, "certificate_expiry")
    assert_problem(_done(api, certificate, outcome="reached"), 422, field="outcome")
    assert_problem(_done(api, certificate, outcome="handled", satisfied=True), 422, field="satisfied")
    assert_problem(_done(api, certificate, outcome="not_needed"), 422, field="note")
    assert _done(api, certificate, outcome="handled", note="renewal course booked").json["status"] == "done"
    reminder = _one(api, "filter_reminder")
    assert _done(api, reminder, outcome="reached", note="visit agreed for next week").json["outcome"] == "reached"
    claim = _one(api, "claim_old_part")
    assert _done(api, claim, outcome="not_needed", note="HQ waived it on the photo").json["status"] == "done"


def test_items_whose_reason_went_away_are_cleared_and_new_ones_opened(api, session, settings, uow_factory):
    certificate = _one(api, "certificate_expiry")
    row = session.get(Certification, uuid.UUID(certificate["subject_id"]))
    row.expires_on = row.expires_on + timedelta(days=365)  # renewed
    complaint = _one(api, "complaint_deadline")
    session.commit()
    path = f"/api/v1/complaints/{complaint['subject_id']}/transitions"
    api.post(path, as_="manager.hz01", json={"to_status": "solution_proposed", "note": "Revisit tomorrow",
                                             "resolution_type": "repair"})
    api.post(f"/api/v1/complaints/{complaint['subject_id']}/answer", as_="manager.hz01", json={"accepted": True})
    assert api.post(path, as_="manager.hz01", json={"to_status": "resolved", "note": "Revisited"}).status_code == 200
    assert _refresh(settings, uow_factory)["cleared"] == 2
    cleared = {i["id"] for i in _items(api, status="cleared")}
    assert {certificate["id"], complaint["id"]} <= cleared
    assert_problem(_done(api, certificate, outcome="handled"), 409)


def test_skills_due_for_assessment_are_listed_and_clear_once_assessed(api, session, settings, uow_factory):
    tech = technician(session, "tech.hz01.2")
    today = utcnow().astimezone(TZ).date()
    item = _one(api, "assessment_due")
    due = datetime.fromisoformat(item["due_at"]).astimezone(TZ)
    assert item["subject_id"] == str(tech.id) and due.hour == 9
    assert today < due.date() <= today + timedelta(days=rules.ASSESSMENT_HORIZON_DAYS)
    assert item["title"] == f"{tech.name}: periodic assessment of water_purifier:maintenance due {due.date()}"
    chinese = api.get(f"{LIST}{item['id']}", as_="manager.hz01", headers={"Accept-Language": "zh-CN"}).json
    assert chinese["title"] == f"{tech.name}：water_purifier:maintenance 定期考核将于 {due.date()} 到期"
    assert not [i for i in _items(api, as_="manager.nb01", kind="assessment_due") if i["id"] == item["id"]]

    # Assessed today: the next one falls due in a year, so the item clears itself.
    url = f"/api/v1/technicians/{tech.id}/assessments"
    assessed = {"category": "water_purifier", "job_type": "maintenance", "assessed_on": today.isoformat(), "score": 85}
    assert api.post(url, as_="manager.hz01", json=assessed).status_code == 201
    assert _refresh(settings, uow_factory) == {"opened": 0, "cleared": 1}
    assert item["id"] in {i["id"] for i in _items(api, status="cleared", kind="assessment_due")}

    # A failed assessment withdraws the skill: its re-assessment is due within two weeks.
    failed = {"category": "water_purifier", "job_type": "repair", "assessed_on": today.isoformat(), "score": 30}
    assert api.post(url, as_="manager.hz01", json=failed).json["skill_effect"] == "withdrawn"
    assert _refresh(settings, uow_factory) == {"opened": 1, "cleared": 0}
    again = [i for i in _items(api, kind="assessment_due") if i["subject_id"] == str(tech.id)]
    due_on = today + timedelta(days=rules.REASSESSMENT_WITHIN_DAYS)
    assert [i["title"] for i in again] == [
        f"{tech.name}: re-assessment of water_purifier:repair after a failed one, due {due_on}"]
    assert datetime.fromisoformat(again[0]["due_at"]).astimezone(TZ).date() == due_on
    assert_problem(_done(api, again[0], outcome="reached"), 422, field="outcome")  # not a phone call

    # A passed re-assessment gives the skill back: cleared.
    assert api.post(url, as_="manager.hz01", json=failed | {"score": 72}).json["skill_effect"] == "restored"
    assert _refresh(settings, uow_factory) == {"opened": 0, "cleared": 1}


def test_a_manager_reaches_only_their_points_list(api):
    points = _point_ids(api)
    theirs = _items(api, as_="manager.nb01")
    assert theirs and {i["service_point_id"] for i in theirs} == {points["NB01"]}
    item = _one(api, "claim_old_part")
    for path in (f"{LIST}{item['id']}",):
        assert_problem(api.get(path, as_="manager.nb01"), 404)
    assert_problem(_done(api, item, as_="manager.nb01", outcome="handled"), 404)
    assert_problem(_done(api, {"id": str(uuid.uuid4())}, outcome="handled"), 404)
    assert_problem(api.get(LIST, as_="tech.hz01.1"), 403)
    assert_problem(_done(api, item, as_="reviewer", outcome="handled"), 403)
    assert _items(api, as_="manager.nb01", service_point_id=points["HZ01"]) == []
    hq_item = _items(api, as_="admin", queue="hq", service_point_id=points["HZ01"])
    assert hq_item, "the demo has HQ-owned complaints about HZ01 near their time limit"
    for hq in hq_item:  # HQ's desk about their point is not the manager's to see
        assert_problem(api.get(f"{LIST}{hq['id']}", as_="manager.hz01"), 404)
    assert_problem(api.get(f"{LIST}?kind=nonsense", as_="admin"), 422, field="kind")
    assert_problem(api.get(f"{LIST}?due_before=yesterday", as_="admin"), 422, field="due_before")


def test_hq_refreshes_the_lists_on_demand(api):
    assert_problem(api.post(f"{LIST}refresh", as_="manager.hz01"), 403)
    queued = api.post(f"{LIST}refresh", as_="admin")
    assert queued.status_code == 202 and queued.json["task_id"].startswith("worklists-refresh-")
