"""Small builders for the service tier: each makes one row with plausible defaults and commits
it (to the test's savepoint), so a test states only what its rule depends on."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from dispatch.auth.models import Role, User
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.jobs.models import Job
from dispatch.network.models import (
    AuthorisationStatus,
    Customer,
    JobType,
    Product,
    ProductCategory,
    Region,
    RegionLevel,
    ServicePoint,
)

_serial = itertools.count(1)


class Builders:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _add(self, row: Any) -> Any:
        self.session.add(row)
        self.session.commit()
        return row

    def region(self, **values: Any) -> Region:
        n = next(_serial)
        return self._add(Region(**{"code": f"R-{n}", "name": f"Region {n}", "level": RegionLevel.DISTRICT} | values))

    def point(self, **values: Any) -> ServicePoint:
        n = next(_serial)
        return self._add(ServicePoint(**{"code": f"P{n:03d}", "name": f"Point {n}", "lat": 30.25, "lon": 120.16,
                                         "status": AuthorisationStatus.ACTIVE} | values))

    def product(self, **values: Any) -> Product:
        n = next(_serial)
        return self._add(Product(**{"sku": f"SKU-{n}", "name": f"Purifier {n}", "category": ProductCategory.WATER_PURIFIER,
                                    "warranty_months": 12, "maintenance_interval_days": None} | values))

    def customer(self, **values: Any) -> Customer:
        n = next(_serial)
        return self._add(Customer(**{"name": f"Wang {n}", "phone": f"1380000{n:04d}", "address": f"{n} Lake Road"}
                                  | values))

    def job(self, *, customer: Customer, product: Product, **values: Any) -> Job:
        n = next(_serial)
        return self._add(Job(**{"reference": f"J-{n}", "type": JobType.REPAIR, "customer_id": customer.id,
                                "product_id": product.id, "reported_at": utcnow()} | values))

    def actor(self, role: Role, point: ServicePoint | None = None) -> Principal:
        """A caller of ``role`` (with a user row, for services that record who acted)."""
        n = next(_serial)
        user = self._add(User(username=f"u{n}", password_hash="x", role=role,
                              service_point_id=point.id if point else None))
        return Principal(user_id=user.id, username=user.username, role=role,
                         service_point_id=point.id if point else None)
