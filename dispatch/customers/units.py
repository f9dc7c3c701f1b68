"""The customer's units: the ones on their warranty cards, and self-activation by QR code.

A unit activates once. An activation far from the region the unit was sold in, or long after the
purchase date, is not refused: it is flagged, and HQ is told (push) and sees it in its review list.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date

from shapely.geometry import Point, shape
from shapely.ops import nearest_points
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import SYSTEM, CustomerPrincipal, Principal
from dispatch.care import notifications
from dispatch.care.templates import Template
from dispatch.clock import utcnow
from dispatch.customers.enums import ActivationFlag
from dispatch.customers.models import SelfActivation
from dispatch.customers.public import genuine_unit
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.geo import great_circle_m
from dispatch.i18n import N_
from dispatch.network import rules
from dispatch.clock import local_today
from dispatch.network.models import Customer, Region, Unit
from dispatch.network.units import SalesChannel, _bind, _check_purchase
from dispatch.sop.storage import EvidenceStore
from dispatch.uow import UnitOfWork

FAR_KM = 100.0
"""An activation this far from the region the unit was sold in is flagged."""
LATE_DAYS = 90
"""An activation this many days after the purchase date is flagged."""
MAX_INVOICE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class MyUnit:
    id: uuid.UUID
    serial: str
    sku: str
    model: str
    category: str
    purchased_on: date | None
    warranty_status: str
    warranty_until: date | None
    flags: tuple[str, ...] = ()


def _mine(session: Session, who: CustomerPrincipal, unit: Unit, today: date) -> MyUnit:
    coverage = rules.warranty_coverage(unit, today)
    card = session.scalar(select(SelfActivation).where(SelfActivation.unit_id == unit.id))
    return MyUnit(id=unit.id, serial=unit.serial, sku=unit.product.sku, model=unit.product.name,
                  category=unit.product.category.value, purchased_on=unit.purchased_on,
                  warranty_status=coverage.status, warranty_until=coverage.until,
                  flags=tuple(card.flags) if card is not None and card.customer_id == who.customer_id else ())


def list_my_units(uow: UnitOfWork, who: CustomerPrincipal, *, tz: str) -> list[MyUnit]:
    with uow:
        units = uow.session.scalars(select(Unit).where(Unit.customer_id == who.customer_id)
                                    .options(selectinload(Unit.product)).order_by(Unit.serial)).all()
        today = local_today(tz)
        return [_mine(uow.session, who, u, today) for u in units]


def own_unit(session: Session, who: CustomerPrincipal, unit_id: uuid.UUID) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.id == unit_id).options(selectinload(Unit.product)))
    if unit is None or unit.customer_id != who.customer_id:
        raise NotFound(N_("unit {id} does not exist"), params={"id": unit_id})
    return unit


def _distance_km(region: Region | None, lat: float, lon: float) -> float | None:
    """From the place to the sold-in region's boundary (0 inside it; None without a boundary)."""
    if region is None or not region.boundary:
        return None
    area = shape(region.boundary)
    here = Point(lon, lat)
    if area.covers(here):
        return 0.0
    nearest = nearest_points(area, here)[0]
    return round(great_circle_m(lat, lon, nearest.y, nearest.x) / 1000.0, 1)


