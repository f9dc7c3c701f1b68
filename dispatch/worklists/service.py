"""The worklists of a point's manager and of HQ: callbacks (回访) after completed visits and low
ratings, filter-change reminder calls, expiring certificates, complaints near their time limit,
warranty claims waiting for the old part, technicians' skills due for their periodic assessment
(考核) or for the re-assessment after a fail.

:func:`refresh` (the cron task, idempotent) opens an item for each new occasion and clears the
ones whose reason went away; :func:`list_items` is the list, earliest due first; :func:`complete`
is "done, with outcome": it takes the item off the list and records the outcome (for a callback,
the customer's answer as the visit's callback).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch import i18n
from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.care import feedback
from dispatch.care import rules as care_rules
from dispatch.care.enums import CallbackItemStatus, CallbackOutcome, ComplaintOwner
from dispatch.care.models import Callback, CallbackItem, Complaint, MaintenancePlan
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.i18n import N_
from dispatch.jobs.models import Job
from dispatch.jobs.rules import JobStatus
from dispatch.network.models import Certification, Skill, SkillHold, Technician, Unit
from dispatch.stock.enums import ClaimStatus
from dispatch.stock.models import WarrantyClaim
from dispatch.training.models import Assessment
from dispatch.uow import UnitOfWork
from dispatch.worklists import rules
from dispatch.worklists.enums import WorklistKind, WorklistOutcome, WorklistQueue, WorklistStatus
from dispatch.worklists.models import WorklistItem

WORKERS = (Role.ADMIN, Role.MANAGER)
READERS = (Role.ADMIN, Role.REVIEWER, Role.MANAGER)
REFRESH_TASK = "workers.worklist_tasks.refresh_worklists"


@dataclass(frozen=True)
class Occasion:
    """Something owed right now, as a source sees it (the item's identity and facts)."""

    kind: WorklistKind
    subject_id: uuid.UUID
    cycle: str
    service_point_id: uuid.UUID | None
    queue: WorklistQueue
    title: Title
    due_at: datetime
    job_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None

    @property
    def key(self) -> tuple[WorklistKind, uuid.UUID, str]:
        return self.kind, self.subject_id, self.cycle


class Title:
    """An item's title as a message id of the gettext catalogues and its values: stored with the
    item and written in the reader's language (:func:`title_in`); the English text is kept too."""

    def __init__(self, msgid: str, **params: object) -> None:
        self.msgid, self.params = msgid, {name: str(value) for name, value in params.items()}

    def english(self) -> str:
        return self.msgid.format(**self.params)


def title_in(item: WorklistItem, locale: str | None) -> str:
    """The item's title in ``locale`` (None: the English text stored with it)."""
    if locale is None or item.title_msgid is None:
        return item.title
    return i18n.gettext(locale, item.title_msgid, **(item.title_params or {}))


def _queue(point: uuid.UUID | None) -> WorklistQueue:
    return WorklistQueue.POINT if point is not None else WorklistQueue.HQ


# --- the sources: what is owed now ------------------------------------------------------------


def _callbacks(session: Session, now: datetime, today: date, tz: ZoneInfo) -> Iterator[Occasion]:
    reached = select(Callback.job_id).where(Callback.outcome == CallbackOutcome.REACHED)
    jobs = session.execute(
        select(Job.id, Job.reference, Job.service_point_id, Job.customer_id, Job.completed_at)
        .where(Job.status.in_((JobStatus.COMPLETED, JobStatus.CLOSED)), Job.completed_at.is_not(None),
               Job.completed_at >= now - timedelta(days=rules.CALLBACK_LOOKBACK_DAYS), Job.id.not_in(reached)))
    for job_id, reference, point, customer, completed_at in jobs:
        yield Occasion(WorklistKind.CALLBACK, job_id, "completed", point, _queue(point),
                       Title(N_("Follow-up call after visit {reference}"), reference=reference),
                       rules.callback_due_at(completed_at), job_id=job_id, customer_id=customer)
    low = session.execute(
        select(CallbackItem.id, CallbackItem.job_id, CallbackItem.service_point_id, CallbackItem.score,
               CallbackItem.due_at, Job.reference, Job.customer_id)
        .join(Job, Job.id == CallbackItem.job_id).where(CallbackItem.status == CallbackItemStatus.OPEN))
    for item_id, job_id, point, score, due_at, reference, customer in low:
        yield Occasion(WorklistKind.LOW_RATING_CALLBACK, item_id, "open", point, _queue(point),
                       Title(N_("Call back: visit {reference} rated {score}/5"), reference=reference,
                             score=score), due_at, job_id=job_id, customer_id=customer)


def _reminders(session: Session, now: datetime, today: date, tz: ZoneInfo) -> Iterator[Occasion]:
    plans = session.execute(
        select(MaintenancePlan.id, MaintenancePlan.next_due_on, MaintenancePlan.service_point_id, Unit.serial,
               Unit.customer_id)
        .join(Unit, Unit.id == MaintenancePlan.unit_id)
        .where(MaintenancePlan.active.is_(True), Unit.customer_id.is_not(None),
               MaintenancePlan.next_due_on >= today,
               MaintenancePlan.next_due_on <= today + timedelta(days=rules.REMINDER_HORIZON_DAYS)))
    for plan_id, due_on, point, serial, customer in plans:
        yield Occasion(WorklistKind.FILTER_REMINDER, plan_id, due_on.isoformat(), point, _queue(point),
                       Title(N_("Remind the customer: filter change of {serial} due {due_on}"), serial=serial,
                             due_on=due_on.isoformat()),
                       rules.reminder_due_at(due_on, tz), customer_id=customer)


def _certificates(session: Session, now: datetime, today: date, tz: ZoneInfo) -> Iterator[Occasion]:
    certificates = session.execute(
        select(Certification.id, Certification.name, Certification.expires_on, Technician.name,
               Technician.service_point_id)
        .join(Technician, Technician.id == Certification.technician_id)
        .where(Technician.active.is_(True), Certification.expires_on >= today,
               Certification.expires_on <= today + timedelta(days=rules.CERTIFICATE_HORIZON_DAYS)))
    for cert_id, name, expires_on, technician, point in certificates:
        yield Occasion(WorklistKind.CERTIFICATE_EXPIRY, cert_id, expires_on.isoformat(), point, _queue(point),
                       Title(N_("{technician}: certificate {name} expires {expires_on}"), technician=technician,
                             name=name, expires_on=expires_on.isoformat()),
                       rules.certificate_due_at(expires_on, tz))


def _complaints(session: Session, now: datetime, today: date, tz: ZoneInfo) -> Iterator[Occasion]:
    complaints = session.execute(
        select(Complaint.id, Complaint.reference, Complaint.summary, Complaint.due_at, Complaint.owner,
               Complaint.service_point_id, Complaint.job_id, Complaint.customer_id)
        .where(Complaint.status.in_(care_rules.OPEN_COMPLAINT),
               Complaint.due_at <= now + timedelta(hours=rules.COMPLAINT_HORIZON_HOURS)))
    for complaint_id, reference, summary, due_at, owner, point, job_id, customer in complaints:
        queue = WorklistQueue.POINT if owner == ComplaintOwner.POINT else WorklistQueue.HQ
        yield Occasion(WorklistKind.COMPLAINT_DEADLINE, complaint_id, f"{due_at:%Y%m%dT%H%M}-{queue.value}", point,
                       queue, Title(N_("Complaint {reference}: {summary}"), reference=reference,
                             summary=summary[:150]), due_at, job_id=job_id, customer_id=customer)


def _claims(session: Session, now: datetime, today: date, tz: ZoneInfo) -> Iterator[Occasion]:
    claims = session.execute(
        select(WarrantyClaim.id, WarrantyClaim.service_point_id, WarrantyClaim.job_id, WarrantyClaim.created_at,
               Job.reference)
        .join(Job, Job.id == WarrantyClaim.job_id)
        .where(WarrantyClaim.status != ClaimStatus.REJECTED, WarrantyClaim.return_received_at.is_(None),
               WarrantyClaim.return_waived_at.is_(None)))
    for claim_id, point, job_id, filed_at, reference in claims:
        yield Occasion(WorklistKind.CLAIM_OLD_PART, claim_id, "return", point, _queue(point),
                       Title(N_("Send the old part of the warranty claim on {reference} to HQ"), reference=reference),
                       rules.old_part_due_at(filed_at), job_id=job_id)


def _assessments(session: Session, now: datetime, today: date, tz: ZoneInfo) -> Iterator[Occasion]:
    """Skills whose periodic assessment falls due within the horizon (or is overdue), and skills a
    failed assessment withdrew, due for re-assessment. Recording the assessment moves the due day
    (or lifts the withdrawal), so the item clears at the next refresh."""
    horizon = today + timedelta(days=rules.ASSESSMENT_HORIZON_DAYS)
    last = (select(Assessment.technician_id, Assessment.category, Assessment.job_type,
                   func.max(Assessment.assessed_on).label("assessed_on"))
            .group_by(Assessment.technician_id, Assessment.category, Assessment.job_type).subquery())
    held_skills = session.execute(
        select(Skill.technician_id, Skill.category, Skill.job_type, last.c.assessed_on, Technician.name,
               Technician.service_point_id)
        .join(Technician, Technician.id == Skill.technician_id)
        .join(last, (last.c.technician_id == Skill.technician_id) & (last.c.category == Skill.category)
              & (last.c.job_type == Skill.job_type))
        .where(Technician.active.is_(True)))
    for technician_id, category, job_type, assessed_on, technician, point in held_skills:
        due_on = rules.assessment_due_on(assessed_on)
        if due_on <= horizon:
            yield Occasion(WorklistKind.ASSESSMENT_DUE, technician_id, f"{category}:{job_type}:{due_on}", point,
                           _queue(point), Title(N_("{technician}: periodic assessment of {skill} due {due_on}"),
                                                technician=technician, skill=f"{category}:{job_type}",
                                                due_on=due_on.isoformat()),
                           rules.assessment_due_at(due_on, tz))
    withdrawn = session.execute(
        select(SkillHold.technician_id, SkillHold.category, SkillHold.job_type, SkillHold.since, Technician.name,
               Technician.service_point_id)
        .join(Technician, Technician.id == SkillHold.technician_id).where(Technician.active.is_(True)))
    for technician_id, category, job_type, since, technician, point in withdrawn:
        due_on = rules.reassessment_due_on(since.astimezone(tz).date())
        title = Title(N_("{technician}: re-assessment of {skill} after a failed one, due {due_on}"),
                      technician=technician, skill=f"{category}:{job_type}", due_on=due_on.isoformat())
        yield Occasion(WorklistKind.ASSESSMENT_DUE, technician_id, f"re:{category}:{job_type}:{due_on}", point,
                       _queue(point), title, rules.assessment_due_at(due_on, tz))


SOURCES = (_callbacks, _reminders, _certificates, _complaints, _claims, _assessments)


# --- the refresh task -------------------------------------------------------------------------


def refresh(uow: UnitOfWork, *, tz: ZoneInfo) -> dict[str, int]:
    """Open an item for every new occasion and clear the open items no source owes any more.

    Idempotent: an occasion already on the list (open or done) is never opened twice; running it
    again changes nothing.
    """
    with uow:
        counts = refresh_in(uow.session, tz=tz)
        uow.commit()
        return counts


def refresh_in(session: Session, *, tz: ZoneInfo) -> dict[str, int]:
    """:func:`refresh` in the caller's transaction (the demo seed uses it)."""
    now = utcnow()
    today = now.astimezone(tz).date()
    owed = {occasion.key: occasion for source in SOURCES for occasion in source(session, now, today, tz)}
    known = {(row.kind, row.subject_id, row.cycle): row for row in session.scalars(
        select(WorklistItem).where(WorklistItem.status == WorklistStatus.OPEN))}
    cleared = 0
    for key, row in known.items():
        if key not in owed and not _still_owed_outside_window(session, row):
            row.status, row.closed_at = WorklistStatus.CLEARED, now
            cleared += 1
    candidates = [o for key, o in owed.items() if key not in known]
    existing = _existing_keys(session, candidates)
    opened = 0
    for occasion in candidates:
        if occasion.key in existing:
            continue
        try:
            with session.begin_nested():  # a concurrent run opened it first: keep theirs, go on
                session.add(WorklistItem(
                    kind=occasion.kind, subject_id=occasion.subject_id, cycle=occasion.cycle,
                    service_point_id=occasion.service_point_id, queue=occasion.queue, job_id=occasion.job_id,
                    customer_id=occasion.customer_id, title=occasion.title.english()[:200],
                    title_msgid=occasion.title.msgid, title_params=occasion.title.params, due_at=occasion.due_at,
                    status=WorklistStatus.OPEN, created_at=now))
        except IntegrityError:
            continue
        opened += 1
    return {"opened": opened, "cleared": cleared}


def _still_owed_outside_window(session: Session, row: WorklistItem) -> bool:
    """A follow-up call keeps its place on the list after the look-back window passes, until done."""
    return row.kind == WorklistKind.CALLBACK and session.scalar(
        select(func.count()).select_from(Callback)
        .where(Callback.job_id == row.subject_id, Callback.outcome == CallbackOutcome.REACHED)) == 0


def _existing_keys(session: Session, candidates: list[Occasion]) -> set[tuple[WorklistKind, uuid.UUID, str]]:
    """The candidates that are on the list already, done or cleared (never reopened)."""
    keys: set[tuple[WorklistKind, uuid.UUID, str]] = set()
    subjects = sorted({o.subject_id for o in candidates})
    for start in range(0, len(subjects), 500):
        keys.update(session.execute(select(WorklistItem.kind, WorklistItem.subject_id, WorklistItem.cycle)
                                    .where(WorklistItem.subject_id.in_(subjects[start:start + 500]))).all())
    return keys


def request_refresh(uow: UnitOfWork, actor: Principal, tasks, *, tz: ZoneInfo) -> dict[str, str]:
    """HQ refreshes the lists now (e.g. after a bulk change) instead of waiting for the cron run."""
    actor.require(Role.ADMIN)
    task_id = f"worklists-refresh-{utcnow():%Y%m%dT%H%M%S}"
    with uow:
        audit_log.append(uow.session, kind="worklists.refresh_requested", subject_id=task_id, payload={},
                         actor_id=actor.user_id)
        uow.after_commit(lambda: tasks.enqueue(REFRESH_TASK, task_id=task_id, queue="default"))
        uow.commit()
    return {"task_id": task_id}


# --- reading and working the lists ------------------------------------------------------------


def _visible(query, actor: Principal):
    """A manager sees their point's list (not what HQ's desk holds about their point)."""
    if actor.is_hq:
        return query
    return query.where(WorklistItem.service_point_id == actor.service_point_id,
                       WorklistItem.queue == WorklistQueue.POINT)


def list_items(uow: UnitOfWork, actor: Principal, *, kind: WorklistKind | None = None,
               status: WorklistStatus = WorklistStatus.OPEN, queue: WorklistQueue | None = None,
               service_point_id: uuid.UUID | None = None, overdue: bool | None = None,
               due_before: datetime | None = None, offset: int = 0,
               limit: int = 50) -> tuple[list[WorklistItem], int]:
    """One list (``kind``) or all of them, earliest due first."""
    actor.require(*READERS)
    now = utcnow()
    with uow:
        query = _visible(select(WorklistItem).where(WorklistItem.status == status), actor)
        if service_point_id is not None:
            query = query.where(WorklistItem.service_point_id == service_point_id)
        if kind is not None:
            query = query.where(WorklistItem.kind == kind)
        if queue is not None:
            query = query.where(WorklistItem.queue == queue)
        if overdue is not None:
            query = query.where(WorklistItem.due_at < now if overdue else WorklistItem.due_at >= now)
        if due_before is not None:
            query = query.where(WorklistItem.due_at < due_before)
        return page(uow.session, query.order_by(WorklistItem.due_at, WorklistItem.id), offset=offset, limit=limit)


def summary(uow: UnitOfWork, actor: Principal, *,
            service_point_id: uuid.UUID | None = None) -> list[dict[str, object]]:
    """Per list: how many items are open and how many of them are overdue."""
    actor.require(*READERS)
    now = utcnow()
    with uow:
        late = func.sum(case((WorklistItem.due_at < now, 1), else_=0))
        query = _visible(select(WorklistItem.kind, func.count(), func.min(WorklistItem.due_at), late)
                         .where(WorklistItem.status == WorklistStatus.OPEN), actor)
        if service_point_id is not None:
            query = query.where(WorklistItem.service_point_id == service_point_id)
        counts = {kind: (n, first, int(overdue or 0)) for kind, n, first, overdue in
                  uow.session.execute(query.group_by(WorklistItem.kind))}
        return [dict(zip(("kind", "open", "next_due_at", "overdue"), (kind, *counts.get(kind, (0, None, 0)))))
                for kind in WorklistKind]


def get_item(uow: UnitOfWork, actor: Principal, item_id: uuid.UUID) -> WorklistItem:
    actor.require(*READERS)
    with uow:
        return _item(uow.session, actor, item_id)


def _item(session: Session, actor: Principal, item_id: uuid.UUID, *, lock: bool = False) -> WorklistItem:
    query = select(WorklistItem).where(WorklistItem.id == item_id)
    item = session.scalar(query.with_for_update() if lock else query)
    if item is None or not actor.sees_point(item.service_point_id) or (
            not actor.is_hq and item.queue != WorklistQueue.POINT):
        raise NotFound(f"worklist item {item_id} does not exist")
    return item


def complete(uow: UnitOfWork, actor: Principal, item_id: uuid.UUID, *, outcome: WorklistOutcome, note: str = "",
             satisfied: bool | None = None, score: int | None = None) -> WorklistItem:
    """Done, with outcome: the item leaves the list. A callback's call is also recorded as the
    visit's callback, with the customer's answer when they were reached (their score becomes the
    visit's rating when they had not rated it)."""
    actor.require(*WORKERS)
    note = note.strip()
    with uow:
        session = uow.session
        item = _item(session, actor, item_id, lock=True)
        if item.status != WorklistStatus.OPEN:
            raise Conflict(f"worklist item {item_id} is {item.status.value} already", current=item.status.value)
        if outcome not in rules.allowed_outcomes(item.kind):
            allowed = ", ".join(sorted(o.value for o in rules.allowed_outcomes(item.kind)))
            raise ValidationFailed("outcome", f"a {item.kind.value} item ends with one of: {allowed}")
        answered = satisfied is not None or score is not None
        if answered and item.kind not in rules.CALLBACK_KINDS:
            raise ValidationFailed("satisfied" if satisfied is not None else "score",
                                   "only a callback records the customer's answer")
        if outcome == WorklistOutcome.NOT_NEEDED and not note:
            raise ValidationFailed("note", "say why nothing was needed")
        if item.kind in rules.CALLBACK_KINDS and outcome != WorklistOutcome.NOT_NEEDED:
            callback = feedback.log_callback(session, actor, item.job_id, outcome=CallbackOutcome(outcome.value),
                                             satisfied=satisfied, score=score, comment=note)
            item.callback_id = callback.id
        now = utcnow()
        item.status, item.outcome, item.note = WorklistStatus.DONE, outcome, note
        item.closed_at, item.closed_by = now, actor.user_id
        audit_log.append(session, kind="worklist.done", subject_id=item.id, actor_id=actor.user_id,
                         payload={"kind": item.kind.value, "subject_id": str(item.subject_id),
                                  "outcome": outcome.value, "note": note, "satisfied": satisfied, "score": score})
        uow.commit()
        return item
