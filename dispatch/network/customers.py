"""Customers and who may see their personal data.

Every signed-in role can find a customer (a technician at the door, a point that took over a
job), but only admins and the customer's *own* point see the phone number, e-mail, full name,
address and location unmasked. A point is the customer's own when it first served them
(``Customer.service_point_id``) or when it has a job for them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Uuid, column, func, or_, select, table
from sqlalchemy.orm import Session

from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.db import page
from dispatch.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dispatch.network.common import check_version, mask_address, mask_email, mask_name, mask_phone
from dispatch.network.models import Customer, CustomerGrade, ServicePoint
from dispatch.uow import UnitOfWork

PHONE_PATTERN = re.compile(r"^\+?\d[\d -]{5,22}\d$")

# A point sees a customer unmasked when it has a job for them. The jobs domain sits above the
# network, so the network reads the two columns of the jobs table it needs by name instead of
# importing dispatch.jobs (the table's foreign keys point here, not the other way round).
_JOBS = table("jobs", column("customer_id", Uuid), column("service_point_id", Uuid))


@dataclass(frozen=True)
class CustomerView:
    """A customer as one caller may see them (``masked`` says whether personal data is hidden)."""

    id: uuid.UUID
    name: str
    phone: str
    email: str | None
    address: str
    lat: float | None
    lon: float | None
    grade: CustomerGrade
    service_point_id: uuid.UUID | None
    masked: bool
    created_at: datetime
    version: int

    @classmethod
    def of(cls, customer: Customer, *, masked: bool) -> CustomerView:
        return cls(
            id=customer.id,
            name=mask_name(customer.name) if masked else customer.name,
            phone=mask_phone(customer.phone) if masked else customer.phone,
            email=mask_email(customer.email) if masked else customer.email,
            address=mask_address(customer.address) if masked else customer.address,
            lat=None if masked else customer.lat,
            lon=None if masked else customer.lon,
            grade=customer.grade,
            service_point_id=customer.service_point_id,
            masked=masked,
            created_at=customer.created_at,
            version=customer.version,
        )


def own_customer_ids(session: Session, actor: Principal, customers: list[Customer]) -> set[uuid.UUID]:
    """The subset of ``customers`` whose personal data ``actor`` may see unmasked."""
    if actor.is_admin:
        return {c.id for c in customers}
    if actor.service_point_id is None:
        return set()
    own = {c.id for c in customers if c.service_point_id == actor.service_point_id}
    rest = [c.id for c in customers if c.id not in own]
    if rest:
        own |= set(session.scalars(
            select(_JOBS.c.customer_id).where(_JOBS.c.customer_id.in_(rest), _JOBS.c.service_point_id == actor.service_point_id)
            .distinct()
        ))
    return own


def views(session: Session, actor: Principal, customers: list[Customer]) -> list[CustomerView]:
    own = own_customer_ids(session, actor, customers)
    return [CustomerView.of(c, masked=c.id not in own) for c in customers]


def view(session: Session, actor: Principal, customer: Customer) -> CustomerView:
    return views(session, actor, [customer])[0]


def normalise_phone(phone: str, field: str = "phone") -> str:
    """Digits with an optional leading +; spaces and dashes are dropped so lookups match."""
    if not PHONE_PATTERN.match(phone.strip()):
        raise ValidationFailed(field, "not a phone number (digits, optional leading +)")
    return re.sub(r"[ -]", "", phone.strip())


# --- reads ----------------------------------------------------------------------------------


def list_customers(
    uow: UnitOfWork,
    actor: Principal,
    *,
    offset: int,
    limit: int,
    phone: str | None = None,
    grade: CustomerGrade | None = None,
    service_point_id: uuid.UUID | None = None,
    q: str | None = None,
) -> tuple[list[CustomerView], int]:
    """Find customers by exact phone number, grade, owning point or a name fragment.

    The name search runs on real names, so it is offered to those who may see them: admins and
    points (who then see their own customers in full and the others masked).
    """
    with uow:
        query = select(Customer).order_by(Customer.name, Customer.id)
        if phone is not None:
            query = query.where(Customer.phone == normalise_phone(phone))
        if grade is not None:
            query = query.where(Customer.grade == grade)
        if service_point_id is not None:
            query = query.where(Customer.service_point_id == service_point_id)
        if q:
            pattern = f"%{q.lower()}%"
            if actor.is_admin:
                query = query.where(or_(func.lower(Customer.name).like(pattern),
                                        func.lower(Customer.address).like(pattern)))
            else:  # a fragment of a masked name must not reveal the hidden part
                own = or_(Customer.service_point_id == actor.service_point_id,
                          Customer.id.in_(select(_JOBS.c.customer_id).where(
                              _JOBS.c.service_point_id == actor.service_point_id)))
                query = query.where(own, or_(func.lower(Customer.name).like(pattern),
                                             func.lower(Customer.address).like(pattern)))
        customers, total = page(uow.session, query, offset=offset, limit=limit)
        return views(uow.session, actor, customers), total


def _editable(session: Session, actor: Principal, customer: Customer | None, customer_id: uuid.UUID) -> Customer:
    """The customer, if the caller's point (or HQ) holds them: another point's customer is
    answered exactly like a missing one (404), before any role or version check."""
    if customer is None or customer.id not in own_customer_ids(session, actor, [customer]):
        raise NotFound(f"customer {customer_id} does not exist")
    return customer


def get_customer(uow: UnitOfWork, actor: Principal, customer_id: uuid.UUID, *,
                 to_edit: bool = False) -> CustomerView:
    """One customer as the caller may see them; ``to_edit`` (the read before a PATCH) answers
    404 for another point's customer, then checks the caller's role may edit."""
    with uow:
        customer = uow.session.get(Customer, customer_id)
        if to_edit:
            _editable(uow.session, actor, customer, customer_id)
            actor.require(Role.ADMIN, Role.MANAGER)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        return view(uow.session, actor, customer)


# --- writes ---------------------------------------------------------------------------------


def find_or_add_customer(session: Session, actor: Principal, **values: Any) -> tuple[Customer, bool]:
    """The customer with this phone number, or a new one owned by the caller's point.

    Joins the caller's transaction (unit activation registers customers at the door this way).
    """
    phone = normalise_phone(values["phone"])
    existing = session.scalar(select(Customer).where(Customer.phone == phone).limit(1))
    if existing is not None:
        return existing, False
    return _new_customer(session, actor, **values), True


def _new_customer(
    session: Session,
    actor: Principal,
    *,
    name: str,
    phone: str,
    email: str | None = None,
    address: str = "",
    lat: float | None = None,
    lon: float | None = None,
    grade: CustomerGrade = CustomerGrade.STANDARD,
    service_point_id: uuid.UUID | None = None,
    locale: str | None = None,
) -> Customer:
    if actor.is_hq:
        if service_point_id is not None and session.get(ServicePoint, service_point_id) is None:
            raise ValidationFailed("service_point_id", f"service point {service_point_id} does not exist")
    else:
        if service_point_id not in (None, actor.service_point_id):
            raise ValidationFailed("service_point_id", "a point registers customers for itself")
        service_point_id = actor.service_point_id
    if (lat is None) != (lon is None):
        raise ValidationFailed("location", "give both lat and lon")
    customer = Customer(name=name, phone=normalise_phone(phone), email=email, address=address, lat=lat, lon=lon,
                        grade=grade, service_point_id=service_point_id, locale=locale)
    session.add(customer)
    session.flush()
    return customer


def create_customer(uow: UnitOfWork, actor: Principal, **values: Any) -> CustomerView:
    """Register a customer (HQ, a point's manager, or a technician at the door). One customer
    per phone number: a second registration answers 409 with the existing customer's id."""
    actor.require(Role.ADMIN, Role.MANAGER, Role.TECHNICIAN)
    with uow:
        phone = normalise_phone(values["phone"])
        existing = uow.session.scalar(select(Customer.id).where(Customer.phone == phone).limit(1))
        if existing is not None:
            raise Conflict("a customer with this phone number exists already", existing_id=str(existing))
        customer = _new_customer(uow.session, actor, **values)
        uow.commit()
        return CustomerView.of(customer, masked=False)


def update_customer(uow: UnitOfWork, actor: Principal, customer_id: uuid.UUID, *,
                    expected_version: int | None = None, **changes: Any) -> CustomerView:
    """Admins and the customer's own point's manager correct details; nobody else may (another
    point's customer is a 404, like a missing one)."""
    with uow:
        customer = _editable(uow.session, actor, uow.session.scalars(
            select(Customer).where(Customer.id == customer_id).with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none(), customer_id)
        actor.require(Role.ADMIN, Role.MANAGER)
        check_version(customer, expected_version, "the customer")
        if "phone" in changes:
            phone = normalise_phone(changes["phone"])
            taken = uow.session.scalar(select(Customer.id).where(Customer.phone == phone, Customer.id != customer.id))
            if taken is not None:
                raise Conflict("another customer has this phone number", existing_id=str(taken))
            customer.phone = phone
        if ("lat" in changes) and ((changes["lat"] is None) != (changes.get("lon") is None)):
            raise ValidationFailed("location", "give both lat and lon")
        if "grade" in changes and changes["grade"] != customer.grade and not actor.is_admin:
            raise Forbidden("only HQ grades customers (the grade sets SLA targets)")
        for name in ("name", "email", "address", "lat", "lon", "grade", "locale"):
            if name in changes:
                setattr(customer, name, changes[name])
        if "service_point_id" in changes:
            if not actor.is_admin:
                raise Forbidden("only HQ hands a customer over to another point")
            if changes["service_point_id"] is not None and uow.session.get(
                    ServicePoint, changes["service_point_id"]) is None:
                raise ValidationFailed("service_point_id", "no such service point")
            customer.service_point_id = changes["service_point_id"]
        uow.commit()
        return CustomerView.of(customer, masked=False)
