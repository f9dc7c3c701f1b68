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
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType, TypeDecorator


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


_AS_WRITTEN = (str, int, bool, uuid.UUID, Enum, date, datetime, Decimal)


def _as_stored(column: Any, value: Any) -> bool:
    """Whether the database returns ``value`` of ``column`` as the same value (so it hashes the
    same): a value of exactly the column's Python type (an int for an integer column, not a bool
    or a Decimal; an enum member for an enum column), aware datetimes, and decimals with no more
    places than the column keeps. Anything else (floats, JSON, an int in a numeric column) is
    read back instead."""
    if value is None:
        return True
    try:
        type_ = column.type
        if isinstance(type_, NullType) and column.foreign_keys:  # a foreign key typed by the column it names
            type_ = next(iter(column.foreign_keys)).column.type
        if isinstance(type_, TypeDecorator):
            type_ = type_.impl_instance
        expected = type_.python_type
    except (NotImplementedError, SQLAlchemyError):
        return False
    if not issubclass(expected, _AS_WRITTEN) or not isinstance(value, expected) or (
            expected is int and isinstance(value, bool)):
        return False
    if isinstance(value, datetime):
        return value.tzinfo is not None
    if isinstance(value, Decimal):
        scale = getattr(column.type, "scale", None)
        return scale is not None and value.is_finite() and value.as_tuple().exponent >= -scale
    return True


def content_as_written(spec: SealSpec, row: Any) -> Content | None:
    """The content of a row this transaction just inserted, from the object itself (no read
    back), when that is provably what the database holds: every hashed column loaded on the
    object (nothing expired, no server default to fetch), each value one that round-trips
    unchanged (:func:`_as_stored`), and no extras read from other tables. None otherwise: read
    it back with :func:`read_contents`."""
    if spec.extras is not None or spec.extra_names:
        return None
    loaded = row.__dict__
    columns = spec.model.__mapper__.columns
    values = {}
    for name in spec.columns:
        if name not in loaded or not _as_stored(columns[name], loaded[name]):
            return None
        values[name] = loaded[name]
    return content_of(values)


# --- the covered tables -------------------------------------------------------------------------
# The domains own their specs (``<domain>/seals.py``); the composition root (dispatch.wiring)
# installs the list in every process, so this package never imports the tables it vouches for.

_covered: dict[str, SealSpec] | None = None


def install(specs: Sequence[SealSpec]) -> None:
    """Install the covered tables (installing again replaces them)."""
    global _covered
    by_table = {spec.table: spec for spec in specs}
    if len(by_table) != len(specs):
        raise ValueError("a table is sealed by two specs")
    _covered = by_table


def installed() -> bool:
    return _covered is not None


def covered() -> dict[str, SealSpec]:
    """Every covered table by name."""
    if _covered is None:
        raise RuntimeError("the sealed tables are not installed: the process must call "
                           "dispatch.wiring.install() (the app, the workers and the seeds do)")
    return _covered
