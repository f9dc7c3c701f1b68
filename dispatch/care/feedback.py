"""Customer follow-up: ratings through the signed link (which the point's manager can see and send
again), callbacks, and the points' callback (回访) worklist that low ratings open."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.care import notifications, rules, tokens
from dispatch.care.models import (
    Callback,
    CallbackItem,
    CallbackItemStatus,
    CallbackOutcome,
    Notification,
    Rating,
    RatingSource,
)
from dispatch.care.templates import Template
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Customer, Product, Technician
from dispatch.ports import TaskQueue
from dispatch.uow import UnitOfWork

RATEABLE = frozenset({JobStatus.COMPLETED, JobStatus.CLOSED})
LOW_RATING = "low_rating"  # why a callback item was opened


@dataclass(frozen=True)
class FeedbackRequest:
    """What the customer's rating page shows (no personal data beyond the visit itself)."""

    job_reference: str
    job_type: str
    product: str
    technician: str | None
    completed_at: datetime | None
    rated: bool


def _job(session: Session, job_id: uuid.UUID, *, lock: bool = False) -> Job:
    job = session.get(Job, job_id, with_for_update=lock)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def _rating_of(session: Session, job_id: uuid.UUID) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.job_id == job_id))


def feedback_request(uow: UnitOfWork, secret_key: str, token: str) -> FeedbackRequest:
    """Public: the visit a rating link is about, and whether it was rated already."""
    job_id = tokens.read(secret_key, token)
    with uow:
        job = _job(uow.session, job_id)
        product = uow.session.get(Product, job.product_id)
        technician = uow.session.get(Technician, job.technician_id) if job.technician_id else None
        return FeedbackRequest(
            job_reference=job.reference, job_type=job.type.value, product=product.name,
            technician=technician.name if technician else None, completed_at=job.completed_at,
            rated=_rating_of(uow.session, job.id) is not None,
        )


def _open_callback_item(session: Session, job: Job, rating: Rating) -> None:
    """A low rating puts a callback on the point's worklist, due within the deadline (once per job)."""
    if not rules.needs_callback(rating.score):
        return
    if session.scalar(select(CallbackItem.id).where(CallbackItem.job_id == job.id,
                                                    CallbackItem.reason == LOW_RATING)) is not None:
        return
    opened_at = utcnow()
    session.add(CallbackItem(job_id=job.id, service_point_id=job.service_point_id, rating_id=rating.id,
                             reason=LOW_RATING, score=rating.score, comment=rating.comment,
                             status=CallbackItemStatus.OPEN, opened_at=opened_at,
                             due_at=rules.callback_due_at(opened_at), attempts=0))


def submit_rating(uow: UnitOfWork, secret_key: str, token: str, *, score: int, comment: str = "") -> Rating:
    """Public: the customer rates a completed visit 1-5; once per job (a second try is 409). A
    rating of 2 or less opens a callback item on the point's worklist."""
    return _rate(uow, tokens.read(secret_key, token), score=score, comment=comment, source=RatingSource.LINK)


def rate_own_visit(uow: UnitOfWork, customer_id: uuid.UUID, job_id: uuid.UUID, *, score: int,
                   comment: str = "") -> Rating:
    """A signed-in customer rates their own completed visit (same rules as the link; another
    customer's job answers 404)."""
    return _rate(uow, job_id, score=score, comment=comment, source=RatingSource.ACCOUNT, owner=customer_id)


def _rate(uow: UnitOfWork, job_id: uuid.UUID, *, score: int, comment: str, source: RatingSource,
          owner: uuid.UUID | None = None) -> Rating:
    with uow:
        job = _job(uow.session, job_id, lock=True)
        if owner is not None and job.customer_id != owner:
            raise NotFound(f"job {job_id} does not exist")
        if job.status not in RATEABLE:
            raise Conflict("job {reference} is {status}; only completed visits are rated",
                           params={"reference": job.reference, "status": job.status.value},
                           current=job.status.value)
        if _rating_of(uow.session, job.id) is not None:
            raise Conflict("job {reference} has been rated already", params={"reference": job.reference})
        rating = Rating(id=uuid.uuid4(), job_id=job.id, score=score, comment=comment.strip(),
                        source=source, created_at=utcnow())
        uow.session.add(rating)
        _open_callback_item(uow.session, job, rating)
        uow.commit()  # the unique job_id turns a concurrent second rating into Conflict
        return rating