def activate(uow: UnitOfWork, who: CustomerPrincipal, *, qr_key: str, store: EvidenceStore, tz: str, serial: str,
             signature: str, purchased_on: date, address: str, location: dict, sales_channel: str = "retail",
             invoice_photo: bytes | None = None) -> MyUnit:
    """The customer activates the warranty card of the unit in their hand (the QR code's serial
    and signature prove they hold it). Once only; flagged, never refused, when far or late."""
    if invoice_photo is not None and len(invoice_photo) > MAX_INVOICE_BYTES:
        raise ValidationFailed("invoice_photo", N_("the photo is larger than 5 MB"))
    with uow:
        session = uow.session
        unit = genuine_unit(session, qr_key, serial, signature)
        unit = session.scalar(select(Unit).where(Unit.id == unit.id).with_for_update()
                              .options(selectinload(Unit.product), selectinload(Unit.activations))
                              .execution_options(populate_existing=True))
        if unit.customer_id is not None:
            raise Conflict(N_("this unit's warranty card is activated already; call the hotline if it is yours"))
        today = local_today(tz)
        _check_purchase(unit, purchased_on, today)
        owner = session.get(Customer, who.customer_id)
        if not owner.address and address:
            owner.address = address.strip()
        if owner.lat is None:
            owner.lat, owner.lon = location["lat"], location["lon"]
        card = _bind(session, SYSTEM, unit, owner, purchased_on=purchased_on,
                     sales_channel=SalesChannel(sales_channel).value, reason="self-activation")
        distance = _distance_km(session.get(Region, unit.sold_region_id) if unit.sold_region_id else None,
                                location["lat"], location["lon"])
        days_after = (today - purchased_on).days
        flags = [f.value for f, hit in ((ActivationFlag.FAR_FROM_SALE, distance is not None and distance > FAR_KM),
                                        (ActivationFlag.LATE, days_after > LATE_DAYS)) if hit]
        invoice_sha = None
        if invoice_photo:
            invoice_sha = hashlib.sha256(invoice_photo).hexdigest()
            store.put(invoice_sha, invoice_photo)
        session.add(SelfActivation(unit_id=unit.id, customer_id=owner.id, activation_id=card.id,
                                   purchased_on=purchased_on, address=address.strip(), lat=location["lat"],
                                   lon=location["lon"], invoice_sha256=invoice_sha, flags=flags,
                                   distance_km=distance, days_after_purchase=days_after, created_at=utcnow()))
        audit_log.append(session, kind="unit.self_activation", subject_id=unit.id, actor_id=None, seal=[card, unit],
                         payload={"serial": unit.serial, "customer_id": owner.id, "purchased_on": purchased_on,
                                  "flags": flags, "distance_km": distance})
        if flags:
            notifications.notify_hq(session, Template.ACTIVATION_FLAGGED, {"serial": unit.serial, "flags": flags,
                                                                           "locale": "en"})
        uow.commit()
        return _mine(session, who, unit, today)


# --- HQ's review list -------------------------------------------------------------------------


def flagged_activations(uow: UnitOfWork, actor: Principal, *, reviewed: bool | None = False,
                        offset: int = 0, limit: int = 50) -> tuple[list[SelfActivation], int]:
    """Self-activations with flags (newest first); HQ only."""
    actor.require(Role.ADMIN, Role.REVIEWER)
    with uow:
        query = select(SelfActivation)
        if reviewed is not None:
            query = query.where(SelfActivation.reviewed_at.is_not(None) if reviewed
                                else SelfActivation.reviewed_at.is_(None))
        # JSON list emptiness is not portable SQL; the review list is small, filter here.
        rows = [r for r in uow.session.scalars(query.order_by(SelfActivation.created_at.desc())) if r.flags]
        return rows[offset:offset + limit], len(rows)


def review_activation(uow: UnitOfWork, actor: Principal, activation_id: uuid.UUID, *, note: str) -> SelfActivation:
    """HQ records that it looked at a flagged self-activation (and what it concluded)."""
    actor.require(Role.ADMIN)
    with uow:
        row = uow.session.get(SelfActivation, activation_id, with_for_update=True)
        if row is None:
            raise NotFound(f"self-activation {activation_id} does not exist")
        if row.reviewed_at is not None:
            raise Conflict("this self-activation was reviewed already")
        row.reviewed_at, row.reviewed_by, row.review_note = utcnow(), actor.user_id, note.strip()
        audit_log.append(uow.session, kind="unit.self_activation_review", subject_id=row.unit_id,
                         actor_id=actor.user_id, payload={"note": row.review_note, "flags": row.flags})
        uow.commit()
        return row

