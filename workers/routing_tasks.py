"""RQ entry points for route planning: a plan id in, one service call, a small JSON dict out."""

from __future__ import annotations

import logging
import uuid

from dispatch.routing import service as routing_service
from workers.runtime import get_runtime

log = logging.getLogger(__name__)


def plan_routes(plan_id: str) -> dict[str, str]:
    """Solve route plan ``plan_id``.

    Safe to run more than once: a plan that is finished, or claimed by a live run, is left alone
    (``"skipped"``); one whose run died is taken over once its lease has expired.
    """
    runtime = get_runtime()
    status = routing_service.run_plan(runtime.uow_factory, plan_id=uuid.UUID(plan_id),
                                      searches=runtime.settings.solve_searches)
    log.info("plan_routes plan_id=%s status=%s", plan_id, status)
    return {"plan_id": plan_id, "status": status}
