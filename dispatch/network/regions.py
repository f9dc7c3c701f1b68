"""Regions (province > city > district) and the district lookup by coordinates."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.network.models import Region, RegionLevel


@dataclass(frozen=True)
class DistrictIndex:
    """An STRtree over district boundaries; built from (id, code, GeoJSON) triples."""

    ids: tuple[uuid.UUID, ...]
    codes: tuple[str, ...]
    geometries: tuple[BaseGeometry, ...]
    tree: STRtree

    @classmethod
    def build(cls, rows: list[tuple[uuid.UUID, str, dict[str, Any]]]) -> DistrictIndex:
        rows = sorted(rows, key=lambda r: r[1])  # by code: a point on a shared edge resolves the same way
        geometries = tuple(shape(boundary) for _, _, boundary in rows)
        return cls(
            ids=tuple(r[0] for r in rows),
            codes=tuple(r[1] for r in rows),
            geometries=geometries,
            tree=STRtree(list(geometries)),
        )

    def locate(self, lat: float, lon: float) -> uuid.UUID | None:
        """The id of the district whose boundary covers (lat, lon); GeoJSON is (lon, lat)."""
        candidates = sorted(int(i) for i in self.tree.query(Point(lon, lat), predicate="intersects"))
        return self.ids[candidates[0]] if candidates else None


_cache_lock = threading.Lock()
_cache: dict[frozenset[tuple[uuid.UUID, int]], DistrictIndex] = {}


def district_index(session: Session) -> DistrictIndex:
    """The index for the districts as they are now in ``session``'s database.

    Keyed by every bounded district's (id, version): an edit bumps the version, so a changed,
    added or deleted boundary rebuilds the index while unchanged data reuses it.
    """
    key = frozenset(
        (rid, version)
        for rid, version in session.execute(
            select(Region.id, Region.version).where(
                Region.level == RegionLevel.DISTRICT, Region.boundary.is_not(None)
            )
        )
    )
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    rows = session.execute(
        select(Region.id, Region.code, Region.boundary).where(
            Region.level == RegionLevel.DISTRICT, Region.boundary.is_not(None)
        )
    ).all()
    index = DistrictIndex.build([tuple(r) for r in rows])
    with _cache_lock:
        _cache.clear()  # one live index is enough; old keys are stale data
        _cache[key] = index
    return index


def district_at(session: Session, lat: float, lon: float) -> Region | None:
    """The district whose polygon contains (lat, lon), or None outside every boundary."""
    region_id = district_index(session).locate(lat, lon)
    return session.get(Region, region_id) if region_id is not None else None
