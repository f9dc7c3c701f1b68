"""The network domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class RegionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"


class ProductCategory(StrEnum):
    WATER_PURIFIER = "water_purifier"
    WATER_HEATER = "water_heater"


class JobType(StrEnum):
    INSTALL = "install"
    REPAIR = "repair"
    MAINTENANCE = "maintenance"


class AuthorisationStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class CustomerGrade(StrEnum):
    STANDARD = "standard"
    VIP = "vip"


class ShiftExceptionKind(StrEnum):
    LEAVE = "leave"  # not working (the whole day when no times are given)
    EXTRA = "extra"  # an extra or replacement shift on that date


class StartLocation(StrEnum):
    HOME = "home"
    POINT = "point"
