"""Authorised service points: who may serve which region for which product category, and when.

The lookups at the top (:func:`authorised_point_for`, :func:`active_points_for`) are the SQL form
of what job intake routes by (intake reads the same rules from :mod:`dispatch.network.index` in
memory); they join the caller's transaction and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import local_today, utcnow
from dispatch.db import page
from dispatch.errors import Conflict, Forbidden, InvalidTransition, NotFound, RuleViolation, ValidationFailed
from dispatch.network.common import check_version
from dispatch.network.models import (
    AuthorisationChange,
    AuthorisationStatus,
    Coverage,
    JobType,
    ProductCategory,
    Region,
    RegionLevel,
    ServicePoint,
)
from dispatch.uow import UnitOfWork


def _authorised_on(on: date):
    """SQL condition: the point is active and ``on`` lies inside its validity period."""
    return (
        (ServicePoint.status == AuthorisationStatus.ACTIVE)
        & or_(ServicePoint.valid_from.is_(None), ServicePoint.valid_from <= on)
        & or_(ServicePoint.valid_until.is_(None), ServicePoint.valid_until >= on)
    )


def authorised_point_for(
    session: Session, region_id: uuid.UUID, category: ProductCategory | str, on: date
) -> ServicePoint | None:
    """The point authorised to serve ``region_id`` (a district) for ``category`` on ``on``.

    Exclusive coverage guarantees at most one; a suspended, revoked, pending or lapsed point is
    never returned. None means nobody covers the region (the caller may fall back to the nearest
    point, see :func:`active_points_for`).
    """
    return session.scalars(
        select(ServicePoint)
        .join(Coverage, Coverage.service_point_id == ServicePoint.id)
        .where(
            Coverage.region_id == region_id,
            Coverage.category == ProductCategory(category),
            _authorised_on(on),
        )
        .order_by(ServicePoint.code)
        .limit(1)
    ).first()


def active_points_for(session: Session, category: ProductCategory | str, on: date) -> list[ServicePoint]:
    """Every point authorised on ``on`` for ``category`` (ordered by code), coverage loaded.

    Used for the nearest-point fallback when a job's region has no covering point.
    """
    category = ProductCategory(category)
    points = session.scalars(
        select(ServicePoint)
        .where(_authorised_on(on))
        .options(selectinload(ServicePoint.coverage))
        .order_by(ServicePoint.code)
    ).all()
    return [p for p in points if category.value in (p.categories or [])]


# --- exclusive coverage ---------------------------------------------------------------------


def _lock_regions(session: Session, region_ids: set[uuid.UUID]) -> None:
    """Serialise every authorisation or coverage change touching these regions.

    Two admins authorising rival points for the same district at the same moment both lock the
    district row first (in id order, so they cannot deadlock); the second one waits, then its
    conflict query sees the first one's committed point. SQLite has one writer anyway.
    """
    if region_ids:
        session.execute(
            select(Region.id).where(Region.id.in_(region_ids)).order_by(Region.id).with_for_update()
        ).all()


def ensure_exclusive(
    session: Session,
    point: ServicePoint,
    pairs: set[tuple[uuid.UUID, ProductCategory]],
    *,
    valid_from: date | None,
    valid_until: date | None,
    today: date,
) -> None:
    """At most one active, authorised point per (region, category) at any moment from today on.

    ``point`` would serve ``pairs`` from ``valid_from`` to ``valid_until``; any other active point
    whose remaining validity overlaps that span and covers one of the pairs is a conflict (409
    naming it). A lapsed point (``valid_until`` before today) and suspended, revoked or pending
    points never conflict.
    """
    _lock_regions(session, {region_id for region_id, _ in pairs})
    start = max(valid_from or today, today)
    if not pairs or (valid_until is not None and valid_until < start):
        return
    query = (
        select(Coverage.region_id, Coverage.category, ServicePoint.id, ServicePoint.code, Region.code)
        .join(ServicePoint, ServicePoint.id == Coverage.service_point_id)
        .join(Region, Region.id == Coverage.region_id)
        .where(
            Coverage.region_id.in_({region_id for region_id, _ in pairs}),
            ServicePoint.id != point.id,
            ServicePoint.status == AuthorisationStatus.ACTIVE,
            or_(ServicePoint.valid_until.is_(None), ServicePoint.valid_until >= start),
        )
        .order_by(Region.code, Coverage.category, ServicePoint.code)
    )
    if valid_until is not None:
        query = query.where(or_(ServicePoint.valid_from.is_(None), ServicePoint.valid_from <= valid_until))
    conflicts = [row for row in session.execute(query) if (row[0], ProductCategory(row[1])) in pairs]
    if conflicts:
        _, category, other_id, other_code, region_code = conflicts[0]
        raise Conflict(
            f"{region_code} is already served for {ProductCategory(category).value} by service point "
            f"{other_code}; suspend or revoke it, or change its coverage, first",
            conflicting_point_id=str(other_id),
            conflicting_point_code=other_code,
            region_code=region_code,
            category=ProductCategory(category).value,
            conflicts=[
                {"region_code": r_code, "category": ProductCategory(c).value,
                 "point_id": str(p_id), "point_code": p_code}
                for _, c, p_id, p_code, r_code in conflicts
            ],
        )


def _coverage_pairs(point: ServicePoint) -> set[tuple[uuid.UUID, ProductCategory]]:
    return {(c.region_id, ProductCategory(c.category)) for c in point.coverage}


# --- reads ----------------------------------------------------------------------------------

_DETAIL = (
    selectinload(ServicePoint.coverage).selectinload(Coverage.region),
    selectinload(ServicePoint.history),
)


def list_service_points(
    uow: UnitOfWork,
    actor: Principal,
    *,
    offset: int,
    limit: int,
    status: AuthorisationStatus | None = None,
    category: ProductCategory | None = None,
    region_id: uuid.UUID | None = None,
    authorised_on: date | None = None,
    q: str | None = None,
    flagged: bool | None = None,
    flagged_ids: Collection[uuid.UUID] = (),
) -> tuple[list[ServicePoint], int]:
    """HQ sees the whole network; a manager or technician only their own point. ``flagged``
    keeps the points in ``flagged_ids`` (or, false, the others): the points HQ audits flag for
    review, which :func:`dispatch.audits.scorecards.flagged_point_ids` works out."""
    with uow:
        query = select(ServicePoint).options(*_DETAIL).order_by(ServicePoint.code)
        if not actor.is_hq:
            query = query.where(ServicePoint.id == actor.service_point_id)
        if status is not None:
            query = query.where(ServicePoint.status == status)
        if region_id is not None or category is not None:
            covering = select(Coverage.service_point_id)
            if region_id is not None:
                covering = covering.where(Coverage.region_id == region_id)
            if category is not None:
                covering = covering.where(Coverage.category == category)
            query = query.where(ServicePoint.id.in_(covering))
        if authorised_on is not None:
            query = query.where(_authorised_on(authorised_on))
        if q:
            pattern = f"%{q.lower()}%"
            query = query.where(or_(func.lower(ServicePoint.name).like(pattern),
                                    func.lower(ServicePoint.code).like(pattern)))
        if flagged is not None:
            ids = list(flagged_ids)
            query = query.where(ServicePoint.id.in_(ids) if flagged else ServicePoint.id.not_in(ids))
        return page(uow.session, query, offset=offset, limit=limit)


def get_service_point(uow: UnitOfWork, actor: Principal, point_id: uuid.UUID, *,
                      to_edit: bool = False) -> ServicePoint:
    """One point (HQ: any; others: their own); ``to_edit`` first checks the caller may edit."""
    if to_edit:
        actor.require(Role.ADMIN, Role.MANAGER)
    with uow:
        point = uow.session.get(ServicePoint, point_id, options=list(_DETAIL))
        if point is None:
            raise NotFound(f"service point {point_id} does not exist")
        actor.ensure_point(point.id, f"service point {point_id}")
        return point


# --- writes ---------------------------------------------------------------------------------


def _locked(session: Session, point_id: uuid.UUID) -> ServicePoint:
    point = session.scalars(
        select(ServicePoint).where(ServicePoint.id == point_id).with_for_update()
        .execution_options(populate_existing=True).options(*_DETAIL)
    ).one_or_none()
    if point is None:
        raise NotFound(f"service point {point_id} does not exist")
    return point


def _coverage_rows(
    session: Session, coverage: list[dict[str, Any]], categories: list[str]
) -> list[Coverage]:
    """Validate requested coverage: existing districts, categories the point is authorised for."""
    wanted: dict[tuple[uuid.UUID, ProductCategory], None] = {}
    for i, item in enumerate(coverage):
        region = session.get(Region, item["region_id"])
        if region is None:
            raise ValidationFailed(f"coverage.{i}.region_id", f"region {item['region_id']} does not exist")
        if region.level != RegionLevel.DISTRICT:
            raise ValidationFailed(f"coverage.{i}.region_id",
                                   f"{region.code} is a {region.level.value}; points cover districts")
        category = ProductCategory(item["category"])
        if category.value not in categories:
            raise ValidationFailed(f"coverage.{i}.category",
                                   f"{category.value} is not among the point's authorised categories")
        wanted[(region.id, category)] = None
    return [Coverage(region_id=r, category=c) for r, c in wanted]


def _record(session: Session, point: ServicePoint, actor: Principal, from_status: AuthorisationStatus | None,
            reason: str) -> None:
    """History row and tamper-evident log entry for one status change, in the same transaction."""
    at = utcnow()
    point.history.append(AuthorisationChange(
        from_status=from_status, to_status=point.status, valid_from=point.valid_from,
        valid_until=point.valid_until, reason=reason, actor_id=_user_id(actor), at=at,
    ))
    audit_log.append(
        session, kind="service_point.status", subject_id=point.id, actor_id=_user_id(actor),
        payload={"code": point.code, "from": from_status.value if from_status else None,
                 "to": point.status.value, "valid_from": point.valid_from, "valid_until": point.valid_until,
                 "reason": reason},
    )


def _user_id(actor: Principal) -> uuid.UUID | None:
    return None if actor.user_id.int == 0 else actor.user_id  # the system principal has no users row


def create_service_point(
    uow: UnitOfWork,
    actor: Principal,
    *,
    code: str,
    name: str,
    lat: float,
    lon: float,
    categories: list[ProductCategory],
    job_types: list[JobType],
    coverage: list[dict[str, Any]] | None = None,
    address: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    travel_speed_kmh: float = 30.0,
) -> ServicePoint:
    """Register a point as ``pending``: it serves nothing until HQ authorises it."""
    actor.require(Role.ADMIN)
    with uow:
        code = code.upper()
        if uow.session.scalar(select(ServicePoint.id).where(ServicePoint.code == code)) is not None:
            raise Conflict(f"service point code {code} is taken")
        category_values = sorted({ProductCategory(c).value for c in categories})
        point = ServicePoint(
            code=code, name=name, address=address, lat=lat, lon=lon, contact_name=contact_name,
            contact_phone=contact_phone, status=AuthorisationStatus.PENDING, categories=category_values,
            job_types=sorted({JobType(t).value for t in job_types}), travel_speed_kmh=travel_speed_kmh,
            coverage=_coverage_rows(uow.session, coverage or [], category_values), history=[],
        )
        uow.session.add(point)
        uow.session.flush()
        _record(uow.session, point, actor, None, "registered")
        uow.commit()
    return point


MANAGER_EDITABLE = frozenset({"address", "contact_name", "contact_phone"})


def update_service_point(
    uow: UnitOfWork,
    actor: Principal,
    point_id: uuid.UUID,
    *,
    tz: str,
    expected_version: int | None = None,
    **changes: Any,
) -> ServicePoint:
    """HQ edits anything but the status (that has its own endpoints); a point's manager may
    correct its own address and contact. Coverage is replaced as a whole and re-checked for
    exclusivity when the point is active."""
    actor.require(Role.ADMIN, Role.MANAGER)
    if actor.role == Role.MANAGER:
        actor.ensure_point(point_id, f"service point {point_id}")
        refused = sorted(set(changes) - MANAGER_EDITABLE)
        if refused:
            raise Forbidden(f"a manager may only change {', '.join(sorted(MANAGER_EDITABLE))}; "
                            f"not {', '.join(refused)}")
    with uow:
        point = _locked(uow.session, point_id)
        check_version(point, expected_version, f"service point {point.code}")
        for name in ("name", "address", "lat", "lon", "contact_name", "contact_phone", "travel_speed_kmh"):
            if name in changes:
                setattr(point, name, changes[name])
        if "job_types" in changes:
            point.job_types = sorted({JobType(t).value for t in changes["job_types"]})
        if "categories" in changes or "coverage" in changes:
            categories = (sorted({ProductCategory(c).value for c in changes["categories"]})
                          if "categories" in changes else list(point.categories))
            if "coverage" in changes:
                rows = _coverage_rows(uow.session, changes["coverage"], categories)
            else:
                orphaned = sorted({c.category.value for c in point.coverage} - set(categories))
                if orphaned:
                    raise ValidationFailed("categories", f"the point still covers regions for {', '.join(orphaned)}; "
                                                         "send the new coverage along")
                rows = [Coverage(region_id=c.region_id, category=c.category) for c in point.coverage]
            new_pairs = {(r.region_id, r.category) for r in rows}
            if point.status == AuthorisationStatus.ACTIVE:
                added = new_pairs - _coverage_pairs(point)
                ensure_exclusive(uow.session, point, added, valid_from=point.valid_from,
                                 valid_until=point.valid_until, today=local_today(tz))
            kept = [c for c in point.coverage if (c.region_id, c.category) in new_pairs]
            point.coverage = kept + [r for r in rows if (r.region_id, r.category) not in _pairs_of(kept)]
            point.categories = categories
            point.updated_at = utcnow()  # coverage lives in child rows: bump the point's version too
        uow.commit()
    return point


def _pairs_of(rows: list[Coverage]) -> set[tuple[uuid.UUID, ProductCategory]]:
    return {(r.region_id, ProductCategory(r.category)) for r in rows}


# Which status each action may start from.
ALLOWED_FROM = {
    "authorise": (AuthorisationStatus.PENDING, AuthorisationStatus.ACTIVE),
    "suspend": (AuthorisationStatus.ACTIVE,),
    "reinstate": (AuthorisationStatus.SUSPENDED,),
    "revoke": (AuthorisationStatus.PENDING, AuthorisationStatus.ACTIVE, AuthorisationStatus.SUSPENDED),
}
PAST = {"authorise": "authorised", "suspend": "suspended", "reinstate": "reinstated", "revoke": "revoked"}


def _transition(session: Session, actor: Principal, point_id: uuid.UUID, action: str) -> ServicePoint:
    actor.require(Role.ADMIN)
    point = _locked(session, point_id)
    if point.status not in ALLOWED_FROM[action]:
        allowed = [s.value for s in ALLOWED_FROM[action]]
        raise InvalidTransition(
            f"service point {point.code} is {point.status.value}; it cannot be {PAST[action]} "
            f"(only from {', '.join(allowed)})",
            current_status=point.status.value, allowed_from=allowed,
        )
    return point


def authorise(
    uow: UnitOfWork,
    actor: Principal,
    point_id: uuid.UUID,
    *,
    tz: str,
    valid_until: date | None,
    valid_from: date | None = None,
    reason: str = "",
) -> ServicePoint:
    """Authorise a pending point, or renew an active one's validity period (HQ only).

    The point's whole coverage is checked for exclusivity over the new period.
    """
    with uow:
        point = _transition(uow.session, actor, point_id, "authorise")
        today = local_today(tz)
        valid_from = valid_from or today
        if valid_until is not None and valid_until < valid_from:
            raise ValidationFailed("valid_until", "must not be before valid_from")
        if valid_until is not None and valid_until < today:
            raise ValidationFailed("valid_until", "is in the past: the authorisation would have lapsed already")
        if not point.coverage:
            raise RuleViolation(f"service point {point.code} covers no region yet; set its coverage first")
        ensure_exclusive(uow.session, point, _coverage_pairs(point), valid_from=valid_from,
                         valid_until=valid_until, today=today)
        before = point.status
        point.status, point.valid_from, point.valid_until = AuthorisationStatus.ACTIVE, valid_from, valid_until
        _record(uow.session, point, actor, before, reason or ("renewed" if before == point.status else "authorised"))
        uow.commit()
    return point


def suspend(uow: UnitOfWork, actor: Principal, point_id: uuid.UUID, *, reason: str) -> ServicePoint:
    """Stop an active point from serving (its coverage is kept for reinstatement)."""
    with uow:
        point = suspend_in(uow.session, actor, point_id, reason=reason)
        uow.commit()
    return point


def suspend_in(session: Session, actor: Principal, point_id: uuid.UUID, *, reason: str) -> ServicePoint:
    """:func:`suspend` inside the caller's transaction (HQ's corrective decisions use it)."""
    point = _transition(session, actor, point_id, "suspend")
    point.status = AuthorisationStatus.SUSPENDED
    _record(session, point, actor, AuthorisationStatus.ACTIVE, reason)
    return point


def reinstate(uow: UnitOfWork, actor: Principal, point_id: uuid.UUID, *, tz: str, reason: str = "") -> ServicePoint:
    """Let a suspended point serve again, unless another point took over its regions meanwhile."""
    with uow:
        point = _transition(uow.session, actor, point_id, "reinstate")
        ensure_exclusive(uow.session, point, _coverage_pairs(point), valid_from=point.valid_from,
                         valid_until=point.valid_until, today=local_today(tz))
        point.status = AuthorisationStatus.ACTIVE
        _record(uow.session, point, actor, AuthorisationStatus.SUSPENDED, reason or "reinstated")
        uow.commit()
    return point


def revoke(uow: UnitOfWork, actor: Principal, point_id: uuid.UUID, *, reason: str) -> ServicePoint:
    """End the authorisation for good (a revoked point is never reinstated)."""
    with uow:
        point = revoke_in(uow.session, actor, point_id, reason=reason)
        uow.commit()
    return point


def revoke_in(session: Session, actor: Principal, point_id: uuid.UUID, *, reason: str) -> ServicePoint:
    """:func:`revoke` inside the caller's transaction."""
    point = _transition(session, actor, point_id, "revoke")
    before = point.status
    point.status = AuthorisationStatus.REVOKED
    _record(session, point, actor, before, reason)
    return point


