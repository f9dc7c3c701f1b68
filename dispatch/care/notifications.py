"""The notification outbox: messages are written in the transaction of the event that causes
them (so a rolled-back event leaves no message) and delivered later by a worker, with
retries and exponential back-off; messages that finally fail stay visible to HQ and the point.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.auth.models import Role, User
from dispatch.auth.principal import Principal
from dispatch.care import rules, templates, tokens
from dispatch.care.models import Channel, DeliveryReceipt, Notification, NotificationStatus
from dispatch.care.senders import OutgoingMessage, PermanentSendError, Sender, verify
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, Unauthorized
from dispatch.i18n import DEFAULT_LOCALE
from dispatch.network.models import Customer
from dispatch.uow import UnitOfWork, UowFactory

log = logging.getLogger(__name__)

# --- writing to the outbox (in the caller's transaction) -------------------------------------


SUPERSEDED = "superseded by a newer message"


def supersede(session: Session, job_id: uuid.UUID, templates: Iterable[str], *, channel: Channel | None = None,
              reason: str = SUPERSEDED) -> int:
    """Withdraw the job's unsent messages of these purposes (templates); returns how many."""
    query = (update(Notification)
             .where(Notification.job_id == job_id, Notification.template.in_(list(templates)),
                    Notification.status == NotificationStatus.PENDING)
             .values(status=NotificationStatus.SUPERSEDED, last_error=reason)
             .execution_options(synchronize_session="fetch"))
    if channel is not None:
        query = query.where(Notification.channel == channel)
    return session.execute(query).rowcount


def queue(session: Session, *, channel: Channel, recipient: str, template: str, payload: dict[str, Any],
          job_id: uuid.UUID | None = None, customer_id: uuid.UUID | None = None,
          service_point_id: uuid.UUID | None = None) -> Notification:
    """Add one message to the outbox; it is sent only if the caller's transaction commits.

    About a job, there is one pending message per purpose (template) and channel: the new one
    supersedes an unsent older one (a partial unique index holds the rule)."""
    if job_id is not None:
        supersede(session, job_id, [template], channel=channel)
    message = Notification(channel=channel, recipient=recipient, template=template, payload=payload,
                           job_id=job_id, customer_id=customer_id, service_point_id=service_point_id,
                           status=NotificationStatus.PENDING, attempts=0, next_attempt_at=utcnow())
    session.add(message)
    return message


def notify_customer(session: Session, customer: Customer, template: str, payload: dict[str, Any], *,
                    job_id: uuid.UUID | None = None, service_point_id: uuid.UUID | None = None,
                    by_email_too: bool = False) -> list[Notification]:
    """Text the customer's phone (and e-mail them when asked and they gave an address), in
    their language (zh-CN unless they chose another)."""
    payload = {"locale": customer.locale or DEFAULT_LOCALE} | payload
    kw = {"template": template, "payload": payload, "job_id": job_id, "customer_id": customer.id,
          "service_point_id": service_point_id}
    messages = [queue(session, channel=Channel.SMS, recipient=customer.phone, **kw)]
    if by_email_too and customer.email:
        messages.append(queue(session, channel=Channel.EMAIL, recipient=customer.email, **kw))
    return messages


def notify_hq(session: Session, template: str, payload: dict[str, Any], *,
              service_point_id: uuid.UUID | None = None) -> list[Notification]:
    """Push a message to every active HQ administrator (the call centre and its supervisors)."""
    admins = session.scalars(
        select(User.username).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.username)
    ).all()
    return [queue(session, channel=Channel.PUSH, recipient=f"user:{name}", template=template, payload=payload,
                  service_point_id=service_point_id) for name in admins]


# --- reading and operating the outbox ---------------------------------------------------------


