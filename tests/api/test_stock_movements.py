"""Stock through the HTTP API: every movement type, the never-negative rule, scoped views,
min/max limits and replenishment suggestions."""

from __future__ import annotations

from datetime import timedelta

from dispatch import clock
from tests.helpers import assert_problem

HQ = "HQ"
PP = "FLT-PP-S1"
VALVE = "VLV-SOL-IN"
VAN = "VAN-tech.hz01.1"


def level(api, location: str, sku: str, as_: str = "admin") -> dict:
    """The level of one part at one location (zeros when the location never held it)."""
    response = api.get(f"/api/v1/stock/?location={location}&part_sku={sku}&include_vans=false&page_size=5", as_=as_)
    assert response.status_code == 200, response.json
    rows = [row for row in response.json if row["location"]["code"] == location]
    return rows[0] if rows else {"on_hand": 0, "reserved": 0, "available": 0, "in_transit": 0, "defective": 0,
                                 "version": 0}


def counted(api, location: str, sku: str, quantity: int, as_: str = "admin") -> dict:
    """Set the on-hand count by an adjustment (what a stock take does)."""
    current = level(api, location, sku, as_)
    if current["on_hand"] == quantity:
        return current
    response = api.post("/api/v1/stock/adjustments", as_=as_, json={
        "location": location, "part_sku": sku, "counted": quantity, "reason": "test stock take"})
    assert response.status_code == 201, response.json
    return level(api, location, sku, as_)


def movements(api, as_="admin", **query) -> list[dict]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    response = api.get(f"/api/v1/stock/movements?page_size=100&{params}", as_=as_)
    assert response.status_code == 200, response.json
    return response.json


class TestReceive:
    def test_hq_receives_a_supplier_delivery_into_the_warehouse(self, api):
        before = level(api, HQ, PP)
        response = api.post("/api/v1/stock/deliveries", as_="admin", json={
            "lines": [{"part_sku": PP, "quantity": 20}, {"part_sku": VALVE, "quantity": 5}], "reference": "DN-2027-001"})
        assert response.status_code == 201, response.json
        rows = response.json
        assert [(r["kind"], r["location"]["code"], r["part"]["sku"], r["delta_on_hand"]) for r in rows] == [
            ("receive", HQ, PP, 20), ("receive", HQ, VALVE, 5)]
        assert rows[0]["reference"] == "DN-2027-001"
        after = level(api, HQ, PP)
        assert after["on_hand"] == before["on_hand"] + 20 and after["version"] > before["version"]

    def test_only_hq_receives_deliveries(self, api):
        response = api.post("/api/v1/stock/deliveries", as_="manager.hz01",
                            json={"lines": [{"part_sku": PP, "quantity": 1}]})
        assert_problem(response, 403, code="forbidden")

    def test_a_delivery_names_its_parts_correctly(self, api):
        assert_problem(api.post("/api/v1/stock/deliveries", as_="admin", json={
            "lines": [{"part_sku": "NO-SUCH-PART", "quantity": 1}]}), 422, field="lines.0.part_sku")
        assert_problem(api.post("/api/v1/stock/deliveries", as_="admin", json={
            "lines": [{"part_sku": PP, "quantity": 0}]}), 422, field="lines.0.quantity")
        assert_problem(api.post("/api/v1/stock/deliveries", as_="admin", json={
            "lines": [{"quantity": 1}]}), 422, field="lines.0.part_sku")


