"""Real-time re-planning (issue 19): a technician falls ill, a visit overruns, a customer is not
there, an emergency comes in. Each is one call that proposes the rest of today anew with least
disruption and changes nothing; the manager's confirm applies it in one transaction, and only
then do the customers whose visit moved hear of it. The day after is checked by the independent
checker."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from dispatch import clock
from dispatch.care.models import CallbackItem, Notification
from dispatch.jobs.models import Job, Priority
from tests.api.jobs_builders import assign, technician
from tests.dates import local, next_weekday
from tests.helpers import assert_problem
from tests.plan_builders import make_job, point
from tests.schedule_check import calendar_violations

DAY = next_weekday(0) + timedelta(days=14)  # a Monday (everyone works) with no demo visits booked


def at(hour, minute=0):
    return local(DAY, hour, minute)


@contextlib.contextmanager
def clock_at(api, hour, minute=0):
    """The clock at ``hour:minute`` of the day, signed in afresh (tokens live 15 minutes)."""
    with clock.frozen(at(hour, minute)):
        api._tokens.clear()
        yield


@pytest.fixture
def day(session, api):
    """HZ01's Monday, booked at 08:00: tech 1 at 10:00 and 14:00, techs 2 and 3 at 10:00."""
    with clock_at(api, 8):
        jobs = {}
        for name, who, hour in (("a", 1, 10), ("b", 1, 14), ("c", 2, 10), ("d", 3, 10)):
            job = make_job(session, "HZ01", DAY, window=(9, 17), minutes=45, seed=f"replan-{name}")
            session.commit()
            answer = assign(api, {"id": str(job.id)}, technician(session, f"tech.hz01.{who}").id, at(hour))
            assert answer.status_code == 200, answer.json
            jobs[name] = job
        yield jobs


def replan(api, session, **body):
    """Propose a re-plan of HZ01's rest of the day."""
    return api.post(f"/api/v1/service-points/{point(session, 'HZ01').id}/replans", as_="manager.hz01",
                    json={"time_limit_s": 1} | {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in body.items()})


def notified(session, job) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(Notification.job_id == job.id))


def move(api, job, to, who="tech.hz01.1"):
    answer = api.post(f"/api/v1/jobs/{job.id}/transitions", as_=who, json={"to": to})
    assert answer.status_code == 200, answer.json


def test_a_technician_falls_ill_their_visits_go_to_others_only_once_confirmed(api, session, day):
    ill = technician(session, "tech.hz01.1")
    with clock_at(api, 9, 30):
        before = {k: notified(session, j) for k, j in day.items()}
        answer = replan(api, session, kind="technician_unavailable", technician_id=ill.id)
        assert answer.status_code == 201, answer.json
        proposal = answer.json
        assert proposal["status"] == "proposed" and proposal["kind"] == "technician_unavailable"
        handled = {m["job_id"] for m in proposal["moves"]} | {f["job_id"] for f in proposal["flagged"]}
        assert {str(day["a"].id), str(day["b"].id)} <= handled
        assert all(m["to_technician_id"] != str(ill.id) for m in proposal["moves"])
        session.expire_all()
        assert session.get(Job, day["a"].id).technician_id == ill.id  # nothing applied yet
        assert {k: notified(session, j) for k, j in day.items()} == before  # and nobody told
        assert api.get(f"/api/v1/replans/{proposal['id']}", as_="manager.hz01").json == proposal

        confirmed = api.post(f"/api/v1/replans/{proposal['id']}/confirm", as_="manager.hz01")
        assert confirmed.status_code == 200, confirmed.json
        assert confirmed.json["status"] == "applied"
        session.expire_all()
        for key in ("a", "b"):
            job = session.get(Job, day[key].id)
            assert job.technician_id != ill.id
        moved = [m for m in proposal["moves"] if m["job_id"] == str(day["a"].id)]
        if moved:
            assert notified(session, day["a"]) > before["a"]  # the customer hears the new time now
        assert calendar_violations(session, "HZ01", DAY) == []
        assert_problem(api.post(f"/api/v1/replans/{proposal['id']}/confirm", as_="manager.hz01"), 409)


def test_an_overrun_shifts_the_day_and_moves_what_would_break_its_window(api, session, day):
    tight = make_job(session, "HZ01", DAY, window=(11, 12), minutes=30, seed="replan-tight")
    session.commit()
    with clock_at(api, 8):
        assert assign(api, {"id": str(tight.id)}, technician(session, "tech.hz01.1").id, at(11, 15)).status_code == 200
    with clock_at(api, 10):
        move(api, day["a"], "en_route")
        move(api, day["a"], "on_site")
    with clock_at(api, 10, 30):
        answer = replan(api, session, kind="overrun", job_id=day["a"].id, extra_minutes=90)
        assert answer.status_code == 201, answer.json
        proposal = answer.json
        tight_move = next((m for m in proposal["moves"] if m["job_id"] == str(tight.id)), None)
        flagged = {f["job_id"] for f in proposal["flagged"]}
        assert str(tight.id) in flagged or tight_move["to_technician_id"] != str(day["a"].technician_id)
        assert api.post(f"/api/v1/replans/{proposal['id']}/confirm", as_="manager.hz01").status_code == 200
        session.expire_all()
        assert session.get(Job, day["a"].id).duration_minutes == 45 + 90
        assert calendar_violations(session, "HZ01", DAY) == []


