"""Customers alone (an ERP's or CRM's customer master), by normalised phone number.

A new phone registers a customer through ``create_customer``; a known one is corrected through
``update_customer`` with only the fields that differ (none: nothing is written). An empty cell
leaves the stored value as it is (a new customer gets the default). HQ imports and exports
(the export holds personal data in full).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.enums import Role
from dispatch.auth.principal import Principal
from dispatch.errors import ValidationFailed
from dispatch.i18n import normalise as normalise_locale
from dispatch.integrations.enums import ImportKind
from dispatch.integrations.shapes.base import (
    Applying,
    Shape,
    a_number,
    changes,
    one_of,
    point_of,
    text,
)
from dispatch.network import customers
from dispatch.network.enums import CustomerGrade
from dispatch.network.models import Customer, ServicePoint

COLUMNS = ("phone", "name", "email", "address", "lat", "lon", "grade", "service_point_code", "locale")
REQUIRED = ("phone",)  # and a name for a new customer


@dataclass
class CustomerRow:
    phone: str
    values: dict[str, Any]  # the fields the file gives (an empty cell gives none)


def context(session: Session, actor: Principal, today: date) -> tuple[Principal, dict[str, Any]]:
    return actor, {p.code: p for p in session.scalars(select(ServicePoint))}


def parse(ctx: tuple[Principal, dict[str, Any]], v: dict[str, str]) -> CustomerRow:
    actor, points = ctx
    phone = customers.normalise_phone(v["phone"], "phone")
    values: dict[str, Any] = {}
    if v.get("name"):
        values["name"] = text(v, "name", max_length=200)
    if v.get("email"):
        if "@" not in v["email"] or len(v["email"]) > 200:
            raise ValidationFailed("email", "not an e-mail address")
        values["email"] = v["email"]
    if v.get("address"):
        values["address"] = text(v, "address", max_length=300)
    lat, lon = a_number(v, "lat", low=-90, high=90), a_number(v, "lon", low=-180, high=180)
    if (lat is None) != (lon is None):
        raise ValidationFailed("lon" if lon is None else "lat", "give both lat and lon")
    if lat is not None:
        values["lat"], values["lon"] = lat, lon
    if v.get("grade"):
        values["grade"] = one_of(v, "grade", CustomerGrade)
    if v.get("service_point_code"):
        values["service_point_id"] = point_of(points, actor, v["service_point_code"]).id
    if v.get("locale"):
        values["locale"] = normalise_locale(v["locale"])
        if values["locale"] is None:
            raise ValidationFailed("locale", "zh-CN or en")
    return CustomerRow(phone, values)


def apply_row(session: Session, applying: Applying, row: CustomerRow) -> None:
    stored = session.scalar(select(Customer).where(Customer.phone == row.phone))
    if stored is None:
        if "name" not in row.values:
            raise ValidationFailed("name", "is required for a new customer")
        customers.create_customer(applying.uow(session), applying.actor, phone=row.phone, **row.values)
        return
    differ = changes(stored, row.values, pairs=(("lat", "lon"),))
    if differ:
        customers.update_customer(applying.uow(session), applying.actor, stored.id, **differ)


def export(session: Session, actor: Principal) -> Iterator[list[Any]]:
    codes = dict(session.execute(select(ServicePoint.id, ServicePoint.code)).all())
    query = select(Customer).order_by(Customer.phone).execution_options(yield_per=2000)
    for c in session.scalars(query):
        yield [c.phone, c.name, c.email or "", c.address, "" if c.lat is None else c.lat,
               "" if c.lon is None else c.lon, c.grade.value, codes.get(c.service_point_id, ""), c.locale or ""]


SHAPE = Shape(
    kind=ImportKind.CUSTOMERS, columns=COLUMNS, required=REQUIRED, key="phone",
    importers=frozenset({Role.ADMIN}), exporters=frozenset({Role.ADMIN}),
    context=context, parse=parse, key_of=lambda row: row.phone, export=export, apply_row=apply_row,
    fields={"service_point_id": "service_point_code", "location": "lat"},
)
