"""Technicians: their accounts, skills, certifications, weekly shifts and dated exceptions.

Managers manage their own point's technicians; HQ manages all and reads all; a technician may
read their own record, calendar and qualifications.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.models import Role, User
from dispatch.auth.principal import Principal
from dispatch.auth.service import create_user
from dispatch.clock import local_today, utcnow
from dispatch.db import page
from dispatch.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dispatch.network import rules
from dispatch.network.common import check_version
from dispatch.network.models import (
    AuthorisationStatus,
    Certification,
    JobType,
    ProductCategory,
    ServicePoint,
    ShiftException,
    ShiftExceptionKind,
    Skill,
    StartLocation,
    Technician,
    WeeklyShift,
)
from dispatch.uow import UnitOfWork

MAX_CALENDAR_DAYS = 62

_DETAIL = (
    selectinload(Technician.skills),
    selectinload(Technician.certifications),
    selectinload(Technician.shifts),
    selectinload(Technician.service_point),
    selectinload(Technician.user),
)


@dataclass(frozen=True)
class DaySchedule:
    """The working windows of one local day, after leave and extra shifts are applied."""

    day: date
    windows: list[rules.ShiftWindow]
    exceptions: list[ShiftException]

    @property
    def working(self) -> bool:
        return bool(self.windows)

    @property
    def minutes(self) -> int:
        return sum((w.end.hour * 60 + w.end.minute) - (w.start.hour * 60 + w.start.minute) for w in self.windows)


@dataclass(frozen=True)
class Qualification:
    """Whether a technician may do (category, job type) on a day, and why not."""

    technician_id: uuid.UUID
    category: ProductCategory
    job_type: JobType
    on: date
    has_skill: bool
    certification: Certification | None
    qualified: bool
    reason: str


# --- scoping --------------------------------------------------------------------------------


def technician_id_of(user_id: Any) -> Any:
    """The id of the technician whose account is ``user_id`` (a column or value), as a scalar
    subquery: how auth resolves a caller's technician without importing the network."""
    return select(Technician.id).where(Technician.user_id == user_id).scalar_subquery()


def _visible(actor: Principal, technician: Technician) -> bool:
    if actor.is_hq:
        return True
    if actor.role == Role.MANAGER:
        return technician.service_point_id == actor.service_point_id
    return technician.id == actor.technician_id


def _load(session: Session, actor: Principal, technician_id: uuid.UUID, *, for_update: bool = False) -> Technician:
    query = select(Technician).where(Technician.id == technician_id).options(*_DETAIL)
    if for_update:
        query = query.with_for_update(of=Technician).execution_options(populate_existing=True)
    technician = session.scalars(query).one_or_none()
    if technician is None or not _visible(actor, technician):
        raise NotFound(f"technician {technician_id} does not exist")
    return technician


def _for_management(session: Session, actor: Principal, technician_id: uuid.UUID,
                    expected_version: int | None = None) -> Technician:
    """Load and lock a technician the caller may change (admin: any; manager: own point)."""
    actor.require(Role.ADMIN, Role.MANAGER)
    technician = _load(session, actor, technician_id, for_update=True)
    check_version(technician, expected_version, f"technician {technician.name}")
    return technician


def _touch(technician: Technician) -> None:
    """Child rows changed: bump the technician's version so ETags and lost-update checks see it."""
    technician.updated_at = utcnow()


# --- reads ----------------------------------------------------------------------------------


def list_technicians(
    uow: UnitOfWork,
    actor: Principal,
    *,
    offset: int,
    limit: int,
    service_point_id: uuid.UUID | None = None,
    active: bool | None = None,
    category: ProductCategory | None = None,
    job_type: JobType | None = None,
    qualified_on: date | None = None,
    q: str | None = None,
) -> tuple[list[Technician], int]:
    """HQ lists everyone (optionally by point), a manager their point's technicians.

    ``category``/``job_type`` keep those with the skill; ``qualified_on`` additionally needs a
    certification for ``category`` valid on that day.
    """
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    if qualified_on is not None and category is None:
        raise ValidationFailed("qualified_on", "needs a category to check certifications against")
    with uow:
        query = select(Technician).options(*_DETAIL).order_by(Technician.name, Technician.id)
        point = actor.point_filter() or service_point_id
        if not actor.is_hq and service_point_id not in (None, actor.service_point_id):
            return [], 0
        if point is not None:
            query = query.where(Technician.service_point_id == point)
        if active is not None:
            query = query.where(Technician.active.is_(active))
        if category is not None or job_type is not None:
            skill = select(Skill).where(Skill.technician_id == Technician.id)
            if category is not None:
                skill = skill.where(Skill.category == category)
            if job_type is not None:
                skill = skill.where(Skill.job_type == job_type)
            query = query.where(exists(skill))
        if qualified_on is not None:
            query = query.where(exists(select(Certification).where(
                Certification.technician_id == Technician.id,
                Certification.category == category,
                Certification.issued_on <= qualified_on,
                Certification.expires_on >= qualified_on,
            )))
        if q:
            pattern = f"%{q.lower()}%"
            query = query.where(or_(func.lower(Technician.name).like(pattern), Technician.phone.like(pattern)))
        return page(uow.session, query, offset=offset, limit=limit)


