"""Offered slots and booking with crews and floating breaks (issue 19): a crew job's window needs a
skilled lead and a helper free at the same start, booking holds both calendars; a technician's
break stays in their own break window. Every booked day is checked by the independent checker."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.network.models import JobType, Technician
from tests.api.jobs_builders import (  # noqa: F401
    MONDAY,
    TUESDAY,
    assign,
    local,
    own_hooks_only,
    technician,
)
from tests.api.test_slots_booking import book, slots
from tests.plan_builders import make_job, point
from tests.schedule_check import calendar_violations

LEAD, HELPER = "tech.hz01.1", "tech.hz01.2"  # only .1 has the water-heater skill
WEDNESDAY = TUESDAY + timedelta(days=1)


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


def at_work_only(api, session, day, keep):
    """Everyone of HZ01 but ``keep`` is on leave that day."""
    for row in session.scalars(select(Technician).where(Technician.service_point_id == point(session, "HZ01").id)):
        if row.user.username not in keep:
            response = api.post(f"/api/v1/technicians/{row.id}/shift-exceptions", as_="manager.hz01",
                                json={"on": day.isoformat(), "kind": "leave", "reason": "training"})
            assert response.status_code == 201, response.json


def install(session, day, seed, minutes=90):
    return make_job(session, "HZ01", day, window=None, sku="WH-EH60", job_type=JobType.INSTALL, minutes=minutes,
                    crew_size=2, seed=seed)


def apart(start: datetime, minutes: int, begin: datetime, end: datetime) -> bool:
    return start + timedelta(minutes=minutes) <= begin or start >= end


def test_a_crew_jobs_slot_needs_a_skilled_lead_and_a_helper_free_together(api, session):
    at_work_only(api, session, TUESDAY, {LEAD, HELPER})
    lead, helper = technician(session, LEAD), technician(session, HELPER)
    busy = make_job(session, "HZ01", TUESDAY, window=None, seed="crew-slot-busy")
    job = install(session, TUESDAY, "crew-slot")
    session.commit()
    assert assign(api, {"id": str(busy.id)}, helper.id, local(TUESDAY, 10)).status_code == 200
    session.refresh(busy)

    found = slots(api, job).json["slots"]
    assert found
    for slot in found:  # the skill goes with the lead; the helper's booked visit holds their time
        assert (slot["technician_id"], slot["helper_ids"]) == (str(lead.id), [str(helper.id)])
        assert apart(datetime.fromisoformat(slot["start_at"]), 90, busy.scheduled_start, busy.scheduled_end)
    assert local(TUESDAY, 10) not in {datetime.fromisoformat(s["start_at"]) for s in found}

    answer = book(api, job, found[0])
    assert answer.status_code == 201, answer.json
    assert answer.json["helper_ids"] == [str(helper.id)]
    booked = api.get(f"/api/v1/jobs/{job.id}", as_="manager.hz01").json
    assert (booked["status"], booked["technician_id"], booked["helper_ids"]) == \
        ("scheduled", str(lead.id), [str(helper.id)])
    assert datetime.fromisoformat(booked["scheduled_start"]) == datetime.fromisoformat(found[0]["start_at"])
    assert calendar_violations(session, "HZ01", TUESDAY) == []

    # the crew's time is taken: a second crew install is never offered on top of it, for either member
    second = install(session, TUESDAY, "crew-slot-2")
    session.commit()
    start = datetime.fromisoformat(booked["scheduled_start"])
    for slot in slots(api, second).json["slots"]:
        assert apart(datetime.fromisoformat(slot["start_at"]), 90, start, start + timedelta(minutes=90))
    # the helper's new booking also holds them for one-person work
    solo = make_job(session, "HZ01", TUESDAY, window=None, seed="crew-slot-solo")
    session.commit()
    for slot in slots(api, solo).json["slots"]:
        if slot["technician_id"] == str(helper.id):
            assert apart(datetime.fromisoformat(slot["start_at"]), 45, start, start + timedelta(minutes=90))


def test_a_crew_job_gets_no_slot_on_a_day_one_technician_works(api, session):
    at_work_only(api, session, WEDNESDAY, {LEAD})
    job = install(session, WEDNESDAY, "crew-alone")
    session.commit()
    answer = api.get(f"/api/v1/jobs/{job.id}/slots?from={WEDNESDAY}&to={WEDNESDAY}", as_="manager.hz01")
    assert answer.status_code == 200 and answer.json["slots"] == []
    hz01 = point(session, "HZ01")
    query = (f"from={WEDNESDAY}&to={WEDNESDAY}&lat={hz01.lat + 0.01}&lon={hz01.lon}&job_type=install"
             "&product_sku=WH-EH60&duration_minutes=90")
    assert api.get(f"/api/v1/service-points/{hz01.id}/slots?{query}&crew_size=2", as_="admin").json["slots"] == []
    assert api.get(f"/api/v1/service-points/{hz01.id}/slots?{query}", as_="admin").json["slots"]


def test_slots_keep_the_break_in_the_technicians_own_window(api, session):
    at_work_only(api, session, TUESDAY, {LEAD})
    tech = technician(session, LEAD)
    path = f"/api/v1/technicians/{tech.id}"
    etag = api.get(path, as_="manager.hz01").headers["ETag"]
    changed = api.patch(path, as_="manager.hz01", headers={"If-Match": etag},
                        json={"break_minutes": 60, "break_window": {"earliest": "12:00", "latest": "12:00"}})
    assert changed.status_code == 200, changed.json
    noon, one = local(TUESDAY, 12), local(TUESDAY, 13)
    for n in range(4):
        job = make_job(session, "HZ01", TUESDAY, window=None, minutes=45, seed=f"break-slot-{n}")
        session.commit()
        found = slots(api, job).json["slots"]
        assert found
        for slot in found:  # never across 12:00-13:00 (the default 11:00-14:00 window would allow it)
            assert apart(datetime.fromisoformat(slot["start_at"]), 45, noon, one), slot
        noonish = [s for s in found if datetime.fromisoformat(s["window_start"]) == local(TUESDAY, 12)]
        assert all(datetime.fromisoformat(s["start_at"]) >= one for s in noonish)
        assert book(api, job, found[0]).status_code == 201
    assert calendar_violations(session, "HZ01", TUESDAY) == []
