"""Bulk import from CSV or XLSX, of every shape in dispatch.integrations.shapes (units with sale
data, customers, parts and their list prices, technicians), and the export of the same shapes.

* A **dry run** parses and checks every row (against reference data read once) and writes
  nothing; its answer lists each bad row's line number, field and reason.
* A **real run** is a background task over the stored file: rows are applied in batches, each
  row whole or not at all (a refused row is listed with its line and the next goes on),
  progress is stored after every batch. It acts as the person (or machine client) who started
  it, so the services it calls apply that caller's rights.
* **Idempotent by natural keys** (a unit's serial, a customer's phone, a part's SKU, a
  technician's username): running the same file twice changes nothing the second time, and an
  export re-imports as a no-op.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, update

from dispatch.auth.enums import Role
from dispatch.auth.models import User
from dispatch.auth.principal import Principal
from dispatch.clock import local_today, utcnow
from dispatch.db import page
from dispatch.errors import Forbidden, NotFound, ValidationFailed
from dispatch.integrations import sheets
from dispatch.integrations.enums import ImportFormat, ImportKind, ImportStatus
from dispatch.integrations.models import ImportRun
from dispatch.integrations.shapes import SHAPES
from dispatch.integrations.shapes.base import Applying, Parsed, Problem, Shape
from dispatch.uow import UnitOfWork, UowFactory

RUN_TASK = "workers.import_tasks.run_import"
UNIT_COLUMNS = SHAPES[ImportKind.UNITS].columns
MAX_ERRORS = 1000
BATCH = 500
MAX_ROWS = 200_000
READERS = (Role.ADMIN, Role.REVIEWER, Role.MANAGER)


class ImportProblems(ValidationFailed):
    """A dry run (or an unreadable file) found bad rows: 422 listing them."""

    def __init__(self, rows: int, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(first["field"], f"line {first['line']}: {first['reason']} ({len(problems)} problems in "
                                         f"{rows} rows)", rows=rows, problems=problems[:MAX_ERRORS])


@dataclass(frozen=True)
class Upload:
    """A file as it came: CSV text or XLSX bytes."""

    file_format: ImportFormat
    data: str | bytes
    filename: str = ""


@dataclass
class Checked:
    rows: list[Parsed] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    total: int = 0


def check(session, actor: Principal, shape: Shape, upload: Upload, *, today: date) -> Checked:
    """Parse and check every row; the reference data is read once."""
    context = shape.context(session, actor, today)
    checked = Checked()
    seen: dict[str, int] = {}
    for line, values, formula in sheets.read(upload.file_format, upload.data, shape.columns, shape.required):
        checked.total += 1
        if checked.total > MAX_ROWS:
            raise ValidationFailed("file", f"more than {MAX_ROWS} rows: split the file")
        try:
            if formula is not None:
                raise ValidationFailed(formula, "is a formula: type the value (formulas are not evaluated)")
            missing = next((name for name in shape.required if not values.get(name)), None)
            if missing is not None:
                raise ValidationFailed(missing, "is required")
            row = shape.parse(context, values)
            key = shape.key_of(row)
            if key in seen:
                raise ValidationFailed(shape.key, f"{key} is on line {seen[key]} already")
            seen[key] = line
            checked.rows.append(Parsed(line, key, row))
        except ValidationFailed as exc:
            if len(checked.problems) < MAX_ERRORS:
                checked.problems.append({"line": line, "field": exc.field, "reason": exc.reason})
    if checked.total == 0:
        raise ValidationFailed("file", "no rows after the header")
    return checked


def _may_import(actor: Principal, shape: Shape) -> None:
    actor.require(*shape.importers)


# --- runs ---------------------------------------------------------------------------------------


def dry_run(uow: UnitOfWork, actor: Principal, *, upload: Upload, tz: str,
            kind: ImportKind = ImportKind.UNITS) -> dict[str, Any]:
    """Check a file, write nothing: a summary, or ImportProblems (422) naming each bad row."""
    shape = SHAPES[kind]
    _may_import(actor, shape)
    with uow:
        checked = check(uow.session, actor, shape, upload, today=local_today(tz))
    if checked.problems:
        raise ImportProblems(checked.total, checked.problems)
    return {"rows": checked.total, "valid": len(checked.rows)}


def start(uow: UnitOfWork, actor: Principal, tasks, *, kind: ImportKind, upload: Upload) -> ImportRun:
    """Store the file and queue the run; the answer is the run to poll."""
    shape = SHAPES[kind]
    _may_import(actor, shape)
    xlsx = upload.file_format == ImportFormat.XLSX
    with uow:
        run = ImportRun(kind=kind, status=ImportStatus.QUEUED, filename=upload.filename[:200],
                        file_format=upload.file_format, content="" if xlsx else upload.data,
                        raw=upload.data if xlsx else None,
                        service_point_id=None if actor.is_hq else actor.service_point_id,
                        created_by=actor.user_id if actor.user_id.int else None)
        uow.session.add(run)
        uow.session.flush()
        run_id = run.id
        uow.after_commit(lambda: tasks.enqueue(RUN_TASK, str(run_id), task_id=f"import-{run_id}", timeout_s=3600))
        uow.commit()
    return run


def _visible(actor: Principal):
    """Runs the caller may see: HQ all, a manager their point's."""
    actor.require(*READERS)
    return None if actor.is_hq else ImportRun.service_point_id == actor.service_point_id


