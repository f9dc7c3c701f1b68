"""The parts catalogue (list prices, fits, warranty) and the labour rate table. HQ maintains both."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from dispatch.network.models import JobType, Product
from dispatch.stock.ledger import actor_id_of
from dispatch.stock.models import BILLING_CURRENCY, LabourRate, Part, PartFit
from dispatch.uow import UnitOfWork


def resolve_part(session: Session, *, part_id: uuid.UUID | None = None, part_sku: str | None = None,
                 prefix: str = "") -> Part:
    """A part named by id or SKU in a request; an unknown one is a 422 naming the field
    (``prefix`` locates it in the body, e.g. ``"lines.0."``)."""
    if part_id is not None:
        part = session.get(Part, part_id)
        if part is None:
            raise ValidationFailed(f"{prefix}part_id", f"no part with id {part_id}")
        return part
    if part_sku is None:
        raise ValidationFailed(f"{prefix}part_sku", "name the part by part_sku or part_id")
    part = session.scalar(select(Part).where(Part.sku == part_sku))
    if part is None:
        raise ValidationFailed(f"{prefix}part_sku", f"no part with SKU {part_sku!r}")
    return part


def _products(session: Session, skus: Sequence[str], field: str) -> list[Product]:
    found = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(list(skus))))}
    missing = sorted(set(skus) - set(found))
    if missing:
        raise ValidationFailed(field, f"unknown product SKU(s): {', '.join(missing)}")
    return [found[sku] for sku in dict.fromkeys(skus)]


def _check_currency(currency: str) -> None:
    if currency != BILLING_CURRENCY:
        raise ValidationFailed("currency", f"prices are kept in {BILLING_CURRENCY}; bills cannot mix currencies")


def list_parts(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int, q: str | None = None,
               product_sku: str | None = None, is_consumable: bool | None = None,
               active: bool | None = None) -> tuple[list[Part], int]:
    """Everyone signed in may read the catalogue (technicians look parts up on site)."""
    with uow:
        query = select(Part).options(selectinload(Part.fits)).order_by(Part.sku)
        if q:
            pattern = f"%{q.lower()}%"
            query = query.where(or_(func.lower(Part.sku).like(pattern), func.lower(Part.name).like(pattern)))
        if product_sku:
            query = query.where(Part.id.in_(select(PartFit.part_id).join(Product, Product.id == PartFit.product_id)
                                            .where(Product.sku == product_sku)))
        if is_consumable is not None:
            query = query.where(Part.is_consumable.is_(is_consumable))
        if active is not None:
            query = query.where(Part.active.is_(active))
        return page(uow.session, query, offset=offset, limit=limit)


def get_part(uow: UnitOfWork, actor: Principal, part_id: uuid.UUID) -> Part:
    with uow:
        part = uow.session.scalar(select(Part).options(selectinload(Part.fits)).where(Part.id == part_id))
        if part is None:
            raise NotFound(f"part {part_id} does not exist")
        return part


def _log_price(session, actor: Principal, part: Part) -> None:
    """Every write of a part records (and seals) what bills are computed from."""
    session.flush()
    audit_log.append(session, kind="stock.part_price", subject_id=part.id, actor_id=actor_id_of(actor), seal=[part],
                     payload={"sku": part.sku, "list_price": str(part.list_price), "currency": part.currency,
                              "is_consumable": part.is_consumable, "warranty_covered": part.warranty_covered})


def add_part(uow: UnitOfWork, actor: Principal, *, sku: str, name: str, list_price: Decimal,
             compatible_products: Sequence[str] = (), description: str = "", currency: str = BILLING_CURRENCY,
             is_consumable: bool = False, warranty_covered: bool = True) -> Part:
    actor.require(Role.ADMIN)
    _check_currency(currency)
    with uow:
        if uow.session.scalar(select(Part.id).where(Part.sku == sku)) is not None:
            raise Conflict(f"a part with SKU {sku!r} exists")
        products = _products(uow.session, compatible_products, "compatible_products")
        part = Part(sku=sku, name=name, description=description, list_price=list_price, currency=currency,
                    is_consumable=is_consumable, warranty_covered=warranty_covered,
                    fits=[PartFit(product_id=p.id) for p in products])
        uow.session.add(part)
        _log_price(uow.session, actor, part)
        uow.commit()
    return part


def update_part(uow: UnitOfWork, actor: Principal, part_id: uuid.UUID, *, expected_version: int | None = None,
                compatible_products: Sequence[str] | None = None, **changes) -> Part:
    """Change catalogue fields. A new list price applies to bills from now on; parts already
    fitted are billed at no more than the price when they were fitted."""
    actor.require(Role.ADMIN)
    if "currency" in changes:
        _check_currency(changes["currency"])
    with uow:
        part = uow.session.scalar(select(Part).options(selectinload(Part.fits)).where(Part.id == part_id)
                                  .with_for_update())
        if part is None:
            raise NotFound(f"part {part_id} does not exist")
        if expected_version is not None and part.version != expected_version:
            raise PreconditionFailed(f"part {part.sku} changed since it was read")
        for name, value in changes.items():
            setattr(part, name, value)
        if compatible_products is not None:
            wanted = {p.id for p in _products(uow.session, compatible_products, "compatible_products")}
            part.fits = [f for f in part.fits if f.product_id in wanted] + [
                PartFit(product_id=pid) for pid in sorted(wanted - set(part.compatible_product_ids), key=str)]
        _log_price(uow.session, actor, part)
        uow.commit()
    return part


def list_labour_rates(uow: UnitOfWork, actor: Principal) -> list[LabourRate]:
    with uow:
        return list(uow.session.scalars(select(LabourRate).order_by(LabourRate.job_type)))


def set_labour_rate(uow: UnitOfWork, actor: Principal, job_type: JobType, *, amount: Decimal,
                    currency: str = BILLING_CURRENCY) -> LabourRate:
    """HQ sets what labour costs an out-of-warranty customer for a job type (0 = free)."""
    actor.require(Role.ADMIN)
    _check_currency(currency)
    with uow:
        rate = uow.session.get(LabourRate, job_type, with_for_update=True)
        if rate is None:
            rate = LabourRate(job_type=job_type)
            uow.session.add(rate)
        rate.amount, rate.currency = amount, currency
        rate.updated_at, rate.updated_by = utcnow(), actor_id_of(actor)
        audit_log.append(uow.session, kind="stock.labour_rate", subject_id=job_type.value, actor_id=actor_id_of(actor),
                         seal=[rate], payload={"job_type": job_type.value, "amount": str(amount), "currency": currency})
        uow.commit()
    return rate
