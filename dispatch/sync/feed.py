"""Writing the per-user feeds, inside the transaction that changes the data.

Whatever code changes a job (status, assignment, transfer, schedule), its children (checklist,
step results, reservations, parts, events) or a technician's van stock, these listeners append
a feed entry for every technician whose replica is affected: ``P`` (send the current state) for
users who have it in scope now, ``R`` (remove, with its children) for users who lost it. A crew
job is on the devices of its lead and of each helper; a helper who is replaced loses it. The
sequence number comes from the user's counter row, bumped with ``UPDATE ... RETURNING`` in the
same transaction: the row lock is held until commit, so sequence order is commit order and a
pager never skips a row committed late (a plain database sequence would).

Each flush only notes what it touched; the entries are written once, just before the
transaction commits (after its last flush), for all users in sorted order. A transaction thus
takes its counter locks last and all at once, in one order: two writers cannot deadlock on
them, however many flushes each made (locking per flush did: a writer holding B from its first
flush could wait for A while another held A and waited for B), and the locks are held only for
the commit.

The listeners are installed explicitly by :func:`install`, which the composition root
(:func:`dispatch.wiring.install`) calls in every process that writes: the app, the workers, the
cron entry and the seeds. A process that forgot would change a technician's jobs without
feeding the phone; ``tests/services/test_wiring.py`` starts a worker process and checks it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from functools import cache
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    bindparam,
    delete,
    insert,
    inspect,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from dispatch.clock import utcnow
from dispatch.db import listen_on_sessions, listening_on_sessions, rows_of_binds
from dispatch.jobs.models import Job, JobHelper, JobStatus
from dispatch.network.models import Technician
from dispatch.sync.models import FeedEntry, FeedOp, Membership, SyncCounter

JOB = "job"
VAN = "van"
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
WINDOW_PAST_DAYS = 2
WINDOW_FUTURE_DAYS = 7
#: Jobs that hold a place in a technician's route (the calendar's booked statuses).
ROUTED = (JobStatus.SCHEDULED, JobStatus.EN_ROUTE, JobStatus.ON_SITE)
SYNCED_STATUSES = frozenset({JobStatus.SCHEDULED, JobStatus.EN_ROUTE, JobStatus.ON_SITE, JobStatus.ON_HOLD,
                             JobStatus.COMPLETED, JobStatus.CLOSED})


def service_day(job: Job, tz: ZoneInfo = DEFAULT_TZ) -> date | None:
    moment = job.scheduled_start or job.window_start
    return moment.astimezone(tz).date() if moment else None


def window(today: date) -> tuple[date, date]:
    return today - timedelta(days=WINDOW_PAST_DAYS), today + timedelta(days=WINDOW_FUTURE_DAYS)


def job_in_scope(job: Job, now: datetime | None = None, tz: ZoneInfo = DEFAULT_TZ) -> bool:
    """The job belongs on its technician's device: assigned, live or recent, inside the window."""
    if job.technician_id is None or job.status not in SYNCED_STATUSES:
        return False
    day = service_day(job, tz)
    first, last = window((now or utcnow()).astimezone(tz).date())
    return day is not None and first <= day <= last


def insert_ignore(connection, model, rows: list[dict] | None = None, **values) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on the primary key (PostgreSQL and SQLite): one row
    (``values``) or many in one statement (``rows``)."""
    if rows is not None and not rows:
        return
    make_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    keys = [column.name for column in model.__table__.primary_key.columns]
    connection.execute(make_insert(model).values(rows if rows is not None else values)
                       .on_conflict_do_nothing(index_elements=keys))


def bump(session: Session, user_id: uuid.UUID, count: int = 1) -> int:
    """Take ``count`` sequence numbers of ``user_id``'s feed and return the last of them (the
    caller's are ``last - count + 1 .. last``); locks the counter row until commit."""
    connection = session.connection()
    make_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    upsert = make_insert(SyncCounter).values(user_id=user_id, last_seq=count, floor_seq=0)
    return connection.execute(  # one statement: the counter made at its first entry, else moved on
        upsert.on_conflict_do_update(index_elements=[SyncCounter.user_id],
                                     set_={"last_seq": SyncCounter.last_seq + count})
        .returning(SyncCounter.last_seq)
    ).scalar_one()


