"""SOP templates: HQ admins edit a draft and publish it as an immutable version; the newest
published version of the most specific matching template is the one in force for a job."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import selectinload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from dispatch.network.models import JobType, Product, ProductCategory
from dispatch.sop.models import SopStep, SopTemplate, SopVersion, VersionStatus
from dispatch.sop.rules import OutOfRange, StepKind, StepSpec, check_template
from dispatch.uow import UnitOfWork

StepInput = Mapping[str, Any]


class VersionImmutable(Conflict):
    """A published version never changes; changes go into a new draft."""

    code = "version-immutable"
    title = "Published SOP versions are immutable"


def recorded_actor_id(actor: Principal) -> uuid.UUID | None:
    """The user id to record for ``actor`` (None for the system: seeds, background tasks)."""
    return None if actor.user_id == SYSTEM.user_id else actor.user_id


def spec_from_input(step: StepInput) -> StepSpec:
    """A step as given by the API or the seeds (plain values) as a StepSpec."""
    after = step.get("after")
    return StepSpec(
        key=step["key"], title=step["title"], kind=StepKind(step["kind"]),
        required=step.get("required", True), instructions=step.get("instructions") or "",
        after=None if after is None else tuple(after),
        out_of_range=OutOfRange(step.get("out_of_range") or OutOfRange.BLOCK),
        unit=step.get("unit"), min=step.get("min"), max=step.get("max"), decimals=step.get("decimals"),
        options=tuple(step.get("options") or ()), min_count=step.get("min_count"),
        max_count=step.get("max_count"), lt_step=step.get("lt_step"), gt_step=step.get("gt_step"),
    )


def _set_steps(session, version: SopVersion, steps: Sequence[StepInput]) -> None:
    """Replace the steps of a draft (checked first, so a bad template changes nothing)."""
    specs = [spec_from_input(step) for step in steps]
    check_template(specs)
    if version.steps:
        version.steps.clear()
        session.flush()  # old rows go before new ones reuse their keys and positions
    for position, spec in enumerate(specs, start=1):
        version.steps.append(SopStep(
            position=position, key=spec.key, title=spec.title.strip(), instructions=spec.instructions,
            kind=spec.kind, required=spec.required, out_of_range=spec.out_of_range,
            after=None if spec.after is None else list(spec.after), params=spec.settings(),
        ))


def content_sha256(version: SopVersion) -> str:
    """Hash of what a technician is asked to do (title, description, every step), canonical JSON."""
    content = {
        "title": version.title,
        "description": version.description,
        "steps": [{"key": s.key, "title": s.title, "instructions": s.instructions, "kind": s.kind.value,
                   "required": s.required, "out_of_range": s.out_of_range.value, "after": s.after,
                   "params": s.params} for s in version.steps],
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- helpers joining the caller's transaction ------------------------------------------------


def add_template(
    session,
    actor: Principal,
    *,
    code: str,
    title: str,
    job_type: JobType,
    category: ProductCategory,
    product_sku: str | None = None,
    description: str = "",
    steps: Sequence[StepInput] = (),
) -> SopTemplate:
    """A new template with draft version 1 (no commit)."""
    if session.scalar(select(SopTemplate.id).where(SopTemplate.code == code)) is not None:
        raise Conflict(f"template code {code!r} is taken")
    product = None
    if product_sku is not None:
        product = session.scalar(select(Product).where(Product.sku == product_sku))
        if product is None:
            raise ValidationFailed("product_sku", f"no product with SKU {product_sku!r}")
        if product.category != category:
            raise ValidationFailed("product_sku", f"{product_sku} is a {product.category.value}, not a {category.value}")
    same_scope = session.scalar(select(SopTemplate.code).where(
        SopTemplate.job_type == job_type, SopTemplate.category == category,
        SopTemplate.product_id == product.id if product else SopTemplate.product_id.is_(None),
    ))
    if same_scope is not None:
        raise Conflict(f"template {same_scope} already covers this job type and product; publish a new version of it",
                       template_code=same_scope)
    template = SopTemplate(code=code, title=title, job_type=job_type, category=category,
                           product_id=product.id if product else None, created_by=recorded_actor_id(actor),
                           product=product, versions=[])
    version = SopVersion(number=1, status=VersionStatus.DRAFT, title=title, description=description, steps=[])
    _set_steps(session, version, steps)
    template.versions.append(version)
    session.add(template)
    session.flush()
    return template


def publish_version(session, actor: Principal, version: SopVersion) -> SopVersion:
    """Freeze a draft as the template's newest published version (no commit)."""
    if not version.is_draft:
        raise VersionImmutable(f"version {version.number} of {version.template.code} is already published")
    if not version.steps:
        raise RuleViolation(f"version {version.number} of {version.template.code} has no steps to publish")
    version.status = VersionStatus.PUBLISHED
    version.published_at = utcnow()
    version.published_by = recorded_actor_id(actor)
    version.content_sha256 = content_sha256(version)
    version.template.title = version.title
    session.flush()
    audit_log.append(session, kind="sop.template.published", subject_id=version.id,
                     actor_id=version.published_by,
                     payload={"template": version.template.code, "number": version.number,
                              "content_sha256": version.content_sha256})
    return version


def version_in_force(session, *, job_type: JobType, product: Product) -> SopVersion | None:
    """The newest published version of the most specific template for this job type and model:
    a template for the model beats one for its product category."""
    return session.scalar(
        select(SopVersion)
        .join(SopTemplate, SopVersion.template_id == SopTemplate.id)
        .where(SopTemplate.job_type == job_type, SopTemplate.category == product.category,
               or_(SopTemplate.product_id == product.id, SopTemplate.product_id.is_(None)),
               SopVersion.status == VersionStatus.PUBLISHED)
        .order_by(case((SopTemplate.product_id.is_(None), 1), else_=0), SopVersion.number.desc())
        .limit(1)
    )


