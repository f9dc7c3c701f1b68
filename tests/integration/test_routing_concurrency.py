"""Two runs of the plan task, or two applies of one plan, at the same moment: exactly one goes
through. Needs real concurrent transactions, so it runs on PostgreSQL against its own database."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select

from dispatch import migrate
from dispatch.db import make_engine, make_session_factory
from dispatch.errors import DispatchError
from dispatch.routing import service
from dispatch.routing.models import PlannedStop, PlanStatus, RoutePlan
from dispatch.uow import UnitOfWork
from seeds import SeedContext, network
from tests.api.jobs_builders import own_hooks_only  # noqa: F401 - fixture
from tests.conftest import fresh_database_url
from tests.plan_builders import RecordingTaskQueue, make_job, next_workday, point, principal

pytestmark = pytest.mark.postgres


@pytest.fixture
def committed(tmp_path, base_settings, own_hooks_only):
    """A UoW factory on its own committed database with the demo network and a queued plan."""
    url = fresh_database_url("routing_race", tmp_path)
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    day = next_workday()
    with factory() as session:
        network.seed(SeedContext(session=session, settings=base_settings, today=SUITE_TODAY,
                                 rng=random.Random("network")))
        for i in range(6):
            make_job(session, "HZ01", day, seed=f"race{i}")
        session.commit()
        manager = principal(session, "manager.hz01")
        point_id = point(session, "HZ01").id
    view = service.request_plan(UnitOfWork(factory), RecordingTaskQueue(), manager, point_id=point_id, day=day,
                                time_limit_s=1, timezone="Asia/Shanghai")
    yield (lambda: UnitOfWork(factory)), factory, manager, view.id
    engine.dispose()


def race(action: Callable[[], object]) -> list[object]:
    """Run ``action`` in two threads released together; their results (or errors)."""
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def run() -> None:
        barrier.wait()
        try:
            outcomes.append(action())
        except DispatchError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_runs_of_the_same_plan_at_once_solve_it_once(committed):
    uow_factory, factory, _, plan_id = committed
    outcomes = race(lambda: service.run_plan(uow_factory, plan_id=plan_id))
    assert sorted(outcomes) == ["done", "skipped"]
    with factory() as session:
        plan = session.get(RoutePlan, plan_id)
        assert plan.status == PlanStatus.DONE and plan.attempts == 1
        stops = session.scalar(select(func.count()).select_from(PlannedStop).where(PlannedStop.plan_id == plan_id))
        assert stops == plan.stats["served"] >= 6


def test_two_applies_of_one_plan_at_once_schedule_its_jobs_once(committed):
    uow_factory, factory, manager, plan_id = committed
    assert service.run_plan(uow_factory, plan_id=plan_id) == "done"
    outcomes = race(lambda: service.apply_plan(uow_factory(), manager, plan_id))
    errors = [o for o in outcomes if isinstance(o, DispatchError)]
    assert len(errors) == 1 and errors[0].code in {"invalid-transition", "conflict"}
    with factory() as session:
        assert session.get(RoutePlan, plan_id).applied_at is not None
