"""The audits domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class LotStatus(StrEnum):
    OPEN = "open"  # collecting the week's checklists; the seed is committed, not revealed
    FROZEN = "frozen"  # frame fixed, seed revealed, sample drawn; verdicts coming in
    DECIDED = "decided"  # accepted or rejected
    EMPTY = "empty"  # froze without a single checklist: nothing to sample


class AuditKind(StrEnum):
    STATISTICAL = "statistical"  # drawn at random: counts for the lot decision and the score
    TARGETED = "targeted"  # picked by a risk trigger: reviewed, never counted in the statistics


class AuditStatus(StrEnum):
    OPEN = "open"  # waiting for a verdict
    VERDICT_GIVEN = "verdict_given"  # the point's manager may dispute until dispute_until
    DISPUTED = "disputed"  # waiting for a second reviewer to adjudicate
    FINAL = "final"


class VerdictKind(StrEnum):
    REVIEW = "review"  # the first verdict
    CORRECTION = "correction"  # a reviewer superseded the previous verdict
    ADJUDICATION = "adjudication"  # a second reviewer amended a disputed verdict


class FindingCode(StrEnum):
    MISSING_EVIDENCE = "missing_evidence"
    EVIDENCE_MISMATCH = "evidence_mismatch"
    IMPLAUSIBLE_VALUE = "implausible_value"
    STEP_SKIPPED = "step_skipped"
    OTHER = "other"


class DisputeStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # the verdict stands
    AMENDED = "amended"  # the adjudicator gave a new verdict
