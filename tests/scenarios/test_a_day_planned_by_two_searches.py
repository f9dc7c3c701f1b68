"""A worker with a spare core runs two searches per plan (``DISPATCH_SOLVE_SEARCHES=2``, issue 20):
the manager asks for the day's plan through HTTP as usual, the task runs two differently seeded
searches at once, and the plan that comes back places the customer's job in its window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.network.models import CustomerGrade
from dispatch.routing import service
from tests.dates import SUITE_TODAY, local
from tests.scenarios.steps import (
    at,
    caller_unit,
    next_working_day,
    point_id,
    repair_call,
    request_plan,
    stops_of,
    take_in,
)

MANAGER = "manager.hz01"


@pytest.fixture
def settings(base_settings, tmp_path):
    return base_settings.with_(upload_dir=tmp_path / "uploads", solve_searches=2)


def test_the_days_plan_comes_from_two_searches_and_serves_the_call(api, session, walk, monkeypatch):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day - timedelta(days=1), 15), walk.now))
    unit = caller_unit(session, "HZ01", covered=True, on=day, grade=CustomerGrade.STANDARD)
    taken = take_in(api, repair_call(unit, day, (13, 17), "no hot water"), key="cc-two-searches").json
    real_solve, searches = service.solve_within, []

    def counted(*args, **kwargs):
        searches.append(kwargs["searches"])
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(service, "solve_within", counted)
    plan = request_plan(api, MANAGER, hz01, day)  # the worker's setting reaches the solve
    assert searches == [2]
    stops = stops_of(plan)
    assert taken["id"] in stops, plan["unassigned"]
    _, stop = stops[taken["id"]]
    assert local(day, 13) <= at(stop["start_at"]) <= local(day, 17)
    assert plan["stats"]["jobs"] == len(stops) + len(plan["unassigned"])
