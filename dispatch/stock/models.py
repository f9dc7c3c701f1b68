"""Spare parts and stock: the catalogue, stock locations, levels, the movement ledger, transfers,
job reservations and consumption, labour rates, bill price overrides and warranty claims.

Stock changes only through :class:`StockMovement` rows: every row carries the deltas it applied
to one (location, part) level, so a level always equals the sum of its ledger rows. Levels are
changed with conditional UPDATEs (see ``dispatch.stock.ledger``); the CHECK constraints below are
the backstop that turns a bug into an IntegrityError instead of negative stock.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, TimestampMixin, UuidPk, str_enum
from dispatch.network.models import JobType, Product
from dispatch.stock.enums import (
    BILLING_CURRENCY,
    LocationKind,
    MovementKind,
    TransferStatus,
    ReservationStatus,
    ClaimStatus,
)
from dispatch.stock.rules import ClaimRejection, is_low

class Part(UuidPk, TimestampMixin, Base):
    """A spare part in the catalogue. Bills are computed from ``list_price``, never from input."""

    __tablename__ = "parts"

    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    list_price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default=BILLING_CURRENCY)
    is_consumable: Mapped[bool] = mapped_column(default=False)  # filters: wear items, billed even in warranty
    warranty_covered: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    fits: Mapped[list[PartFit]] = relationship(cascade="all, delete-orphan", order_by="PartFit.product_id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (CheckConstraint("list_price >= 0", name="list_price_not_negative"),)

    @property
    def compatible_product_ids(self) -> list[uuid.UUID]:
        return [fit.product_id for fit in self.fits]

    @property
    def compatible_products(self) -> list[str]:
        """SKUs of the models the part fits."""
        return sorted(fit.product.sku for fit in self.fits)


class PartFit(Base):
    """The part fits this product model (warranty claims check it)."""

    __tablename__ = "part_fits"

    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), primary_key=True)

    product: Mapped[Product] = relationship(lazy="joined")


class StockLocation(UuidPk, TimestampMixin, Base):
    """Where stock is kept: the HQ warehouse, a service point or a technician's van."""

    __tablename__ = "stock_locations"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LocationKind] = mapped_column(str_enum(LocationKind))
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"), unique=True)

    __table_args__ = (
        CheckConstraint(
            "(kind = 'hq' AND service_point_id IS NULL AND technician_id IS NULL)"
            " OR (kind = 'point' AND service_point_id IS NOT NULL AND technician_id IS NULL)"
            " OR (kind = 'van' AND service_point_id IS NOT NULL AND technician_id IS NOT NULL)",
            name="owner_matches_kind",
        ),
    )


class StockLevel(Base):
    """Counters for one part at one location. ``available`` = ``on_hand`` - ``reserved``.

    ``in_transit`` counts units dispatched to this location and not yet received; ``defective``
    counts returned defective units held (at HQ) for the supplier. ``version`` grows with every
    change so that a counting form can detect that the row moved under it.
    """

    __tablename__ = "stock_levels"

    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), primary_key=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    in_transit: Mapped[int] = mapped_column(default=0)
    defective: Mapped[int] = mapped_column(default=0)
    min_level: Mapped[int | None]
    max_level: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=0)  # 0 for a level created empty; +1 per change
    updated_at: Mapped[datetime | None]

    location: Mapped[StockLocation] = relationship()
    part: Mapped[Part] = relationship()

    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("in_transit >= 0", name="in_transit_not_negative"),
        CheckConstraint("defective >= 0", name="defective_not_negative"),
        CheckConstraint("min_level IS NULL OR min_level >= 0", name="min_not_negative"),
        CheckConstraint("max_level IS NULL OR min_level IS NULL OR max_level >= min_level", name="max_above_min"),
    )

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def low_stock(self) -> bool:
        """At or below the minimum, counting what is in transit (replenishment's trigger)."""
        return is_low(self.available + self.in_transit, self.min_level)


class StockTransfer(UuidPk, TimestampMixin, Base):
    """A shipment between two locations; its stock is in transit until the receiver confirms."""

    __tablename__ = "stock_transfers"

    from_location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    to_location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    status: Mapped[TransferStatus] = mapped_column(str_enum(TransferStatus), default=TransferStatus.IN_TRANSIT)
    note: Mapped[str] = mapped_column(Text, default="")
    dispatched_at: Mapped[datetime]
    dispatched_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime | None]
    received_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    from_location: Mapped[StockLocation] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[StockLocation] = relationship(foreign_keys=[to_location_id])
    lines: Mapped[list[StockTransferLine]] = relationship(
        cascade="all, delete-orphan", order_by="StockTransferLine.part_id"
    )

    __table_args__ = (CheckConstraint("from_location_id <> to_location_id", name="distinct_ends"),)


class StockTransferLine(Base):
    __tablename__ = "stock_transfer_lines"

    transfer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("stock_transfers.id", ondelete="CASCADE"), primary_key=True
    )
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    quantity: Mapped[int]

    part: Mapped[Part] = relationship()

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class StockReservation(UuidPk, TimestampMixin, Base):
    """Parts set aside at one location for one job. Open quantity = quantity - consumed - released."""

    __tablename__ = "stock_reservations"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[int]
    consumed: Mapped[int] = mapped_column(default=0)
    released: Mapped[int] = mapped_column(default=0)
    status: Mapped[ReservationStatus] = mapped_column(
        str_enum(ReservationStatus), default=ReservationStatus.ACTIVE, index=True
    )

    location: Mapped[StockLocation] = relationship()
    part: Mapped[Part] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("consumed >= 0 AND released >= 0 AND consumed + released <= quantity", name="within_quantity"),
    )

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.consumed - self.released