def append(session: Session, entries: dict[uuid.UUID, list[tuple[str, uuid.UUID, FeedOp]]]) -> None:
    """Append feed entries, users in sorted order (two transactions never lock counters in
    opposite orders, so they cannot deadlock). Per user, however many entries: on PostgreSQL one
    statement (:func:`_one_statement`), elsewhere (or past _MAX_INLINE entries) one counter bump,
    one INSERT of the entries, one of the memberships gained and one DELETE of those lost."""
    connection = session.connection()
    now = utcnow()
    for user_id in sorted(entries):
        latest = {(entity_type, entity_id): op for entity_type, entity_id, op in entries[user_id]}
        joined = [key for key, op in latest.items() if op == FeedOp.PUT]
        removed = [key for key, op in latest.items() if op != FeedOp.PUT]
        if connection.dialect.name == "postgresql" and len(latest) <= _MAX_INLINE:
            params: dict[str, Any] = {"user_id": user_id, "now": now}
            for n, ((entity_type, entity_id), op) in enumerate(latest.items()):
                params |= {f"t{n}": entity_type, f"e{n}": entity_id, f"o{n}": op}
            for prefix, keys in (("j", joined), ("r", removed)):
                for n, (entity_type, entity_id) in enumerate(keys):
                    params |= {f"{prefix}t{n}": entity_type, f"{prefix}e{n}": entity_id}
            connection.execute(_one_statement(len(latest), len(joined), len(removed)), params)
            continue
        first = bump(session, user_id, len(latest)) - len(latest) + 1
        connection.execute(insert(FeedEntry), [
            {"user_id": user_id, "seq": first + n, "entity_type": entity_type, "entity_id": entity_id, "op": op,
             "created_at": now} for n, ((entity_type, entity_id), op) in enumerate(latest.items())])
        insert_ignore(connection, Membership, [{"user_id": user_id, "entity_type": entity_type,
                                                "entity_id": entity_id} for entity_type, entity_id in joined])
        if removed:
            connection.execute(delete(Membership).where(
                Membership.user_id == user_id, tuple_(Membership.entity_type, Membership.entity_id).in_(removed)))


_MAX_INLINE = 8
_FEED = FeedEntry.__table__.c
_MEMBER = Membership.__table__.c


@cache
def _one_statement(count: int, joined: int, removed: int):
    """PostgreSQL: one user's ``count`` entries in one statement, built once per shape. The
    counter is bumped by ``count`` in a CTE returning its new value (locking the row to the
    commit, as :func:`bump` does) and the entries take the numbers below it, in order; the
    ``joined`` memberships gained and ``removed`` lost ride along as CTEs (their keys are
    distinct: one op per entity). Parameters: ``user_id``, ``now``, per entry ``t<n>``, ``e<n>``,
    ``o<n>`` (type, id, op), per membership ``jt<n>``/``je<n>`` and ``rt<n>``/``re<n>``."""
    user_id, now = bindparam("user_id", type_=_FEED.user_id.type), bindparam("now", type_=_FEED.created_at.type)
    bumped = (pg_insert(SyncCounter).values(user_id=user_id, last_seq=count, floor_seq=0)
              .on_conflict_do_update(index_elements=[SyncCounter.user_id],
                                     set_={"last_seq": SyncCounter.last_seq + count})
              .returning(SyncCounter.last_seq).cte("bumped"))
    numbered = union_all(*(
        select(user_id, bumped.c.last_seq - (count - 1 - n), bindparam(f"t{n}", type_=_FEED.entity_type.type),
               bindparam(f"e{n}", type_=_FEED.entity_id.type), bindparam(f"o{n}", type_=_FEED.op.type), now)
        .select_from(bumped) for n in range(count)))
    statement = insert(FeedEntry).from_select(
        ("user_id", "seq", "entity_type", "entity_id", "op", "created_at"), numbered).add_cte(bumped)
    if joined:
        statement = statement.add_cte(rows_of_binds(pg_insert, Membership, [
            {"user_id": user_id, "entity_type": bindparam(f"jt{n}", type_=_MEMBER.entity_type.type),
             "entity_id": bindparam(f"je{n}", type_=_MEMBER.entity_id.type)} for n in range(joined)
        ]).on_conflict_do_nothing(index_elements=[c.name for c in Membership.__table__.primary_key.columns])
            .cte("joined"))
    if removed:
        statement = statement.add_cte(delete(Membership).where(
            _MEMBER.user_id == user_id, tuple_(_MEMBER.entity_type, _MEMBER.entity_id).in_([
                tuple_(bindparam(f"rt{n}", type_=_MEMBER.entity_type.type),
                       bindparam(f"re{n}", type_=_MEMBER.entity_id.type)) for n in range(removed)]))
            .cte("left_feed"))
    return statement


