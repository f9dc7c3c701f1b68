"""Units with their sale data, buyers and dealers (the installed base), by serial.

A unit is its serial, a buyer their phone number, a dealer its code. A unit already bound to
another customer is refused (re-binding is HQ's decision, one unit at a time). Rows are applied
set-based (100,000 of them in a file): a batch reads the units, buyers and dealer steps it names
at once, checks each row before any of its writes, and seals the warranty cards it made in the
tamper-evident log, one entry per batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dispatch.audit_log import service as audit_log
from dispatch.auth.enums import Role
from dispatch.auth.principal import Principal
from dispatch.errors import Conflict, ValidationFailed
from dispatch.integrations.enums import ImportKind
from dispatch.integrations.shapes.base import Applying, Parsed, Problem, Shape, a_date
from dispatch.network.customers import normalise_phone
from dispatch.network.models import Activation, Customer, Product, Unit
from dispatch.network.units import SalesChannel, parse_serial
from dispatch.uow import UowFactory
from dispatch.warranty.enums import JourneyKind, PartnerKind
from dispatch.warranty.models import JourneyEvent, TradePartner

COLUMNS = ("serial", "product_sku", "manufactured_on", "customer_phone", "customer_name", "customer_address",
           "purchased_on", "sales_channel", "dealer_code")
REQUIRED = ("serial", "product_sku", "manufactured_on")


@dataclass
class UnitRow:
    serial: str
    product_id: uuid.UUID
    manufactured_on: date
    phone: str | None
    name: str
    address: str
    purchased_on: date | None
    sales_channel: str | None
    dealer_id: uuid.UUID | None


@dataclass
class Catalogue:
    products: dict[str, uuid.UUID]
    dealers: dict[str, uuid.UUID]
    today: date


def context(session, actor: Principal, today: date) -> Catalogue:
    return Catalogue(dict(session.execute(select(Product.sku, Product.id)).all()),
                     dict(session.execute(select(TradePartner.code, TradePartner.id)
                                          .where(TradePartner.kind == PartnerKind.DEALER)).all()), today)


def parse(c: Catalogue, v: dict[str, str]) -> UnitRow:
    serial, year = parse_serial(v["serial"])
    product_id = c.products.get(v["product_sku"])
    if product_id is None:
        raise ValidationFailed("product_sku", f"no product {v['product_sku']!r}")
    made = a_date(v, "manufactured_on")
    assert made is not None
    if made > c.today:
        raise ValidationFailed("manufactured_on", "is in the future")
    if made.year != year:
        raise ValidationFailed("manufactured_on", f"the serial says the unit was made in {year}")
    phone = normalise_phone(v["customer_phone"], "customer_phone") if v.get("customer_phone") else None
    bought = a_date(v, "purchased_on")
    if phone and not v.get("customer_name"):
        raise ValidationFailed("customer_name", "is required with customer_phone")
    if phone and bought is None:
        raise ValidationFailed("purchased_on", "is required with customer_phone (the warranty starts then)")
    if bought is not None and (bought > c.today or bought < made):
        raise ValidationFailed("purchased_on", "is in the future" if bought > c.today else f"is before {made}")
    channel = v.get("sales_channel") or ("retail" if phone else None)
    if channel is not None and channel not in SalesChannel._value2member_map_:
        raise ValidationFailed("sales_channel", f"one of {', '.join(c.value for c in SalesChannel)}")
    dealer_id = None
    if v.get("dealer_code"):
        dealer_id = c.dealers.get(v["dealer_code"])
        if dealer_id is None:
            raise ValidationFailed("dealer_code", f"no dealer {v['dealer_code']!r}")
    return UnitRow(serial, product_id, made, phone, v.get("customer_name", ""), v.get("customer_address", ""),
                   bought, channel, dealer_id)


def apply_batch(uow_factory: UowFactory, batch: list[Parsed], applying: Applying) -> tuple[int, list[Problem]]:
    """Apply one batch in one transaction; returns (applied, refused rows). Every check of a row
    runs before any of its writes, so a refused row writes nothing; the batch is flushed once.
    Should the database still refuse the batch (another writer added the same serial or phone
    meanwhile), it is applied again row by row, each in its own savepoint."""
    try:
        return _apply_batch(uow_factory, batch, applying, savepoints=False)
    except (IntegrityError, Conflict):
        return _apply_batch(uow_factory, batch, applying, savepoints=True)


def _apply_batch(uow_factory: UowFactory, batch: list[Parsed], applying: Applying, *,
                 savepoints: bool) -> tuple[int, list[Problem]]:
    refused: list[Problem] = []
    sealed: list[Any] = []
    applied = 0
    rows: list[UnitRow] = [parsed.data for parsed in batch]
    with uow_factory() as uow:
        session = uow.session
        units = {u.serial: u for u in session.scalars(select(Unit).where(Unit.serial.in_([r.serial for r in rows])))}
        phones = [r.phone for r in rows if r.phone]
        customers = {c.phone: c for c in session.scalars(select(Customer).where(Customer.phone.in_(phones)))} \
            if phones else {}
        known = set(session.execute(select(JourneyEvent.unit_id, JourneyEvent.partner_id, JourneyEvent.on).where(
            JourneyEvent.unit_id.in_([u.id for u in units.values()]), JourneyEvent.kind == JourneyKind.TO_DEALER))
            .all()) if units else set()
        for parsed, row in zip(batch, rows):
            try:
                if savepoints:
                    with session.begin_nested():
                        card = _apply_row(session, row, units, customers, known, applying)
                        session.flush()
                else:
                    card = _apply_row(session, row, units, customers, known, applying)
            except ValidationFailed as exc:
                refused.append({"line": parsed.line, "field": exc.field, "reason": exc.reason})
                continue
            applied += 1
            if card is not None:
                sealed.extend((card, units[row.serial]))
        session.flush()
        if sealed:
            audit_log.append(session, kind="unit.import", subject_id=applying.run_id, actor_id=applying.actor_id,
                             seal=sealed, payload={"run_id": applying.run_id, "first_line": batch[0].line,
                                                   "last_line": batch[-1].line, "activations": len(sealed) // 2})
        uow.commit()
    return applied, refused


def _apply_row(session, row: UnitRow, units: dict[str, Unit], customers: dict[str, Customer], known: set,
               applying: Applying) -> Activation | None:
    """Check the row against what is stored, then write it (no flush): the card it made, if any."""
    unit = units.get(row.serial)
    owner = customers.get(row.phone) if row.phone else None
    if unit is not None:
        if row.phone and unit.customer_id is not None and (owner is None or unit.customer_id != owner.id):
            raise ValidationFailed("customer_phone", f"{row.serial} is bound to another customer; HQ re-binds it "
                                                     "by hand")
        if unit.purchased_on is not None and row.manufactured_on > unit.purchased_on:
            raise ValidationFailed("manufactured_on", f"the unit was bought on {unit.purchased_on}")
    if unit is None:
        unit = Unit(id=uuid.uuid4(), serial=row.serial, product_id=row.product_id, manufactured_on=row.manufactured_on)
        session.add(unit)
        units[row.serial] = unit
    elif unit.product_id != row.product_id or unit.manufactured_on != row.manufactured_on:
        unit.product_id, unit.manufactured_on = row.product_id, row.manufactured_on
    card = None
    if row.phone:
        if owner is None:
            owner = Customer(id=uuid.uuid4(), name=row.name, phone=row.phone, address=row.address)
            session.add(owner)
            customers[row.phone] = owner
        if unit.customer_id is None:
            card = Activation(id=uuid.uuid4(), unit_id=unit.id, customer_id=owner.id, purchased_on=row.purchased_on,
                              sales_channel=row.sales_channel, activated_at=applying.now, actor_id=applying.actor_id,
                              reason="import")
            session.add(card)
            unit.customer_id, unit.purchased_on, unit.sales_channel, unit.activated_at = \
                owner.id, row.purchased_on, row.sales_channel, applying.now
    if row.dealer_id is not None:
        step = (unit.id, row.dealer_id, row.purchased_on or row.manufactured_on)
        if step not in known:
            session.add(JourneyEvent(unit_id=unit.id, kind=JourneyKind.TO_DEALER, partner_id=row.dealer_id, on=step[2],
                                     reference="import", actor_id=applying.actor_id, at=applying.now))
            known.add(step)
    return card


def export(session, actor: Principal) -> Iterator[list[Any]]:
    """Every unit, read in chunks."""
    dealers = dict(session.execute(select(JourneyEvent.unit_id, TradePartner.code).join(
        TradePartner, TradePartner.id == JourneyEvent.partner_id).where(
        JourneyEvent.kind == JourneyKind.TO_DEALER)).all())
    query = (select(Unit.serial, Product.sku, Unit.manufactured_on, Customer.phone, Customer.name, Customer.address,
                    Unit.purchased_on, Unit.sales_channel, Unit.id)
             .join(Product, Product.id == Unit.product_id).outerjoin(Customer, Customer.id == Unit.customer_id)
             .order_by(Unit.serial).execution_options(yield_per=2000))
    for serial, sku, made, phone, name, address, bought, channel, unit_id in session.execute(query):
        yield [serial, sku, made.isoformat(), phone or "", name or "", address or "",
               bought.isoformat() if bought else "", channel or "", dealers.get(unit_id, "")]


SHAPE = Shape(
    kind=ImportKind.UNITS, columns=COLUMNS, required=REQUIRED, key="serial",
    importers=frozenset({Role.ADMIN}), exporters=frozenset({Role.ADMIN, Role.REVIEWER}),
    context=context, parse=parse, key_of=lambda row: row.serial, export=export, apply_batch=apply_batch,
)
