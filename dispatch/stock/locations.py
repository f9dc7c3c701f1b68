"""Stock locations: the HQ warehouse, one per service point, one van per technician.

Points and technicians belong to the network domain; their stock locations are created on
first use (get-or-create on a unique key, safe under concurrency) so that the two domains stay
decoupled. Who sees which location's stock is decided here too.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from dispatch.auth.models import Role, User
from dispatch.auth.principal import Principal
from dispatch.errors import NotFound
from dispatch.network.models import ServicePoint, Technician
from dispatch.stock.ledger import dialect_insert
from dispatch.stock.models import LocationKind, StockLocation

HQ_CODE = "HQ"
HQ_NAME = "HQ central warehouse"


def _get_or_create(session: Session, where: ColumnElement[bool], **values) -> StockLocation:
    location = session.scalar(select(StockLocation).where(where))
    if location is not None:
        return location
    insert = dialect_insert(session)
    session.execute(insert(StockLocation).values(id=uuid.uuid4(), **values).on_conflict_do_nothing())
    return session.scalars(select(StockLocation).where(where)).one()


def hq_location(session: Session) -> StockLocation:
    return _get_or_create(session, StockLocation.code == HQ_CODE, code=HQ_CODE, name=HQ_NAME, kind=LocationKind.HQ)


def point_location(session: Session, service_point_id: uuid.UUID) -> StockLocation:
    location = session.scalar(select(StockLocation).where(StockLocation.kind == LocationKind.POINT,
                                                          StockLocation.service_point_id == service_point_id))
    if location is not None:
        return location
    point = session.get(ServicePoint, service_point_id)
    if point is None:
        raise NotFound(f"service point {service_point_id} does not exist")
    return _get_or_create(session, StockLocation.code == point.code, code=point.code,
                          name=f"{point.name} store room", kind=LocationKind.POINT, service_point_id=point.id)


def van_location(session: Session, technician_id: uuid.UUID) -> StockLocation:
    location = session.scalar(select(StockLocation).where(StockLocation.technician_id == technician_id))
    if location is not None:
        return location
    row = session.execute(select(Technician, User.username).join(User, User.id == Technician.user_id)
                          .where(Technician.id == technician_id)).first()
    if row is None:
        raise NotFound(f"technician {technician_id} does not exist")
    technician, username = row
    return _get_or_create(session, StockLocation.technician_id == technician_id, code=f"VAN-{username}",
                          name=f"Van of {technician.name}", kind=LocationKind.VAN,
                          service_point_id=technician.service_point_id, technician_id=technician.id)


def ensure_network_locations(session: Session, service_point_id: uuid.UUID | None = None) -> int:
    """Create the HQ, point and van locations that do not exist yet (for one point, or all).

    Returns how many were created. Lists call it so that a new point or technician shows up.
    """
    created = 0
    if session.scalar(select(StockLocation.id).where(StockLocation.code == HQ_CODE)) is None:
        hq_location(session)
        created += 1
    points = select(ServicePoint.id).where(
        ~select(StockLocation.id).where(StockLocation.kind == LocationKind.POINT,
                                        StockLocation.service_point_id == ServicePoint.id).exists())
    technicians = select(Technician.id).where(
        ~select(StockLocation.id).where(StockLocation.technician_id == Technician.id).exists())
    if service_point_id is not None:
        points = points.where(ServicePoint.id == service_point_id)
        technicians = technicians.where(Technician.service_point_id == service_point_id)
    for point_id in session.scalars(points).all():
        point_location(session, point_id)
        created += 1
    for technician_id in session.scalars(technicians).all():
        van_location(session, technician_id)
        created += 1
    return created


def stock_scope(actor: Principal, entity=StockLocation) -> ColumnElement[bool]:
    """The locations whose stock the caller sees: HQ all; a manager their point and its vans;
    a technician their own van. ``entity`` may be an alias of StockLocation."""
    if actor.is_hq:
        return true()
    if actor.role == Role.MANAGER and actor.service_point_id is not None:
        return entity.service_point_id == actor.service_point_id
    if actor.role == Role.TECHNICIAN and actor.technician_id is not None:
        return entity.technician_id == actor.technician_id
    return false()


def sees_stock(actor: Principal, location: StockLocation) -> bool:
    if actor.is_hq:
        return True
    if actor.role == Role.MANAGER:
        return location.service_point_id is not None and location.service_point_id == actor.service_point_id
    if actor.role == Role.TECHNICIAN:
        return location.technician_id is not None and location.technician_id == actor.technician_id
    return False


def address_scope(actor: Principal) -> ColumnElement[bool]:
    """The locations the caller may name (list, send to): those whose stock they see, plus HQ
    (anyone may send stock back to HQ) and, for a technician, their own point."""
    scope = or_(stock_scope(actor), StockLocation.kind == LocationKind.HQ)
    if actor.role == Role.TECHNICIAN and actor.service_point_id is not None:
        scope = or_(scope, (StockLocation.kind == LocationKind.POINT)
                    & (StockLocation.service_point_id == actor.service_point_id))
    return scope


def may_address(actor: Principal, location: StockLocation) -> bool:
    return (
        sees_stock(actor, location)
        or location.kind == LocationKind.HQ
        or (actor.role == Role.TECHNICIAN and location.kind == LocationKind.POINT
            and location.service_point_id == actor.service_point_id)
    )


def resolve(session: Session, actor: Principal, ref: uuid.UUID | str, *, stock: bool = True) -> StockLocation:
    """A location by id or code that the caller may see (``stock``) or name; otherwise 404."""
    if isinstance(ref, uuid.UUID):
        location = session.get(StockLocation, ref)
    else:
        try:
            location = session.get(StockLocation, uuid.UUID(ref))
        except ValueError:
            location = session.scalar(select(StockLocation).where(StockLocation.code == ref))
    allowed = location is not None and (sees_stock(actor, location) if stock else may_address(actor, location))
    if not allowed:
        raise NotFound(f"stock location {ref} does not exist")
    return location
