"""HQ's review loop over a day's work, role by role through HTTP: the week's lot is committed
before anyone knows what is in it, freezes 48 h after the week, the sample is drawn; the reviewer
reads the checklist as the technician left it (the bad reading and its fix, the photo's EXIF),
gives a verdict; the point's manager disputes it, a second reviewer adjudicates; the verdict
reaches the lot's decision, the point's scorecard, the technician's view and the KPIs."""

from __future__ import annotations

from datetime import date, timedelta

from tests.dates import SUITE_TODAY, TZ, local
from tests.helpers import assert_problem
from tests.scenarios.steps import (
    ADMIN,
    API,
    Phone,
    REVIEWER,
    REVIEWER2,
    at,
    audits_of,
    book,
    caller_unit,
    draw,
    fill_repair_checklist,
    free_hour,
    job,
    kpis,
    kpis_csv,
    next_working_day,
    ok,
    photo,
    point_id,
    record_fault_cause,
    repair_call,
    repair_offline,
    scorecard,
    signature_image,
    take_in,
    team,
    transition,
    upload,
)

MANAGER, OTHER_MANAGER = "manager.hz01", "manager.hz02"
MAJOR = {"verdict": "major", "findings": [{"step_key": "fault_photo", "code": "missing_evidence",
                                           "note": "the photo shows the cabinet, not the leaking fitting"}]}


