"""The hash-chained log over HTTP: the verifier names the first broken entry after tampering in the
database itself, and a daily root exported earlier exposes a chain rebuilt by an attacker."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dispatch import clock
from dispatch import runtime as task_runtime
from dispatch.audit_log import service as audit_log
from tests.helpers import assert_problem
from workers import audit_tasks

SHANGHAI = ZoneInfo("Asia/Shanghai")


def disable_append_only_guard(connection) -> None:
    """What an attacker with owner rights does first (rolled back with the test)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))


@pytest.fixture
def entries(session_factory):
    """Five fresh entries at the end of the chain; returns their sequence numbers."""
    with session_factory() as session:
        seqs = [audit_log.append(session, kind="test.event", subject_id=f"subject-{i}",
                                 payload={"n": i, "note": "original"}).seq for i in range(5)]
        session.commit()
    return seqs


def verify(api):
    response = api.get("/api/v1/audit-log/verify", as_="admin")
    assert response.status_code == 200, response.json
    return response.json


def position(connection, seq: int) -> tuple[str, int]:
    """(chain, chain_seq) of the entry ``seq``."""
    return tuple(connection.execute(text("SELECT chain, chain_seq FROM audit_log WHERE seq = :seq"),
                                    {"seq": seq}).one())


def test_an_intact_chain_verifies_to_its_head(api, connection, entries):
    body = verify(api)
    assert body["ok"] is True and body["first_broken_seq"] is None and body["first_broken_chain"] is None
    assert body["entries_checked"] == connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    assert body["head_seq"] == entries[-1]
    assert body["chains"] == connection.execute(text("SELECT count(DISTINCT chain) FROM audit_log")).scalar_one()


def test_hq_admins_and_reviewers_may_walk_the_chain_and_nobody_else(api):
    assert api.get("/api/v1/audit-log/verify", as_="reviewer").json["ok"] is True
    assert_problem(api.get("/api/v1/audit-log/verify", as_="manager.hz01"), 403, code="forbidden")
    assert_problem(api.get("/api/v1/audit-log/verify", as_="tech.hz01.1"), 403, code="forbidden")
    assert_problem(api.get("/api/v1/audit-log/verify"), 401)


def test_the_database_refuses_plain_updates_and_deletes_of_the_log(connection, entries):
    for statement in ("UPDATE audit_log SET kind = 'x' WHERE seq = :seq", "DELETE FROM audit_log WHERE seq = :seq"):
        savepoint = connection.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement), {"seq": entries[1]})
        savepoint.rollback()


def test_a_payload_edited_directly_in_the_database_is_named(api, connection, entries):
    disable_append_only_guard(connection)
    target = entries[2]
    connection.execute(text("UPDATE audit_log SET payload = :payload WHERE seq = :seq"),
                       {"payload": json.dumps({"n": 2, "note": "edited"}), "seq": target})
    body = verify(api)
    assert body["ok"] is False
    assert body["first_broken_seq"] == target
    assert body["problem"] == "content does not match its hash"
    assert body["entries_checked"] == position(connection, target)[1] - 1  # hq's chain is walked first


def test_a_deleted_entry_is_named_by_its_chain_and_position(api, connection, entries):
    chain, at = position(connection, entries[1])
    disable_append_only_guard(connection)
    connection.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": entries[1]})
    body = verify(api)
    assert (body["ok"], body["first_broken_chain"], body["first_broken_position"]) == (False, chain, at)
    assert body["problem"] == f"entry {at} of chain {chain} is missing (before entry {entries[2]})"


def test_removing_the_newest_entries_is_caught_by_the_head(api, connection, entries):
    disable_append_only_guard(connection)
    chain, at = position(connection, entries[3])
    connection.execute(text("DELETE FROM audit_log WHERE seq >= :seq"), {"seq": entries[3]})
    body = verify(api)
    assert body["ok"] is False and (body["first_broken_chain"], body["first_broken_position"]) == (chain, at)
    assert "head" in body["problem"]


def rebuild_chain_from(connection, seq: int) -> None:
    """An attacker with write access recomputes every hash of the entry's chain after their edit,
    and the chain's head."""
    chain, at = position(connection, seq)
    rows = connection.execute(text("SELECT seq, chain_seq, kind, subject_id, actor_id, at, payload FROM audit_log "
                                   "WHERE chain = :chain AND chain_seq >= :at ORDER BY chain_seq"),
                              {"chain": chain, "at": at}).all()
    prev = connection.execute(text("SELECT hash FROM audit_log WHERE chain = :chain AND chain_seq = :at"),
                              {"chain": chain, "at": at - 1}).scalar_one()
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
        when = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(row.at)
        when = when if when.tzinfo else when.replace(tzinfo=ZoneInfo("UTC"))
        digest = audit_log.entry_hash(prev, row.seq, row.kind, row.subject_id,
                                      str(row.actor_id) if row.actor_id else None, when, payload,
                                      chain=chain, chain_seq=row.chain_seq)
        connection.execute(text("UPDATE audit_log SET prev_hash = :prev, hash = :hash WHERE seq = :seq"),
                           {"prev": prev, "hash": digest, "seq": row.seq})
        prev = digest
    connection.execute(text("UPDATE audit_log_chains SET hash = :hash WHERE chain = :chain"),
                       {"hash": prev, "chain": chain})