_FIXED: dict[tuple[str, uuid.UUID], Any] = {}
"""Per process: facts set when a row is created and never changed, read once (a technician's
user; which technician's van a stock location is, None for a point or HQ). Ids are never reused,
so what was read stays true: no read per write."""


def _fixed(connection, kind: str, ids: set[uuid.UUID], query) -> dict[uuid.UUID, Any]:
    """``{id: value}`` for ``ids`` (None where ``query`` finds no row), reading only the ids not
    yet known; ``query(unread)`` selects (id, value) rows."""
    unread = {i for i in ids if (kind, i) not in _FIXED}
    if unread:
        found = dict.fromkeys(unread)
        found.update(connection.execute(query(unread)).all())
        if len(_FIXED) > 200_000:
            _FIXED.clear()
        _FIXED.update(((kind, i), value) for i, value in found.items())
    return {i: _FIXED[(kind, i)] for i in ids}


def _technician_users(session: Session, technician_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    return _fixed(session.connection(), "technician_user", technician_ids,
                  lambda ids: select(Technician.id, Technician.user_id).where(Technician.id.in_(ids)))


def _column_value(obj, name: str):
    mapper = inspect(obj).mapper
    return getattr(obj, name) if name in mapper.columns else None


def _touched(session: Session):
    """Jobs (with their previous technician), the jobs whose own row changed (a visit added, moved,
    re-assigned or dropped: their route siblings' documents change too), checklists and van
    locations changed in this flush."""
    jobs: dict[uuid.UUID, set[uuid.UUID]] = {}
    moved: set[uuid.UUID] = set()
    checklist_ids: set[uuid.UUID] = set()
    locations: set[uuid.UUID] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, Job):
            previous = jobs.setdefault(obj.id, set())
            history = inspect(obj).attrs.technician_id.history
            previous.update(t for t in history.deleted if t is not None)
            moved.add(obj.id)
            continue
        if isinstance(obj, JobHelper):  # a crew member came or went: their days change as well
            previous = jobs.setdefault(obj.job_id, set())
            if obj in session.deleted:
                previous.add(obj.technician_id)
            moved.add(obj.job_id)
            continue
        job_id = _column_value(obj, "job_id")
        if job_id is not None:
            jobs.setdefault(job_id, set())
        checklist_id = _column_value(obj, "checklist_id")
        if checklist_id is not None:
            checklist_ids.add(checklist_id)
        for name in ("location_id", "to_location_id", "from_location_id"):
            location_id = _column_value(obj, name)
            if location_id is not None:
                locations.add(location_id)
    return jobs, moved, checklist_ids, locations


#: ``session.info`` keys: what this transaction's flushes touched, and "the feed is being written".
_TOUCHED = "sync_feed_touched"
_WRITING = "sync_feed_writing"


