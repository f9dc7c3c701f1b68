"""Demo data of the customer channel: technicians' badges and photos, the region each unit was
sold in, and a demo customer (phone DEMO_CUSTOMER_PHONE) with one activated purifier and one new,
not yet activated unit (DEMO_NEW_SERIAL) to activate by its QR code."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.network.models import Activation, Customer, Product, Region, RegionLevel, ServicePoint, Technician, Unit
from dispatch.care.models import MaintenancePlan
from dispatch.care.rules import first_due_on
from dispatch.network.regions import district_at
from seeds import SeedContext

DEMO_CUSTOMER_PHONE = "13900000000"
OWNED_SEQUENCE = "9000001"
NEW_SEQUENCE = "9000002"


def badge_of(point_code: str, n: int) -> str:
    return f"T{point_code}{n:03d}"


def seed(ctx: SeedContext) -> dict[str, int]:
    session, today = ctx.session, ctx.today
    added: dict[str, int] = {}
    points = {p.id: p for p in session.scalars(select(ServicePoint))}
    counters: dict[str, int] = {}
    for tech in session.scalars(select(Technician).where(Technician.badge.is_(None)).order_by(Technician.name)):
        code = points[tech.service_point_id].code
        counters[code] = counters.get(code, 0) + 1
        tech.badge = badge_of(code, counters[code])
        tech.photo_url = f"https://dispatch.example/photos/{tech.badge}.jpg"
        added["technician_badges"] = added.get("technician_badges", 0) + 1
    districts = list(session.scalars(select(Region).where(Region.level == RegionLevel.DISTRICT,
                                                          Region.boundary.is_not(None)).order_by(Region.code)))
    unsold = list(session.scalars(select(Unit).where(Unit.sold_region_id.is_(None)).order_by(Unit.serial)))
    for index, unit in enumerate(unsold):
        unit.sold_region_id = districts[index % len(districts)].id if districts else None
    if unsold:
        added["units_sold_region"] = len(unsold)

    hz = session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ01"))
    product = session.scalar(select(Product).where(Product.sku == "WP-RO500"))
    customer = session.scalar(select(Customer).where(Customer.phone == DEMO_CUSTOMER_PHONE))
    if customer is None and hz is not None and product is not None:
        customer = Customer(name="Demo Customer 演示客户", phone=DEMO_CUSTOMER_PHONE, address="1 Demo Road, Hangzhou",
                            lat=hz.lat + 0.01, lon=hz.lon + 0.01)
        session.add(customer)
        session.flush()
        home = district_at(session, customer.lat, customer.lon)
        sold_in = home.id if home is not None else None
        purchased = today - timedelta(days=60)
        made = purchased - timedelta(days=90)
        owned = Unit(serial=f"RO{made.year}{OWNED_SEQUENCE}", product_id=product.id, manufactured_on=made,
                     customer_id=customer.id, purchased_on=purchased, sales_channel="retail",
                     activated_at=ctx.local(purchased, 12), sold_region_id=sold_in)
        session.add(owned)
        session.flush()
        session.add(Activation(unit_id=owned.id, customer_id=customer.id, purchased_on=purchased,
                               sales_channel="retail", activated_at=owned.activated_at, reason="demo: warranty card"))
        if product.maintenance_interval_days:  # what the nightly plan sync would give an activated unit
            interval = product.maintenance_interval_days
            session.add(MaintenancePlan(unit_id=owned.id, interval_days=interval,
                                        next_due_on=first_due_on(purchased, interval, today)))
        made = today - timedelta(days=120)
        session.add(Unit(serial=f"RO{made.year}{NEW_SEQUENCE}", product_id=product.id, manufactured_on=made,
                         sold_region_id=sold_in))
        added["demo_customers"] = 1
    return added


def demo_new_serial(session) -> str | None:
    """The serial of the demo's unit waiting to be activated (None once it is, or without demo data)."""
    return session.scalar(select(Unit.serial).where(Unit.serial.like(f"RO____{NEW_SEQUENCE}"),
                                                    Unit.customer_id.is_(None)))
