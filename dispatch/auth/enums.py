"""The auth domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # HQ staff
    REVIEWER = "reviewer"  # HQ auditors
    MANAGER = "manager"  # runs exactly one service point
    TECHNICIAN = "technician"  # works for exactly one service point


HQ_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})
POINT_ROLES = frozenset({Role.MANAGER, Role.TECHNICIAN})
