"""Serial numbers, masking and boundary validation: pure functions, no database."""

from __future__ import annotations

import uuid

import pytest

from dispatch.errors import ValidationFailed
from dispatch.network.common import mask_address, mask_email, mask_name, mask_phone
from dispatch.network.regions import DistrictIndex, validate_boundary
from dispatch.network.units import parse_serial


@pytest.mark.parametrize(("serial", "year"), [
    ("RO20250000002", 2025), ("ro20240000001 ", 2024), ("EH120250000003", 2025), ("A1B219990000004", 1999),
])
def test_serials_carry_the_manufacture_year(serial, year):
    assert parse_serial(serial) == (serial.strip().upper(), year)


@pytest.mark.parametrize("serial", ["R20250000002", "RO2025000002", "RO30250000002", "ROXY120250000002",
                                    "RO-2025-0000002", ""])
def test_malformed_serials_are_rejected_naming_the_field(serial):
    with pytest.raises(ValidationFailed) as raised:
        parse_serial(serial)
    assert raised.value.field == "serial"


def test_masking_keeps_only_what_identifies_nobody():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "+86 1** **** 5678"
    assert mask_phone("0571-8123456") == "057*-***3456"
    assert mask_email("wang.wei@example.com") == "w***@example.com"
    assert mask_name("Wang Wei") == "Wang *" and mask_name("Madonna") == "M*"
    assert mask_address("18 Wensan Rd, flat 1203") == "** Wensan Rd, flat ****"


SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


@pytest.mark.parametrize(("boundary", "reason"), [
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "Self-intersection"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "closed"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "at least 4"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [200, 1], [0, 0]]]}, "range"),
    ({"type": "Polygon", "coordinates": [[[0, 0], ["a", 0], [1, 1], [0, 0]]]}, "numbers"),
    ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "Polygon or MultiPolygon"),
    ([1, 2, 3], "Polygon or MultiPolygon"),
])
def test_invalid_boundaries_are_rejected_with_a_reason(boundary, reason):
    with pytest.raises(ValidationFailed) as raised:
        validate_boundary(boundary)
    assert raised.value.field == "boundary"
    assert reason in raised.value.detail


def test_a_valid_multipolygon_passes():
    far = {"type": "Polygon", "coordinates": [[[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]]}
    geometry = validate_boundary({"type": "MultiPolygon",
                                  "coordinates": [SQUARE["coordinates"], far["coordinates"]]})
    assert geometry.area == pytest.approx(2.0)


def test_the_district_index_finds_the_polygon_and_breaks_edge_ties_by_code():
    left, right = uuid.uuid4(), uuid.uuid4()
    east = {"type": "Polygon", "coordinates": [[[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]]}
    index = DistrictIndex.build([(right, "B-EAST", east), (left, "A-WEST", SQUARE)])
    assert index.locate(0.5, 0.5) == left
    assert index.locate(0.5, 1.5) == right
    assert index.locate(0.5, 1.0) == left  # on the shared edge: the lower code wins, every time
    assert index.locate(5, 5) is None


def test_the_documented_serial_format_accepts_exactly_what_the_parser_accepts():
    import re

    from dispatch.network.units import SERIAL_FORMAT, SERIAL_PATTERN

    samples = ["RO20250000002", "EH120250000003", "A1B219990000004", "R20250000002", "RO30250000002",
               "ROXY120250000002", "ro20250000002"]
    assert [bool(re.match(SERIAL_FORMAT, s)) for s in samples] == [bool(SERIAL_PATTERN.match(s)) for s in samples]
