"""The console's slot offers and the board's Gantt over HTTP (no browser): a manager offers ranked
slots for a waiting job or a new caller and books one through the same service as the API (the
last window is still sold once), another point's manager gets 404, and the board draws the
technicians' booked day with the plan's Gantt renderer."""

from __future__ import annotations

import re
from datetime import datetime

from tests.console.test_console_http import csrf_of, point_id, sign_in
from tests.dates import SUITE_TODAY
from tests.scenarios.steps import caller_unit, job, next_working_day, repair_call, take_in

MANAGER = "manager.hz01"
SLOT_ROW = re.compile(r'<tr class="slot" data-start="([^"]+)">')


def waiting_job(api, session, day) -> dict:
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    return take_in(api, repair_call(unit, day, (9, 17), "no hot water at the tap")).json


def test_a_manager_offers_ranked_slots_for_a_waiting_job_and_books_one(client, api, session):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    taken = waiting_job(api, session, day)
    sign_in(client, MANAGER)
    board = client.get(f"/console/points/{hz01}/board?day={day}").get_data(as_text=True)
    assert f"job_id={taken['id']}" in board.replace("&amp;", "&")  # the queue links to the job's slots
    page = client.get(f"/console/points/{hz01}/slots?job_id={taken['id']}&day={day}").get_data(as_text=True)
    starts = SLOT_ROW.findall(page)
    staff = api.get(f"/api/v1/jobs/{taken['id']}/slots?from={day}&to={day}", as_=MANAGER).json["slots"]
    assert starts and starts == [s["window_start"] for s in staff]  # the API's ranking, unchanged
    first = staff[0]
    answer = client.post(f"/console/jobs/{taken['id']}/booking", data={
        "csrf_token": csrf_of(page), "point_id": hz01, "day": day.isoformat(),
        "window_start": first["window_start"], "window_end": first["window_end"]})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/console/jobs/{taken['id']}")
    booked = job(api, taken["id"], MANAGER)
    assert booked["status"] == "scheduled" and booked["technician_id"] == first["technician_id"]
    # the board's timeline is the plan's Gantt picture: one row per technician, the visit a work bar
    board = client.get(f"/console/points/{hz01}/board?day={day}").get_data(as_text=True)
    assert board.count('<g class="technician"') == len(
        api.get(f"/api/v1/technicians/?service_point_id={hz01}&active=true&page_size=100", as_=MANAGER).json)
    assert re.search(rf'<rect class="work"[^>]*><title>{taken["reference"]} ', board)
    assert "现场作业" in board  # the legend in the console's language


def test_a_window_taken_meanwhile_is_refused_and_the_job_keeps_waiting(client, api, session):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    taken = waiting_job(api, session, day)
    sign_in(client, MANAGER)
    page = client.get(f"/console/points/{hz01}/slots?job_id={taken['id']}&day={day}").get_data(as_text=True)
    night = datetime.fromisoformat(SLOT_ROW.findall(page)[0]).replace(hour=2)
    answer = client.post(f"/console/jobs/{taken['id']}/booking", data={
        "csrf_token": csrf_of(page), "point_id": hz01, "day": day.isoformat(),
        "window_start": night.isoformat(), "window_end": night.replace(hour=4).isoformat()}, follow_redirects=True)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "请重新查询可预约时段" in text  # slot-taken, in Chinese
    assert job(api, taken["id"], MANAGER)["status"] == "dispatched"


def test_a_new_callers_job_is_taken_in_and_booked_on_the_slot_they_chose(client, api, session):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    point = api.get(f"/api/v1/service-points/{hz01}", as_=MANAGER).json
    lat, lon = point["location"]["lat"] + 0.01, point["location"]["lon"]
    sign_in(client, MANAGER)
    query = f"lat={lat}&lon={lon}&job_type=install&product_sku=WP-RO500&duration_minutes=60&day={day}"
    page = client.get(f"/console/points/{hz01}/slots?{query}").get_data(as_text=True)
    prospective = api.get(f"/api/v1/service-points/{hz01}/slots?from={day}&to={day}&lat={lat}&lon={lon}"
                          "&job_type=install&product_sku=WP-RO500&duration_minutes=60", as_=MANAGER).json["slots"]
    assert SLOT_ROW.findall(page) == [s["window_start"] for s in prospective]
    second = prospective[1]
    answer = client.post(f"/console/points/{hz01}/callers", data={
        "csrf_token": csrf_of(page), "point_id": hz01, "day": day.isoformat(), "lat": lat, "lon": lon,
        "job_type": "install", "product_sku": "WP-RO500", "duration_minutes": "60", "name": "王女士",
        "phone": "13712345678", "address": "9 Canal Street", "description": "new purifier",
        "window": f"{second['window_start']}|{second['window_end']}"})
    assert answer.status_code == 302 and "/console/jobs/" in answer.headers["Location"]
    job_id = answer.headers["Location"].rsplit("/", 1)[-1]
    booked = job(api, job_id, MANAGER)
    assert booked["status"] == "scheduled" and booked["type"] == "install"
    assert datetime.fromisoformat(booked["window_start"]) == datetime.fromisoformat(second["window_start"])


def test_another_points_manager_cannot_offer_or_book_the_first_points_slots(client, api, session):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    taken = waiting_job(api, session, day)
    sign_in(client, "manager.hz02")
    assert client.get(f"/console/points/{hz01}/slots?day={day}").status_code == 404
    assert client.get(f"/console/points/{hz01}/slots?job_id={taken['id']}&day={day}").status_code == 404
    page = client.get("/console/board", follow_redirects=True).get_data(as_text=True)
    answer = client.post(f"/console/jobs/{taken['id']}/booking", data={
        "csrf_token": csrf_of(page), "point_id": hz01, "day": day.isoformat(),
        "window_start": f"{day}T10:00:00+08:00", "window_end": f"{day}T12:00:00+08:00"})
    assert answer.status_code == 404
    assert job(api, taken["id"], MANAGER)["status"] == "dispatched"
