"""Append to the chain inside the caller's transaction, seal the rows it vouches for, bind the
chains with roots. Verifying all of it and exporting daily roots: :mod:`dispatch.audit_log.verification`.

**The chain.** Each entry's hash is ``SHA-256(prev_hash ‖ canonical JSON of {seq, kind, subject,
actor, at, payload[, seals]})``, so editing, deleting, inserting or reordering an entry breaks
the chain from that entry on. Someone with write access to the database can still rebuild every
hash after an edit: that is caught from outside by comparing a daily root exported earlier
(:func:`~dispatch.audit_log.verification.daily_root`) with the rebuilt chain's. The migration also installs append-only triggers
on ``audit_log``.

**Row seals (tamper evidence beyond the log).** The rows HQ relies on (checklist step results
with their evidence hashes, audit verdicts and the audit's copy of its verdict, bill price
overrides and parts fitted, part list prices and labour rates, stock movements, warranty claims,
warranty cards and the unit's current card: see
:mod:`dispatch.audit_log.seals`) are *sealed* when they are written: the entry that records the
write (``append(..., seal=[rows], deleted=[rows])``) also records, per row, a content hash of
the row as the database holds it after the write, a short digest per column, and the row's seal
number (``row_version`` 1, 2, 3... per row). The seals live in ``audit_log_seals`` and are part
of their entry's hash, so editing, removing or adding a seal breaks the chain like editing the
entry does. Rows the writer has just inserted under ids it generated (``append(fresh=...)``, the
stock ledger's rows) are version 1 and hashed from the objects, not read back, when their values
provably come back from the database unchanged (:func:`~dispatch.audit_log.seals.content_as_written`).

Verification (:mod:`dispatch.audit_log.verification`) recomputes every entry and every covered
row's hash, and names what differs.

**Partitions (issue 18).** There is no single head: every entry belongs to one *chain*, ``hq`` or
a service point's id, and links to the previous entry of that chain (``chain_seq`` 1, 2, 3...).
Each chain has its own head row (``audit_log_chains``), so writers at different points never
wait for each other. ``seq`` stays every entry's global id (a database sequence on PostgreSQL:
unique and increasing within a chain, with gaps across chains and after rollbacks); seals name
their entry by it. A transaction appends to one chain only: the first append picks it (the
service point of the actor, ``hq`` for HQ staff and tasks, or the caller's ``chain``) and every
later append of that transaction goes to the same chain, so no transaction ever holds two chain
heads. :func:`bind_roots` appends to ``hq`` a *root* entry recording every other chain's head
(position and hash), like a Certificate Transparency signed tree head: verification walks each
chain on its own, and checks that every root still matches the chains it binds, so a point's
chain rebuilt or cut after a root is caught, and the verification proves the whole log. A seal
is trusted when its entry lies within the heads the verification started from.

**Lock order.** A writing transaction takes (1) the business rows of its use case, in the order
that use case documents; (2) its one audit-chain head, from its first append to its commit;
(3) the sync feed counters of the users it touched, in user-id order, just before commit (see
:mod:`dispatch.sync.feed`). :func:`bind_roots` reads other chains' heads without locking them (a
committed head is a valid position) and locks only ``hq``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import object_session

from dispatch.audit_log.models import LogChain, LogEntry, RowSeal
from dispatch.audit_log.seals import (
    SealSpec,
    content_as_written,
    covered,
    read_contents,
)
from dispatch.auth.models import User
from dispatch.clock import utcnow
from dispatch.db import rows_of_binds, transaction_memo
from dispatch.uow import UnitOfWork

GENESIS = "0" * 64
HQ_CHAIN = "hq"
ROOT_KIND = "audit_log.root"
_TX_MEMO = "audit_log"  # transaction_memo: the one chain this transaction appends to, the seq next_seq() promised
_TX_CHAIN, _RESERVED = "chain", "reserved_seq"


def _memo(session) -> dict[str, Any]:
    """What this transaction holds of the log; gone with the transaction (and its chain lock)."""
    return transaction_memo(session, _TX_MEMO)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _seal_list(seals: Iterable[Any]) -> list[list[Any]]:
    rows = [[s.table_name, s.row_id, s.row_version, s.row_hash, s.fields] for s in seals]
    return sorted(rows, key=lambda r: (r[0], r[1], r[2]))


_SEAL_COLUMNS = (RowSeal.table_name, RowSeal.row_id, RowSeal.row_version, RowSeal.row_hash, RowSeal.fields,
                 RowSeal.log_seq, LogEntry.chain)


def stored_seals(session, *conditions) -> list[Any]:
    """Seals as the database holds them (plain rows, never objects cached in the session), each
    with its entry's chain (None: the entry does not exist)."""
    return list(session.execute(select(*_SEAL_COLUMNS).outerjoin(LogEntry, LogEntry.seq == RowSeal.log_seq)
                                .where(*conditions)).all())


