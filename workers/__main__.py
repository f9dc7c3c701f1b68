"""``python -m workers [QUEUES...]``: an RQ worker with the JSON serializer and the scheduler."""

from __future__ import annotations

import sys

from dispatch.config import Settings
from dispatch.logs import configure_logging
from dispatch.queueing import QUEUES


def run_worker(settings: Settings, queues: list[str] | None = None, *, burst: bool = False) -> None:
    from redis import Redis
    from rq import Queue, Worker
    from rq.serializers import JSONSerializer

    import dispatch.models  # noqa: F401  (mappers configured before the first fork)
    from dispatch import wiring
    import dispatch.routing.ortools_backend  # noqa: F401  (the engine: imported once, not in every work horse)

    wiring.install()  # before the first fork: every work horse inherits the hooks and the feed
    connection = Redis.from_url(settings.redis_url)
    names = queues or list(QUEUES)
    worker = Worker(
        [Queue(name, connection=connection, serializer=JSONSerializer) for name in names],
        connection=connection,
        serializer=JSONSerializer,
    )
    worker.work(with_scheduler=True, burst=burst)


def main(argv: list[str]) -> None:
    configure_logging()
    settings = Settings.from_env()
    if not settings.redis_url:
        sys.exit("REDIS_URL is not set")
    queues = [arg for arg in argv if not arg.startswith("--")]
    run_worker(settings, queues or None, burst="--burst" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