def test_a_rebuilt_chain_verifies_but_no_longer_matches_the_root_exported_earlier(api, connection, session_factory):
    day = (clock.utcnow() + timedelta(days=10)).astimezone(SHANGHAI).date()
    with session_factory() as session:
        with clock.frozen(datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI)):
            edited = audit_log.append(session, kind="test.event", subject_id="a", payload={"amount": 5}).seq
            audit_log.append(session, kind="test.event", subject_id="b", payload={"amount": 7})
        with clock.frozen(datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI) + timedelta(days=1)):
            next_day = audit_log.append(session, kind="test.event", subject_id="c", payload={"amount": 9}).seq
        session.commit()

    exported = api.get(f"/api/v1/audit-log/roots?day={day.isoformat()}", as_="reviewer")
    assert exported.status_code == 200, exported.json
    assert exported.json["seq"] == edited + 1 and exported.json["timezone"] == "Asia/Shanghai"

    disable_append_only_guard(connection)
    connection.execute(text("UPDATE audit_log SET payload = :payload WHERE seq = :seq"),
                       {"payload": json.dumps({"amount": 500}), "seq": edited})
    assert verify(api)["first_broken_seq"] == edited
    rebuild_chain_from(connection, edited)

    body = verify(api)
    assert body["ok"] is True and body["head_seq"] == next_day  # the rebuilt chain is self-consistent...
    again = api.get(f"/api/v1/audit-log/roots?day={day.isoformat()}", as_="admin").json
    assert again["seq"] == exported.json["seq"]
    assert again["hash"] != exported.json["hash"]  # ...but the root kept outside exposes it


def test_roots_need_a_valid_day_and_an_hq_caller(api):
    assert_problem(api.get("/api/v1/audit-log/roots", as_="admin"), 422, field="day")
    assert_problem(api.get("/api/v1/audit-log/roots?day=2026-13-01", as_="admin"), 422, field="day")
    assert_problem(api.get("/api/v1/audit-log/roots?day=9999-12-31", as_="admin"), 422, field="day")
    assert_problem(api.get("/api/v1/audit-log/roots?day=2026-11-20", as_="manager.hz01"), 403)


def user(connection, username: str) -> SimpleNamespace:
    row = connection.execute(text("SELECT id, service_point_id FROM users WHERE username = :u"),
                             {"u": username}).one()
    return SimpleNamespace(id=uuid.UUID(str(row.id)), service_point_id=uuid.UUID(str(row.service_point_id)))


def test_writers_at_two_points_append_to_their_own_chains_and_a_root_binds_them(api, connection, session_factory,
                                                                                 settings, uow_factory):
    hz, nb = user(connection, "manager.hz01"), user(connection, "manager.nb01")
    with session_factory() as session:
        first = audit_log.append(session, kind="test.event", subject_id="a", actor_id=hz.id, payload={"n": 1})
        session.commit()
    with session_factory() as session:
        second = audit_log.append(session, kind="test.event", subject_id="b", actor_id=nb.id, payload={"n": 2})
        hq = audit_log.append(session, kind="test.event", subject_id="c", payload={"n": 3}, chain="hq")
        session.commit()
    assert (first.chain, second.chain) == (str(hz.service_point_id), str(nb.service_point_id))
    assert hq.chain == second.chain  # one transaction, one chain: it never holds two heads

    runtime = task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)
    with task_runtime.use(runtime):
        bound = audit_tasks.bind_audit_log_roots()
        assert audit_tasks.bind_audit_log_roots() is None  # nothing moved since
    root = connection.execute(text("SELECT chain, kind, payload FROM audit_log WHERE seq = :seq"),
                              {"seq": bound}).one()
    payload = root.payload if isinstance(root.payload, dict) else json.loads(root.payload)
    assert (root.chain, root.kind) == ("hq", "audit_log.root")
    assert payload["chains"][first.chain] == [first.chain_seq, first.hash]
    body = verify(api)
    assert body["ok"] is True and body["chains"] >= 3

    # An attacker cuts hz01's newest entry and moves its head back: the chain alone is consistent,
    # the root that bound it is not.
    disable_append_only_guard(connection)
    connection.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": first.seq})
    connection.execute(text("UPDATE audit_log_chains SET seq = :at, hash = :hash WHERE chain = :chain"),
                       {"at": first.chain_seq - 1, "hash": first.prev_hash, "chain": first.chain})
    body = verify(api)
    assert body["ok"] is False
    assert (body["first_broken_chain"], body["first_broken_position"]) == (first.chain, first.chain_seq)
    assert body["problem"].startswith(f"root entry {bound} ")


def test_the_roots_task_is_registered_with_rq_cron():
    import workers.cron  # noqa: F401  (registers on import)
    from rq.cron import _job_data_registry

    (entry,) = [j for j in _job_data_registry if j["name"] == "bind-audit-log-roots"]
    assert entry["func"] is audit_tasks.bind_audit_log_roots and entry["queue_name"] == "cron"
