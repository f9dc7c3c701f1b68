"""Mobile sync through HTTP: snapshot and incremental pulls, removals, pushes applied at most
once, gaps, rejected mutations that never block, quarantine, clock skew, forged cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dispatch import clock
from dispatch.auth.models import User
from dispatch.jobs.models import EventKind, JobEvent
from dispatch.network.models import Technician
from tests.dates import local, next_weekday
from tests.helpers import assert_problem

NOW = local(next_weekday(1), 9)  # the next Tuesday, 09:00 in Hangzhou
DEVICE = "6f1c2b8e-2d1a-4c1e-9a57-0c4f3c1b9d10"


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


def technician_id(session, username: str) -> str:
    return str(session.scalar(select(Technician.id).join(User, User.id == Technician.user_id)
                              .where(User.username == username)))


def local(hour: int, days: int = 0) -> str:
    return (NOW + timedelta(days=days, hours=hour - 9)).isoformat()


def new_job(api, days: int = 0) -> str:
    response = api.post("/api/v1/jobs", as_="admin", json={
        "type": "install", "product_sku": "WP-RO500", "region_code": "ZJ-HZ-XH",
        "customer": {"name": "Sync Customer", "phone": "13900001111", "address": "1 Test Rd"},
        "window_start": local(9, days), "window_end": local(17, days), "description": "sync test"})
    assert response.status_code == 201, response.json
    return response.json["id"]


def assign(api, job_id: str, tech: str, hour: int = 10, days: int = 0, reason: str = "") -> None:
    response = api.post(f"/api/v1/jobs/{job_id}/assignment", as_="manager.hz01",
                        json={"technician_id": tech, "scheduled_start": local(hour, days), "reason": reason})
    assert response.status_code == 200, response.json


def pull(api, user="tech.hz01.1", cursor=None, limit=500):
    query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
    response = api.get(f"/api/v1/sync/changes{query}", as_=user)
    assert response.status_code == 200, response.json
    return response.json


def push(api, mutations, user="tech.hz01.1", key=None, device=DEVICE):
    headers = {"Idempotency-Key": key} if key else {}
    return api.post("/api/v1/sync/mutations", as_=user, headers=headers,
                    json={"device_id": device, "mutations": mutations})


def job_ids(page) -> set[str]:
    return {doc["id"] for doc in page["changes"]["jobs"]["upserted"]}


@pytest.fixture
def tech1(session):
    return technician_id(session, "tech.hz01.1")


@pytest.fixture
def tech2(session):
    return technician_id(session, "tech.hz01.2")


def test_snapshot_then_incremental_pull(api, tech1):
    first, second = new_job(api), new_job(api, days=1)
    assign(api, first, tech1, 10)
    assign(api, second, tech1, 11, days=1)
    snapshot = pull(api)
    assert snapshot["snapshot"] is True and snapshot["has_more"] is False
    assert {first, second} <= job_ids(snapshot)
    doc = next(d for d in snapshot["changes"]["jobs"]["upserted"] if d["id"] == first)
    assert doc["customer"]["phone"] == "13900001111" and doc["status"] == "scheduled"
    assert doc["product"]["sku"] == "WP-RO500"
    assert {p["sku"] for p in snapshot["changes"]["reference"]["products"]} >= {"WP-RO500", "WH-EH60"}

    third = new_job(api, days=2)
    assign(api, third, tech1, 14, days=2)
    incremental = pull(api, cursor=snapshot["next_cursor"])
    assert incremental["snapshot"] is False
    assert job_ids(incremental) == {third}
    quiet = pull(api, cursor=incremental["next_cursor"])
    assert job_ids(quiet) == set() and quiet["has_more"] is False


def test_an_interrupted_pull_resumes_from_its_last_cursor_with_nothing_skipped(api, tech1):
    created = [new_job(api) for _ in range(3)]
    for hour, job_id in zip((10, 12, 14), created, strict=True):
        assign(api, job_id, tech1, hour)
    seen, cursor, pages = set(), None, 0
    while True:
        page = pull(api, cursor=cursor, limit=1)
        again = pull(api, cursor=cursor, limit=1)  # the response was lost: ask again
        assert job_ids(again) == job_ids(page)
        seen |= job_ids(page)
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            break
    assert set(created) <= seen
    assert pages >= 3


def test_reassignment_and_cancellation_arrive_as_removals_with_children(api, tech1, tech2):
    moved, cancelled = new_job(api), new_job(api)
    assign(api, moved, tech1, 10)
    assign(api, cancelled, tech1, 13)
    cursor = pull(api)["next_cursor"]

    assign(api, moved, tech2, 10, reason="customer asked for another slot")
    response = api.post(f"/api/v1/jobs/{cancelled}/transitions", as_="manager.hz01",
                        json={"to": "cancelled", "reason": "customer cancelled"})
    assert response.status_code == 200, response.json
    page = pull(api, cursor=cursor)
    assert {moved, cancelled} <= set(page["changes"]["jobs"]["removed"])
    assert not ({moved, cancelled} & job_ids(page))
    assert moved in job_ids(pull(api, user="tech.hz01.2"))


def test_a_batch_replayed_five_times_is_applied_once(api, tech1, session):
    job_id = new_job(api)
    assign(api, job_id, tech1)
    batch = [{"id": 1, "kind": "note", "payload": {"job_id": job_id, "text": "gate code 4711"},
              "recorded_at": local(9)},
             {"id": 2, "kind": "job_transition", "payload": {"job_id": job_id, "to": "en_route"},
              "recorded_at": local(9)}]
    bodies = [push(api, batch, key="batch-0001").json for _ in range(5)]
    assert all(body == bodies[0] for body in bodies)
    assert [r["status"] for r in bodies[0]["results"]] == ["applied", "applied"]
    without_key = push(api, batch).json
    assert [r["status"] for r in without_key["results"]] == ["duplicate", "duplicate"]
    assert without_key["results"][0]["original"]["status"] == "applied"
    notes = session.scalar(select(func.count()).select_from(JobEvent)
                           .where(JobEvent.kind == EventKind.NOTE, JobEvent.reason == "gate code 4711"))
    assert notes == 1
    assert api.get(f"/api/v1/jobs/{job_id}", as_="manager.hz01").json["status"] == "en_route"
    other = push(api, batch[:1] + [{"id": 3, "kind": "note", "payload": {"job_id": job_id, "text": "x"}}],
                 key="batch-0001")
    assert_problem(other, 422)


def test_gaps_stop_the_batch_and_rejected_mutations_never_block_the_device(api, tech1):
    job_id = new_job(api)
    assign(api, job_id, tech1)
    body = push(api, [
        {"id": 1, "kind": "note", "payload": {"job_id": job_id, "text": "first"}},
        {"id": 2, "kind": "teleport", "payload": {"job_id": job_id}},
        {"id": 3, "kind": "note", "payload": {"job_id": job_id, "text": "hi", "technician_id": tech1}},
        {"id": 4, "kind": "job_transition", "payload": {"job_id": job_id, "to": "completed"}},
        {"id": 6, "kind": "note", "payload": {"job_id": job_id, "text": "after the gap"}},
    ]).json
    statuses = [(r["id"], r["status"], r.get("reason")) for r in body["results"]]
    assert statuses[0] == (1, "applied", None)
    assert statuses[1][:2] == (2, "rejected") and statuses[1][2] == "unknown_kind"
    assert statuses[2][:2] == (3, "rejected") and statuses[2][2] == "forbidden_field"
    assert statuses[3][0] == 4 and statuses[3][1] in {"rejected", "conflict"}
    assert body["gap_at"] == 5 and body["last_mutation_id"] == 4
    resumed = push(api, [{"id": 5, "kind": "note", "payload": {"job_id": job_id, "text": "resumed"}}]).json
    assert resumed["results"][0]["status"] == "applied" and resumed["last_mutation_id"] == 5


def test_work_pushed_after_a_reassignment_is_kept_in_quarantine(api, tech1, tech2):
    job_id = new_job(api)
    assign(api, job_id, tech1)
    pull(api)  # the job reached the phone
    assign(api, job_id, tech2, reason="rebalanced the day")
    body = push(api, [
        {"id": 1, "kind": "note", "payload": {"job_id": job_id, "text": "customer not home"}},
        {"id": 2, "kind": "job_transition", "payload": {"job_id": job_id, "to": "en_route"}},
    ]).json
    assert all(r["status"] == "rejected" and r["quarantined"] and r["reason"] == "job_reassigned"
               for r in body["results"])
    kept = api.get(f"/api/v1/jobs/{job_id}/quarantine", as_="manager.hz01").json
    assert [(q["kind"], q["reason"]) for q in kept] == [("note", "job_reassigned"), ("job_transition", "job_reassigned")]
    assert kept[0]["payload"]["text"] == "customer not home"
    stranger = push(api, [{"id": 1, "kind": "note", "payload": {"job_id": job_id, "text": "x"}}],
                    user="tech.hz01.3", device="0b3a3a36-8f1e-4d55-9a9e-1f0a2b3c4d5e").json
    assert stranger["results"][0]["reason"] == "not-found" and not stranger["results"][0].get("quarantined")


def test_a_device_clock_far_off_is_flagged_not_trusted(api, tech1):
    job_id = new_job(api)
    assign(api, job_id, tech1)
    ahead = (NOW + timedelta(hours=3)).isoformat()
    body = push(api, [{"id": 1, "kind": "job_transition", "payload": {"job_id": job_id, "to": "en_route"},
                       "recorded_at": ahead}]).json
    result = body["results"][0]
    assert result["status"] == "applied" and result["clock_flagged"] is True
    assert result["clock_skew_s"] == 3 * 3600
    fine = push(api, [{"id": 2, "kind": "note", "payload": {"job_id": job_id, "text": "ok"},
                       "recorded_at": NOW.isoformat()}]).json
    assert "clock_flagged" not in fine["results"][0]


def test_forged_foreign_and_future_cursors_answer_410_reset_required(api, tech1):
    cursor = pull(api)["next_cursor"]
    payload, signature = cursor.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    for bad in (forged, "garbage", cursor[:-3] + "xyz"):
        body = assert_problem(api.get(f"/api/v1/sync/changes?cursor={bad}", as_="tech.hz01.1"), 410)
        assert body["reset_required"] is True
    foreign = api.get(f"/api/v1/sync/changes?cursor={cursor}", as_="tech.hz01.2")
    assert assert_problem(foreign, 410)["reset_required"] is True


def test_only_technicians_sync_and_limits_are_checked(api):
    assert_problem(api.get("/api/v1/sync/changes", as_="manager.hz01"), 403)
    assert_problem(api.get("/api/v1/sync/changes?limit=0", as_="tech.hz01.1"), 422, field="limit")
    too_many = [{"id": n, "kind": "note", "payload": {}} for n in range(1, 502)]
    assert 400 <= push(api, too_many).status_code < 500
