"""Reading route plans: the views the API shows (routes with local ETAs, unassigned jobs with
reasons, the map) and the loaders that check the caller may see a plan or a point."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import NotFound
from dispatch.network.models import Coverage, Region, ServicePoint
from dispatch.routing.models import PlannedRoute, PlannedStop, PlanStatus, RoutePlan, UnassignedJob
from dispatch.routing.plan_map import MapDistrict, MapRoute, MapStop, render_plan_map
from dispatch.uow import UnitOfWork

#: Roles that may read plans (managers their own point's); HQ reviewers read everything.
READERS = (Role.ADMIN, Role.REVIEWER, Role.MANAGER)


def load_point(session: Session, actor: Principal, point_id: uuid.UUID) -> ServicePoint:
    """The service point, if it exists and the caller may see it (404 otherwise)."""
    point = session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound(f"service point {point_id} does not exist")
    actor.ensure_point(point.id, f"service point {point_id}")
    return point


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class StopView:
    sequence: int
    job_id: uuid.UUID
    job_reference: str
    priority: str
    location: Point
    arrival_at: datetime
    start_at: datetime
    finish_at: datetime
    wait_s: int
    travel_s: int
    distance_m: int
    pinned: bool


@dataclass(frozen=True)
class RouteView:
    technician_id: uuid.UUID
    technician_name: str
    start: Point
    end: Point
    shift_start_at: datetime
    shift_end_at: datetime
    leave_at: datetime
    return_at: datetime
    break_start_at: datetime | None
    break_minutes: int
    distance_m: int
    travel_s: int
    return_travel_s: int
    return_distance_m: int
    stops: tuple[StopView, ...]


@dataclass(frozen=True)
class UnassignedView:
    job_id: uuid.UUID
    job_reference: str
    priority: str
    location: Point | None
    reason: str
    detail: str


@dataclass(frozen=True)
class PlanView:
    """A plan as the API shows it: the stored row plus aware local times for every stop."""

    id: uuid.UUID
    service_point_id: uuid.UUID
    date: date
    timezone: str
    status: PlanStatus
    progress: int
    time_limit_s: int
    seed: int
    input_hash: str
    attempts: int
    error: str | None
    stats: dict[str, Any]
    requested_at: datetime
    finished_at: datetime | None
    applied_at: datetime | None
    revision: int
    insertions: list[Any]
    routes: tuple[RouteView, ...] = ()
    unassigned: tuple[UnassignedView, ...] = ()


def summary_view(plan: RoutePlan, now: datetime) -> PlanView:
    """The plan's row as the API shows it, without routes (lists, the answer to a request)."""
    return PlanView(
        id=plan.id, service_point_id=plan.service_point_id, date=plan.service_day, timezone=plan.timezone,
        status=plan.status, progress=plan.progress_at(now), time_limit_s=plan.time_limit_s, seed=plan.seed,
        input_hash=plan.input_hash, attempts=plan.attempts, error=plan.error, stats=plan.stats,
        requested_at=plan.created_at, finished_at=plan.finished_at, applied_at=plan.applied_at,
        revision=plan.revision, insertions=plan.insertions,
    )


def detail_view(plan: RoutePlan, now: datetime) -> PlanView:
    """The plan with its routes and unassigned jobs (load it with ``load_plan(..., detail=True)``)."""
    at = plan.local_time
    routes = []
    for route in plan.routes:
        stops = tuple(
            StopView(
                sequence=stop.sequence, job_id=stop.job_id, job_reference=stop.job.reference,
                priority=stop.job.priority.value, location=Point(stop.lat, stop.lon),
                arrival_at=at(stop.arrival_s), start_at=at(stop.start_s), finish_at=at(stop.finish_s),
                wait_s=stop.start_s - stop.arrival_s, travel_s=stop.travel_s, distance_m=stop.distance_m,
                pinned=stop.pinned,
            )
            for stop in route.stops
        )
        routes.append(RouteView(
            technician_id=route.technician_id, technician_name=route.technician.name,
            start=Point(route.start_lat, route.start_lon), end=Point(route.end_lat, route.end_lon),
            shift_start_at=at(route.shift_start_s), shift_end_at=at(route.shift_end_s),
            leave_at=at(route.start_s), return_at=at(route.end_s),
            break_start_at=at(route.break_start_s), break_minutes=route.break_s // 60,
            distance_m=route.distance_m, travel_s=route.travel_s,
            return_travel_s=route.travel_s - sum(s.travel_s for s in stops),
            return_distance_m=route.distance_m - sum(s.distance_m for s in stops),
            stops=stops,
        ))
    unassigned = tuple(
        UnassignedView(
            job_id=item.job_id, job_reference=item.job.reference, priority=item.job.priority.value,
            location=Point(item.job.lat, item.job.lon) if item.job.lat is not None and item.job.lon is not None
            else None,
            reason=item.reason, detail=item.detail,
        )
        for item in plan.unassigned
    )
    head = summary_view(plan, now)
    return PlanView(**{**head.__dict__, "routes": tuple(routes), "unassigned": unassigned})