def test_a_no_show_closes_the_visit_opens_a_callback_and_the_day_tightens(api, session, day):
    with clock_at(api, 9, 40):
        move(api, day["a"], "en_route")
    with clock_at(api, 10, 5):
        answer = replan(api, session, kind="no_show", job_id=day["a"].id)
        assert answer.status_code == 201, answer.json
        proposal = answer.json
        later = next(m for m in proposal["moves"] if m["job_id"] == str(day["b"].id))
        assert datetime.fromisoformat(later["to_start"]) < at(14)  # the afternoon visit comes forward
        session.expire_all()
        assert session.get(Job, day["a"].id).status.value == "en_route"  # not closed before the confirm
        assert api.post(f"/api/v1/replans/{proposal['id']}/confirm", as_="manager.hz01").status_code == 200
        session.expire_all()
        closed = session.get(Job, day["a"].id)
        assert closed.status.value == "cancelled" and closed.events[-1].data == {"outcome": "no_show"}
        item = session.scalar(select(CallbackItem).where(CallbackItem.job_id == closed.id))
        assert item is not None and item.reason == "no_show" and item.status.value == "open"
        assert session.get(Job, day["b"].id).scheduled_start == datetime.fromisoformat(later["to_start"])
        assert calendar_violations(session, "HZ01", DAY) == []


def test_an_emergency_is_fitted_in_before_its_due_time(api, session, day):
    urgent = make_job(session, "HZ01", DAY, window=(9, 17), minutes=30, priority=Priority.URGENT,
                      sla_due_at=at(12), seed="replan-urgent")
    session.commit()
    with clock_at(api, 9):
        answer = replan(api, session, kind="emergency", job_id=urgent.id)
        assert answer.status_code == 201, answer.json
        placed = next(m for m in answer.json["moves"] if m["job_id"] == str(urgent.id))
        assert datetime.fromisoformat(placed["to_start"]) <= at(12)
        session.expire_all()
        assert session.get(Job, urgent.id).status.value == "dispatched"
        assert api.post(f"/api/v1/replans/{answer.json['id']}/confirm", as_="manager.hz01").status_code == 200
        session.expire_all()
        assert session.get(Job, urgent.id).status.value == "scheduled"
        assert calendar_violations(session, "HZ01", DAY) == []


def test_bad_requests_and_a_day_that_moved_on_are_problems(api, session, day):
    hz01 = point(session, "HZ01")
    with clock_at(api, 9):
        assert_problem(replan(api, session), 422, field="kind")
        assert_problem(replan(api, session, kind="sunburn"), 422, field="kind")
        assert_problem(replan(api, session, kind="technician_unavailable"), 422, field="technician_id")
        other = technician(session, "tech.hz02.1")
        assert_problem(replan(api, session, kind="technician_unavailable", technician_id=other.id), 422,
                       field="technician_id")
        assert_problem(replan(api, session, kind="overrun", job_id=day["a"].id, extra_minutes=30), 409)
        assert_problem(replan(api, session, kind="no_show"), 422, field="job_id")
        assert_problem(replan(api, session, kind="emergency", job_id=day["a"].id), 409)
        assert_problem(replan(api, session, kind="overrun", job_id=day["a"].id, extra_minutes=0), 422,
                       field="extra_minutes")
        assert_problem(api.post(f"/api/v1/service-points/{hz01.id}/replans", as_="manager.hz02",
                                json={"kind": "no_show", "job_id": str(day["a"].id)}), 404)
        assert_problem(api.post(f"/api/v1/service-points/{hz01.id}/replans", as_="tech.hz01.1",
                                json={"kind": "no_show", "job_id": str(day["a"].id)}), 403)
        assert_problem(api.get(f"/api/v1/replans/{uuid.uuid4()}", as_="manager.hz01"), 404)
        proposal = replan(api, session, kind="technician_unavailable",
                          technician_id=technician(session, "tech.hz01.2").id).json
        assert_problem(api.get(f"/api/v1/replans/{proposal['id']}", as_="manager.hz02"), 404)
        # the day moves on before the confirm: the proposal is stale, nothing is applied
        assert api.post(f"/api/v1/jobs/{day['c'].id}/transitions", as_="manager.hz01",
                        json={"to": "cancelled", "reason": "customer called off"}).status_code == 200
        stale = assert_problem(api.post(f"/api/v1/replans/{proposal['id']}/confirm", as_="manager.hz01"), 409)
        assert day["c"].reference in stale["changed_jobs"]
        assert api.get(f"/api/v1/replans/{proposal['id']}", as_="manager.hz01").json["status"] == "superseded"
        again = replan(api, session, kind="technician_unavailable",
                       technician_id=technician(session, "tech.hz01.2").id).json
        assert api.post(f"/api/v1/replans/{again['id']}/discard", as_="manager.hz01").json["status"] == "discarded"
        assert_problem(api.post(f"/api/v1/replans/{again['id']}/confirm", as_="manager.hz01"), 409)
        session.expire_all()
        assert session.get(Job, day["d"].id).technician_id == technician(session, "tech.hz01.3").id
