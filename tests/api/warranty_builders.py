"""Builders for the warranty tests: an in-warranty repair on site with the warranty gate and the
stock hook only (the SOP gate has its own tests), parts fitted, causes recorded, claims read."""

from __future__ import annotations

import pytest

from dispatch.jobs import hooks
from dispatch.stock.job_hooks import keep_reservations_in_step
from dispatch.warranty.job_hooks import refuse_completion_without_fault_cause
from tests.api.jobs_builders import TUESDAY, assign, create_job, free_start, move, technician
from tests.api.test_stock_jobs import unit_serial

VALVE, PP = "VLV-SOL-IN", "FLT-PP-S1"
VAN1 = "VAN-tech.hz01.1"
TECH, MANAGER = "tech.hz01.1", "manager.hz01"
DEFECT, MISUSE, HEATER_DEFECT = "WP-VLV-STUCK", "WP-MEM-SCALE", "WH-THS-FAIL"


@pytest.fixture
def warranty_hooks(monkeypatch):
    """The lifecycle with the warranty completion gate and stock reservations only."""
    monkeypatch.setattr(hooks, "_before", [refuse_completion_without_fault_cause])
    monkeypatch.setattr(hooks, "_after", [keep_reservations_in_step])
    monkeypatch.setattr(hooks, "_loaded", True)


def repair_on_site(api, session, *, serial: str | None = None, covered: bool = True, tech: str = TECH) -> dict:
    job = create_job(api, session, "HZ01", unit_serial=serial or unit_serial(session, covered=covered))
    worker = technician(session, tech).id
    response = assign(api, job, worker, free_start(session, worker, TUESDAY, 9))
    assert response.status_code == 200, response.json
    for to in ("en_route", "on_site"):
        response = move(api, job, to, as_=tech)
        assert response.status_code == 200, response.json
    return response.json


def fit(api, job, sku: str = VALVE, quantity: int = 1, as_: str = TECH) -> dict:
    response = api.post(f"/api/v1/jobs/{job['id']}/parts", as_=as_, json={"part_sku": sku, "quantity": quantity})
    assert response.status_code == 201, response.json
    return response.json


def set_cause(api, job, code: str, as_: str = TECH, **extra):
    return api.put(f"/api/v1/jobs/{job['id']}/fault-cause", as_=as_, json={"fault_cause_code": code} | extra)


def claims_of(api, job, as_: str = "admin") -> list[dict]:
    response = api.get(f"/api/v1/claims/?job_id={job['id']}", as_=as_)
    assert response.status_code == 200, response.json
    return response.json


def check(claim: dict, name: str) -> dict:
    return next(c for c in claim["checks"] if c["check"] == name)
