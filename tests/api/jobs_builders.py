"""Builders for the jobs API tests: demo rows by natural key, and jobs made through the API."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.auth.models import User
from dispatch.jobs import calendar, hooks
from dispatch.network import rules as network_rules
from dispatch.network.models import ProductCategory, Region, ServicePoint, Technician, Unit
from tests.dates import TZ, local, next_weekday

MONDAY = local(next_weekday(0), 8)  # the frozen "now" of most tests: the next Monday morning
TUESDAY = MONDAY.date() + timedelta(days=1)

# Which districts each demo point covers (seeds/network.py): district code suffix -> point.
DISTRICTS = {"HZ01": ("ZJ-HZ-XH", "ZJ-HZ-GS"), "HZ02": ("ZJ-HZ-SC", "ZJ-HZ-BJ"),
             "NB01": ("ZJ-NB-HS", "ZJ-NB-YZ"), "NB02": ("ZJ-NB-JB", "ZJ-NB-ZH"),
             "SZ01": ("JS-SZ-HQ", "JS-SZ-XC"), "SZ02": ("JS-SZ-GS", "JS-SZ-WZ")}


def point(session, code: str) -> ServicePoint:
    return session.scalar(select(ServicePoint).where(ServicePoint.code == code))


def region(session, code: str) -> Region:
    return session.scalar(select(Region).where(Region.code == code))


def technician(session, username: str) -> Technician:
    return session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                          .where(User.username == username))


def units(session, point_code: str, *, category: ProductCategory | None = None, activated: bool = True,
          in_warranty_on: date | None = None, covered: bool | None = None) -> list[Unit]:
    """Units of customers living in ``point_code``'s districts, by serial (not those HQ took back under
    三包: their card is closed)."""
    rows = session.scalars(select(Unit).options(selectinload(Unit.product), selectinload(Unit.customer))
                           .order_by(Unit.serial)).all()
    found = []
    for unit in rows:
        if (unit.customer_id is not None) != activated:
            continue
        if unit.customer is not None and not unit.customer.address.endswith(DISTRICTS[point_code]):
            continue
        if unit.customer is None or unit.warranty_closed_on is not None:
            continue
        if category is not None and unit.product.category != category:
            continue
        if covered is not None and network_rules.in_warranty(unit, in_warranty_on) != covered:
            continue
        found.append(unit)
    return found


def free_start(session, technician_id, day: date, hour: int = 10) -> datetime:
    """``hour`` on ``day``, or the next whole hour after it that leaves the technician's booked
    visits two hours apart (room for a visit and the drive): builders that need *a* slot, not a
    particular one, never double-book."""
    start = local(day, hour)
    while any(abs(b.start - start) < timedelta(hours=2)
              for b in calendar.bookings(session, technician_id, start - timedelta(hours=3),
                                         start + timedelta(hours=3))):
        start += timedelta(hours=1)
    return start


def unactivated_unit(session) -> Unit:
    return session.scalar(select(Unit).where(Unit.customer_id.is_(None)).order_by(Unit.serial).limit(1))


def repair_body(session, point_code: str = "HZ01", *, category=ProductCategory.WATER_PURIFIER, **overrides):
    unit = units(session, point_code, category=category)[0]
    body = {"type": "repair", "unit_serial": unit.serial, "description": "leaking under the sink",
            "window_start": local(TUESDAY, 9).isoformat(), "window_end": local(TUESDAY, 12).isoformat()}
    return body | overrides


def create_job(api, session, point_code: str = "HZ01", as_: str = "admin", **overrides) -> dict:
    response = api.post("/api/v1/jobs/", as_=as_, json=repair_body(session, point_code, **overrides))
    assert response.status_code == 201, response.json
    return response.json


def assign(api, job: dict, technician_id: uuid.UUID | str, start: datetime, as_: str = "manager.hz01", **extra):
    return api.post(f"/api/v1/jobs/{job['id']}/assignment", as_=as_,
                    json={"technician_id": str(technician_id), "scheduled_start": start.isoformat()} | extra)


def move(api, job: dict, to: str, as_: str, **extra):
    return api.post(f"/api/v1/jobs/{job['id']}/transitions", as_=as_, json={"to": to} | extra)


@pytest.fixture
def own_hooks_only(monkeypatch):
    """Run the jobs lifecycle without other domains' hooks (SOP gate, stock reservations): these
    tests are about the jobs domain; test_jobs_hooks.py proves the hooks are called."""
    monkeypatch.setattr(hooks, "_before", [])
    monkeypatch.setattr(hooks, "_after", [])
    monkeypatch.setattr(hooks, "_loaded", True)
