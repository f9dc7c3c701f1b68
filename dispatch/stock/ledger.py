"""The only code that changes stock levels: conditional UPDATEs plus one ledger row per delta.

Design (SYNC_AUDIT_RELIABILITY.md section 3.2): a level changes with a single
``UPDATE ... WHERE <the new values are valid>`` and the rowcount says whether it happened, so
there is no read-then-write race: on PostgreSQL (READ COMMITTED) a second writer waits for the
row lock and re-evaluates the WHERE clause against the committed row. The CHECK constraints on
``stock_levels`` are the backstop.

Lock order. Three shared locks meet in a stock write: the head row of the transaction's audit
chain (every append; one chain per service point plus ``hq``, see dispatch.audit_log.service),
the stock levels, and the technicians' sync counters, which the sync feed takes just before the
commit, after the transaction's last flush, for all users in sorted order (``dispatch.sync.feed``).
Every stock write follows the same order:

    job row -> the job's reservations -> audit chain head -> levels (sorted) -> (commit) sync counters

so :func:`post` appends the audit entry (taking the head) before it applies the level deltas.
A single order everywhere is what keeps concurrent writers free of deadlocks. A movement's entry
goes to the chain of the point that holds its stock (the first location of a point or van among
its rows; HQ's warehouse: ``hq``), unless its transaction already appended to a chain: writes at
different points do not serialise on one head (benchmarks/stock_movements.py measures it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, or_, select, tuple_, update
from sqlalchemy.orm import Session

from dispatch.audit_log import service as audit_log
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.clock import utcnow
from dispatch.db import held_values
from dispatch.errors import Conflict, InsufficientStock, PreconditionFailed
from dispatch.stock.models import (
    MovementKind,
    Part,
    StockLevel,
    StockLocation,
    StockMovement,
)

AUDIT_KIND = "stock.movement"


@dataclass(frozen=True)
class Delta:
    """What one movement does to one (location, part) level.

    ``expect_on_hand`` / ``expect_version`` make the change conditional on what a stock take
    saw (a count adjustment computed from a read applies only if nothing moved since).
    """

    location_id: uuid.UUID
    part_id: uuid.UUID
    quantity: int  # the movement's size, always positive
    on_hand: int = 0
    reserved: int = 0
    in_transit: int = 0
    defective: int = 0
    counterpart_location_id: uuid.UUID | None = None
    reservation_id: uuid.UUID | None = None
    expect_on_hand: int | None = None
    expect_version: int | None = None

    @property
    def key(self) -> tuple[uuid.UUID, uuid.UUID]:
        return self.location_id, self.part_id

    def fits_an_empty_level(self) -> bool:
        """Applying it to a level of zeros (version 0) would leave nothing negative."""
        return (self.on_hand >= self.reserved >= 0 and self.in_transit >= 0 and self.defective >= 0
                and self.expect_on_hand in (None, 0) and self.expect_version in (None, 0))


def actor_id_of(actor: Principal) -> uuid.UUID | None:
    """The user id to record for ``actor`` (None for the system principal, which has no user row)."""
    return None if actor.user_id == SYSTEM.user_id else actor.user_id


def dialect_insert(session: Session):
    """The INSERT construct of the session's dialect (for ON CONFLICT DO NOTHING)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


_LEVEL = StockLevel.__table__
_c = _LEVEL.c
_EXPECT_ON_HAND = bindparam("e_on_hand", type_=Integer())
_EXPECT_VERSION = bindparam("e_version", type_=Integer())
# Built once: the statement is the hot path of every movement (the benchmark measures it).
_APPLY = (
    update(_LEVEL)
    .where(
        _c.location_id == bindparam("b_location", type_=_c.location_id.type),
        _c.part_id == bindparam("b_part", type_=_c.part_id.type),
        _c.on_hand + bindparam("d_on_hand") >= _c.reserved + bindparam("d_reserved"),
        _c.reserved + bindparam("d_reserved") >= 0,
        _c.in_transit + bindparam("d_in_transit") >= 0,
        _c.defective + bindparam("d_defective") >= 0,
        or_(_EXPECT_ON_HAND.is_(None), _c.on_hand == _EXPECT_ON_HAND),
        or_(_EXPECT_VERSION.is_(None), _c.version == _EXPECT_VERSION),
    )
    .values(
        on_hand=_c.on_hand + bindparam("d_on_hand"),
        reserved=_c.reserved + bindparam("d_reserved"),
        in_transit=_c.in_transit + bindparam("d_in_transit"),
        defective=_c.defective + bindparam("d_defective"),
        version=_c.version + 1,
        updated_at=bindparam("b_now", type_=_c.updated_at.type),
    )
    .returning(_c.on_hand - _c.reserved + _c.in_transit, _c.min_level)
)
LEVELS_AFTER = "stock.levels_after"
"""``session.info`` key: {(location, part): (available + in transit, min level)} as each level's
last UPDATE in this transaction returned it (the row stays locked to the commit), for the
stock.below_minimum webhook, which then reads no level again (dispatch.integrations.watchers)."""


