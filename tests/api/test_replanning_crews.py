"""Re-planning a day with crew jobs (issue 19): a technician who falls ill mid-day may be the
*helper* of a crew job, not its lead. The proposal then finds a new helper free on site at the
booked time (or moves the crew job whole to a lead and helper free together, or flags it with a
reason); nothing is applied before the manager's confirm, the customer hears of a new time only
then, both crew members are booked, and the independent checker finds the day feasible."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from dispatch.jobs.models import Job, JobType
from tests.api.jobs_builders import assign, technician
from tests.api.test_replanning import DAY, at, clock_at, notified, replan
from tests.plan_builders import make_job
from tests.schedule_check import calendar_violations

LEAD, HELPER = "tech.hz01.1", "tech.hz01.2"


def crew_job(api, session, lead: str, helpers: list[str], hour: int, *, window=(9, 17), seed="crew") -> Job:
    job = make_job(session, "HZ01", DAY, window=window, minutes=90, sku="WH-EH60", job_type=JobType.INSTALL,
                   crew_size=1 + len(helpers), seed=seed)
    session.commit()
    answer = assign(api, {"id": str(job.id)}, technician(session, lead).id, at(hour),
                    helper_ids=[str(technician(session, h).id) for h in helpers])
    assert answer.status_code == 200, answer.json
    return job


@pytest.fixture
def day(session, api):
    """HZ01's Monday booked at 08:00: a crew install at 10:00 (lead tech 1, helper tech 2), and a
    repair of tech 2's at 14:00."""
    with clock_at(api, 8):
        install = crew_job(api, session, LEAD, [HELPER], 10)
        repair = make_job(session, "HZ01", DAY, window=(13, 17), minutes=45, seed="crew-repair")
        session.commit()
        assert assign(api, {"id": str(repair.id)}, technician(session, HELPER).id, at(14)).status_code == 200
        yield {"install": install, "repair": repair}


def test_the_ill_helper_of_a_crew_job_is_replaced_on_site_and_both_members_are_booked(api, session, day):
    ill, lead = technician(session, HELPER), technician(session, LEAD)
    install = day["install"]
    with clock_at(api, 9, 30):
        before = notified(session, install)
        answer = replan(api, session, kind="technician_unavailable", technician_id=ill.id)
        assert answer.status_code == 201, answer.json
        proposal = answer.json
        move = next(m for m in proposal["moves"] if m["job_id"] == str(install.id))
        # the lead and the booked time stay: only a new helper, free on site then, comes in
        assert (move["from_technician_id"], move["to_technician_id"]) == (str(lead.id), str(lead.id))
        assert datetime.fromisoformat(move["to_start"]) == at(10)
        assert move["from_helper_ids"] == [str(ill.id)]
        assert len(move["to_helper_ids"]) == 1 and move["to_helper_ids"][0] not in (str(ill.id), str(lead.id))
        assert str(install.id) not in {f["job_id"] for f in proposal["flagged"]}
        # no move hands a crew job (or any job) to the ill technician, nor a helper's part to its lead
        assert all(m["to_technician_id"] != str(ill.id) and str(ill.id) not in m.get("to_helper_ids", [])
                   for m in proposal["moves"])
        handled = {m["job_id"] for m in proposal["moves"]} | {f["job_id"] for f in proposal["flagged"]}
        assert str(day["repair"].id) in handled
        session.expire_all()
        assert session.get(Job, install.id).helper_ids == [ill.id]  # nothing applied before the confirm
        assert notified(session, install) == before

        confirmed = api.post(f"/api/v1/replans/{proposal['id']}/confirm", as_="manager.hz01")
        assert confirmed.status_code == 200, confirmed.json
        session.expire_all()
        booked = session.get(Job, install.id)
        assert (booked.status.value, booked.technician_id, booked.scheduled_start) == ("scheduled", lead.id, at(10))
        assert booked.helper_ids == [uuid.UUID(move["to_helper_ids"][0])]
        assert calendar_violations(session, "HZ01", DAY) == []


