"""Which authorised service point gets a job, and why.

Region code if the caller gave one; else the district whose polygon contains the location (the
network's STRtree index, rebuilt when a boundary changes); then the point authorised for that
region and the product's category on that day. When nobody covers it, the nearest authorised
point for the category within the fallback radius takes the job, marked out of area.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from dispatch.db import transaction_memo
from dispatch.errors import RuleViolation, ValidationFailed
from dispatch.geo import Location, great_circle_km
from dispatch.jobs.models import DispatchReason
from dispatch.network.models import AuthorisationChange, Coverage, JobType, ProductCategory, Region, ServicePoint
from dispatch.network.regions import district_index
from dispatch.network.service_points import active_points_for, authorised_point_for


class NoCoverage(RuleViolation):
    """No authorised point covers the place, and none is near enough (HTTP 422)."""

    code = "no-coverage"
    title = "No service point covers this location"


@dataclass(frozen=True)
class DispatchDecision:
    service_point: ServicePoint
    reason: DispatchReason
    region: Region | None
    out_of_area: bool
    distance_km: float | None


def distance_km(location: Location | None, point: ServicePoint) -> float | None:
    """Straight-line distance from the job to the point (:mod:`dispatch.geo`), to the metre."""
    if location is None:
        return None
    return round(great_circle_km(location.lat, location.lon, point.lat, point.lon), 3)


def _nearest(location: Location, points: list[ServicePoint]) -> tuple[float, ServicePoint] | None:
    """The closest point (ties by code)."""
    if not points:
        return None
    distance, _, point = min((distance_km(location, p), p.code, p) for p in points)
    return distance, point


def _serves(point: ServicePoint | None, job_type: JobType) -> bool:
    return point is not None and job_type.value in (point.job_types or [])


_NETWORK = "resolution_network"  # transaction_memo: the network as this transaction sees it
_NETWORK_MODELS = (Region, Coverage, ServicePoint, AuthorisationChange)


@dataclass
class _Network:
    """What resolution reads of the network, memoised for one transaction: the district index
    (the process-wide STRtree, its freshness checked once here), the covering point per
    (district, category, day) and the active points per (category, day). Dropped when the
    transaction ends (:func:`dispatch.db.transaction_memo`) or flushes a region, coverage or
    authorisation change (the listener :func:`install` attaches), so a transaction always
    resolves against the network as it sees it; the next one checks freshness again."""

    index: Any
    regions: dict[Any, Region | None] = field(default_factory=dict)  # held: the identity map is weak
    covering: dict[tuple[Any, ...], ServicePoint | None] = field(default_factory=dict)
    active: dict[tuple[Any, ...], list[ServicePoint]] = field(default_factory=dict)


def _network(session: Session) -> _Network:
    memo = transaction_memo(session, _NETWORK)
    if "network" not in memo:
        memo["network"] = _Network(district_index(session))
    return memo["network"]


def _network_changed(session: Session, _context) -> None:
    if _NETWORK in session.info and any(isinstance(obj, _NETWORK_MODELS)
                                        for obj in chain(session.new, session.dirty, session.deleted)):
        session.info.pop(_NETWORK)


def install() -> None:
    """Attach the listener that drops the memo when a transaction changes the network
    (idempotent; :mod:`dispatch.wiring` calls it)."""
    if not installed():
        event.listen(Session, "after_flush", _network_changed)


def installed() -> bool:
    return event.contains(Session, "after_flush", _network_changed)


def resolve(
    session: Session,
    *,
    category: ProductCategory,
    job_type: JobType,
    on: date,
    radius_km: float,
    region_code: str | None = None,
    location: Location | None = None,
) -> DispatchDecision:
    """Decide the point for a job of ``category``/``job_type`` reported on ``on`` (local date).

    Raises ValidationFailed("region_code") for an unknown code, ValidationFailed("location")
    when there is nothing to locate the job by, and NoCoverage when no point can take it.
    """
    region: Region | None = None
    reason = DispatchReason.REGION_CODE
    if region_code:
        region = session.scalar(select(Region).where(Region.code == region_code))
        if region is None:
            raise ValidationFailed("region_code", f"no region has the code {region_code!r}")
    elif location is not None:
        reason = DispatchReason.POLYGON
        network = _network(session)
        region_id = network.index.locate(location.lat, location.lon)
        if region_id not in network.regions:
            network.regions[region_id] = session.get(Region, region_id) if region_id is not None else None
        region = network.regions[region_id]
    else:
        raise ValidationFailed("location", "give the job's location or a region_code")

    network = _network(session)
    if region is not None:
        key = (region.id, category, on)
        if key not in network.covering:
            network.covering[key] = authorised_point_for(session, region.id, category, on)
        point = network.covering[key]
        if _serves(point, job_type):
            return DispatchDecision(point, reason, region, False, distance_km(location, point))

    if location is not None:
        if (category, on) not in network.active:
            network.active[(category, on)] = active_points_for(session, category, on)
        nearest_point = _nearest(location, [p for p in network.active[(category, on)] if _serves(p, job_type)])
        if nearest_point is not None and nearest_point[0] <= radius_km:
            distance, point = nearest_point
            return DispatchDecision(point, DispatchReason.NEAREST, region, True, distance)
        nearest = f"; the nearest is {nearest_point[0]:.1f} km away" if nearest_point else ""
        raise NoCoverage(
            f"no authorised point covers this place for {category.value} {job_type.value} and none is "
            f"within {radius_km:g} km{nearest}",
            reason="no-point-within-radius", radius_km=radius_km,
            region_code=region.code if region is not None else None,
        )
    raise NoCoverage(
        f"no authorised point covers region {region.code} for {category.value} {job_type.value}; "
        "give the job's location to find the nearest point",
        reason="region-not-covered", region_code=region.code if region is not None else None,
    )
