"""HQ suspends a point mid-day through HTTP: the call centre's very next call from its district
goes to the nearest active point, out of area; reinstated, the next call comes back to it. Each
API process routes from the network it keeps in memory (dispatch.network.index): these steps
prove it never routes by a network that has changed."""

from __future__ import annotations

from datetime import timedelta

from tests.dates import SUITE_TODAY, local
from tests.scenarios.steps import ADMIN, API, caller_unit, next_working_day, ok, point_id, repair_call, take_in

MANAGER = "manager.hz01"


def test_a_point_suspended_after_an_audit_gets_no_new_calls_until_it_is_reinstated(api, session, walk):
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    walk.to(max(local(day - timedelta(days=1), 16), walk.now))
    first = caller_unit(session, "HZ01", covered=True, on=day)
    taken = take_in(api, repair_call(first, day, (9, 17), "leaking under the sink")).json
    assert (taken["dispatch"]["service_point_code"], taken["dispatch"]["out_of_area"]) == ("HZ01", False)

    # --- HQ: the point failed its quarterly audit ---------------------------------------------
    hz01 = point_id(api, "HZ01")
    ok(api.post(f"{API}/service-points/{hz01}/suspend", as_=ADMIN, json={"reason": "failed the quarterly audit"}))

    # --- call centre: the next caller from the same district ----------------------------------
    second = caller_unit(session, "HZ01", covered=True, on=day, skip=(first.serial,))
    moved = take_in(api, repair_call(second, day, (9, 17), "no water at all")).json
    assert moved["dispatch"]["service_point_code"] != "HZ01"
    assert (moved["dispatch"]["reason"], moved["dispatch"]["out_of_area"]) == ("nearest", True)
    mine = {j["id"] for j in api.get(f"{API}/jobs/?page_size=100", as_=MANAGER).json}
    assert taken["id"] in mine and moved["id"] not in mine

    # --- HQ: reinstated after the corrective plan; calls come back ----------------------------
    ok(api.post(f"{API}/service-points/{hz01}/reinstate", as_=ADMIN, json={}))
    third = caller_unit(session, "HZ01", covered=True, on=day, skip=(first.serial, second.serial))
    back = take_in(api, repair_call(third, day, (9, 17), "filter light on")).json
    assert (back["dispatch"]["service_point_code"], back["dispatch"]["out_of_area"]) == ("HZ01", False)
