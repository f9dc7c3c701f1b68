"""Trends and incentives through HTTP: HQ reads a point's KPIs week by week beside the week
before (the same figures the period report gives), a manager downloads their point's monthly
series, and at the start of the next month HQ records the month's evaluation of the point (its
rank among the points and a reward), which the manager then reads."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from tests.dates import SUITE_TODAY, local
from tests.helpers import assert_problem
from tests.scenarios.steps import ADMIN, API, REVIEWER, kpis, ok

MANAGER = "manager.hz01"


def test_hq_reads_the_trend_and_rewards_the_months_best_point(api, walk):
    # --- reviewer: eight weeks of HZ01, each beside the week before ------------------------------
    series = ok(api.get(f"{API}/kpis/series?interval=week&periods=8&service_point=HZ01", as_=REVIEWER))
    weeks = series["points"]
    assert len(weeks) == 8 and all(b["previous"] == a["figures"] for a, b in zip(weeks, weeks[1:]))
    done = [w for w in weeks if w["figures"]["kpis"]["jobs_done"]]
    assert done, "the demo's history gives HZ01 finished work in the last weeks"
    sample = done[-1]
    report = kpis(api, REVIEWER, date.fromisoformat(sample["from"]), date.fromisoformat(sample["to"]),
                  service_point="HZ01")
    assert sample["figures"]["kpis"] == report["kpis"]  # one set of figures, two views
    assert sample["figures"]["cost_per_job"] is not None

    # --- manager: their point's months as a spreadsheet; another point's is not theirs -----------
    sheet = api.get(f"{API}/kpis/series?interval=month&periods=3", as_=MANAGER, headers={"Accept": "text/csv"})
    assert sheet.status_code == 200, sheet.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(sheet.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 3 and rows[-1]["period"] == SUITE_TODAY.strftime("%Y-%m")
    assert_problem(api.get(f"{API}/kpis/series?service_point=NB01", as_=MANAGER), 404)

    # --- admin, on the first morning of next month: this month's evaluation of HZ01 --------------
    month_start = SUITE_TODAY.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    walk.to(local(next_month, 9))
    month = month_start.strftime("%Y-%m")
    last_day = next_month - timedelta(days=1)
    ranking = kpis(api, ADMIN, month_start, last_day)["ranking"]
    [entry] = [e for e in ranking if e["code"] == "HZ01"]
    evaluation = ok(api.post(f"{API}/kpis/evaluations", as_=ADMIN, json={
        "service_point_id": entry["id"], "month": month, "incentive": "reward", "amount": "2000.00",
        "note": "best first-time fix in the city"}), 201)
    assert (evaluation["rank"], evaluation["ranked_points"]) == (entry["rank"], len(ranking))

    # --- manager: reads the month's result -----------------------------------------------------------
    [mine] = [e for e in ok(api.get(f"{API}/kpis/evaluations?month={month}", as_=MANAGER))]
    assert (mine["incentive"], mine["amount"], mine["rank"]) == ("reward", "2000.00", entry["rank"])
