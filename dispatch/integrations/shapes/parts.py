"""The parts catalogue and its price list, by part SKU.

The price a file sets is the published **list price**, the one bills are computed from (a part
fitted earlier is still billed at no more than its price then: customers are never overcharged).
Every change goes through the catalogue's own services, ``add_part`` and ``update_part``, so each
one is guarded (currency, non-negative price, known models) and recorded and sealed in the audit
log like a change made through the API; a row that changes nothing writes nothing. The model has
no part category beyond ``is_consumable`` (wear items). An empty cell leaves the stored value as
it is; ``compatible_products`` (model SKUs separated by ``;``) replaces the list when given.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.enums import Role
from dispatch.auth.principal import Principal
from dispatch.errors import ValidationFailed
from dispatch.integrations.enums import ImportKind
from dispatch.integrations.shapes.base import (
    Applying,
    Shape,
    a_bool,
    changes,
    items,
    money,
    text,
)
from dispatch.network.models import Product
from dispatch.stock import catalogue
from dispatch.stock.models import BILLING_CURRENCY, Part, PartFit

COLUMNS = ("sku", "name", "description", "list_price", "currency", "is_consumable", "warranty_covered", "active",
           "compatible_products")
REQUIRED = ("sku",)


@dataclass
class PartRow:
    sku: str
    values: dict[str, Any]
    compatible_products: list[str] | None


@dataclass
class Catalogue:
    products: set[str]
    parts: set[str]


def context(session: Session, actor: Principal, today: date) -> Catalogue:
    return Catalogue(set(session.scalars(select(Product.sku))), set(session.scalars(select(Part.sku))))


def parse(c: Catalogue, v: dict[str, str]) -> PartRow:
    sku = text(v, "sku", max_length=64)
    values: dict[str, Any] = {}
    for name, length in (("name", 200), ("description", 4000)):
        if v.get(name):
            values[name] = text(v, name, max_length=length)
    price = money(v, "list_price")
    if price is not None:
        values["list_price"] = price
    if v.get("currency"):
        if v["currency"].upper() != BILLING_CURRENCY:
            raise ValidationFailed("currency", f"prices are kept in {BILLING_CURRENCY}")
        values["currency"] = BILLING_CURRENCY
    for name in ("is_consumable", "warranty_covered", "active"):
        flag = a_bool(v, name)
        if flag is not None:
            values[name] = flag
    fits = None
    if v.get("compatible_products"):
        fits = sorted(set(items(v, "compatible_products")))
        unknown = [s for s in fits if s not in c.products]
        if unknown:
            raise ValidationFailed("compatible_products", f"no product {', '.join(unknown)}")
    if sku not in c.parts:
        for name in ("name", "list_price"):
            if name not in values:
                raise ValidationFailed(name, "is required for a new part")
    return PartRow(sku, values, fits)


def apply_row(session: Session, applying: Applying, row: PartRow) -> None:
    stored = session.scalar(select(Part).options(selectinload(Part.fits).selectinload(PartFit.product))
                            .where(Part.sku == row.sku))
    if stored is None:
        values = dict(row.values)
        active = values.pop("active", True)
        part = catalogue.add_part(applying.uow(session), applying.actor, sku=row.sku,
                                  compatible_products=row.compatible_products or (), **values)
        if not active:
            catalogue.update_part(applying.uow(session), applying.actor, part.id, active=False)
        return
    differ = changes(stored, row.values)
    fits = row.compatible_products if row.compatible_products not in (None, stored.compatible_products) else None
    if differ or fits is not None:
        catalogue.update_part(applying.uow(session), applying.actor, stored.id, compatible_products=fits, **differ)


def export(session: Session, actor: Principal) -> Iterator[list[Any]]:
    query = select(Part).options(selectinload(Part.fits).selectinload(PartFit.product)).order_by(Part.sku)
    for p in session.scalars(query.execution_options(yield_per=1000)):
        yield [p.sku, p.name, p.description, str(p.list_price), p.currency, _flag(p.is_consumable),
               _flag(p.warranty_covered), _flag(p.active), ";".join(p.compatible_products)]


def _flag(value: bool) -> str:
    return "true" if value else "false"


SHAPE = Shape(
    kind=ImportKind.PARTS, columns=COLUMNS, required=REQUIRED, key="sku",
    importers=frozenset({Role.ADMIN}), exporters=frozenset({Role.ADMIN, Role.REVIEWER}),
    context=context, parse=parse, key_of=lambda row: row.sku, export=export, apply_row=apply_row,
)
