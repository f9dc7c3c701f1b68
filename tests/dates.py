"""The suite's one "now", and dates relative to it.

:data:`SUITE_NOW` is ``DISPATCH_TEST_NOW`` (ISO 8601 with its offset) when set, else today's date
on the wall clock at 10:30 in the demo's zone. The demo data is seeded relative to it and
``dispatch.clock`` is frozen there for every test (tests/conftest.py). Tests that need a
particular weekday take it from here (the next Monday after the suite's day, ...), never as a
calendar date, so the suite passes whatever day it runs: a weekend, a year end, a leap day.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")  # the demo's (and the default settings') zone


def _suite_now() -> datetime:
    given = os.environ.get("DISPATCH_TEST_NOW")
    if given:
        at = datetime.fromisoformat(given)
        if at.tzinfo is None:
            raise ValueError("DISPATCH_TEST_NOW must carry its UTC offset, e.g. 2028-12-31T10:30+08:00")
        return at
    return datetime.combine(datetime.now(TZ).date(), time(10, 30), TZ)


SUITE_NOW = _suite_now()
os.environ["DISPATCH_TEST_NOW"] = SUITE_NOW.isoformat()  # xdist workers inherit it: one "now" for all
SUITE_TODAY = SUITE_NOW.astimezone(TZ).date()


def next_weekday(weekday: int, after: date = SUITE_TODAY) -> date:
    """The first day strictly after ``after`` falling on ``weekday`` (Monday 0 ... Sunday 6)."""
    return after + timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)
