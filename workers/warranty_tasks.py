"""RQ entry points for the warranty domain. Each takes JSON primitives, calls one service and returns
a small JSON dict; each is safe to run twice (or concurrently)."""

from __future__ import annotations

import logging
import uuid
from zoneinfo import ZoneInfo

from dispatch.clock import utcnow
from dispatch.warranty import contracts, recalls
from workers.runtime import get_runtime

log = logging.getLogger(__name__)


def remind_expiring_contracts(days_ahead: int = contracts.DEFAULT_REMIND_DAYS) -> dict[str, int]:
    """Daily: remind the customers whose service contract ends within ``days_ahead`` days (once each)."""
    runtime = get_runtime()
    today = utcnow().astimezone(ZoneInfo(runtime.settings.timezone)).date()
    outcome = contracts.remind_expiring(runtime.uow_factory, today=today, days_ahead=days_ahead)
    log.info("remind_expiring_contracts %s", outcome)
    return outcome


def run_recall(campaign_id: str) -> dict[str, object]:
    """Open the jobs of a launched recall campaign, in batches (a rerun opens no job twice)."""
    runtime = get_runtime()
    outcome = recalls.run(runtime.uow_factory, uuid.UUID(campaign_id), radius_km=runtime.settings.fallback_radius_km,
                          tz=ZoneInfo(runtime.settings.timezone))
    log.info("run_recall %s", outcome)
    return outcome