class TestTransfers:
    def test_a_transfer_is_in_transit_until_the_receiver_confirms_it(self, api):
        counted(api, HQ, VALVE, 30)
        point_before = level(api, "HZ01", VALVE)
        response = api.post("/api/v1/stock/transfers", as_="admin", json={
            "from_location": HQ, "to_location": "HZ01", "lines": [{"part_sku": VALVE, "quantity": 4}],
            "note": "weekly refill"})
        assert response.status_code == 201, response.json
        transfer = response.json
        assert response.headers["Location"].endswith(f"/api/v1/stock/transfers/{transfer['id']}")
        assert transfer["status"] == "in_transit"
        assert level(api, HQ, VALVE)["on_hand"] == 26
        in_transit = level(api, "HZ01", VALVE)
        assert (in_transit["on_hand"], in_transit["in_transit"]) == (point_before["on_hand"],
                                                                    point_before["in_transit"] + 4)

        assert_problem(api.post(f"/api/v1/stock/transfers/{transfer['id']}/receipt", as_="manager.hz02"), 404)
        received = api.post(f"/api/v1/stock/transfers/{transfer['id']}/receipt", as_="manager.hz01")
        assert received.status_code == 200, received.json
        assert received.json["status"] == "received" and received.json["received_at"]
        arrived = level(api, "HZ01", VALVE)
        assert (arrived["on_hand"], arrived["in_transit"]) == (point_before["on_hand"] + 4, point_before["in_transit"])
        assert_problem(api.post(f"/api/v1/stock/transfers/{transfer['id']}/receipt", as_="manager.hz01"), 409)
        rows = movements(api, transfer_id=transfer["id"])
        assert sorted((r["kind"], r["location"]["code"], r["delta_on_hand"], r["delta_in_transit"]) for r in rows) == [
            ("transfer", HQ, -4, 0), ("transfer", "HZ01", 0, 4), ("transfer_receipt", "HZ01", 4, -4)]

    def test_a_manager_stocks_a_van_and_the_technician_confirms(self, api):
        counted(api, "HZ01", PP, 10, as_="manager.hz01")
        van_before = level(api, VAN, PP, as_="tech.hz01.1")
        transfer = api.post("/api/v1/stock/transfers", as_="manager.hz01", json={
            "from_location": "HZ01", "to_location": VAN, "lines": [{"part_sku": PP, "quantity": 3}]}).json
        assert_problem(api.post(f"/api/v1/stock/transfers/{transfer['id']}/receipt", as_="tech.hz01.2"), 404)
        confirmed = api.post(f"/api/v1/stock/transfers/{transfer['id']}/receipt", as_="tech.hz01.1")
        assert confirmed.status_code == 200, confirmed.json
        assert level(api, VAN, PP, as_="tech.hz01.1")["on_hand"] == van_before["on_hand"] + 3
        assert level(api, "HZ01", PP, as_="manager.hz01")["on_hand"] == 7

    def test_a_transfer_beyond_the_available_stock_is_409_and_changes_nothing(self, api):
        counted(api, "HZ01", PP, 2, as_="manager.hz01")
        counted(api, "HZ01", VALVE, 5, as_="manager.hz01")
        before = api.get("/api/v1/stock/transfers?page_size=1", as_="manager.hz01").headers["X-Pagination"]
        response = api.post("/api/v1/stock/transfers", as_="manager.hz01", json={
            "from_location": "HZ01", "to_location": VAN,
            "lines": [{"part_sku": VALVE, "quantity": 1}, {"part_sku": PP, "quantity": 3}]})
        problem = assert_problem(response, 409, code="insufficient-stock")
        assert (problem["part_sku"], problem["location_code"], problem["requested"], problem["available"]) == (
            PP, "HZ01", 3, 2)
        assert level(api, "HZ01", VALVE)["on_hand"] == 5  # the first line was undone too
        assert level(api, "HZ01", PP)["on_hand"] == 2
        assert api.get("/api/v1/stock/transfers?page_size=1", as_="manager.hz01").headers["X-Pagination"] == before

    def test_who_may_send_where(self, api):
        body = {"lines": [{"part_sku": PP, "quantity": 1}]}
        assert_problem(api.post("/api/v1/stock/transfers", as_="manager.hz01",
                                json=body | {"from_location": "HZ02", "to_location": "HZ01"}), 404)
        assert_problem(api.post("/api/v1/stock/transfers", as_="manager.hz01",
                                json=body | {"from_location": "HZ01", "to_location": "HZ02"}), 404)
        assert_problem(api.post("/api/v1/stock/transfers", as_="tech.hz01.1",
                                json=body | {"from_location": VAN, "to_location": HQ}), 403)
        assert_problem(api.post("/api/v1/stock/transfers", as_="reviewer",
                                json=body | {"from_location": HQ, "to_location": "HZ01"}), 403)
        assert_problem(api.post("/api/v1/stock/transfers", as_="admin",
                                json=body | {"from_location": HQ, "to_location": HQ}), 422, field="to_location")

    def test_a_technician_hands_van_stock_back_to_the_point(self, api):
        counted(api, VAN, PP, 4, as_="manager.hz01")
        response = api.post("/api/v1/stock/transfers", as_="tech.hz01.1", json={
            "from_location": VAN, "to_location": "HZ01", "lines": [{"part_sku": PP, "quantity": 2}]})
        assert response.status_code == 201, response.json
        assert level(api, VAN, PP, as_="tech.hz01.1")["on_hand"] == 2