_DETAIL = (
    selectinload(RoutePlan.routes).selectinload(PlannedRoute.stops).selectinload(PlannedStop.job),
    selectinload(RoutePlan.routes).selectinload(PlannedRoute.technician),
    selectinload(RoutePlan.unassigned).selectinload(UnassignedJob.job),
)


def load_plan(session: Session, actor: Principal, plan_id: uuid.UUID, *, detail: bool = False,
              for_update: bool = False) -> RoutePlan:
    """The plan, if the caller may see it (404 otherwise); ``detail`` loads routes, stops and jobs,
    ``for_update`` locks the row."""
    query = select(RoutePlan).where(RoutePlan.id == plan_id).execution_options(populate_existing=True)
    if detail:
        query = query.options(*_DETAIL)
    if for_update:
        query = query.with_for_update()
    plan = session.scalar(query)
    if plan is None:
        raise NotFound(f"route plan {plan_id} does not exist")
    actor.ensure_point(plan.service_point_id, f"route plan {plan_id}")
    return plan


def get_plan(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID) -> PlanView:
    """One plan with its routes (stops with local ETAs) and the jobs it leaves out."""
    actor.require(*READERS)
    with uow:
        return detail_view(load_plan(uow.session, actor, plan_id, detail=True), utcnow())


def list_plans(uow: UnitOfWork, actor: Principal, *, point_id: uuid.UUID, day: date | None = None,
               status: PlanStatus | None = None, offset: int = 0, limit: int = 20) -> tuple[list[PlanView], int]:
    """The point's plans, newest first."""
    actor.require(*READERS)
    with uow:
        load_point(uow.session, actor, point_id)
        conditions = [RoutePlan.service_point_id == point_id]
        if day is not None:
            conditions.append(RoutePlan.service_day == day)
        if status is not None:
            conditions.append(RoutePlan.status == status)
        plans, total = page(uow.session, select(RoutePlan).where(*conditions)
                            .order_by(RoutePlan.created_at.desc(), RoutePlan.id), offset=offset, limit=limit)
        now = utcnow()
        return [summary_view(plan, now) for plan in plans], total


def _districts(session: Session, point_id: uuid.UUID) -> list[MapDistrict]:
    """The point's districts (the regions it is authorised for) as map polygons."""
    regions = session.scalars(select(Region).join(Coverage, Coverage.region_id == Region.id)
                              .where(Coverage.service_point_id == point_id).distinct().order_by(Region.code)).all()
    found = []
    for region in regions:
        shape = region.boundary or {}
        polygons = shape.get("coordinates", []) if shape.get("type") == "MultiPolygon" else \
            [shape.get("coordinates", [])] if shape.get("type") == "Polygon" else []
        rings = tuple(tuple((lat, lon) for lon, lat, *_ in polygon[0]) for polygon in polygons if polygon)
        if rings:
            found.append(MapDistrict(region.name, rings))
    return found


def plan_map_svg(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID) -> str:
    """The plan drawn as SVG over the point's districts: one coloured route per technician, numbered
    stops labelled with their planned times, left-out jobs with their reasons."""
    view = get_plan(uow, actor, plan_id)
    with uow:
        districts = _districts(uow.session, view.service_point_id)
    routes = [
        MapRoute(
            label=route.technician_name,
            start=(route.start.lat, route.start.lon),
            end=(route.end.lat, route.end.lon),
            stops=tuple(MapStop(stop.sequence, stop.job_reference, (stop.location.lat, stop.location.lon),
                                time=f"{stop.start_at:%H:%M}")
                        for stop in route.stops),
        )
        for route in view.routes
    ]
    left_out = [MapStop(0, item.job_reference, (item.location.lat, item.location.lon), reason=item.detail or item.reason)
                for item in view.unassigned if item.location is not None]
    title = f"Route plan {view.date.isoformat()} ({view.status.value})"
    return render_plan_map(routes, left_out, title=title, districts=districts)
