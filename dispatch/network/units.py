"""Units (one physical appliance per serial) and their warranty cards.

Serial numbers are what the QR code on the appliance carries. Format (:data:`SERIAL_PATTERN`):
2 to 4 upper-case letters or digits naming the product family, the 4-digit year of manufacture,
then a 7-digit sequence number, e.g. ``RO20250000002`` (family RO, made in 2025, unit 2).
The prefix length follows from the total length (13 to 15 characters), so the year is never
ambiguous, and it must match the unit's manufacture date.

Activation binds a unit to a customer once (the warranty card); only HQ re-binds, with a
reason, and every earlier card stays in the unit's history.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import local_today, utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.network import rules
from dispatch.network.common import check_version
from dispatch.network.customers import CustomerView, find_or_add_customer, own_customer_ids, views
from dispatch.network.models import Activation, Customer, Product, Unit
from dispatch.uow import UnitOfWork

SERIAL_FORMAT = r"^[A-Z0-9]{2,4}(?:19|20)\d{2}\d{7}$"  # plain (ECMA-compatible) for the OpenAPI document
SERIAL_PATTERN = re.compile(r"^(?P<family>[A-Z0-9]{2,4})(?P<year>(?:19|20)\d{2})(?P<sequence>\d{7})$")


class SalesChannel(StrEnum):
    RETAIL = "retail"
    ONLINE = "online"
    INSTALLER = "installer"
    DISTRIBUTOR = "distributor"
    PROJECT = "project"  # bulk supply to a developer or hotel


def parse_serial(serial: str, field: str = "serial") -> tuple[str, int]:
    """Normalise a scanned serial (trimmed, upper case) and return it with its manufacture year."""
    normalised = serial.strip().upper()
    match = SERIAL_PATTERN.match(normalised)
    if match is None:
        raise ValidationFailed(field, "not a serial number: 2-4 letters/digits, 4-digit year, 7-digit sequence "
                                      "(e.g. RO20250000002)")
    return normalised, int(match["year"])


@dataclass(frozen=True)
class UnitView:
    """A unit as one caller may see it: the owner's personal data masked unless they may see it."""

    id: uuid.UUID
    serial: str
    product: Product
    manufactured_on: date
    customer: CustomerView | None
    purchased_on: date | None
    sales_channel: str | None
    activated_at: datetime | None
    activations: list[Activation]
    warranty: rules.WarrantyCoverage
    created_at: datetime
    version: int

    @property
    def activated(self) -> bool:
        return self.customer is not None


@dataclass(frozen=True)
class WarrantyStatus:
    serial: str
    on: date
    purchased_on: date | None
    coverage: rules.WarrantyCoverage

    @property
    def in_warranty(self) -> bool:
        return self.coverage.status == "in_warranty"

    @property
    def warranty_until(self) -> date | None:
        return self.coverage.until


_DETAIL = (selectinload(Unit.product), selectinload(Unit.customer), selectinload(Unit.activations))


def _views(session: Session, actor: Principal, units: list[Unit], today: date) -> list[UnitView]:
    owners = {v.id: v for v in views(session, actor, [u.customer for u in units if u.customer is not None])}
    return [
        UnitView(
            id=u.id, serial=u.serial, product=u.product, manufactured_on=u.manufactured_on,
            customer=owners.get(u.customer_id) if u.customer_id else None, purchased_on=u.purchased_on,
            sales_channel=u.sales_channel, activated_at=u.activated_at, activations=list(u.activations),
            warranty=rules.warranty_coverage(u, today), created_at=u.created_at, version=u.version,
        )
        for u in units
    ]


def _find(session: Session, serial: str, *, for_update: bool = False) -> Unit:
    serial, _ = parse_serial(serial)
    query = select(Unit).where(Unit.serial == serial).options(*_DETAIL)
    if for_update:
        query = query.with_for_update(of=Unit).execution_options(populate_existing=True)
    unit = session.scalars(query).one_or_none()
    if unit is None:
        raise NotFound(f"no unit has serial {serial}")
    return unit


def _find_to_write(session: Session, actor: Principal, serial: str, *, for_update: bool = False) -> Unit:
    """The unit, unless it belongs to another point's customer: such a unit is answered exactly
    like a missing serial (404) to a point role, before any role, version or state check. An
    unbound unit is nobody's yet."""
    unit = _find(session, serial, for_update=for_update)
    if actor.is_hq or unit.customer is None or unit.customer_id in own_customer_ids(session, actor, [unit.customer]):
        return unit
    raise NotFound(f"no unit has serial {unit.serial}")


# --- reads ----------------------------------------------------------------------------------


