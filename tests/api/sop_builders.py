"""Builders for the SOP API tests: a published test template and a job walked on site through the
jobs API, uploads, and step submissions."""

from __future__ import annotations

import io
import itertools

from dispatch.network.models import ProductCategory
from tests.api.jobs_builders import TUESDAY, assign, create_job, free_start, local, move, technician, units
from tests.unit.sop.evidence_images import jpeg

TECH = "tech.hz01.1"
MANAGER = "manager.hz01"
RECORDED_AT = local(TUESDAY, 10, 30).isoformat()
_photo_numbers = itertools.count(1)

# Every step kind, with ranges that block and that flag, in-order steps and steps with `after`.
STEPS = [
    {"key": "photo_before", "title": "Photo before work", "kind": "photo", "min_count": 1, "max_count": 2,
     "after": []},
    {"key": "pressure", "title": "Inlet pressure", "kind": "number", "unit": "MPa", "min": 0.1, "max": 0.4,
     "decimals": 2, "after": ["photo_before"]},
    {"key": "tds_tap", "title": "TDS of tap water", "kind": "number", "unit": "ppm", "min": 0, "max": 1500,
     "decimals": 0, "out_of_range": "flag", "after": []},
    {"key": "tds_purified", "title": "TDS of purified water", "kind": "number", "unit": "ppm", "min": 0,
     "max": 100, "decimals": 0, "out_of_range": "flag", "lt_step": "tds_tap", "after": []},
    {"key": "diagnosis", "title": "Diagnosis", "kind": "choice",
     "options": ["membrane clogged", "pump failure", "leak at a fitting"]},
    {"key": "notes", "title": "Notes", "kind": "text", "required": False, "after": []},
    {"key": "leak_free", "title": "No leak after 10 minutes", "kind": "confirm"},
    {"key": "customer_signature", "title": "Customer signature", "kind": "signature"},
]


def repair_unit(session):
    """The purifier unit create_job() uses for an HZ01 repair (its model gets the test template)."""
    return units(session, "HZ01", category=ProductCategory.WATER_PURIFIER)[0]


def publish_template(api, session, *, steps=None, code="TEST-REPAIR-MODEL") -> dict:
    """A model-specific repair template for the test unit's model (it beats WP-REPAIR), published."""
    sku = repair_unit(session).product.sku
    created = api.post("/api/v1/sop/templates/", as_="admin", json={
        "code": code, "title": "Repair (test model)", "job_type": "repair", "category": "water_purifier",
        "product_sku": sku, "steps": STEPS if steps is None else steps})
    assert created.status_code == 201, created.json
    published = api.post(f"/api/v1/sop/templates/{created.json['id']}/versions/1/publish", as_="admin")
    assert published.status_code == 200, published.json
    return created.json


def scheduled_job(api, session, tech: str = TECH) -> dict:
    job = create_job(api, session)
    worker = technician(session, tech).id
    response = assign(api, job, worker, free_start(session, worker, TUESDAY))
    assert response.status_code == 200, response.json
    return response.json


def on_site_job(api, session, tech: str = TECH) -> dict:
    """A repair on site whose fault cause is already recorded (these tests are about the SOP gate;
    the fault cause gate has tests/api/test_warranty_fault_causes.py)."""
    job = scheduled_job(api, session, tech)
    for to in ("en_route", "on_site"):
        response = move(api, job, to, tech)
        assert response.status_code == 200, response.json
    cause = api.put(f"/api/v1/jobs/{job['id']}/fault-cause", as_=tech, json={"fault_cause_code": "WP-VLV-STUCK"})
    assert cause.status_code == 200, cause.json
    return response.json


def upload(api, data: bytes | None = None, as_: str = TECH, filename: str = "photo.jpg"):
    data = data if data is not None else jpeg(camera=f"Test phone-{next(_photo_numbers)}")  # distinct bytes
    return api.post("/api/v1/attachments/", as_=as_, data={"file": (io.BytesIO(data), filename)},
                    content_type="multipart/form-data")


def photo_ids(api, n: int, as_: str = TECH) -> list[str]:
    ids = []
    for _ in range(n):
        response = upload(api, as_=as_)
        assert response.status_code == 201, response.json
        ids.append(response.json["id"])
    return ids


def put_step(api, job: dict, key: str, value=None, evidence=(), as_: str = TECH, **extra):
    body = {"value": value, "evidence": list(evidence), "recorded_at": RECORDED_AT} | extra
    return api.put(f"/api/v1/jobs/{job['id']}/checklist/steps/{key}", as_=as_, json=body)


def checklist(api, job: dict, as_: str = TECH, **params):
    response = api.get(f"/api/v1/jobs/{job['id']}/checklist", as_=as_, query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def step(body: dict, key: str) -> dict:
    return next(s for s in body["steps"] if s["key"] == key)


def complete_every_step(api, job: dict) -> None:
    """Submit every required step in range (tap 180 ppm, purified 12 ppm)."""
    for key, value, evidence in [("photo_before", None, 1), ("pressure", 0.25, 0), ("tds_tap", 180, 0),
                                 ("tds_purified", 12, 0), ("diagnosis", "pump failure", 0), ("leak_free", True, 0),
                                 ("customer_signature", "Qian Hao", 1)]:
        response = put_step(api, job, key, value, photo_ids(api, evidence))
        assert response.status_code == 200, response.json
