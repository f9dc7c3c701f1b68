"""Webhook endpoints, the outbox of outbound events, and each event's delivery to each endpoint."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, TimestampMixin, UuidPk, str_enum
from dispatch.integrations.enums import (
    DeliveryStatus,
    EndpointStatus,
    ImportFormat,
    ImportKind,
    ImportStatus,
)


class WebhookEndpoint(UuidPk, TimestampMixin, Base):
    """A receiver HQ registered: where events go, which ones, and the secret they are signed with
    (kept in clear: signing needs it, as with any HMAC scheme)."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    secret: Mapped[str] = mapped_column(String(100))  # "whsec_" + base64 of 32 random bytes
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[EndpointStatus] = mapped_column(str_enum(EndpointStatus), default=EndpointStatus.ACTIVE)
    failing_since: Mapped[datetime | None]  # first failure since the last success
    failures: Mapped[int] = mapped_column(default=0)  # failed attempts since the last success
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class OutboundEvent(Base):
    """One event, written in the transaction of the change it reports (the transactional outbox).
    ``id`` grows with every event, so it orders a job's events."""

    __tablename__ = "outbound_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)  # webhook-id: "msg_<hex>"
    type: Mapped[str] = mapped_column(String(64), index=True)
    ordering_key: Mapped[str | None] = mapped_column(String(100))  # "job:<id>": delivered in order
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime] = mapped_column(index=True)  # the retention finds orphaned events by it


class WebhookDelivery(UuidPk, Base):
    """One event to one endpoint: its attempts, and whether the receiver took it."""

    __tablename__ = "webhook_deliveries"

    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("outbound_events.id"), index=True)
    ordering_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    manual: Mapped[bool] = mapped_column(default=False)  # HQ asked for the next attempt (redeliver)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_order", "endpoint_id", "ordering_key", "event_id"),
        Index("ix_webhook_deliveries_status_delivered_at", "status", "delivered_at"),  # the retention's
    )


class WebhookAttempt(UuidPk, Base):
    """The delivery log: every request sent, and what came back."""

    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
                                                   index=True)
    number: Mapped[int]
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str] = mapped_column(Text, default="")  # the first 1,000 characters
    duration_ms: Mapped[int]
    manual: Mapped[bool] = mapped_column(default=False)  # sent because HQ asked for a redelivery


class ImportRun(UuidPk, TimestampMixin, Base):
    """One bulk import: the stored file, its progress and the rows it refused (line, field, reason)."""

    __tablename__ = "import_runs"

    kind: Mapped[ImportKind] = mapped_column(str_enum(ImportKind))
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus), default=ImportStatus.QUEUED)
    filename: Mapped[str] = mapped_column(String(200), default="")
    file_format: Mapped[ImportFormat] = mapped_column(str_enum(ImportFormat), default=ImportFormat.CSV,
                                                      server_default=ImportFormat.CSV.value)
    content: Mapped[str] = mapped_column(Text, deferred=True)  # a CSV file's text ("" for XLSX)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # an XLSX file's bytes
    # A point manager's run (their own technicians): that manager's point sees it; HQ sees all.
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    total: Mapped[int | None]
    processed: Mapped[int] = mapped_column(default=0)
    applied: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
