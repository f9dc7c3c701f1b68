"""Stock use cases outside jobs: receive into HQ, transfer and confirm receipt, count adjustments,
defective returns, min/max limits, and the scoped views of levels, movements and transfers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, aliased, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dispatch.stock import ledger, locations
from dispatch.stock.catalogue import resolve_part
from dispatch.stock.ledger import Delta, actor_id_of
from dispatch.stock.models import (
    LocationKind,
    MovementKind,
    Part,
    StockLevel,
    StockLocation,
    StockMovement,
    StockTransfer,
    StockTransferLine,
    TransferStatus,
)
from dispatch.uow import UnitOfWork

WRITERS = (Role.ADMIN, Role.MANAGER, Role.TECHNICIAN)


@dataclass(frozen=True)
class PartRef:
    """A part named in a request by id or SKU, with a quantity."""

    quantity: int
    part_id: uuid.UUID | None = None
    part_sku: str | None = None


def _operable(session: Session, actor: Principal, ref: uuid.UUID | str) -> StockLocation:
    """A location the caller may take stock out of: HQ any; a manager their point and its vans;
    a technician their van. Others answer 404 (unseen) or 403 (reviewers)."""
    actor.require(*WRITERS)
    return locations.resolve(session, actor, ref, stock=True)


def _lines(session: Session, refs: Sequence[PartRef], field: str = "lines") -> list[tuple[Part, int]]:
    if not refs:
        raise ValidationFailed(field, "name at least one part")
    lines: list[tuple[Part, int]] = []
    for index, ref in enumerate(refs):
        part = resolve_part(session, part_id=ref.part_id, part_sku=ref.part_sku, prefix=f"{field}.{index}.")
        if ref.quantity <= 0:
            raise ValidationFailed(f"{field}.{index}.quantity", "must be at least 1")
        if any(p.id == part.id for p, _ in lines):
            raise ValidationFailed(f"{field}.{index}", f"part {part.sku} is listed twice")
        lines.append((part, ref.quantity))
    return lines


def receive(uow: UnitOfWork, actor: Principal, *, lines: Sequence[PartRef], reference: str = "",
            reason: str = "") -> list[StockMovement]:
    """Goods from a supplier arrive at the HQ warehouse (HQ only)."""
    actor.require(Role.ADMIN)
    with uow:
        hq = locations.hq_location(uow.session)
        parts = _lines(uow.session, lines)
        for index, (part, _) in enumerate(parts):
            if not part.active:
                raise ValidationFailed(f"lines.{index}.part_sku", f"part {part.sku} is no longer in the catalogue")
        rows = ledger.post(uow.session, kind=MovementKind.RECEIVE, actor_id=actor_id_of(actor), subject_id=hq.id,
                           reference=reference, reason=reason,
                           deltas=[Delta(hq.id, part.id, qty, on_hand=qty) for part, qty in parts])
        uow.commit()
    return rows


def _may_send_to(actor: Principal, source: StockLocation, destination: StockLocation) -> bool:
    if actor.is_hq:
        return True
    if actor.role == Role.TECHNICIAN:  # a technician hands stock back to their own point
        return destination.kind == LocationKind.POINT and destination.service_point_id == actor.service_point_id
    return locations.may_address(actor, destination)


def dispatch_transfer(uow: UnitOfWork, actor: Principal, *, from_location: uuid.UUID | str,
                      to_location: uuid.UUID | str, lines: Sequence[PartRef], note: str = "") -> StockTransfer:
    """Send stock: it leaves the source's available stock now and is in transit at the
    destination until the receiver confirms (409 and nothing changes if the source lacks it)."""
    with uow:
        source = _operable(uow.session, actor, from_location)
        destination = locations.resolve(uow.session, actor, to_location, stock=False)
        if destination.id == source.id:
            raise ValidationFailed("to_location", "source and destination are the same location")
        if not _may_send_to(actor, source, destination):
            raise Forbidden(f"you may not send stock to {destination.code}")
        parts = _lines(uow.session, lines)
        transfer = StockTransfer(id=uuid.uuid4(), from_location_id=source.id, to_location_id=destination.id,
                                 note=note, dispatched_at=utcnow(), dispatched_by=actor_id_of(actor),
                                 lines=[StockTransferLine(part_id=part.id, quantity=qty) for part, qty in parts])
        uow.session.add(transfer)
        deltas = []
        for part, qty in parts:
            deltas.append(Delta(source.id, part.id, qty, on_hand=-qty, counterpart_location_id=destination.id))
            deltas.append(Delta(destination.id, part.id, qty, in_transit=qty, counterpart_location_id=source.id))
        ledger.post(uow.session, kind=MovementKind.TRANSFER, deltas=deltas, actor_id=actor_id_of(actor),
                    subject_id=transfer.id, transfer_id=transfer.id, reason=note)
        uow.commit()
    return transfer


def _may_receive(actor: Principal, destination: StockLocation) -> bool:
    if actor.is_admin:
        return True
    if actor.role == Role.MANAGER:
        return destination.service_point_id is not None and destination.service_point_id == actor.service_point_id
    if actor.role == Role.TECHNICIAN:
        return destination.technician_id is not None and destination.technician_id == actor.technician_id
    return False


def _transfer_query():
    return select(StockTransfer).options(
        selectinload(StockTransfer.lines).joinedload(StockTransferLine.part),
        joinedload(StockTransfer.from_location), joinedload(StockTransfer.to_location),
    )


def _visible_transfer(session: Session, actor: Principal, transfer_id: uuid.UUID) -> StockTransfer:
    transfer = session.scalar(_transfer_query().where(StockTransfer.id == transfer_id))
    if transfer is None or not (locations.sees_stock(actor, transfer.from_location)
                                or locations.sees_stock(actor, transfer.to_location)):
        raise NotFound(f"transfer {transfer_id} does not exist")
    return transfer


def confirm_receipt(uow: UnitOfWork, actor: Principal, transfer_id: uuid.UUID) -> StockTransfer:
    """The receiver confirms a transfer arrived: in transit becomes on hand, once."""
    with uow:
        transfer = _visible_transfer(uow.session, actor, transfer_id)
        if not _may_receive(actor, transfer.to_location):
            raise Forbidden(f"only the receiving side ({transfer.to_location.code}) confirms this transfer")
        now = utcnow()
        claimed = uow.session.execute(
            update(StockTransfer)
            .where(StockTransfer.id == transfer.id, StockTransfer.status == TransferStatus.IN_TRANSIT)
            .values(status=TransferStatus.RECEIVED, received_at=now, received_by=actor_id_of(actor), updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise Conflict(f"transfer {transfer.id} was already received",
                           transfer_status=TransferStatus.RECEIVED.value)
        # The object as the UPDATE left the row (instead of reading it again after the commit).
        for name, value in (("status", TransferStatus.RECEIVED), ("received_at", now),
                            ("received_by", actor_id_of(actor)), ("updated_at", now)):
            set_committed_value(transfer, name, value)
        ledger.post(uow.session, kind=MovementKind.TRANSFER_RECEIPT, actor_id=actor_id_of(actor),
                    subject_id=transfer.id, transfer_id=transfer.id,
                    deltas=[Delta(transfer.to_location_id, line.part_id, line.quantity, in_transit=-line.quantity,
                                  on_hand=line.quantity, counterpart_location_id=transfer.from_location_id)
                            for line in transfer.lines])
        uow.commit()
    return transfer


def adjust(uow: UnitOfWork, actor: Principal, *, location: uuid.UUID | str, reason: str,
           part_id: uuid.UUID | None = None, part_sku: str | None = None, counted: int | None = None,
           delta: int | None = None, expected_version: int | None = None) -> StockMovement:
    """Correct the on-hand count after a stock take (admin, or the manager of the location).

    Give ``counted`` (what is physically there) or ``delta`` (signed change). ``expected_version``
    (the level's version when the count started) refuses the adjustment with 412 if stock moved
    in the meantime. On hand can never drop below what is reserved for jobs (409).
    """
    actor.require(Role.ADMIN, Role.MANAGER)
    if (counted is None) == (delta is None):
        raise ValidationFailed("counted", "give exactly one of counted or delta")
    if not reason.strip():
        raise ValidationFailed("reason", "an adjustment needs a reason")
    with uow:
        where = locations.resolve(uow.session, actor, location)
        part = resolve_part(uow.session, part_id=part_id, part_sku=part_sku)
        level = uow.session.scalar(
            select(StockLevel).where(StockLevel.location_id == where.id, StockLevel.part_id == part.id)
            .execution_options(populate_existing=True))
        on_hand = level.on_hand if level else 0
        change = counted - on_hand if counted is not None else delta
        if change == 0:
            raise ValidationFailed("counted" if counted is not None else "delta",
                                   "nothing to adjust: the count matches the recorded stock")
        # Applied only if the level is still what was read (and what the counter saw).
        guard = Delta(where.id, part.id, abs(change), on_hand=change,
                      expect_on_hand=on_hand if counted is not None else None, expect_version=expected_version)
        [row] = ledger.post(uow.session, kind=MovementKind.ADJUST, actor_id=actor_id_of(actor), subject_id=where.id,
                            reason=reason.strip(), deltas=[guard])
        uow.commit()
    return row


def return_defective(uow: UnitOfWork, actor: Principal, *, location: uuid.UUID | str, quantity: int, reason: str,
                     part_id: uuid.UUID | None = None, part_sku: str | None = None) -> list[StockMovement]:
    """Defective stock leaves a location's usable stock and goes to HQ's defective bin."""
    if not reason.strip():
        raise ValidationFailed("reason", "say what is wrong with the part")
    with uow:
        source = _operable(uow.session, actor, location)
        part = resolve_part(uow.session, part_id=part_id, part_sku=part_sku)
        if quantity <= 0:
            raise ValidationFailed("quantity", "must be at least 1")
        hq = locations.hq_location(uow.session)
        rows = ledger.post(
            uow.session, kind=MovementKind.RETURN_DEFECTIVE, actor_id=actor_id_of(actor), subject_id=source.id,
            reason=reason.strip(),
            deltas=[Delta(source.id, part.id, quantity, on_hand=-quantity, counterpart_location_id=hq.id),
                    Delta(hq.id, part.id, quantity, defective=quantity, counterpart_location_id=source.id)],
        )
        uow.commit()
    return rows


def set_limits(uow: UnitOfWork, actor: Principal, *, location: uuid.UUID | str, min_level: int | None,
               max_level: int | None, part_id: uuid.UUID | None = None, part_sku: str | None = None) -> StockLevel:
    """Min/max for replenishment (admin anywhere; a manager for their point and its vans)."""
    actor.require(Role.ADMIN, Role.MANAGER)
    if min_level is not None and min_level < 0:
        raise ValidationFailed("min_level", "cannot be negative")
    if max_level is not None and (max_level < 0 or (min_level is not None and max_level < min_level)):
        raise ValidationFailed("max_level", "must be at least min_level")
    if max_level is not None and min_level is None:
        raise ValidationFailed("min_level", "a maximum needs a minimum (the level that triggers a refill)")
    with uow:
        where = locations.resolve(uow.session, actor, location)
        part = resolve_part(uow.session, part_id=part_id, part_sku=part_sku)
        insert = ledger.dialect_insert(uow.session)
        uow.session.execute(insert(StockLevel).values(location_id=where.id, part_id=part.id, on_hand=0, reserved=0,
                                                      in_transit=0, defective=0, version=0, updated_at=utcnow())
                            .on_conflict_do_nothing())
        uow.session.info.pop(ledger.LEVELS_AFTER, None)  # the minimum changes: what an UPDATE returned is stale
        uow.session.execute(update(StockLevel)
                            .where(StockLevel.location_id == where.id, StockLevel.part_id == part.id)
                            .values(min_level=min_level, max_level=max_level, version=StockLevel.version + 1,
                                    updated_at=utcnow())
                            .execution_options(synchronize_session=False))
        uow.commit()
        query = _levels_query().where(StockLevel.location_id == where.id, StockLevel.part_id == part.id)
        return uow.session.scalars(query.execution_options(populate_existing=True)).one()


def _levels_query():
    return (select(StockLevel).join(StockLocation, StockLocation.id == StockLevel.location_id)
            .join(Part, Part.id == StockLevel.part_id)
            .options(joinedload(StockLevel.location), joinedload(StockLevel.part)))


def list_levels(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int, location: str | None = None,
                part_sku: str | None = None, low_only: bool = False,
                include_vans: bool = True) -> tuple[list[StockLevel], int]:
    """Stock levels the caller sees; a point's view includes its vans unless ``include_vans`` is off."""
    with uow:
        query = _levels_query().where(locations.stock_scope(actor))
        if location is not None:
            where = locations.resolve(uow.session, actor, location)
            if where.kind == LocationKind.POINT and include_vans:
                query = query.where(StockLocation.service_point_id == where.service_point_id)
            else:
                query = query.where(StockLocation.id == where.id)
        if part_sku:
            query = query.where(Part.sku == part_sku)
        if low_only:
            query = query.where(StockLevel.min_level.is_not(None),
                                StockLevel.on_hand - StockLevel.reserved + StockLevel.in_transit
                                <= StockLevel.min_level)
        return page(uow.session, query.order_by(StockLocation.kind, StockLocation.code, Part.sku)
                    .execution_options(populate_existing=True), offset=offset, limit=limit)


def list_movements(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int, location: str | None = None,
                   part_sku: str | None = None, kind: MovementKind | None = None, job_id: uuid.UUID | None = None,
                   transfer_id: uuid.UUID | None = None) -> tuple[list[StockMovement], int]:
    """The ledger rows of the locations the caller sees, newest first."""
    with uow:
        query = (select(StockMovement).join(StockLocation, StockLocation.id == StockMovement.location_id)
                 .join(Part, Part.id == StockMovement.part_id).where(locations.stock_scope(actor))
                 .options(joinedload(StockMovement.location), joinedload(StockMovement.part)))
        if location is not None:
            query = query.where(StockMovement.location_id == locations.resolve(uow.session, actor, location).id)
        if part_sku:
            query = query.where(Part.sku == part_sku)
        if kind is not None:
            query = query.where(StockMovement.kind == kind)
        if job_id is not None:
            query = query.where(StockMovement.job_id == job_id)
        if transfer_id is not None:
            query = query.where(StockMovement.transfer_id == transfer_id)
        return page(uow.session, query.order_by(StockMovement.at.desc(), StockMovement.id),
                    offset=offset, limit=limit)


def list_transfers(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int,
                   status: TransferStatus | None = None, location: str | None = None
                   ) -> tuple[list[StockTransfer], int]:
    """Transfers with at least one end the caller sees (either end for ``location``)."""
    with uow:
        source, destination = aliased(StockLocation), aliased(StockLocation)
        query = (_transfer_query().join(source, source.id == StockTransfer.from_location_id)
                 .join(destination, destination.id == StockTransfer.to_location_id))
        if not actor.is_hq:
            query = query.where(or_(locations.stock_scope(actor, source), locations.stock_scope(actor, destination)))
        if status is not None:
            query = query.where(StockTransfer.status == status)
        if location is not None:
            where = locations.resolve(uow.session, actor, location, stock=False)
            query = query.where(or_(StockTransfer.from_location_id == where.id,
                                    StockTransfer.to_location_id == where.id))
        return page(uow.session, query.order_by(StockTransfer.dispatched_at.desc(), StockTransfer.id),
                    offset=offset, limit=limit)


def get_transfer(uow: UnitOfWork, actor: Principal, transfer_id: uuid.UUID) -> StockTransfer:
    with uow:
        return _visible_transfer(uow.session, actor, transfer_id)


def list_locations(uow: UnitOfWork, actor: Principal, *, kind: LocationKind | None = None
                   ) -> list[StockLocation]:
    """Locations the caller may name. Vans of new technicians (and new points) appear here:
    their locations are created on first use, this listing being one."""
    with uow:
        if locations.ensure_network_locations(uow.session, None if actor.is_hq else actor.service_point_id):
            uow.commit()
        query = select(StockLocation).where(locations.address_scope(actor))
        if kind is not None:
            query = query.where(StockLocation.kind == kind)
        return list(uow.session.scalars(query.order_by(StockLocation.kind, StockLocation.code)))
