"""Database plumbing shared by every domain: declarative base, column types, engines, sessions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData, Numeric, Select, event, func, select, union_all
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from dispatch.clock import utcnow


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use dispatch.clock.utcnow() or an aware value")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


JsonDoc = JSON().with_variant(JSONB(), "postgresql")
Money = Numeric(12, 2)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UtcDateTime,
        dict[str, Any]: JsonDoc,
        list[Any]: JsonDoc,
        Decimal: Money,
    }

    def __repr__(self) -> str:
        ident = getattr(self, "id", None)
        return f"<{type(self).__name__} {ident}>"


class UuidPk:
    """UUID primary key (clients may generate ids offline; ids are not enumerable)."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def str_enum(enum_cls: type[StrEnum]) -> Enum:
    """Store a StrEnum by *value* as VARCHAR: portable, readable, and safe to reorder."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kw: Any) -> Engine:
    """Build an engine; SQLite gets foreign keys, WAL and the pysqlite BEGIN hooks.

    Without the hooks, pysqlite's own transaction handling breaks SAVEPOINT-based test
    isolation and ``SELECT ... FOR UPDATE``-free serialisation (STYLE.md F7).
    """
    if is_sqlite(url):
        parsed = make_url(url)
        in_memory = parsed.database in (None, "", ":memory:")
        if in_memory:
            kw.setdefault("poolclass", StaticPool)
        kw.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kw)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised everywhere
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection):  # pragma: no cover - exercised everywhere
            # IMMEDIATE: take the write lock up front (waiting up to busy_timeout). A deferred
            # transaction that read first and writes later fails at once with "database is
            # locked" (WAL snapshot conflict) whenever another writer committed in between.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    return create_engine(url, **kw)


def delete_in_batches(uow_factory: Callable[[], Any], ids: Select[Any], delete_rows: Callable[[Session, list], None],
                      *, batch: int, ends: float) -> tuple[int, bool]:
    """Delete what ``ids`` (a select of primary keys) finds, ``batch`` rows per transaction, until
    nothing is left or ``time.monotonic()`` passes ``ends``: ``delete_rows(session, ids)`` deletes
    one batch (and what hangs on it). Returns (rows deleted, whether nothing is left). Retention
    tasks run through here: short transactions, a hard deadline, and a rerun finds nothing."""
    deleted = 0
    while time.monotonic() < ends:
        with uow_factory() as uow:
            chunk = list(uow.session.scalars(ids.limit(batch)))
            if chunk:
                delete_rows(uow.session, chunk)
                uow.commit()
        deleted += len(chunk)
        if len(chunk) < batch:
            return deleted, True
    return deleted, False


def listen_on_sessions(listeners: tuple[tuple[str, Any], ...]) -> None:
    """Attach each ``(event name, listener)`` to every Session, in order (idempotent): how the
    composition root (dispatch.wiring) installs a domain's session listeners."""
    for name, listener in listeners:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def listening_on_sessions(listeners: tuple[tuple[str, Any], ...]) -> bool:
    """Whether every one of ``listeners`` is attached in this process."""
    return all(event.contains(Session, name, listener) for name, listener in listeners)


def make_session_factory(bind: Any) -> sessionmaker[Session]:
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=True)


def page(session: Session, query: Select[Any], *, offset: int, limit: int) -> tuple[list[Any], int]:
    """One page of ``query``'s entities (``offset``/``limit``, in the query's order) and the total
    number of rows it matches: every paginated list in the services reads through here. Rows are
    entities, made unique (a joined eager load of a collection repeats them)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return list(session.scalars(query.offset(offset).limit(limit)).unique()), total


def held_values(session: Session, model: type, ids: Any, attribute: str) -> tuple[dict[Any, Any], set[Any]]:
    """``attribute`` of the rows ``ids`` that ``session`` already holds loaded (no SQL), and the
    ids it does not hold: a write that just resolved its rows need not read them again."""
    found: dict[Any, Any] = {}
    for id_ in ids:
        obj = session.identity_map.get(Session.identity_key(model, id_))
        state = obj.__dict__ if obj is not None else {}
        if attribute in state:
            found[id_] = state[attribute]
    return found, set(ids) - set(found)


def rows_of_binds(make_insert: Callable[[Any], Any], table: Any, rows: list[dict[str, Any]]) -> Any:
    """``make_insert(table)`` (an ``insert`` construct) of ``rows`` given as bind parameters
    (``{column: bindparam}`` each), in a form SQLAlchemy caches: one row as VALUES, several as
    INSERT ... SELECT of a UNION ALL (a multi-row VALUES statement is compiled on every call)."""
    if len(rows) == 1:
        return make_insert(table).values(rows[0])
    columns = list(rows[0])
    return make_insert(table).from_select(columns, union_all(*(select(*(row[c] for c in columns)) for row in rows)))


def transaction_memo(session: Session, name: str) -> dict[Any, Any]:
    """A dict that lives exactly as long as ``session``'s current (outermost) transaction: what a
    service may remember while the transaction's locks and snapshot hold (a chain it locked, a
    read of the network). The next transaction gets a new, empty one. No session listener is
    needed: the memo is keyed by the transaction object itself."""
    transaction = session.get_transaction() or session.begin()
    held = session.info.get(name)
    if held is None or held[0] is not transaction:
        held = session.info[name] = (transaction, {})
    return held[1]
