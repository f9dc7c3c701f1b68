"""The KPI domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class Incentive(StrEnum):
    """What HQ decided for a point's month (the documents' rewards-and-penalties cycle)."""

    REWARD = "reward"
    PENALTY = "penalty"
    NONE = "none"
