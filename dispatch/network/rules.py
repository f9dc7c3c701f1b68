"""Pure rules about technicians and warranties (no database): shifts on a date, qualification,
warranty periods. Services load the rows and ask these functions."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.network.models import (
    Certification,
    JobType,
    ProductCategory,
    ShiftExceptionKind,
    Technician,
    Unit,
)


@dataclass(frozen=True)
class ShiftWindow:
    start: time
    end: time

    def contains(self, moment: time, minutes: int = 0) -> bool:
        """``moment`` (and ``minutes`` of work after it) falls inside the window."""
        end_minutes = moment.hour * 60 + moment.minute + minutes
        return self.start <= moment and end_minutes <= self.end.hour * 60 + self.end.minute


def shifts_on(technician: Technician, day: date) -> list[ShiftWindow]:
    """The technician's working windows on ``day`` (local time).

    The weekly pattern applies unless a dated exception says otherwise: an all-day leave removes
    the day; a leave with times cuts that span out; an extra shift adds a window.
    """
    windows = [ShiftWindow(s.start, s.end) for s in technician.shifts if s.weekday == day.weekday()]
    for exception in technician.shift_exceptions:
        if exception.on != day:
            continue
        if exception.kind == ShiftExceptionKind.LEAVE:
            if exception.start is None or exception.end is None:
                windows = []
                continue
            cut: list[ShiftWindow] = []
            for w in windows:
                if exception.end <= w.start or exception.start >= w.end:
                    cut.append(w)
                    continue
                if w.start < exception.start:
                    cut.append(ShiftWindow(w.start, exception.start))
                if exception.end < w.end:
                    cut.append(ShiftWindow(exception.end, w.end))
            windows = cut
        elif exception.start is not None and exception.end is not None:
            windows.append(ShiftWindow(exception.start, exception.end))
    return sorted(windows, key=lambda w: w.start)


def on_shift(technician: Technician, moment: datetime, tz: ZoneInfo, minutes: int = 0) -> bool:
    """The technician works at ``moment`` (aware), for ``minutes`` more, in local time ``tz``."""
    local = moment.astimezone(tz)
    return any(w.contains(local.time(), minutes) for w in shifts_on(technician, local.date()))


def next_working_day(technicians: Iterable[Technician], after: date, *, horizon_days: int = 31) -> date | None:
    """The first day after ``after`` on which every one of ``technicians`` has a shift: a point's
    next full working day (weekends, leave and holidays skipped). None if there is none within
    ``horizon_days`` (or no technicians)."""
    team = list(technicians)
    if not team:
        return None
    for offset in range(1, horizon_days + 1):
        day = after + timedelta(days=offset)
        if all(shifts_on(technician, day) for technician in team):
            return day
    return None


def has_skill(technician: Technician, category: ProductCategory, job_type: JobType) -> bool:
    return any(s.category == category and s.job_type == job_type for s in technician.skills)


def valid_certification(technician: Technician, category: ProductCategory, day: date) -> Certification | None:
    """A certification for ``category`` valid on ``day`` (expired from the day after expiry)."""
    return next((c for c in technician.certifications if c.category == category and c.valid_on(day)), None)


def qualified(technician: Technician, category: ProductCategory, job_type: JobType, day: date) -> bool:
    return has_skill(technician, category, job_type) and valid_certification(technician, category, day) is not None


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def warranty_until(unit: Unit) -> date | None:
    """Last day of warranty: purchase date + the model's warranty months, minus one day
    (bought 15 Jan with 24 months: until 14 Jan two years on). When the month is too short for
    the purchase day (31 Jan + 1 month), the warranty runs to the end of that month."""
    if unit.purchased_on is None:
        return None
    end = add_months(unit.purchased_on, unit.product.warranty_months)
    if end.day < unit.purchased_on.day:  # clamped to a shorter month: its last day is the last day
        return end
    return date.fromordinal(end.toordinal() - 1)


def in_warranty(unit: Unit, on: date) -> bool:
    until = warranty_until(unit)
    return until is not None and unit.purchased_on <= on <= until


class WarrantyStatus(StrEnum):
    NOT_ACTIVATED = "not_activated"  # no card
    NOT_STARTED = "not_started"  # before the purchase date
    IN_WARRANTY = "in_warranty"
    EXPIRED = "expired"


@dataclass(frozen=True)
class WarrantyCoverage:
    """What the warranty card covers on a day; ``status`` says why."""

    status: WarrantyStatus
    labour: bool
    parts: bool
    category: ProductCategory
    until: date | None


def warranty_coverage(unit: Unit, on: date) -> WarrantyCoverage:
    """Labour and parts are both free inside the warranty period and both charged outside it."""
    until = warranty_until(unit)
    if until is None:
        status = WarrantyStatus.NOT_ACTIVATED
    elif on < unit.purchased_on:
        status = WarrantyStatus.NOT_STARTED
    elif on > until:
        status = WarrantyStatus.EXPIRED
    else:
        status = WarrantyStatus.IN_WARRANTY
    covered = status == WarrantyStatus.IN_WARRANTY
    return WarrantyCoverage(status, covered, covered, unit.product.category, until)