def list_notifications(uow: UnitOfWork, actor: Principal, *, status: NotificationStatus | None = None,
                       channel: Channel | None = None, template: str | None = None,
                       job_id: uuid.UUID | None = None, service_point_id: uuid.UUID | None = None,
                       offset: int = 0, limit: int = 50) -> tuple[list[Notification], int]:
    """HQ sees every message; a manager those about their point's jobs and customers."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        query = select(Notification)
        point = actor.point_filter()
        if point is not None:
            query = query.where(Notification.service_point_id == point)
        elif service_point_id is not None:
            query = query.where(Notification.service_point_id == service_point_id)
        if status is not None:
            query = query.where(Notification.status == status)
        if channel is not None:
            query = query.where(Notification.channel == channel)
        if template is not None:
            query = query.where(Notification.template == template)
        if job_id is not None:
            query = query.where(Notification.job_id == job_id)
        return page(uow.session, query.order_by(Notification.created_at.desc(), Notification.id),
                    offset=offset, limit=limit)


def retry_notification(uow: UnitOfWork, actor: Principal, notification_id: uuid.UUID) -> Notification:
    """Give a failed message a fresh set of attempts (e.g. after the customer's number was fixed)."""
    actor.require(Role.ADMIN, Role.MANAGER)
    with uow:
        message = uow.session.get(Notification, notification_id, with_for_update=True)
        if message is None:
            raise NotFound(f"notification {notification_id} does not exist")
        actor.ensure_point(message.service_point_id, f"notification {notification_id}")
        if message.status != NotificationStatus.FAILED:
            raise Conflict(f"notification {notification_id} is {message.status.value}; only failed ones are retried",
                           current=message.status.value)
        if message.job_id is not None and uow.session.scalar(select(Notification.id).where(
                Notification.job_id == message.job_id, Notification.template == message.template,
                Notification.channel == message.channel, Notification.status == NotificationStatus.PENDING,
                Notification.id != message.id).limit(1)) is not None:
            raise Conflict(f"notification {notification_id} has been replaced by a newer {message.template} message "
                           "for the same job; that one is pending", current="superseded")
        message.status = NotificationStatus.PENDING
        message.attempts = 0
        message.next_attempt_at = utcnow()
        uow.commit()
        return message


# --- delivery (the worker) --------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryContext:
    """What rendering needs that the outbox row does not hold: local time and link signing."""

    tz: ZoneInfo
    secret_key: str
    feedback_link_base: str = tokens.FEEDBACK_LINK_BASE


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed}


@dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    attempts: int
    channel: Channel
    recipient: str
    template: str
    payload: dict[str, Any]
    job_id: uuid.UUID | None


def _claim(uow_factory: UowFactory, batch: int) -> list[_Claimed]:
    """Take up to ``batch`` due messages for this worker.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets concurrent workers take disjoint batches; the
    conditional UPDATE (still pending, still due) is the guard everywhere, SQLite included. The
    claim pushes ``next_attempt_at`` out by a lease, so a worker that dies mid-send does not lose
    the message: it is due again when the lease ends.
    """
    now = utcnow()
    with uow_factory() as uow:
        session = uow.session
        due = (Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now)
        ids = session.scalars(
            select(Notification.id).where(*due).order_by(Notification.next_attempt_at, Notification.id)
            .limit(batch).with_for_update(skip_locked=True)
        ).all()
        claimed_ids = [
            message_id for message_id in ids
            if session.execute(
                update(Notification).where(Notification.id == message_id, *due)
                .values(attempts=Notification.attempts + 1,
                        next_attempt_at=now + timedelta(seconds=rules.CLAIM_LEASE_S))
                .execution_options(synchronize_session=False)
            ).rowcount == 1
        ]
        rows = session.scalars(
            select(Notification).where(Notification.id.in_(claimed_ids)).execution_options(populate_existing=True)
        ).all()
        claimed = [_Claimed(r.id, r.attempts, r.channel, r.recipient, r.template, dict(r.payload), r.job_id)
                   for r in rows]
        uow.commit()
    return sorted(claimed, key=lambda c: ids.index(c.id))


def _render(item: _Claimed, ctx: DeliveryContext) -> OutgoingMessage:
    rating_url = None
    if item.template in templates.NEEDS_RATING_LINK:
        if item.job_id is None:
            raise KeyError("job_id")
        rating_url = tokens.rating_url(ctx.feedback_link_base, tokens.issue(ctx.secret_key, item.job_id))
    payload = rules.current_facts(item.template, item.payload, utcnow())
    text = templates.render(item.template, payload, tz=ctx.tz, rating_url=rating_url)
    return OutgoingMessage(id=item.id, channel=item.channel, recipient=item.recipient,
                           subject=text.subject, body=text.body)


