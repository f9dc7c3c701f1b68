"""Prompt webhook delivery on RQ for the suite: a Redis (fakeredis, and the real one of
DISPATCH_TEST_REDIS_URL when set) and an RQ ``SimpleWorker`` run in the test's process on the
test's transaction, as ``python -m workers`` would run the queue."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from dispatch import runtime as task_runtime
from dispatch.integrations import prompt

LOCK = "dispatch-tests-webhook-prompt"


@pytest.fixture(params=["fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
def rq_redis(request, monkeypatch) -> Iterator[tuple[str, object]]:
    """(the URL an app is given, a connection to the same Redis) for a test that runs tasks on RQ.
    The real one is a database of these tests' own, held under a lock: tests on two xdist workers
    would take each other's tasks."""
    if request.param == "fakeredis":
        import fakeredis

        server = fakeredis.FakeServer()
        monkeypatch.setattr("redis.Redis.from_url", lambda url, **kwargs: fakeredis.FakeRedis(server=server))
        yield "redis://shared.invalid/0", fakeredis.FakeRedis(server=server)
        return
    from redis import Redis

    url = os.environ["DISPATCH_TEST_REDIS_URL"].rsplit("/", 1)[0] + "/12"
    connection = Redis.from_url(url)
    with connection.lock(LOCK, timeout=120, blocking_timeout=150):
        for key in connection.scan_iter("rq:*"):
            connection.delete(key)
        yield url, connection
        for key in connection.scan_iter("rq:*"):
            connection.delete(key)


def queued(connection) -> list[str]:
    from rq import Queue

    return Queue(prompt.QUEUE, connection=connection).get_job_ids()


def run_worker(connection, settings, uow_factory) -> None:
    """What ``python -m workers`` does with the queue, until it is empty (in this process, on the
    test's transaction)."""
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    queue = Queue(prompt.QUEUE, connection=connection, serializer=JSONSerializer)
    with task_runtime.use(task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)):
        assert SimpleWorker([queue], connection=connection, serializer=JSONSerializer).work(burst=True)
