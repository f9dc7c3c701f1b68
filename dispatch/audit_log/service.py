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
entry does.

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
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dispatch.audit_log.models import LogChain, LogEntry, RowSeal
from dispatch.audit_log.seals import SealSpec, covered, read_contents
from dispatch.auth.models import User
from dispatch.clock import utcnow
from dispatch.db import transaction_memo
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
           deleted: Sequence[tuple[SealSpec, Any]]) -> list[RowSeal]:
    """The seals of the rows (read back as the database now holds them), numbered per row."""
    wanted: dict[str, tuple[SealSpec, dict[str, Any], set[str]]] = {}
    for (spec, pk), gone in [(item, False) for item in sealed] + [(item, True) for item in deleted]:
        _, ids, gone_ids = wanted.setdefault(spec.table, (spec, {}, set()))
        ids[spec.row_id(pk)] = pk
        if gone:
            gone_ids.add(spec.row_id(pk))
    out = []
    for table, (spec, ids, gone_ids) in wanted.items():
        versions = dict(session.execute(
            select(RowSeal.row_id, func.max(RowSeal.row_version))
            .where(RowSeal.table_name == table, RowSeal.row_id.in_(list(ids))).group_by(RowSeal.row_id)).all())
        contents = read_contents(session, spec, [pk for rid, pk in ids.items() if rid not in gone_ids])
        by_id = {spec.row_id(pk): content for pk, content in contents.items()}
        for row_id in sorted(ids):
            content = None if row_id in gone_ids else by_id.get(row_id)
            if content is None and row_id not in gone_ids:
                raise ValueError(f"{table} {row_id} is sealed but not in the database (flush it first)")
            out.append(RowSeal(table_name=table, row_id=row_id, row_version=(versions.get(row_id) or 0) + 1,
                               log_seq=seq, row_hash=content.row_hash if content else None,
                               fields=content.fields if content else None))
    return out


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


def _locked_chain(session, chain: str) -> LogChain:
    """The chain's head row, locked to the commit (created at the first entry of a new chain)."""
    query = (select(LogChain).where(LogChain.chain == chain).with_for_update()
             .execution_options(populate_existing=True))
    head = session.scalar(query)
    if head is None:
        connection = session.connection()
        make_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(make_insert(LogChain).values(chain=chain, seq=0, hash=GENESIS, entry_seq=0)
                           .on_conflict_do_nothing(index_elements=["chain"]))
        head = session.scalar(query)
    return head


def _global_seq(session) -> int:
    reserved = _memo(session).pop(_RESERVED, None)
    if reserved is not None:
        return reserved
    if session.connection().dialect.name == "postgresql":
        return session.scalar(text("SELECT nextval('audit_log_global_seq')"))
    return (session.scalar(select(func.max(LogEntry.seq))) or 0) + 1  # SQLite: one writer at a time


def lock_chain(session, chain: str = HQ_CHAIN) -> str:
    """Take this transaction's chain head now (``chain`` unless an append already fixed one);
    returns the chain. Serialises transactions on that chain up to their commit."""
    chain = _chain_for(session, None, chain)
    _locked_chain(session, chain)
    return chain


def next_seq(session, actor_id: uuid.UUID | None = None) -> int:
    """The global seq the caller's next :func:`append` gets (for rows that name their own entry):
    the chain head is locked from here to the commit and the number is reserved for it."""
    _locked_chain(session, _chain_for(session, actor_id, None))
    memo = _memo(session)
    if _RESERVED not in memo:
        memo[_RESERVED] = _global_seq(session)
    return memo[_RESERVED]


def _append(session, *, kind: str, subject_id: Any, payload: dict[str, Any], actor_id: uuid.UUID | None,
            sealed: Sequence[tuple[SealSpec, Any]] = (), deleted: Sequence[tuple[SealSpec, Any]] = (),
            chain: str | None = None) -> LogEntry:
    head = _locked_chain(session, _chain_for(session, actor_id, chain))
    seq, position = _global_seq(session), head.seq + 1
    at = utcnow()
    payload = json.loads(canonical_json(payload))  # what is hashed is exactly what is stored
    if sealed or deleted:
        session.flush()  # the sealed rows as the database will hold them
    seals = _seals(session, seq, sealed, deleted)
    digest = entry_hash(head.hash, seq, kind, str(subject_id), str(actor_id) if actor_id else None, at, payload,
                        seals, chain=head.chain, chain_seq=position)
    entry = LogEntry(seq=seq, chain=head.chain, chain_seq=position, kind=kind, subject_id=str(subject_id),
                     actor_id=actor_id, at=at, payload=payload, prev_hash=head.hash, hash=digest)
    session.add(entry)
    session.add_all(seals)
    head.seq, head.hash, head.entry_seq = position, digest, seq
    session.flush()
    return entry


def append(session, *, kind: str, subject_id: Any, payload: dict[str, Any],
           actor_id: uuid.UUID | None = None, seal: Sequence[Any] = (), deleted: Sequence[Any] = (),
           chain: str | None = None) -> LogEntry:
    """Add one entry to the log, in the caller's transaction (never commits).

    ``seal``: the covered rows this write created or changed (ORM objects; flushed here and read
    back); ``deleted``: covered rows it deleted (or is about to delete in this transaction).
    ``chain``: the chain to use when this is the transaction's first append (default: the
    actor's service point, else ``hq``).
    """
    if seal:
        session.flush()  # ids and defaults assigned, the rows as the database will hold them
    return _append(session, kind=kind, subject_id=subject_id, payload=payload, actor_id=actor_id,
                   sealed=[_spec_and_id(row) for row in seal], deleted=[_spec_and_id(row) for row in deleted],
                   chain=chain)


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
