"""Which authorised service point gets a job, and why.

Region code if the caller gave one; else the district whose polygon contains the location (the
network's STRtree index); then the point authorised for that region and the product's category on
that day. All of it is read from the process's network index (:mod:`dispatch.network.index`),
rebuilt when a region, coverage or authorisation changes. When nobody covers it, the nearest authorised
point for the category within the fallback radius takes the job, marked out of area.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from dispatch.errors import RuleViolation, ValidationFailed
from dispatch.geo import Location, great_circle_km
from dispatch.jobs.models import DispatchReason
from dispatch.network.index import PointInfo, RegionInfo, network_index
from dispatch.network.models import JobType, ProductCategory, Region, ServicePoint


class NoCoverage(RuleViolation):
    """No authorised point covers the place, and none is near enough (HTTP 422)."""

    code = "no-coverage"
    title = "No service point covers this location"


@dataclass(frozen=True)
class DispatchDecision:
    """Plain data from the process's network index: load ``service_point_in(session)`` to write."""

    service_point: PointInfo
    reason: DispatchReason
    region: RegionInfo | None
    out_of_area: bool
    distance_km: float | None

    def service_point_in(self, session: Session) -> ServicePoint:
        return session.get_one(ServicePoint, self.service_point.id)

    def region_in(self, session: Session) -> Region | None:
        return session.get_one(Region, self.region.id) if self.region is not None else None


def distance_km(location: Location | None, point: ServicePoint | PointInfo) -> float | None:
    """Straight-line distance from the job to the point (:mod:`dispatch.geo`), to the metre."""
    if location is None:
        return None
    return round(great_circle_km(location.lat, location.lon, point.lat, point.lon), 3)


def _nearest(location: Location, points: Iterable[PointInfo]) -> tuple[float, PointInfo] | None:
    """The closest point (ties by code)."""
    ranked = [(distance_km(location, p), p.code, p) for p in points]
    if not ranked:
        return None
    distance, _, point = min(ranked, key=lambda r: (r[0], r[1]))
    return distance, point


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
    """Decide the point for a job of ``category``/``job_type`` reported on ``on`` (local date),
    from the network index in memory (:func:`dispatch.network.index.network_index`: one read of
    the network's version per transaction).

    Raises ValidationFailed("region_code") for an unknown code, ValidationFailed("location")
    when there is nothing to locate the job by, and NoCoverage when no point can take it.
    """
    network = network_index(session)
    category = ProductCategory(category)
    region: RegionInfo | None = None
    reason = DispatchReason.REGION_CODE
    if region_code:
        region = network.region_codes.get(region_code)
        if region is None:
            raise ValidationFailed("region_code", f"no region has the code {region_code!r}")
    elif location is not None:
        reason = DispatchReason.POLYGON
        region_id = network.districts.locate(location.lat, location.lon)
        region = network.regions[region_id] if region_id is not None else None
    else:
        raise ValidationFailed("location", "give the job's location or a region_code")

    if region is not None:
        point = network.covering_point(region.id, category.value, on)
        if point is not None and job_type.value in point.job_types:
            return DispatchDecision(point, reason, region, False, distance_km(location, point))

    if location is not None:
        nearest_point = _nearest(location, (p for p in network.active_points(category.value, on)
                                            if job_type.value in p.job_types))
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
