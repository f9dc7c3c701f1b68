"""Pure job rules: the state machine, who may move a job, SLA maths, device time, assignment rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch.errors import InvalidTransition, ValidationFailed
from dispatch.jobs import rules
from dispatch.geo import Location
from dispatch.jobs.rules import JobStatus as S
from dispatch.jobs.rules import SlaStatus, SlaTimes
from dispatch.network.models import (
    Certification,
    JobType,
    ProductCategory,
    ShiftException,
    ShiftExceptionKind,
    Skill,
    Technician,
    WeeklyShift,
)

TZ = ZoneInfo("Asia/Shanghai")

# The plain transitions, written out independently of rules.TRANSITIONS.
EXPECTED = {
    (S.NEW, S.CANCELLED),
    (S.DISPATCHED, S.CANCELLED),
    (S.SCHEDULED, S.EN_ROUTE), (S.SCHEDULED, S.ON_HOLD), (S.SCHEDULED, S.DISPATCHED), (S.SCHEDULED, S.CANCELLED),
    (S.EN_ROUTE, S.ON_SITE), (S.EN_ROUTE, S.ON_HOLD), (S.EN_ROUTE, S.CANCELLED),
    (S.ON_SITE, S.COMPLETED), (S.ON_SITE, S.ON_HOLD), (S.ON_SITE, S.CANCELLED),
    (S.ON_HOLD, S.SCHEDULED), (S.ON_HOLD, S.EN_ROUTE), (S.ON_HOLD, S.ON_SITE), (S.ON_HOLD, S.DISPATCHED),
    (S.ON_HOLD, S.CANCELLED),
    (S.COMPLETED, S.CLOSED),
}
PAIRS = [(a, b) for a in S for b in S]


@pytest.mark.parametrize(("current", "to"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_exactly_the_documented_transitions_are_legal(current, to):
    if (current, to) in EXPECTED:
        rules.check_transition(current, to)
        return
    with pytest.raises(InvalidTransition) as caught:
        rules.check_transition(current, to, "job J1")
    assert caught.value.extra["allowed"] == sorted(b.value for a, b in EXPECTED if a == current)
    assert caught.value.extra["current"] == current.value
    assert caught.value.detail.startswith(f"job J1 is {current.value}")


def test_cancelling_is_possible_from_everything_before_completion_and_nothing_after():
    for status in S:
        cancellable = S.CANCELLED in rules.TRANSITIONS[status]
        assert cancellable == (status not in {S.COMPLETED, S.CLOSED, S.CANCELLED})


def test_assignment_and_transfer_edges():
    assert rules.ASSIGNABLE == {S.DISPATCHED, S.SCHEDULED, S.ON_HOLD}
    assert rules.TRANSFERABLE == {S.NEW, S.DISPATCHED, S.SCHEDULED, S.ON_HOLD}


@pytest.mark.parametrize("to", [S.EN_ROUTE, S.ON_SITE, S.COMPLETED])
def test_field_moves_belong_to_the_assigned_technician_alone(to):
    assert rules.transition_refusal(to, is_hq_admin=False, is_point_manager=False, is_assigned_technician=True) is None
    assert rules.transition_refusal(to, is_hq_admin=True, is_point_manager=True, is_assigned_technician=False)


def test_holding_is_open_to_the_technician_the_manager_and_hq_and_planning_moves_are_not_the_technicians():
    for who in ({"is_assigned_technician": True}, {"is_point_manager": True}, {"is_hq_admin": True}):
        flags = {"is_hq_admin": False, "is_point_manager": False, "is_assigned_technician": False} | who
        assert rules.transition_refusal(S.ON_HOLD, **flags) is None
    for to in (S.CANCELLED, S.CLOSED, S.DISPATCHED, S.SCHEDULED):
        assert rules.transition_refusal(to, is_hq_admin=False, is_point_manager=False, is_assigned_technician=True)
        assert rules.transition_refusal(to, is_hq_admin=False, is_point_manager=True,
                                        is_assigned_technician=False) is None


# --- SLA ----------------------------------------------------------------------------------------

T0 = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)


def times(arrived=None, cancelled=None, hours=48, risk=8) -> SlaTimes:
    due, at_risk = rules.sla_deadlines(T0, hours, risk)
    return SlaTimes(due_at=due, at_risk_at=at_risk, arrived_at=arrived, cancelled_at=cancelled)


def test_deadlines_are_hours_after_intake_with_the_warning_span_before():
    assert rules.sla_deadlines(T0, 24, 4) == (T0 + timedelta(hours=24), T0 + timedelta(hours=20))


@pytest.mark.parametrize(("hours_later", "expected"), [
    (0, SlaStatus.OK), (39.99, SlaStatus.OK), (40, SlaStatus.AT_RISK), (47.99, SlaStatus.AT_RISK),
    (48, SlaStatus.BREACHED), (500, SlaStatus.BREACHED),
])
def test_a_job_not_yet_on_site_is_ok_then_at_risk_then_breached(hours_later, expected):
    assert rules.sla_status(times(), T0 + timedelta(hours=hours_later)) == expected


def test_the_clock_stops_at_arrival_or_at_cancellation_of_an_unvisited_job():
    late = T0 + timedelta(hours=100)
    assert rules.sla_status(times(arrived=T0 + timedelta(hours=47)), late) == SlaStatus.OK
    assert rules.sla_status(times(arrived=T0 + timedelta(hours=48)), late) == SlaStatus.OK
    assert rules.sla_status(times(arrived=T0 + timedelta(hours=49)), late) == SlaStatus.BREACHED
    assert rules.sla_status(times(cancelled=T0 + timedelta(hours=10)), late) == SlaStatus.OK
    assert rules.sla_status(times(cancelled=T0 + timedelta(hours=60)), late) == SlaStatus.BREACHED
    assert rules.sla_status(times(arrived=T0 + timedelta(hours=42)), T0 + timedelta(hours=43)) == SlaStatus.OK


def test_a_plan_that_starts_the_job_after_its_due_time_puts_it_at_risk_before_the_clock_does():
    due, at_risk = rules.sla_deadlines(T0, 48, 8)
    late_plan = SlaTimes(due, at_risk, None, None, scheduled_start=due + timedelta(minutes=1))
    in_time = SlaTimes(due, at_risk, None, None, scheduled_start=due)
    assert rules.sla_status(late_plan, T0) == SlaStatus.AT_RISK
    assert rules.sla_status(in_time, T0) == SlaStatus.OK
    assert rules.sla_status(late_plan, due) == SlaStatus.BREACHED
    assert rules.sla_status(SlaTimes(due, at_risk, due - timedelta(hours=1), None,
                                     scheduled_start=due + timedelta(hours=1)), due) == SlaStatus.OK


def test_no_target_means_no_sla_status():
    assert rules.sla_status(SlaTimes(None, None, None, None), T0) is None


def test_device_time_is_trusted_only_between_the_last_event_and_now():
    now, last = T0 + timedelta(hours=2), T0 + timedelta(hours=1)
    assert rules.trusted_time(None, not_before=last, now=now) == now
    assert rules.trusted_time(T0 + timedelta(minutes=90), not_before=last, now=now) == T0 + timedelta(minutes=90)
    assert rules.trusted_time(T0 + timedelta(hours=9), not_before=last, now=now) == now
    assert rules.trusted_time(T0, not_before=last, now=now) == last
    assert rules.trusted_time(T0, not_before=None, now=now) == T0


def test_an_event_happened_at_the_devices_time_unless_that_is_after_the_server_received_it():
    received = T0 + timedelta(hours=1)
    assert rules.event_moment(received, None) == received
    assert rules.event_moment(received, T0) == T0  # queued offline, pushed an hour later
    assert rules.event_moment(received, received + timedelta(hours=3)) == received  # a clock ahead


def test_a_location_out_of_range_names_the_coordinate():
    with pytest.raises(ValidationFailed) as lat:
        Location(90.5, 0)
    assert lat.value.field == "location.lat"
    with pytest.raises(ValidationFailed) as lon:
        Location(0, 180.5)
    assert lon.value.field == "location.lon"


# --- assignment rules (transient objects, no database) -------------------------------------------

POINT = uuid.uuid4()
TUESDAY_10 = datetime(2027, 3, 2, 10, 0, tzinfo=TZ)


def make_technician(**overrides) -> Technician:
    tech = Technician(id=uuid.uuid4(), service_point_id=POINT, name="Wang Wei", hired_on=date(2024, 1, 1),
                      active=True)
    tech.skills = [Skill(category=ProductCategory.WATER_PURIFIER, job_type=JobType.REPAIR)]
    tech.certifications = [Certification(name="purifier", category=ProductCategory.WATER_PURIFIER,
                                         issued_on=date(2024, 1, 1), expires_on=date(2027, 3, 2))]
    tech.shifts = [WeeklyShift(weekday=d, start=time(8, 30), end=time(17, 30)) for d in range(5)]
    tech.shift_exceptions = []
    for key, value in overrides.items():
        setattr(tech, key, value)
    return tech


def violation(tech: Technician, start: datetime = TUESDAY_10, minutes: int = 60,
              category=ProductCategory.WATER_PURIFIER):
    found = rules.assignment_violation(tech, service_point_id=POINT, category=category, job_type=JobType.REPAIR,
                                       start=start, minutes=minutes, tz=TZ)
    return found.rule if found else None


def test_a_qualified_technician_on_shift_passes_every_rule():
    assert violation(make_technician()) is None


def test_each_assignment_rule_is_named_when_it_fails():
    assert violation(make_technician(service_point_id=uuid.uuid4())) == "same-point"
    assert violation(make_technician(active=False)) == "active"
    assert violation(make_technician(), category=ProductCategory.WATER_HEATER) == "skill"
    assert violation(make_technician(), start=TUESDAY_10 + timedelta(days=1)) == "certification"  # expired
    assert violation(make_technician(), start=TUESDAY_10.replace(hour=19)) == "on-shift"
    assert violation(make_technician(), start=TUESDAY_10.replace(hour=17), minutes=31) == "on-shift"
    assert violation(make_technician(), start=TUESDAY_10.replace(hour=17), minutes=30) is None


def test_leave_removes_the_day_and_an_extra_shift_adds_one():
    leave = ShiftException(on=date(2027, 3, 2), kind=ShiftExceptionKind.LEAVE, start=None, end=None)
    assert violation(make_technician(shift_exceptions=[leave])) == "on-shift"
    saturday = datetime(2027, 3, 6, 10, 0, tzinfo=TZ)
    extra = ShiftException(on=date(2027, 3, 6), kind=ShiftExceptionKind.EXTRA, start=time(9), end=time(12))
    tech = make_technician(shift_exceptions=[extra])
    tech.certifications[0].expires_on = date(2028, 1, 1)
    assert violation(tech, start=saturday) is None
    assert violation(make_technician(certifications=tech.certifications), start=saturday) == "on-shift"


def test_the_shift_is_read_in_local_time():
    utc_start = datetime(2027, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert violation(make_technician(), start=utc_start) is None
    assert violation(make_technician(), start=datetime(2027, 3, 2, 10, 0, tzinfo=UTC)) == "on-shift"  # 18:00 local
