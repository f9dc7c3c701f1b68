"""The stock and billing rows the tamper-evident log vouches for: list prices and labour rates,
price overrides on a bill, parts fitted, every stock movement, and what HQ reimburses a point for
a part fitted under warranty with HQ's decision."""

from __future__ import annotations

from dispatch.audit_log.seals import SealSpec
from dispatch.network.enums import JobType
from dispatch.stock.models import BillPriceOverride, LabourRate, Part, PartUsage, StockMovement, WarrantyClaim

SEALS = (
    SealSpec(BillPriceOverride, ("job_id", "part_id", "unit_price", "reason", "actor_id", "at")),
    SealSpec(PartUsage, ("job_id", "part_id", "quantity", "location_id", "list_price", "currency",
                         "from_reservation", "operation_id", "actor_id", "at", "recorded_at")),
    SealSpec(Part, ("sku", "list_price", "currency", "is_consumable", "warranty_covered")),
    SealSpec(LabourRate, ("amount", "currency"), parse_id=JobType),
    SealSpec(StockMovement, ("operation_id", "kind", "location_id", "part_id", "quantity", "delta_on_hand",
                             "delta_reserved", "delta_in_transit", "delta_defective", "counterpart_location_id",
                             "job_id", "transfer_id", "reservation_id", "reason", "reference", "actor_id", "at")),
    SealSpec(WarrantyClaim, ("job_id", "usage_id", "service_point_id", "part_id", "unit_id", "quantity",
                             "unit_price", "amount", "currency", "job_date", "status", "rejection_code",
                             "rejection_detail", "decided_at", "decided_by")),
)