class TestAdjustments:
    def test_a_count_correction_sets_on_hand_and_records_the_reason(self, api):
        counted(api, "HZ01", VALVE, 6, as_="manager.hz01")
        current = level(api, "HZ01", VALVE)
        response = api.post("/api/v1/stock/adjustments", as_="manager.hz01", json={
            "location": "HZ01", "part_sku": VALVE, "counted": 4, "reason": "two found broken in the box",
            "expected_version": current["version"]})
        assert response.status_code == 201, response.json
        assert (response.json["kind"], response.json["delta_on_hand"], response.json["reason"]) == (
            "adjust", -2, "two found broken in the box")
        signed = api.post("/api/v1/stock/adjustments", as_="admin", json={
            "location": "HZ01", "part_sku": VALVE, "delta": 3, "reason": "found behind the shelf"})
        assert signed.status_code == 201 and level(api, "HZ01", VALVE)["on_hand"] == 7

    def test_an_adjustment_needs_a_reason_a_manager_and_a_fresh_count(self, api):
        body = {"location": "HZ01", "part_sku": VALVE, "counted": 1}
        assert_problem(api.post("/api/v1/stock/adjustments", as_="manager.hz01", json=body), 422, field="reason")
        assert_problem(api.post("/api/v1/stock/adjustments", as_="tech.hz01.1", json=body | {"reason": "x"}), 403)
        assert_problem(api.post("/api/v1/stock/adjustments", as_="manager.hz02", json=body | {"reason": "x"}), 404)
        assert_problem(api.post("/api/v1/stock/adjustments", as_="manager.hz01",
                                json=body | {"reason": "x", "delta": 1}), 422, field="counted")
        stale = level(api, "HZ01", VALVE)["version"] - 1
        assert_problem(api.post("/api/v1/stock/adjustments", as_="manager.hz01",
                                json=body | {"reason": "x", "expected_version": stale}), 412)

    def test_an_adjustment_below_zero_is_409(self, api):
        counted(api, "HZ01", VALVE, 1, as_="manager.hz01")
        response = api.post("/api/v1/stock/adjustments", as_="manager.hz01", json={
            "location": "HZ01", "part_sku": VALVE, "delta": -2, "reason": "lost"})
        assert_problem(response, 409, code="insufficient-stock")
        assert level(api, "HZ01", VALVE)["on_hand"] == 1