def week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def test_a_spot_check_of_the_days_work_reaches_the_lot_the_scorecard_and_the_kpis(api, session, walk):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    monday, sunday = week_of(day)
    walk.to(max(local(day - timedelta(days=1), 16), walk.now))

    # --- a day's repair: call centre, manager, technician (online) ----------------------------
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    taken = take_in(api, repair_call(unit, day, (9, 17), "purifier leaks at the inlet")).json
    worker = team(api, MANAGER)[1]
    tech = worker["username"]
    start = free_hour(api, MANAGER, worker["id"], day)
    book(api, MANAGER, taken["id"], worker["id"], start)
    walk.to(start - timedelta(minutes=15))
    transition(api, taken["id"], "en_route", tech, walk.now)
    walk.to(start)
    transition(api, taken["id"], "on_site", tech, walk.now, location=taken["location"])
    walk.to(start + timedelta(minutes=58))
    fill_repair_checklist(api, taken["id"], tech, start, taken["location"], pressure=(0.05, 0.28))
    walk.to(start + timedelta(minutes=60))
    record_fault_cause(api, taken["id"], "WP-VLV-STUCK", tech)
    transition(api, taken["id"], "completed", tech, walk.now)
    checklist_id = ok(api.get(f"{API}/jobs/{taken['id']}/checklist", as_=MANAGER))["id"]

    # --- reviewer, that evening: the week's lot is open; its seed is committed, not revealed ----
    walk.to(local(day, 20))
    draw(api)
    year, number, _ = day.isocalendar()
    [summary] = ok(api.get(f"{API}/audits/lots?service_point_id={hz01}&week={year}-W{number:02d}", as_=REVIEWER))
    lot = ok(api.get(f"{API}/audits/lots/{summary['id']}", as_=REVIEWER))
    assert lot["lot"]["status"] == "open" and lot["seed"] is None and lot["lot"]["seed_commitment"]
    assert checklist_id not in {a["checklist_id"] for a in audits_of(api, lot_id=summary["id"])}

    # --- reviewer, after the lot froze (48 h after the week): the sample is drawn ---------------
    walk.to(at(summary["freezes_at"]) + timedelta(hours=1))
    report = draw(api)
    assert report["lots_frozen"] >= 1
    lot = ok(api.get(f"{API}/audits/lots/{summary['id']}", as_=REVIEWER))
    assert lot["lot"]["status"] == "frozen" and lot["seed"] is not None and all(lot["checks"].values())
    assert checklist_id in lot["frame"] and lot["hundred_percent"] is True  # a small lot is inspected whole
    [audit] = [a for a in audits_of(api, lot_id=summary["id"]) if a["checklist_id"] == checklist_id]
    assert (audit["kind"], audit["status"], audit["job_id"], audit["triggers"]) == (
        "statistical", "open", taken["id"], [])
    assert audit["id"] in {a["id"] for a in audits_of(api, status="open", service_point_id=hz01)}  # the queue

    # --- reviewer: reads the checklist as it was left: the bad reading, its fix, the photo -----
    detail = ok(api.get(f"{API}/audits/{audit['id']}", as_=REVIEWER))
    steps = {s["key"]: s for s in detail["checklist"]["steps"]}
    assert [(r["revision"], r["value"], r["status"], r["is_current"]) for r in steps["inlet_pressure"]["revisions"]] == [
        (1, 0.05, "failed", False), (2, 0.28, "passed", True)]
    [evidence] = steps["fault_photo"]["revisions"][0]["evidence"]
    assert (evidence["gps_distance_m"], evidence["gps_far"], evidence["exif_time_skewed"]) == (0, False, False)
    assert evidence["other_jobs"] == []  # the photo was not used on another job
    assert at(detail["job"]["arrived_at"]) == start and at(detail["job"]["completed_at"]) == start + timedelta(hours=1)
    assert [e["to_status"] for e in detail["events"] if e["kind"] == "transition"][-3:] == [
        "en_route", "on_site", "completed"]

    # --- who else may look: the point's manager reads, the other point does not; nobody else judges
    assert ok(api.get(f"{API}/audits/{audit['id']}", as_=MANAGER))["audit"]["id"] == audit["id"]
    assert_problem(api.get(f"{API}/audits/{audit['id']}", as_=OTHER_MANAGER), 404)
    assert_problem(api.get(f"{API}/audits/{audit['id']}", as_=tech), 404)  # not before it is final
    assert_problem(api.post(f"{API}/audits/{audit['id']}/verdict", as_=MANAGER, json=MAJOR), 403)
    card_before = scorecard(api, hz01, REVIEWER, monday, sunday)
    assert (card_before["sampled"], card_before["lots_pending"]) == (0, 1)

    # --- reviewer: the photo does not show the fault: a major finding ---------------------------
    judged = ok(api.post(f"{API}/audits/{audit['id']}/verdict", as_=REVIEWER, json=MAJOR))
    assert (judged["status"], judged["verdict"]) == ("verdict_given", "major")
    dispute_until = at(judged["dispute_until"])

    # --- manager, the next day: disputes it within the three days ----------------------------
    walk.by(days=1)
    disputed = ok(api.post(f"{API}/audits/{audit['id']}/disputes", as_=MANAGER,
                           json={"reason": "the second angle of the fitting was sent by message"}))
    assert disputed["status"] == "disputed" and walk.now < dispute_until
    assert_problem(api.post(f"{API}/audits/{audit['id']}/disputes", as_=OTHER_MANAGER, json={"reason": "x"}), 404)

    # --- a second reviewer adjudicates (the first may not): the verdict stands ----------------
    upheld = {"outcome": "upheld", "note": "evidence belongs in the checklist, not in a chat"}
    assert_problem(api.post(f"{API}/audits/{audit['id']}/adjudication", as_=REVIEWER, json=upheld), 403)
    settled = ok(api.post(f"{API}/audits/{audit['id']}/adjudication", as_=REVIEWER2, json=upheld))
    assert (settled["status"], settled["verdict"], settled["dispute"]["status"]) == ("final", "major", "upheld")

    # --- reviewer: one final major rejects the lot at once (acceptance number 0) ---------------
    decided = ok(api.get(f"{API}/audits/lots/{summary['id']}", as_=REVIEWER))["lot"]
    assert (decided["status"], decided["decision"], decided["defects"]) == ("decided", "rejected", 1)

    # --- reviewer and manager: the point's scorecard for the week shows it -----------------
    card = scorecard(api, hz01, REVIEWER, monday, sunday)
    assert card == scorecard(api, hz01, MANAGER, monday, sunday)  # the point sees what HQ sees
    assert (card["sampled"], card["defects"], card["verdicts"]) == (1, 1, {"major": 1})
    assert (card["lots_rejected"], card["lots_pending"]) == (1, 0)
    assert card["findings_by_reason"] == {"missing_evidence": 1}
    assert card["flagged"] is True and "recent_rejection" in card["flag_reasons"]
    assert_problem(api.get(f"{API}/service-points/{hz01}/scorecard?from={monday}&to={sunday}",
                           as_=OTHER_MANAGER), 404)
    flagged = ok(api.get(f"{API}/audits/flagged-points?from={monday}&to={sunday}", as_=REVIEWER))
    assert "HZ01" in {c["service_point_code"] for c in flagged}

    # --- technician: now that it is final, sees the finding on their own work -----------------
    mine = ok(api.get(f"{API}/audits/{audit['id']}", as_=tech))["audit"]
    assert (mine["verdict"], mine["status"]) == ("major", "final")

    # --- KPIs: the audit counts against the technician's day (JSON and CSV) -------------------
    day_kpis = kpis(api, MANAGER, day, day, technician=tech)["kpis"]
    assert (day_kpis["audits"], day_kpis["audit_pass_rate"]) == (1, 0.0)
    assert (day_kpis["mean_on_site_minutes"], day_kpis["mean_travel_minutes"]) == (60.0, 15.0)
    [row] = [r for r in kpis_csv(api, REVIEWER, day, day, service_point="HZ01") if r["name"] == worker["name"]]
    assert (row["audits"], row["audit_pass_rate"]) == ("1", "0.0")

    # --- the manager's screen re-reads the job: unchanged, so 304 and no body -----------------
    seen = api.get(f"{API}/jobs/{taken['id']}", as_=MANAGER)
    assert api.get(f"{API}/jobs/{taken['id']}", as_=MANAGER,
                   headers={"If-None-Match": seen.headers["ETag"]}).status_code == 304

    # --- HQ verifies the tamper-evident log: HZ01's day went to HZ01's own chain, and every
    # chain (one per point that wrote, plus hq) checks out ---------------------------------------
    verified = ok(api.get(f"{API}/audit-log/verify", as_=REVIEWER))
    assert verified["ok"] is True and verified["chains"] >= 2, verified

    # --- HQ acts on the flag: a corrective plan (整改), answered, re-audited, closed ------------
    correct_the_point(api, session, walk, hz01)


