"""Regions (province > city > district) and the district lookup by coordinates."""

from __future__ import annotations

import uuid
from typing import Any

from shapely.errors import GEOSException
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.network.common import check_version
from dispatch.network.index import DistrictIndex, network_index
from dispatch.network.models import Coverage, Region, RegionLevel
from dispatch.uow import UnitOfWork


def district_index(session: Session) -> DistrictIndex:
    """The index for the districts as they are now in ``session``'s database (the process's
    network index, :mod:`dispatch.network.index`, checked once per transaction)."""
    return network_index(session).districts


def district_at(session: Session, lat: float, lon: float) -> Region | None:
    """The district whose polygon contains (lat, lon), or None outside every boundary."""
    region_id = district_index(session).locate(lat, lon)
    return session.get(Region, region_id) if region_id is not None else None


# --- boundaries -----------------------------------------------------------------------------

OVERLAP_TOLERANCE = 1e-9  # square degrees (~0.01 m2): shared edges and rounding are not overlaps


def validate_boundary(boundary: Any) -> BaseGeometry:
    """A GeoJSON Polygon/MultiPolygon with closed rings, lon/lat in range, and no
    self-intersection; anything else is a 422 naming ``boundary``."""
    if not isinstance(boundary, dict) or boundary.get("type") not in {"Polygon", "MultiPolygon"}:
        raise ValidationFailed("boundary", "must be a GeoJSON Polygon or MultiPolygon geometry")
    coordinates = boundary.get("coordinates")
    polygons = [coordinates] if boundary["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise ValidationFailed("boundary", "coordinates are missing")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise ValidationFailed("boundary", "a polygon needs at least one ring")
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise ValidationFailed("boundary", "a ring needs at least 4 positions (closed)")
            for position in ring:
                if (not isinstance(position, list) or len(position) < 2
                        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)):
                    raise ValidationFailed("boundary", "a position is [lon, lat] in numbers")
                lon, lat = position[0], position[1]
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValidationFailed("boundary", f"position {position} is outside lon/lat range")
            if ring[0][:2] != ring[-1][:2]:
                raise ValidationFailed("boundary", "every ring must end where it starts (closed)")
    try:
        geometry = shape(boundary)
    except (ValueError, TypeError, IndexError, AttributeError, GEOSException) as exc:
        raise ValidationFailed("boundary", f"not a valid GeoJSON geometry ({exc})") from exc
    if not geometry.is_valid:
        raise ValidationFailed("boundary", f"invalid polygon: {explain_validity(geometry)}")
    if geometry.is_empty or geometry.area == 0:
        raise ValidationFailed("boundary", "the polygon encloses no area")
    return geometry


def _ensure_no_overlap(session: Session, region_id: uuid.UUID | None, geometry: BaseGeometry) -> None:
    """Districts tile the map: a point must fall in one district only, or routing is ambiguous."""
    index = district_index(session)
    for i in sorted(int(i) for i in index.tree.query(geometry, predicate="intersects")):
        if index.ids[i] == region_id:
            continue
        if geometry.intersection(index.geometries[i]).area > OVERLAP_TOLERANCE:
            raise Conflict(
                f"the boundary overlaps district {index.codes[i]}",
                conflicting_region_id=str(index.ids[i]),
                conflicting_region_code=index.codes[i],
            )


# --- use cases ------------------------------------------------------------------------------

PARENT_LEVEL = {RegionLevel.PROVINCE: None, RegionLevel.CITY: RegionLevel.PROVINCE,
                RegionLevel.DISTRICT: RegionLevel.CITY}


def list_regions(
    uow: UnitOfWork,
    actor: Principal,
    *,
    offset: int,
    limit: int,
    level: RegionLevel | None = None,
    parent_id: uuid.UUID | None = None,
    code: str | None = None,
    q: str | None = None,
) -> tuple[list[Region], int]:
    """The region tree is public inside the company: every signed-in role may read it."""
    with uow:
        query = select(Region).options(selectinload(Region.parent)).order_by(Region.code)
        if level is not None:
            query = query.where(Region.level == level)
        if parent_id is not None:
            query = query.where(Region.parent_id == parent_id)
        if code is not None:
            query = query.where(Region.code == code.upper())
        if q:
            pattern = f"%{q.lower()}%"
            query = query.where(or_(func.lower(Region.name).like(pattern), func.lower(Region.code).like(pattern)))
        return page(uow.session, query, offset=offset, limit=limit)


