"""RQ entry points for HQ spot-checks (the nightly audit cycle) and the tamper-evident log's roots."""

from __future__ import annotations

import logging

from dispatch.audit_log import service as audit_log
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


def bind_audit_log_roots() -> int | None:
    """Every few minutes: a root entry in HQ's chain binding every service point's chain (their
    heads' positions and hashes), so that verifying the log proves all its chains together and a
    point's chain rebuilt or cut afterwards no longer matches. Idempotent: nothing when no chain moved."""
    seq = audit_log.bind_chain_roots(get_runtime().uow())
    log.info("bind_audit_log_roots %s", seq)
    return seq