def get_technician(uow: UnitOfWork, actor: Principal, technician_id: uuid.UUID, *,
                   to_edit: bool = False) -> Technician:
    """One technician; ``to_edit`` (the read before a PATCH) first checks the caller may edit."""
    if to_edit:
        actor.require(Role.ADMIN, Role.MANAGER)
    with uow:
        return _load(uow.session, actor, technician_id)


def shift_calendar(
    uow: UnitOfWork, actor: Principal, technician_id: uuid.UUID, *, date_from: date, date_to: date
) -> list[DaySchedule]:
    """Working windows for each day from ``date_from`` to ``date_to`` (inclusive, local time):
    the weekly pattern with that day's leave cut out and extra shifts added."""
    if date_to < date_from:
        raise ValidationFailed("to", "must not be before from")
    if (date_to - date_from).days >= MAX_CALENDAR_DAYS:
        raise ValidationFailed("to", f"at most {MAX_CALENDAR_DAYS} days at a time")
    with uow:
        technician = _load(uow.session, actor, technician_id)
        exceptions = list(uow.session.scalars(
            select(ShiftException)
            .where(ShiftException.technician_id == technician.id,
                   ShiftException.on >= date_from, ShiftException.on <= date_to)
            .order_by(ShiftException.on, ShiftException.start)
        ))
        # rules.shifts_on reads technician.shift_exceptions; give it exactly this range's rows.
        view = _Calendar(technician.shifts, exceptions)
        days = []
        for offset in range((date_to - date_from).days + 1):
            day = date_from + timedelta(days=offset)
            days.append(DaySchedule(day, rules.shifts_on(view, day), [e for e in exceptions if e.on == day]))
        return days


@dataclass(frozen=True)
class _Calendar:
    """What :func:`rules.shifts_on` reads from a technician, without loading every exception ever."""

    shifts: list[WeeklyShift]
    shift_exceptions: list[ShiftException]


def qualification(
    uow: UnitOfWork,
    actor: Principal,
    technician_id: uuid.UUID,
    *,
    category: ProductCategory,
    job_type: JobType,
    tz: str,
    on: date | None = None,
) -> Qualification:
    """May the technician do this kind of job on ``on`` (default: today, local)? Skill and a
    certification valid that day are both needed; a certification counts up to and including
    its expiry date."""
    on = on or local_today(tz)
    with uow:
        technician = _load(uow.session, actor, technician_id)
        has_skill = rules.has_skill(technician, category, job_type)
        certification = rules.valid_certification(technician, category, on)
        if not has_skill:
            reason = f"no {category.value} {job_type.value} skill"
        elif certification is None:
            held = [c for c in technician.certifications if c.category == category]
            expired = [c for c in held if c.expires_on < on]
            if expired:
                reason = f"{category.value} certification expired on {max(c.expires_on for c in expired)}"
            elif held:
                reason = f"{category.value} certification is not valid until {min(c.issued_on for c in held)}"
            else:
                reason = f"no {category.value} certification"
        else:
            reason = f"certified until {certification.expires_on}"
        return Qualification(technician.id, category, job_type, on, has_skill, certification,
                             rules.qualified(technician, category, job_type, on), reason)


def list_shift_exceptions(
    uow: UnitOfWork, actor: Principal, technician_id: uuid.UUID, *, offset: int, limit: int,
    date_from: date | None = None, date_to: date | None = None,
) -> tuple[list[ShiftException], int]:
    with uow:
        technician = _load(uow.session, actor, technician_id)
        query = (select(ShiftException).where(ShiftException.technician_id == technician.id)
                 .order_by(ShiftException.on, ShiftException.start, ShiftException.id))
        if date_from is not None:
            query = query.where(ShiftException.on >= date_from)
        if date_to is not None:
            query = query.where(ShiftException.on <= date_to)
        return page(uow.session, query, offset=offset, limit=limit)


# --- validation of nested input -------------------------------------------------------------


def _skills(items: list[dict[str, Any]]) -> set[tuple[ProductCategory, JobType]]:
    return {(ProductCategory(s["category"]), JobType(s["job_type"])) for s in items}