def entry_hash(prev_hash: str, seq: int, kind: str, subject_id: str, actor_id: str | None,
               at: datetime, payload: dict[str, Any], seals: Iterable[Any] = (), *, chain: str = HQ_CHAIN,
               chain_seq: int | None = None) -> str:
    """The hash of one entry (with the seals it records). ``at`` is hashed in UTC, whatever zone
    the driver returns it in. The chain and position are hashed unless they are those of an
    entry written before the log was partitioned (``hq`` at its own seq)."""
    body = {"seq": seq, "kind": kind, "subject": subject_id, "actor": actor_id,
            "at": at.astimezone(UTC).isoformat(), "payload": payload}
    if chain != HQ_CHAIN or chain_seq not in (None, seq):
        body["chain"], body["chain_seq"] = chain, chain_seq
    sealed = _seal_list(seals)
    if sealed:
        body["seals"] = sealed
    return hashlib.sha256((prev_hash + canonical_json(body)).encode()).hexdigest()


def _spec_and_id(row: Any) -> tuple[SealSpec, Any]:
    spec = covered().get(getattr(row, "__tablename__", ""))
    if spec is None:
        raise ValueError(f"{type(row).__name__} rows are not sealed (see dispatch.audit_log.seals)")
    return spec, getattr(row, spec.pk.key)


def _seals(session, seq: int, sealed: Sequence[tuple[SealSpec, Any]],
           deleted: Sequence[tuple[SealSpec, Any]], fresh: Sequence[tuple[SealSpec, Any, Any]] = ()) -> list[_NewSeal]:
    """The seals of the rows (read back as the database now holds them), numbered per row.
    ``fresh``: (spec, id, object) of rows this transaction inserted under a new id: no seal can
    name them yet (version 1) and, where :func:`content_as_written` can tell, their content is
    hashed from the object without reading it back."""
    wanted: dict[str, tuple[SealSpec, dict[str, Any], set[str]]] = {}
    for (spec, pk), gone in [(item, False) for item in sealed] + [(item, True) for item in deleted]:
        _, ids, gone_ids = wanted.setdefault(spec.table, (spec, {}, set()))
        ids[spec.row_id(pk)] = pk
        if gone:
            gone_ids.add(spec.row_id(pk))
    new: dict[str, dict[str, Any]] = {}
    for spec, pk, row in fresh:
        content = content_as_written(spec, row)
        if content is None:  # not provably as stored: read back like any other row, still version 1
            wanted.setdefault(spec.table, (spec, {}, set()))
        new.setdefault(spec.table, {})[spec.row_id(pk)] = content
    out = []
    for table, (spec, ids, gone_ids) in wanted.items():
        unread = [rid for rid, content in new.get(table, {}).items() if content is None]
        versions = dict(session.execute(
            select(RowSeal.row_id, func.max(RowSeal.row_version))
            .where(RowSeal.table_name == table, RowSeal.row_id.in_(list(ids))).group_by(RowSeal.row_id)).all()
        ) if ids else {}
        fresh_pks = {spec.row_id(pk): pk for s, pk, _ in fresh if s.table == table and spec.row_id(pk) in unread}
        present = [pk for rid, pk in ids.items() if rid not in gone_ids] + list(fresh_pks.values())
        contents = read_contents(session, spec, present) if present else {}
        by_id = {spec.row_id(pk): content for pk, content in contents.items()}
        for row_id in unread:
            new[table][row_id] = by_id.get(row_id)
        for row_id in sorted(ids):
            content = None if row_id in gone_ids else by_id.get(row_id)
            if content is None and row_id not in gone_ids:
                raise ValueError(f"{table} {row_id} is sealed but not in the database (flush it first)")
            out.append(_seal(table, row_id, (versions.get(row_id) or 0) + 1, seq, content))
    for table, contents in new.items():
        for row_id, content in contents.items():
            if content is None:
                raise ValueError(f"{table} {row_id} is sealed but not in the database (flush it first)")
            out.append(_seal(table, row_id, 1, seq, content))
    return out