class TestDefectiveReturns:
    def test_defective_stock_leaves_the_van_for_hqs_defective_bin(self, api):
        counted(api, VAN, VALVE, 2, as_="manager.hz01")
        hq_before = level(api, HQ, VALVE)
        response = api.post("/api/v1/stock/defective-returns", as_="tech.hz01.1", json={
            "location": VAN, "part_sku": VALVE, "quantity": 1, "reason": "coil open circuit out of the box"})
        assert response.status_code == 201, response.json
        assert sorted((r["location"]["code"], r["delta_on_hand"], r["delta_defective"]) for r in response.json) == [
            (HQ, 0, 1), (VAN, -1, 0)]
        assert level(api, VAN, VALVE, as_="tech.hz01.1")["on_hand"] == 1
        hq_after = level(api, HQ, VALVE)
        assert (hq_after["on_hand"], hq_after["defective"]) == (hq_before["on_hand"], hq_before["defective"] + 1)

    def test_returning_more_than_available_is_409(self, api):
        counted(api, VAN, VALVE, 1, as_="manager.hz01")
        assert_problem(api.post("/api/v1/stock/defective-returns", as_="tech.hz01.1", json={
            "location": VAN, "part_sku": VALVE, "quantity": 2, "reason": "bad batch"}), 409, code="insufficient-stock")
        assert_problem(api.post("/api/v1/stock/defective-returns", as_="tech.hz01.2", json={
            "location": VAN, "part_sku": VALVE, "quantity": 1, "reason": "bad batch"}), 404)


class TestViews:
    def test_a_technician_sees_only_their_van(self, api):
        rows = api.get("/api/v1/stock/?page_size=100", as_="tech.hz01.1").json
        assert rows and {r["location"]["code"] for r in rows} == {VAN}
        assert_problem(api.get("/api/v1/stock/?location=HZ01", as_="tech.hz01.1"), 404)
        assert_problem(api.get("/api/v1/stock/?location=VAN-tech.hz01.2", as_="tech.hz01.1"), 404)

    def test_a_managers_point_view_includes_its_vans_and_nothing_else(self, api):
        rows = api.get("/api/v1/stock/?location=HZ01&page_size=100", as_="manager.hz01").json
        codes = {r["location"]["code"] for r in rows}
        assert "HZ01" in codes and {f"VAN-tech.hz01.{n}" for n in range(1, 6)} <= codes
        assert all(code == "HZ01" or code.startswith("VAN-tech.hz01.") for code in codes)
        only_point = api.get("/api/v1/stock/?location=HZ01&include_vans=false&page_size=100", as_="manager.hz01").json
        assert {r["location"]["code"] for r in only_point} == {"HZ01"}
        assert_problem(api.get("/api/v1/stock/?location=HQ", as_="manager.hz01"), 404)
        assert_problem(api.get("/api/v1/stock/?location=HZ02", as_="manager.hz01"), 404)
        everything = api.get("/api/v1/stock/?page_size=100", as_="manager.hz01").json
        assert all(r["location"]["code"] == "HZ01" or r["location"]["code"].startswith("VAN-tech.hz01.")
                   for r in everything)

    def test_levels_show_available_and_low_stock(self, api):
        counted(api, "HZ01", VALVE, 5, as_="manager.hz01")
        limited = api.put("/api/v1/stock/limits", as_="manager.hz01", json={
            "location": "HZ01", "part_sku": VALVE, "min_level": 5, "max_level": 12})
        assert limited.status_code == 200, limited.json
        assert (limited.json["available"], limited.json["low_stock"]) == (5, True)
        low = api.get("/api/v1/stock/?location=HZ01&include_vans=false&low_only=true&page_size=100",
                      as_="manager.hz01").json
        assert VALVE in {r["part"]["sku"] for r in low} and all(r["low_stock"] for r in low)
        counted(api, "HZ01", VALVE, 6, as_="manager.hz01")
        assert level(api, "HZ01", VALVE)["low_stock"] is False

    def test_movements_are_scoped_like_levels(self, api):
        with clock.frozen(clock.utcnow() + timedelta(minutes=1)):  # after the demo's opening stock take
            counted(api, VAN, PP, 1, as_="manager.hz01")
            counted(api, "HZ02", PP, 1, as_="manager.hz02")
            own = movements(api, as_="tech.hz01.1")
            assert own and {r["location"]["code"] for r in own} == {VAN}
            managers = movements(api, as_="manager.hz01")
            assert all(r["location"]["code"] == "HZ01" or r["location"]["code"].startswith("VAN-tech.hz01.")
                   for r in managers)
            assert movements(api, as_="manager.hz01", kind="adjust", location=VAN)[0]["reason"] == "test stock take"

    def test_locations_list_the_callers_own_and_hq(self, api):
        codes = {loc["code"] for loc in api.get("/api/v1/stock/locations", as_="tech.hz01.1").json}
        assert codes == {VAN, "HZ01", HQ}
        manager = {loc["code"] for loc in api.get("/api/v1/stock/locations", as_="manager.hz01").json}
        assert manager == {HQ, "HZ01", *(f"VAN-tech.hz01.{n}" for n in range(1, 6))}


