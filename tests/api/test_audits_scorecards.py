"""Scorecards: the Wilson-bound score over decided lots from statistical verdicts only (targeted
reviews never count), the critical cap, lots accepted/rejected, findings by reason, SLA
compliance, and HQ's list of flagged points."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.audit_builders import NEXT_WEEK, WEEK, AuditWorld, local
from tests.helpers import assert_problem

PERIOD = f"from={WEEK.starts_at.date()}&to={(NEXT_WEEK.ends_at - timedelta(days=1)).date()}"
MAJOR = {"verdict": "major", "findings": [{"step_key": "site_survey_photo", "code": "missing_evidence"}]}
CRITICAL = {"verdict": "critical", "findings": [{"step_key": "site_survey_photo", "code": "evidence_mismatch",
                                                 "note": "another customer's kitchen"}]}


@pytest.fixture
def world(api, session_factory):
    return AuditWorld(api, session_factory)


def fill_week(world, point: str, week, *, flagged: int = 0) -> None:
    """12 ordinary checklists (n = 5 for 12-15 items, 5 also for 16-25) plus ``flagged`` ones with
    a flagged reading: more of them than the sample holds, so some are only ever targeted."""
    for i in range(12):
        world.checklist(point, completed_at=local(i % 6, 9 + i % 7, week=week))
    for i in range(flagged):
        world.checklist(point, completed_at=local(i % 5, 16, week=week), flagged_steps=("tds_purified",))


def judge(world, lot_id: str, moment, verdicts: dict[str, dict]) -> None:
    """Give each audit the verdict of its kind (``{"statistical": {...}, "targeted": {...}}``)."""
    for audit in world.audits(lot_id):
        body = verdicts.get(audit["kind"])
        if body is None:
            continue
        with world.at(moment):
            response = world.api.post(f"/api/v1/audits/{audit['id']}/verdict", as_="reviewer", json=body)
        assert response.status_code == 200, response.json


def scorecard(world, point: str, moment, as_: str = "reviewer", query: str = PERIOD):
    with world.at(moment):
        return world.api.get(f"/api/v1/service-points/{world.point_id(point)}/scorecard?{query}", as_=as_)


def test_the_score_uses_final_statistical_verdicts_only_and_a_rejection_flags_the_point(world):
    fill_week(world, "NB01", WEEK, flagged=6)  # 18 items: C -> n = 5, so >= 1 flagged checklist is targeted
    fill_week(world, "NB01", NEXT_WEEK)
    first = WEEK.freezes_at + timedelta(hours=1)
    world.draw(first)
    week_a = world.lot("NB01")["lot"]["id"]
    judge(world, week_a, first, {"statistical": {"verdict": "conforming"}, "targeted": MAJOR})
    second = NEXT_WEEK.freezes_at + timedelta(hours=1)  # also finalises week A's verdicts
    world.draw(second)
    week_b = world.lot("NB01", NEXT_WEEK)["lot"]["id"]
    audits_b = world.audits(week_b, kind="statistical")
    judge(world, week_b, second, {"statistical": {"verdict": "conforming"}})
    with world.at(second + timedelta(minutes=5)):  # correct one of them to a major
        current = world.api.get(f"/api/v1/audits/{audits_b[0]['id']}", as_="reviewer").json["audit"]
        corrected = world.api.post(f"/api/v1/audits/{audits_b[0]['id']}/verdict", as_="admin",
                                   json={**MAJOR, "supersedes_id": current["verdicts"][-1]["id"]})
        assert corrected.status_code == 200, corrected.json
    later = second + timedelta(days=3, hours=1)
    world.draw(later)
    assert world.lot("NB01")["lot"]["decision"] == "accepted"  # the targeted majors do not count
    assert world.lot("NB01", NEXT_WEEK)["lot"]["decision"] == "rejected"

    response = scorecard(world, "NB01", later)
    assert response.status_code == 200, response.json
    card = response.json
    targeted = len(world.audits(week_a, kind="targeted"))
    assert targeted >= 1
    assert (card["sampled"], card["defects"], card["window_lots"]) == (10, 1, 2)
    # p = 0.1, n = 10: U = (0.1 + 0.135277 + 1.644854 * sqrt(0.009 + 0.006764)) / 1.270554 = 0.347719
    assert card["wilson_upper"] == pytest.approx(0.347719, abs=1e-6)
    assert card["score"] == 65.2 and card["band"] == "red"
    assert (card["lots_accepted"], card["lots_rejected"], card["recent_decisions"]) == (1, 1, ["rejected", "accepted"])
    assert card["verdicts"] == {"conforming": 9, "major": 1}
    assert card["targeted_verdicts"] == {"major": targeted}  # reviewed, reported, never scored
    assert card["findings_by_reason"] == {"missing_evidence": targeted + 1}
    assert card["flagged"] is True and card["flag_reasons"] == ["red_score", "recent_rejection"]

    with world.at(later):
        flagged = world.api.get(f"/api/v1/audits/flagged-points?{PERIOD}", as_="admin")
        assert flagged.status_code == 200
        assert "NB01" in [c["service_point_code"] for c in flagged.json]
        assert "HZ02" not in [c["service_point_code"] for c in flagged.json]
        assert_problem(world.api.get("/api/v1/audits/flagged-points", as_="manager.nb01"), 403)
        # the network's point list delegates ?flagged= to the same rule (default period: 182 days to today)
        listed = world.api.get("/api/v1/service-points/?flagged=true&page_size=100", as_="admin")
        assert listed.status_code == 200, listed.json
        everyone = world.api.get("/api/v1/audits/flagged-points", as_="admin").json
        assert [p["code"] for p in listed.json] == sorted(c["service_point_code"] for c in everyone)
        assert "NB01" in [p["code"] for p in listed.json]
        others = world.api.get("/api/v1/service-points/?flagged=false&page_size=100", as_="admin").json
        assert "NB01" not in [p["code"] for p in others] and "HZ02" in [p["code"] for p in others]


def test_a_critical_finding_caps_the_score_at_60_even_from_a_targeted_review(world):
    fill_week(world, "SZ01", WEEK, flagged=6)
    drawn = WEEK.freezes_at + timedelta(hours=1)
    world.draw(drawn)
    lot_id = world.lot("SZ01")["lot"]["id"]
    judge(world, lot_id, drawn, {"statistical": {"verdict": "conforming"}})
    target = world.audits(lot_id, kind="targeted")[0]
    with world.at(drawn):
        assert world.api.post(f"/api/v1/audits/{target['id']}/verdict", as_="reviewer",
                              json=CRITICAL).status_code == 200
    later = drawn + timedelta(days=3, hours=1)
    world.draw(later)
    card = scorecard(world, "SZ01", later).json
    assert (card["sampled"], card["defects"], card["critical"]) == (5, 0, True)
    assert card["score"] == 60.0  # 64.9 uncapped (0 defects in 5)
    assert world.lot("SZ01")["lot"]["decision"] == "rejected"
    assert card["flag_reasons"] == ["critical", "recent_rejection"]  # no defect in the sample: no red_score


def test_few_clean_samples_score_low_but_are_not_flagged(world):
    for i in range(3):
        world.checklist("HZ02", completed_at=local(i, 10))
    drawn = WEEK.freezes_at + timedelta(hours=1)
    world.draw(drawn)
    judge(world, world.lot("HZ02")["lot"]["id"], drawn, {"statistical": {"verdict": "conforming"}})
    later = drawn + timedelta(days=3, hours=1)
    world.draw(later)
    card = scorecard(world, "HZ02", later).json
    # d = 0, n = 3: U = z^2 / (n + z^2) = 2.705543 / 5.705543 = 0.474196 -> 52.6
    assert (card["sampled"], card["score"], card["band"], card["flagged"]) == (3, 52.6, "red", False)
    assert card["lots_accepted"] == 1


def test_sla_compliance_counts_jobs_on_site_by_their_due_time(world):
    due = local(2, 12)
    world.sla_job("NB02", due_at=due, arrived_at=due - timedelta(hours=3))
    world.sla_job("NB02", due_at=due, arrived_at=due - timedelta(minutes=1))
    world.sla_job("NB02", due_at=due, arrived_at=due + timedelta(hours=2))  # late
    world.sla_job("NB02", due_at=due)  # never arrived: breached once due
    world.sla_job("NB02", due_at=due, cancelled_at=due - timedelta(hours=10))  # cancelled in time: not counted
    world.sla_job("NB02", due_at=local(6, 23))  # not due yet at the time of asking
    card = scorecard(world, "NB02", local(4, 9)).json
    assert (card["sla_jobs"], card["sla_met"], card["sla_missed"], card["sla_compliance"]) == (4, 2, 2, 0.5)
    assert card["score"] is None and card["band"] == "no_data"


def test_scorecards_are_scoped_like_their_point_and_the_period_is_checked(world):
    moment = local(4, 9)
    assert scorecard(world, "NB02", moment, as_="manager.nb02").status_code == 200
    assert scorecard(world, "NB02", moment, as_="tech.nb02.1").status_code == 200
    assert_problem(scorecard(world, "NB02", moment, as_="manager.hz01"), 404)
    assert_problem(scorecard(world, "NB02", moment, query="from=2030-03-10&to=2030-03-01"), 422, field="from")
    assert_problem(scorecard(world, "NB02", moment, query="from=yesterday"), 422, field="from")
    with world.at(moment):
        missing = world.api.get("/api/v1/service-points/00000000-0000-4000-8000-000000000000/scorecard",
                                as_="admin")
    assert_problem(missing, 404)


def test_the_demo_data_has_decided_lots_scorecards_and_samples_waiting_for_review(api):
    queue = api.get("/api/v1/audits/?status=open&page_size=100", as_="reviewer")
    assert queue.status_code == 200 and len(queue.json) >= 1
    points = {p["code"]: p["id"] for p in api.get("/api/v1/service-points/?page_size=100", as_="admin").json}
    for code in ("HZ01", "SZ02"):
        card = api.get(f"/api/v1/service-points/{points[code]}/scorecard", as_="admin").json
        assert card["lots_accepted"] + card["lots_rejected"] >= 2 and card["sampled"] >= 4, card
        assert card["score"] is not None and card["verdicts"]