def get_run(uow: UnitOfWork, actor: Principal, run_id: uuid.UUID) -> ImportRun:
    scope = _visible(actor)
    with uow:
        run = uow.session.get(ImportRun, run_id, populate_existing=True)
        if run is None or (scope is not None and run.service_point_id != actor.service_point_id):
            raise NotFound(f"import {run_id} does not exist")
        return run


def list_runs(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int):
    scope = _visible(actor)
    with uow:
        query = select(ImportRun).order_by(ImportRun.created_at.desc(), ImportRun.id)
        if scope is not None:
            query = query.where(scope)
        return page(uow.session, query, offset=offset, limit=limit)


def _progress(uow_factory: UowFactory, run_id: uuid.UUID, **values: Any) -> None:
    with uow_factory() as uow:
        uow.session.execute(update(ImportRun).where(ImportRun.id == run_id).values(**values, updated_at=utcnow())
                            .execution_options(synchronize_session=False))
        uow.commit()


def _acting(session, run: ImportRun, default: Principal) -> Principal:
    """Who the run acts as: the account that started it, with its rights now (a run of a
    deactivated account or of a manager moved elsewhere is refused)."""
    if run.created_by is None:
        return default
    user = session.get(User, run.created_by)
    if user is None or not user.is_active:
        raise ValidationFailed("file", "the account that started the import is no longer active")
    if run.service_point_id is not None and user.service_point_id != run.service_point_id:
        raise ValidationFailed("file", "the account that started the import no longer runs that point")
    return Principal(user_id=user.id, username=user.username, role=user.role, service_point_id=user.service_point_id)


def run(uow_factory: UowFactory, run_id: uuid.UUID, *, tz: str, actor: Principal,
        hash_method: str = "scrypt") -> dict[str, Any]:
    """The background task: check the stored file, apply the good rows batch by batch, acting as
    the run's creator (``actor``, the task's own principal, is used for runs nobody started)."""
    with uow_factory() as uow:
        stored = uow.session.get(ImportRun, run_id)
        if stored is None or stored.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
            return {"skipped": True}
        shape = SHAPES[stored.kind]
        upload = Upload(stored.file_format, stored.raw if stored.file_format == ImportFormat.XLSX else stored.content)
        checked_or_error: Checked | ValidationFailed
        try:
            acting = _acting(uow.session, stored, actor)
            _may_import(acting, shape)
            checked_or_error = check(uow.session, acting, shape, upload, today=local_today(tz))
        except (ValidationFailed, Forbidden) as exc:
            checked_or_error = exc if isinstance(exc, ValidationFailed) else ValidationFailed("file", exc.detail)
        actor_id = stored.created_by
    if isinstance(checked_or_error, ValidationFailed):
        _progress(uow_factory, run_id, status=ImportStatus.FAILED, finished_at=utcnow(),
                  errors=[{"line": 1, "field": checked_or_error.field, "reason": checked_or_error.reason}])
        return {"failed": True}
    checked = checked_or_error
    errors = list(checked.problems)
    _progress(uow_factory, run_id, status=ImportStatus.RUNNING, total=checked.total, started_at=utcnow(),
              failed=len(checked.problems), errors=errors)
    applying = Applying(actor=acting, actor_id=actor_id, run_id=run_id, now=utcnow(), hash_method=hash_method)
    apply = shape.batch_applier()
    applied = processed = 0
    for first in range(0, len(checked.rows), BATCH):
        batch = checked.rows[first:first + BATCH]
        done, refused = apply(uow_factory, batch, applying)
        applied += done
        processed += len(batch)
        errors.extend(refused[:max(0, MAX_ERRORS - len(errors))])
        _progress(uow_factory, run_id, processed=processed + len(checked.problems), applied=applied,
                  failed=len(checked.problems) + processed - done, errors=errors)
    _progress(uow_factory, run_id, status=ImportStatus.SUCCEEDED, finished_at=utcnow())
    return {"rows": checked.total, "applied": applied}


# --- export -------------------------------------------------------------------------------------


def export(uow: UnitOfWork, actor: Principal, kind: ImportKind) -> Iterator[list[Any]]:
    """The shape's rows in the import's columns: the header first (after the role check, so a
    refused caller fails before a response starts), then one row per object, read in chunks."""
    shape = SHAPES[kind]
    actor.require(*shape.exporters)
    yield list(shape.columns)
    with uow:
        yield from shape.export(uow.session, actor)

