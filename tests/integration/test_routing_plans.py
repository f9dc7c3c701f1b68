"""Route plans on the database: the idempotent task (claim, lease, fencing, failures) and how a
point's day becomes a routing problem (shifts, certifications, breaks, home starts, work under way)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from dispatch import runtime as task_runtime
from dispatch.clock import frozen, utcnow
from dispatch.errors import ValidationFailed
from dispatch.jobs.models import JobStatus, Priority
from dispatch.network.models import ProductCategory, ShiftException, ShiftExceptionKind, StartLocation
from dispatch.routing import day as planning_day
from dispatch.routing import service
from dispatch.routing.models import PlannedStop, PlanStatus, RoutePlan, UnassignedJob
from dispatch.routing.problem import MAX_PRIORITY
from tests.plan_builders import (
    TZ,
    RecordingTaskQueue,
    local,
    make_job,
    next_workday,
    point,
    principal,
    stuck_solve,
    technicians,
)
from workers.routing_tasks import plan_routes


@pytest.fixture
def day():
    return next_workday()


@pytest.fixture
def runtime(settings, uow_factory):
    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)) as current:
        yield current


def request(session, uow_factory, day, code="HZ01", time_limit_s=1):
    queue = RecordingTaskQueue()
    view = service.request_plan(uow_factory(), queue, principal(session, f"manager.{code.lower()}"),
                                point_id=point(session, code).id, day=day, time_limit_s=time_limit_s,
                                timezone="Asia/Shanghai")
    assert [args for _, args, _, _ in queue.enqueued] == [(str(view.id),)]
    return view.id


def rows(session, plan_id):
    session.expire_all()
    stops = session.execute(select(PlannedStop.job_id, PlannedStop.technician_id, PlannedStop.sequence,
                                   PlannedStop.start_s).where(PlannedStop.plan_id == plan_id)
                            .order_by(PlannedStop.job_id)).all()
    left = session.execute(select(UnassignedJob.job_id, UnassignedJob.reason).where(UnassignedJob.plan_id == plan_id)
                           .order_by(UnassignedJob.job_id)).all()
    return stops, left


def one_job_plan(session, uow_factory, day, seed: str):
    """A queued plan for a day of HZ01 with one job."""
    make_job(session, "HZ01", day, seed=seed)
    session.commit()
    return request(session, uow_factory, day)


def test_running_the_task_twice_does_nothing_the_second_time(session, uow_factory, runtime, day):
    for i in range(5):
        make_job(session, "HZ01", day, seed=f"twice{i}")
    session.commit()
    plan_id = request(session, uow_factory, day)

    assert plan_routes(str(plan_id)) == {"plan_id": str(plan_id), "status": "done"}
    first = rows(session, plan_id)
    assert first[0], "the plan has stops"
    assert plan_routes(str(plan_id)) == {"plan_id": str(plan_id), "status": "skipped"}
    assert rows(session, plan_id) == first
    plan = session.get(RoutePlan, plan_id)
    assert plan.status == PlanStatus.DONE and plan.attempts == 1 and plan.lease_expires_at is None


def test_a_crashed_run_is_taken_over_once_its_lease_has_expired_and_not_before(session, uow_factory, runtime, day):
    make_job(session, "HZ01", day, seed="lease")
    session.commit()
    plan_id = request(session, uow_factory, day)
    lease_end = utcnow() + timedelta(minutes=5)
    session.execute(update(RoutePlan).where(RoutePlan.id == plan_id)
                    .values(status=PlanStatus.RUNNING, attempts=1, lease_expires_at=lease_end))
    session.commit()

    assert plan_routes(str(plan_id))["status"] == "skipped"  # a live run holds it
    with frozen(lease_end + timedelta(seconds=1)):
        assert plan_routes(str(plan_id))["status"] == "done"
    session.expire_all()
    plan = session.get(RoutePlan, plan_id)
    assert plan.attempts == 2 and plan.status == PlanStatus.DONE and plan.progress == 100


def test_asking_again_for_a_plan_whose_run_died_hands_it_to_the_queue_again(session, uow_factory, runtime, day):
    make_job(session, "HZ01", day, seed="revive")
    session.commit()
    plan_id = request(session, uow_factory, day)
    lease_end = utcnow() + timedelta(minutes=5)
    session.execute(update(RoutePlan).where(RoutePlan.id == plan_id)
                    .values(status=PlanStatus.RUNNING, attempts=1, lease_expires_at=lease_end))
    session.commit()
    queue = RecordingTaskQueue()
    ask = dict(point_id=point(session, "HZ01").id, day=day, time_limit_s=1, timezone="Asia/Shanghai")
    manager = principal(session, "manager.hz01")

    assert service.request_plan(uow_factory(), queue, manager, **ask).id == plan_id
    assert queue.enqueued == []  # its run is alive
    with frozen(lease_end + timedelta(seconds=1)):
        assert service.request_plan(uow_factory(), queue, manager, **ask).id == plan_id
        assert [task_id for _, _, task_id, _ in queue.enqueued] == [
            f"plan-routes-{plan_id.hex}-{session.get(RoutePlan, plan_id).input_hash[:16]}-1"]
        assert plan_routes(str(plan_id))["status"] == "done"


def test_a_run_whose_claim_was_taken_over_while_solving_stores_nothing(session, uow_factory, runtime, day,
                                                                       monkeypatch):
    plan_id = one_job_plan(session, uow_factory, day, "fence")
    real_solve = service.solve_within

    def solve_while_another_run_takes_over(*args, **kwargs):
        with uow_factory() as uow:  # the lease ran out and a second run claimed the plan
            uow.session.execute(update(RoutePlan).where(RoutePlan.id == plan_id)
                                .values(attempts=RoutePlan.attempts + 1))
            uow.commit()
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(service, "solve_within", solve_while_another_run_takes_over)
    assert plan_routes(str(plan_id))["status"] == "skipped"
    assert rows(session, plan_id) == ([], [])
    assert session.get(RoutePlan, plan_id).status == PlanStatus.RUNNING


def test_a_solver_error_marks_the_plan_failed_with_the_reason(session, uow_factory, runtime, day, monkeypatch):
    make_job(session, "HZ01", day, seed="boom")
    session.commit()
    plan_id = request(session, uow_factory, day)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "solve_within", broken)
    assert plan_routes(str(plan_id))["status"] == "failed"
    assert plan_routes(str(plan_id))["status"] == "skipped"
    session.expire_all()
    plan = session.get(RoutePlan, plan_id)
    assert plan.status == PlanStatus.FAILED and "boom" in plan.error and plan.finished_at is not None


@pytest.mark.timeout(60)
def test_a_solve_that_never_returns_is_killed_and_the_plan_fails_with_the_reason(session, uow_factory, runtime,
                                                                                 day, monkeypatch):
    make_job(session, "HZ01", day, seed="stuck")
    session.commit()
    plan_id = request(session, uow_factory, day)
    monkeypatch.setattr(service, "solve_within", stuck_solve)
    assert plan_routes(str(plan_id))["status"] == "failed"
    session.expire_all()
    plan = session.get(RoutePlan, plan_id)
    assert "hard deadline" in plan.error and plan.lease_expires_at is None


def test_a_plan_whose_runs_keep_dying_is_given_up(session, uow_factory, runtime, day):
    plan_id = request(session, uow_factory, day)
    session.execute(update(RoutePlan).where(RoutePlan.id == plan_id).values(
        status=PlanStatus.RUNNING, attempts=service.MAX_ATTEMPTS, lease_expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert plan_routes(str(plan_id))["status"] == "failed"
    session.expire_all()
    assert "gave up" in session.get(RoutePlan, plan_id).error


def test_planning_a_demo_point_for_its_next_working_day_serves_its_open_jobs(session, uow_factory, runtime):
    """Whatever the weekday (a Saturday, a Sunday, New Year's Eve), the demo's open work lies on the
    point's next full working day, and a plan for that day serves it."""
    day = next_workday()
    plan_id = request(session, uow_factory, day, code="SZ02", time_limit_s=2)
    assert plan_routes(str(plan_id))["status"] == "done"
    plan = session.get(RoutePlan, plan_id)
    stats = plan.stats
    assert stats["jobs"] >= 18 and stats["served"] + stats["unassigned"] == stats["jobs"]
    assert stats["technicians"] == 6 and stats["served"] >= 18
    assert stats["solver"]["first_solution_s"] is not None


def planning(session, code, day, now=None):
    return planning_day.read_day(session, point(session, code), day, ZoneInfo("Asia/Shanghai"),
                            now=now or utcnow(), time_limit_s=1, seed=0)


def test_skills_count_only_with_a_certificate_valid_on_the_day(session, day):
    problem = planning(session, "NB01", day).problem
    skills = {n: problem.technician(str(principal(session, f"tech.nb01.{n}").technician_id)).skills
              for n in range(1, 7)}
    heater = {n for n, held in skills.items() if any(s.startswith(ProductCategory.WATER_HEATER.value) for s in held)}
    assert heater == {1, 5}  # 1, 3 and 5 have the skill, but 3's heater certificate has expired
    assert all("water_purifier:install" in held for held in skills.values())


def test_a_leave_removes_the_day_and_a_partial_leave_becomes_the_break(session, day):
    crew = technicians(session, "HZ02")
    off, partial = crew[0], crew[1]
    session.add(ShiftException(technician_id=off.id, on=day, kind=ShiftExceptionKind.LEAVE, reason="annual leave"))
    session.add(ShiftException(technician_id=partial.id, on=day, kind=ShiftExceptionKind.LEAVE,
                               start=time(10, 0), end=time(12, 0), reason="doctor"))
    session.flush()
    problem = planning(session, "HZ02", day).problem
    ids = {t.id for t in problem.technicians}
    assert str(off.id) not in ids and len(ids) == len(crew) - 1
    cut = problem.technician(str(partial.id))
    assert (cut.shift_start_s, cut.shift_end_s) == (8 * 3600 + 1800, 17 * 3600 + 1800)
    assert (cut.break_.earliest_start_s, cut.break_.latest_start_s, cut.break_.duration_s) == (36000, 36000, 7200)
    other = next(t for t in problem.technicians if t.id not in {str(partial.id)})
    assert other.break_.duration_s == 30 * 60
    assert 11 * 3600 <= other.break_.earliest_start_s <= other.break_.latest_start_s <= 14 * 3600


def test_an_extra_shift_extends_the_day_whether_it_overlaps_the_usual_one_or_not(session, day):
    crew = technicians(session, "HZ02")
    session.add(ShiftException(technician_id=crew[0].id, on=day, kind=ShiftExceptionKind.EXTRA,
                               start=time(16, 0), end=time(19, 0), reason="overtime"))
    session.add(ShiftException(technician_id=crew[1].id, on=day, kind=ShiftExceptionKind.EXTRA,
                               start=time(18, 0), end=time(20, 0), reason="evening call-outs"))
    session.flush()
    problem = planning(session, "HZ02", day).problem
    longer = problem.technician(str(crew[0].id))
    assert (longer.shift_start_s, longer.shift_end_s, longer.break_.duration_s) == (30600, 19 * 3600, 1800)
    evening = problem.technician(str(crew[1].id))
    assert (evening.shift_start_s, evening.shift_end_s) == (30600, 20 * 3600)
    assert (evening.break_.earliest_start_s, evening.break_.duration_s) == (17 * 3600 + 1800, 1800)


def test_replanning_today_during_a_partial_leave_starts_the_technician_when_it_ends(session, day):
    crew = technicians(session, "HZ02")
    session.add(ShiftException(technician_id=crew[0].id, on=day, kind=ShiftExceptionKind.LEAVE,
                               start=time(10, 0), end=time(12, 0), reason="doctor"))
    session.flush()
    problem = planning(session, "HZ02", day, now=local(day, 10, 30)).problem
    back = problem.technician(str(crew[0].id))
    assert (back.shift_start_s, back.break_) == (12 * 3600, None)
    working = problem.technician(str(crew[1].id))
    assert working.shift_start_s == 10 * 3600 + 1800 and working.break_.earliest_start_s == 11 * 3600


def test_home_starters_leave_from_home_and_the_others_from_the_point(session, day):
    hz01 = point(session, "HZ01")
    problem = planning(session, "HZ01", day).problem
    for tech in technicians(session, "HZ01"):
        routed = problem.technician(str(tech.id))
        expected = (tech.home_lat, tech.home_lon) if tech.start_location == StartLocation.HOME else (hz01.lat, hz01.lon)
        assert (routed.start.lat, routed.start.lon) == expected == (routed.end.lat, routed.end.lon)
    assert any(t.start_location == StartLocation.HOME for t in technicians(session, "HZ01"))


def test_promised_and_urgent_jobs_outrank_the_rest_and_sla_pressure_counts(session, day):
    crew = technicians(session, "HZ01")
    overdue = make_job(session, "HZ01", day, priority=Priority.LOW, sla_due_at=local(day, 0) - timedelta(hours=3))
    urgent = make_job(session, "HZ01", day, priority=Priority.URGENT)
    promised = make_job(session, "HZ01", day, status=JobStatus.SCHEDULED, technician_id=crew[0].id,
                        scheduled_start=local(day, 10), scheduled_end=local(day, 11))
    session.flush()
    visits = {v.id: v for v in planning(session, "HZ01", day).problem.visits}
    assert visits[str(overdue.id)].priority == 1 and visits[str(overdue.id)].sla_urgency == 1.0
    assert visits[str(urgent.id)].priority == 4 and visits[str(urgent.id)].sla_urgency == 0.0
    assert visits[str(promised.id)].priority == MAX_PRIORITY
    assert visits[str(promised.id)].pin.technician_id == str(crew[0].id) and not visits[str(promised.id)].pin.locked


def test_sla_urgency_grows_as_the_due_time_nears_the_planned_day():
    start = datetime(2026, 12, 1, tzinfo=TZ)
    assert planning_day.sla_urgency(None, start) == 0.0
    assert planning_day.sla_urgency(start - timedelta(hours=1), start) == 1.0
    assert planning_day.sla_urgency(start + timedelta(hours=12), start) == 0.75
    assert planning_day.sla_urgency(start + timedelta(hours=24 + 36), start) == 0.25
    assert planning_day.sla_urgency(start + timedelta(days=5), start) == 0.0


def test_replanning_today_keeps_work_under_way_first_and_locked_jobs_in_their_slot(session, uow_factory, runtime, day):
    now = local(day, 10, 0)
    first, second, third = technicians(session, "HZ01")[:3]
    on_site = make_job(session, "HZ01", day, status=JobStatus.ON_SITE, technician_id=first.id, minutes=60,
                       scheduled_start=local(day, 9, 30), arrived_at=local(day, 9, 40), seed="onsite")
    en_route = make_job(session, "HZ01", day, status=JobStatus.EN_ROUTE, technician_id=second.id,
                        scheduled_start=local(day, 10, 15), seed="enroute")
    locked = make_job(session, "HZ01", day, status=JobStatus.SCHEDULED, technician_id=third.id, locked=True,
                      scheduled_start=local(day, 14), scheduled_end=local(day, 14, 45), seed="locked")
    morning = make_job(session, "HZ01", day, window=(8, 9), seed="missed")
    for i in range(6):
        make_job(session, "HZ01", day, window=(10, 17), seed=f"today{i}")
    session.commit()

    with frozen(now):
        plan_id = request(session, uow_factory, day)
        assert plan_routes(str(plan_id))["status"] == "done"
    session.expire_all()
    stops = {s.job_id: s for s in session.scalars(select(PlannedStop).where(PlannedStop.plan_id == plan_id))}
    now_s = 10 * 3600
    assert stops[on_site.id].technician_id == first.id and stops[on_site.id].sequence == 1
    assert (stops[on_site.id].arrival_s, stops[on_site.id].start_s) == (now_s, now_s)
    assert stops[on_site.id].finish_s == now_s + 40 * 60  # 20 of its 60 minutes are done
    assert stops[en_route.id].technician_id == second.id and stops[en_route.id].sequence == 1
    assert stops[locked.id].technician_id == third.id
    assert 14 * 3600 <= stops[locked.id].start_s <= 14 * 3600 + planning_day.LOCKED_SLACK_S
    assert all(stops[j].pinned for j in (on_site.id, en_route.id, locked.id))
    assert all(s.start_s >= now_s for s in stops.values())
    left = dict(session.execute(select(UnassignedJob.job_id, UnassignedJob.reason)
                                .where(UnassignedJob.plan_id == plan_id)).all())
    assert left[morning.id] == "window_outside_all_shifts"


def test_a_job_the_plan_leaves_out_is_listed_once_with_the_version_it_was_planned_from(session, uow_factory,
                                                                                      runtime, day):
    job = make_job(session, "HZ01", day, location=None)
    session.commit()
    plan_id = request(session, uow_factory, day)
    plan_routes(str(plan_id))
    item = session.scalar(select(UnassignedJob).where(UnassignedJob.plan_id == plan_id,
                                                      UnassignedJob.job_id == job.id))
    assert (item.reason, item.job_version) == ("no_location", job.version)


def test_plans_for_a_past_day_are_refused(session, uow_factory):
    with pytest.raises(ValidationFailed) as error:
        service.request_plan(uow_factory(), RecordingTaskQueue(), principal(session, "admin"),
                             point_id=point(session, "HZ01").id, day=date(2020, 1, 6), time_limit_s=1,
                             timezone="Asia/Shanghai")
    assert error.value.field == "date"


def test_progress_of_a_running_plan_follows_the_time_limit_until_it_is_stored():
    started = datetime(2026, 12, 1, 9, tzinfo=TZ)
    plan = RoutePlan(status=PlanStatus.RUNNING, progress=10, time_limit_s=10, solve_started_at=started)
    assert plan.progress_at(started) == 10
    assert plan.progress_at(started + timedelta(seconds=5)) == 50
    assert plan.progress_at(started + timedelta(minutes=5)) == 90  # storing still to come
    plan.status, plan.progress = PlanStatus.DONE, 100
    assert plan.progress_at(started + timedelta(minutes=5)) == 100


def test_a_worker_set_for_two_searches_runs_them_and_stores_the_plan(session, uow_factory, settings, day,
                                                                      monkeypatch):
    plan_id = one_job_plan(session, uow_factory, day, "portfolio")
    real_solve = service.solve_within
    asked = []

    def recording(*args, **kwargs):
        asked.append(kwargs["searches"])
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(service, "solve_within", recording)
    two = dataclasses.replace(settings, solve_searches=2)
    with task_runtime.use(task_runtime.TaskRuntime(settings=two, uow_factory=uow_factory)):
        assert plan_routes(str(plan_id))["status"] == "done"
    assert asked == [2]
    session.expire_all()
    assert rows(session, plan_id)[0], "the best of the two plans is stored"
