"""Bulk import of the installed base from CSV (units with their sale data, buyers and dealers),
and its export in the same shape.

* A **dry run** parses and checks every row (against the catalogue, in bulk) and writes nothing;
  its answer lists each bad row's line number, field and reason.
* A **real run** is a background task over the stored file: rows are applied in batches, each
  row in its own savepoint (a row is applied whole or not at all; a refused row is listed with
  its line and the next goes on), progress is stored after every batch.
* **Idempotent by natural keys**: a unit is its serial, a customer their phone number, a dealer
  its code; running the same file twice changes nothing the second time. A unit already bound
  to another customer is refused (re-binding is HQ's decision, one unit at a time).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from dispatch.audit_log import service as audit_log
from dispatch.auth.enums import Role
from dispatch.auth.principal import Principal
from dispatch.clock import local_today, utcnow
from dispatch.db import page
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.integrations.enums import ImportKind, ImportStatus
from dispatch.integrations.models import ImportRun
from dispatch.network.customers import normalise_phone
from dispatch.network.models import Activation, Customer, Product, Unit
from dispatch.network.units import SalesChannel, parse_serial
from dispatch.uow import UnitOfWork, UowFactory
from dispatch.warranty.enums import JourneyKind, PartnerKind
from dispatch.warranty.models import JourneyEvent, TradePartner

RUN_TASK = "workers.import_tasks.run_import"
UNIT_COLUMNS = ("serial", "product_sku", "manufactured_on", "customer_phone", "customer_name", "customer_address",
                "purchased_on", "sales_channel", "dealer_code")
REQUIRED = ("serial", "product_sku", "manufactured_on")
MAX_ERRORS = 1000
BATCH = 500
MAX_ROWS = 200_000


class ImportProblems(ValidationFailed):
    """A dry run (or an unreadable file) found bad rows: 422 listing them."""

    def __init__(self, rows: int, problems: list[dict[str, Any]]) -> None:
        first = problems[0]
        super().__init__(first["field"], f"line {first['line']}: {first['reason']} ({len(problems)} problems in "
                                         f"{rows} rows)", rows=rows, problems=problems[:MAX_ERRORS])


@dataclass
class Row:
    line: int
    serial: str
    product_id: uuid.UUID
    manufactured_on: date
    phone: str | None
    name: str
    address: str
    purchased_on: date | None
    sales_channel: str | None
    dealer_id: uuid.UUID | None


@dataclass
class Checked:
    rows: list[Row] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(name, "not a date (YYYY-MM-DD)") from None


def _reader(content: str) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in UNIT_COLUMNS]
    if missing or unknown:
        reason = (f"missing columns: {', '.join(missing)}" if missing else f"unknown columns: {', '.join(unknown)}")
        raise ValidationFailed("file", f"line 1: {reason}; the columns are {', '.join(UNIT_COLUMNS)}")
    reader.fieldnames = header
    for values in reader:
        if None in values:
            raise ValidationFailed("file", f"line {reader.line_num}: more values than columns")
        yield reader.line_num, {key: (value or "").strip() for key, value in values.items()}


def check(session, content: str, *, today: date) -> Checked:
    """Parse and check every row; the catalogue is read once."""
    products = dict(session.execute(select(Product.sku, Product.id)).all())
    dealers = dict(session.execute(select(TradePartner.code, TradePartner.id)
                                   .where(TradePartner.kind == PartnerKind.DEALER)).all())
    checked = Checked()
    seen: dict[str, int] = {}
    for line, values in _reader(content):
        checked.total += 1
        if checked.total > MAX_ROWS:
            raise ValidationFailed("file", f"more than {MAX_ROWS} rows: split the file")
        try:
            checked.rows.append(_row(line, values, products, dealers, seen, today))
        except ValidationFailed as exc:
            if len(checked.problems) < MAX_ERRORS:
                checked.problems.append({"line": line, "field": exc.field, "reason": exc.reason})
    if checked.total == 0:
        raise ValidationFailed("file", "no rows after the header")
    return checked


def _row(line: int, v: dict[str, str], products, dealers, seen: dict[str, int], today: date) -> Row:
    for name in REQUIRED:
        if not v.get(name):
            raise ValidationFailed(name, "is required")
    serial, year = parse_serial(v["serial"])
    if serial in seen:
        raise ValidationFailed("serial", f"{serial} is on line {seen[serial]} already")
    product_id = products.get(v["product_sku"])
    if product_id is None:
        raise ValidationFailed("product_sku", f"no product {v['product_sku']!r}")
    made = _date(v["manufactured_on"], "manufactured_on")
    if made > today:
        raise ValidationFailed("manufactured_on", "is in the future")
    if made.year != year:
        raise ValidationFailed("manufactured_on", f"the serial says the unit was made in {year}")
    phone = normalise_phone(v["customer_phone"], "customer_phone") if v.get("customer_phone") else None
    bought = _date(v["purchased_on"], "purchased_on") if v.get("purchased_on") else None
    if phone and not v.get("customer_name"):
        raise ValidationFailed("customer_name", "is required with customer_phone")
    if phone and bought is None:
        raise ValidationFailed("purchased_on", "is required with customer_phone (the warranty starts then)")
    if bought is not None and (bought > today or bought < made):
        raise ValidationFailed("purchased_on", "is in the future" if bought > today else f"is before {made}")
    channel = v.get("sales_channel") or ("retail" if phone else None)
    if channel is not None and channel not in SalesChannel._value2member_map_:
        raise ValidationFailed("sales_channel", f"one of {', '.join(c.value for c in SalesChannel)}")
    dealer_id = None
    if v.get("dealer_code"):
        dealer_id = dealers.get(v["dealer_code"])
        if dealer_id is None:
            raise ValidationFailed("dealer_code", f"no dealer {v['dealer_code']!r}")
    seen[serial] = line
    return Row(line, serial, product_id, made, phone, v.get("customer_name", ""), v.get("customer_address", ""),
               bought, channel, dealer_id)


# --- runs ---------------------------------------------------------------------------------------


def dry_run(uow: UnitOfWork, actor: Principal, *, content: str, tz: str) -> dict[str, Any]:
    """Check a file, write nothing: a summary, or ImportProblems (422) naming each bad row."""
    actor.require(Role.ADMIN)
    with uow:
        checked = check(uow.session, content, today=local_today(tz))
    if checked.problems:
        raise ImportProblems(checked.total, checked.problems)
    return {"rows": checked.total, "valid": len(checked.rows)}


def start(uow: UnitOfWork, actor: Principal, tasks, *, kind: ImportKind, content: str, filename: str) -> ImportRun:
    """Store the file and queue the run; the answer is the run to poll."""
    actor.require(Role.ADMIN)
    with uow:
        run = ImportRun(kind=kind, status=ImportStatus.QUEUED, filename=filename[:200], content=content,
                        created_by=actor.user_id if actor.user_id.int else None)
        uow.session.add(run)
        uow.session.flush()
        run_id = run.id
        uow.after_commit(lambda: tasks.enqueue(RUN_TASK, str(run_id), task_id=f"import-{run_id}", timeout_s=3600))
        uow.commit()
    return run


def get_run(uow: UnitOfWork, actor: Principal, run_id: uuid.UUID) -> ImportRun:
    actor.require(Role.ADMIN, Role.REVIEWER)
    with uow:
        run = uow.session.get(ImportRun, run_id, populate_existing=True)
        if run is None:
            raise NotFound(f"import {run_id} does not exist")
        return run


def list_runs(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int):
    actor.require(Role.ADMIN, Role.REVIEWER)
    with uow:
        return page(uow.session, select(ImportRun).order_by(ImportRun.created_at.desc(), ImportRun.id),
                    offset=offset, limit=limit)


def _progress(uow_factory: UowFactory, run_id: uuid.UUID, **values: Any) -> None:
    with uow_factory() as uow:
        uow.session.execute(update(ImportRun).where(ImportRun.id == run_id).values(**values, updated_at=utcnow())
                            .execution_options(synchronize_session=False))
        uow.commit()


def run(uow_factory: UowFactory, run_id: uuid.UUID, *, tz: str, actor: Principal) -> dict[str, Any]:
    """The background task: check the stored file, apply the good rows batch by batch."""
    with uow_factory() as uow:
        stored = uow.session.get(ImportRun, run_id)
        if stored is None or stored.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
            return {"skipped": True}
        content, actor_id = stored.content, stored.created_by
        checked_or_error: Checked | ValidationFailed
        try:
            checked_or_error = check(uow.session, content, today=local_today(tz))
        except ValidationFailed as exc:
            checked_or_error = exc
    if isinstance(checked_or_error, ValidationFailed):
        _progress(uow_factory, run_id, status=ImportStatus.FAILED, finished_at=utcnow(),
                  errors=[{"line": 1, "field": checked_or_error.field, "reason": checked_or_error.reason}])
        return {"failed": True}
    checked = checked_or_error
    errors = list(checked.problems)
    _progress(uow_factory, run_id, status=ImportStatus.RUNNING, total=checked.total, started_at=utcnow(),
              failed=len(checked.problems), errors=errors)
    applied = processed = 0
    for first in range(0, len(checked.rows), BATCH):
        batch = checked.rows[first:first + BATCH]
        done, refused = _apply(uow_factory, batch, actor_id, run_id)
        applied += done
        processed += len(batch)
        errors.extend(refused[:max(0, MAX_ERRORS - len(errors))])
        _progress(uow_factory, run_id, processed=processed + len(checked.problems), applied=applied,
                  failed=len(checked.problems) + processed - done, errors=errors)
    with uow_factory() as uow:
        uow.session.execute(update(ImportRun).where(ImportRun.id == run_id).values(
            status=ImportStatus.SUCCEEDED, finished_at=utcnow(), updated_at=utcnow()))
        uow.commit()
    return {"rows": checked.total, "applied": applied}


def _apply(uow_factory: UowFactory, batch: list[Row], actor_id: uuid.UUID | None,
           run_id: uuid.UUID) -> tuple[int, list[dict]]:
    """Apply one batch in one transaction; returns (applied, refused rows). Every check of a row
    runs before any of its writes, so a refused row writes nothing; the batch is flushed once.
    Should the database still refuse the batch (another writer added the same serial or phone
    meanwhile), it is applied again row by row, each in its own savepoint. The warranty cards
    are sealed in the tamper-evident log, one entry per batch."""
    try:
        return _apply_batch(uow_factory, batch, actor_id, run_id, savepoints=False)
    except (IntegrityError, Conflict):
        return _apply_batch(uow_factory, batch, actor_id, run_id, savepoints=True)


def _apply_batch(uow_factory: UowFactory, batch: list[Row], actor_id: uuid.UUID | None, run_id: uuid.UUID, *,
                 savepoints: bool) -> tuple[int, list[dict]]:
    refused: list[dict[str, Any]] = []
    sealed: list[Any] = []
    applied = 0
    now = utcnow()
    with uow_factory() as uow:
        session = uow.session
        units = {u.serial: u for u in session.scalars(select(Unit).where(Unit.serial.in_([r.serial for r in batch])))}
        phones = [r.phone for r in batch if r.phone]
        customers = {c.phone: c for c in session.scalars(select(Customer).where(Customer.phone.in_(phones)))} \
            if phones else {}
        known = set(session.execute(select(JourneyEvent.unit_id, JourneyEvent.partner_id, JourneyEvent.on).where(
            JourneyEvent.unit_id.in_([u.id for u in units.values()]), JourneyEvent.kind == JourneyKind.TO_DEALER))
            .all()) if units else set()
        for row in batch:
            try:
                if savepoints:
                    with session.begin_nested():
                        card = _apply_row(session, row, units, customers, known, actor_id, now)
                        session.flush()
                else:
                    card = _apply_row(session, row, units, customers, known, actor_id, now)
            except ValidationFailed as exc:
                refused.append({"line": row.line, "field": exc.field, "reason": exc.reason})
                continue
            applied += 1
            if card is not None:
                sealed.extend((card, units[row.serial]))
        session.flush()
        if sealed:
            audit_log.append(session, kind="unit.import", subject_id=run_id, actor_id=actor_id, seal=sealed,
                             payload={"run_id": run_id, "first_line": batch[0].line, "last_line": batch[-1].line,
                                      "activations": len(sealed) // 2})
        uow.commit()
    return applied, refused


def _apply_row(session, row: Row, units: dict[str, Unit], customers: dict[str, Customer], known: set,
               actor_id: uuid.UUID | None, now) -> Activation | None:
    """Check the row against what is stored, then write it (no flush): the card it made, if any."""
    unit = units.get(row.serial)
    owner = customers.get(row.phone) if row.phone else None
    if unit is not None:
        if row.phone and unit.customer_id is not None and (owner is None or unit.customer_id != owner.id):
            raise ValidationFailed("customer_phone", f"{row.serial} is bound to another customer; HQ re-binds it "
                                                     "by hand")
        if unit.purchased_on is not None and row.manufactured_on > unit.purchased_on:
            raise ValidationFailed("manufactured_on", f"the unit was bought on {unit.purchased_on}")
    if unit is None:
        unit = Unit(id=uuid.uuid4(), serial=row.serial, product_id=row.product_id, manufactured_on=row.manufactured_on)
        session.add(unit)
        units[row.serial] = unit
    elif unit.product_id != row.product_id or unit.manufactured_on != row.manufactured_on:
        unit.product_id, unit.manufactured_on = row.product_id, row.manufactured_on
    card = None
    if row.phone:
        if owner is None:
            owner = Customer(id=uuid.uuid4(), name=row.name, phone=row.phone, address=row.address)
            session.add(owner)
            customers[row.phone] = owner
        if unit.customer_id is None:
            card = Activation(id=uuid.uuid4(), unit_id=unit.id, customer_id=owner.id, purchased_on=row.purchased_on,
                              sales_channel=row.sales_channel, activated_at=now, actor_id=actor_id, reason="import")
            session.add(card)
            unit.customer_id, unit.purchased_on, unit.sales_channel, unit.activated_at = \
                owner.id, row.purchased_on, row.sales_channel, now
    if row.dealer_id is not None:
        step = (unit.id, row.dealer_id, row.purchased_on or row.manufactured_on)
        if step not in known:
            session.add(JourneyEvent(unit_id=unit.id, kind=JourneyKind.TO_DEALER, partner_id=row.dealer_id, on=step[2],
                                     reference="import", actor_id=actor_id, at=now))
            known.add(step)
    return card


# --- export -------------------------------------------------------------------------------------


def export_units(uow: UnitOfWork, actor: Principal) -> Iterator[list[str]]:
    """The installed base in the import's shape: the header, then one row per unit, read in
    chunks (the HTTP layer writes them as CSV)."""
    actor.require(Role.ADMIN, Role.REVIEWER)
    yield list(UNIT_COLUMNS)
    with uow:
        dealers = dict(uow.session.execute(select(JourneyEvent.unit_id, TradePartner.code).join(
            TradePartner, TradePartner.id == JourneyEvent.partner_id).where(
            JourneyEvent.kind == JourneyKind.TO_DEALER)).all())
        query = (select(Unit.serial, Product.sku, Unit.manufactured_on, Customer.phone, Customer.name, Customer.address,
                        Unit.purchased_on, Unit.sales_channel, Unit.id)
                 .join(Product, Product.id == Unit.product_id).outerjoin(Customer, Customer.id == Unit.customer_id)
                 .order_by(Unit.serial).execution_options(yield_per=2000))
        for serial, sku, made, phone, name, address, bought, channel, unit_id in uow.session.execute(query):
            yield [serial, sku, made.isoformat(), phone or "", name or "", address or "",
                   bought.isoformat() if bought else "", channel or "", dealers.get(unit_id, "")]
