"""Recall campaigns through HTTP: HQ defines a campaign over a serial range or a model and manufacture
dates; launched, the background task opens one job per affected activated unit (never a second one:
a rerun opens nothing), tells each customer, and its progress and the completion per point are read
back."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatch.network.models import Unit
from dispatch.warranty import recalls
from tests.api import warranty_builders as wb
from tests.api.jobs_builders import MONDAY, TUESDAY, assign, free_start, move, technician
from tests.api.test_stock_jobs import unit_serial
from tests.api.test_warranty_remedies import new_unit
from tests.api.warranty_builders import warranty_desk  # noqa: F401 (fixture)
from tests.helpers import assert_problem

pytestmark = pytest.mark.usefixtures("warranty_desk")

RECALLS = "/api/v1/recall-campaigns"
MADE = date(MONDAY.year - 1, 3, 29)  # the demo makes nothing after the 27th of a month


def recalled_units(api, session) -> list[str]:
    """Three activated RO-500s made on MADE (serials 96...01-03) and one never sold (04)."""
    serials = [new_unit(api, session, 96 + n, made=MADE) for n in range(4)]
    owner = session.scalar(select(Unit.customer_id).where(Unit.serial == unit_serial(session, covered=True)))
    for serial in serials[:3]:
        body = {"customer_id": str(owner), "sales_channel": "retail", "purchased_on": MADE.replace(day=30).isoformat()}
        assert api.post(f"/api/v1/units/{serial}/activation", as_="admin", json=body).status_code == 201
    return serials


def test_hq_defines_a_campaign_over_a_serial_range_or_a_model_and_dates(api, session):
    serials = recalled_units(api, session)
    body = {"code": "RC-VALVE-1", "title": "inlet valve may stick open", "part_sku": wb.VALVE,
            "serial_from": serials[0], "serial_to": serials[-1]}
    assert_problem(api.post(RECALLS, as_=wb.MANAGER, json=body), 403)
    assert_problem(api.post(RECALLS, as_="admin", json=body | {"serial_to": serials[0][:-1] + "0"}), 422,
                   field="serial_to")
    assert_problem(api.post(RECALLS, as_="admin", json={k: v for k, v in body.items() if k != "serial_to"}), 422,
                   field="serial_to")
    assert_problem(api.post(RECALLS, as_="admin", json={k: v for k, v in body.items() if not k.startswith("serial")}),
                   422, field="product_sku")
    by_range = api.post(RECALLS, as_="admin", json=body)
    assert by_range.status_code == 201 and by_range.json["total"] == 3, by_range.json  # the unsold one is not
    assert_problem(api.post(RECALLS, as_="admin", json=body), 409)
    by_model = api.post(RECALLS, as_="admin", json={
        "code": "RC-VALVE-2", "title": "same, by batch", "part_sku": wb.VALVE, "product_sku": "WP-RO500",
        "made_from": MADE.isoformat(), "made_to": MADE.isoformat()})
    assert by_model.status_code == 201 and by_model.json["total"] == 3, by_model.json
    assert by_model.json["status"] == "draft"


def test_the_launched_campaign_opens_one_job_per_unit_tells_customers_and_reports_per_point(api, session,
                                                                                          uow_factory):
    serials = recalled_units(api, session)
    campaign = api.post(RECALLS, as_="admin", json={
        "code": "RC-VALVE-3", "title": "inlet valve may stick open", "part_sku": wb.VALVE,
        "serial_from": serials[0], "serial_to": serials[-1]}).json
    launch = f"{RECALLS}/{campaign['id']}/launch"
    assert_problem(api.post(launch, as_=wb.MANAGER), 403)
    launched = api.post(launch, as_="admin")
    assert launched.status_code == 202, launched.json
    progress = api.get(f"{RECALLS}/{campaign['id']}", as_=wb.MANAGER).json
    assert (progress["status"], progress["total"], progress["processed"], progress["opened"], progress["failed"]) == (
        "done", 3, 3, 3, 0)
    told = api.get("/api/v1/notifications?template=recall_opened&page_size=100", as_="admin").json
    mine = [m for m in told if m["payload"]["code"] == "RC-VALVE-3"]
    assert sorted(m["payload"]["serial"] for m in mine) == serials[:3]
    assert len({m["job_id"] for m in mine}) == 3
    [hz01] = api.get(f"{RECALLS}/{campaign['id']}/points", as_="admin").json
    assert (hz01["code"], hz01["opened"], hz01["completed"], hz01["open"]) == ("HZ01", 3, 0, 3)

    job = api.get(f"/api/v1/jobs/{mine[0]['job_id']}", as_=wb.MANAGER).json
    assert job["type"] == "repair" and "RC-VALVE-3" in job["description"]
    again = recalls.run(uow_factory, campaign["id"], radius_km=30.0, tz=ZoneInfo("Asia/Shanghai"))
    assert again["opened"] == 0  # a rerun (a retry, a second worker) opens no second job
    assert_problem(api.post(launch, as_="admin"), 409)  # done
    assert api.get(f"{RECALLS}/{campaign['id']}", as_="admin").json["opened"] == 3

    assert move(api, job, "cancelled", as_=wb.MANAGER, reason="customer moved abroad").status_code == 200
    [hz01] = api.get(f"{RECALLS}/{campaign['id']}/points", as_=wb.MANAGER).json
    assert (hz01["cancelled"], hz01["open"]) == (1, 2)

    # A recall visit completes without a fault cause: the campaign is its reason.
    second, worker = {"id": mine[1]["job_id"]}, technician(session, wb.TECH).id
    assert assign(api, second, worker, free_start(session, worker, TUESDAY, 9)).status_code == 200
    for to in ("en_route", "on_site", "completed"):
        moved = move(api, second, to, as_=wb.TECH)
        assert moved.status_code == 200, moved.json
    [hz01] = api.get(f"{RECALLS}/{campaign['id']}/points", as_=wb.MANAGER).json
    assert (hz01["completed"], hz01["open"]) == (1, 1)
    assert api.get(f"{RECALLS}/{campaign['id']}/points", as_="manager.nb01").json == []
