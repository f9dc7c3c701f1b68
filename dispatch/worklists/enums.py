"""The worklists' enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class WorklistKind(StrEnum):
    CALLBACK = "callback"  # 回访 after a completed visit
    LOW_RATING_CALLBACK = "low_rating_callback"  # 回访 to a customer who rated a visit 2 or less
    FILTER_REMINDER = "filter_reminder"  # call the customer before the filter change falls due
    CERTIFICATE_EXPIRY = "certificate_expiry"  # a technician's certificate expires within 30 days
    COMPLAINT_DEADLINE = "complaint_deadline"  # an open complaint close to its time limit
    CLAIM_OLD_PART = "claim_old_part"  # a warranty claim waiting for the old part at HQ
    ASSESSMENT_DUE = "assessment_due"  # a skill's periodic assessment (考核), or the re-assessment after a fail


class WorklistStatus(StrEnum):
    OPEN = "open"
    DONE = "done"  # someone recorded an outcome
    CLEARED = "cleared"  # the reason went away on its own (renewed, resolved, part received...)


class WorklistQueue(StrEnum):
    POINT = "point"  # the point's manager works it
    HQ = "hq"  # HQ's desk (a complaint HQ owns, work with no point)


class WorklistOutcome(StrEnum):
    REACHED = "reached"  # calls: the customer answered
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    DECLINED = "declined"  # reached, did not want to talk
    HANDLED = "handled"  # other work: done (course booked, complaint answered, part sent...)
    NOT_NEEDED = "not_needed"  # nothing to do after all (say why in the note)