class _NewSeal(NamedTuple):
    table_name: str
    row_id: str
    row_version: int
    log_seq: int
    row_hash: str | None
    fields: dict[str, str] | None


def _seal(table: str, row_id: str, version: int, seq: int, content: Any) -> _NewSeal:
    return _NewSeal(table, row_id, version, seq, content.row_hash if content else None,
                    content.fields if content else None)


def _chain_for(session, actor_id: uuid.UUID | None, chain: str | None) -> str:
    """The chain this transaction appends to: fixed by its first append (see the module doc)."""
    memo = _memo(session)
    fixed = memo.get(_TX_CHAIN)
    if fixed is None:
        if chain is None:
            point = session.scalar(select(User.service_point_id).where(User.id == actor_id)) if actor_id else None
            chain = str(point) if point else HQ_CHAIN
        fixed = memo[_TX_CHAIN] = chain
    return fixed


_HEADS = LogChain.__table__
_LOCK_HEAD = (select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.chain == bindparam("chain"))
              .with_for_update())
# PostgreSQL: the head and the entry's global seq in one round trip (gaps are allowed, see above).
_LOCK_HEAD_AND_SEQ = (select(_HEADS.c.seq, _HEADS.c.hash, func.nextval("audit_log_global_seq"))
                      .where(_HEADS.c.chain == bindparam("chain")).with_for_update())
_MOVE_HEAD = (update(_HEADS).where(_HEADS.c.chain == bindparam("b_chain"))
              .values(seq=bindparam("b_position"), hash=bindparam("b_hash"), entry_seq=bindparam("b_seq")))
_ENTRY_COLUMNS = ("seq", "chain", "chain_seq", "kind", "subject_id", "actor_id", "at", "payload", "prev_hash", "hash")
_SEAL_COLUMNS_WRITTEN = _NewSeal._fields


_MAX_SEALS_INLINE = 8  # more seals (a baseline batch, a bulk write) go as one executemany


def _binds(table, columns: Sequence[str], prefix: str) -> dict[str, Any]:
    return {c: bindparam(f"{prefix}{c}", type_=table.c[c].type) for c in columns}


@cache
def _write(postgresql: bool, seals: int) -> tuple[Any, ...]:
    """The statements that write an entry with ``seals`` seals (at most _MAX_SEALS_INLINE) and
    move the chain's head: on PostgreSQL one statement (the INSERTs as CTEs of the head's
    UPDATE), else three. Built once per shape; parameters ``e_<column>``, ``s<n>_<column>``,
    ``b_*``."""
    entry = insert(LogEntry.__table__).values(_binds(LogEntry.__table__, _ENTRY_COLUMNS, "e_"))
    rows = rows_of_binds(insert, RowSeal.__table__, [_binds(RowSeal.__table__, _SEAL_COLUMNS_WRITTEN, f"s{n}_")
                                                     for n in range(seals)]) if seals else None
    if not postgresql:
        return tuple(statement for statement in (entry, rows, _MOVE_HEAD) if statement is not None)
    move = _MOVE_HEAD.add_cte(entry.cte("new_entry"))
    return (move.add_cte(rows.cte("new_seals")) if rows is not None else move,)