def get_region(uow: UnitOfWork, actor: Principal, region_id: uuid.UUID, *, to_edit: bool = False) -> Region:
    """One region; ``to_edit`` (the read before a PATCH/DELETE) first checks the caller may edit."""
    if to_edit:
        actor.require(Role.ADMIN)
    with uow:
        region = uow.session.get(Region, region_id, options=[selectinload(Region.parent)])
        if region is None:
            raise NotFound(f"region {region_id} does not exist")
        return region


def locate_district(uow: UnitOfWork, actor: Principal, *, lat: float, lon: float) -> Region:
    """The district at a location (what job intake does with a customer's pin)."""
    with uow:
        region = district_at(uow.session, lat, lon)
        if region is None:
            raise NotFound(f"no district boundary contains ({lat}, {lon})")
        return region


def _check_parent(session: Session, level: RegionLevel, parent_id: uuid.UUID | None) -> None:
    wanted = PARENT_LEVEL[level]
    if wanted is None:
        if parent_id is not None:
            raise ValidationFailed("parent_id", "a province has no parent")
        return
    if parent_id is None:
        raise ValidationFailed("parent_id", f"a {level.value} needs a parent {wanted.value}")
    parent = session.get(Region, parent_id)
    if parent is None:
        raise ValidationFailed("parent_id", f"region {parent_id} does not exist")
    if parent.level != wanted:
        raise ValidationFailed("parent_id", f"the parent of a {level.value} must be a {wanted.value}, "
                                            f"not a {parent.level.value}")


def _set_boundary(session: Session, region: Region, boundary: dict[str, Any] | None) -> None:
    if boundary is not None:
        if region.level != RegionLevel.DISTRICT:
            raise ValidationFailed("boundary", "only a district carries a boundary")
        _ensure_no_overlap(session, region.id, validate_boundary(boundary))
    region.boundary = boundary


def create_region(
    uow: UnitOfWork,
    actor: Principal,
    *,
    code: str,
    name: str,
    level: RegionLevel,
    parent_id: uuid.UUID | None = None,
    boundary: dict[str, Any] | None = None,
) -> Region:
    actor.require(Role.ADMIN)
    with uow:
        code = code.upper()
        if uow.session.scalar(select(Region.id).where(Region.code == code)) is not None:
            raise Conflict(f"region code {code} is taken")
        _check_parent(uow.session, level, parent_id)
        region = Region(id=uuid.uuid4(), code=code, name=name, level=level, parent_id=parent_id)
        _set_boundary(uow.session, region, boundary)
        uow.session.add(region)
        uow.commit()
    return region


def update_region(
    uow: UnitOfWork, actor: Principal, region_id: uuid.UUID, *, expected_version: int | None = None,
    **changes: Any,
) -> Region:
    """Rename a region or redraw a district (the code and the place in the tree are stable)."""
    actor.require(Role.ADMIN)
    with uow:
        region = _locked(uow.session, region_id)
        check_version(region, expected_version, f"region {region.code}")
        if "name" in changes:
            region.name = changes["name"]
        if "boundary" in changes:
            _set_boundary(uow.session, region, changes["boundary"])
        uow.commit()
    return region


def delete_region(uow: UnitOfWork, actor: Principal, region_id: uuid.UUID, *,
                  expected_version: int | None = None) -> None:
    """Only an unused region can go: no child regions, no coverage, no jobs (the jobs' foreign key
    refuses the delete, which the unit of work turns into a 409)."""
    actor.require(Role.ADMIN)
    with uow:
        region = _locked(uow.session, region_id)
        check_version(region, expected_version, f"region {region.code}")
        uses = {
            "child regions": select(func.count()).select_from(Region).where(Region.parent_id == region_id),
            "coverage rows": select(func.count()).select_from(Coverage).where(Coverage.region_id == region_id),
        }
        in_use = {what: n for what, query in uses.items() if (n := uow.session.scalar(query))}
        if in_use:
            listed = ", ".join(f"{n} {what}" for what, n in in_use.items())
            raise Conflict(f"region {region.code} is in use ({listed})", in_use=in_use)
        uow.session.delete(region)
        uow.commit()


def _locked(session: Session, region_id: uuid.UUID) -> Region:
    region = session.scalars(
        select(Region).where(Region.id == region_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if region is None:
        raise NotFound(f"region {region_id} does not exist")
    return region
