"""What a bulk-import shape is (a small declarative spec), the cell parsers every shape shares,
and the applier of the shapes whose rows go through the domain's own services.

A shape names its columns, the required ones, the natural key, who may import and export it, the
reference data its rows are checked against (read once per file), a row parser (text cells ->
a typed row, or ValidationFailed naming the column) and either a per-row applier that calls the
services the API calls, or a batch applier of its own (units: 100,000 rows want set-based reads).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from dispatch.auth.enums import Role
from dispatch.auth.principal import Principal
from dispatch.errors import Conflict, DispatchError, ValidationFailed
from dispatch.integrations.enums import ImportKind
from dispatch.uow import SavepointUnitOfWork, UowFactory

Problem = dict[str, Any]  # {"line": 7, "field": "product_sku", "reason": "no product 'X'"}


@dataclass
class Parsed:
    """One good row: its line in the file, its natural key, and what the shape parsed."""

    line: int
    key: str
    data: Any


@dataclass
class Applying:
    """What appliers get besides the rows: who acts (the run's creator), when, and settings."""

    actor: Principal
    actor_id: uuid.UUID | None
    run_id: uuid.UUID
    now: datetime
    hash_method: str
    deferred: list[Callable[[], None]] = field(default_factory=list)

    def uow(self, session: Session) -> SavepointUnitOfWork:
        """A unit of work for one service call inside the row's savepoint."""
        return SavepointUnitOfWork(session, self.deferred)


BatchApplier = Callable[[UowFactory, list[Parsed], Applying], tuple[int, list[Problem]]]


@dataclass(frozen=True)
class Shape:
    kind: ImportKind
    columns: tuple[str, ...]
    required: tuple[str, ...]
    key: str  # the natural key column: a row with a key already in the file is refused
    importers: frozenset[Role]
    exporters: frozenset[Role]
    context: Callable[[Session, Principal, date], Any]  # reference data, read once per file
    parse: Callable[[Any, dict[str, str]], Any]  # cells -> row; ValidationFailed names the column
    key_of: Callable[[Any], str]
    export: Callable[[Session, Principal], Iterator[list[Any]]]  # rows in the import's columns
    apply_row: Callable[[Session, Applying, Any], None] | None = None  # through the services
    apply_batch: BatchApplier | None = None  # a shape's own set-based applier
    fields: dict[str, str] = field(default_factory=dict)  # a service's field name -> the column
    point_scoped: bool = False  # a manager imports and exports their own point's rows only

    def batch_applier(self) -> BatchApplier:
        if self.apply_batch is not None:
            return self.apply_batch
        return lambda uow_factory, batch, applying: through_services(self, uow_factory, batch, applying)


def problem(line: int, exc: DispatchError, shape: Shape) -> Problem:
    if isinstance(exc, ValidationFailed):
        name = exc.field.split(".")[0]
        return {"line": line, "field": shape.fields.get(name, name if name in shape.columns else exc.field),
                "reason": exc.reason}
    return {"line": line, "field": shape.key, "reason": exc.detail}


# --- the applier through the services ----------------------------------------------------


def through_services(shape: Shape, uow_factory: UowFactory, batch: list[Parsed],
                     applying: Applying) -> tuple[int, list[Problem]]:
    """Apply a batch in one transaction, each row in a savepoint around the service calls it
    makes (so a row refused half-way writes nothing). Should the database refuse the batch at
    commit (another writer took a key meanwhile), each row is applied in its own transaction."""
    try:
        return _through_services(shape, uow_factory, batch, applying, one_transaction=True)
    except Conflict:
        applying.deferred.clear()
        return _through_services(shape, uow_factory, batch, applying, one_transaction=False)


def _through_services(shape: Shape, uow_factory: UowFactory, batch: list[Parsed], applying: Applying, *,
                      one_transaction: bool) -> tuple[int, list[Problem]]:
    assert shape.apply_row is not None
    refused: list[Problem] = []
    applied = 0
    groups = [batch] if one_transaction else [[row] for row in batch]
    for group in groups:
        with uow_factory() as uow:
            done = 0
            for row in group:
                try:
                    with uow.session.begin_nested():
                        shape.apply_row(uow.session, applying, row.data)
                except DispatchError as exc:
                    refused.append(problem(row.line, exc, shape))
                    continue
                done += 1
            try:
                uow.commit()
            except Conflict as exc:
                if one_transaction:
                    raise
                refused.append(problem(group[0].line, exc, shape))
                continue
            applied += done
    callbacks, applying.deferred[:] = list(applying.deferred), []
    for callback in callbacks:
        callback()
    return applied, refused


def same(stored: Any, value: Any) -> bool:
    """Whether a stored field already holds a file's value (coordinates within 1e-9 degrees:
    a spreadsheet keeps 15 significant digits, not the float's 17)."""
    if isinstance(stored, float) and isinstance(value, float):
        return math.isclose(stored, value, rel_tol=0, abs_tol=1e-9)
    return stored == value


def changes(stored: Any, values: dict[str, Any], *, pairs: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The file's values that differ from ``stored`` (a pair such as lat/lon goes together)."""
    found = {name: value for name, value in values.items() if not same(getattr(stored, name), value)}
    for first, second in pairs:
        if first in found or second in found:
            found[first], found[second] = values[first], values[second]
    return found


# --- cells --------------------------------------------------------------------------------


def text(v: dict[str, str], name: str, *, max_length: int, default: str = "") -> str:
    value = v.get(name, "") or default
    if len(value) > max_length:
        raise ValidationFailed(name, f"at most {max_length} characters")
    return value


def _cell(v: dict[str, str], name: str, convert: Callable[[str], Any], reason: str) -> Any:
    """``convert`` of the cell, None for an empty one, a ValidationFailed naming the column."""
    if not v.get(name):
        return None
    try:
        return convert(v[name])
    except (ValueError, InvalidOperation):
        raise ValidationFailed(name, reason) from None


def a_date(v: dict[str, str], name: str) -> date | None:
    return _cell(v, name, date.fromisoformat, "not a date (YYYY-MM-DD)")


def a_time(v: dict[str, str], name: str) -> time | None:
    return _cell(v, name, time.fromisoformat, "not a time (HH:MM)")


def a_bool(v: dict[str, str], name: str, default: bool | None = None) -> bool | None:
    value = v.get(name, "").lower()
    if not value:
        return default
    if value in ("true", "yes", "1", "y"):
        return True
    if value in ("false", "no", "0", "n"):
        return False
    raise ValidationFailed(name, "true or false")


def a_number(v: dict[str, str], name: str, *, low: float, high: float, whole: bool = False) -> Any:
    """A number between ``low`` and ``high`` (``whole``: an int), or None for an empty cell."""
    number = _cell(v, name, int if whole else float, "not a whole number" if whole else "not a number")
    if number is not None and not low <= number <= high:
        raise ValidationFailed(name, f"between {low:g} and {high:g}")
    return number


def money(v: dict[str, str], name: str) -> Decimal | None:
    amount = _cell(v, name, Decimal, "not an amount (e.g. 128.00)")
    if amount is None:
        return None
    if not amount.is_finite() or not 0 <= amount <= 10**8 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(name, "an amount of at least 0 with at most two decimals")
    return amount.quantize(Decimal("0.01"))


def one_of(v: dict[str, str], name: str, choices: type, default: Any = None) -> Any:
    if not v.get(name):
        return default
    try:
        return choices(v[name].lower())
    except ValueError:
        raise ValidationFailed(name, f"one of {', '.join(c.value for c in choices)}") from None


def items(v: dict[str, str], name: str) -> list[str]:
    """A list in one cell: values separated by ``;`` (or new lines)."""
    return [part.strip() for part in v.get(name, "").replace("\n", ";").split(";") if part.strip()]


def point_of(points: dict[str, Any], actor: Principal, code: str, name: str = "service_point_code") -> Any:
    """A service point named by its code, as the caller may name it: HQ any, a manager their own
    (another point's code reads as unknown, like a missing one)."""
    point = points.get(code.upper())
    if point is None or (not actor.is_hq and point.id != actor.service_point_id):
        raise ValidationFailed(name, f"no service point {code!r}")
    return point
