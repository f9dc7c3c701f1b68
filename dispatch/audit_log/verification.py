"""Verify the audit log and the rows it vouches for; export daily roots.

:func:`verify` walks every chain (each on its own, checking that every root entry still matches
the chain heads it binds), then every covered table, recomputing each row's hash against its
newest seal: a row whose hash differs is named (table, id, the columns that differ, and the
entry whose seal it contradicts), as is a row that must be sealed and is not (inserted behind
the application's back) and a sealed row that is gone without a seal recording its deletion.
It works in pages (:func:`verify_page`: a signed cursor carries the position, the heads it
verifies up to and the verdict so far), so it stays usable at millions of entries; without a
page size it runs every page in one call. :func:`daily_root` is what HQ keeps outside the system
to catch a chain rebuilt after an edit. How entries, chains, roots and seals are written is in
:mod:`dispatch.audit_log.service`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from dispatch.audit_log.models import LogChain, LogEntry, RowSeal
from dispatch.audit_log.seals import Content, SealSpec, covered, read_contents
from dispatch.audit_log.service import (
    GENESIS,
    HQ_CHAIN,
    ROOT_KIND,
    canonical_json,
    entry_hash,
    expected_rows,
    stored_seals,
)
from dispatch.auth.models import HQ_ROLES
from dispatch.auth.principal import Principal
from dispatch.clock import local_midnight, utcnow
from dispatch.errors import ValidationFailed
from dispatch.uow import UnitOfWork


@dataclass(frozen=True)
class Difference:
    """A covered row that does not match what the log recorded."""

    table: str
    row_id: str
    problem: str  # "changed", "unsealed" (never recorded), "missing" (gone, no deletion recorded)
    fields: tuple[str, ...] = ()
    log_seq: int | None = None  # the entry whose seal the row contradicts


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries_checked: int
    first_broken_seq: int | None = None  # the bad entry's global seq (None: it is missing)
    problem: str | None = None
    head_hash: str = GENESIS
    head_seq: int = 0
    checked_at: datetime | None = None
    rows_checked: int = 0
    differences: tuple[Difference, ...] = ()
    differences_total: int = 0
    complete: bool = True
    next_cursor: str | None = None
    first_broken_chain: str | None = None
    first_broken_position: int | None = None  # its chain_seq
    chains: int = 0


PHASES = ("chain", "rows", "removed", "done")


@dataclass
class Progress:
    """Where a paged verification stands (what the cursor carries, signed). ``heads``: every
    chain's head when the run started, ``{chain: [chain_seq, hash, global seq]}``; the chains are
    walked one after the other (``chain``: index into the sorted names)."""

    heads: dict[str, list[Any]]
    head_seq: int
    head_hash: str
    phase: str = "chain"
    chain: int = 0
    last_seq: int = 0  # chain_seq verified so far in the current chain
    prev_hash: str = GENESIS
    entries_checked: int = 0
    first_broken_seq: int | None = None
    first_broken_chain: str | None = None
    first_broken_position: int | None = None
    problem: str | None = None
    table: int = 0
    after: str | None = None
    rows_checked: int = 0
    differences_total: int = 0

    def chains(self) -> list[str]:
        return sorted(self.heads, key=lambda name: (name != HQ_CHAIN, name))

    def broken(self, chain: str, position: int, seq: int | None, problem: str) -> None:
        self.first_broken_chain, self.first_broken_position = chain, position
        self.first_broken_seq, self.problem = seq, problem

    def trusts(self, seal: Any) -> bool:
        """The seal's entry lies within the heads this run verifies."""
        head = self.heads.get(seal.chain) if seal.chain is not None else None
        return head is not None and seal.log_seq <= head[2]


_COLUMNS = (LogEntry.seq, LogEntry.chain_seq, LogEntry.kind, LogEntry.subject_id, LogEntry.actor_id, LogEntry.at,
            LogEntry.payload, LogEntry.prev_hash, LogEntry.hash)


def tree_head(heads: dict[str, list[Any]]) -> str:
    """One hash over every chain's (position, hash): the whole log's head."""
    if not heads:
        return GENESIS
    return hashlib.sha256(canonical_json({c: [h[0], h[1]] for c, h in heads.items()}).encode()).hexdigest()


