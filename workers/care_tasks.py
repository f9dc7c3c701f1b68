"""RQ entry points for after-sales care. Each takes JSON primitives, calls one service and returns
a small JSON dict; each is safe to run twice (or concurrently)."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from dispatch.care import complaints, maintenance, notifications, rules
from dispatch.care.senders import Sender, sender_for
from dispatch.clock import utcnow
from workers.runtime import get_runtime

log = logging.getLogger(__name__)


def _sender() -> Sender:
    """The message provider: the SMS gateway when DISPATCH_SMS_URL is set, else the log."""
    settings = get_runtime().settings
    return sender_for(settings.sms_url, settings.sms_key, timeout_s=settings.sms_timeout_s)


def sync_maintenance_plans() -> dict[str, int]:
    """Nightly: a plan for every newly activated unit whose model needs maintenance."""
    runtime = get_runtime()
    tz = ZoneInfo(runtime.settings.timezone)
    outcome = maintenance.sync_plans(runtime.uow(), today=utcnow().astimezone(tz).date(), tz=tz)
    log.info("sync_maintenance_plans %s", outcome)
    return outcome


def generate_maintenance_jobs(lead_days: int = rules.DEFAULT_LEAD_DAYS) -> dict[str, object]:
    """Nightly: create the maintenance jobs falling due within ``lead_days`` (one per due date, ever)."""
    runtime = get_runtime()
    tz = ZoneInfo(runtime.settings.timezone)
    report = maintenance.generate_due_jobs(
        runtime.uow_factory, today=utcnow().astimezone(tz).date(), lead_days=lead_days,
        radius_km=runtime.settings.fallback_radius_km, tz=tz,
    )
    log.info("generate_maintenance_jobs created=%d already_done=%d failed=%d",
             len(report.created), report.already_done, len(report.failed))
    return report.as_dict()


def deliver_notifications(batch: int = 100) -> dict[str, int]:
    """Every minute: send the due messages of the outbox, with back-off on failures."""
    runtime = get_runtime()
    settings = runtime.settings
    ctx = notifications.DeliveryContext(
        tz=ZoneInfo(settings.timezone), secret_key=settings.secret_key,
        feedback_link_base=settings.feedback_link_base,
    )
    report = notifications.deliver_due(runtime.uow_factory, _sender(), ctx, batch=batch)
    return report.as_dict()


def escalate_overdue_complaints() -> dict[str, object]:
    """Hourly: complaints past their deadline are escalated to HQ (once each)."""
    escalated = complaints.escalate_overdue(get_runtime().uow())
    if escalated:
        log.info("escalated complaints: %s", ", ".join(escalated))
    return {"escalated": len(escalated), "references": escalated}