def list_units(
    uow: UnitOfWork,
    actor: Principal,
    *,
    tz: str,
    offset: int,
    limit: int,
    product_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    activated: bool | None = None,
    manufactured_year: int | None = None,
) -> tuple[list[UnitView], int]:
    """Every role may browse the registry; owners' personal data follows the masking rule."""
    with uow:
        query = select(Unit).options(*_DETAIL).order_by(Unit.serial)
        if product_id is not None:
            query = query.where(Unit.product_id == product_id)
        if customer_id is not None:
            query = query.where(Unit.customer_id == customer_id)
        if activated is not None:
            query = query.where(Unit.customer_id.is_not(None) if activated else Unit.customer_id.is_(None))
        if manufactured_year is not None:
            query = query.where(Unit.manufactured_on >= date(manufactured_year, 1, 1),
                                Unit.manufactured_on <= date(manufactured_year, 12, 31))
        units, total = page(uow.session, query, offset=offset, limit=limit)
        return _views(uow.session, actor, units, local_today(tz)), total


def get_unit(uow: UnitOfWork, actor: Principal, serial: str, *, tz: str, to_edit: bool = False) -> UnitView:
    """Look a unit up by the serial in its QR code (any role: technicians scan at the door);
    ``to_edit`` (the read before a PATCH) first checks the caller may edit the registry."""
    with uow:
        if to_edit:
            unit = _find_to_write(uow.session, actor, serial)
            actor.require(Role.ADMIN)
        else:
            unit = _find(uow.session, serial)
        return _views(uow.session, actor, [unit], local_today(tz))[0]


def warranty(uow: UnitOfWork, actor: Principal, serial: str, *, tz: str, on: date | None = None) -> WarrantyStatus:
    """Is the unit under warranty on ``on`` (default: today, local), until when, and what is covered."""
    with uow:
        unit = _find(uow.session, serial)
        on = on or local_today(tz)
        return WarrantyStatus(unit.serial, on, unit.purchased_on, rules.warranty_coverage(unit, on))


# --- registry writes (HQ) -------------------------------------------------------------------


def _check_manufacture(session: Session, serial_year: int, manufactured_on: date, product_id: uuid.UUID,
                       today: date) -> Product:
    if manufactured_on > today:
        raise ValidationFailed("manufactured_on", "is in the future")
    if manufactured_on.year != serial_year:
        raise ValidationFailed("manufactured_on", f"the serial says the unit was made in {serial_year}")
    product = session.get(Product, product_id)
    if product is None:
        raise ValidationFailed("product_id", f"product {product_id} does not exist")
    return product


def register_unit(uow: UnitOfWork, actor: Principal, *, tz: str, serial: str, product_id: uuid.UUID,
                  manufactured_on: date) -> UnitView:
    """Add a manufactured unit to the registry (before anyone buys it)."""
    actor.require(Role.ADMIN)
    serial, year = parse_serial(serial)
    with uow:
        today = local_today(tz)
        _check_manufacture(uow.session, year, manufactured_on, product_id, today)
        if uow.session.scalar(select(Unit.id).where(Unit.serial == serial)) is not None:
            raise Conflict(f"serial {serial} is registered already")
        unit = Unit(serial=serial, product_id=product_id, manufactured_on=manufactured_on)
        uow.session.add(unit)
        uow.commit()
        return _views(uow.session, actor, [_find(uow.session, serial)], today)[0]


def update_unit(uow: UnitOfWork, actor: Principal, serial: str, *, tz: str, expected_version: int | None = None,
                **changes: Any) -> UnitView:
    """Correct the model or manufacture date of a registry entry (HQ)."""
    with uow:
        today = local_today(tz)
        unit = _find_to_write(uow.session, actor, serial, for_update=True)
        actor.require(Role.ADMIN)
        check_version(unit, expected_version, f"unit {unit.serial}")
        _, year = parse_serial(unit.serial)
        product = _check_manufacture(uow.session, year, changes.get("manufactured_on", unit.manufactured_on),
                                     changes.get("product_id", unit.product_id), today)
        if unit.purchased_on is not None and changes.get("manufactured_on", unit.manufactured_on) > unit.purchased_on:
            raise ValidationFailed("manufactured_on", f"the unit was bought on {unit.purchased_on}")
        unit.manufactured_on = changes.get("manufactured_on", unit.manufactured_on)
        unit.product_id, unit.product = product.id, product
        uow.commit()
        return _views(uow.session, actor, [unit], today)[0]


# --- warranty cards -------------------------------------------------------------------------


