"""User accounts and refresh-token families."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.auth.enums import HQ_ROLES, POINT_ROLES, Role  # noqa: F401  (HQ_ROLES, POINT_ROLES re-exported)
from dispatch.db import Base, TimestampMixin, UuidPk, str_enum


class User(UuidPk, TimestampMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(str_enum(Role))
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service_points.id"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped to revoke every token issued so far (password change, stolen phone, reuse detected).
    token_version: Mapped[int] = mapped_column(default=1)


class RefreshToken(Base):
    """One issued refresh token; rotation marks it used, a second use revokes the family."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