def hold_the_others(api, session):
    """Techs 3, 4 and 5 are booked (locked) on site from 10:00 to 12:00: nobody can stand in then."""
    with clock_at(api, 8):
        for n, name in enumerate(("tech.hz01.3", "tech.hz01.4", "tech.hz01.5")):
            held = make_job(session, "HZ01", DAY, window=(10, 11), minutes=120, seed=f"crew-held-{n}")
            session.commit()
            response = assign(api, {"id": str(held.id)}, technician(session, name).id, at(10), locked=True)
            assert response.status_code == 200, response.json


def test_a_crew_job_whose_helper_nobody_can_replace_then_moves_whole_to_a_crew_free_together(api, session, day):
    ill = technician(session, HELPER)
    hold_the_others(api, session)
    with clock_at(api, 9, 30):
        proposal = replan(api, session, kind="technician_unavailable", technician_id=ill.id).json
        install = str(day["install"].id)
        assert install not in {f["job_id"] for f in proposal["flagged"]}
        moved = next(m for m in proposal["moves"] if m["job_id"] == install)
        assert datetime.fromisoformat(moved["to_start"]) >= at(12)  # once a helper is free again
        assert len(moved["to_helper_ids"]) == 1
        assert str(ill.id) not in (*moved["to_helper_ids"], moved["to_technician_id"])
        before = notified(session, day["install"])
        assert api.post(f"/api/v1/replans/{proposal['id']}/confirm", as_="manager.hz01").status_code == 200
        session.expire_all()
        job = session.get(Job, day["install"].id)
        assert (str(job.technician_id), job.scheduled_start) == (moved["to_technician_id"],
                                                                 datetime.fromisoformat(moved["to_start"]))
        assert [str(h) for h in job.helper_ids] == moved["to_helper_ids"]
        assert notified(session, day["install"]) == before + 1  # the customer hears the new time, once
        assert calendar_violations(session, "HZ01", DAY) == []


def test_a_crew_job_nobody_can_crew_in_its_window_is_flagged_and_released(api, session):
    ill = technician(session, HELPER)
    with clock_at(api, 8):
        install = crew_job(api, session, LEAD, [HELPER], 10, window=(10, 11), seed="crew-narrow")
    hold_the_others(api, session)
    with clock_at(api, 9, 30):
        proposal = replan(api, session, kind="technician_unavailable", technician_id=ill.id).json
        flagged = next(f for f in proposal["flagged"] if f["job_id"] == str(install.id))
        assert flagged["reason"] == "no_crew" and "crew of 2" in flagged["detail"]
        assert str(install.id) not in {m["job_id"] for m in proposal["moves"]}
        assert api.post(f"/api/v1/replans/{proposal['id']}/confirm", as_="manager.hz01").status_code == 200
        session.expire_all()
        job = session.get(Job, install.id)
        assert job.status.value == "dispatched"  # back to the point's planning; both members released
        assert calendar_violations(session, "HZ01", DAY) == []


def test_a_helper_who_leaves_during_a_crew_visit_puts_it_on_hold_once_confirmed(api, session, day):
    ill, install = technician(session, HELPER), day["install"]
    with clock_at(api, 9, 40):
        assert api.post(f"/api/v1/jobs/{install.id}/transitions", as_=LEAD, json={"to": "en_route"}).status_code == 200
    with clock_at(api, 10, 5):
        assert api.post(f"/api/v1/jobs/{install.id}/transitions", as_=LEAD, json={"to": "on_site"}).status_code == 200
    with clock_at(api, 10, 30):
        proposal = replan(api, session, kind="technician_unavailable", technician_id=ill.id).json
        flagged = next(f for f in proposal["flagged"] if f["job_id"] == str(install.id))
        assert flagged["reason"] == "helper_left_under_way"
        session.expire_all()
        assert session.get(Job, install.id).status.value == "on_site"
        assert api.post(f"/api/v1/replans/{proposal['id']}/confirm", as_="manager.hz01").status_code == 200
        session.expire_all()
        assert session.get(Job, install.id).status.value == "on_hold"
        assert calendar_violations(session, "HZ01", DAY) == []