def _start(session) -> Progress:
    heads = {chain: [position, digest, seq] for chain, position, digest, seq in session.execute(
        select(LogChain.chain, LogChain.seq, LogChain.hash, LogChain.entry_seq))}
    for chain in session.scalars(select(LogEntry.chain).distinct()):  # entries of a chain whose head is gone
        heads.setdefault(chain, [0, GENESIS, 0])
    return Progress(heads=heads, head_seq=max((h[2] for h in heads.values()), default=0), head_hash=tree_head(heads))


def _check_root(session, progress: Progress, chain: str, seq: int, position: int, payload: dict[str, Any]) -> bool:
    """A root entry still matches the chains it binds (their entries at the recorded positions)."""
    bound = {(name, int(at)): digest for name, (at, digest) in (payload.get("chains") or {}).items()}
    if not bound:
        return True
    found = {(name, at): (digest, entry) for name, at, digest, entry in session.execute(
        select(LogEntry.chain, LogEntry.chain_seq, LogEntry.hash, LogEntry.seq).where(
            or_(*(and_(LogEntry.chain == name, LogEntry.chain_seq == at) for name, at in bound))))}
    for (name, at), digest in sorted(bound.items()):
        actual = found.get((name, at))
        if actual is None or actual[0] != digest:
            progress.broken(name, at, actual[1] if actual else None,
                            f"root entry {seq} (hq {position}) does not match chain {name} at {at}: "
                            "that chain was rebuilt or cut")
            return False
    return True


def _chain_page(session, progress: Progress, budget: int) -> int:
    """Check up to ``budget`` entries of the current chain (never past the head the verification
    started from). Reads plain rows (not ORM objects): what is checked is what the database
    holds now."""
    chain = progress.chains()[progress.chain]
    head_position, head_hash, _ = progress.heads[chain]
    end = min(progress.last_seq + budget, head_position)
    rows = session.execute(select(*_COLUMNS).where(LogEntry.chain == chain, LogEntry.chain_seq > progress.last_seq,
                                                   LogEntry.chain_seq <= end).order_by(LogEntry.chain_seq)).all()
    seals: dict[int, list[Any]] = defaultdict(list)
    if rows:
        for seal in stored_seals(session, RowSeal.log_seq.in_([row.seq for row in rows])):
            seals[seal.log_seq].append(seal)
    for seq, position, kind, subject_id, actor_id, at, payload, prev_hash, digest in rows:
        expected = progress.last_seq + 1
        if position != expected:  # rows come in chain order, so a gap means deleted entries
            progress.broken(chain, expected, None, f"entry {expected} of chain {chain} is missing "
                                                   f"(before entry {seq})")
            return len(rows)
        problem = None
        if prev_hash != progress.prev_hash:
            problem = "link to the previous entry is broken"
        elif entry_hash(progress.prev_hash, seq, kind, subject_id, str(actor_id) if actor_id else None, at,
                        payload, seals.get(seq, ()), chain=chain, chain_seq=position) != digest:
            problem = "content does not match its hash"
        if problem:
            progress.broken(chain, position, seq, problem)
            return len(rows)
        if kind == ROOT_KIND and chain == HQ_CHAIN and not _check_root(session, progress, chain, seq, position,
                                                                       payload):
            return len(rows)
        progress.last_seq, progress.prev_hash = position, digest
        progress.entries_checked += 1
    if not rows and end < head_position:
        progress.broken(chain, progress.last_seq + 1, None,
                        f"entry {progress.last_seq + 1} of chain {chain} is missing")
    elif end == head_position:
        if progress.last_seq != head_position or progress.prev_hash != head_hash:
            progress.broken(chain, min(head_position, progress.last_seq) + 1, None,
                            f"entries of chain {chain} after its recorded head were removed or added")
        else:
            progress.chain, progress.last_seq, progress.prev_hash = progress.chain + 1, 0, GENESIS
    return max(len(rows), 1)


