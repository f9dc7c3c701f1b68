"""The console over HTTP, role by role: HZ01's manager takes the board of the next working day,
plans it, applies the plan, inserts the morning's urgent call and moves a job to a colleague with
a reason; the stock page and its suggestions; HQ's reviewer works through a sampled checklist;
HQ downloads the KPIs. Each change is then read back through the API."""

from __future__ import annotations

import csv
import io
import re

from dispatch.app import create_app
from dispatch.network.models import CustomerGrade
from tests.dates import SUITE_TODAY, local
from tests.scenarios.steps import (
    ADMIN,
    API,
    REVIEWER,
    at,
    Console,
    a_booked_job_and_a_free_colleague,
    caller_unit,
    job,
    next_working_day,
    ok,
    point_id,
    repair_call,
    take_in,
)

MANAGER = "manager.hz01"


def test_the_manager_and_the_reviewer_work_their_day_in_the_console(app, api, session, walk, base_settings,
                                                                   session_factory):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    taken = take_in(api, repair_call(unit, day, (9, 12), "leaking under the sink")).json

    # --- the manager: the board of the day, a plan, applied ----------------------------------
    manager = Console(app, MANAGER)
    board = manager.page(f"/console/points/{hz01}/board?day={day.isoformat()}")
    assert taken["reference"] in board and "待分配队列" in board
    planned = manager.submit(f"/console/points/{hz01}/plans", day=day.isoformat())
    plan_id = re.search(r'/console/plans/([0-9a-f-]{36})/status', planned).group(1)
    state = manager.client.get(f"/console/plans/{plan_id}/status").json
    assert state == {"status": "done", "progress": 100}
    assert taken["reference"] in planned  # a stop of a route
    drawn = manager.client.get(f"/console/plans/{plan_id}/map.svg")
    assert drawn.status_code == 200 and drawn.mimetype == "image/svg+xml"
    applied = manager.submit(f"/console/plans/{plan_id}/apply")
    assert Console.flash(applied) == "ok: 排程已应用。"
    assert ok(api.get(f"{API}/plans/{plan_id}", as_=MANAGER))["applied_at"] is not None
    again = manager.submit(f"/console/plans/{plan_id}/apply")  # twice: the service's refusal is shown
    assert Console.flash(again).startswith("error: ")

    # --- the morning: an urgent call goes into the applied plan -------------------------------
    walk.to(local(day, 7, 30))
    manager = Console(app, MANAGER)  # a new day, a new sign-in
    urgent_unit = caller_unit(session, "HZ01", covered=True, on=day, grade=CustomerGrade.STANDARD,
                              skip=(unit.serial,))
    urgent = take_in(api, repair_call(urgent_unit, day, (10, 16), "no water at all", priority="urgent")).json
    page = manager.page(f"/console/plans/{plan_id}")
    assert urgent["id"] in page  # offered in the insertion form
    inserted = manager.submit(f"/console/plans/{plan_id}/insertions", job_id=urgent["id"])
    assert Console.flash(inserted) == "ok: 紧急工单已插入。"
    assert job(api, urgent["id"], MANAGER)["status"] == "scheduled"

    # --- a job moves to a colleague, with the reason on its history ---------------------------
    booked, colleague, slot = a_booked_job_and_a_free_colleague(api, session, MANAGER, "HZ01", day,
                                                                skip=(unit.serial, urgent_unit.serial))
    moved = manager.submit(f"/console/jobs/{booked['id']}/assignment", technician_id=colleague["id"],
                           scheduled_start=slot.strftime("%Y-%m-%dT%H:%M"), reason="customer asked for later")
    assert Console.flash(moved) == "ok: 工单已改派。" and colleague["name"] in moved
    after = job(api, booked["id"], MANAGER)
    assert after["technician_id"] == colleague["id"] and at(after["scheduled_start"]) == slot  # local time read
    assert any(e["reason"] == "customer asked for later" for e in after["events"])
    refused = manager.submit(f"/console/jobs/{booked['id']}/assignment", technician_id=colleague["id"],
                             scheduled_start="not a time", reason="x")
    assert Console.flash(refused) == "error: scheduled_start: give a date and time"

    # --- stock at the point and its vans -------------------------------------------------------
    stock = manager.page(f"/console/points/{hz01}/stock")
    levels = ok(api.get(f"{API}/stock?location=HZ01&page_size=100", as_=MANAGER))
    assert levels and all(level["location"]["code"] in stock for level in levels[:5])
    suggestions = ok(api.get(f"{API}/stock/replenishment", as_=MANAGER))
    assert all(s["to_location"]["code"] in stock for s in suggestions)

    # --- HQ's reviewer: a sampled checklist, a finding on one step, the verdict ---------------
    reviewer = Console(create_app(base_settings, session_factory=session_factory), REVIEWER)  # the demo's photos
    queue = reviewer.page("/console/audits")
    for audit_id in re.findall(r'href="/console/audits/([0-9a-f-]{36})"', queue):
        sheet = reviewer.page(f"/console/audits/{audit_id}")
        photos = re.findall(r'src="(/console/attachments/[0-9a-f-]{36})"', sheet)
        if photos:
            break
    else:
        raise AssertionError("an open audit of the demo has evidence photos")
    keys = re.findall(r'name="step_keys" value="([^"]+)"', sheet)
    assert keys and "SOP" in sheet and "距现场距离" in sheet  # the photo's distance from the site
    shown = reviewer.client.get(photos[0])
    assert shown.status_code == 200 and shown.mimetype.startswith("image/")
    given = reviewer.client.post(f"/console/audits/{audit_id}/verdict", follow_redirects=True, data={
        "csrf_token": reviewer.csrf, "step_keys": keys, f"step_{keys[0]}": "implausible_value",
        f"note_{keys[0]}": "reading out of the usual range", "verdict": "minor", "note": "one doubtful reading"})
    assert Console.flash(reviewer._read(given, 200)) == "ok: 结论已记录。"
    audit = ok(api.get(f"{API}/audits/{audit_id}", as_=REVIEWER))["audit"]
    assert (audit["status"], audit["verdict"]) == ("verdict_given", "minor")
    assert audit["verdicts"][-1]["findings"] == [{"step_key": keys[0], "code": "implausible_value",
                                                  "note": "reading out of the usual range"}]
    assert "HZ01" in reviewer.page("/console/scorecards")
    reviewer.page("/console/flagged-points")

    # --- HQ: the KPIs as a spreadsheet, the audit log verified --------------------------------
    hq = Console(app, ADMIN)
    assert "HZ01" in hq.page("/console/network")
    download = hq.client.get(f"/console/kpis.csv?from={SUITE_TODAY.replace(day=1).isoformat()}"
                             f"&to={SUITE_TODAY.isoformat()}")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).removeprefix("\ufeff"))))  # BOM for Excel
    assert rows[0][:3] == ["from", "to", "scope"] and rows[1][2] == "total"
    assert "哈希链完整。" in hq.page("/console/audit-log?verify=1")

    # --- the end of the day: signed out, the pages ask for a sign-in again ---------------------
    manager.submit("/console/sign-out")
    assert manager.client.get("/console/board").status_code == 302

