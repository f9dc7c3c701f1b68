"""SOP templates (versioned; a published version never changes), the checklist pinned to one
version per job, every submission of every step (append-only revisions) and the evidence
(content-addressed images with their EXIF time and GPS beside the server's receive time).

Reviewers (HQ spot-checks) read all of it: every revision of every step with who, device time,
server time and place; each attachment's SHA-256, EXIF and GPS; and checklists by service point
and completion time (index ``ix_checklists_point_completed``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, JsonDoc, TimestampMixin, UuidPk, str_enum
from dispatch.jobs.models import Job
from dispatch.network.models import JobType, Product, ProductCategory
from dispatch.sop.enums import ChecklistStatus, VersionStatus
from dispatch.sop.rules import OutOfRange, StepKind, StepSpec, StepStatus


class SopTemplate(UuidPk, TimestampMixin, Base):
    """What a template applies to: a job type, a product category and optionally one model
    (most specific wins). Its content lives in its versions."""

    __tablename__ = "sop_templates"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))  # the newest version's title
    job_type: Mapped[JobType] = mapped_column(str_enum(JobType))
    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory))
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"), index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    product: Mapped[Product | None] = relationship(lazy="raise")
    versions: Mapped[list[SopVersion]] = relationship(
        back_populates="template", order_by="SopVersion.number", lazy="raise"
    )

    __table_args__ = (Index("ix_sop_templates_applies_to", "job_type", "category", "product_id"),)

    @property
    def published_version(self) -> int | None:
        """Number of the version in force (the newest published), if any."""
        return max((v.number for v in self.versions if not v.is_draft), default=None)

    @property
    def draft_version(self) -> int | None:
        return next((v.number for v in self.versions if v.is_draft), None)


class SopVersion(UuidPk, TimestampMixin, Base):
    """Version ``number`` of a template: a draft until published, then frozen (``content_sha256``
    is the hash of its canonical content at publication)."""

    __tablename__ = "sop_template_versions"

    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sop_templates.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(str_enum(VersionStatus), default=VersionStatus.DRAFT)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None]
    published_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    content_sha256: Mapped[str | None] = mapped_column(String(64))

    template: Mapped[SopTemplate] = relationship(back_populates="versions", lazy="raise")
    steps: Mapped[list[SopStep]] = relationship(
        back_populates="version", order_by="SopStep.position", cascade="all, delete-orphan", lazy="raise"
    )

    __table_args__ = (UniqueConstraint("template_id", "number", name="sop_version_number"),)

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT

    def specs(self) -> list[StepSpec]:
        return [step.spec() for step in self.steps]


class SopStep(UuidPk, Base):
    """One step of a version. ``key`` is stable across versions so results and audit findings
    can refer to it; ``after`` is None for "in order"; ``params`` holds the kind's settings."""

    __tablename__ = "sop_steps"

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sop_template_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]  # 1, 2, 3... within the version
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[StepKind] = mapped_column(str_enum(StepKind))
    required: Mapped[bool] = mapped_column(default=True)
    out_of_range: Mapped[OutOfRange] = mapped_column(str_enum(OutOfRange), default=OutOfRange.BLOCK)
    after: Mapped[list[Any] | None]
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)

    version: Mapped[SopVersion] = relationship(back_populates="steps", lazy="raise")

    __table_args__ = (
        UniqueConstraint("version_id", "key", name="sop_step_key"),
        UniqueConstraint("version_id", "position", name="sop_step_position"),
    )

    def spec(self) -> StepSpec:
        p = self.params
        return StepSpec(
            key=self.key, title=self.title, kind=self.kind, required=self.required,
            instructions=self.instructions, out_of_range=self.out_of_range,
            after=None if self.after is None else tuple(self.after),
            unit=p.get("unit"), min=p.get("min"), max=p.get("max"), decimals=p.get("decimals"),
            options=tuple(p.get("options") or ()), min_count=p.get("min_count"), max_count=p.get("max_count"),
            lt_step=p.get("lt_step"), gt_step=p.get("gt_step"),
        )


