"""The demo shows a plan (issue 19, 'the demo shows a plan with floating breaks and both pictures'):
``dispatch demo`` (through ``dispatch demo-plan``) plans and applies the demo point's next day
through the API, prints each technician's floating break and the URLs of the map and Gantt
pictures, and writes both into the demo output directory when it exists; run again, it shows the
same applied plan."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from dispatch import clock
from dispatch.cli import main
from tests.dates import SUITE_NOW, SUITE_TODAY
from tests.schedule_check import calendar_violations


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen(SUITE_NOW):
        yield


def run(app, *args):
    result = CliRunner().invoke(main, ["demo-plan", *args], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_the_demo_plans_its_day_with_floating_breaks_and_prints_and_writes_both_pictures(app, api, session, tmp_path):
    day = SUITE_TODAY + timedelta(days=1)
    before = set(calendar_violations(session, "HZ01", day))  # the demo's hand-made bookings
    output = run(app, "--out", str(tmp_path))
    assert f"HZ01 {day.isoformat()} done, applied" in output, output
    plan_id = re.search(r"/api/v1/plans/([0-9a-f-]{36})/map\.svg", output).group(1)
    assert f"http://127.0.0.1:5000/api/v1/plans/{plan_id}/gantt.svg" in output
    breaks = re.findall(r"break: +(.+?) (\d\d:\d\d) for (\d+) min \(floats in (\d\d:\d\d)-(\d\d:\d\d)\)", output)
    assert breaks, output
    for _, start, _, earliest, latest in breaks:
        assert earliest <= start <= latest
    plan = api.get(f"/api/v1/plans/{plan_id}", as_="manager.hz01").json
    assert plan["applied_at"] and {r["break_start_at"][11:16] for r in plan["routes"] if r["break_start_at"]} \
        == {start for _, start, _, _, _ in breaks}
    for picture in ("map.svg", "gantt.svg"):
        drawn = (tmp_path / picture).read_text()
        assert drawn.startswith("<svg") and drawn == api.get(f"/api/v1/plans/{plan_id}/{picture}",
                                                              as_="manager.hz01").get_data(as_text=True)
    session.expire_all()
    assert set(calendar_violations(session, "HZ01", day)) <= before  # applying it broke nothing

    again = run(app, "--out", str(tmp_path / "missing"))  # no such directory: nothing written
    assert f"/api/v1/plans/{plan_id}/map.svg" in again and "pictures:" not in again
    assert not (tmp_path / "missing").exists()
