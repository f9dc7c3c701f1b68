"""The plan task through a real RQ queue on fakeredis (with Lua, for ``unique=True``), run by a
SimpleWorker in this process (STYLE.md F5/F6)."""

from __future__ import annotations

import fakeredis
import pytest
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import select

from dispatch import runtime as task_runtime
from dispatch.queueing import RqTaskQueue
from dispatch.routing import service
from dispatch.routing.models import PlannedStop, PlanStatus, RoutePlan
from tests.plan_builders import make_job, next_workday, point, principal


@pytest.fixture
def redis(monkeypatch):
    fake = fakeredis.FakeRedis()
    monkeypatch.setattr("redis.Redis.from_url", lambda url, **kwargs: fake)
    return fake


def test_a_plan_queued_on_rq_is_solved_by_a_worker_once(redis, session, settings, uow_factory):
    day = next_workday()
    for i in range(4):
        make_job(session, "HZ01", day, seed=f"rq{i}")
    session.commit()
    queue = RqTaskQueue("redis://queue.invalid/0")
    manager = principal(session, "manager.hz01")
    ask = dict(point_id=point(session, "HZ01").id, day=day, time_limit_s=1, timezone="Asia/Shanghai")

    view = service.request_plan(uow_factory(), queue, manager, **ask)
    routing = Queue("routing", connection=redis, serializer=JSONSerializer)
    assert view.status == PlanStatus.QUEUED and routing.count == 1
    assert service.request_plan(uow_factory(), queue, manager, **ask).id == view.id
    task_id = f"plan-routes-{view.id.hex}-{view.input_hash[:16]}-0"
    queue.enqueue(service.PLAN_ROUTES_TASK, str(view.id), task_id=task_id, queue="routing")  # duplicate: ignored
    assert routing.count == 1 and routing.job_ids == [task_id]

    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        assert SimpleWorker([routing], connection=redis, serializer=JSONSerializer).work(burst=True)
    finished = routing.fetch_job(task_id)
    assert finished.return_value() == {"plan_id": str(view.id), "status": "done"}
    session.expire_all()
    plan = session.get(RoutePlan, view.id)
    assert plan.status == PlanStatus.DONE and plan.attempts == 1
    assert len(session.scalars(select(PlannedStop).where(PlannedStop.plan_id == view.id)).all()) >= 4
