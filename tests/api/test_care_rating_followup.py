"""After the visit, through HTTP on a frozen clock: the point's manager sees the job's rating link
and can send it again (it goes out at once, even without a worker), and a rating of 2 or less
opens a callback (回访) item with a due time on the point's worklist, closed by reaching the
customer."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dispatch import clock
from dispatch.care import tokens
from tests.api.jobs_builders import MONDAY, TUESDAY, assign, create_job, local, move, technician
from tests.helpers import assert_problem
from tests.integration.care_support import care_hooks_only  # noqa: F401  (a fixture)

MANAGER, TECH = "manager.hz01", "tech.hz01.1"
DONE_AT = local(TUESDAY, 11)


@pytest.fixture
def settings(base_settings, tmp_path):
    """Access tokens that outlive the days these tests move the clock through."""
    return base_settings.with_(upload_dir=tmp_path / "uploads", access_token_ttl_s=30 * 86400)


@pytest.fixture(autouse=True)
def monday(care_hooks_only):  # noqa: F811
    with clock.frozen(MONDAY):
        yield MONDAY


def completed_job(api, session) -> dict:
    job = create_job(api, session)
    assert assign(api, job, technician(session, TECH).id, local(TUESDAY, 10)).status_code == 200
    with clock.frozen(DONE_AT):
        for to in ("en_route", "on_site", "completed"):
            response = move(api, job, to, TECH)
            assert response.status_code == 200, response.json
    return job


def link_token(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def test_the_manager_sees_a_working_rating_link_of_their_own_points_finished_job(api, session, settings):
    job = completed_job(api, session)
    with clock.frozen(DONE_AT + timedelta(hours=1)):
        response = api.get(f"/api/v1/jobs/{job['id']}/rating-link", as_=MANAGER)
        assert response.status_code == 200, response.json
        link = response.json
        assert link["url"].startswith(settings.feedback_link_base) and link["rated"] is False
        assert datetime.fromisoformat(link["expires_at"]) == DONE_AT + timedelta(hours=1) + tokens.FEEDBACK_LINK_TTL
        assert [(m["template"], m["status"]) for m in link["messages"]] == [("job_completed", "pending")]
        page = api.get(f"/api/v1/feedback/{link_token(link['url'])}")  # the customer, no account
        assert page.status_code == 200 and page.json["job_reference"] == job["reference"]

        assert_problem(api.get(f"/api/v1/jobs/{job['id']}/rating-link", as_="manager.nb01"), 404)
        assert_problem(api.get(f"/api/v1/jobs/{job['id']}/rating-link", as_=TECH), 403)
        assert api.get(f"/api/v1/jobs/{job['id']}/rating-link", as_="admin").status_code == 200
        unfinished = create_job(api, session)
        no_link = api.get(f"/api/v1/jobs/{unfinished['id']}/rating-link", as_=MANAGER).json
        assert (no_link["url"], no_link["expires_at"], no_link["messages"]) == (None, None, [])
        assert_problem(api.post(f"/api/v1/jobs/{unfinished['id']}/rating-link", as_=MANAGER), 409)


def test_resending_the_link_replaces_the_unsent_one_and_delivers_it_now(api, session):
    job = completed_job(api, session)
    with clock.frozen(DONE_AT + timedelta(days=2)):
        resent = api.post(f"/api/v1/jobs/{job['id']}/rating-link", as_=MANAGER)
        assert resent.status_code == 202, resent.json
        outbox = api.get(f"/api/v1/notifications/?job_id={job['id']}&template=job_completed", as_=MANAGER).json
        assert sorted(m["status"] for m in outbox) == ["sent", "superseded"]  # no worker needed: it went out
        [sent] = [m for m in outbox if m["status"] == "sent"]
        assert sent["id"] in [m["id"] for m in resent.json["messages"]]
        assert_problem(api.post(f"/api/v1/jobs/{job['id']}/rating-link", as_="manager.nb01"), 404)

        rated = api.post(f"/api/v1/feedback/{link_token(resent.json['url'])}", json={"score": 5})
        assert rated.status_code == 201
        assert api.get(f"/api/v1/jobs/{job['id']}/rating-link", as_=MANAGER).json["rated"] is True
        assert_problem(api.post(f"/api/v1/jobs/{job['id']}/rating-link", as_=MANAGER), 409)


def worklist(api, as_=MANAGER, **query) -> list[dict]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    response = api.get(f"/api/v1/callbacks?page_size=100&{params}", as_=as_)
    assert response.status_code == 200, response.json
    return response.json


def rate(api, job, score: int, comment: str = "") -> None:
    url = api.get(f"/api/v1/jobs/{job['id']}/rating-link", as_=MANAGER).json["url"]
    response = api.post(f"/api/v1/feedback/{link_token(url)}", json={"score": score, "comment": comment})
    assert response.status_code == 201, response.json


def test_a_low_rating_opens_a_callback_item_with_a_due_time_on_the_points_worklist(api, session):
    unhappy, happy = completed_job(api, session), completed_job(api, session)
    rated_at = DONE_AT + timedelta(hours=3)
    with clock.frozen(rated_at):
        rate(api, unhappy, 2, "filter still leaks")
        rate(api, happy, 4)
        [item] = [i for i in worklist(api, status="open") if i["job_id"] in (unhappy["id"], happy["id"])]
        assert (item["job_id"], item["job_reference"], item["score"], item["reason"]) == (
            unhappy["id"], unhappy["reference"], 2, "low_rating")
        assert item["comment"] == "filter still leaks" and item["status"] == "open" and item["attempts"] == 0
        assert datetime.fromisoformat(item["due_at"]) == rated_at + timedelta(hours=24)
        assert datetime.fromisoformat(item["opened_at"]) == rated_at
        assert unhappy["id"] not in {i["job_id"] for i in worklist(api, as_="manager.nb01")}
        assert unhappy["id"] in {i["job_id"] for i in worklist(api, as_="admin", status="open")}
        assert_problem(api.get("/api/v1/callbacks", as_=TECH), 403)
        assert unhappy["id"] not in {i["job_id"] for i in worklist(api, overdue="true")}
    with clock.frozen(rated_at + timedelta(hours=25)):
        assert unhappy["id"] in {i["job_id"] for i in worklist(api, overdue="true")}


def test_the_item_is_closed_by_the_call_that_reaches_the_customer(api, session):
    job = completed_job(api, session)
    with clock.frozen(DONE_AT + timedelta(hours=1)):
        rate(api, job, 1)
        path = f"/api/v1/jobs/{job['id']}/callbacks"
        missed = api.post(path, as_=MANAGER, json={"outcome": "no_answer"})
        assert missed.status_code == 201, missed.json
        [item] = [i for i in worklist(api, status="open") if i["job_id"] == job["id"]]
        assert item["attempts"] == 1
        reached = api.post(path, as_=MANAGER, json={"outcome": "reached", "satisfied": True,
                                                    "comment": "replaced the O-ring, customer happy"})
        assert reached.status_code == 201, reached.json
        assert job["id"] not in {i["job_id"] for i in worklist(api, status="open")}
        [done] = [i for i in worklist(api, status="done") if i["job_id"] == job["id"]]
        assert done["callback_id"] == reached.json["id"] and done["attempts"] == 2 and done["closed_at"]
        assert_problem(api.post(path, as_="manager.nb01", json={"outcome": "no_answer"}), 404)


def test_a_low_score_given_on_the_phone_opens_an_item_too(api, session):
    job = completed_job(api, session)
    with clock.frozen(DONE_AT + timedelta(hours=1)):
        response = api.post(f"/api/v1/jobs/{job['id']}/callbacks", as_="admin",
                            json={"outcome": "reached", "satisfied": False, "score": 2, "comment": "still noisy"})
        assert response.status_code == 201, response.json
        [item] = [i for i in worklist(api, status="open") if i["job_id"] == job["id"]]
        assert item["score"] == 2 and item["attempts"] == 0
