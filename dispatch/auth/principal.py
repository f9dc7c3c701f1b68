"""Who is asking, and the scoping rules services apply to every read and write."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from dispatch.auth.models import HQ_ROLES, Role
from dispatch.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, resolved from the database on every request."""

    user_id: uuid.UUID
    username: str
    role: Role
    service_point_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None

    @property
    def is_hq(self) -> bool:
        return self.role in HQ_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def require(self, *roles: Role) -> None:
        """Raise Forbidden unless the caller has one of ``roles``."""
        if self.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(f"this action needs one of the roles: {allowed}")

    def sees_point(self, service_point_id: uuid.UUID | None) -> bool:
        """HQ sees every point; managers and technicians only their own."""
        return self.is_hq or (service_point_id is not None and service_point_id == self.service_point_id)

    def ensure_point(self, service_point_id: uuid.UUID | None, what: str) -> None:
        """Foreign objects answer 404 (never 403): no existence leak across points."""
        if not self.sees_point(service_point_id):
            raise NotFound(f"{what} does not exist")

    def point_filter(self) -> uuid.UUID | None:
        """The service point a list must be restricted to, or None for HQ."""
        return None if self.is_hq else self.service_point_id


SYSTEM = Principal(user_id=uuid.UUID(int=0), username="system", role=Role.ADMIN)
"""The principal background tasks and seeds act as."""


@dataclass(frozen=True)
class CustomerPrincipal:
    """A signed-in customer (phone number + one-time code): a principal of its own kind.

    It holds no role, so no staff service accepts it; customer services scope every read and
    write to ``customer_id`` and answer another customer's ids with 404."""

    customer_id: uuid.UUID
    locale: str | None = None

    def ensure_own(self, owner_id: uuid.UUID | None, what: str) -> None:
        """Another customer's object answers exactly like a missing one."""
        if owner_id != self.customer_id:
            raise NotFound(f"{what} does not exist")
