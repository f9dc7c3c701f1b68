"""RQ entry point for mobile sync housekeeping."""

from __future__ import annotations

import logging

from dispatch.clock import utcnow
from dispatch.sync import retention
from workers.runtime import get_runtime

log = logging.getLogger(__name__)


def prune_sync_history(tombstone_days: int = retention.TOMBSTONE_RETENTION_DAYS) -> dict[str, int]:
    """Nightly: expire old removals behind a retention floor, compact the feeds, expire
    idempotency records. Safe to run twice: a second run finds nothing left to delete."""
    report = retention.prune_history(get_runtime().uow(), now=utcnow(), tombstone_days=tombstone_days)
    outcome = report.as_dict()
    log.info("prune_sync_history %s", outcome)
    return outcome
