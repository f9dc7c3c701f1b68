"""RQ entry points for the warranty domain. Each takes JSON primitives, calls one service and returns
a small JSON dict; each is safe to run twice (or concurrently)."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from dispatch.clock import utcnow
from dispatch.warranty import contracts
from workers.runtime import get_runtime

log = logging.getLogger(__name__)


def remind_expiring_contracts(days_ahead: int = contracts.DEFAULT_REMIND_DAYS) -> dict[str, int]:
    """Daily: remind the customers whose service contract ends within ``days_ahead`` days (once each)."""
    runtime = get_runtime()
    today = utcnow().astimezone(ZoneInfo(runtime.settings.timezone)).date()
    outcome = contracts.remind_expiring(runtime.uow_factory, today=today, days_ahead=days_ahead)
    log.info("remind_expiring_contracts %s", outcome)
    return outcome