def hand_over_coverage(session: Session, actor: Principal, point: ServicePoint, successor_id: uuid.UUID, *,
                       tz: str, reason: str) -> ServicePoint:
    """Re-authorise a revoked point's regions to ``successor_id`` (an active point authorised for
    the same categories), in the caller's transaction; exclusivity is checked as for any
    coverage change. The revoked point keeps its coverage rows as a record."""
    actor.require(Role.ADMIN)
    if successor_id == point.id:
        raise ValidationFailed("successor_point_id", "the successor must be another point")
    successor = session.scalars(select(ServicePoint).where(ServicePoint.id == successor_id).with_for_update()
                                .execution_options(populate_existing=True).options(*_DETAIL)).one_or_none()
    if successor is None:
        raise ValidationFailed("successor_point_id", f"no service point has the id {successor_id}")
    today = local_today(tz)
    if not successor.is_authorised_on(today):
        raise ValidationFailed("successor_point_id", f"{successor.code} is not an authorised point today")
    missing = sorted({c.category.value for c in point.coverage} - set(successor.categories or []))
    if missing:
        raise ValidationFailed("successor_point_id",
                               f"{successor.code} is not authorised for {', '.join(missing)}")
    added = _coverage_pairs(point) - _coverage_pairs(successor)
    ensure_exclusive(session, successor, added, valid_from=successor.valid_from,
                     valid_until=successor.valid_until, today=today)
    successor.coverage = list(successor.coverage) + [Coverage(region_id=r, category=c) for r, c in sorted(
        added, key=lambda pair: (str(pair[0]), pair[1].value))]
    successor.updated_at = utcnow()
    _record(session, successor, actor, successor.status, f"took over the regions of {point.code}: {reason}")
    return successor