def _record(uow_factory: UowFactory, item: _Claimed, error: str | None, *, permanent: bool = False,
            expired: bool = False, provider_message_id: str | None = None) -> str:
    """Store the outcome of one attempt; guarded by the attempt number we claimed. A final
    outcome drops the message's secret facts (a sign-in code is not kept once sent)."""
    now = utcnow()
    if expired:
        values: dict[str, Any] = {"status": NotificationStatus.EXPIRED, "last_error": error}
        outcome = "expired"
    elif error is None:
        values = {"status": NotificationStatus.SENT, "sent_at": now, "last_error": None,
                  "provider_message_id": provider_message_id}
        outcome = "sent"
    elif permanent or rules.gives_up(item.attempts):
        values = {"status": NotificationStatus.FAILED, "last_error": error[:2000]}
        outcome = "failed"
    else:
        values = {"next_attempt_at": now + rules.backoff(item.attempts), "last_error": error[:2000]}
        outcome = "retrying"
    if outcome != "retrying" and item.template in templates.SECRET_FACTS:
        values["payload"] = templates.masked(item.template, item.payload)
    with uow_factory() as uow:
        updated = uow.session.execute(
            update(Notification)
            .where(Notification.id == item.id, Notification.status == NotificationStatus.PENDING,
                   Notification.attempts == item.attempts)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        uow.commit()
    return outcome if updated else "superseded"


def deliver_due(uow_factory: UowFactory, sender: Sender, ctx: DeliveryContext, *, batch: int = 100) -> DeliveryReport:
    """Send what is due: claim a batch, send each message outside any transaction, record outcomes."""
    report = DeliveryReport()
    for item in _claim(uow_factory, batch):
        if rules.announces_past_time(item.template, item.payload, utcnow()):
            _record(uow_factory, item, "not sent: the time it announced had passed", expired=True)
            continue
        try:
            message = _render(item, ctx)
        except (KeyError, ValueError) as exc:  # a payload the template cannot use will never render
            outcome = _record(uow_factory, item, f"cannot render {item.template}: missing or bad {exc}",
                              permanent=True)
        else:
            try:
                provider_message_id = sender.send(message)
            except PermanentSendError as exc:
                log.warning("notification %s refused for good: %s", item.id, exc)
                outcome = _record(uow_factory, item, f"{type(exc).__name__}: {exc}", permanent=True)
            except Exception as exc:  # noqa: BLE001 - any provider failure is retried with back-off
                log.warning("notification %s attempt %d failed: %s", item.id, item.attempts, exc)
                outcome = _record(uow_factory, item, f"{type(exc).__name__}: {exc}")
            else:
                outcome = _record(uow_factory, item, None,
                                  provider_message_id=provider_message_id if isinstance(provider_message_id, str)
                                  else None)
        if outcome in ("sent", "retrying", "failed"):
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


# --- delivery receipts (the SMS gateway reports back) -----------------------------------------


def record_receipt(uow: UnitOfWork, *, key: str | None, timestamp: str | None, signature: str | None,
                   raw_body: bytes, provider_message_id: str, status: str, error_code: str | None = None,
                   reported_at: datetime | None = None) -> DeliveryReceipt:
    """Store what the gateway reports about a message it accepted (every report is kept; the
    message it names, when known, is linked). Only a report signed with the gateway key, and
    fresh, is taken (401 otherwise; 404 when no gateway is configured)."""
    if not key:
        raise NotFound("no SMS gateway is configured")
    if not verify(key, timestamp, signature, raw_body, now=utcnow().timestamp()):
        raise Unauthorized("the receipt is not signed by the gateway, or is stale")
    with uow:
        notification_id = uow.session.scalar(
            select(Notification.id).where(Notification.provider_message_id == provider_message_id).limit(1))
        receipt = DeliveryReceipt(notification_id=notification_id, provider_message_id=provider_message_id,
                                  status=status, error_code=error_code, reported_at=reported_at,
                                  received_at=utcnow())
        uow.session.add(receipt)
        uow.commit()
        return receipt


def list_receipts(uow: UnitOfWork, actor: Principal, notification_id: uuid.UUID) -> list[DeliveryReceipt]:
    """The gateway's reports about one message (HQ and the message's point)."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        message = uow.session.get(Notification, notification_id)
        if message is None:
            raise NotFound(f"notification {notification_id} does not exist")
        actor.ensure_point(message.service_point_id, f"notification {notification_id}")
        return list(uow.session.scalars(select(DeliveryReceipt).where(
            DeliveryReceipt.notification_id == notification_id).order_by(DeliveryReceipt.received_at)))
