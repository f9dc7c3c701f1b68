"""Maintenance due dates, notification back-off and the complaint flow, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dispatch.care import rules
from dispatch.care.models import ComplaintStatus as S
from dispatch.errors import InvalidTransition


class TestMaintenanceDates:
    def test_a_new_plan_falls_due_one_interval_after_the_purchase(self):
        assert rules.first_due_on(date(2026, 3, 1), 180, today=date(2026, 4, 1)) == date(2026, 8, 28)

    def test_a_plan_created_late_starts_at_the_first_cycle_on_or_after_today(self):
        # bought 2025-01-10, every 180 days: 2025-07-09, 2026-01-05, 2026-07-04 ...
        assert rules.first_due_on(date(2025, 1, 10), 180, today=date(2026, 2, 1)) == date(2026, 7, 4)
        assert rules.first_due_on(date(2025, 1, 10), 180, today=date(2026, 1, 5)) == date(2026, 1, 5)

    def test_the_next_due_date_counts_from_the_day_maintenance_was_done(self):
        assert rules.next_due_after(date(2026, 11, 20), 365) == date(2027, 11, 20)

    def test_the_job_is_created_lead_days_before_the_due_date(self):
        assert rules.creation_horizon(date(2026, 12, 1), 14) == date(2026, 12, 15)
        assert rules.creation_horizon(date(2026, 12, 15), 0) == date(2026, 12, 15)


class TestBackoff:
    def test_waits_double_after_each_failure_up_to_a_cap(self):
        waits = [rules.backoff(n).total_seconds() for n in range(1, 7)]
        assert waits == [60, 120, 240, 480, 960, 1920]
        assert rules.backoff(30) == timedelta(seconds=rules.BACKOFF_CAP_S)

    def test_gives_up_after_the_last_attempt(self):
        assert not rules.gives_up(rules.MAX_ATTEMPTS - 1)
        assert rules.gives_up(rules.MAX_ATTEMPTS)

    def test_backoff_is_only_for_failed_attempts(self):
        with pytest.raises(ValueError):
            rules.backoff(0)


class TestComplaintFlow:
    def test_the_flow_goes_forward_one_step_at_a_time(self):
        path = [S.RECEIVED, S.CLASSIFIED, S.INVESTIGATING, S.SOLUTION_PROPOSED, S.RESOLVED, S.CLOSED]
        for current, target in zip(path, path[1:], strict=False):
            rules.check_complaint_transition(current, target, "CP-1")

    def test_skipping_a_step_is_refused_with_the_allowed_moves(self):
        with pytest.raises(InvalidTransition) as refused:
            rules.check_complaint_transition(S.RECEIVED, S.RESOLVED, "CP-1")
        assert refused.value.extra["allowed"] == ["classified"]

    def test_a_rejected_proposal_goes_back_to_the_investigation(self):
        rules.check_complaint_transition(S.SOLUTION_PROPOSED, S.INVESTIGATING, "CP-1")
        rules.check_complaint_transition(S.RESOLVED, S.INVESTIGATING, "CP-1")
        with pytest.raises(InvalidTransition):
            rules.check_complaint_transition(S.CLOSED, S.INVESTIGATING, "CP-1")

    def test_the_deadline_is_calendar_hours_after_receipt(self):
        received = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # a Friday night
        assert rules.complaint_due_at(received, 48) == datetime(2026, 11, 22, 23, 30, tzinfo=UTC)

    def test_only_open_complaints_past_their_deadline_escalate_and_only_once(self):
        due = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
        before, after = due - timedelta(minutes=1), due + timedelta(minutes=1)
        assert not rules.needs_escalation(S.INVESTIGATING, due, None, before)
        assert rules.needs_escalation(S.INVESTIGATING, due, None, after)
        assert not rules.needs_escalation(S.INVESTIGATING, due, after, after)
        assert not rules.needs_escalation(S.RESOLVED, due, None, after)
        assert rules.is_overdue(S.RECEIVED, due, after) and not rules.is_overdue(S.CLOSED, due, after)
