"""Lots, freezing, late syncs, sample sizes, commit-reveal and re-derivation, idempotent draws and
targeted reviews, through HTTP."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from dispatch.audit_log.models import LogEntry
from dispatch.network.models import Technician
from dispatch.audits import lots
from dispatch.audits.models import Audit, AuditKind
from dispatch.audits.lots import random_identity
from tests.api.audit_builders import NEXT_WEEK, WEEK, AuditWorld, local
from tests.helpers import assert_problem

AFTER_FREEZE = WEEK.freezes_at + timedelta(minutes=30)


@pytest.fixture
def world(api, session_factory):
    return AuditWorld(api, session_factory)


def rederive(seed_hex: str, lot_id: str, frame: list[str], n: int) -> list[str]:
    """An independent re-derivation, as an outside auditor would write it."""
    seed = bytes.fromhex(seed_hex)
    keyed = sorted((hmac.new(seed, f"{lot_id}:{cid}".encode(), hashlib.sha256).hexdigest(), cid) for cid in frame)
    return [cid for _, cid in keyed[:n]]


def test_a_lot_freezes_48_hours_after_its_week_and_late_syncs_go_to_the_next_lot(world, session_factory):
    on_time = world.checklist("NB02", completed_at=local(1, 15))
    world.draw(local(3, 9))  # Thursday: the week's lot is open, its seed committed
    last_minute = world.checklist("NB02", completed_at=local(6, 23), received_at=WEEK.freezes_at - timedelta(minutes=1))
    late = world.checklist("NB02", completed_at=local(5, 11), received_at=WEEK.freezes_at)

    open_lot = world.lot("NB02")
    assert open_lot["lot"]["status"] == "open" and open_lot["seed"] is None and open_lot["derivation"] is None
    assert open_lot["lot"]["freezes_at"] == "2030-03-12T16:00:00+00:00"  # Wednesday 00:00 in Shanghai

    report = world.draw(AFTER_FREEZE)
    assert report["late_syncs"] >= 1 and report["lots_frozen"] >= 1
    frozen = world.lot("NB02")
    assert frozen["lot"]["status"] == "frozen"
    assert frozen["frame"] == sorted([str(on_time), str(last_minute)])
    assert frozen["lot"]["frame_sha256"] == hashlib.sha256("\n".join(frozen["frame"]).encode()).hexdigest()
    following = world.lot("NB02", NEXT_WEEK)
    assert following["lot"]["status"] == "open" and following["counts"]["late_syncs"] == 1

    with session_factory() as session:
        entry = session.scalar(select(LogEntry).where(LogEntry.seq == frozen["lot"]["frame_log_seq"]))
        assert entry.kind == "audit.lot.frozen"
        assert entry.payload["frame"] == frozen["frame"] and entry.payload["frame_sha256"] == frozen["lot"]["frame_sha256"]

    world.draw(NEXT_WEEK.freezes_at + timedelta(hours=1))
    (late_audit,) = [a for a in world.audits(world.lot("NB02", NEXT_WEEK)["lot"]["id"])
                     if a["checklist_id"] == str(late)]
    (trigger,) = [t for t in late_audit["triggers"] if t["code"] == "late_sync"]
    assert trigger["detail"]["completed_week"] == WEEK.label
    assert datetime.fromisoformat(trigger["detail"]["received_at"]) == WEEK.freezes_at


def test_the_database_draw_matches_the_golden_sample_on_every_backend(world, session_factory):
    """The fixture of tests/unit/sop/test_sampling_selection.py, drawn through the database: the
    same five checklists on SQLite and PostgreSQL (the suite runs on both)."""
    golden_seed = hashlib.sha256(b"dispatch golden seed").digest()
    golden_lot = uuid.UUID("00000000-0000-4000-8000-000000000001")
    frame = [uuid.uuid5(uuid.NAMESPACE_URL, f"checklist-{i}") for i in range(12)]
    for i, cid in enumerate(frame):
        world.checklist("NB01", completed_at=local(i % 5, 9 + i), checklist_id=cid)
    nb01 = world.point_id("NB01")

    def identity(point_id, week):
        return (golden_lot, golden_seed) if (point_id, week.label) == (nb01, WEEK.label) else random_identity(
            point_id, week)

    with session_factory() as session:
        lots.run_audit_cycle(session, tz=WEEK.starts_at.tzinfo, now=AFTER_FREEZE, identity=identity)
        session.commit()
        drawn = session.scalars(select(Audit.checklist_id).where(Audit.lot_id == golden_lot,
                                                                  Audit.kind == AuditKind.STATISTICAL)
                                .order_by(Audit.rank)).all()
    assert [str(c) for c in drawn] == [
        "8461e1bd-0aa4-5774-9c15-d56cdbf30dd9",
        "af19f065-c68d-5219-83a1-32fd3bfc1fa2",
        "540e7246-aef2-54e1-bd70-158229ed8475",
        "89666e4a-1dbb-57a5-a7a0-94b1c6571e67",
        "d1a1bdd8-d0ba-5d1b-a681-e1029ba58347",
    ]


def test_the_revealed_seed_reproduces_the_sample_and_matches_its_earlier_commitment(world, session_factory):
    ids = [world.checklist("HZ02", completed_at=local(day % 5, 9 + day % 8)) for day in range(12)]
    world.draw(local(0, 8))
    committed = world.lot("HZ02")["lot"]["seed_commitment"]
    world.draw(AFTER_FREEZE)
    lot = world.lot("HZ02")
    assert lot["lot"]["seed_commitment"] == committed
    assert hashlib.sha256(bytes.fromhex(lot["seed"])).hexdigest() == committed
    assert lot["frame"] == sorted(str(i) for i in ids)

    n = lot["lot"]["sample_size"]
    assert (lot["lot"]["code_letter"], lot["lot"]["plan_letter"], n) == ("B", "C", 5)
    expected = rederive(lot["seed"], lot["lot"]["id"], lot["frame"], n)
    statistical = world.audits(lot["lot"]["id"], kind="statistical")
    assert sorted(a["checklist_id"] for a in statistical) == sorted(expected)
    assert [c["checklist_id"] for c in lot["derivation"] if c["selected"]] == expected
    assert [c["key"] for c in lot["derivation"]] == sorted(c["key"] for c in lot["derivation"])
    assert all(lot["checks"].values()), lot["checks"]

    with session_factory() as session:
        opened = session.scalar(select(LogEntry).where(LogEntry.seq == lot["lot"]["commitment_log_seq"]))
        assert opened.kind == "audit.lot.opened" and opened.payload["seed_commitment"] == committed
        assert opened.seq < lot["lot"]["frame_log_seq"]  # committed before the frame was known


@pytest.mark.parametrize(("count", "letter", "plan", "n", "ac", "re", "complete"), [
    (3, "A", "C", 3, 0, 1, True),  # the arrow leads to n = 5, more than the lot: inspect all 3
    (9, "B", "C", 5, 0, 1, False),
    (30, "D", "C", 5, 0, 1, False),  # D points up to C: 5, not 8
    (55, "E", "F", 20, 1, 2, False),  # E points down to F: 20, not 13
])
def test_sample_sizes_follow_iso_2859_1_level_two_at_aql_2_5(world, count, letter, plan, n, ac, re, complete):
    for i in range(count):
        world.checklist("SZ02", completed_at=local(i % 7, 8 + i % 10, i % 60))
    world.draw(AFTER_FREEZE)
    lot = world.lot("SZ02")
    got = {k: lot["lot"][k] for k in ("code_letter", "plan_letter", "sample_size", "accept_number", "reject_number")}
    assert got == {"code_letter": letter, "plan_letter": plan, "sample_size": n, "accept_number": ac,
                   "reject_number": re}
    assert lot["hundred_percent"] is complete
    assert lot["counts"]["statistical"] == n


def test_drawing_twice_draws_nothing_new(world):
    for i in range(4):
        world.checklist("SZ01", completed_at=local(i, 10))
    first = world.draw(AFTER_FREEZE)
    assert first["statistical"] >= 4
    second = world.draw(AFTER_FREEZE)
    assert {k: v for k, v in second.items() if k != "ran_at"} == {
        "lots_opened": 0, "checklists_assigned": 0, "late_syncs": 0, "lots_frozen": 0, "statistical": 0,
        "targeted": 0, "verdicts_finalised": 0, "lots_decided": 0}
    assert len(world.audits(world.lot("SZ01")["lot"]["id"])) == 4


def test_only_hq_draws_samples_and_managers_see_only_their_lots(world, api):
    world.checklist("SZ01", completed_at=local(1, 10))
    with world.at(AFTER_FREEZE):
        assert_problem(api.post("/api/v1/audits/samples", as_="manager.sz01"), 403)
        assert_problem(api.post("/api/v1/audits/samples", as_="tech.sz01.1"), 403)
        assert api.post("/api/v1/audits/samples", as_="admin").status_code == 200
    lot = world.lot("SZ01", as_="manager.sz01")
    with world.at(AFTER_FREEZE):
        assert_problem(api.get(f"/api/v1/audits/lots/{lot['lot']['id']}", as_="manager.hz01"), 404)
        assert_problem(api.get("/api/v1/audits/lots", as_="tech.sz01.1"), 403)
        assert_problem(api.get("/api/v1/audits/lots?week=2030-10", as_="admin"), 422, field="week")


def test_targeted_triggers_pick_risky_checklists_on_top_of_the_sample(world, session_factory):
    clean = [world.checklist("HZ01", completed_at=local(i % 5, 9)) for i in range(8)]
    done = local(2, 15)
    reused = world.checklist("HZ01", completed_at=done, photo={"exif_taken_at": done - timedelta(minutes=30)})
    copied = world.checklist("HZ01", completed_at=local(3, 15),
                             photo={"reuse": world.attachment_of(reused)})
    site = world.job_site(clean[0])
    far = world.checklist("HZ01", completed_at=done, photo={"gps": (site[0] + 0.05, site[1]),
                                                              "exif_taken_at": done - timedelta(minutes=20)})
    old_photo = world.checklist("HZ01", completed_at=done, photo={"exif_taken_at": done - timedelta(days=4)})
    rushed = world.checklist("HZ01", completed_at=local(4, 11), on_site_minutes=20)  # standard install: 90 min
    flagged = world.checklist("HZ01", completed_at=local(4, 12), flagged_steps=("tds_purified",))
    with session_factory() as session:  # technician 2 joined three weeks before the lot's week
        session.get(Technician, world.technician("HZ01", 2).id).hired_on = (WEEK.starts_at - timedelta(days=21)).date()
        session.commit()
    rookie = world.checklist("HZ01", completed_at=local(1, 16), tech=2)

    world.draw(AFTER_FREEZE)
    lot = world.lot("HZ01")
    audits = {a["checklist_id"]: a for a in world.audits(lot["lot"]["id"])}
    codes = {cid: {t["code"] for t in a["triggers"]} for cid, a in audits.items()}
    expected = {reused: {"reused_photo"}, copied: {"reused_photo", "exif_time_skew"}, far: {"exif_gps_far"},
                old_photo: {"exif_time_skew"}, rushed: {"too_fast"}, flagged: {"flagged_reading"},
                rookie: {"new_technician"}}
    for cid, trigger_codes in expected.items():
        assert codes[str(cid)] == trigger_codes, (cid, audits.get(str(cid)))
    assert all(not codes.get(str(cid)) for cid in clean)  # the clean ones are only ever drawn at random
    statistical = [a for a in audits.values() if a["kind"] == "statistical"]
    targeted = [a for a in audits.values() if a["kind"] == "targeted"]
    assert len(statistical) == lot["lot"]["sample_size"] == 5  # 15 checklists: B -> C, n = 5
    assert {a["checklist_id"] for a in targeted} == {str(c) for c in expected} - {a["checklist_id"]
                                                                                  for a in statistical}
    assert all(a["rank_key"] is None for a in targeted)
    (far_audit,) = [t for t in audits[str(far)]["triggers"] if t["code"] == "exif_gps_far"]
    assert 5000 < far_audit["detail"]["distance_m"] < 6000
