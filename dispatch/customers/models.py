"""Tables of the customer channel: one-time codes, self-activations (with HQ flags) and the
customer's confirmation of a bill."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.clock import utcnow
from dispatch.db import Base, UuidPk


class OtpCode(UuidPk, Base):
    """A sign-in code sent by SMS. Only its keyed hash is stored; it dies at ``expires_at``, after
    its first successful use, after too many wrong guesses, or when a newer code is sent."""

    __tablename__ = "customer_otp_codes"

    phone: Mapped[str] = mapped_column(String(40), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SelfActivation(UuidPk, Base):
    """A warranty card the customer activated themselves, with what HQ should look at."""

    __tablename__ = "self_activations"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    activation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activations.id"))
    purchased_on: Mapped[date]
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    invoice_sha256: Mapped[str | None] = mapped_column(String(64))
    flags: Mapped[list[Any]] = mapped_column(default=list)
    distance_km: Mapped[float | None] = mapped_column(Float)  # from the region the unit was sold in
    days_after_purchase: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    review_note: Mapped[str] = mapped_column(Text, default="")


class BillConfirmation(UuidPk, Base):
    """The customer confirmed (and, unless the SOP had them sign on site, signed) a job's bill."""

    __tablename__ = "bill_confirmations"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    total: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list[Any]] = mapped_column(default=list)  # the bill as confirmed
    signer_name: Mapped[str | None] = mapped_column(String(120))
    signature_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_on_site: Mapped[bool] = mapped_column(default=False)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