def _weekly_shifts(items: list[dict[str, Any]]) -> list[WeeklyShift]:
    seen: set[int] = set()
    shifts = []
    for i, item in enumerate(items):
        if item["weekday"] in seen:
            raise ValidationFailed(f"weekly_shifts.{i}.weekday", "one shift per weekday")
        if item["start"] >= item["end"]:
            raise ValidationFailed(f"weekly_shifts.{i}.end", "must be after start")
        seen.add(item["weekday"])
        shifts.append(WeeklyShift(weekday=item["weekday"], start=item["start"], end=item["end"]))
    return sorted(shifts, key=lambda s: s.weekday)


def _certification(item: dict[str, Any], field: str = "expires_on") -> Certification:
    if item["expires_on"] < item["issued_on"]:
        raise ValidationFailed(field, "must not be before issued_on")
    return Certification(name=item["name"], category=ProductCategory(item["category"]),
                         issued_on=item["issued_on"], expires_on=item["expires_on"])


def _check_start(technician: Technician) -> None:
    if technician.start_location == StartLocation.HOME and (technician.home_lat is None or technician.home_lon is None):
        raise ValidationFailed("home_location", "a technician who starts from home needs a home location")


def _point_for_hiring(session: Session, actor: Principal, service_point_id: uuid.UUID | None) -> ServicePoint:
    if actor.role == Role.MANAGER:
        if service_point_id is not None:
            actor.ensure_point(service_point_id, f"service point {service_point_id}")
        service_point_id = actor.service_point_id
    if service_point_id is None:
        raise ValidationFailed("service_point_id", "a technician belongs to exactly one service point")
    point = session.get(ServicePoint, service_point_id)
    if point is None:
        raise ValidationFailed("service_point_id", f"service point {service_point_id} does not exist")
    if point.status == AuthorisationStatus.REVOKED:
        raise ValidationFailed("service_point_id", f"service point {point.code} is revoked")
    return point


def _account(
    session: Session, point: ServicePoint, *, user_id: uuid.UUID | None, username: str | None,
    password: str | None, full_name: str, hash_method: str,
) -> User:
    """Take an existing technician account of the same point, or open a new one."""
    if user_id is not None:
        if username is not None or password is not None:
            raise ValidationFailed("user_id", "give either user_id or username and password, not both")
        user = session.get(User, user_id)
        if user is None or user.role != Role.TECHNICIAN or user.service_point_id != point.id:
            raise ValidationFailed("user_id", f"no technician account of point {point.code} has id {user_id}")
        if session.scalar(select(Technician.id).where(Technician.user_id == user.id)) is not None:
            raise Conflict(f"account {user.username} already belongs to a technician")
        return user
    if username is None or password is None:
        raise ValidationFailed("username", "give username and password for a new account, or user_id")
    return create_user(session, username=username, password=password, role=Role.TECHNICIAN,
                       service_point_id=point.id, full_name=full_name, hash_method=hash_method)


# --- writes ---------------------------------------------------------------------------------


def create_technician(
    uow: UnitOfWork,
    actor: Principal,
    *,
    hash_method: str,
    name: str,
    hired_on: date,
    service_point_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    username: str | None = None,
    password: str | None = None,
    phone: str = "",
    start_location: StartLocation = StartLocation.POINT,
    home_lat: float | None = None,
    home_lon: float | None = None,
    break_minutes: int = 30,
    skills: list[dict[str, Any]] | None = None,
    certifications: list[dict[str, Any]] | None = None,
    weekly_shifts: list[dict[str, Any]] | None = None,
) -> Technician:
    """Hire a technician: the profile and its login account in one transaction."""
    actor.require(Role.ADMIN, Role.MANAGER)
    with uow:
        point = _point_for_hiring(uow.session, actor, service_point_id)
        user = _account(uow.session, point, user_id=user_id, username=username, password=password,
                        full_name=name, hash_method=hash_method)
        technician = Technician(
            user_id=user.id, service_point_id=point.id, name=name, phone=phone, hired_on=hired_on,
            start_location=start_location, home_lat=home_lat, home_lon=home_lon, break_minutes=break_minutes,
            skills=[Skill(category=c, job_type=t) for c, t in sorted(_skills(skills or []))],
            certifications=[_certification(c, f"certifications.{i}.expires_on")
                            for i, c in enumerate(certifications or [])],
            shifts=_weekly_shifts(weekly_shifts or []),
            shift_exceptions=[],
        )
        _check_start(technician)
        uow.session.add(technician)
        uow.commit()
        return _load(uow.session, actor, technician.id)


