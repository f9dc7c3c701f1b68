"""Pure rules of the worklists: which kinds are phone calls, when each item falls due."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.network.rules import add_months
from dispatch.worklists.enums import WorklistKind, WorklistOutcome

CALL_KINDS = frozenset({WorklistKind.CALLBACK, WorklistKind.LOW_RATING_CALLBACK, WorklistKind.FILTER_REMINDER})
"""Worked by phoning the customer: their outcome is how the call went."""
CALLBACK_KINDS = frozenset({WorklistKind.CALLBACK, WorklistKind.LOW_RATING_CALLBACK})
"""Calls about a visit: a reached customer's answer is recorded as the visit's callback."""
CALL_OUTCOMES = frozenset({WorklistOutcome.REACHED, WorklistOutcome.NO_ANSWER, WorklistOutcome.WRONG_NUMBER,
                           WorklistOutcome.DECLINED, WorklistOutcome.NOT_NEEDED})
WORK_OUTCOMES = frozenset({WorklistOutcome.HANDLED, WorklistOutcome.NOT_NEEDED})

CALLBACK_AFTER_HOURS = 48
"""The follow-up call after a completed visit is due within this many hours."""
CALLBACK_LOOKBACK_DAYS = 7
"""Visits completed longer ago than this get no follow-up item any more (the list starts fresh)."""
REMINDER_DAYS_BEFORE = 21
"""The filter-change reminder call is due this many days before the unit falls due (before the
maintenance job is created, 14 days ahead, so the customer agrees a time on the phone)."""
REMINDER_HORIZON_DAYS = 30
"""Plans falling due within this many days are on the list."""
CERTIFICATE_HORIZON_DAYS = 30
"""Certificates expiring within this many days are listed for the manager."""
COMPLAINT_HORIZON_HOURS = 24
"""Open complaints whose time limit is this close (or past) are listed for their owner."""
OLD_PART_RETURN_DAYS = 14
"""The point sends the old part of a warranty claim to HQ within this many days of filing."""
ASSESSMENT_EVERY_MONTHS = 12
"""A skill is assessed (考核) again at the latest this many months after its last assessment (a skill
never assessed has no cycle yet: its certificate governs it)."""
ASSESSMENT_HORIZON_DAYS = 30
"""Assessments falling due within this many days (or overdue) are listed for the manager."""
REASSESSMENT_WITHIN_DAYS = 14
"""A skill withdrawn by a failed assessment is re-assessed within this many days of the fail."""
WORKDAY_START = time(9)


def allowed_outcomes(kind: WorklistKind) -> frozenset[WorklistOutcome]:
    return CALL_OUTCOMES if kind in CALL_KINDS else WORK_OUTCOMES


def callback_due_at(completed_at: datetime) -> datetime:
    return completed_at + timedelta(hours=CALLBACK_AFTER_HOURS)


def reminder_due_at(due_on: date, tz: ZoneInfo) -> datetime:
    """09:00 local, three weeks before the filter change."""
    return datetime.combine(due_on - timedelta(days=REMINDER_DAYS_BEFORE), WORKDAY_START, tz)


def certificate_due_at(expires_on: date, tz: ZoneInfo) -> datetime:
    """Renewed before the start of the last valid day."""
    return datetime.combine(expires_on, WORKDAY_START, tz)


def assessment_due_on(last_assessed_on: date) -> date:
    return add_months(last_assessed_on, ASSESSMENT_EVERY_MONTHS)


def reassessment_due_on(withdrawn_on: date) -> date:
    return withdrawn_on + timedelta(days=REASSESSMENT_WITHIN_DAYS)


def assessment_due_at(due_on: date, tz: ZoneInfo) -> datetime:
    """09:00 local on the day it falls due."""
    return datetime.combine(due_on, WORKDAY_START, tz)


def old_part_due_at(filed_at: datetime) -> datetime:
    return filed_at + timedelta(days=OLD_PART_RETURN_DAYS)
