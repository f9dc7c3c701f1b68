"""Warranty KPIs through HTTP: the top fault causes per model and per point (the demo's repairs all
carry a cause, some misuse), and claim outcomes with the rejections by reason, including a misuse
rejection made through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch import clock
from tests.api.jobs_builders import MONDAY, move
from tests.api.test_stock_movements import counted
from tests.api.warranty_builders import MISUSE, TECH, VALVE, VAN1, fit, repair_on_site, set_cause, warranty_hooks  # noqa: F401
from tests.helpers import assert_problem


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield


def kpis(api, as_="admin", days=365, **extra):
    params = {"from": (MONDAY.date() - timedelta(days=days)).isoformat(), "to": MONDAY.date().isoformat()} | extra
    return api.get("/api/v1/kpis/warranty/", as_=as_, query_string=params)


def test_top_causes_per_model_and_per_point_come_from_the_demo_repairs(api):
    body = kpis(api).json
    assert body["by_model"] and body["by_point"], body
    for group in body["by_model"] + body["by_point"]:
        assert group["repairs"] >= sum(c["repairs"] for c in group["top"]) and len(group["top"]) <= 5
        assert [c["repairs"] for c in group["top"]] == sorted((c["repairs"] for c in group["top"]), reverse=True)
    assert sum(g["misuse"] for g in body["by_point"]) > 0  # the demo has misuse repairs
    assert sum(g["repairs"] for g in body["by_model"]) == sum(g["repairs"] for g in body["by_point"])
    models = {g["key"] for g in body["by_model"]}
    assert models <= {"WP-RO500", "WP-RO800", "WP-UF300", "WH-EH60", "WH-GH16"}
    assert kpis(api, limit=1).json["by_model"][0]["top"].__len__() == 1


@pytest.mark.usefixtures("warranty_hooks")
def test_a_misuse_rejection_shows_in_the_claim_kpis_of_the_point_only_its_manager_sees(api, session):
    before = kpis(api, as_="manager.hz01", days=0).json["claims"]
    counted(api, VAN1, VALVE, 1)
    job = repair_on_site(api, session)
    fit(api, job)
    set_cause(api, job, MISUSE)
    assert move(api, job, "completed", as_=TECH).status_code == 200
    after = kpis(api, as_="manager.hz01", days=0).json
    assert after["claims"]["rejected"] == before["rejected"] + 1
    assert after["claims"]["rejections"].get("misuse", 0) == before["rejections"].get("misuse", 0) + 1
    assert {o["key"] for o in after["claims_by_point"]} == {"HZ01"}
    assert {g["key"] for g in after["by_point"]} <= {"HZ01"}
    misuse_today = [c for g in after["by_point"] for c in g["top"] if c["code"] == MISUSE]
    assert misuse_today and misuse_today[0]["kind"] == "misuse"
    assert_problem(kpis(api, as_=TECH), 403)
    assert_problem(kpis(api, days=400), 422, field="to")