def update_technician(
    uow: UnitOfWork,
    actor: Principal,
    technician_id: uuid.UUID,
    *,
    expected_version: int | None = None,
    **changes: Any,
) -> Technician:
    """Edit the profile; ``skills`` and ``weekly_shifts`` replace the current sets. Moving a
    technician to another point is for HQ; deactivating one also locks their account."""
    with uow:
        technician = _for_management(uow.session, actor, technician_id, expected_version)
        if "service_point_id" in changes and changes["service_point_id"] != technician.service_point_id:
            if not actor.is_admin:
                raise Forbidden("only HQ moves a technician to another service point")
            point = _point_for_hiring(uow.session, actor, changes["service_point_id"])
            technician.service_point_id, technician.service_point = point.id, point
            technician.user.service_point_id = point.id
        for name in ("name", "phone", "hired_on", "start_location", "home_lat", "home_lon", "break_minutes"):
            if name in changes:
                setattr(technician, name, changes[name])
        if "name" in changes:
            technician.user.full_name = changes["name"]
        if "active" in changes and changes["active"] != technician.active:
            technician.active = changes["active"]
            technician.user.is_active = changes["active"]
            if not changes["active"]:  # revoke every token the account holds
                technician.user.token_version += 1
        if "skills" in changes:
            wanted = _skills(changes["skills"])
            kept = [s for s in technician.skills if (s.category, s.job_type) in wanted]
            have = {(s.category, s.job_type) for s in kept}
            technician.skills = kept + [Skill(category=c, job_type=t) for c, t in sorted(wanted - have)]
        if "weekly_shifts" in changes:
            wanted_shifts = {s.weekday: s for s in _weekly_shifts(changes["weekly_shifts"])}
            kept_shifts = []
            for shift in technician.shifts:
                if shift.weekday in wanted_shifts:  # update in place: (technician, weekday) is the key
                    new = wanted_shifts.pop(shift.weekday)
                    shift.start, shift.end = new.start, new.end
                    kept_shifts.append(shift)
            technician.shifts = sorted(kept_shifts + list(wanted_shifts.values()), key=lambda s: s.weekday)
        _check_start(technician)
        _touch(technician)
        uow.commit()
        return _load(uow.session, actor, technician.id)


def add_certification(uow: UnitOfWork, actor: Principal, technician_id: uuid.UUID, **values: Any) -> Certification:
    with uow:
        technician = _for_management(uow.session, actor, technician_id)
        certification = _certification(values)
        technician.certifications.append(certification)
        _touch(technician)
        uow.commit()
    return certification


def remove_certification(uow: UnitOfWork, actor: Principal, technician_id: uuid.UUID,
                         certification_id: uuid.UUID) -> None:
    with uow:
        technician = _for_management(uow.session, actor, technician_id)
        certification = next((c for c in technician.certifications if c.id == certification_id), None)
        if certification is None:
            raise NotFound(f"certification {certification_id} does not exist")
        technician.certifications.remove(certification)
        _touch(technician)
        uow.commit()


def add_shift_exception(
    uow: UnitOfWork,
    actor: Principal,
    technician_id: uuid.UUID,
    *,
    on: date,
    kind: ShiftExceptionKind,
    start: time | None = None,
    end: time | None = None,
    reason: str = "",
) -> ShiftException:
    """Leave (all day without times, or a span) or an extra shift (times required) on a date."""
    if (start is None) != (end is None):
        raise ValidationFailed("end" if end is None else "start", "give both start and end, or neither")
    if kind == ShiftExceptionKind.EXTRA and start is None:
        raise ValidationFailed("start", "an extra shift needs start and end times")
    if start is not None and end is not None and start >= end:
        raise ValidationFailed("end", "must be after start")
    with uow:
        technician = _for_management(uow.session, actor, technician_id)
        same_day = [ShiftException.technician_id == technician.id, ShiftException.on == on,
                    ShiftException.kind == kind]
        if start is not None:  # a timed span clashes with an all-day one or an overlapping span
            same_day.append(or_(ShiftException.start.is_(None),
                                and_(ShiftException.start < end, ShiftException.end > start)))
        clash = uow.session.scalar(select(ShiftException.id).where(*same_day).limit(1))
        if clash is not None:
            raise Conflict(f"a {kind.value} already overlaps that time on {on}", existing_id=str(clash))
        exception = ShiftException(technician_id=technician.id, on=on, kind=kind, start=start, end=end, reason=reason)
        uow.session.add(exception)
        _touch(technician)
        uow.commit()
    return exception


def remove_shift_exception(uow: UnitOfWork, actor: Principal, technician_id: uuid.UUID,
                           exception_id: uuid.UUID) -> None:
    with uow:
        technician = _for_management(uow.session, actor, technician_id)
        exception = uow.session.get(ShiftException, exception_id)
        if exception is None or exception.technician_id != technician.id:
            raise NotFound(f"shift exception {exception_id} does not exist")
        uow.session.delete(exception)
        _touch(technician)
        uow.commit()
