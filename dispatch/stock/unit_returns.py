"""Whole defective units coming back to HQ: a unit replaced or refunded under 三包 is expected at
HQ (``expect``, written in the transaction of the decision) and HQ confirms receipt (``receive``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound
from dispatch.network.models import Unit
from dispatch.stock.enums import UnitReturnStatus
from dispatch.stock.ledger import actor_id_of
from dispatch.stock.models import UnitReturn
from dispatch.uow import UnitOfWork


def expect(session: Session, unit: Unit, *, service_point_id: uuid.UUID | None, reason: str, reference: str,
           actor_id: uuid.UUID | None) -> UnitReturn:
    """The unit is to come back to HQ (no commit)."""
    row = UnitReturn(unit_id=unit.id, unit=unit, service_point_id=service_point_id, reason=reason,
                     reference=reference[:120], status=UnitReturnStatus.EXPECTED, created_at=utcnow(), note="")
    session.add(row)
    session.flush()
    audit_log.append(session, kind="stock.unit_return", subject_id=row.id, actor_id=actor_id,
                     payload={"serial": unit.serial, "status": row.status.value, "reference": row.reference})
    return row


def _visible(actor: Principal, query):
    if actor.is_hq:
        return query
    actor.require(Role.MANAGER)
    return query.where(UnitReturn.service_point_id == actor.service_point_id)


def list_returns(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int,
                 status: UnitReturnStatus | None = None) -> tuple[list[UnitReturn], int]:
    """HQ sees every unit return, a point's manager those of the point; oldest first."""
    with uow:
        query = _visible(actor, select(UnitReturn).order_by(UnitReturn.created_at, UnitReturn.id))
        if status is not None:
            query = query.where(UnitReturn.status == status)
        return page(uow.session, query, offset=offset, limit=limit)


def receive(uow: UnitOfWork, actor: Principal, return_id: uuid.UUID, *, note: str = "") -> UnitReturn:
    """HQ has the unit in hand (once)."""
    actor.require(Role.ADMIN)
    with uow:
        row = uow.session.scalar(select(UnitReturn).where(UnitReturn.id == return_id).with_for_update(of=UnitReturn))
        if row is None:
            raise NotFound(f"unit return {return_id} does not exist")
        if row.status == UnitReturnStatus.RECEIVED:
            raise Conflict(f"unit {row.unit.serial} was received on {row.received_at:%Y-%m-%d} already",
                           current=row.status.value)
        row.status, row.received_at, row.received_by = UnitReturnStatus.RECEIVED, utcnow(), actor_id_of(actor)
        row.note, row.version = note.strip(), row.version + 1
        uow.session.flush()
        audit_log.append(uow.session, kind="stock.unit_return", subject_id=row.id, actor_id=actor_id_of(actor),
                         payload={"serial": row.unit.serial, "status": row.status.value, "note": row.note})
        uow.commit()
        return row
