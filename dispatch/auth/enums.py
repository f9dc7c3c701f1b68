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


class Scope(StrEnum):
    """What a machine client (an ERP or CRM integration) may call; each names a set of operations
    (dispatch.api.scopes). A client calls nothing else."""

    JOBS_READ = "jobs:read"
    JOBS_WRITE = "jobs:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    UNITS_READ = "units:read"
    UNITS_IMPORT = "units:import"
    CUSTOMERS_IMPORT = "customers:import"
    PARTS_IMPORT = "parts:import"  # the parts catalogue and its list prices
    TECHNICIANS_IMPORT = "technicians:import"
    PARTS_READ = "parts:read"
    WEBHOOKS_MANAGE = "webhooks:manage"


class GrantType(StrEnum):
    """The OAuth 2.0 grants the token endpoint takes."""

    CLIENT_CREDENTIALS = "client_credentials"
