"""RQ entry points for the worklists; idempotent (each occasion is opened once, ever)."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from dispatch.worklists import service as worklists
from workers.runtime import get_runtime

log = logging.getLogger(__name__)


def refresh_worklists() -> dict[str, int]:
    """Every 15 minutes: open the items newly owed, clear those whose reason went away."""
    runtime = get_runtime()
    outcome = worklists.refresh(runtime.uow(), tz=ZoneInfo(runtime.settings.timezone))
    log.info("refresh_worklists %s", outcome)
    return outcome
