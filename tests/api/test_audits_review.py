"""Reviewing samples: the queue, the audit detail, append-only verdicts and corrections, the
manager's dispute window, two-person adjudication, finality and lot decisions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from dispatch.audits.models import AuditVerdict
from tests.api.audit_builders import WEEK, AuditWorld, local
from tests.helpers import assert_problem

DRAWN = WEEK.freezes_at + timedelta(minutes=30)
MAJOR = {"verdict": "major", "findings": [{"step_key": "site_survey_photo", "code": "missing_evidence",
                                           "note": "the cabinet is not in the photo"}]}


@pytest.fixture
def world(api, session_factory):
    return AuditWorld(api, session_factory)


@pytest.fixture
def lot(world):
    """SZ01 completed 12 checklists in the week (n = 5, Ac 0, Re 1); the sample is drawn."""
    for i in range(12):
        world.checklist("SZ01", completed_at=local(i % 6, 9 + i % 7))
    world.draw(DRAWN)
    return world.lot("SZ01")


@pytest.fixture
def audits(world, lot):
    return world.audits(lot["lot"]["id"])


def post(world, moment, path, as_, body=None):
    with world.at(moment):
        return world.api.post(f"/api/v1/audits/{path}", as_=as_, json=body or {})


def get(world, moment, path, as_):
    with world.at(moment):
        return world.api.get(f"/api/v1/audits/{path}", as_=as_)


def test_the_queue_lists_open_samples_oldest_first(world, api, lot, audits):
    response = get(world, DRAWN, f"?status=open&lot_id={lot['lot']['id']}&page_size=100", "reviewer")
    assert response.status_code == 200
    assert [a["id"] for a in response.json] == [a["id"] for a in audits]
    assert [a["rank"] for a in response.json] == sorted(a["rank"] for a in response.json)
    assert {a["status"] for a in response.json} == {"open"} and len(response.json) == 5
    everything = get(world, DRAWN, "?status=open&page_size=100", "reviewer").json
    assert [a["sampled_at"] for a in everything] == sorted(a["sampled_at"] for a in everything)


def test_the_detail_shows_revisions_evidence_clocks_distances_and_job_events(world):
    done = local(2, 15)
    cid = world.checklist("NB01", completed_at=done, photo={"exif_taken_at": done - timedelta(minutes=50)})
    world.draw(DRAWN)
    (audit,) = world.audits(world.lot("NB01")["lot"]["id"])
    detail = get(world, DRAWN, audit["id"], "reviewer")
    assert detail.status_code == 200, detail.json
    body = detail.json
    assert body["checklist"]["id"] == str(cid) and body["checklist"]["template_code"] == "WP-INSTALL"
    assert datetime.fromisoformat(body["job"]["completed_at"]) == done
    (survey,) = [s for s in body["checklist"]["steps"] if s["key"] == "site_survey_photo"]
    (revision,) = survey["revisions"]
    assert revision["revision"] == 1 and revision["is_current"] and revision["distance_m"] == 0
    (photo,) = revision["evidence"]
    assert photo["exif_minus_received_s"] == -50 * 60  # the photo was taken 50 min before the server got the step
    assert photo["gps_distance_m"] is None and photo["gps_far"] is False and photo["exif_time_skewed"] is False
    assert body["lot"]["week"] == WEEK.label and body["audit"]["kind"] == "statistical"
    assert isinstance(body["events"], list)


def test_only_hq_gives_verdicts_and_findings_are_validated(world, audits):
    target = audits[0]["id"]
    assert_problem(post(world, DRAWN, f"{target}/verdict", "manager.sz01", MAJOR), 403)
    assert_problem(post(world, DRAWN, f"{target}/verdict", "tech.sz01.1", MAJOR), 403)
    assert_problem(post(world, DRAWN, f"{target}/verdict", "reviewer", {"verdict": "major"}), 422, field="findings")
    assert_problem(post(world, DRAWN, f"{target}/verdict", "reviewer",
                        {"verdict": "conforming", "findings": MAJOR["findings"]}), 422, field="findings")
    unknown = {"verdict": "minor", "findings": [{"step_key": "no_such_step", "code": "step_skipped"}]}
    assert_problem(post(world, DRAWN, f"{target}/verdict", "reviewer", unknown), 422, field="findings.0.step_key")
    other = {"verdict": "minor", "findings": [{"code": "other"}]}
    assert_problem(post(world, DRAWN, f"{target}/verdict", "reviewer", other), 422, field="findings.0.note")
    assert_problem(post(world, DRAWN, f"{target}/verdict", "reviewer", {"verdict": "fine"}), 422, field="verdict")
    bad_code = {"verdict": "minor", "findings": [{"code": "sloppy"}]}
    assert_problem(post(world, DRAWN, f"{target}/verdict", "reviewer", bad_code), 422, field="findings.0.code")


def test_verdicts_are_append_only_and_a_correction_supersedes(world, session_factory, audits):
    target = audits[0]["id"]
    first = post(world, DRAWN, f"{target}/verdict", "reviewer", MAJOR)
    assert first.status_code == 200, first.json
    assert first.json["status"] == "verdict_given" and first.json["verdict"] == "major"
    first_id = first.json["verdicts"][0]["id"]

    again = post(world, DRAWN + timedelta(hours=1), f"{target}/verdict", "reviewer", {"verdict": "conforming"})
    body = assert_problem(again, 409, code="conflict")
    assert body["current_verdict_id"] == first_id

    corrected = post(world, DRAWN + timedelta(hours=2), f"{target}/verdict", "admin",
                     {"verdict": "minor", "findings": [{"code": "other", "note": "blurred but legible"}],
                      "supersedes_id": first_id})
    assert corrected.status_code == 200, corrected.json
    verdicts = corrected.json["verdicts"]
    assert [(v["seq"], v["kind"], v["verdict"]) for v in verdicts] == [(1, "review", "major"), (2, "correction", "minor")]
    assert verdicts[1]["supersedes_id"] == first_id and corrected.json["verdict"] == "minor"
    assert corrected.json["dispute_until"] > first.json["dispute_until"]  # a correction restarts the window
    with session_factory() as session:
        original = session.get(AuditVerdict, uuid.UUID(first_id))
        assert (original.verdict.value, original.findings[0]["code"]) == ("major", "missing_evidence")

    stale = post(world, DRAWN + timedelta(hours=3), f"{target}/verdict", "reviewer",
                 {"verdict": "conforming", "supersedes_id": first_id})
    assert_problem(stale, 409)  # must name the *current* verdict


def test_the_manager_disputes_within_three_days_and_a_second_reviewer_adjudicates(world, audits):
    target = audits[1]["id"]
    given = DRAWN + timedelta(hours=1)
    assert post(world, given, f"{target}/verdict", "reviewer", MAJOR).status_code == 200

    assert_problem(post(world, given, f"{target}/disputes", "manager.hz01", {"reason": "no"}), 404)
    assert_problem(post(world, given, f"{target}/disputes", "tech.sz01.1", {"reason": "no"}), 403)
    assert_problem(post(world, given, f"{target}/disputes", "reviewer2", {"reason": "no"}), 403)
    assert_problem(post(world, given, f"{target}/disputes", "manager.sz01", {}), 422, field="reason")
    disputed = post(world, given + timedelta(days=2), f"{target}/disputes", "manager.sz01",
                    {"reason": "the cabinet is in the second photo"})
    assert disputed.status_code == 200, disputed.json
    assert disputed.json["status"] == "disputed" and disputed.json["dispute"]["status"] == "open"

    later = given + timedelta(days=2, hours=1)
    assert_problem(post(world, later, f"{target}/verdict", "reviewer2", {"verdict": "conforming"}), 409,
                   code="invalid-transition")
    amend = {"outcome": "amended", "verdict": "minor", "note": "second photo shows it",
             "findings": [{"step_key": "site_survey_photo", "code": "evidence_mismatch"}]}
    assert_problem(post(world, later, f"{target}/adjudication", "reviewer", amend), 403)  # gave the verdict
    assert_problem(post(world, later, f"{target}/adjudication", "reviewer2", {"outcome": "amended", "note": "x"}),
                   422, field="verdict")
    settled = post(world, later, f"{target}/adjudication", "reviewer2", amend)
    assert settled.status_code == 200, settled.json
    assert settled.json["status"] == "final" and settled.json["verdict"] == "minor"
    assert [v["kind"] for v in settled.json["verdicts"]] == ["review", "adjudication"]
    assert settled.json["dispute"]["status"] == "amended"
    assert settled.json["dispute"]["resulting_verdict_id"] == settled.json["verdicts"][1]["id"]
    assert_problem(post(world, later, f"{target}/disputes", "manager.sz01", {"reason": "again"}), 409)


def test_the_dispute_window_closes_after_three_days_and_the_verdict_becomes_final(world, audits):
    target = audits[2]["id"]
    assert post(world, DRAWN, f"{target}/verdict", "reviewer", MAJOR).status_code == 200
    too_late = DRAWN + timedelta(days=3)
    assert_problem(post(world, too_late, f"{target}/disputes", "manager.sz01", {"reason": "late"}), 409,
                   code="invalid-transition")
    assert_problem(post(world, too_late, f"{target}/verdict", "reviewer",
                        {"verdict": "conforming", "supersedes_id": None}), 409)
    report = world.draw(too_late + timedelta(minutes=5))
    assert report["verdicts_finalised"] >= 1
    audit = get(world, too_late, target, "reviewer").json["audit"]
    assert audit["status"] == "final" and audit["final_at"] == audit["dispute_until"]


def test_a_conforming_verdict_leaves_nothing_to_dispute(world, audits):
    target = audits[3]["id"]
    assert post(world, DRAWN, f"{target}/verdict", "reviewer", {"verdict": "conforming"}).status_code == 200
    assert_problem(post(world, DRAWN, f"{target}/disputes", "manager.sz01", {"reason": "thanks"}), 409)


def test_technicians_see_their_findings_only_once_final(world, audits, lot):
    target = next(a for a in audits if a["technician_id"])
    assert post(world, DRAWN, f"{target['id']}/verdict", "reviewer", MAJOR).status_code == 200
    tech = next(f"tech.sz01.{n}" for n in range(1, 5)
                if world.technician("SZ01", n).id.hex == target["technician_id"].replace("-", ""))
    assert_problem(get(world, DRAWN, target["id"], tech), 404)
    world.draw(DRAWN + timedelta(days=3, minutes=1))
    mine = get(world, DRAWN + timedelta(days=3, minutes=2), f"?lot_id={lot['lot']['id']}", tech)
    assert mine.status_code == 200 and [a["id"] for a in mine.json] == [target["id"]]
    assert get(world, DRAWN + timedelta(days=3, minutes=2), target["id"], tech).json["audit"]["verdict"] == "major"


def test_a_lot_is_accepted_when_every_verdict_is_final_within_the_acceptance_number(world, audits, lot):
    for audit in audits:
        assert post(world, DRAWN, f"{audit['id']}/verdict", "reviewer",
                    {"verdict": "minor", "findings": [{"code": "other", "note": "labels"}]}).status_code == 200
    assert world.lot("SZ01")["lot"]["decision"] is None
    report = world.draw(DRAWN + timedelta(days=3, minutes=1))
    assert report["lots_decided"] >= 1
    decided = world.lot("SZ01")["lot"]
    assert (decided["status"], decided["decision"], decided["defects"]) == ("decided", "accepted", 0)


def test_one_final_major_rejects_a_lot_at_its_rejection_number_before_the_rest_is_reviewed(world, audits):
    assert post(world, DRAWN, f"{audits[0]['id']}/verdict", "reviewer", MAJOR).status_code == 200
    world.draw(DRAWN + timedelta(days=3, minutes=1))
    decided = world.lot("SZ01")["lot"]
    assert (decided["decision"], decided["defects"], decided["reject_number"]) == ("rejected", 1, 1)


def test_a_critical_verdict_puts_the_technicians_other_checklists_under_review_and_rejects_the_lot(world):
    for i in range(12):
        world.checklist("SZ02", completed_at=local(i % 6, 9 + i % 7), tech=1 + i % 2)
    world.draw(DRAWN)
    lot = world.lot("SZ02")
    audits = world.audits(lot["lot"]["id"])
    culprit = audits[0]
    critical = {"verdict": "critical", "findings": [{"step_key": "site_survey_photo", "code": "evidence_mismatch",
                                                     "note": "photo of another house"}]}
    assert post(world, DRAWN, f"{culprit['id']}/verdict", "reviewer", critical).status_code == 200
    after = world.audits(lot["lot"]["id"])
    follow_ups = [a for a in after if any(t["code"] == "critical_follow_up" for t in a["triggers"])]
    same_tech = [c for c in lot["derivation"] if c["audit_id"] is None]
    assert follow_ups and all(a["technician_id"] == culprit["technician_id"] for a in follow_ups)
    assert all(a["kind"] == "targeted" for a in follow_ups) and len(follow_ups) <= len(same_tech)
    world.draw(DRAWN + timedelta(days=3, minutes=1))
    decided = world.lot("SZ02")["lot"]
    assert (decided["decision"], decided["critical_found"]) == ("rejected", True)
