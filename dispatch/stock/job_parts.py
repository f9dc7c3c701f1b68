"""Parts on jobs: the expected parts list, reservations that follow the job's lifecycle, and the
parts the technician fitted (which take stock, and may file a warranty claim).

Reservations are reconciled with the expected parts whenever a job becomes scheduled (or its
list changes while it is scheduled, en route or on site): missing quantities are reserved from
the technician's van first, then from the point; what cannot be reserved does not block
scheduling but is recorded as a ``shortage`` on the expected part, with the locations that have
it available. Completion, cancellation, closing and unscheduling release what is still reserved.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, joinedload, lazyload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import (
    Conflict,
    Forbidden,
    InsufficientStock,
    RuleViolation,
    ValidationFailed,
)
from dispatch.jobs import service as jobs
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Product
from dispatch.stock import claims, ledger, locations
from dispatch.stock.catalogue import resolve_part
from dispatch.stock.ledger import Delta, actor_id_of
from dispatch.stock.models import (
    JobExpectedPart,
    LocationKind,
    MovementKind,
    Part,
    PartFit,
    PartUsage,
    ReservationStatus,
    StockLevel,
    StockLocation,
    StockReservation,
    WarrantyClaim,
)
from dispatch.uow import UnitOfWork

# The parts services read the job's ids and status only (the view shows its reference and
# status): they load no related rows with it (a unit, for a warranty claim, loads when used;
# nor the crew, which the mapper would load with every job).
_JOB_ONLY = (lazyload(Job.helpers),)
RESERVING = frozenset({JobStatus.SCHEDULED, JobStatus.EN_ROUTE, JobStatus.ON_SITE})
"""While the job is in one of these, its reservations follow its expected parts."""
RELEASING = frozenset({JobStatus.COMPLETED, JobStatus.CLOSED, JobStatus.CANCELLED, JobStatus.DISPATCHED})
"""Moving into one of these gives back whatever is still reserved (dispatched = unscheduled)."""
CONSUMING = frozenset({JobStatus.ON_SITE, JobStatus.COMPLETED})
"""Parts are recorded while on site, or after completion until the job is closed."""
FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.CLOSED, JobStatus.CANCELLED})
MAX_LINE_QUANTITY = 99


def _check_line_quantity(quantity: object, field: str) -> None:
    """A whole number of parts, 1..MAX_LINE_QUANTITY (callers other than the HTTP schemas, such
    as a device's pushed mutation, may hand over 1.5 or "1": refused, never cut)."""
    if type(quantity) is not int or not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationFailed(field, f"must be a whole number between 1 and {MAX_LINE_QUANTITY}")


@dataclass(frozen=True)
class ExpectedLine:
    quantity: int
    part_id: uuid.UUID | None = None
    part_sku: str | None = None


@dataclass(frozen=True)
class ConsumptionLine:
    """One part fitted. ``id`` (from the device) makes a replayed report a no-op; ``from_location``
    (id or code) is the technician's van or the job's point, by default where it was reserved."""

    quantity: int
    part_id: uuid.UUID | None = None
    part_sku: str | None = None
    from_location: uuid.UUID | str | None = None
    id: uuid.UUID | None = None
    recorded_at: datetime | None = None


@dataclass
class JobParts:
    """Everything about one job's parts, for the view."""

    job: Job
    expected: list[JobExpectedPart] = field(default_factory=list)
    reservations: list[StockReservation] = field(default_factory=list)
    usages: list[PartUsage] = field(default_factory=list)
    claims: list[WarrantyClaim] = field(default_factory=list)

    @property
    def shortages(self) -> list[JobExpectedPart]:
        return [e for e in self.expected if e.shortage > 0]


def load(session: Session, job: Job) -> JobParts:
    expected = session.scalars(select(JobExpectedPart).options(joinedload(JobExpectedPart.part))
                               .where(JobExpectedPart.job_id == job.id)
                               .execution_options(populate_existing=True)).all()
    reservations = session.scalars(select(StockReservation)
                                   .options(joinedload(StockReservation.part), joinedload(StockReservation.location))
                                   .where(StockReservation.job_id == job.id)
                                   .order_by(StockReservation.created_at, StockReservation.id)
                                   .execution_options(populate_existing=True)).all()
    usages = session.scalars(select(PartUsage)
                             .options(joinedload(PartUsage.part), joinedload(PartUsage.location))
                             .where(PartUsage.job_id == job.id).order_by(PartUsage.at, PartUsage.id)).all()
    job_claims = session.scalars(select(WarrantyClaim).options(joinedload(WarrantyClaim.part))
                                 .where(WarrantyClaim.job_id == job.id).order_by(WarrantyClaim.created_at)
                                 ).all() if usages else []  # a claim is filed for a part fitted
    return JobParts(job=job, expected=sorted(expected, key=lambda e: e.part.sku), reservations=list(reservations),
                    usages=list(usages), claims=list(job_claims))


def _require_planner(actor: Principal, job: Job) -> None:
    """The point's manager or an HQ admin plans a job's parts."""
    if not (actor.is_admin or (actor.role == Role.MANAGER and actor.service_point_id == job.service_point_id)):
        raise Forbidden("only the point's manager or an HQ admin plans a job's parts")


# --- reservations ---------------------------------------------------------------------------------


def _lock_open_reservations(session: Session, job_id: uuid.UUID) -> list[StockReservation]:
    return list(session.scalars(
        select(StockReservation).options(joinedload(StockReservation.location))
        .where(StockReservation.job_id == job_id, StockReservation.status == ReservationStatus.ACTIVE)
        .order_by(StockReservation.id).with_for_update(of=StockReservation)
        .execution_options(populate_existing=True)
    ).unique())


def _close_if_done(reservation: StockReservation) -> None:
    if reservation.open_quantity == 0:
        reservation.status = ReservationStatus.CONSUMED if reservation.released == 0 else ReservationStatus.RELEASED


def _release(session: Session, actor: Principal, job: Job, releases: Sequence[tuple[StockReservation, int]],
             reason: str) -> None:
    releases = [(r, q) for r, q in releases if q > 0]
    if not releases:
        return
    deltas = [Delta(r.location_id, r.part_id, q, reserved=-q, reservation_id=r.id) for r, q in releases]
    ledger.post(session, kind=MovementKind.RELEASE, deltas=deltas, actor_id=actor_id_of(actor), subject_id=job.id,
                job_id=job.id, reason=reason)
    for reservation, quantity in releases:
        reservation.released += quantity
        _close_if_done(reservation)


def _available(session: Session, location_id: uuid.UUID, part_id: uuid.UUID) -> int:
    level = StockLevel.__table__.c
    value = session.scalar(select(level.on_hand - level.reserved)
                           .where(level.location_id == location_id, level.part_id == part_id))
    return value or 0


def _reserve(session: Session, actor: Principal, job: Job, location: StockLocation, part_id: uuid.UUID,
             quantity: int, open_reservations: list[StockReservation]) -> bool:
    """Reserve ``quantity`` at ``location`` (topping up the job's reservation there); False when
    the stock is not there. Runs in a savepoint: a refused attempt leaves nothing behind."""
    existing = next((r for r in open_reservations if r.location_id == location.id and r.part_id == part_id), None)
    try:
        with session.begin_nested():
            if existing is not None:
                existing.quantity += quantity
                reservation = existing
            else:
                reservation = StockReservation(id=uuid.uuid4(), job_id=job.id, location_id=location.id,
                                               part_id=part_id, quantity=quantity, location=location)
                session.add(reservation)
            ledger.post(session, kind=MovementKind.RESERVE, actor_id=actor_id_of(actor), subject_id=job.id,
                        job_id=job.id, reason=f"job {job.reference}",
                        deltas=[Delta(location.id, part_id, quantity, reserved=quantity,
                                      reservation_id=reservation.id)])
    except InsufficientStock:
        return False
    if existing is None:
        open_reservations.append(reservation)
    return True


def where_available(session: Session, job: Job, part_id: uuid.UUID) -> list[dict]:
    """Locations that have the part available for this job: HQ, the job's point and its vans."""
    level = StockLevel.__table__.c
    scope = StockLocation.kind == LocationKind.HQ
    if job.service_point_id is not None:
        scope = or_(scope, StockLocation.service_point_id == job.service_point_id)
    rows = session.execute(
        select(StockLocation.id, StockLocation.code, StockLocation.kind, level.on_hand - level.reserved)
        .join(StockLevel, StockLevel.location_id == StockLocation.id)
        .where(level.part_id == part_id, level.on_hand - level.reserved > 0, scope)
        .order_by((level.on_hand - level.reserved).desc(), StockLocation.code)
    ).all()
    return [{"location_id": str(lid), "code": code, "kind": kind.value, "available": available}
            for lid, code, kind, available in rows]


def _consumed_by_part(session: Session, job_id: uuid.UUID) -> dict[uuid.UUID, int]:
    rows = session.execute(select(PartUsage.part_id, func.sum(PartUsage.quantity))
                           .where(PartUsage.job_id == job_id).group_by(PartUsage.part_id)).all()
    return {part_id: int(total) for part_id, total in rows}


def reconcile(session: Session, actor: Principal, job: Job) -> None:
    """Make the job's reservations match its expected parts (joins the caller's transaction).

    Releases reservations in a van that is no longer the assigned technician's and anything
    beyond what is still expected; reserves what is missing from the van, then the point;
    records the rest as a shortage, with where the part is available. Never raises for lack of
    stock: scheduling is not blocked by a missing part.
    """
    expected = {e.part_id: e for e in session.scalars(
        select(JobExpectedPart).where(JobExpectedPart.job_id == job.id)
        .execution_options(populate_existing=True))}
    if not expected and session.scalar(select(StockReservation.id).where(
            StockReservation.job_id == job.id, StockReservation.status == ReservationStatus.ACTIVE).limit(1)) is None:
        return
    open_reservations = _lock_open_reservations(session, job.id)
    now = utcnow()
    # The job's parts rows change first (the technician's device hears of it through the sync
    # feed at commit); the chain lock comes with the first movement (lock order: ledger's doc).
    for line in expected.values():
        line.checked_at = now
    for reservation in open_reservations:
        reservation.updated_at = now
    session.flush()
    consumed = _consumed_by_part(session, job.id)
    van = locations.van_location(session, job.technician_id) if job.technician_id else None
    point = locations.point_location(session, job.service_point_id) if job.service_point_id else None
    parts = set(expected) | {r.part_id for r in open_reservations}
    ledger.lock_levels(session, actor_id_of(actor), {(r.location_id, r.part_id) for r in open_reservations}
                       | {(place.id, part_id) for place in (van, point) if place is not None for part_id in parts})

    releases: list[tuple[StockReservation, int]] = []
    kept: dict[uuid.UUID, list[StockReservation]] = defaultdict(list)
    for reservation in open_reservations:
        if reservation.location.kind == LocationKind.VAN and (van is None or reservation.location_id != van.id):
            releases.append((reservation, reservation.open_quantity))  # the van left with another technician
        elif point is not None and reservation.location.kind == LocationKind.POINT \
                and reservation.location_id != point.id:
            releases.append((reservation, reservation.open_quantity))  # the job moved to another point
        else:
            kept[reservation.part_id].append(reservation)
    for part_id, held in kept.items():
        want = expected[part_id].quantity - consumed.get(part_id, 0) if part_id in expected else 0
        surplus = sum(r.open_quantity for r in held) - max(want, 0)
        for reservation in sorted(held, key=lambda r: r.location.kind != LocationKind.POINT):  # point first
            if surplus <= 0:
                break
            quantity = min(surplus, reservation.open_quantity)
            releases.append((reservation, quantity))
            surplus -= quantity
    _release(session, actor, job, releases, f"job {job.reference}: reservation no longer needed")

    sources = [loc for loc in (van, point) if loc is not None]
    for part_id in sorted(expected, key=str):
        line = expected[part_id]
        held = sum(r.open_quantity for r in open_reservations
                   if r.part_id == part_id and r.status == ReservationStatus.ACTIVE)
        missing = line.quantity - consumed.get(part_id, 0) - held
        for source in sources:
            if missing <= 0:
                break
            take = min(missing, _available(session, source.id, part_id))
            if take > 0 and _reserve(session, actor, job, source, part_id, take, open_reservations):
                missing -= take
        line.shortage = max(missing, 0)
        line.shortage_sources = where_available(session, job, part_id) if missing > 0 else []
        line.checked_at = now
    session.flush()


def release_all(session: Session, actor: Principal, job: Job, reason: str) -> None:
    """Give back everything still reserved for the job (joins the caller's transaction)."""
    has_open = session.scalar(select(StockReservation.id).where(
        StockReservation.job_id == job.id, StockReservation.status == ReservationStatus.ACTIVE).limit(1))
    if has_open is None:
        return
    open_reservations = _lock_open_reservations(session, job.id)
    _release(session, actor, job, [(r, r.open_quantity) for r in open_reservations], reason)
    session.flush()


# --- use cases ----------------------------------------------------------------------------------------


def get_job_parts(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID) -> JobParts:
    """Expected parts (with shortages), reservations, parts used and claims of a visible job."""
    with uow:
        job = jobs.get_visible_job(uow.session, actor, job_id, with_events=False, loads=_JOB_ONLY)
        return load(uow.session, job)


def set_expected_parts(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID,
                       lines: Sequence[ExpectedLine]) -> JobParts:
    """Replace the job's expected parts; while it is scheduled, en route or on site, its
    reservations follow at once (missing ones reserved, surplus released)."""
    with uow:
        job = jobs.get_visible_job(uow.session, actor, job_id, for_update=True, with_events=False, loads=_JOB_ONLY)
        _require_planner(actor, job)
        if job.status in FINISHED:
            raise Conflict(f"job {job.reference} is {job.status.value}; its parts list is final",
                           current=job.status.value)
        wanted: dict[uuid.UUID, tuple[Part, int]] = {}
        for index, line in enumerate(lines):
            part = resolve_part(uow.session, part_id=line.part_id, part_sku=line.part_sku, prefix=f"parts.{index}.")
            _check_line_quantity(line.quantity, f"parts.{index}.quantity")
            if part.id in wanted:
                raise ValidationFailed(f"parts.{index}", f"part {part.sku} is listed twice")
            if not part.active:
                raise ValidationFailed(f"parts.{index}.part_sku", f"part {part.sku} is no longer in the catalogue")
            wanted[part.id] = (part, line.quantity)
        current = {e.part_id: e for e in uow.session.scalars(
            select(JobExpectedPart).where(JobExpectedPart.job_id == job.id))}
        uow.session.execute(delete(JobExpectedPart).where(JobExpectedPart.job_id == job.id,
                                                          JobExpectedPart.part_id.not_in(list(wanted))))
        for part_id, (part, quantity) in wanted.items():
            row = current.get(part_id)
            if row is None:
                uow.session.add(JobExpectedPart(job_id=job.id, part_id=part_id, quantity=quantity, shortage=0,
                                                shortage_sources=[]))
            else:
                row.quantity, row.shortage = quantity, min(row.shortage, quantity)
        uow.session.flush()
        if job.status in RESERVING:
            reconcile(uow.session, actor, job)
        uow.commit()
        return load(uow.session, job)


def reserve_missing(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID) -> JobParts:
    """Try again to reserve what is short (e.g. after a transfer arrived)."""
    with uow:
        job = jobs.get_visible_job(uow.session, actor, job_id, for_update=True, with_events=False, loads=_JOB_ONLY)
        _require_planner(actor, job)
        if job.status not in RESERVING:
            raise Conflict(f"job {job.reference} is {job.status.value}; parts are reserved for scheduled, "
                           "en-route and on-site jobs", current=job.status.value,
                           allowed=sorted(s.value for s in RESERVING))
        reconcile(uow.session, actor, job)
        uow.commit()
        return load(uow.session, job)


def _consumption_location(session: Session, job: Job, part: Part, ref: uuid.UUID | str | None,
                          open_reservations: list[StockReservation], field_name: str) -> StockLocation:
    van = locations.van_location(session, job.technician_id) if job.technician_id else None
    point = locations.point_location(session, job.service_point_id) if job.service_point_id else None
    allowed = [loc for loc in (van, point) if loc is not None]
    if ref is not None:
        for loc in allowed:
            if ref in (loc.id, loc.code) or str(ref) == str(loc.id):
                return loc
        raise ValidationFailed(field_name, "parts for this job come from the assigned technician's van or "
                                           "the job's service point")
    reserved_at = [r.location for r in open_reservations if r.part_id == part.id]
    for loc in allowed:  # van first
        if any(r.id == loc.id for r in reserved_at):
            return loc
    if not allowed:
        raise Conflict("the job has neither a technician nor a service point to take parts from")
    return allowed[0]


class PartDoesNotFit(RuleViolation):
    code = "part-does-not-fit"
    title = "The part does not fit the job's product"


def _check_fit(session: Session, actor: Principal, job: Job, part: Part, field_name: str,
               override_reason: str | None) -> bool:
    """True when the catalogue says ``part`` fits the job's product; False when it does not but
    the point's manager (or HQ) overrides with a reason; otherwise PartDoesNotFit (422)."""
    if session.scalar(select(PartFit.part_id).where(PartFit.part_id == part.id,
                                                    PartFit.product_id == job.product_id)) is not None:
        return True
    if override_reason:
        return False
    product = session.get(Product, job.product_id)
    raise PartDoesNotFit(
        f"part {part.sku} ({part.name}) does not fit {product.sku} ({product.name}), the product of job "
        f"{job.reference}; the point's manager may override with a reason",
        errors={field_name: [f"{part.sku} does not fit {product.sku}"]}, part_sku=part.sku, product_sku=product.sku)


def _log_override(session: Session, actor: Principal, job: Job, usage: PartUsage, part: Part, reason: str) -> None:
    product = session.get(Product, job.product_id)
    audit_log.append(session, kind="stock.part_fit_override", subject_id=job.id, actor_id=actor_id_of(actor),
                     payload={"job_id": job.id, "job_reference": job.reference, "usage_id": usage.id,
                              "part_sku": part.sku, "product_sku": product.sku, "quantity": usage.quantity,
                              "reason": reason})


def record_consumption(session: Session, actor: Principal, job: Job, lines: Sequence[ConsumptionLine], *,
                       tz: ZoneInfo | str | None = None, override_reason: str | None = None) -> list[PartUsage]:
    """Record parts fitted on ``job`` and take them from stock (joins the caller's transaction).

    For the assigned technician (or the point's manager / an HQ admin correcting the record)
    while the job is on site or completed. Stock comes out of the job's reservation at that
    location first, then out of available stock there. A line whose ``id`` was already
    recorded is skipped (replay); the same id with different content is a 409. On any error
    (InsufficientStock 409 with where/what, 422 naming ``lines.N.field``) nothing of the call is
    kept and the caller's transaction stays usable: the work runs in a savepoint. Parts on a job
    whose parts the warranty covers file a warranty claim. The caller should hold the job row
    locked (``get_visible_job(..., for_update=True)``).

    Every part must fit the job's product (the catalogue's fits): a misfit is a 422 naming the
    part and the product, unless the point's manager (or an HQ admin) gives ``override_reason``,
    which is written to the audit log with the part, the product and who overrode.
    """
    is_assigned = actor.technician_id is not None and actor.technician_id == job.technician_id
    is_manager = actor.role == Role.MANAGER and actor.service_point_id == job.service_point_id
    if not (is_assigned or is_manager or actor.is_admin):
        raise Forbidden("only the assigned technician records the parts used on a job")
    override_reason = (override_reason or "").strip() or None
    if override_reason is not None and not (is_manager or actor.is_admin):
        raise Forbidden("only the point's manager (or HQ) may fit a part the catalogue says does not fit")
    if job.status not in CONSUMING:
        raise Conflict(f"job {job.reference} is {job.status.value}; parts are recorded on site or after "
                       "completion, until the job is closed", current=job.status.value,
                       allowed=sorted(s.value for s in CONSUMING))
    if not lines:
        raise ValidationFailed("lines", "name at least one part")
    usages: list[PartUsage] = []
    with session.begin_nested():
        open_reservations = _lock_open_reservations(session, job.id)
        for index, line in enumerate(lines):
            prefix = f"lines.{index}."
            part = resolve_part(session, part_id=line.part_id, part_sku=line.part_sku, prefix=prefix)
            _check_line_quantity(line.quantity, f"{prefix}quantity")
            if line.recorded_at is not None and line.recorded_at.tzinfo is None:
                raise ValidationFailed(f"{prefix}recorded_at", "needs a time zone offset")
            if line.id is not None:
                seen = session.get(PartUsage, line.id)
                if seen is not None:
                    if (seen.job_id, seen.part_id, seen.quantity) != (job.id, part.id, line.quantity):
                        raise Conflict(f"line id {line.id} was already recorded with other content",
                                       field=f"{prefix}id")
                    usages.append(seen)
                    continue
            fits = _check_fit(session, actor, job, part, f"{prefix}part_sku", override_reason)
            location = _consumption_location(session, job, part, line.from_location, open_reservations,
                                             f"{prefix}from")
            deltas, remaining = [], line.quantity
            for reservation in open_reservations:
                if remaining == 0:
                    break
                if reservation.part_id != part.id or reservation.location_id != location.id \
                        or reservation.status != ReservationStatus.ACTIVE:
                    continue
                take = min(remaining, reservation.open_quantity)
                deltas.append(Delta(location.id, part.id, take, on_hand=-take, reserved=-take,
                                    reservation_id=reservation.id))
                reservation.consumed += take
                _close_if_done(reservation)
                remaining -= take
            if remaining:
                deltas.append(Delta(location.id, part.id, remaining, on_hand=-remaining))
            usage = PartUsage(
                id=line.id or uuid.uuid4(), job_id=job.id, part_id=part.id, quantity=line.quantity,
                location_id=location.id, list_price=part.list_price, currency=part.currency,
                from_reservation=line.quantity - remaining, operation_id=uuid.uuid4(),
                actor_id=actor_id_of(actor), at=utcnow(), recorded_at=line.recorded_at, part=part, location=location,
            )
            session.add(usage)
            ledger.post(session, kind=MovementKind.CONSUME, deltas=deltas, actor_id=actor_id_of(actor),
                        subject_id=job.id, job_id=job.id, operation_id=usage.operation_id,
                        reason=f"job {job.reference}",
                        # a device's id may name a row that once existed: its seal version is looked up
                        **({"seal_also": [usage]} if line.id is not None else {"fresh_also": [usage]}))
            if not fits:
                _log_override(session, actor, job, usage, part, override_reason)
            claims.file_claim(session, job, usage, part, tz)
            usages.append(usage)
        session.flush()
    return usages


def consume_parts(uow: UnitOfWork, actor: Principal, job_id: uuid.UUID, lines: Sequence[ConsumptionLine], *,
                  tz: ZoneInfo | str | None = None, override_reason: str | None = None) -> JobParts:
    """POST /jobs/{id}/parts: the technician records the parts used (a manager may override a
    part that does not fit the job's product, with a reason)."""
    with uow:
        job = jobs.get_visible_job(uow.session, actor, job_id, for_update=True, with_events=False, loads=_JOB_ONLY)
        record_consumption(uow.session, actor, job, lines, tz=tz, override_reason=override_reason)
        uow.commit()
        return load(uow.session, job)
