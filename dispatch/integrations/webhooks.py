"""HQ's webhook endpoints and their delivery log: register, change, rotate the secret, remove;
read the deliveries and their attempts; redeliver one."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, update

from dispatch.auth.enums import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.integrations import signing, targets
from dispatch.integrations.enums import DeliveryStatus, EndpointStatus, EventType
from dispatch.integrations.models import (
    OutboundEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from dispatch.uow import UnitOfWork

DELIVER_TASK = "workers.webhook_tasks.deliver_webhooks"
HQ = (Role.ADMIN, Role.REVIEWER)


def _types(event_types: Iterable[Any]) -> list[str]:
    values = sorted({EventType(value).value for value in event_types})
    if not values:
        raise ValidationFailed("event_types", "subscribe to at least one event type")
    return values


def _endpoint(session, endpoint_id: uuid.UUID, *, lock: bool = False) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=lock or None)
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id} does not exist")
    return endpoint


def create_endpoint(uow: UnitOfWork, actor: Principal, *, url: str, event_types: list[Any], description: str = "",
                    allow_private: bool = False) -> WebhookEndpoint:
    """Register a receiver (admin). The secret is generated here and shown to HQ."""
    actor.require(Role.ADMIN)
    targets.check(url, allow_private=allow_private)
    with uow:
        endpoint = WebhookEndpoint(url=url, description=description, event_types=_types(event_types),
                                   secret=signing.new_secret(), status=EndpointStatus.ACTIVE,
                                   created_by=actor.user_id if actor.user_id.int else None)
        uow.session.add(endpoint)
        uow.commit()
    return endpoint


def list_endpoints(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int):
    actor.require(*HQ)
    with uow:
        return page(uow.session, select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id),
                    offset=offset, limit=limit)


def get_endpoint(uow: UnitOfWork, actor: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    actor.require(*HQ)
    with uow:
        return _endpoint(uow.session, endpoint_id)


def update_endpoint(uow: UnitOfWork, actor: Principal, endpoint_id: uuid.UUID, *, allow_private: bool = False,
                    **values: Any) -> WebhookEndpoint:
    """Change the URL, the subscriptions or the description; ``status`` disables or re-enables it
    (re-enabling restarts its pending deliveries now, and forgets the failing streak)."""
    actor.require(Role.ADMIN)
    with uow:
        endpoint = _endpoint(uow.session, endpoint_id, lock=True)
        if "url" in values:
            endpoint.url = targets.check(values["url"], allow_private=allow_private)
        if "event_types" in values:
            endpoint.event_types = _types(values["event_types"])
        if "description" in values:
            endpoint.description = values["description"]
        status = values.get("status")
        if status is not None and status != endpoint.status:
            now = utcnow()
            endpoint.status = status
            if status == EndpointStatus.DISABLED:
                endpoint.disabled_at, endpoint.disabled_reason = now, f"disabled by {actor.username}"
            else:
                endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = None, "", None
                endpoint.failures = 0
                uow.session.execute(update(WebhookDelivery).where(
                    WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == DeliveryStatus.PENDING)
                    .values(next_attempt_at=now).execution_options(synchronize_session=False))
        uow.commit()
    return endpoint


def rotate_secret(uow: UnitOfWork, actor: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """A new secret; deliveries from now on are signed with it."""
    actor.require(Role.ADMIN)
    with uow:
        endpoint = _endpoint(uow.session, endpoint_id, lock=True)
        endpoint.secret = signing.new_secret()
        uow.commit()
    return endpoint


def delete_endpoint(uow: UnitOfWork, actor: Principal, endpoint_id: uuid.UUID) -> None:
    """Remove a receiver with its deliveries and their log."""
    actor.require(Role.ADMIN)
    with uow:
        endpoint = _endpoint(uow.session, endpoint_id, lock=True)
        deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
        uow.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
        uow.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
        uow.session.delete(endpoint)
        uow.commit()


def list_deliveries(uow: UnitOfWork, actor: Principal, endpoint_id: uuid.UUID, *, offset: int, limit: int,
                    status: DeliveryStatus | None = None, event_type: EventType | None = None):
    """An endpoint's deliveries, newest event first, each with its event."""
    actor.require(*HQ)
    with uow:
        _endpoint(uow.session, endpoint_id)
        query = (select(WebhookDelivery).join(OutboundEvent, OutboundEvent.id == WebhookDelivery.event_id)
                 .where(WebhookDelivery.endpoint_id == endpoint_id)
                 .order_by(WebhookDelivery.event_id.desc(), WebhookDelivery.id))
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        if event_type is not None:
            query = query.where(OutboundEvent.type == event_type.value)
        deliveries, total = page(uow.session, query, offset=offset, limit=limit)
        events = {event.id: event for event in uow.session.scalars(
            select(OutboundEvent).where(OutboundEvent.id.in_([d.event_id for d in deliveries])))}
        return [_view(delivery, events[delivery.event_id]) for delivery in deliveries], total


def _view(delivery: WebhookDelivery, event: OutboundEvent, attempts: list[WebhookAttempt] | None = None) -> dict:
    view = {column: getattr(delivery, column) for column in (
        "id", "endpoint_id", "status", "attempts", "next_attempt_at", "last_attempt_at", "last_status_code",
        "last_error", "delivered_at", "created_at")}
    view |= {"event_id": event.message_id, "event_type": event.type, "payload": event.payload,
             "ordering_key": event.ordering_key}
    if attempts is not None:
        view["log"] = attempts
    return view


def get_delivery(uow: UnitOfWork, actor: Principal, delivery_id: uuid.UUID) -> dict:
    """One delivery with every attempt (status code, error, the start of the answer, duration)."""
    actor.require(*HQ)
    with uow:
        row = uow.session.execute(select(WebhookDelivery, OutboundEvent).join(
            OutboundEvent, OutboundEvent.id == WebhookDelivery.event_id).where(WebhookDelivery.id == delivery_id)
            .execution_options(populate_existing=True)).first()
        if row is None:
            raise NotFound(f"webhook delivery {delivery_id} does not exist")
        attempts = list(uow.session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                                            .order_by(WebhookAttempt.number)))
        return _view(*row, attempts=attempts)


def redeliver(uow: UnitOfWork, actor: Principal, tasks, delivery_id: uuid.UUID) -> dict:
    """Send a delivery again now (admin), whatever its state; the next attempt is logged as manual.
    The endpoint must be active."""
    actor.require(Role.ADMIN)
    with uow:
        delivery = uow.session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None:
            raise NotFound(f"webhook delivery {delivery_id} does not exist")
        endpoint = _endpoint(uow.session, delivery.endpoint_id)
        if endpoint.status != EndpointStatus.ACTIVE:
            raise Conflict("the endpoint is disabled: enable it first (its pending deliveries then resume)")
        delivery.status, delivery.next_attempt_at, delivery.manual = DeliveryStatus.PENDING, utcnow(), True
        delivery.delivered_at = None
        uow.after_commit(lambda: tasks.enqueue(DELIVER_TASK, task_id=f"webhooks-redeliver-{uuid.uuid4().hex}",
                                               queue="notifications"))
        uow.commit()
    return get_delivery(uow, actor, delivery_id)
