"""RQ entry point for HQ spot-checks: the nightly audit cycle."""

from __future__ import annotations

import logging

from dispatch.auth.principal import SYSTEM
from dispatch.audits import lots
from workers.runtime import get_runtime

log = logging.getLogger(__name__)


def draw_audit_samples() -> dict[str, int]:
    """Nightly: open this week's lots (seeds committed), freeze the lots whose week ended 48 h
    ago and draw their samples, finalise verdicts past their dispute window, decide lots.

    Safe to run twice or concurrently: frozen lots are skipped and unique constraints refuse a
    second sample of the same checklist (the loser's transaction rolls back and changes nothing).
    """
    runtime = get_runtime()
    report = lots.draw_samples(runtime.uow(), SYSTEM, tz=runtime.settings.timezone)
    outcome = {name: value for name, value in vars(report).items() if isinstance(value, int)}
    log.info("draw_audit_samples %s", outcome)
    return outcome
