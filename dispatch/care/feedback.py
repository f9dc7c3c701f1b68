"""Customer follow-up: ratings through the signed link, and the call centre's callbacks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.care import tokens
from dispatch.care.models import Callback, CallbackOutcome, Rating, RatingSource
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Product, Technician
from dispatch.uow import UnitOfWork

RATEABLE = frozenset({JobStatus.COMPLETED, JobStatus.CLOSED})


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


def submit_rating(uow: UnitOfWork, secret_key: str, token: str, *, score: int, comment: str = "") -> Rating:
    """Public: the customer rates a completed visit 1-5; once per job (a second try is 409)."""
    job_id = tokens.read(secret_key, token)
    with uow:
        job = _job(uow.session, job_id, lock=True)
        if job.status not in RATEABLE:
            raise Conflict(f"job {job.reference} is {job.status.value}; only completed visits are rated",
                           current=job.status.value)
        if _rating_of(uow.session, job.id) is not None:
            raise Conflict(f"job {job.reference} has been rated already")
        rating = Rating(job_id=job.id, score=score, comment=comment.strip(), source=RatingSource.LINK)
        uow.session.add(rating)
        uow.commit()  # the unique job_id turns a concurrent second rating into Conflict
        return rating


def record_callback(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, *, outcome: CallbackOutcome,
                    satisfied: bool | None = None, score: int | None = None, comment: str = "") -> Callback:
    """The call centre (HQ admin) logs a follow-up call.

    A score given on the phone becomes the job's rating unless the customer rated already
    through the link (the customer's own rating wins; the call keeps its score for the record).
    """
    actor.require(Role.ADMIN)
    if outcome != CallbackOutcome.REACHED and (score is not None or satisfied is not None):
        raise ValidationFailed("score" if score is not None else "satisfied",
                               f"only a reached customer gives an answer (outcome was {outcome.value})")
    with uow:
        job = _job(uow.session, job_id, lock=True)
        if job.status not in RATEABLE:
            raise Conflict(f"job {job.reference} is {job.status.value}; callbacks follow completed visits",
                           current=job.status.value)
        callback = Callback(job_id=job.id, outcome=outcome, satisfied=satisfied, score=score,
                            comment=comment.strip(), actor_id=actor.user_id)
        uow.session.add(callback)
        if score is not None and _rating_of(uow.session, job.id) is None:
            uow.session.add(Rating(job_id=job.id, score=score, comment=comment.strip(),
                                   source=RatingSource.CALLBACK, recorded_by=actor.user_id))
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
        total = uow.session.scalar(select(func.count()).select_from(query.subquery()))
        items = uow.session.scalars(
            query.options(selectinload(Rating.job)).order_by(Rating.created_at.desc(), Rating.id)
            .offset(offset).limit(limit)
        ).all()
        return list(items), total
