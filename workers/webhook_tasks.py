"""RQ entry points of outbound webhooks: send the due deliveries of the outbox (safe to run twice or
concurrently: deliveries are claimed with a lease, and a job's events never pass each other)."""

from __future__ import annotations

import logging

from dispatch.integrations import delivery
from workers.runtime import get_runtime

log = logging.getLogger(__name__)


def deliver_webhooks(batch: int = 100) -> dict[str, object]:
    """Every 30 seconds (the safety net), and at once after HQ asks for a redelivery."""
    return _deliver(batch=batch)


def deliver_webhooks_for(ordering_key: str, batch: int = 100) -> dict[str, object]:
    """Enqueued when a transaction that wrote deliveries commits (dispatch.integrations.prompt):
    the deliveries of that one ordering key (a job's events), in order."""
    return _deliver(batch=batch, ordering_key=ordering_key)


def _deliver(**options) -> dict[str, object]:
    runtime = get_runtime()
    settings = runtime.settings
    report = delivery.deliver_due(runtime.uow_factory, allow_private=settings.webhook_allow_private_targets,
                                  timeout_s=settings.webhook_timeout_s, **options)
    if report.failed or report.disabled:
        log.info("deliver_webhooks %s %s", options.get("ordering_key") or "", report.as_dict())
    return report.as_dict()
