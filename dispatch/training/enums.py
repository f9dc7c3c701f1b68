"""The training domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class SkillEffect(StrEnum):
    """What an assessment did to the skill it assessed."""

    NONE = "none"  # passed and the skill was never withdrawn, or failed without having it
    WITHDRAWN = "withdrawn"  # failed: the skill is removed and held until a passed re-assessment
    RESTORED = "restored"  # passed a re-assessment: the held skill is given back
