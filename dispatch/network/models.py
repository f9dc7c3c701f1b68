"""HQ's map of who may serve where: regions, authorised service points, technicians,
products, customers and the units (with their warranty cards) they own."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, TimestampMixin, UuidPk, str_enum
from dispatch.network.enums import (
    RegionLevel,
    ProductCategory,
    JobType,
    AuthorisationStatus,
    CustomerGrade,
    ShiftExceptionKind,
    StartLocation,
)

if TYPE_CHECKING:
    from dispatch.auth.models import User


class Region(UuidPk, TimestampMixin, Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("regions.id"), index=True)
    # GeoJSON Polygon or MultiPolygon geometry ({"type": ..., "coordinates": [[[lon, lat], ...]]}).
    boundary: Mapped[dict[str, Any] | None]
    version: Mapped[int] = mapped_column(default=1)

    parent: Mapped[Region | None] = relationship(remote_side="Region.id")

    __mapper_args__ = {"version_id_col": version}


class ServicePoint(UuidPk, TimestampMixin, Base):
    __tablename__ = "service_points"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[AuthorisationStatus] = mapped_column(
        str_enum(AuthorisationStatus), default=AuthorisationStatus.PENDING
    )
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    # Authorised product categories and job types (lists of enum values).
    categories: Mapped[list[Any]] = mapped_column(default=list)
    job_types: Mapped[list[Any]] = mapped_column(default=list)
    travel_speed_kmh: Mapped[float] = mapped_column(Float, default=30.0)
    slot_minutes: Mapped[int] = mapped_column(default=120, server_default="120")  # windows offered to customers
    # The point's rules for customers changing a booked visit themselves.
    customer_cancel_notice_hours: Mapped[int] = mapped_column(default=2, server_default="2")
    customer_reschedule_notice_hours: Mapped[int] = mapped_column(default=4, server_default="4")
    customer_max_reschedules: Mapped[int] = mapped_column(default=2, server_default="2")
    version: Mapped[int] = mapped_column(default=1)

    coverage: Mapped[list[Coverage]] = relationship(
        back_populates="service_point", cascade="all, delete-orphan", order_by="Coverage.category"
    )
    history: Mapped[list[AuthorisationChange]] = relationship(
        back_populates="service_point", cascade="all, delete-orphan", order_by="AuthorisationChange.at"
    )

    __mapper_args__ = {"version_id_col": version}

    def is_authorised_on(self, day: date) -> bool:
        """Active and inside its validity period: a lapsed authorisation is no authorisation."""
        return (
            self.status == AuthorisationStatus.ACTIVE
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_until is None or day <= self.valid_until)
        )


class Coverage(Base):
    """A service point covers a region for one product category."""

    __tablename__ = "coverage"

    service_point_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_points.id", ondelete="CASCADE"), primary_key=True
    )
    region_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("regions.id"), primary_key=True)
    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory), primary_key=True)

    service_point: Mapped[ServicePoint] = relationship(back_populates="coverage")
    region: Mapped[Region] = relationship()


class AuthorisationChange(UuidPk, Base):
    """History of every status change of a point: who, when, why."""

    __tablename__ = "authorisation_changes"

    service_point_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_points.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[AuthorisationStatus | None] = mapped_column(str_enum(AuthorisationStatus))
    to_status: Mapped[AuthorisationStatus] = mapped_column(str_enum(AuthorisationStatus))
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]

    service_point: Mapped[ServicePoint] = relationship(back_populates="history")


class NetworkVersion(Base):
    """One row (id 1) whose random ``token`` database triggers change on every write to regions,
    coverage, service points or authorisation changes (migration 0210): what a process compares
    to know whether its in-memory network (:mod:`dispatch.network.index`) is still current."""

    __tablename__ = "network_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))


class Technician(UuidPk, TimestampMixin, Base):
    __tablename__ = "technicians"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    service_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_points.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40), default="")
    hired_on: Mapped[date]
    active: Mapped[bool] = mapped_column(default=True)
    start_location: Mapped[StartLocation] = mapped_column(str_enum(StartLocation), default=StartLocation.POINT)
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    break_minutes: Mapped[int] = mapped_column(default=30)
    # The break starts between these local times (both or neither; none: the point's lunch window).
    break_earliest: Mapped[time | None]
    break_latest: Mapped[time | None]
    # What the customer checks at the door (GET /public/technicians/verify?badge=).
    badge: Mapped[str | None] = mapped_column(String(32), unique=True)
    photo_url: Mapped[str] = mapped_column(String(300), default="", server_default="")
    version: Mapped[int] = mapped_column(default=1)

    skills: Mapped[list[Skill]] = relationship(cascade="all, delete-orphan", order_by="Skill.category")
    certifications: Mapped[list[Certification]] = relationship(
        cascade="all, delete-orphan", order_by="Certification.expires_on"
    )
    shifts: Mapped[list[WeeklyShift]] = relationship(cascade="all, delete-orphan", order_by="WeeklyShift.weekday")
    shift_exceptions: Mapped[list[ShiftException]] = relationship(
        cascade="all, delete-orphan", order_by="ShiftException.on"
    )
    service_point: Mapped[ServicePoint] = relationship()
    user: Mapped[User] = relationship()  # the technician's login (role technician, same point)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(
            "start_location = 'point' OR (home_lat IS NOT NULL AND home_lon IS NOT NULL)",
            name="home_needs_location",
        ),
        CheckConstraint(
            "(break_earliest IS NULL AND break_latest IS NULL) OR "
            "(break_earliest IS NOT NULL AND break_latest IS NOT NULL AND break_earliest <= break_latest)",
            name="break_window",
        ),
    )


class Skill(Base):
    """A (product category, job type) pair the technician may do."""

    __tablename__ = "technician_skills"

    technician_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("technicians.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory), primary_key=True)
    job_type: Mapped[JobType] = mapped_column(str_enum(JobType), primary_key=True)


class SkillHold(Base):
    """A skill withdrawn by a failed assessment (考核): it cannot be given back by editing the
    technician, only by a passed re-assessment (:mod:`dispatch.training` writes these rows)."""

    __tablename__ = "technician_skill_holds"

    technician_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("technicians.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory), primary_key=True)
    job_type: Mapped[JobType] = mapped_column(str_enum(JobType), primary_key=True)
    since: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")


class Certification(UuidPk, Base):
    """A certificate for a product category; expired from the day after ``expires_on``."""

    __tablename__ = "certifications"

    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory))
    issued_on: Mapped[date]
    expires_on: Mapped[date]

    def valid_on(self, day: date) -> bool:
        return self.issued_on <= day <= self.expires_on


class WeeklyShift(Base):
    """The usual working hours on one weekday (0 = Monday), local time."""

    __tablename__ = "weekly_shifts"

    technician_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("technicians.id", ondelete="CASCADE"), primary_key=True
    )
    weekday: Mapped[int] = mapped_column(primary_key=True)
    start: Mapped[time]
    end: Mapped[time]

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start < \"end\"", name="shift_order"),
    )


class ShiftException(UuidPk, Base):
    """A dated exception: leave (all day, or between start and end) or an extra shift."""

    __tablename__ = "shift_exceptions"

    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    on: Mapped[date]
    kind: Mapped[ShiftExceptionKind] = mapped_column(str_enum(ShiftExceptionKind))
    start: Mapped[time | None]
    end: Mapped[time | None]
    reason: Mapped[str] = mapped_column(String(200), default="")


class Product(UuidPk, TimestampMixin, Base):
    """A model in the catalogue (SKU)."""

    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory))
    warranty_months: Mapped[int]
    maintenance_interval_days: Mapped[int | None]
    # Standard on-site minutes per job type, e.g. {"install": 90, "repair": 60, "maintenance": 30}.
    standard_minutes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    def minutes_for(self, job_type: JobType) -> int:
        return int(self.standard_minutes.get(job_type.value, 60))


class Customer(UuidPk, TimestampMixin, Base):
    __tablename__ = "customers"

    name: Mapped[str] = mapped_column(String(200))
    # One customer per phone number (the household's identity at the hotline and at the door).
    phone: Mapped[str] = mapped_column(String(40), index=True, unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[CustomerGrade] = mapped_column(str_enum(CustomerGrade), default=CustomerGrade.STANDARD)
    # The point that first served the customer: it may see the unmasked phone number.
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    # The language of the texts they receive (zh_CN / en; None: zh-CN) and the generation of
    # their sign-in tokens (signing out everywhere bumps it).
    locale: Mapped[str | None] = mapped_column(String(8))
    token_version: Mapped[int] = mapped_column(default=1, server_default="1")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Unit(UuidPk, TimestampMixin, Base):
    """One physical appliance, identified by the serial printed in its QR code."""

    __tablename__ = "units"

    serial: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), index=True)
    manufactured_on: Mapped[date]
    # The current warranty card (None until activated).
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), index=True)
    purchased_on: Mapped[date | None]
    sales_channel: Mapped[str | None] = mapped_column(String(60))
    activated_at: Mapped[datetime | None]
    # The region of the point of sale (from the distributor's records), when known: a customer's
    # activation far from it is flagged for HQ.
    sold_region_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("regions.id"))
    # The day HQ closed the warranty (the unit was replaced or refunded under 三包); none after it.
    warranty_closed_on: Mapped[date | None]
    version: Mapped[int] = mapped_column(default=1)

    product: Mapped[Product] = relationship()
    customer: Mapped[Customer | None] = relationship()
    activations: Mapped[list[Activation]] = relationship(
        cascade="all, delete-orphan", order_by="Activation.activated_at"
    )

    __mapper_args__ = {"version_id_col": version}


class Activation(UuidPk, Base):
    """A warranty card: binding of a unit to a customer. Re-binding keeps the old row."""

    __tablename__ = "activations"

    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    purchased_on: Mapped[date]
    sales_channel: Mapped[str] = mapped_column(String(60))
    activated_at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    superseded_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("unit_id", "activated_at", name="unit_activation_time"),)