def repair_day(api, session, walk, day: date, worker: dict, description: str) -> str:
    """One repair at HZ01 on ``day``, done online by ``worker``; its checklist id."""
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    taken = take_in(api, repair_call(unit, day, (9, 17), description)).json
    tech = worker["username"]
    start = free_hour(api, MANAGER, worker["id"], day)
    book(api, MANAGER, taken["id"], worker["id"], start)
    walk.to(start - timedelta(minutes=15))
    transition(api, taken["id"], "en_route", tech, walk.now)
    walk.to(start)
    transition(api, taken["id"], "on_site", tech, walk.now, location=taken["location"])
    walk.to(start + timedelta(minutes=58))
    fill_repair_checklist(api, taken["id"], tech, start, taken["location"], pressure=(0.3,))
    walk.to(start + timedelta(minutes=60))
    record_fault_cause(api, taken["id"], "WP-VLV-STUCK", tech)
    transition(api, taken["id"], "completed", tech, walk.now)
    return ok(api.get(f"{API}/jobs/{taken['id']}/checklist", as_=MANAGER))["id"]


def correct_the_point(api, session, walk, hz01: str) -> None:
    # --- reviewer: opens the plan on the scorecard's grounds, with a deadline --------------------
    deadline = walk.now.astimezone(TZ).date() + timedelta(days=2)
    plan = ok(api.post(f"{API}/corrective-plans", as_=REVIEWER, json={
        "service_point_id": hz01, "findings": "fault photos do not show the fault",
        "actions": ["Retrain the team on the repair SOP's photo steps"], "deadline": deadline.isoformat()}), 201)
    assert "scorecard" in {g["code"] for g in plan["grounds"]}
    url = f"{API}/corrective-plans/{plan['id']}"
    assert_problem(api.get(url, as_=OTHER_MANAGER), 404)

    # --- manager: answers the action with the training sheet --------------------------------
    walk.by(hours=3)
    sheet = upload(api, photo(taken=walk.now, place=None), as_=MANAGER, filename="training.jpg")
    [action] = ok(api.get(url, as_=MANAGER))["actions"]
    answered = ok(api.post(f"{url}/answers", as_=MANAGER, json={
        "action_id": action["id"], "answer": "training held, sheet attached", "evidence": [sheet["id"]]}))
    assert answered["actions"][0]["status"] == "answered"

    # --- after the deadline: a day's repair, then the targeted re-audit of that work only --------
    day = next_working_day(api, MANAGER, deadline)
    walk.to(max(local(day - timedelta(days=1), 16), walk.now))
    checklist_id = repair_day(api, session, walk, day, team(api, MANAGER)[1], "purifier drips after filter change")
    walk.by(hours=2)
    drawn = ok(api.post(f"{url}/reaudit", as_=REVIEWER))
    assert (drawn["status"], drawn["frame_size"]) == ("reaudit", 1)
    assert [i["checklist_id"] for i in drawn["reaudit_items"]] == [checklist_id]
    judged = ok(api.post(f"{url}/reaudit/verdicts", as_=REVIEWER, json={
        "checklist_id": checklist_id, "verdict": "conforming", "note": "the photo shows the fitting"}))
    assert judged["reaudit"]["decision"] == "accepted"

    # --- admin: the point is corrected; the manager sees the outcome -----------------------------
    assert_problem(api.post(f"{url}/decision", as_=MANAGER, json={"outcome": "close", "note": "x"}), 403)
    ok(api.post(f"{url}/decision", as_=ADMIN, json={"outcome": "close", "note": "evidence in order again"}))
    seen = ok(api.get(url, as_=MANAGER))
    assert (seen["status"], seen["outcome"], seen["decision_note"]) == ("closed", "close", "evidence in order again")