class TestLimitsAndReplenishment:
    def test_limits_are_validated_and_scoped(self, api):
        body = {"location": "HZ01", "part_sku": VALVE}
        assert_problem(api.put("/api/v1/stock/limits", as_="manager.hz01",
                               json=body | {"min_level": 5, "max_level": 2}), 422, field="max_level")
        assert_problem(api.put("/api/v1/stock/limits", as_="manager.hz02",
                               json=body | {"min_level": 1, "max_level": 2}), 404)
        assert_problem(api.put("/api/v1/stock/limits", as_="tech.hz01.1",
                               json=body | {"min_level": 1, "max_level": 2}), 403)

    def test_a_low_van_is_refilled_from_its_point_and_the_point_from_hq(self, api):
        counted(api, HQ, VALVE, 100)
        api.put("/api/v1/stock/limits", as_="admin", json={"location": HQ, "part_sku": VALVE,
                                                         "min_level": 10, "max_level": 100})
        counted(api, "HZ01", VALVE, 2, as_="manager.hz01")
        api.put("/api/v1/stock/limits", as_="manager.hz01", json={"location": "HZ01", "part_sku": VALVE,
                                                                 "min_level": 3, "max_level": 8})
        for n in range(1, 6):
            van = f"VAN-tech.hz01.{n}"
            counted(api, van, VALVE, 2, as_="manager.hz01")
            api.put("/api/v1/stock/limits", as_="manager.hz01", json={"location": van, "part_sku": VALVE,
                                                                     "min_level": 1, "max_level": 2})
        counted(api, VAN, VALVE, 0, as_="manager.hz01")

        response = api.get(f"/api/v1/stock/replenishment?part_sku={VALVE}", as_="manager.hz01")
        assert response.status_code == 200, response.json
        moves = {(m["from_location"]["code"] if m["from_location"] else None, m["to_location"]["code"]):
                 (m["kind"], m["quantity"], m["need"], m["short_by"]) for m in response.json}
        # The van gets 2 from the point; the point (2 - 2 = 0 left, min 3) asks HQ for 8.
        assert moves == {("HZ01", VAN): ("transfer", 2, 2, 0), (HQ, "HZ01"): ("transfer", 8, 8, 0)}
        techs = api.get(f"/api/v1/stock/replenishment?part_sku={VALVE}", as_="tech.hz01.1").json
        assert [(m["from_location"]["code"], m["to_location"]["code"]) for m in techs] == [("HZ01", VAN)]
        others = api.get(f"/api/v1/stock/replenishment?part_sku={VALVE}", as_="manager.hz02").json
        assert all(m["to_location"]["code"] in ("HZ02", *(f"VAN-tech.hz02.{n}" for n in range(1, 5)))
                   for m in others)

        # Following the suggestion and receiving it clears it.
        transfer = api.post("/api/v1/stock/transfers", as_="manager.hz01", json={
            "from_location": "HZ01", "to_location": VAN, "lines": [{"part_sku": VALVE, "quantity": 2}]}).json
        api.post(f"/api/v1/stock/transfers/{transfer['id']}/receipt", as_="tech.hz01.1")
        after = api.get(f"/api/v1/stock/replenishment?part_sku={VALVE}&location={VAN}", as_="manager.hz01").json
        assert after == []
