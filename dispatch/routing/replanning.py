"""Real-time re-planning: the day goes wrong, one call proposes the rest of it anew, the manager confirms.

Four things go wrong (``kind``):

- ``technician_unavailable``: a technician falls ill or leaves mid-day. Their remaining visits go to
  others or are flagged with reasons; a visit they were on site for is flagged (someone must go
  back). A crew job they *help* on keeps its lead and booked time with a new helper free on site
  then, else moves whole to a lead and helper free together, else is flagged (``no_crew``); one
  under way is flagged (``helper_left_under_way``) and put on hold. Confirming records their
  leave for the rest of the day and books every member of each moved crew.
- ``overrun``: a visit on site takes ``extra_minutes`` longer. The rest of that technician's day
  shifts; whatever would then break a window or shift is moved to someone else or flagged.
- ``no_show``: the customer is not there. Confirming closes the visit as a no-show (cancelled with
  that outcome: a callback is opened on the point's worklist) and the day tightens: the
  technician goes on from that site.
- ``emergency``: a dispatched job must be fitted in today, meeting its SLA due time when anyone can.

The proposal re-plans the rest of today from the technicians' calendars (the one source of truth):
the solver starts from the booked routes and pays the planner's reassignment cost for every visit
it moves to another technician, so the least disruptive re-plan wins; work under way stays pinned.
Nothing is written to any job until the manager confirms, and confirming refuses (409) when a job
of the proposal changed meanwhile. Customers hear of a new time only then: scheduling and
unscheduling a job notify its customer (the care hooks), one message per job.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch import geo
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import Conflict, InvalidTransition, NotFound, RuleViolation, ServiceUnavailable, ValidationFailed
from dispatch.jobs import calendar
from dispatch.jobs import crews as job_crews
from dispatch.jobs import service as jobs_service
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import ServicePoint, ShiftException, ShiftExceptionKind
from dispatch.network.models import Technician as TechnicianRow
from dispatch.routing import GreatCircleMatrix, Location, Pin, RoutingProblem
from dispatch.routing.day import read_day
from dispatch.routing.deadline import SolveCrashed, SolveTimeout, solve_within
from dispatch.routing.models import Replan, ReplanStatus
from dispatch.routing.service import PLANNERS
from dispatch.routing.views import READERS, load_point
from dispatch.uow import UnitOfWork

UNDER_WAY = (JobStatus.EN_ROUTE, JobStatus.ON_SITE)


class Kind(StrEnum):
    TECHNICIAN_UNAVAILABLE = "technician_unavailable"
    OVERRUN = "overrun"
    NO_SHOW = "no_show"
    EMERGENCY = "emergency"


@dataclasses.dataclass(frozen=True)
class _Input:
    problem: RoutingProblem | None
    initial: dict[str, list[str]]
    flagged: list[dict[str, Any]]
    versions: dict[str, int]


def _require_planner(actor: Principal) -> None:
    actor.require(*PLANNERS)


def _job_of_point(session, actor: Principal, point: ServicePoint, job_id: uuid.UUID | None) -> Job:
    if job_id is None:
        raise ValidationFailed("job_id", "this kind of re-plan is about a job")
    job = jobs_service.get_visible_job(session, actor, job_id, with_events=False)
    if job.service_point_id != point.id:
        raise ValidationFailed("job_id", "the job belongs to another service point")
    return job


def _check_subject(session, actor, point, kind: Kind, technician_id, job_id, extra_minutes) -> None:
    if kind == Kind.TECHNICIAN_UNAVAILABLE:
        if technician_id is None:
            raise ValidationFailed("technician_id", "say which technician is unavailable")
        row = session.get(TechnicianRow, technician_id)
        if row is None or row.service_point_id != point.id:
            raise ValidationFailed("technician_id", "not a technician of this service point")
        return
    job = _job_of_point(session, actor, point, job_id)
    wanted = {Kind.OVERRUN: (JobStatus.ON_SITE,), Kind.NO_SHOW: UNDER_WAY + (JobStatus.SCHEDULED,),
              Kind.EMERGENCY: (JobStatus.DISPATCHED,)}[kind]
    if job.status not in wanted:
        raise InvalidTransition(f"job {job.reference} is {job.status.value}; a {kind.value} re-plan needs it "
                                f"{' or '.join(s.value for s in wanted)}", current=job.status.value)
    if kind == Kind.OVERRUN and not extra_minutes:
        raise ValidationFailed("extra_minutes", "say how much longer the visit takes")


def _build(session, point: ServicePoint, day: date, tz: ZoneInfo, now: datetime, kind: Kind,
           technician_id: uuid.UUID | None, job_id: uuid.UUID | None, extra_minutes: int | None,
           time_limit_s: int) -> _Input:
    """The rest of the day as the planner sees it, with what went wrong applied to it."""
    planning = read_day(session, point, day, tz, now=now, time_limit_s=time_limit_s, seed=0,
                        meet_sla=(job_id,) if kind == Kind.EMERGENCY and job_id else ())
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    booked = session.scalars(
        select(Job).where(Job.service_point_id == point.id, Job.status.in_(calendar.BOOKED),
                          Job.scheduled_start >= midnight, Job.scheduled_start < midnight + timedelta(days=1))
        .order_by(Job.scheduled_start, Job.id)
    ).all()
    jobs = {str(job.id): job for job in booked}
    if kind == Kind.EMERGENCY:
        jobs[str(job_id)] = session.get(Job, job_id)
    versions = {key: job.version for key, job in jobs.items()}
    flagged: list[dict[str, Any]] = []
    problem = planning.problem
    if problem is None:
        return _Input(None, {}, flagged, versions)
    subject = str(job_id) if job_id else None
    gone = str(technician_id) if kind == Kind.TECHNICIAN_UNAVAILABLE else None
    technicians = [t for t in problem.technicians if t.id != gone]
    visits = []
    removed = None
    for visit in problem.visits:
        job = jobs.get(visit.id)
        if job is None:
            continue  # backlog not booked today: not part of the rest of this day
        pin = visit.pin
        if kind == Kind.TECHNICIAN_UNAVAILABLE and str(job.technician_id) == gone:
            if job.status == JobStatus.ON_SITE:
                flagged.append({"job_id": visit.id, "reason": "technician_left_on_site",
                                "detail": "the technician left during the visit; someone must go back"})
                continue
            pin = None
        if kind == Kind.TECHNICIAN_UNAVAILABLE and job.status in UNDER_WAY and gone in map(str, job.helper_ids):
            flagged.append({"job_id": visit.id, "reason": "helper_left_under_way",
                            "detail": f"a helper of the crew left while the job was {job.status.value}; "
                                      "the lead cannot finish it alone: send a helper or plan it again"})
            continue
        if visit.id == subject and kind == Kind.OVERRUN:
            visit = dataclasses.replace(visit, service_s=visit.service_s + extra_minutes * 60)
        if visit.id == subject and kind == Kind.NO_SHOW:
            removed = visit
            continue
        visits.append(dataclasses.replace(visit, pin=pin))
    if kind == Kind.NO_SHOW:  # the technician goes on from the customer's door; positions close up
        job = jobs[subject]
        owner = str(job.technician_id)
        technicians = [dataclasses.replace(t, start=Location(job.lat, job.lon)) if t.id == owner and job.lat is not None
                       else t for t in technicians]
        gap = removed.pin.position if removed is not None and removed.pin is not None else None
        if gap is not None:
            visits = [dataclasses.replace(v, pin=Pin(owner, position=v.pin.position - 1))
                      if v.pin and v.pin.technician_id == owner and v.pin.locked
                      and v.pin.position is not None and v.pin.position > gap else v
                      for v in visits]
    initial: dict[str, list[str]] = {}
    kept = {v.id for v in visits}
    for job in booked:
        if str(job.id) in kept and str(job.technician_id) != gone:
            initial.setdefault(str(job.technician_id), []).append(str(job.id))
    if not technicians:
        flagged += [{"job_id": v.id, "reason": "no_technician_on_shift", "detail": "nobody else works today"}
                    for v in visits]
        return _Input(None, initial, flagged, versions)
    speed = point.travel_speed_kmh or geo.DEFAULT_SPEED_KMH
    problem = RoutingProblem.build(technicians, visits, GreatCircleMatrix(circuity=geo.CIRCUITY, speed_kmh=speed))
    return _Input(problem, initial, flagged, versions)


def propose(uow: UnitOfWork, actor: Principal, point_id: uuid.UUID, *, kind: str,
            technician_id: uuid.UUID | None = None, job_id: uuid.UUID | None = None,
            extra_minutes: int | None = None, time_limit_s: int = 2, timezone: str) -> Replan:
    """Propose a re-plan of the rest of today; writes only the proposal."""
    _require_planner(actor)
    kind = Kind(kind)
    tz = ZoneInfo(timezone)
    now = utcnow()
    day = now.astimezone(tz).date()
    with uow:
        session = uow.session
        point = load_point(session, actor, point_id)
        _check_subject(session, actor, point, kind, technician_id, job_id, extra_minutes)
        built = _build(session, point, day, tz, now, kind, technician_id, job_id, extra_minutes, time_limit_s)
        uow.commit()
    result = None
    if built.problem is not None:
        try:
            result = solve_within(built.problem, time_limit_s, 0, built.initial)
        except (SolveTimeout, SolveCrashed) as exc:
            raise ServiceUnavailable(f"the planner did not answer: {exc}; nothing was changed, try again") from exc
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    with uow:
        session = uow.session
        jobs = {str(j.id): j for j in session.scalars(
            select(Job).where(Job.id.in_([uuid.UUID(k) for k in built.versions])).options(selectinload(Job.technician)))}
        moves, flagged = [], list(built.flagged)
        helpers: dict[str, list[str]] = {}  # a crew job's helpers, as the re-plan books them
        for route in result.routes if result else ():
            for stop in route.stops:
                if stop.helper:
                    helpers.setdefault(stop.visit_id, []).append(route.technician_id)
        for route in result.routes if result else ():
            for stop in route.stops:
                if stop.helper:
                    continue  # a helper's part of a crew job: it moves with its lead's stop
                job = jobs[stop.visit_id]
                start = midnight + timedelta(seconds=stop.start_s)
                if job.status in UNDER_WAY and (kind != Kind.TECHNICIAN_UNAVAILABLE
                                                 or job.technician_id != technician_id):
                    continue  # work under way stays where it is (unless its technician has gone)
                crew_before = sorted(str(h) for h in job.helper_ids)
                crew_after = sorted(helpers.get(stop.visit_id, []))
                if str(job.technician_id) == route.technician_id and job.scheduled_start == start \
                        and crew_before == crew_after:
                    continue
                moves.append({"job_id": stop.visit_id, "job_reference": job.reference,
                              "from_technician_id": str(job.technician_id) if job.technician_id else None,
                              "to_technician_id": route.technician_id,
                              "from_start": job.scheduled_start.astimezone(tz).isoformat()
                              if job.scheduled_start else None,
                              "to_start": start.isoformat(),
                              "from_helper_ids": crew_before, "to_helper_ids": crew_after})
        for item in result.unassigned if result else ():
            flagged.append({"job_id": item.visit_id, "reason": item.reason.value, "detail": item.detail})
        for item in flagged:
            item["job_reference"] = jobs[item["job_id"]].reference
        if kind == Kind.EMERGENCY and any(item["job_id"] == str(job_id) for item in flagged):
            detail = next(item["detail"] for item in flagged if item["job_id"] == str(job_id))
            raise RuleViolation(f"job {jobs[str(job_id)].reference} does not fit into the rest of the day: {detail}")
        replan = Replan(service_point_id=point_id, service_day=day, timezone=timezone, kind=kind.value,
                        technician_id=technician_id, job_id=job_id, extra_minutes=extra_minutes,
                        status=ReplanStatus.PROPOSED, moves=moves, flagged=flagged, versions=built.versions,
                        stats={"moved": len(moves), "flagged": len(flagged),
                               "reassigned": sum(m["from_technician_id"] not in (None, m["to_technician_id"])
                                                 for m in moves),
                               "travel_s": result.travel_s if result else 0},
                        requested_by=actor.user_id)
        session.add(replan)
        uow.commit()
        return replan


def _load(session, actor: Principal, replan_id: uuid.UUID, *, for_update: bool = False) -> Replan:
    query = select(Replan).where(Replan.id == replan_id)
    if for_update:
        query = query.with_for_update()
    replan = session.scalar(query)
    if replan is None:
        raise NotFound(f"re-plan {replan_id} does not exist")
    actor.ensure_point(replan.service_point_id, f"re-plan {replan_id}")
    return replan


def get_replan(uow: UnitOfWork, actor: Principal, replan_id: uuid.UUID) -> Replan:
    actor.require(*READERS)
    with uow:
        return _load(uow.session, actor, replan_id)


def discard(uow: UnitOfWork, actor: Principal, replan_id: uuid.UUID) -> Replan:
    _require_planner(actor)
    with uow:
        replan = _decidable(_load(uow.session, actor, replan_id, for_update=True))
        replan.status, replan.decided_by, replan.decided_at = ReplanStatus.DISCARDED, actor.user_id, utcnow()
        uow.commit()
        return replan


def _decidable(replan: Replan) -> Replan:
    if replan.status != ReplanStatus.PROPOSED:
        raise InvalidTransition(f"re-plan {replan.id} is {replan.status.value}", current=replan.status.value)
    return replan


def confirm(uow: UnitOfWork, actor: Principal, replan_id: uuid.UUID) -> Replan:
    """Apply the proposal in one transaction: what went wrong (leave, longer visit, no-show), the
    moved visits (their customers get the new time), the flagged ones back to the point's planning
    (their customers' announced times are withdrawn). 409 when the day changed since the proposal."""
    _require_planner(actor)
    with uow:
        session = uow.session
        replan = _decidable(_load(session, actor, replan_id, for_update=True))
        tz = ZoneInfo(replan.timezone)
        now = utcnow()
        if now.astimezone(tz).date() != replan.service_day:
            raise InvalidTransition(f"re-plan {replan.id} was for {replan.service_day.isoformat()}", current="past")
        ids = [uuid.UUID(k) for k in replan.versions]
        jobs = {str(j.id): j for j in session.scalars(
            select(Job).where(Job.id.in_(ids)).options(selectinload(Job.product)).with_for_update())}
        changed = sorted(j.reference for k, j in jobs.items() if j.version != replan.versions[k])
        if changed or len(jobs) != len(ids):
            replan.status = ReplanStatus.SUPERSEDED
            uow.commit()
            raise Conflict(f"{len(changed)} job(s) changed since the re-plan was proposed; propose again",
                           changed_jobs=changed)
        reason = f"re-plan {replan.id} ({replan.kind})"
        kind = Kind(replan.kind)
        subject = jobs.get(str(replan.job_id)) if replan.job_id else None
        if kind == Kind.TECHNICIAN_UNAVAILABLE:
            local = now.astimezone(tz)
            session.add(ShiftException(technician_id=replan.technician_id, on=replan.service_day,
                                       kind=ShiftExceptionKind.LEAVE, start=local.time().replace(second=0, microsecond=0),
                                       end=time(23, 59), reason=f"unavailable from {local:%H:%M} ({reason})"))
        elif kind == Kind.OVERRUN:
            subject.duration_minutes += replan.extra_minutes
            subject.scheduled_end += timedelta(minutes=replan.extra_minutes)
        elif kind == Kind.NO_SHOW:
            jobs_service.apply_transition(session, subject, JobStatus.CANCELLED, actor,
                                          reason="customer no-show", data={"outcome": "no_show"})
        for item in replan.flagged:
            job = jobs[item["job_id"]]
            if job.status == JobStatus.SCHEDULED:
                jobs_service.apply_transition(session, job, JobStatus.DISPATCHED, actor,
                                              reason=f"{reason}: {item['detail']}")
            elif job.status in UNDER_WAY:
                jobs_service.apply_transition(session, job, JobStatus.ON_HOLD, actor,
                                              reason=f"{reason}: {item['detail']}")
        members = {uuid.UUID(t) for m in replan.moves for t in (m["to_technician_id"], *m.get("to_helper_ids", ()))}
        technicians = {row.id: row for row in session.scalars(
            select(TechnicianRow).where(TechnicianRow.id.in_(members))
            .options(selectinload(TechnicianRow.skills), selectinload(TechnicianRow.certifications),
                     selectinload(TechnicianRow.shifts), selectinload(TechnicianRow.shift_exceptions)))}
        for technician_id in sorted(technicians):
            calendar.lock(session, technician_id)
        booked: dict[uuid.UUID, list[uuid.UUID]] = {}
        for move in replan.moves:
            job = jobs[move["job_id"]]
            technician = technicians[uuid.UUID(move["to_technician_id"])]
            start = datetime.fromisoformat(move["to_start"])
            crew = [technicians[uuid.UUID(t)] for t in move.get("to_helper_ids", ())]
            if job.status == JobStatus.SCHEDULED and job.technician_id == technician.id \
                    and job.scheduled_start == start:  # the same visit, another helper: the customer's time stands
                job_crews.change_helpers(session, job, crew, actor, reason=reason, tz=tz)
            else:
                if job.status == JobStatus.EN_ROUTE:  # its technician has gone: hold it, then give it on
                    jobs_service.apply_transition(session, job, JobStatus.ON_HOLD, actor, reason=reason)
                jobs_service.schedule_job(session, job, technician, start, actor,
                                          reason=reason, tz=tz, check_calendar=False, locked=job.locked)
                if job.crew_size > 1:
                    job_crews.book_helpers(session, job, crew, tz=tz, check_calendar=False)
            for member in (technician, *crew):
                booked.setdefault(member.id, []).append(job.id)
        if kind == Kind.OVERRUN:  # the longer visit must not run into the next one either
            booked.setdefault(subject.technician_id, []).append(subject.id)
        for technician_id, job_ids in sorted(booked.items()):
            calendar.ensure_free(session, technician_id, job_ids, tz=tz)
        replan.status, replan.decided_by, replan.decided_at = ReplanStatus.APPLIED, actor.user_id, now
        uow.commit()
        return replan