class Checklist(UuidPk, TimestampMixin, Base):
    """A job's SOP checklist, pinned to the template version in force when the job was scheduled."""

    __tablename__ = "checklists"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    template_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sop_template_versions.id"), index=True)
    # The job's point (kept in step when HQ transfers the job), for lots and scoping.
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"))
    status: Mapped[ChecklistStatus] = mapped_column(str_enum(ChecklistStatus), default=ChecklistStatus.OPEN)
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"), index=True)
    completed_at: Mapped[datetime | None]  # server time of the job's completion
    flagged_steps: Mapped[list[Any]] = mapped_column(default=list)  # flagged for review at completion
    # SHA-256 of the current results at completion (also written to the audit log).
    result_sha256: Mapped[str | None] = mapped_column(String(64))

    job: Mapped[Job] = relationship(lazy="raise")
    template_version: Mapped[SopVersion] = relationship(lazy="raise")
    results: Mapped[list[StepResult]] = relationship(
        back_populates="checklist", order_by=lambda: (StepResult.step_key, StepResult.revision),
        cascade="all, delete-orphan", lazy="raise",
    )

    __table_args__ = (Index("ix_checklists_point_completed", "service_point_id", "completed_at"),)

    @property
    def is_read_only(self) -> bool:
        return self.status != ChecklistStatus.OPEN


class StepResult(UuidPk, Base):
    """One submission of one step. Never updated: submitting again adds revision n+1, and the
    newest revision is the step's current result."""

    __tablename__ = "checklist_step_results"

    checklist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checklists.id", ondelete="CASCADE"), index=True)
    step_key: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int]  # 1, 2, 3... per step
    value: Mapped[Any] = mapped_column(JsonDoc, nullable=True)
    status: Mapped[StepStatus] = mapped_column(str_enum(StepStatus))  # as judged at submission
    reasons: Mapped[list[Any]] = mapped_column(default=list)  # [{"code", "message"}]
    recorded_at: Mapped[datetime | None]  # the device's clock
    received_at: Mapped[datetime]  # server time
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"))
    source: Mapped[str] = mapped_column(String(16), default="api")  # "api" or "sync" (offline push)

    checklist: Mapped[Checklist] = relationship(back_populates="results", lazy="raise")
    evidence: Mapped[list[StepEvidence]] = relationship(
        order_by="StepEvidence.position", cascade="all, delete-orphan", lazy="raise"
    )

    __table_args__ = (UniqueConstraint("checklist_id", "step_key", "revision", name="step_result_revision"),)

    @property
    def attachments(self) -> list[Attachment]:
        return [link.attachment for link in self.evidence]


class StepEvidence(Base):
    """The attachments of one step result, in the order the technician gave them."""

    __tablename__ = "checklist_step_evidence"

    result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("checklist_step_results.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    attachment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("attachments.id"), index=True)

    attachment: Mapped[Attachment] = relationship(lazy="raise")


class Attachment(UuidPk, Base):
    """An uploaded image, identified by the SHA-256 of the uploaded bytes. The same bytes uploaded
    again by the same person are the same attachment; the same hash on two jobs is a reuse signal
    for reviewers.

    EXIF ``DateTimeOriginal`` carries no time zone: ``exif_taken_local`` keeps the wall-clock
    text, ``exif_offset`` the ``OffsetTimeOriginal`` when present, and ``exif_taken_at`` the
    instant (with the offset, else read in the network's time zone: ``exif_offset`` None says
    so). ``gps_at`` is the GPS UTC time stamp. ``received_at`` is the server's clock. These are
    read from the upload; the stored copy (``stored_sha256``) no longer carries them.
    """

    __tablename__ = "attachments"

    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of the bytes as uploaded
    # Of the copy kept in the evidence store: personal metadata (GPS, camera, text) dropped.
    # Rows written without one (older uploads) were stored as uploaded.
    stored_sha256: Mapped[str] = mapped_column(
        String(64), default=lambda context: context.get_current_parameters()["sha256"])
    service_point_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_points.id"))
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime]
    filename: Mapped[str] = mapped_column(String(200), default="")
    media_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    exif_taken_local: Mapped[str | None] = mapped_column(String(19))
    exif_offset: Mapped[str | None] = mapped_column(String(6))
    exif_taken_at: Mapped[datetime | None]
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    gps_at: Mapped[datetime | None]
    camera: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (UniqueConstraint("sha256", "service_point_id", "uploaded_by", name="attachment_owner"),)