def _owner(session: Session, actor: Principal, customer_id: uuid.UUID | None,
           customer: dict[str, Any] | None) -> Customer:
    if (customer_id is None) == (customer is None):
        raise ValidationFailed("customer_id", "give either customer_id or a customer to register")
    if customer_id is not None:
        found = session.get(Customer, customer_id)
        if found is None:
            raise ValidationFailed("customer_id", f"customer {customer_id} does not exist")
    else:
        found, _ = find_or_add_customer(session, actor, **customer)
    if found.service_point_id is None and actor.service_point_id is not None:
        found.service_point_id = actor.service_point_id  # the point that first served them
    return found


def _check_purchase(unit: Unit, purchased_on: date, today: date) -> None:
    if purchased_on > today:
        raise ValidationFailed("purchased_on", "is in the future")
    if purchased_on < unit.manufactured_on:
        raise ValidationFailed("purchased_on", f"is before the unit was made ({unit.manufactured_on})")


def _bind(session: Session, actor: Principal, unit: Unit, owner: Customer, *, purchased_on: date,
          sales_channel: str, reason: str) -> Activation:
    now = utcnow()
    card = Activation(unit_id=unit.id, customer_id=owner.id, purchased_on=purchased_on, sales_channel=sales_channel,
                      activated_at=now, actor_id=actor.user_id if actor.user_id.int else None, reason=reason)
    unit.activations.append(card)
    unit.customer_id, unit.customer = owner.id, owner
    unit.purchased_on, unit.sales_channel, unit.activated_at = purchased_on, sales_channel, now
    session.flush()
    return card


def activate_unit(
    uow: UnitOfWork,
    actor: Principal,
    serial: str,
    *,
    tz: str,
    purchased_on: date,
    sales_channel: SalesChannel | str,
    customer_id: uuid.UUID | None = None,
    customer: dict[str, Any] | None = None,
) -> UnitView:
    """Bind the unit to its buyer: the warranty starts at the purchase date. Once only."""
    with uow:
        unit = _find_to_write(uow.session, actor, serial, for_update=True)
        actor.require(Role.ADMIN, Role.MANAGER, Role.TECHNICIAN)
        if unit.customer_id is not None:
            raise Conflict(f"unit {unit.serial} was activated on {unit.activated_at:%Y-%m-%d} already; "
                           "only HQ can re-bind it", activated_at=unit.activated_at.isoformat())
        today = local_today(tz)
        _check_purchase(unit, purchased_on, today)
        owner = _owner(uow.session, actor, customer_id, customer)
        card = _bind(uow.session, actor, unit, owner, purchased_on=purchased_on,
                     sales_channel=SalesChannel(sales_channel).value, reason="activation")
        audit_log.append(uow.session, kind="unit.activation", subject_id=unit.id, actor_id=card.actor_id,
                         seal=[card, unit],
                         payload={"serial": unit.serial, "customer_id": owner.id, "purchased_on": purchased_on,
                                  "sales_channel": card.sales_channel})
        uow.commit()
        return _views(uow.session, actor, [unit], today)[0]


def rebind_unit(
    uow: UnitOfWork,
    actor: Principal,
    serial: str,
    *,
    tz: str,
    reason: str,
    customer_id: uuid.UUID | None = None,
    customer: dict[str, Any] | None = None,
    purchased_on: date | None = None,
    sales_channel: SalesChannel | str | None = None,
) -> UnitView:
    """HQ moves a warranty card to another customer (resale, a registration mistake). The old
    card is kept, marked superseded. Purchase date and channel carry over unless corrected."""
    with uow:
        unit = _find_to_write(uow.session, actor, serial, for_update=True)
        actor.require(Role.ADMIN)
        if not reason.strip():
            raise ValidationFailed("reason", "say why the unit is re-bound")
        if unit.customer_id is None:
            raise Conflict(f"unit {unit.serial} has never been activated; activate it instead")
        today = local_today(tz)
        purchased_on = purchased_on or unit.purchased_on
        _check_purchase(unit, purchased_on, today)
        owner = _owner(uow.session, actor, customer_id, customer)
        previous = unit.customer_id
        now = utcnow()
        superseded = [old for old in unit.activations if old.superseded_at is None]
        for old in superseded:
            old.superseded_at = now
        card = _bind(uow.session, actor, unit, owner, purchased_on=purchased_on,
                     sales_channel=SalesChannel(sales_channel or unit.sales_channel).value, reason=reason.strip())
        audit_log.append(uow.session, kind="unit.rebind", subject_id=unit.id, actor_id=card.actor_id,
                         seal=[*superseded, card, unit],
                         payload={"serial": unit.serial, "from_customer_id": previous, "customer_id": owner.id,
                                  "purchased_on": purchased_on, "sales_channel": card.sales_channel,
                                  "reason": card.reason})
        uow.commit()
        return _views(uow.session, actor, [unit], today)[0]