def _template(session, template_id: uuid.UUID, *, for_update: bool = False) -> SopTemplate:
    query = select(SopTemplate).where(SopTemplate.id == template_id).options(
        selectinload(SopTemplate.versions), selectinload(SopTemplate.product))
    if for_update:
        query = query.with_for_update()
    template = session.scalar(query)
    if template is None:
        raise NotFound(f"SOP template {template_id} does not exist")
    return template


def _version(session, actor: Principal, template_id: uuid.UUID, number: int, *, for_update: bool = False) -> SopVersion:
    template = _template(session, template_id, for_update=for_update)
    version = session.scalar(
        select(SopVersion).where(SopVersion.template_id == template.id, SopVersion.number == number)
        .options(selectinload(SopVersion.steps), selectinload(SopVersion.template))
    )
    if version is None or (version.is_draft and not actor.is_hq):
        raise NotFound(f"version {number} of SOP template {template.code} does not exist")
    return version


# --- use cases -------------------------------------------------------------------------------


def create_template(uow: UnitOfWork, actor: Principal, **values: Any) -> SopTemplate:
    """HQ admin: a new template (its version 1 is a draft until published)."""
    actor.require(Role.ADMIN)
    with uow:
        template = add_template(uow.session, actor, **values)
        uow.commit()
    return template


def list_templates(
    uow: UnitOfWork,
    actor: Principal,
    *,
    offset: int,
    limit: int,
    job_type: JobType | None = None,
    category: ProductCategory | None = None,
) -> tuple[list[SopTemplate], int]:
    """Every template (SOPs are not secret: technicians follow them), by code."""
    with uow:
        query = select(SopTemplate).order_by(SopTemplate.code)
        if job_type is not None:
            query = query.where(SopTemplate.job_type == job_type)
        if category is not None:
            query = query.where(SopTemplate.category == category)
        return page(uow.session, query.options(selectinload(SopTemplate.versions),
                                               selectinload(SopTemplate.product)), offset=offset, limit=limit)


def get_template(uow: UnitOfWork, actor: Principal, template_id: uuid.UUID) -> SopTemplate:
    with uow:
        return _template(uow.session, template_id)


def list_versions(uow: UnitOfWork, actor: Principal, template_id: uuid.UUID) -> list[SopVersion]:
    """The template's versions, oldest first (drafts only for HQ)."""
    with uow:
        template = _template(uow.session, template_id)
        return [v for v in template.versions if actor.is_hq or not v.is_draft]


def get_version(uow: UnitOfWork, actor: Principal, template_id: uuid.UUID, number: int) -> SopVersion:
    with uow:
        return _version(uow.session, actor, template_id, number)


def start_draft(uow: UnitOfWork, actor: Principal, template_id: uuid.UUID) -> SopVersion:
    """HQ admin: a new draft (version n+1), starting from the newest published content."""
    actor.require(Role.ADMIN)
    with uow:
        template = _template(uow.session, template_id, for_update=True)
        draft = next((v for v in template.versions if v.is_draft), None)
        if draft is not None:
            raise Conflict(f"{template.code} already has a draft (version {draft.number}); edit or publish it",
                           draft=draft.number)
        base = uow.session.scalar(
            select(SopVersion).where(SopVersion.template_id == template.id)
            .order_by(SopVersion.number.desc()).limit(1).options(selectinload(SopVersion.steps))
        )
        version = SopVersion(template_id=template.id, number=base.number + 1, status=VersionStatus.DRAFT,
                             title=base.title, description=base.description, template=template, steps=[
                                 SopStep(position=s.position, key=s.key, title=s.title, instructions=s.instructions,
                                         kind=s.kind, required=s.required, out_of_range=s.out_of_range,
                                         after=s.after, params=dict(s.params)) for s in base.steps])
        uow.session.add(version)
        uow.commit()
    return version


def edit_draft(
    uow: UnitOfWork,
    actor: Principal,
    template_id: uuid.UUID,
    number: int,
    *,
    title: str,
    steps: Sequence[StepInput],
    description: str = "",
) -> SopVersion:
    """HQ admin: replace a draft's content. A published version answers 409."""
    actor.require(Role.ADMIN)
    with uow:
        version = _version(uow.session, actor, template_id, number, for_update=True)
        if not version.is_draft:
            raise VersionImmutable(f"version {number} of {version.template.code} is published and cannot change; "
                                   "start a new draft")
        version.title, version.description = title, description
        _set_steps(uow.session, version, steps)
        uow.session.flush()
        uow.commit()
    return version


def publish(uow: UnitOfWork, actor: Principal, template_id: uuid.UUID, number: int) -> SopVersion:
    """HQ admin: publish a draft; jobs scheduled from now on get it, checklists in flight keep theirs."""
    actor.require(Role.ADMIN)
    with uow:
        version = _version(uow.session, actor, template_id, number, for_update=True)
        publish_version(uow.session, actor, version)
        uow.commit()
    return version


def applicable_version(uow: UnitOfWork, actor: Principal, *, job_type: JobType, product_sku: str) -> SopVersion:
    """Which version a job of this type on this model would be given now."""
    with uow:
        product = uow.session.scalar(select(Product).where(Product.sku == product_sku))
        if product is None:
            raise ValidationFailed("product_sku", f"no product with SKU {product_sku!r}")
        version = version_in_force(uow.session, job_type=job_type, product=product)
        if version is None:
            raise NotFound(f"no published SOP applies to {job_type.value} jobs on {product_sku}")
        return _version(uow.session, actor, version.template_id, version.number)
