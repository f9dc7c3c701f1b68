"""Pure stock rules: the bill, the automatic warranty-claim checks, replenishment suggestions."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from dispatch.errors import ValidationFailed
from dispatch.stock import rules
from dispatch.stock.rules import ClaimFacts, ClaimRejection, LevelFacts, LocationFacts

FILTER, VALVE = uuid.uuid4(), uuid.uuid4()


def parts(filter_qty=2, valve_qty=1):
    return [
        rules.ChargeablePart(FILTER, "FLT-PP-S1", "PP cartridge", filter_qty, Decimal("39.00"), warranty_covered=False),
        rules.ChargeablePart(VALVE, "VLV-SOL-IN", "Inlet valve", valve_qty, Decimal("68.00"), warranty_covered=True),
    ]


def bill(**overrides):
    kwargs = {"job_type": "repair", "labour_rate": Decimal("80.00"), "labour_covered": False,
              "parts_covered": False, "parts": parts(), "overrides": {}, "currency": "CNY"} | overrides
    return rules.compute_bill(**kwargs)


class TestBill:
    def test_an_out_of_warranty_repair_is_labour_plus_parts_at_list_price(self):
        result = bill()
        assert [(line.kind, line.sku, line.quantity, line.unit_price, line.amount) for line in result.lines] == [
            ("labour", None, 1, Decimal("80.00"), Decimal("80.00")),
            ("part", "FLT-PP-S1", 2, Decimal("39.00"), Decimal("78.00")),
            ("part", "VLV-SOL-IN", 1, Decimal("68.00"), Decimal("68.00")),
        ]
        assert result.total == Decimal("226.00")
        assert result.currency == "CNY"

    def test_in_warranty_covered_lines_cost_nothing_but_consumables_are_still_billed(self):
        result = bill(labour_covered=True, parts_covered=True)
        assert [(line.sku, line.covered, line.amount) for line in result.lines] == [
            (None, True, Decimal("0.00")), ("FLT-PP-S1", False, Decimal("78.00")), ("VLV-SOL-IN", True, Decimal("0.00"))]
        assert result.total == Decimal("78.00")

    def test_a_lower_price_applies_and_a_higher_one_is_capped_at_list(self):
        result = bill(overrides={None: Decimal("60"), FILTER: Decimal("30.50"), VALVE: Decimal("999.00")})
        assert [line.unit_price for line in result.lines] == [Decimal("60.00"), Decimal("30.50"), Decimal("68.00")]
        assert result.total == Decimal("60.00") + Decimal("61.00") + Decimal("68.00")
        assert all(line.unit_price <= line.list_unit_price for line in result.lines)

    def test_install_labour_can_be_free(self):
        assert bill(job_type="install", labour_rate=Decimal(0), parts=[]).total == Decimal("0.00")

    def test_a_price_override_above_list_or_below_zero_is_refused_naming_the_field(self):
        rules.check_price_override(Decimal("39.00"), Decimal("39.00"), "overrides.0.unit_price")
        with pytest.raises(ValidationFailed) as above:
            rules.check_price_override(Decimal("39.01"), Decimal("39.00"), "overrides.0.unit_price")
        assert above.value.field == "overrides.0.unit_price"
        with pytest.raises(ValidationFailed):
            rules.check_price_override(Decimal("-1"), Decimal("39.00"), "overrides.1.unit_price")

    def test_money_rounds_half_up_to_the_cent(self):
        assert rules.money(Decimal("1.005")) == Decimal("1.01")
        assert rules.money(3) == Decimal("3.00")


def facts(**overrides) -> ClaimFacts:
    base = {"job_date": date(2027, 3, 1), "part_sku": "VLV-SOL-IN", "has_unit": True, "activated": True,
            "purchased_on": date(2026, 1, 10), "warranty_until": date(2028, 1, 9), "product_sku": "WP-RO500",
            "part_fits": True}
    return ClaimFacts(**(base | overrides))


class TestClaimChecks:
    def test_a_claim_for_a_fitting_part_on_an_activated_unit_in_warranty_passes(self):
        check = rules.check_claim(facts())
        assert check.passed and check.rejection is None

    @pytest.mark.parametrize(("overrides", "reason"), [
        ({"has_unit": False}, ClaimRejection.NO_UNIT),
        ({"activated": False}, ClaimRejection.NOT_ACTIVATED),
        ({"purchased_on": None, "warranty_until": None}, ClaimRejection.NOT_ACTIVATED),
        ({"job_date": date(2028, 1, 10)}, ClaimRejection.OUT_OF_WARRANTY),
        ({"job_date": date(2026, 1, 9)}, ClaimRejection.OUT_OF_WARRANTY),
        ({"part_fits": False}, ClaimRejection.PART_DOES_NOT_FIT),
    ])
    def test_each_automatic_rejection_names_its_reason(self, overrides, reason):
        check = rules.check_claim(facts(**overrides))
        assert check.rejection == reason
        assert check.detail

    def test_the_last_day_of_warranty_still_counts(self):
        assert rules.check_claim(facts(job_date=date(2028, 1, 9))).passed

    def test_activation_is_checked_before_the_warranty_period_and_the_fit(self):
        check = rules.check_claim(facts(activated=False, job_date=date(2030, 1, 1), part_fits=False))
        assert check.rejection == ClaimRejection.NOT_ACTIVATED


HQ, POINT, VAN1, VAN2 = (uuid.uuid4() for _ in range(4))
PART = uuid.uuid4()
NETWORK = {HQ: LocationFacts("HQ", "hq", None), POINT: LocationFacts("HZ01", "point", HQ),
           VAN1: LocationFacts("VAN-a", "van", POINT), VAN2: LocationFacts("VAN-b", "van", POINT)}


def level(location, on_hand=0, reserved=0, in_transit=0, min_level=None, max_level=None):
    return LevelFacts(location, NETWORK[location].code, NETWORK[location].kind, PART, on_hand, reserved, in_transit,
                      min_level, max_level)


def moves(levels):
    return [(s.from_location_id, s.to_location_id, s.quantity, s.short_by) for s in rules.suggest_transfers(levels,
                                                                                                           NETWORK)]


class TestReplenishment:
    def test_nothing_is_suggested_above_the_minimum(self):
        assert moves([level(HQ, 100, min_level=10, max_level=100), level(POINT, 5, min_level=3, max_level=10),
                      level(VAN1, 2, min_level=1, max_level=2)]) == []

    def test_a_low_van_is_refilled_to_max_from_its_point(self):
        assert moves([level(POINT, 8, min_level=3, max_level=10), level(VAN1, 1, min_level=1, max_level=4)]) == [
            (POINT, VAN1, 3, 0)]

    def test_reserved_stock_does_not_count_and_stock_in_transit_does(self):
        assert moves([level(POINT, 8), level(VAN1, 3, reserved=2, min_level=1, max_level=4)]) == [(POINT, VAN1, 3, 0)]
        assert moves([level(POINT, 8), level(VAN1, 0, in_transit=3, min_level=1, max_level=4)]) == []

    def test_a_point_that_cannot_serve_its_vans_asks_hq_for_the_difference_too(self):
        result = moves([level(HQ, 50), level(POINT, 3, min_level=2, max_level=6),
                        level(VAN1, 0, min_level=1, max_level=2), level(VAN2, 0, min_level=1, max_level=2)])
        # The vans share the point's 3; the point, left with 0 and 1 van short, asks HQ for 6 + 1.
        assert result == [(POINT, VAN1, 2, 0), (POINT, VAN2, 1, 1), (HQ, POINT, 7, 0)]

    def test_when_hq_is_short_the_rest_becomes_a_purchase(self):
        result = moves([level(HQ, 4, min_level=10, max_level=40), level(POINT, 0, min_level=2, max_level=6)])
        assert result == [(HQ, POINT, 4, 2), (None, HQ, 40 - 0 + 2, 0)]

    def test_without_a_maximum_the_minimum_is_the_target(self):
        assert moves([level(POINT, 9), level(VAN1, 0, min_level=2)]) == [(POINT, VAN1, 2, 0)]
