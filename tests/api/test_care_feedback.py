"""Customer follow-up through HTTP: the visit's messages, the public rating link, callbacks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.auth.models import User
from dispatch.care import notifications, tokens
from dispatch.care.models import Rating
from dispatch.clock import frozen, utcnow
from dispatch.jobs.models import Job, JobStatus
from tests.helpers import assert_problem
from tests.integration.care_support import (  # noqa: F401  (care_hooks_only is a fixture)
    TZ,
    RecordingSender,
    care_hooks_only,
    local,
    next_weekday,
    qualified_technician,
    rating_token,
)


def _job(session, status: JobStatus, point: str = "HZ01", *, unrated: bool = True) -> Job:
    query = (select(Job).where(Job.status == status, Job.reference.like(f"DEMO-{point}-%"))
             .order_by(Job.reference).options(selectinload(Job.product)))
    if unrated:
        query = query.outerjoin(Rating, Rating.job_id == Job.id).where(Rating.id.is_(None))
    return session.scalars(query).first()


def _username(session, technician) -> str:
    return session.get(User, technician.user_id).username


@pytest.mark.usefixtures("care_hooks_only")
def test_a_finished_visit_texts_the_customer_a_link_they_rate_it_with_once(api, session, uow_factory, settings):
    job = _job(session, JobStatus.DISPATCHED)
    start = local(next_weekday(utcnow().astimezone(TZ).date()), 10)
    technician = qualified_technician(session, job, start)
    assigned = api.post(f"/api/v1/jobs/{job.id}/assignment", as_="manager.hz01",
                        json={"technician_id": str(technician.id), "scheduled_start": start.isoformat()})
    assert assigned.status_code == 200, assigned.json
    for status in ("en_route", "on_site", "completed"):
        moved = api.post(f"/api/v1/jobs/{job.id}/transitions", as_=_username(session, technician), json={"to": status})
        assert moved.status_code == 200, moved.json

    outbox = api.get(f"/api/v1/notifications/?job_id={job.id}", as_="manager.hz01")
    assert sorted(m["template"] for m in outbox.json) == ["job_completed", "job_scheduled", "technician_en_route"]
    assert {m["status"] for m in outbox.json} == {"pending"}

    sender = RecordingSender()
    ctx = notifications.DeliveryContext(tz=TZ, secret_key=settings.secret_key)
    assert notifications.deliver_due(uow_factory, sender, ctx).sent == 3
    token = rating_token(next(m for m in sender.sent if "请为本次服务评分" in m.body))

    page = api.get(f"/api/v1/feedback/{token}")  # no account, no bearer token
    assert page.status_code == 200
    assert page.json["job_reference"] == job.reference and page.json["rated"] is False
    assert page.json["technician"] == technician.name

    rated = api.post(f"/api/v1/feedback/{token}", json={"score": 4, "comment": "Quick and tidy"})
    assert rated.status_code == 201 and rated.json["score"] == 4
    assert_problem(api.post(f"/api/v1/feedback/{token}", json={"score": 1}), 409, code="conflict")
    assert api.get(f"/api/v1/feedback/{token}").json["rated"] is True

    ratings = api.get("/api/v1/ratings?max_score=4&page_size=100", as_="manager.hz01").json
    mine = [r for r in ratings if r["job_id"] == str(job.id)]
    assert mine and mine[0]["source"] == "link" and mine[0]["technician_id"] == str(technician.id)
    assert all(r["service_point_id"] == str(job.service_point_id) for r in ratings)
    sent = api.get(f"/api/v1/notifications/?job_id={job.id}", as_="admin").json
    assert {m["status"] for m in sent} == {"sent"}


def test_a_tampered_link_is_not_found_and_an_expired_one_is_gone(api, session, settings):
    job = _job(session, JobStatus.COMPLETED)
    issued = utcnow()
    with frozen(issued):
        token = tokens.issue(settings.secret_key, job.id)
    forged = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    assert_problem(api.post(f"/api/v1/feedback/{forged}", json={"score": 5}), 404, code="not-found")
    assert_problem(api.get(f"/api/v1/feedback/{tokens.issue('another-secret', job.id)}"), 404)
    with frozen(issued + tokens.FEEDBACK_LINK_TTL + timedelta(minutes=1)):
        assert_problem(api.post(f"/api/v1/feedback/{token}", json={"score": 5}), 410, code="gone")
    assert session.scalar(select(Rating).where(Rating.job_id == job.id)) is None


def test_a_rating_needs_a_score_from_one_to_five_and_a_completed_visit(api, session, settings):
    done = tokens.issue(settings.secret_key, _job(session, JobStatus.COMPLETED).id)
    assert_problem(api.post(f"/api/v1/feedback/{done}", json={"score": 6}), 422, field="score")
    assert_problem(api.post(f"/api/v1/feedback/{done}", json={"comment": "no score"}), 422, field="score")
    open_job = tokens.issue(settings.secret_key, _job(session, JobStatus.DISPATCHED).id)
    assert_problem(api.post(f"/api/v1/feedback/{open_job}", json={"score": 5}), 409)


def test_the_call_centre_or_the_point_records_callbacks_and_a_phone_score_rates_the_job(api, session, settings):
    job = _job(session, JobStatus.COMPLETED)
    path = f"/api/v1/jobs/{job.id}/callbacks"
    missed = api.post(path, as_="admin", json={"outcome": "no_answer"})
    assert missed.status_code == 201 and missed.json["score"] is None
    reached = api.post(path, as_="admin", json={"outcome": "reached", "satisfied": True, "score": 5,
                                                "comment": "Very happy with the new filter"})
    assert reached.status_code == 201 and reached.headers["Location"].endswith(path)
    rating = session.scalar(select(Rating).where(Rating.job_id == job.id))
    assert (rating.score, rating.source.value) == (5, "callback")
    token = tokens.issue(settings.secret_key, job.id)
    assert_problem(api.post(f"/api/v1/feedback/{token}", json={"score": 2}), 409)  # already rated on the phone

    calls = api.get(path, as_="manager.hz01")
    assert [c["outcome"] for c in calls.json] == ["no_answer", "reached"]
    assert_problem(api.get(path, as_="manager.nb01"), 404)
    assert_problem(api.post(path, as_="tech.hz01.1", json={"outcome": "reached"}), 403)
    assert_problem(api.post(path, as_="manager.nb01", json={"outcome": "reached"}), 404)
    assert_problem(api.post(path, as_="admin", json={"outcome": "wrong_number", "score": 3}), 422, field="score")
    assert_problem(api.post(path, as_="admin", json={"outcome": "maybe"}), 422, field="outcome")
