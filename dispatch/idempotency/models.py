"""One row per (principal, key): the request's fingerprint and, once it is known, the response."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, JsonDoc


class IdempotencyRecord(Base):
    """The response to a request sent with an ``Idempotency-Key``, replayed byte for byte.

    The primary key (user, key) is what stops two concurrent duplicates from both creating: the
    second insert waits for the first transaction and then fails. ``status_code`` is NULL while
    the first request is still in flight (its create committed with the row, the response not
    yet stored)."""

    __tablename__ = "idempotency_records"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    body: Mapped[Any | None] = mapped_column(JsonDoc)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    created_at: Mapped[datetime]
