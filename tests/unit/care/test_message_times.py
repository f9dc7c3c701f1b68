"""The times customer messages announce: local, never past, "on the way" only for today."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dispatch.care import rules
from dispatch.care.templates import Template

TZ = ZoneInfo("Asia/Shanghai")
SATURDAY_10 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # Saturday 10:00 in Hangzhou


def test_a_scheduled_visit_is_announced_in_local_time_and_never_once_its_time_passed():
    start = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # Monday 09:30 local
    assert rules.eta_for(Template.JOB_SCHEDULED, start, SATURDAY_10, TZ) == "2026-12-07T09:30:00+08:00"
    assert rules.eta_for(Template.JOB_SCHEDULED, datetime(2026, 12, 5, 1, 0, tzinfo=UTC), SATURDAY_10, TZ) is None
    assert rules.eta_for(Template.JOB_SCHEDULED, None, SATURDAY_10, TZ) is None


def test_on_the_way_carries_only_todays_time_still_ahead():
    monday = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)
    later_today = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    assert rules.eta_for(Template.TECHNICIAN_EN_ROUTE, monday, SATURDAY_10, TZ) is None
    assert rules.eta_for(Template.TECHNICIAN_EN_ROUTE, later_today, SATURDAY_10, TZ) == "2026-12-05T14:00:00+08:00"


def test_at_sending_time_a_past_schedule_is_dropped_and_a_past_on_the_way_time_left_out():
    past = {"eta": "2026-12-05T09:00:00+08:00", "reference": "J-1"}
    assert rules.announces_past_time(Template.JOB_SCHEDULED, past, SATURDAY_10)
    assert not rules.announces_past_time(Template.JOB_SCHEDULED, past | {"eta": "2026-12-05T11:00:00+08:00"},
                                         SATURDAY_10)
    assert rules.current_facts(Template.TECHNICIAN_EN_ROUTE, past, SATURDAY_10) == {"eta": None, "reference": "J-1"}
    assert rules.current_facts(Template.JOB_COMPLETED, past, SATURDAY_10) == past