def test_a_visit_synced_after_its_lot_froze_is_reviewed_in_the_next_lot_as_a_late_sync(api, session, walk):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day - timedelta(days=1), 16), walk.now))

    # --- call centre and manager: a repair booked for the day -----------------------------------
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    taken = take_in(api, repair_call(unit, day, (9, 17), "purifier beeps and stops")).json
    worker = team(api, MANAGER)[2]
    start = free_hour(api, MANAGER, worker["id"], day)
    book(api, MANAGER, taken["id"], worker["id"], start)
    phone = Phone(api, worker["username"])
    phone.pull()

    # --- technician: the whole visit on a phone that then sits in the van, switched off ---------
    fault_photo, signature = photo(taken=start + timedelta(minutes=5), place=taken["location"]), signature_image()
    queue = [phone.record("job_transition", {"job_id": taken["id"], "to": "en_route"}, start - timedelta(minutes=15)),
             phone.record("job_transition", {"job_id": taken["id"], "to": "on_site"}, start),
             *repair_offline(phone, taken["id"], start, fault_photo=fault_photo, signature=signature),
             phone.record("job_transition", {"job_id": taken["id"], "to": "completed"}, start + timedelta(hours=1))]

    # --- reviewer: the week's lot (opened by the nightly draw) freezes without the visit ---------
    walk.to(local(day, 22))
    draw(api)
    year, number, _ = day.isocalendar()
    [lot] = ok(api.get(f"{API}/audits/lots?service_point_id={hz01}&week={year}-W{number:02d}", as_=REVIEWER))
    walk.to(at(lot["freezes_at"]) + timedelta(hours=1))
    draw(api)
    frozen = ok(api.get(f"{API}/audits/lots/{lot['id']}", as_=REVIEWER))
    checklist_id = ok(api.get(f"{API}/jobs/{taken['id']}/checklist", as_=MANAGER))["id"]
    assert frozen["lot"]["status"] != "open" and checklist_id not in frozen["frame"]  # ("empty" if nothing else)
    assert job(api, taken["id"], MANAGER)["status"] == "scheduled"

    # --- technician, the next morning: the phone is switched on and syncs everything ------------
    walk.by(hours=8)
    upload(api, fault_photo, as_=worker["username"])
    upload(api, signature, as_=worker["username"], filename="signature.png")
    pushed = ok(phone.push(queue))
    assert {r["status"] for r in pushed["results"]} == {"applied"}
    done = job(api, taken["id"], MANAGER)
    assert done["status"] == "completed" and at(done["completed_at"]) == start + timedelta(hours=1)  # that day

    # --- reviewer: the visit cannot join its frozen lot; it goes to this week's, flagged --------
    draw(api)
    assert taken["id"] not in {a["job_id"] for a in audits_of(api, lot_id=lot["id"])}
    year, number, _ = walk.now.astimezone(TZ).date().isocalendar()
    [current] = ok(api.get(f"{API}/audits/lots?service_point_id={hz01}&week={year}-W{number:02d}", as_=REVIEWER))
    assert ok(api.get(f"{API}/audits/lots/{current['id']}", as_=REVIEWER))["counts"]["late_syncs"] == 1

    # --- reviewer, when that lot freezes: the visit is reviewed, whatever the random draw says --
    walk.to(at(current["freezes_at"]) + timedelta(hours=1))
    draw(api)
    [audit] = [a for a in audits_of(api, lot_id=current["id"]) if a["job_id"] == taken["id"]]
    [late] = [t for t in audit["triggers"] if t["code"] == "late_sync"]
    assert late["detail"]["completed_week"] == lot["week"]
    detail = ok(api.get(f"{API}/audits/{audit['id']}", as_=REVIEWER))
    assert detail["checklist"]["late_sync"] is True and at(detail["job"]["completed_at"]) == start + timedelta(hours=1)
