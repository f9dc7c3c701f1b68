"""Prompt delivery: when a transaction that wrote webhook deliveries commits, a task that sends
them is enqueued at once, so a receiver hears of a change within moments instead of at the next
run of the ``deliver-webhooks`` cron task (every 30 s), which stays as the safety net.

* **After commit, never before**: a SQLAlchemy ``after_commit`` listener on the session
  (installed by :mod:`dispatch.wiring`, not by importing this module), so a worker never looks
  for rows that are not visible yet; a rolled-back transaction, or one whose commit fails,
  enqueues nothing. A savepoint's commit is not the transaction's: it waits for the real one.
* **One task per ordering key** (a job's events share ``job:<id>``) with an RQ job id derived
  from the key, kept only while the task waits or runs (``forget_when_done``): a burst of
  commits on one job queues one task, and the next commit after it ran queues it again. The task
  sends that key's deliveries in event order; the claim in :mod:`dispatch.integrations.delivery`
  never lets a later event pass an earlier pending one, whichever worker or cron run sends it.
  Events without a key prompt the general sweep.
* **Only where a task queue is bound to the session** (``Session.info[ports.SESSION_TASK_QUEUE]``):
  the app binds its queue to its request sessions when tasks run on RQ, and so does a worker.
  Inline (no Redis: the demo) nothing is bound: running the delivery in the request would hold
  the response for as long as a slow receiver takes, so deliveries wait for the cron or for
  ``dispatch webhooks deliver``.
* **A failing enqueue** (Redis down) is logged, never raised: the change is committed and the
  cron task finds its deliveries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session, SessionTransaction

from dispatch.db import listen_on_sessions, listening_on_sessions
from dispatch.ports import SESSION_TASK_QUEUE

log = logging.getLogger(__name__)

DELIVER_KEY_TASK = "workers.webhook_tasks.deliver_webhooks_for"
SWEEP_TASK = "workers.webhook_tasks.deliver_webhooks"
QUEUE = "notifications"
TIMEOUT_S = 120
_NOTED = "integrations.prompt_keys"


def note(session: Session, keys: Iterable[str | None]) -> None:
    """Deliveries with these ordering keys were written in the session's transaction."""
    session.info.setdefault(_NOTED, set()).update(keys)


def task_id(ordering_key: str | None) -> str:
    """The RQ job id of the prompt for ``ordering_key`` (the queue makes it safe for Redis)."""
    return f"webhooks-{ordering_key}" if ordering_key else "webhooks-sweep"


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the transaction may still roll back
    keys = session.info.pop(_NOTED, None)
    queue = session.info.get(SESSION_TASK_QUEUE)
    if not keys or queue is None:
        return
    for key in sorted(keys, key=lambda k: k or ""):
        try:
            if key:
                queue.enqueue(DELIVER_KEY_TASK, key, task_id=task_id(key), queue=QUEUE, timeout_s=TIMEOUT_S,
                              forget_when_done=True)
            else:
                queue.enqueue(SWEEP_TASK, task_id=task_id(None), queue=QUEUE, timeout_s=TIMEOUT_S,
                              forget_when_done=True)
        except Exception as exc:  # noqa: BLE001 - committed already; the cron task is the safety net
            log.warning("webhook delivery for %s not enqueued (the cron task will send it): %s: %s",
                        key or "unordered events", type(exc).__name__, exc)
            return  # the queue is down: the other keys would fail the same way, each after a timeout


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_NOTED, None)  # rolled back (a commit has taken them already)


_LISTENERS = (("after_commit", _after_commit), ("after_transaction_end", _after_transaction_end))


def install() -> None:
    """Attach the listeners (idempotent)."""
    listen_on_sessions(_LISTENERS)


def installed() -> bool:
    return listening_on_sessions(_LISTENERS)