def _feed_after_flush(session: Session, _flush_context) -> None:
    if session.info.get("sync_feed_disabled"):
        return
    jobs, moved, checklist_ids, locations = _touched(session)
    if not (jobs or checklist_ids or locations):
        return
    pending_jobs, pending_moved, pending_checklists, pending_locations = session.info.setdefault(
        _TOUCHED, ({}, set(), set(), set()))
    for job_id, previous in jobs.items():
        pending_jobs.setdefault(job_id, set()).update(previous)
    pending_moved.update(moved)
    pending_checklists.update(checklist_ids)
    pending_locations.update(locations)
    if session.info.get(_WRITING):  # flushed after the feed was written (a later commit hook)
        _write_feed(session)


def _write_feed(session: Session) -> None:
    """Append the entries for everything this transaction's flushes touched (see module doc)."""
    touched = session.info.pop(_TOUCHED, None)
    if touched is None:
        return
    jobs, moved, checklist_ids, locations = touched
    connection = session.connection()
    if checklist_ids:
        from dispatch.sop.models import Checklist

        for (job_id,) in connection.execute(select(Checklist.job_id).where(Checklist.id.in_(checklist_ids))):
            jobs.setdefault(job_id, set())
    entries: dict[uuid.UUID, list[tuple[str, uuid.UUID, FeedOp]]] = {}
    if jobs:
        # The jobs' rows, crew helpers and the devices holding them (_holders), in one query.
        rows, helpers, holders = _job_facts(connection, set(jobs))
        # A note, a part or a step result leaves the route as it was: only a job row that changed
        # moves its day's other visits (sequence, leg, ETA in their documents).
        # A crew's helpers' days count too: a visit added to a helper's day moves the crew job in it.
        for sibling in _route_siblings(connection, [row for row in rows.values() if row.id in moved], jobs, helpers):
            jobs.setdefault(sibling.id, set())
            rows[sibling.id] = sibling
        unread = {sibling for sibling in jobs if sibling not in helpers}
        if unread:
            _, more_helpers, more_holders = _job_facts(connection, unread, rows=False)
            helpers |= more_helpers
            holders |= more_holders
        technicians = {row.technician_id for row in rows.values() if row.technician_id}
        technicians |= set(chain.from_iterable(jobs.values())) | set(chain.from_iterable(helpers.values()))
        users = _technician_users(session, technicians)
        for job_id, previous in jobs.items():
            row = rows.get(job_id)
            current = row.technician_id if row is not None else None
            crew = {current, *helpers.get(job_id, ())} - {None} if current is not None else set()
            op = FeedOp.PUT if row is not None and job_in_scope(row) else FeedOp.REMOVE
            for member in crew:
                entries.setdefault(users[member], []).append((JOB, job_id, op))
            for old in previous - crew:
                entries.setdefault(users[old], []).append((JOB, job_id, FeedOp.REMOVE))
            members = {users[member] for member in crew}
            for user_id in holders.get(job_id, set()) - members:
                entries.setdefault(user_id, []).append((JOB, job_id, FeedOp.REMOVE))
    if locations:
        from dispatch.stock.models import StockLocation

        owners = _fixed(connection, "van_owner", locations, lambda ids: select(
            StockLocation.id, StockLocation.technician_id).where(StockLocation.id.in_(ids)))
        vans = sorted((location_id, owner) for location_id, owner in owners.items() if owner)
        users = _technician_users(session, {technician_id for _, technician_id in vans})
        for location_id, technician_id in vans:
            entries.setdefault(users[technician_id], []).append((VAN, location_id, FeedOp.PUT))
    if entries:
        with session.no_autoflush:
            append(session, entries)


