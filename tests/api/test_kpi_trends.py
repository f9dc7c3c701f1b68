"""KPI trends and monthly evaluations, on the hand-computed week of tests/api/test_kpis.py (TST1,
2026-03-02..08) and its neighbours: each week beside the previous one, repeat repairs, cost per
job from the parts fitted and the labour rate table, the CSV, scoping; HQ's monthly evaluation
records the point's rank and the reward or penalty, once per point and month."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from dispatch import clock
from dispatch.audit_log.models import LogEntry
from dispatch.jobs.models import JobType
from dispatch.stock.models import LabourRate, Part, PartUsage, StockLocation
from tests.api.test_kpis import ALPHA, TOTAL, at, tst1  # noqa: F401 - tst1 is a fixture
from tests.helpers import assert_problem

SERIES = "/api/v1/kpis/series"


@pytest.fixture
def fitted(session, tst1):  # noqa: F811
    """Two filters fitted on J1 at 35.50 each (the list price when fitted)."""
    part = session.scalar(select(Part).order_by(Part.sku).limit(1))
    location = session.scalar(select(StockLocation).order_by(StockLocation.code).limit(1))
    session.add(PartUsage(job_id=tst1["j1"].id, part_id=part.id, quantity=2, location_id=location.id,
                          list_price=Decimal("35.50"), currency="CNY", operation_id=uuid.uuid4(), at=at(3, 2, 10)))
    session.commit()
    return tst1


def labour(session, *types: JobType) -> float:
    rates = dict(session.execute(select(LabourRate.job_type, LabourRate.amount)).all())
    return float(sum(rates[t] for t in types))


def test_weekly_series_puts_each_week_beside_the_previous_one_with_repeats_and_cost(api, session, fitted):
    response = api.get(f"{SERIES}?interval=week&periods=3&to=2026-03-22&service_point=TST1", as_="admin")
    assert response.status_code == 200, response.json
    body = response.json
    assert [p["period"] for p in body["points"]] == ["2026-W10", "2026-W11", "2026-W12"]
    w10, w11, w12 = body["points"]
    assert (w10["from"], w10["to"]) == ("2026-03-02", "2026-03-08")
    assert w10["figures"]["kpis"] == TOTAL and w10["previous"]["kpis"]["jobs_done"] == 0
    assert w10["figures"]["repeat_repairs"] == 1  # J1, repaired again by J2 two days later
    cost = labour(session, JobType.REPAIR, JobType.REPAIR, JobType.MAINTENANCE, JobType.INSTALL)
    assert w10["figures"]["parts_cost_per_job"] == 17.75  # 71.00 over 4 jobs
    assert w10["figures"]["labour_cost_per_job"] == round(cost / 4, 2)
    assert w10["figures"]["cost_per_job"] == round((71 + cost) / 4, 2)
    assert w11["previous"] == w10["figures"] and w11["figures"]["kpis"]["jobs_done"] == 0
    assert w11["figures"]["cost_per_job"] is None  # no job done: no figure, not 0
    assert w12["figures"]["kpis"]["jobs_done"] == 1 and w12["previous"] == w11["figures"]

    alpha = api.get(f"{SERIES}?interval=week&periods=1&to=2026-03-08&technician=tech.tst1.a",
                    as_="manager.tst1").json
    assert alpha["points"][0]["figures"]["kpis"] == ALPHA
    monthly = api.get(f"{SERIES}?interval=month&periods=2&to=2026-03-31&service_point=TST1", as_="admin").json
    assert [p["period"] for p in monthly["points"]] == ["2026-02", "2026-03"]
    assert monthly["points"][1]["figures"]["kpis"]["jobs_done"] == 5  # J1-J4 and J5


def test_the_series_as_csv_and_bad_or_foreign_requests(api, fitted):
    response = api.get(f"{SERIES}?interval=week&periods=2&to=2026-03-15&service_point=TST1", as_="manager.tst1",
                       headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["period"] for r in rows] == ["2026-W10", "2026-W11"]
    assert (rows[0]["jobs_done"], rows[0]["repeat_repairs"], rows[1]["previous_jobs_done"]) == ("4", "1", "4")
    assert rows[1]["cost_per_job"] == ""
    assert_problem(api.get(f"{SERIES}?interval=day", as_="admin"), 422, field="interval")
    assert_problem(api.get(f"{SERIES}?interval=month&periods=25", as_="admin"), 422, field="periods")
    assert_problem(api.get(f"{SERIES}?periods=0", as_="admin"), 422, field="periods")
    assert_problem(api.get(f"{SERIES}?service_point=TST1", as_="manager.hz01"), 404)
    assert_problem(api.get(SERIES, as_="tech.hz01.1"), 403)


def test_hq_evaluates_a_finished_month_once_with_rank_and_incentive(api, session, fitted):
    point = str(fitted["point"].id)
    body = {"service_point_id": point, "month": "2026-03", "incentive": "penalty", "amount": "500.00",
            "note": "first-time fix at 50 %"}
    with clock.frozen(at(4, 2, 9)):
        assert_problem(api.post("/api/v1/kpis/evaluations", as_="reviewer", json=body), 403)
        assert_problem(api.post("/api/v1/kpis/evaluations", as_="admin", json={**body, "month": "2026-04"}),
                       422, field="month")  # not finished yet
        assert_problem(api.post("/api/v1/kpis/evaluations", as_="admin", json={**body, "month": "2026-13"}), 422)
        assert_problem(api.post("/api/v1/kpis/evaluations", as_="admin", json={**body, "amount": "0"}),
                       422, field="amount")
        made = api.post("/api/v1/kpis/evaluations", as_="admin", json=body)
        assert made.status_code == 201, made.json
        evaluation = made.json
        ranking = api.get(f"/api/v1/kpis/?from=2026-03-01&to=2026-03-31", as_="admin").json["ranking"]
        [entry] = [e for e in ranking if e["id"] == point]
        assert (evaluation["rank"], evaluation["ranked_points"], evaluation["score"]) == (
            entry["rank"], len(ranking), entry["score"])
        assert (evaluation["incentive"], evaluation["amount"], evaluation["kpis"]["jobs_done"]) == ("penalty", "500.00", 5)
        assert_problem(api.post("/api/v1/kpis/evaluations", as_="admin", json=body), 409)
        mine = api.get("/api/v1/kpis/evaluations?month=2026-03", as_="manager.tst1").json
        assert [e["id"] for e in mine] == [evaluation["id"]]
        assert api.get("/api/v1/kpis/evaluations?month=2026-03", as_="manager.hz01").json == []
        assert_problem(api.get("/api/v1/kpis/evaluations?month=March", as_="admin"), 422)
    logged = session.scalars(select(LogEntry.kind).where(LogEntry.subject_id == point,
                                                         LogEntry.kind == "kpis.evaluation")).all()
    assert logged == ["kpis.evaluation"]