def _conditional_update(session: Session, delta: Delta) -> bool:
    """UPDATE the level only if every new value stays valid; True when a row changed."""
    level = session.execute(_APPLY, {
        "b_location": delta.location_id, "b_part": delta.part_id, "d_on_hand": delta.on_hand,
        "d_reserved": delta.reserved, "d_in_transit": delta.in_transit, "d_defective": delta.defective,
        "e_on_hand": delta.expect_on_hand, "e_version": delta.expect_version, "b_now": utcnow(),
    }).first()
    if level is None:
        return False
    session.info.setdefault(LEVELS_AFTER, {})[delta.key] = tuple(level)
    return True


def _refuse(session: Session, delta: Delta) -> Exception:
    """The error for a delta the guard refused, naming where, what and how much."""
    code, sku, level = session.execute(
        select(StockLocation.code, Part.sku, StockLevel)
        .select_from(StockLocation)
        .join(Part, Part.id == delta.part_id)
        .outerjoin(StockLevel, (StockLevel.location_id == StockLocation.id) & (StockLevel.part_id == Part.id))
        .where(StockLocation.id == delta.location_id)
        .execution_options(populate_existing=True)
    ).one()
    on_hand, reserved, in_transit, version = (
        (level.on_hand, level.reserved, level.in_transit, level.version) if level else (0, 0, 0, 0))
    if delta.expect_version is not None and version != delta.expect_version:
        return PreconditionFailed(f"{sku} at {code} changed since the count started (version {version}, "
                                  f"expected {delta.expect_version}); count again", version=version)
    if delta.expect_on_hand is not None and on_hand != delta.expect_on_hand:
        return Conflict(f"{sku} at {code} moved while the adjustment was computed; try again", on_hand=on_hand)
    what = "in transit" if delta.in_transit < 0 else "reserved" if delta.reserved < 0 else "available"
    have = in_transit if delta.in_transit < 0 else reserved if delta.reserved < 0 else on_hand - reserved
    return InsufficientStock(
        f"{sku} at {code}: {delta.quantity} needed, {have} {what}; nothing was changed",
        location_id=str(delta.location_id), location_code=code, part_id=str(delta.part_id), part_sku=sku,
        requested=delta.quantity, available=on_hand - reserved, on_hand=on_hand, reserved=reserved,
        in_transit=in_transit,
    )