def _job_facts(connection, job_ids: set[uuid.UUID], *, rows: bool = True):
    """For these jobs, in one query: their rows (id, technician, status, schedule; ``rows`` off:
    none), their crew helpers by job, and the users whose devices hold them now (their feed put
    them there; a holder no longer in the crew drops the job), by job."""
    parts = [select(literal("h").label("kind"), JobHelper.job_id.label("id"), JobHelper.technician_id,
                    null().label("status"), null().label("scheduled_start"), null().label("window_start"))
             .where(JobHelper.job_id.in_(job_ids)),
             select(literal("m"), Membership.entity_id, Membership.user_id, null(), null(), null())
             .where(Membership.entity_type == JOB, Membership.entity_id.in_(job_ids))]
    if rows:
        parts.insert(0, select(literal("j").label("kind"), Job.id, Job.technician_id, Job.status, Job.scheduled_start,
                               Job.window_start).where(Job.id.in_(job_ids)))
    found: dict[uuid.UUID, Any] = {}
    helpers: dict[uuid.UUID, set[uuid.UUID]] = {job_id: set() for job_id in job_ids}
    holders: dict[uuid.UUID, set[uuid.UUID]] = {}
    for row in connection.execute(union_all(*parts)):
        if row.kind == "j":
            found[row.id] = row
        elif row.kind == "h":
            helpers[row.id].add(row.technician_id)
        else:
            holders.setdefault(row.id, set()).add(row.technician_id)
    return found, helpers, holders


def _route_siblings(connection, rows, jobs: dict[uuid.UUID, set[uuid.UUID]],
                    helpers: dict[uuid.UUID, set[uuid.UUID]]) -> list:
    """The other booked jobs on the same technicians' days as the touched ones (lead or crew
    helper): a visit added, moved or dropped changes their place in the route (sequence, leg,
    ETA), which their documents carry."""
    days: dict[uuid.UUID, set[date]] = {}
    for row in rows:
        day = service_day(row)
        if day is None:
            continue
        for technician_id in {row.technician_id, *jobs.get(row.id, ()), *helpers.get(row.id, ())} - {None}:
            days.setdefault(technician_id, set()).add(day)
    found = []
    for technician_id, dates in days.items():
        first = datetime.combine(min(dates), datetime.min.time(), DEFAULT_TZ)
        last = datetime.combine(max(dates), datetime.min.time(), DEFAULT_TZ) + timedelta(days=1)
        helping = select(JobHelper.job_id).where(JobHelper.technician_id == technician_id)
        for row in connection.execute(
            select(Job.id, Job.technician_id, Job.status, Job.scheduled_start, Job.window_start)
            .where(or_(Job.technician_id == technician_id, Job.id.in_(helping)), Job.status.in_(ROUTED),
                   Job.scheduled_start >= first, Job.scheduled_start < last)
        ):
            if row.id not in jobs and service_day(row) in dates:
                found.append(row)
    return found


def _forget_touched(session: Session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction ended (committed or rolled back)
        session.info.pop(_TOUCHED, None)
        session.info.pop(_WRITING, None)


def _note_new_attachments(session: Session, _flush_context) -> None:
    """Remember photos uploaded in this transaction: step results pushed before their bytes
    arrived are completed just before the upload commits."""
    from dispatch.sop.models import Attachment

    shas = {obj.sha256 for obj in session.new if isinstance(obj, Attachment)}
    if shas:
        session.info.setdefault("new_attachment_shas", set()).update(shas)


def _complete_pending_evidence(session: Session) -> None:
    shas = session.info.pop("new_attachment_shas", None)
    if shas:
        from dispatch.sync.service import resolve_pending_evidence

        resolve_pending_evidence(session, shas)


# Registered last: the other commit hooks above may still change rows (and flush).
def _feed_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint is released, not the transaction: wait for the real commit
    session.flush()
    session.info[_WRITING] = True
    _write_feed(session)


_LISTENERS = (
    ("after_flush", _feed_after_flush),
    ("after_flush", _note_new_attachments),
    ("after_transaction_end", _forget_touched),
    ("before_commit", _complete_pending_evidence),
    ("before_commit", _feed_before_commit),
)


def install() -> None:
    """Attach the feed's session listeners (idempotent; in this order, as they must run)."""
    listen_on_sessions(_LISTENERS)


def installed() -> bool:
    """Whether every listener of the feed is attached in this process."""
    return listening_on_sessions(_LISTENERS)