class StockMovement(UuidPk, Base):
    """One ledger row: the deltas one movement applied to one (location, part) level.

    A movement that touches two locations (a transfer, a defective return) writes one row per
    location, sharing ``operation_id``.
    """

    __tablename__ = "stock_movements"

    operation_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[MovementKind] = mapped_column(str_enum(MovementKind), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), index=True)
    quantity: Mapped[int]  # the size of the movement (always positive)
    delta_on_hand: Mapped[int] = mapped_column(default=0)
    delta_reserved: Mapped[int] = mapped_column(default=0)
    delta_in_transit: Mapped[int] = mapped_column(default=0)
    delta_defective: Mapped[int] = mapped_column(default=0)
    counterpart_location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_transfers.id"), index=True)
    reservation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_reservations.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str] = mapped_column(String(120), default="")  # e.g. the supplier's delivery note
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(index=True)

    location: Mapped[StockLocation] = relationship(foreign_keys=[location_id])
    part: Mapped[Part] = relationship()
    # Declared so that a flush inserts a new reservation or transfer before the rows naming it.
    reservation: Mapped[StockReservation | None] = relationship()
    transfer: Mapped[StockTransfer | None] = relationship()

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class JobExpectedPart(Base):
    """A part the job is expected to need, and how far the reservation got.

    ``shortage`` > 0 means scheduling could not reserve everything: ``shortage_sources`` then
    lists where the part is available (``[{"location_id", "code", "kind", "available"}]``).
    """

    __tablename__ = "job_expected_parts"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    quantity: Mapped[int]
    shortage: Mapped[int] = mapped_column(default=0)
    shortage_sources: Mapped[list[Any]] = mapped_column(default=list)
    checked_at: Mapped[datetime | None]

    part: Mapped[Part] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("shortage >= 0 AND shortage <= quantity", name="shortage_within_quantity"),
    )


class PartUsage(UuidPk, Base):
    """Parts fitted on a job. ``id`` may come from the device, so a replayed report is a no-op.

    ``list_price`` is the catalogue price when the part was used: the bill charges at most that
    and at most the current list price.
    """

    __tablename__ = "part_usages"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), index=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[int]
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"))
    list_price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    from_reservation: Mapped[int] = mapped_column(default=0)  # how many came out of the job's reservations
    operation_id: Mapped[uuid.UUID]  # the ledger operation that took the stock
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]  # server time
    recorded_at: Mapped[datetime | None]  # the device's clock

    part: Mapped[Part] = relationship()
    location: Mapped[StockLocation] = relationship()

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class LabourRate(Base):
    """What the customer pays for labour on an out-of-warranty job, by job type."""

    __tablename__ = "labour_rates"

    job_type: Mapped[JobType] = mapped_column(str_enum(JobType), primary_key=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default=BILLING_CURRENCY)
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)


class BillPriceOverride(UuidPk, Base):
    """A manager's lower price for one bill line (``part_id`` None = labour). Never above list."""

    __tablename__ = "bill_price_overrides"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parts.id"))
    unit_price: Mapped[Decimal]
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("job_id", "part_id", name="bill_override_line"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )


class WarrantyClaim(UuidPk, TimestampMixin, Base):
    """A point asks HQ to reimburse a part it fitted free of charge under warranty."""

    __tablename__ = "warranty_claims"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), index=True)
    usage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("part_usages.id"), unique=True)
    service_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_points.id"), index=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    job_date: Mapped[datetime]  # the date the warranty is judged on (the job's report time)
    status: Mapped[ClaimStatus] = mapped_column(str_enum(ClaimStatus), index=True)
    rejection_code: Mapped[ClaimRejection | None] = mapped_column(str_enum(ClaimRejection))
    rejection_detail: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    checks: Mapped[list[Any]] = mapped_column(default=list)  # [{"check", "passed", "detail"}] at filing
    return_received_at: Mapped[datetime | None]  # the old part reached HQ's defective bin
    return_received_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    return_waived_at: Mapped[datetime | None]  # HQ waived the return on photo evidence
    return_waived_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    return_waiver_reason: Mapped[str] = mapped_column(Text, default="")
    return_waiver_attachment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("attachments.id"))
    version: Mapped[int] = mapped_column(default=1)

    part: Mapped[Part] = relationship()
    usage: Mapped[PartUsage] = relationship()

    @property
    def part_returned(self) -> bool:
        """The old part is accounted for: received at HQ, or HQ waived it on photo evidence."""
        return self.return_received_at is not None or self.return_waived_at is not None

    @property
    def all_checks(self) -> list[dict[str, Any]]:
        """The checks made at filing (and on the fault cause), with the old part's return as of now."""
        if self.return_received_at is not None:
            returned = {"check": "old_part_returned", "passed": True,
                        "detail": f"received at HQ on {self.return_received_at:%Y-%m-%d}"}
        elif self.return_waived_at is not None:
            returned = {"check": "old_part_returned", "passed": True,
                        "detail": f"waived by HQ on photo evidence: {self.return_waiver_reason}"}
        else:
            returned = {"check": "old_part_returned", "passed": False,
                        "detail": "the old part's defective return has not been received at HQ"}
        return [*(self.checks or []), returned]  # (flush order: the usage row first)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class ClaimPolicy(Base):
    """HQ's settings for the claim checks (one row, id 1)."""

    __tablename__ = "claim_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    repeat_window_days: Mapped[int] = mapped_column(default=90)  # same unit + part claimed again within it: held
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (CheckConstraint("repeat_window_days >= 0", name="repeat_window_not_negative"),)