def _locked_head(session, chain: str, *, take_seq: bool) -> tuple[int, str, int | None]:
    """Lock the chain's head row to the commit (created at the first entry of a new chain) and
    read its position and hash; with ``take_seq`` on PostgreSQL also a new global seq (else None).
    Pending ORM changes are flushed first: the business rows come before the head (lock order)."""
    session.flush()
    connection = session.connection()
    statement = _LOCK_HEAD_AND_SEQ if take_seq and connection.dialect.name == "postgresql" else _LOCK_HEAD
    head = connection.execute(statement, {"chain": chain}).first()
    if head is None:
        make_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(make_insert(LogChain).values(chain=chain, seq=0, hash=GENESIS, entry_seq=0)
                           .on_conflict_do_nothing(index_elements=["chain"]))
        head = connection.execute(statement, {"chain": chain}).first()
    return head[0], head[1], head[2] if len(head) > 2 else None


def _global_seq(session, taken: int | None) -> int:
    reserved = _memo(session).pop(_RESERVED, None)
    if reserved is not None:
        return reserved
    if taken is not None:
        return taken
    if session.connection().dialect.name == "postgresql":
        return session.connection().execute(select(func.nextval("audit_log_global_seq"))).scalar_one()
    return (session.scalar(select(func.max(LogEntry.seq))) or 0) + 1  # SQLite: one writer at a time


def lock_chain(session, chain: str = HQ_CHAIN) -> str:
    """Take this transaction's chain head now (``chain`` unless an append already fixed one);
    returns the chain. Serialises transactions on that chain up to their commit."""
    chain = _chain_for(session, None, chain)
    _locked_head(session, chain, take_seq=False)
    return chain


def next_seq(session, actor_id: uuid.UUID | None = None) -> int:
    """The global seq the caller's next :func:`append` gets (for rows that name their own entry):
    the chain head is locked from here to the commit and the number is reserved for it."""
    memo = _memo(session)
    _, _, taken = _locked_head(session, _chain_for(session, actor_id, None), take_seq=_RESERVED not in memo)
    if _RESERVED not in memo:
        memo[_RESERVED] = taken if taken is not None else _global_seq(session, None)
    return memo[_RESERVED]


def _append(session, *, kind: str, subject_id: Any, payload: dict[str, Any], actor_id: uuid.UUID | None,
            sealed: Sequence[tuple[SealSpec, Any]] = (), deleted: Sequence[tuple[SealSpec, Any]] = (),
            chain: str | None = None, fresh: Sequence[tuple[SealSpec, Any, Any]] = ()) -> LogEntry:
    """Write one entry with Core statements (no ORM unit of work, nothing read back that the
    caller's objects already say: see :func:`_seals`)."""
    chain = _chain_for(session, actor_id, chain)
    position, prev_hash, taken = _locked_head(session, chain, take_seq=_RESERVED not in _memo(session))
    seq, position = _global_seq(session, taken), position + 1
    at = utcnow()
    payload = json.loads(canonical_json(payload))  # what is hashed is exactly what is stored
    seals = _seals(session, seq, sealed, deleted, fresh)
    actor = str(actor_id) if actor_id else None
    digest = entry_hash(prev_hash, seq, kind, str(subject_id), actor, at, payload, seals, chain=chain,
                        chain_seq=position)
    entry = LogEntry(seq=seq, chain=chain, chain_seq=position, kind=kind, subject_id=str(subject_id),
                     actor_id=actor_id, at=at, payload=payload, prev_hash=prev_hash, hash=digest)
    params = {f"e_{column}": getattr(entry, column) for column in _ENTRY_COLUMNS}
    params.update(b_chain=chain, b_position=position, b_hash=digest, b_seq=seq)
    connection = session.connection()
    inline = seals if len(seals) <= _MAX_SEALS_INLINE else []
    for n, seal in enumerate(inline):
        params.update((f"s{n}_{column}", value) for column, value in zip(_SEAL_COLUMNS_WRITTEN, seal, strict=True))
    for statement in _write(connection.dialect.name == "postgresql", len(inline)):
        connection.execute(statement, params)
    if seals and not inline:  # after the entry they name
        connection.execute(insert(RowSeal.__table__), [seal._asdict() for seal in seals])
    return entry  # not in the session: the entry is written, and the log is append-only


