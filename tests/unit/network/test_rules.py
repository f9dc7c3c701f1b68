"""Pure network rules on transient objects: shifts on a date, qualification, warranty periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dispatch.network import rules
from dispatch.network.models import (
    Certification,
    JobType,
    Product,
    ProductCategory,
    ShiftException,
    ShiftExceptionKind,
    Skill,
    Technician,
    Unit,
    WeeklyShift,
)

MONDAY = date(2026, 12, 7)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def technician(*exceptions: ShiftException) -> Technician:
    return Technician(
        name="Li Na",
        shifts=[WeeklyShift(weekday=d, start=time(8, 30), end=time(17, 30)) for d in range(5)],
        shift_exceptions=list(exceptions),
        skills=[Skill(category=ProductCategory.WATER_HEATER, job_type=JobType.REPAIR)],
        certifications=[Certification(category=ProductCategory.WATER_HEATER, name="heater",
                                      issued_on=date(2024, 7, 1), expires_on=date(2026, 6, 30))],
    )


def windows(tech: Technician, day: date) -> list[tuple[str, str]]:
    return [(w.start.strftime("%H:%M"), w.end.strftime("%H:%M")) for w in rules.shifts_on(tech, day)]


def test_the_weekly_pattern_applies_on_weekdays_only():
    tech = technician()
    assert windows(tech, MONDAY) == [("08:30", "17:30")]
    assert windows(tech, date(2026, 12, 12)) == []  # Saturday


def test_all_day_leave_removes_the_day_and_partial_leave_cuts_a_hole():
    tech = technician(
        ShiftException(on=MONDAY, kind=ShiftExceptionKind.LEAVE),
        ShiftException(on=date(2026, 12, 8), kind=ShiftExceptionKind.LEAVE, start=time(12), end=time(14)),
        ShiftException(on=date(2026, 12, 9), kind=ShiftExceptionKind.LEAVE, start=time(7), end=time(9)),
    )
    assert windows(tech, MONDAY) == []
    assert windows(tech, date(2026, 12, 8)) == [("08:30", "12:00"), ("14:00", "17:30")]
    assert windows(tech, date(2026, 12, 9)) == [("09:00", "17:30")]


def test_an_extra_shift_adds_a_window_even_on_a_day_off():
    tech = technician(ShiftException(on=date(2026, 12, 12), kind=ShiftExceptionKind.EXTRA,
                                     start=time(9), end=time(13)))
    assert windows(tech, date(2026, 12, 12)) == [("09:00", "13:00")]


def test_on_shift_reads_local_time_and_the_work_must_fit():
    tech = technician()
    nine_local = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert rules.on_shift(tech, nine_local, SHANGHAI, minutes=60)
    assert not rules.on_shift(tech, datetime(2026, 12, 7, 9, 0, tzinfo=UTC), SHANGHAI, minutes=60)  # 17:00 + 1 h


def test_a_certification_is_valid_through_its_expiry_day():
    tech = technician()
    assert rules.qualified(tech, ProductCategory.WATER_HEATER, JobType.REPAIR, date(2026, 6, 30))
    assert not rules.qualified(tech, ProductCategory.WATER_HEATER, JobType.REPAIR, date(2026, 7, 1))
    assert not rules.qualified(tech, ProductCategory.WATER_HEATER, JobType.INSTALL, date(2026, 6, 1))  # no skill


@pytest.mark.parametrize(("purchased", "months", "until"), [
    (date(2026, 1, 15), 24, date(2028, 1, 14)),
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2025, 12, 1), 12, date(2026, 11, 30)),
])
def test_warranty_ends_the_day_before_the_anniversary_or_at_a_short_months_end(purchased, months, until):
    unit = Unit(purchased_on=purchased, product=Product(category=ProductCategory.WATER_PURIFIER,
                                                        warranty_months=months))
    assert rules.warranty_until(unit) == until
    assert rules.in_warranty(unit, until) and not rules.in_warranty(unit, date.fromordinal(until.toordinal() + 1))


def test_warranty_coverage_says_why():
    product = Product(category=ProductCategory.WATER_HEATER, warranty_months=12)
    assert rules.warranty_coverage(Unit(product=product), MONDAY).status == "not_activated"
    unit = Unit(purchased_on=date(2026, 1, 1), product=product)
    assert rules.warranty_coverage(unit, date(2025, 12, 31)).status == "not_started"
    covered = rules.warranty_coverage(unit, date(2026, 6, 1))
    assert (covered.status, covered.labour, covered.parts, covered.category) == (
        "in_warranty", True, True, ProductCategory.WATER_HEATER)
    assert rules.warranty_coverage(unit, date(2027, 1, 1)).status == "expired"
