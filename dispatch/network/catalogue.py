"""The product catalogue: models (SKUs), their warranty terms, maintenance interval and the
standard on-site minutes per job type that scheduling uses. HQ maintains it; everyone reads it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.db import page
from dispatch.errors import Conflict, NotFound
from dispatch.network.common import check_version
from dispatch.network.models import JobType, Product, ProductCategory, Unit
from dispatch.uow import UnitOfWork


def _minutes(standard_minutes: dict[str, Any] | None) -> dict[str, int]:
    """Keep the known job types only, as {"install": 90, ...}."""
    return {t.value: int(standard_minutes[t.value]) for t in JobType if (standard_minutes or {}).get(t.value)}


def list_products(
    uow: UnitOfWork,
    actor: Principal,
    *,
    offset: int,
    limit: int,
    category: ProductCategory | None = None,
    sku: str | None = None,
    q: str | None = None,
) -> tuple[list[Product], int]:
    with uow:
        query = select(Product).order_by(Product.sku)
        if category is not None:
            query = query.where(Product.category == category)
        if sku is not None:
            query = query.where(Product.sku == sku.upper())
        if q:
            pattern = f"%{q.lower()}%"
            query = query.where(or_(func.lower(Product.name).like(pattern), func.lower(Product.sku).like(pattern)))
        return page(uow.session, query, offset=offset, limit=limit)


def get_product(uow: UnitOfWork, actor: Principal, product_id: uuid.UUID, *, to_edit: bool = False) -> Product:
    """One model; ``to_edit`` (the read before a PATCH/DELETE) first checks the caller may edit."""
    if to_edit:
        actor.require(Role.ADMIN)
    with uow:
        product = uow.session.get(Product, product_id)
        if product is None:
            raise NotFound(f"product {product_id} does not exist")
        return product


def create_product(
    uow: UnitOfWork,
    actor: Principal,
    *,
    sku: str,
    name: str,
    category: ProductCategory,
    warranty_months: int,
    maintenance_interval_days: int | None = None,
    standard_minutes: dict[str, Any] | None = None,
) -> Product:
    actor.require(Role.ADMIN)
    with uow:
        sku = sku.upper()
        if uow.session.scalar(select(Product.id).where(Product.sku == sku)) is not None:
            raise Conflict(f"SKU {sku} is already in the catalogue")
        product = Product(sku=sku, name=name, category=category, warranty_months=warranty_months,
                          maintenance_interval_days=maintenance_interval_days,
                          standard_minutes=_minutes(standard_minutes))
        uow.session.add(product)
        uow.commit()
    return product


def update_product(uow: UnitOfWork, actor: Principal, product_id: uuid.UUID, *,
                   expected_version: int | None = None, **changes: Any) -> Product:
    """SKU and category are identity (units and coverage depend on them); the rest may change.
    A new warranty length applies to every unit of the model, as printed on its warranty card."""
    actor.require(Role.ADMIN)
    with uow:
        product = _locked(uow.session, product_id)
        check_version(product, expected_version, f"product {product.sku}")
        for name in ("name", "warranty_months", "maintenance_interval_days"):
            if name in changes:
                setattr(product, name, changes[name])
        if "standard_minutes" in changes:
            product.standard_minutes = {**product.standard_minutes, **_minutes(changes["standard_minutes"])}
        uow.commit()
    return product


def delete_product(uow: UnitOfWork, actor: Principal, product_id: uuid.UUID, *,
                   expected_version: int | None = None) -> None:
    """Only a model nobody owns and no job mentions can leave the catalogue."""
    actor.require(Role.ADMIN)
    with uow:
        product = _locked(uow.session, product_id)
        check_version(product, expected_version, f"product {product.sku}")
        units = uow.session.scalar(select(func.count()).select_from(Unit).where(Unit.product_id == product.id))
        if units:  # a job that names the product: its foreign key refuses the delete (409 on commit)
            raise Conflict(f"product {product.sku} is in use ({units} units)", in_use={"units": units})
        uow.session.delete(product)
        uow.commit()


def _locked(session: Session, product_id: uuid.UUID) -> Product:
    product = session.scalars(
        select(Product).where(Product.id == product_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if product is None:
        raise NotFound(f"product {product_id} does not exist")
    return product