def rating_of(uow: UnitOfWork, job_id: uuid.UUID) -> Rating | None:
    with uow:
        return _rating_of(uow.session, job_id)


def record_callback(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *, outcome: CallbackOutcome,
                    satisfied: bool | None = None, score: int | None = None, comment: str = "") -> Callback:
    """The call centre (HQ admin) or the job's point's manager logs a follow-up call.

    A score given on the phone becomes the job's rating unless the customer rated already
    through the link (the customer's own rating wins; the call keeps its score for the record);
    a low one opens a callback item. The call counts as an attempt on the job's open items, and
    one that reaches the customer closes them.
    """
    actor.require(Role.ADMIN, Role.MANAGER)
    if outcome != CallbackOutcome.REACHED and (score is not None or satisfied is not None):
        raise ValidationFailed("score" if score is not None else "satisfied",
                               f"only a reached customer gives an answer (outcome was {outcome.value})")
    with uow:
        job = _job(uow.session, job_id, lock=True)
        actor.ensure_point(job.service_point_id, f"job {job_id}")
        if job.status not in RATEABLE:
            raise Conflict(f"job {job.reference} is {job.status.value}; callbacks follow completed visits",
                           current=job.status.value)
        now = utcnow()
        callback = Callback(id=uuid.uuid4(), job_id=job.id, outcome=outcome, satisfied=satisfied, score=score,
                            comment=comment.strip(), actor_id=actor.user_id, at=now)
        uow.session.add(callback)
        uow.session.flush()
        items = uow.session.scalars(select(CallbackItem).where(CallbackItem.job_id == job.id,
                                                               CallbackItem.status == CallbackItemStatus.OPEN)
                                    .with_for_update()).all()
        for item in items:
            item.attempts += 1
            if outcome == CallbackOutcome.REACHED:
                item.status, item.closed_at, item.callback_id = CallbackItemStatus.DONE, now, callback.id
        if score is not None and _rating_of(uow.session, job.id) is None:
            rating = Rating(id=uuid.uuid4(), job_id=job.id, score=score, comment=comment.strip(),
                            source=RatingSource.CALLBACK, recorded_by=actor.user_id, created_at=now)
            uow.session.add(rating)
            _open_callback_item(uow.session, job, rating)
        uow.commit()
        return callback


def list_callbacks(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID) -> list[Callback]:
    """The calls made about a job: HQ, and the job's own point."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        job = _job(uow.session, job_id)
        actor.ensure_point(job.service_point_id, f"job {job_id}")
        return list(uow.session.scalars(select(Callback).where(Callback.job_id == job.id).order_by(Callback.at)))


def list_ratings(uow: UnitOfWork, actor: Principal, *, service_point_id: uuid.UUID | None = None,
                 technician_id: uuid.UUID | None = None, max_score: int | None = None,
                 offset: int = 0, limit: int = 50) -> tuple[list[Rating], int]:
    """Ratings, newest first; ``max_score`` finds the unhappy customers to call back."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        query = select(Rating).join(Job, Job.id == Rating.job_id)
        point = actor.point_filter() or service_point_id
        if point is not None:
            query = query.where(Job.service_point_id == point)
        if technician_id is not None:
            query = query.where(Job.technician_id == technician_id)
        if max_score is not None:
            query = query.where(Rating.score <= max_score)
        return page(uow.session, query.options(selectinload(Rating.job)).order_by(Rating.created_at.desc(), Rating.id),
                    offset=offset, limit=limit)


# --- the points' callback worklist ------------------------------------------------------------


