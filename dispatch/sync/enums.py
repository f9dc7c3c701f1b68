"""The sync domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class FeedOp(StrEnum):
    PUT = "P"  # the entity is (still) in the user's scope: send its current state
    REMOVE = "R"  # the entity left the user's scope: the device drops it and its children


class MutationStatus(StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"
    CONFLICT = "conflict"
