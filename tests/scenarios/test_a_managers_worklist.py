"""A manager works the worklist, through HTTP: HZ01's manager opens the day with something on
every list; a repair that fits a warranty valve is completed and rated 1/5; after the refresh the
manager's list has the follow-up call, the low-rating call and the old part to send, each with
its due time; the manager calls the customer back and records the answer, books the technician's
certificate renewal, tries the filter-change reminder, and the items leave the list; a technician
due for the yearly assessment sits it and passes; HQ receives the old part, and those items clear
themselves. Another point's manager sees none of it."""

from __future__ import annotations

from datetime import timedelta

from tests.dates import SUITE_TODAY, local
from tests.helpers import assert_problem
from tests.scenarios.steps import (
    ADMIN,
    API,
    at,
    caller_unit,
    next_working_day,
    ok,
    rating_link,
    repair_with_a_valve,
    token_of,
)

MANAGER = "manager.hz01"
LIST = f"{API}/worklist-items/"


def items(api, as_: str = MANAGER, **query) -> list[dict]:
    query = {"page_size": 100} | query
    return ok(api.get(LIST + "?" + "&".join(f"{k}={v}" for k, v in query.items()), as_=as_))


def summary(api, as_: str = MANAGER) -> dict[str, dict]:
    return {s["kind"]: s for s in ok(api.get(f"{LIST}summary", as_=as_))}


def refresh(api) -> None:
    """HQ refreshes the lists now (the cron task does it every 15 minutes)."""
    ok(api.post(f"{LIST}refresh", as_=ADMIN), 202)


def done(api, item: dict, **body) -> dict:
    return ok(api.post(f"{LIST}{item['id']}/done", as_=MANAGER, json=body))


def test_a_manager_works_the_worklist(api, session, walk):
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day, 8, 30), walk.now))
    refresh(api)
    morning = summary(api)
    assert all(morning[k]["open"] >= 1 for k in ("callback", "low_rating_callback", "filter_reminder",
                                                  "certificate_expiry", "complaint_deadline", "claim_old_part",
                                                  "assessment_due"))

    # A repair fits a warranty valve; the customer rates the visit 1/5 from the texted link.
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    job, claim = repair_with_a_valve(api, walk, unit, day, 9, "WP-VLV-STUCK", "coil reads open")
    walk.by(minutes=30)
    ok(api.post(f"{API}/feedback/{token_of(rating_link(api, job['id'], MANAGER))}",
                json={"score": 1, "comment": "the tap still drips"}), 201)
    refresh(api)
    mine = {(i["kind"], i["job_id"]): i for i in items(api)}
    follow_up, unhappy = mine[("callback", job["id"])], mine[("low_rating_callback", job["id"])]
    old_part = mine[("claim_old_part", job["id"])]
    completed_at = at(ok(api.get(f"{API}/jobs/{job['id']}", as_=MANAGER))["completed_at"])
    assert at(follow_up["due_at"]) == completed_at + timedelta(hours=48)
    assert at(unhappy["due_at"]) - walk.now == timedelta(hours=24)
    assert at(old_part["due_at"]).date() >= day + timedelta(days=13) and old_part["subject_id"] == claim["id"]
    assert not {i["job_id"] for i in items(api, as_="manager.nb01")} & {job["id"]}
    in_chinese = ok(api.get(f"{LIST}{old_part['id']}", as_=MANAGER, headers={"Accept-Language": "zh-CN"}))
    assert in_chinese["title"] == f"请将 {job['reference']} 保修索赔的旧件寄回总部"
    assert_problem(api.post(f"{LIST}{unhappy['id']}/done", as_="manager.nb01", json={"outcome": "reached"}), 404)

    # The manager calls the unhappy customer back and records the answer.
    walk.by(hours=1)
    answered = done(api, unhappy, outcome="reached", satisfied=False, note="valve clicks at night; revisit booked")
    assert answered["status"] == "done" and answered["callback_id"]
    calls = ok(api.get(f"{API}/jobs/{job['id']}/callbacks", as_=MANAGER))
    assert [(c["outcome"], c["satisfied"]) for c in calls] == [("reached", False)]

    # The certificate renewal is booked; the filter-change customer does not answer.
    done(api, items(api, kind="certificate_expiry")[0], outcome="handled", note="renewal course on the 20th")
    done(api, items(api, kind="filter_reminder")[0], outcome="no_answer", note="try again tomorrow")

    # The technician due for the yearly assessment of purifier maintenance sits it and passes.
    assessment = items(api, kind="assessment_due")[0]
    assert "periodic assessment of water_purifier:maintenance" in assessment["title"]
    ok(api.post(f"{API}/technicians/{assessment['subject_id']}/assessments", as_=MANAGER,
                json={"category": "water_purifier", "job_type": "maintenance", "assessed_on": day.isoformat(),
                      "score": 84}), 201)

    # HQ receives the old valve: that item clears itself, and the reached callback clears the follow-up.
    walk.by(hours=2)
    ok(api.post(f"{API}/claims/{claim['id']}/defective-return", as_=ADMIN, json={"note": "coil burnt"}))
    refresh(api)
    cleared = {i["id"] for i in items(api, status="cleared")}
    assert {old_part["id"], follow_up["id"], assessment["id"]} <= cleared
    open_now = {i["id"] for i in items(api)}
    assert not open_now & {unhappy["id"], old_part["id"], follow_up["id"]}
    worked = {i["kind"]: i["outcome"] for i in items(api, status="done")}
    assert worked == {"low_rating_callback": "reached", "certificate_expiry": "handled", "filter_reminder": "no_answer"}
    evening = summary(api)
    assert evening["certificate_expiry"]["open"] == morning["certificate_expiry"]["open"] - 1
    assert evening["filter_reminder"]["open"] == morning["filter_reminder"]["open"] - 1
    assert evening["assessment_due"]["open"] == morning["assessment_due"]["open"] - 1
