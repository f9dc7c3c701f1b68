"""The rows whose content the log vouches for, and how a row's content is hashed.

Each :class:`SealSpec` names a table, the columns that are hashed (what HQ relies on: a
checklist step's value and evidence, a verdict, a price or bill line, a stock movement, a
warranty claim or card) and, where a row's meaning lives partly in another table, extra values
read with it (a step result's evidence: attachment ids, the uploaded bytes' SHA-256 and the
served copy's, in order). The hash is computed
from what the database returns, at write time and at verification alike, so it never depends
on how a driver round-trips a type.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class SealSpec:
    model: type
    columns: tuple[str, ...]
    # extra values per row id, read in one query for a list of ids
    extras: Callable[[Session, list[Any]], dict[Any, dict[str, Any]]] | None = None
    # rows that must carry a seal (None: every row); others are checked only once sealed
    expected: Callable[[], ColumnElement[bool]] | None = None
    parse_id: Callable[[str], Any] = uuid.UUID
    extra_names: tuple[str, ...] = field(default=())

    @property
    def table(self) -> str:
        return self.model.__tablename__

    @property
    def pk(self):
        (column,) = self.model.__mapper__.primary_key
        return getattr(self.model, column.key)

    def row_id(self, value: Any) -> str:
        return str(value.value if isinstance(value, Enum) else value)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot hash a {type(value).__name__}")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain, ensure_ascii=False)


@dataclass(frozen=True)
class Content:
    """A row's content as hashed: the row hash and a short digest per field."""

    row_hash: str
    fields: dict[str, str]


def content_of(values: dict[str, Any]) -> Content:
    plain = json.loads(canonical(values))
    return Content(
        row_hash=hashlib.sha256(canonical(plain).encode()).hexdigest(),
        fields={name: hashlib.sha256(canonical(value).encode()).hexdigest()[:8] for name, value in plain.items()},
    )


def read_contents(session: Session, spec: SealSpec, ids: Sequence[Any] | None = None, *,
                  after: Any = None, limit: int | None = None) -> dict[Any, Content]:
    """The contents of rows ``ids`` (or the next ``limit`` rows after primary key ``after``),
    by primary key, as the database holds them now (plain rows, never the session's objects)."""
    columns = [getattr(spec.model, name) for name in spec.columns]
    query = select(spec.pk, *columns)
    if ids is not None:
        query = query.where(spec.pk.in_(list(ids)))
    if after is not None:
        query = query.where(spec.pk > after)
    query = query.order_by(spec.pk)
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    extras = spec.extras(session, [row[0] for row in rows]) if spec.extras and rows else {}
    contents = {}
    for row in rows:
        values = dict(zip(spec.columns, row[1:], strict=True))
        for name in spec.extra_names:
            values[name] = extras.get(row[0], {}).get(name)
        contents[row[0]] = content_of(values)
    return contents


# --- the covered tables -------------------------------------------------------------------------


def _step_evidence(session: Session, ids: list[Any]) -> dict[Any, dict[str, Any]]:
    from dispatch.sop.models import Attachment, StepEvidence

    found: dict[Any, dict[str, Any]] = {i: {"evidence": []} for i in ids}
    for result_id, attachment_id, sha256, stored_sha256 in session.execute(
            select(StepEvidence.result_id, StepEvidence.attachment_id, Attachment.sha256, Attachment.stored_sha256)
            .join(Attachment, Attachment.id == StepEvidence.attachment_id)
            .where(StepEvidence.result_id.in_(ids)).order_by(StepEvidence.result_id, StepEvidence.position)):
        # the uploaded bytes' hash and the served copy's (EXIF stripped): both are the evidence
        found[result_id]["evidence"].append([str(attachment_id), sha256, stored_sha256])
    return found


@cache
def covered() -> dict[str, SealSpec]:
    """Every covered table by name (imported late: the domains import this package)."""
    from dispatch.network.models import Activation, JobType, Unit
    from dispatch.audits.models import Audit, AuditVerdict
    from dispatch.sop.models import StepResult
    from dispatch.stock.models import BillPriceOverride, LabourRate, Part, PartUsage, StockMovement, WarrantyClaim

    specs = [
        SealSpec(StepResult, ("checklist_id", "step_key", "revision", "value", "status", "reasons", "recorded_at",
                              "received_at", "lat", "lon", "actor_id", "technician_id", "source"),
                 extras=_step_evidence, extra_names=("evidence",)),
        SealSpec(AuditVerdict, ("audit_id", "seq", "kind", "verdict", "findings", "note", "reviewer_id",
                                "supersedes_id", "created_at", "log_seq")),
        # The audit's copy of its newest verdict: lot decisions and KPIs read this one.
        SealSpec(Audit, ("verdict", "verdict_at"), expected=lambda: Audit.verdict.is_not(None)),
        SealSpec(BillPriceOverride, ("job_id", "part_id", "unit_price", "reason", "actor_id", "at")),
        SealSpec(PartUsage, ("job_id", "part_id", "quantity", "location_id", "list_price", "currency",
                             "from_reservation", "operation_id", "actor_id", "at", "recorded_at")),
        SealSpec(Part, ("sku", "list_price", "currency", "is_consumable", "warranty_covered")),
        SealSpec(LabourRate, ("amount", "currency"), parse_id=JobType),
        SealSpec(StockMovement, ("operation_id", "kind", "location_id", "part_id", "quantity", "delta_on_hand",
                                 "delta_reserved", "delta_in_transit", "delta_defective", "counterpart_location_id",
                                 "job_id", "transfer_id", "reservation_id", "reason", "reference", "actor_id", "at")),
        # What HQ reimburses a point for a part fitted under warranty, and HQ's decision.
        SealSpec(WarrantyClaim, ("job_id", "usage_id", "service_point_id", "part_id", "unit_id", "quantity",
                                 "unit_price", "amount", "currency", "job_date", "status", "rejection_code",
                                 "rejection_detail", "decided_at", "decided_by")),
        SealSpec(Activation, ("unit_id", "customer_id", "purchased_on", "sales_channel", "activated_at", "actor_id",
                              "reason", "superseded_at")),
        # The unit's current warranty card (warranty is judged from it); unbound units hold none.
        SealSpec(Unit, ("customer_id", "purchased_on", "sales_channel", "activated_at"),
                 expected=lambda: or_(Unit.customer_id.is_not(None), Unit.purchased_on.is_not(None),
                                      Unit.activated_at.is_not(None))),
    ]
    return {spec.table: spec for spec in specs}
