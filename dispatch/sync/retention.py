"""How long the sync history is kept: run nightly (``workers.sync_tasks.prune_sync_history``).

Three steps, each safe to run twice or next to live traffic:

1. **Tombstone expiry.** A removal older than the retention tells a device offline for that
   long to drop a job; rather than keep removals forever, the user's retention floor is raised
   to the newest expired one and everything at or below it is deleted. A cursor below the
   floor answers ``410 reset_required`` and the device re-snapshots, keeping its unpushed
   mutations (design 1.8).
2. **Compaction.** A feed entry is superseded when a later entry names the same entity: a pull
   sends the entity's current state (or its removal) for the latest one, so the earlier one
   tells no cursor anything. Superseded entries are deleted at any age; no floor moves.
3. **Idempotency records** of pushes expire after :data:`IDEMPOTENCY_RETENTION_HOURS` (a
   client retrying with the same key later is a new request; the per-device mutation ids still
   stop a replay from applying twice).

Mutation records are kept: they answer replays of any past mutation id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased

from dispatch.idempotency.models import IdempotencyRecord
from dispatch.sync.models import FeedEntry, FeedOp, SyncCounter
from dispatch.uow import UnitOfWork

TOMBSTONE_RETENTION_DAYS = 30
IDEMPOTENCY_RETENTION_HOURS = 48


@dataclass(frozen=True, slots=True)
class RetentionReport:
    floors_raised: int
    expired_entries: int
    superseded_entries: int
    idempotency_records: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def prune_history(
    uow: UnitOfWork,
    *,
    now: datetime,
    tombstone_days: int = TOMBSTONE_RETENTION_DAYS,
    idempotency_hours: int = IDEMPOTENCY_RETENTION_HOURS,
) -> RetentionReport:
    """Expire old removals (raising floors), delete superseded entries and old idempotency records."""
    if tombstone_days < 1:
        raise ValueError("tombstone_days must be >= 1")
    cutoff = now - timedelta(days=tombstone_days)
    with uow:
        floors = uow.session.execute(
            select(FeedEntry.user_id, func.max(FeedEntry.seq))
            .where(FeedEntry.op == FeedOp.REMOVE, FeedEntry.created_at < cutoff)
            .group_by(FeedEntry.user_id)
        ).all()
    raised = expired = 0
    for user_id, floor in floors:
        # One user per transaction: the task holds one counter lock at a time and so can
        # never close a cycle with a writer (writers take theirs at commit, in user order).
        with uow:
            session = uow.session
            counter = session.get(SyncCounter, user_id, with_for_update=True)
            if counter is not None and counter.floor_seq < floor:
                counter.floor_seq = floor
                raised += 1
            expired += session.execute(
                delete(FeedEntry).where(FeedEntry.user_id == user_id, FeedEntry.seq <= floor)
            ).rowcount
            uow.commit()
    with uow:  # takes no counter lock: writers only ever add entries above the ones it deletes
        session = uow.session
        newer = aliased(FeedEntry)
        superseded = session.execute(
            delete(FeedEntry).where(
                select(newer.seq)
                .where(
                    newer.user_id == FeedEntry.user_id,
                    newer.entity_type == FeedEntry.entity_type,
                    newer.entity_id == FeedEntry.entity_id,
                    newer.seq > FeedEntry.seq,
                )
                .exists()
            )
        ).rowcount
        idempotency = session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.created_at < now - timedelta(hours=idempotency_hours)
            )
        ).rowcount
        uow.commit()
    return RetentionReport(raised, expired, superseded, idempotency)