def lock_levels(session: Session, actor_id: uuid.UUID | None, keys: set[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """For a use case that may post several movements (a job's release, then reserves at the van
    and the point): take its audit chain head, then every level it may touch, in the one order
    :func:`apply` uses, up front. Each later :func:`apply` then only touches levels it holds, so two
    such use cases cannot lock the same levels in opposite orders (a deadlock)."""
    if not keys:
        return
    audit_log.next_seq(session, actor_id)  # the chain head comes before the levels (the lock order above)
    session.execute(select(_LEVEL.c.location_id).where(
        tuple_(_LEVEL.c.location_id, _LEVEL.c.part_id).in_(sorted(keys, key=lambda k: (str(k[0]), str(k[1])))))
        .order_by(_LEVEL.c.location_id, _LEVEL.c.part_id).with_for_update())


def apply(session: Session, deltas: Sequence[Delta]) -> None:
    """Apply level deltas in (location, part) order, each with a conditional UPDATE.

    Raises InsufficientStock when one would leave a level negative (or reserve more than is on
    hand), PreconditionFailed / Conflict when a count guard no longer holds. Earlier deltas of
    the same call are then applied already: the caller's transaction (or savepoint) must be
    rolled back, which every service does by letting the error propagate.
    """
    merged: dict[tuple[uuid.UUID, uuid.UUID], Delta] = {}
    for delta in deltas:
        if delta.key in merged:
            prev = merged[delta.key]
            delta = Delta(delta.location_id, delta.part_id, prev.quantity + delta.quantity,
                          prev.on_hand + delta.on_hand, prev.reserved + delta.reserved,
                          prev.in_transit + delta.in_transit, prev.defective + delta.defective,
                          expect_on_hand=prev.expect_on_hand if prev.expect_on_hand is not None
                          else delta.expect_on_hand,
                          expect_version=prev.expect_version if prev.expect_version is not None
                          else delta.expect_version)
        merged[delta.key] = delta
    for key in sorted(merged, key=lambda k: (str(k[0]), str(k[1]))):
        delta = merged[key]
        if _conditional_update(session, delta):
            continue
        if delta.fits_an_empty_level():
            # No row yet: create it at zero (a concurrent creator may win: that is fine) and retry.
            insert = dialect_insert(session)
            session.execute(insert(_LEVEL).values(location_id=delta.location_id, part_id=delta.part_id,
                                                  on_hand=0, reserved=0, in_transit=0, defective=0, version=0,
                                                  updated_at=utcnow()).on_conflict_do_nothing())
            if _conditional_update(session, delta):
                continue
        raise _refuse(session, delta)


def post(
    session: Session,
    *,
    kind: MovementKind,
    deltas: Sequence[Delta],
    actor_id: uuid.UUID | None,
    subject_id: uuid.UUID | None = None,
    job_id: uuid.UUID | None = None,
    transfer_id: uuid.UUID | None = None,
    reason: str = "",
    reference: str = "",
    operation_id: uuid.UUID | None = None,
    seal_also: Sequence[Any] = (),
    fresh_also: Sequence[Any] = (),
) -> list[StockMovement]:
    """One stock movement: ledger rows (flushed first), one audit entry listing every row (which
    takes the chain lock) and sealing them (with ``seal_also``: other covered rows the same
    operation wrote, such as the part usage of a consumption; ``fresh_also``: such rows inserted
    under an id generated here, sealed without reading them back, as the ledger rows are: see
    ``audit_log.append(fresh=...)``), then the level deltas. Joins the caller's transaction
    (never commits).

    On InsufficientStock the caller's rollback (or savepoint) undoes whatever part of the
    movement was written: nothing of it survives.
    """
    operation_id = operation_id or uuid.uuid4()
    at = utcnow()
    rows = [
        StockMovement(
            id=uuid.uuid4(), operation_id=operation_id, kind=kind, location_id=d.location_id, part_id=d.part_id,
            quantity=d.quantity, delta_on_hand=d.on_hand, delta_reserved=d.reserved, delta_in_transit=d.in_transit,
            delta_defective=d.defective, counterpart_location_id=d.counterpart_location_id, job_id=job_id,
            transfer_id=transfer_id, reservation_id=d.reservation_id, reason=reason, reference=reference,
            actor_id=actor_id, at=at,
        )
        for d in deltas
    ]
    session.add_all(rows)
    session.flush()  # the ledger rows first: a refused level rolls them back with the entry
    points, unread = held_values(session, StockLocation, {d.location_id for d in deltas}, "service_point_id")
    if unread:
        points.update(session.execute(select(StockLocation.id, StockLocation.service_point_id)
                                      .where(StockLocation.id.in_(unread))).all())
    point = next((points[d.location_id] for d in deltas if points.get(d.location_id)), None)
    # Appending takes the chain's head lock: it comes before the levels. If a level refuses, the
    # caller's rollback removes the entry with everything else.
    audit_log.append(
        session, kind=AUDIT_KIND, subject_id=subject_id or operation_id, actor_id=actor_id,
        fresh=[*rows, *fresh_also], seal=seal_also, chain=str(point) if point else None,
        payload={
            "operation_id": operation_id, "kind": kind.value, "job_id": job_id, "transfer_id": transfer_id,
            "reason": reason, "reference": reference,
            "rows": [{"id": r.id, "location_id": r.location_id, "part_id": r.part_id, "quantity": r.quantity,
                      "on_hand": r.delta_on_hand, "reserved": r.delta_reserved, "in_transit": r.delta_in_transit,
                      "defective": r.delta_defective, "reservation_id": r.reservation_id} for r in rows],
        },
    )
    apply(session, deltas)
    return rows
