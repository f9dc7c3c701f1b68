"""Authorised service points: who may serve which region for which product category, and when.

The lookups at the top (:func:`authorised_point_for`, :func:`active_points_for`) are what job
intake uses to route work; they join the caller's transaction and never commit.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from dispatch.network.models import AuthorisationStatus, Coverage, ProductCategory, ServicePoint


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