def _seals_of(session, table: str, row_ids: list[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    if row_ids:
        for seal in stored_seals(session, RowSeal.table_name == table, RowSeal.row_id.in_(row_ids)):
            found[seal.row_id].append(seal)
    return found


class _Entries:
    """Whether entries newer than the verified head exist (a newer seal is trusted only then)."""

    def __init__(self, session) -> None:
        self.session = session
        self.known: dict[int, bool] = {}

    def exist(self, seq: int) -> bool:
        if seq not in self.known:
            self.known[seq] = self.session.scalar(select(LogEntry.seq).where(LogEntry.seq == seq)) is not None
        return self.known[seq]


def _judge(spec: SealSpec, row_id: str, content: Content | None, seals: list[Any], progress: Progress,
           entries: _Entries, expected: bool) -> Difference | None:
    """``content`` None: the row is gone. None when the row agrees with the log."""
    trusted = [s for s in seals if progress.trusts(s)]
    newest = max(trusted, key=lambda s: s.row_version) if trusted else None
    now = content.row_hash if content else None
    if newest is not None and newest.row_hash == now:
        return None
    if any(s.row_hash == now and entries.exist(s.log_seq) for s in seals if not progress.trusts(s)):
        return None  # written after this verification started; the next one checks that entry
    if newest is None:
        if content is None or not expected:
            return None
        return Difference(spec.table, row_id, "unsealed")
    if content is None:
        return Difference(spec.table, row_id, "missing", log_seq=newest.log_seq)
    if newest.row_hash is None:
        return Difference(spec.table, row_id, "changed", ("deleted",), newest.log_seq)
    fields = tuple(sorted(f for f, d in content.fields.items() if (newest.fields or {}).get(f) != d))
    return Difference(spec.table, row_id, "changed", fields, newest.log_seq)


def _specs() -> list[SealSpec]:
    return [covered()[name] for name in sorted(covered())]


def _rows_page(session, progress: Progress, budget: int, found: list[Difference]) -> int:
    spec = _specs()[progress.table]
    after = spec.parse_id(progress.after) if progress.after is not None else None
    contents = read_contents(session, spec, after=after, limit=budget)
    if not contents:
        progress.phase, progress.after = "removed", None
        return 1
    ids = {spec.row_id(pk): pk for pk in contents}
    seals = _seals_of(session, spec.table, list(ids))
    expected = expected_rows(session, spec, list(contents))
    entries = _Entries(session)
    for row_id, pk in ids.items():
        difference = _judge(spec, row_id, contents[pk], seals.get(row_id, []), progress, entries,
                            pk in expected)
        if difference:
            found.append(difference)
    progress.rows_checked += len(contents)
    progress.after = spec.row_id(list(contents)[-1])
    return len(contents)


def _removed_page(session, progress: Progress, budget: int, found: list[Difference]) -> int:
    """Sealed rows of the table that no longer exist."""
    spec = _specs()[progress.table]
    query = select(RowSeal.row_id).where(RowSeal.table_name == spec.table).distinct().order_by(RowSeal.row_id)
    if progress.after is not None:
        query = query.where(RowSeal.row_id > progress.after)
    row_ids = list(session.scalars(query.limit(budget)))
    if not row_ids:
        progress.table, progress.after = progress.table + 1, None
        progress.phase = "rows" if progress.table < len(_specs()) else "done"
        return 1
    parsed = {}
    for row_id in row_ids:
        try:
            parsed[row_id] = spec.parse_id(row_id)
        except ValueError:
            parsed[row_id] = None
    existing = {spec.row_id(pk) for pk in session.scalars(
        select(spec.pk).where(spec.pk.in_([pk for pk in parsed.values() if pk is not None])))}
    gone = [row_id for row_id in row_ids if row_id not in existing]
    seals = _seals_of(session, spec.table, gone)
    entries = _Entries(session)
    for row_id in gone:
        difference = _judge(spec, row_id, None, seals.get(row_id, []), progress, entries, True)
        if difference:
            found.append(difference)
    progress.after = row_ids[-1]
    return len(row_ids)


def _page(session, progress: Progress, budget: int, found: list[Difference]) -> None:
    """Advance ``progress`` by about ``budget`` entries or rows."""
    spent = 0
    while spent < budget and progress.phase != "done":
        if progress.phase == "chain":
            spent += _chain_page(session, progress, budget - spent)
            if progress.problem is not None or progress.chain >= len(progress.heads):
                progress.phase = "rows" if _specs() else "done"
        elif progress.phase == "rows":
            spent += _rows_page(session, progress, budget - spent, found)
        else:
            spent += _removed_page(session, progress, budget - spent, found)


def _result(progress: Progress, found: list[Difference], now: datetime, *, listed: int,
            next_cursor: str | None) -> Verification:
    chain_ok = progress.problem is None
    return Verification(
        ok=chain_ok and progress.differences_total == 0, entries_checked=progress.entries_checked,
        first_broken_seq=progress.first_broken_seq, problem=progress.problem,
        head_hash=progress.head_hash, head_seq=progress.head_seq,
        checked_at=now, rows_checked=progress.rows_checked, differences=tuple(found[:listed]),
        differences_total=progress.differences_total, complete=progress.phase == "done", next_cursor=next_cursor,
        first_broken_chain=progress.first_broken_chain, first_broken_position=progress.first_broken_position,
        chains=len(progress.heads))


def verify(session, *, batch: int = 5000, listed: int = 1000) -> Verification:
    """Walk the whole chain, then every covered row: name the first broken entry and the rows
    that differ from their seals (the first ``listed`` of them; ``differences_total`` counts all)."""
    progress, found = _start(session), []
    while progress.phase != "done":
        before = len(found)
        _page(session, progress, batch, found)
        progress.differences_total += len(found) - before
        del found[listed:]
    return _result(progress, found, utcnow(), listed=listed, next_cursor=None)


def verify_page(session, *, budget: int, cursor: str | None, secret: str) -> Verification:
    """One page of a verification: about ``budget`` entries or rows from where ``cursor`` (None:
    the start) left off. The differences are this page's; the counters and the chain verdict are
    the whole run's so far; ``next_cursor`` is None once complete."""
    progress = decode_cursor(cursor, secret) if cursor else _start(session)
    found: list[Difference] = []
    _page(session, progress, budget, found)
    progress.differences_total += len(found)
    next_cursor = None if progress.phase == "done" else encode_cursor(progress, secret)
    return _result(progress, found, utcnow(), listed=len(found), next_cursor=next_cursor)


def _signature(secret: str, body: bytes) -> str:
    key = hashlib.sha256(b"audit-verify-cursor:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(hmac.new(key, body, hashlib.sha256).digest()[:16]).decode().rstrip("=")


def encode_cursor(progress: Progress, secret: str) -> str:
    body = json.dumps(asdict(progress), separators=(",", ":")).encode()
    return f"{base64.urlsafe_b64encode(body).decode().rstrip('=')}.{_signature(secret, body)}"


def decode_cursor(token: str, secret: str) -> Progress:
    try:
        payload, signature = token.split(".", 1)
        body = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        if not hmac.compare_digest(_signature(secret, body), signature):
            raise ValueError("bad signature")
        progress = Progress(**json.loads(body))
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("cursor", "not a cursor this server issued") from exc
    if progress.phase not in PHASES:
        raise ValidationFailed("cursor", "not a cursor this server issued")
    return progress


def daily_root(session, day: date, tz: str = "UTC") -> dict[str, Any]:
    """The root of ``day`` (local): every chain's last entry written before the end of the day,
    and one hash over them (:func:`tree_head`). Publish it outside the system so that a rebuilt
    chain (all hashes recomputed) is caught."""
    end = local_midnight(day + timedelta(days=1), tz)
    last = select(LogEntry.chain, func.max(LogEntry.chain_seq).label("position")).where(LogEntry.at < end) \
        .group_by(LogEntry.chain).subquery()
    rows = session.execute(select(LogEntry.chain, LogEntry.chain_seq, LogEntry.hash, LogEntry.seq, LogEntry.at)
                           .join(last, and_(last.c.chain == LogEntry.chain, last.c.position == LogEntry.chain_seq))
                           .order_by(LogEntry.chain)).all()
    heads = {row.chain: [row.chain_seq, row.hash, row.seq] for row in rows}
    return {"day": day, "timezone": tz, "until": end, "seq": max((row.seq for row in rows), default=0),
            "hash": tree_head(heads), "last_entry_at": max((row.at for row in rows), default=None),
            "chains": {chain: {"position": h[0], "hash": h[1]} for chain, h in heads.items()}}


# --- use cases for the HTTP layer ---------------------------------------------------------------


def verify_chain(uow: UnitOfWork, actor: Principal, *, secret: str, limit: int | None = None,
                 cursor: str | None = None) -> Verification:
    """Verify the chain and the rows it vouches for (HQ: admins and reviewers). With ``limit``
    (or a ``cursor``), one page of about ``limit`` entries or rows; else the whole run."""
    actor.require(*HQ_ROLES)
    with uow:
        if limit is None and cursor is None:
            return verify(uow.session)
        return verify_page(uow.session, budget=limit or 5000, cursor=cursor, secret=secret)

def export_daily_root(uow: UnitOfWork, actor: Principal, *, day: date, tz: str) -> dict[str, Any]:
    """The root of ``day`` for HQ to keep outside the system (admins and reviewers)."""
    actor.require(*HQ_ROLES)
    with uow:
        return daily_root(uow.session, day, tz)