def append(session, *, kind: str, subject_id: Any, payload: dict[str, Any],
           actor_id: uuid.UUID | None = None, seal: Sequence[Any] = (), deleted: Sequence[Any] = (),
           chain: str | None = None, fresh: Sequence[Any] = ()) -> LogEntry:
    """Add one entry to the log, in the caller's transaction (never commits).

    ``seal``: the covered rows this write created or changed (ORM objects; flushed here and read
    back); ``deleted``: covered rows it deleted (or is about to delete in this transaction);
    ``fresh``: covered rows this transaction just inserted under ids it generated itself (sealed
    as version 1, hashed from the objects where that is provably what is stored: no read back).
    ``chain``: the chain to use when this is the transaction's first append (default: the
    actor's service point, else ``hq``).
    """
    if seal or fresh:
        session.flush()  # ids and defaults assigned, the rows as the database will hold them
    new = []
    for row in fresh:
        spec, pk = _spec_and_id(row)
        if object_session(row) is not session or row not in session or pk is None:
            raise ValueError(f"{spec.table} {pk}: a fresh row must be flushed in this session")
        new.append((spec, pk, row))
    return _append(session, kind=kind, subject_id=subject_id, payload=payload, actor_id=actor_id,
                   sealed=[_spec_and_id(row) for row in seal], deleted=[_spec_and_id(row) for row in deleted],
                   chain=chain, fresh=new)


def bind_roots(session, *, actor_id: uuid.UUID | None = None) -> LogEntry | None:
    """Append to ``hq`` a root entry binding every other chain's committed head (in the caller's
    transaction). None when no chain moved since the last root."""
    lock_chain(session, HQ_CHAIN)
    heads = {chain: [position, digest] for chain, position, digest in session.execute(
        select(LogChain.chain, LogChain.seq, LogChain.hash).where(LogChain.chain != HQ_CHAIN, LogChain.seq > 0)
        .order_by(LogChain.chain))}
    last = session.scalar(select(LogEntry.payload).where(LogEntry.chain == HQ_CHAIN, LogEntry.kind == ROOT_KIND)
                          .order_by(LogEntry.chain_seq.desc()).limit(1))
    if not heads or (last or {}).get("chains") == heads:
        return None
    return _append(session, kind=ROOT_KIND, subject_id=HQ_CHAIN, payload={"chains": heads}, actor_id=actor_id,
                   chain=HQ_CHAIN)


def seal_unsealed(session, *, batch: int = 500, actor_id: uuid.UUID | None = None) -> int:
    """Seal every covered row that must carry a seal and has none, ``batch`` rows per entry
    (kind ``audit_log.baseline``), in the caller's transaction. For data written before the rows
    were sealed (an upgraded database, the demo data): run it once, right after the upgrade.
    Returns how many rows it sealed."""
    total = 0
    for spec in covered().values():
        after = None
        while True:
            page = read_contents(session, spec, after=after, limit=batch)
            if not page:
                break
            after = list(page)[-1]
            sealed_ids = set(session.scalars(select(RowSeal.row_id).where(
                RowSeal.table_name == spec.table, RowSeal.row_id.in_([spec.row_id(pk) for pk in page]))))
            expected = expected_rows(session, spec, list(page))
            todo = [(spec, pk) for pk in page if spec.row_id(pk) not in sealed_ids and pk in expected]
            if todo:
                _append(session, kind="audit_log.baseline", subject_id=spec.table, actor_id=actor_id,
                        payload={"table": spec.table, "rows": len(todo)}, sealed=todo)
                total += len(todo)
    return total


def expected_rows(session, spec: SealSpec, pks: list[Any]) -> set[Any]:
    if spec.expected is None:
        return set(pks)
    return set(session.scalars(select(spec.pk).where(spec.pk.in_(pks), spec.expected())))


# --- use cases for tasks (verification's are in dispatch.audit_log.verification) -----------------


def bind_chain_roots(uow: UnitOfWork) -> int | None:
    """Periodic (rq cron): bind every point's chain into HQ's with a root entry; its seq, or None
    when no chain moved since the last root."""
    with uow:
        entry = bind_roots(uow.session)
        uow.commit()
        return entry.seq if entry is not None else None
