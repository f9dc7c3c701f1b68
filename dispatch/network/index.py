"""The network as dispatch resolution reads it, kept in memory once per process.

What resolution needs is small and changes rarely: the district boundaries (an STRtree), every
region's code, each point's place, status, validity, categories and job types, and who covers
which (district, category). :func:`network_index` keeps one immutable :class:`NetworkIndex` per
process and checks it once per transaction against the ``network_versions`` row, whose random
token database triggers change on any write to regions, coverage, points or authorisation
changes (migration 0210), whatever process or statement made it. The check is one primary-key
read; a changed token rebuilds the index (three reads).

Consistency: the token is read before the rows it labels, so an index is never older than its
token says; a transaction that changed the network itself (its flush touched one of those tables)
rebuilds from its own view and keeps that index to itself, never publishing it to the process.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from typing import Any

from shapely import STRtree
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from dispatch.db import transaction_memo
from dispatch.network.enums import AuthorisationStatus, RegionLevel
from dispatch.network.models import (
    AuthorisationChange,
    Coverage,
    NetworkVersion,
    Region,
    ServicePoint,
)


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
        candidates = self.tree.query(Point(lon, lat), predicate="intersects")
        return self.ids[int(min(candidates))] if len(candidates) else None


@dataclass(frozen=True)
class RegionInfo:
    id: uuid.UUID
    code: str


@dataclass(frozen=True)
class PointInfo:
    """What routing reads of a service point (plain data; load the row by ``id`` to change it)."""

    id: uuid.UUID
    code: str
    lat: float
    lon: float
    status: AuthorisationStatus
    valid_from: date | None
    valid_until: date | None
    categories: frozenset[str]
    job_types: frozenset[str]

    def authorised_on(self, on: date) -> bool:
        """Active, and ``on`` inside the validity period (as ``service_points._authorised_on``)."""
        return (self.status == AuthorisationStatus.ACTIVE
                and (self.valid_from is None or self.valid_from <= on)
                and (self.valid_until is None or self.valid_until >= on))


@dataclass(frozen=True)
class NetworkIndex:
    token: str
    districts: DistrictIndex
    regions: dict[uuid.UUID, RegionInfo]
    region_codes: dict[str, RegionInfo]
    points: tuple[PointInfo, ...]  # by code
    covering: dict[tuple[uuid.UUID, str], tuple[PointInfo, ...]]  # (region id, category) -> points by code
    _active: dict[tuple[str, date], tuple[PointInfo, ...]] = field(default_factory=dict, compare=False)

    def covering_point(self, region_id: uuid.UUID, category: str, on: date) -> PointInfo | None:
        """The point authorised for the district and category on ``on`` (as
        ``service_points.authorised_point_for``: exclusive coverage leaves at most one)."""
        return next((p for p in self.covering.get((region_id, category), ()) if p.authorised_on(on)), None)

    def active_points(self, category: str, on: date) -> tuple[PointInfo, ...]:
        """Every point authorised for ``category`` on ``on``, by code (``active_points_for``)."""
        key = (category, on)
        points = self._active.get(key)
        if points is None:
            points = self._active[key] = tuple(p for p in self.points
                                               if p.authorised_on(on) and category in p.categories)
        return points


def _build(session: Session, token: str) -> NetworkIndex:
    regions = session.execute(select(Region.id, Region.code, Region.level, Region.boundary)).all()
    points = tuple(
        PointInfo(r.id, r.code, r.lat, r.lon, AuthorisationStatus(r.status), r.valid_from, r.valid_until,
                  frozenset(r.categories or ()), frozenset(r.job_types or ()))
        for r in session.execute(select(
            ServicePoint.id, ServicePoint.code, ServicePoint.lat, ServicePoint.lon, ServicePoint.status,
            ServicePoint.valid_from, ServicePoint.valid_until, ServicePoint.categories, ServicePoint.job_types,
        ).order_by(ServicePoint.code))
    )
    by_id = {p.id: p for p in points}
    covering: dict[tuple[uuid.UUID, str], list[PointInfo]] = {}
    for region_id, category, point_id in session.execute(
            select(Coverage.region_id, Coverage.category, Coverage.service_point_id)):
        covering.setdefault((region_id, str(getattr(category, "value", category))), []).append(by_id[point_id])
    infos = {r.id: RegionInfo(r.id, r.code) for r in regions}
    return NetworkIndex(
        token=token,
        districts=DistrictIndex.build([(r.id, r.code, r.boundary) for r in regions
                                       if r.level == RegionLevel.DISTRICT and r.boundary is not None]),
        regions=infos,
        region_codes={info.code: info for info in infos.values()},
        points=points,
        covering={key: tuple(sorted(found, key=lambda p: p.code)) for key, found in covering.items()},
    )


_MEMO = "network_index"  # transaction_memo: {"index": NetworkIndex, "changed": bool}
_MODELS = (Region, Coverage, ServicePoint, AuthorisationChange)
_lock = threading.Lock()
_TOKEN = select(NetworkVersion.__table__.c.token).where(NetworkVersion.__table__.c.id == 1)
_current: list[NetworkIndex] = []  # the process's index (at most one)


def network_index(session: Session) -> NetworkIndex:
    """The network as ``session``'s transaction sees it: the process's index when its token is
    current (checked once per transaction), else one rebuilt from this transaction's reads."""
    if session.autoflush:
        session.flush()  # as an ORM query would: pending network changes count (the listener sees them)
    memo = transaction_memo(session, _MEMO)
    index = memo.get("index")
    if index is None:
        index = memo["index"] = _current_or_rebuilt(session, publish=not memo.get("changed"))
    return index


def _current_or_rebuilt(session: Session, *, publish: bool) -> NetworkIndex:
    token = session.connection().execute(_TOKEN).scalar()  # Core: a third of the ORM query's CPU
    with _lock:
        current = _current[0] if _current else None
    if current is not None and current.token == token:
        return current
    index = _build(session, token or "")
    if publish:
        with _lock:
            _current[:] = [index]
    return index


def _network_changed(session: Session, _context) -> None:
    """After a flush that wrote the network: this transaction re-reads it (its own view) from
    now on and never publishes what it reads to the process."""
    if any(isinstance(obj, _MODELS) for obj in chain(session.new, session.dirty, session.deleted)):
        memo = transaction_memo(session, _MEMO)
        memo.pop("index", None)
        memo["changed"] = True


def install() -> None:
    """Attach the flush listener above (idempotent; :mod:`dispatch.wiring` calls it)."""
    if not installed():
        event.listen(Session, "after_flush", _network_changed)


def installed() -> bool:
    return event.contains(Session, "after_flush", _network_changed)
