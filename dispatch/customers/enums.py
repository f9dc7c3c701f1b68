"""Enumerations of the customer channel (importable by the HTTP layer without the models)."""

from __future__ import annotations

from enum import StrEnum


class ActivationFlag(StrEnum):
    FAR_FROM_SALE = "far_from_sale_region"  # activated far from the region the unit was sold in
    LATE = "late"  # activated long after the purchase date


class CustomerJobType(StrEnum):
    """What a customer may open themselves (installs are sold, not reported)."""

    REPAIR = "repair"
    MAINTENANCE = "maintenance"
