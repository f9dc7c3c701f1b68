"""What anyone may look up without an account: a unit behind its QR code, a technician behind
their badge, and the published price list of a model. Nothing here returns personal data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.customers import qr
from dispatch.errors import NotFound
from dispatch.i18n import N_
from dispatch.jobs import resolution
from dispatch.network import rules
from dispatch.clock import local_today
from dispatch.network.models import JobType, Product, ServicePoint, Technician, Unit
from dispatch.network.units import SERIAL_PATTERN
from dispatch.stock.models import BILLING_CURRENCY, LabourRate, Part, PartFit
from dispatch.uow import UnitOfWork

NOT_GENUINE = N_("this code does not belong to a genuine unit")


@dataclass(frozen=True)
class PointCard:
    """An authorised point as the public sees it (its business contact, never a person's)."""

    code: str
    name: str
    address: str
    phone: str


@dataclass(frozen=True)
class PublicUnit:
    serial: str
    sku: str
    model: str
    category: str
    genuine: bool
    activated: bool
    warranty_status: str
    warranty_until: date | None
    authorised_point: PointCard | None


def point_card(point: ServicePoint | None) -> PointCard | None:
    if point is None:
        return None
    return PointCard(code=point.code, name=point.name, address=point.address, phone=point.contact_phone)


def genuine_unit(session: Session, qr_key: str, serial: str, signature: str | None) -> Unit:
    """The unit a scanned code names: right signature and registered, else the one 404 (a forged
    signature, a guessed serial and a malformed one are answered alike)."""
    normalised = (serial or "").strip().upper()
    if not SERIAL_PATTERN.match(normalised) or not qr.unit_signature_ok(qr_key, normalised, signature):
        raise NotFound(NOT_GENUINE)
    unit = session.scalar(select(Unit).where(Unit.serial == normalised).options(selectinload(Unit.product)))
    if unit is None:
        raise NotFound(NOT_GENUINE)
    return unit


def authorised_point(session: Session, product: Product, *, on: date, radius_km: float,
                     location: resolution.Location | None, region_code: str | None) -> ServicePoint | None:
    """The point that would take a repair of ``product`` at this place (None: nobody, or no place)."""
    if location is None and not region_code:
        return None
    try:
        return resolution.resolve(session, category=product.category, job_type=JobType.REPAIR, on=on,
                                  radius_km=radius_km, region_code=region_code, location=location).service_point_in(session)
    except resolution.NoCoverage:
        return None


def unit_lookup(uow: UnitOfWork, *, qr_key: str, serial: str, signature: str | None, tz: str, radius_km: float,
                location: resolution.Location | None = None, region_code: str | None = None) -> PublicUnit:
    """``GET /public/units/{serial}?sig=``: model, genuine, activated, warranty end, and the
    authorised point for an address (a location or a region code) when one is given."""
    with uow:
        unit = genuine_unit(uow.session, qr_key, serial, signature)
        today = local_today(tz)
        coverage = rules.warranty_coverage(unit, today)
        activated = unit.customer_id is not None
        point = authorised_point(uow.session, unit.product, on=today, radius_km=radius_km, location=location,
                                 region_code=region_code)
        return PublicUnit(serial=unit.serial, sku=unit.product.sku, model=unit.product.name,
                          category=unit.product.category.value, genuine=True, activated=activated,
                          warranty_status=coverage.status, warranty_until=coverage.until if activated else None,
                          authorised_point=point_card(point))


# --- technicians ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    name: str
    category: str
    expires_on: date


@dataclass(frozen=True)
class TechnicianCheck:
    """Authorised, with who and for whom; or not, with nothing else."""

    authorised: bool
    name: str | None = None
    badge: str | None = None
    photo_url: str | None = None
    service_point: PointCard | None = None
    certificates: tuple[Certificate, ...] = ()


def verify_technician(uow: UnitOfWork, *, qr_key: str, tz: str, badge: str,
                      signature: str | None = None) -> TechnicianCheck:
    """Is the person with this badge an active technician of a point authorised today? A signed
    badge QR (``sig``) must carry the right signature. Any "no" looks the same."""
    normalised = (badge or "").strip().upper()
    if not normalised or (signature is not None and not qr.badge_signature_ok(qr_key, normalised, signature)):
        return TechnicianCheck(authorised=False)
    with uow:
        technician = uow.session.scalar(
            select(Technician).where(Technician.badge == normalised)
            .options(selectinload(Technician.certifications), selectinload(Technician.service_point)))
        today = local_today(tz)
        if technician is None or not technician.active or not technician.service_point.is_authorised_on(today):
            return TechnicianCheck(authorised=False)
        certificates = tuple(Certificate(c.name, c.category.value, c.expires_on)
                             for c in technician.certifications if c.valid_on(today))
        return TechnicianCheck(authorised=True, name=technician.name, badge=technician.badge,
                               photo_url=technician.photo_url or None,
                               service_point=point_card(technician.service_point), certificates=certificates)


# --- the published price list -----------------------------------------------------------------


@dataclass(frozen=True)
class PriceListPart:
    part_id: uuid.UUID
    sku: str
    name: str
    list_price: Decimal
    currency: str
    consumable: bool
    warranty_covered: bool


@dataclass(frozen=True)
class LabourPrice:
    job_type: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class WarrantyTerms:
    months: int
    labour_covered: bool
    parts_covered: bool  # parts whose own ``warranty_covered`` is false (filters) are billed anyway


@dataclass(frozen=True)
class PriceList:
    sku: str
    model: str
    category: str
    currency: str
    parts: tuple[PriceListPart, ...]
    labour: tuple[LabourPrice, ...]
    warranty: WarrantyTerms


def price_list(uow: UnitOfWork, sku: str) -> PriceList:
    """The parts that fit a model at list price, labour by job type, and what the warranty covers
    (labour and parts free within the warranty months, except parts the catalogue marks as not
    covered, such as filters)."""
    with uow:
        product = uow.session.scalar(select(Product).where(Product.sku == (sku or "").strip()))
        if product is None:
            raise NotFound(N_("no model has the SKU {sku}"), params={"sku": sku})
        parts = uow.session.scalars(
            select(Part).join(PartFit, PartFit.part_id == Part.id)
            .where(PartFit.product_id == product.id, Part.active.is_(True)).order_by(Part.sku)).all()
        rates = uow.session.scalars(select(LabourRate).order_by(LabourRate.job_type)).all()
        return PriceList(
            sku=product.sku, model=product.name, category=product.category.value, currency=BILLING_CURRENCY,
            parts=tuple(PriceListPart(p.id, p.sku, p.name, p.list_price, p.currency, p.is_consumable,
                                      p.warranty_covered) for p in parts),
            labour=tuple(LabourPrice(r.job_type.value, r.amount, r.currency) for r in rates),
            warranty=WarrantyTerms(months=product.warranty_months, labour_covered=True, parts_covered=True),
        )
