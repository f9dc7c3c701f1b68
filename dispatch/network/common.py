"""Small helpers the network services share: optimistic locks and masking."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from dispatch.errors import PreconditionFailed

T = TypeVar("T")


def check_version(obj: Any, expected_version: int | None, what: str) -> None:
    """Lost-update guard: ``obj`` (freshly locked) still has the version the caller read."""
    if expected_version is not None and obj.version != expected_version:
        raise PreconditionFailed(f"{what} changed since it was read; fetch it again")


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 4 digits: ``13812345678`` -> ``138****5678``."""
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    keep = set(digits[:3] + digits[-4:]) if len(digits) > 7 else set(digits[-2:])
    return "".join("*" if i in digits and i not in keep else ch for i, ch in enumerate(phone))


def mask_email(email: str | None) -> str | None:
    """``wang.wei@example.com`` -> ``w***@example.com``."""
    if not email:
        return email
    local, at, domain = email.partition("@")
    return f"{local[:1]}***{at}{domain}"


def mask_name(name: str) -> str:
    """Keep the family name (first word), hide the rest: ``Wang Wei`` -> ``Wang *``."""
    first, _, rest = name.strip().partition(" ")
    return f"{first} *" if rest else f"{first[:1]}*"


def mask_address(address: str) -> str:
    """Hide house and flat numbers; the street and district stay (enough to plan travel)."""
    return re.sub(r"\d", "*", address)