def callback_worklist(uow: UnitOfWork, actor: Principal, *, status: CallbackItemStatus | None = None,
                      overdue: bool | None = None, service_point_id: uuid.UUID | None = None,
                      offset: int = 0, limit: int = 50) -> tuple[list[CallbackItem], int]:
    """The callbacks owed to unhappy customers, the earliest due first (a manager: their point's)."""
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    now = utcnow()
    with uow:
        query = select(CallbackItem)
        point = actor.point_filter() or service_point_id
        if point is not None:
            query = query.where(CallbackItem.service_point_id == point)
        if status is not None:
            query = query.where(CallbackItem.status == status)
        if overdue is not None:
            late = (CallbackItem.status == CallbackItemStatus.OPEN) & (CallbackItem.due_at < now)
            query = query.where(late if overdue else ~late)
        return page(uow.session, query.options(selectinload(CallbackItem.job)).order_by(CallbackItem.due_at, CallbackItem.id),
                    offset=offset, limit=limit)


# --- the rating link, for the point ---------------------------------------------------------------

DELIVER_TASK = "workers.care_tasks.deliver_notifications"


@dataclass(frozen=True)
class RatingLink:
    """A job's rating link as the manager sees it, with the messages that carried it."""

    job_id: uuid.UUID
    job_reference: str
    url: str | None  # None until the visit is completed
    expires_at: datetime | None
    rated: bool
    messages: list[Notification]


def _point_job(session: Session, actor: Principal, job_id: uuid.UUID, *, lock: bool = False) -> Job:
    actor.require(Role.ADMIN, Role.MANAGER)
    job = _job(session, job_id, lock=lock)
    actor.ensure_point(job.service_point_id, f"job {job_id}")
    return job


def _rateable_job(session: Session, actor: Principal, job_id: uuid.UUID, *, lock: bool = False) -> Job:
    job = _point_job(session, actor, job_id, lock=lock)
    if job.status not in RATEABLE:
        raise Conflict(f"job {job.reference} is {job.status.value}; a rating link exists once the visit is completed",
                       current=job.status.value)
    return job


def _link(session: Session, job: Job, secret_key: str, link_base: str) -> RatingLink:
    messages = session.scalars(select(Notification).where(Notification.job_id == job.id,
                                                          Notification.template == Template.JOB_COMPLETED)
                               .order_by(Notification.created_at.desc(), Notification.id)).all()
    rateable = job.status in RATEABLE
    return RatingLink(job_id=job.id, job_reference=job.reference,
                      url=tokens.rating_url(link_base, tokens.issue(secret_key, job.id)) if rateable else None,
                      expires_at=utcnow() + tokens.FEEDBACK_LINK_TTL if rateable else None,
                      rated=_rating_of(session, job.id) is not None, messages=list(messages))


def rating_link(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *, secret_key: str,
                link_base: str = tokens.FEEDBACK_LINK_BASE) -> RatingLink:
    """The job's rating link (freshly signed) for the point's manager or HQ, to read out or forward;
    no link (``url`` None) before the visit is completed."""
    with uow:
        return _link(uow.session, _point_job(uow.session, actor, job_id), secret_key, link_base)


def resend_rating_link(uow: UnitOfWork, tasks: TaskQueue, actor: Principal, job_id: uuid.UUID, *, secret_key: str,
                       link_base: str = tokens.FEEDBACK_LINK_BASE) -> RatingLink:
    """Text the customer the rating link again (replacing an unsent one) and deliver it at once."""
    with uow:
        job = _rateable_job(uow.session, actor, job_id, lock=True)
        if _rating_of(uow.session, job.id) is not None:
            raise Conflict(f"job {job.reference} has been rated already")
        customer = uow.session.get(Customer, job.customer_id) if job.customer_id else None
        if customer is None:
            raise Conflict(f"job {job.reference} has no customer to send the link to")
        product = uow.session.get(Product, job.product_id)
        notifications.notify_customer(uow.session, customer, Template.JOB_COMPLETED, {
            "job_id": str(job.id), "reference": job.reference, "job_type": job.type.value,
            "product": product.name if product else "", "resent_by": actor.username,
        }, job_id=job.id, service_point_id=job.service_point_id)
        uow.session.flush()
        task_id = f"deliver-notifications-{job.id.hex}-{utcnow():%Y%m%d%H%M%S%f}"
        uow.after_commit(lambda: tasks.enqueue(DELIVER_TASK, task_id=task_id, queue="notifications"))
        uow.commit()
    with uow:
        return _link(uow.session, _job(uow.session, job_id), secret_key, link_base)
