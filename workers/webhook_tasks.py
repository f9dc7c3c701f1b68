"""RQ entry point of outbound webhooks: send the due deliveries of the outbox (safe to run twice or
concurrently: deliveries are claimed with a lease)."""

from __future__ import annotations

import logging

from dispatch.integrations import delivery
from workers.runtime import get_runtime

log = logging.getLogger(__name__)


def deliver_webhooks(batch: int = 100) -> dict[str, object]:
    """Every 30 seconds, and at once after HQ asks for a redelivery."""
    runtime = get_runtime()
    settings = runtime.settings
    report = delivery.deliver_due(runtime.uow_factory, allow_private=settings.webhook_allow_private_targets,
                                  timeout_s=settings.webhook_timeout_s, batch=batch)
    if report.failed or report.disabled:
        log.info("deliver_webhooks %s", report.as_dict())
    return report.as_dict()
