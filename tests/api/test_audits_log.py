"""The hash-chained log over HTTP: the verifier names the first broken entry after tampering in the
database itself, and a daily root exported earlier exposes a chain rebuilt by an attacker."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dispatch import clock
from dispatch.audit_log import service as audit_log
from tests.helpers import assert_problem

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


def test_an_intact_chain_verifies_to_its_head(api, entries):
    body = verify(api)
    assert body["ok"] is True and body["first_broken_seq"] is None
    assert body["entries_checked"] == body["head_seq"] == entries[-1]


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
    assert body["entries_checked"] == target - 1


def test_a_deleted_entry_is_named(api, connection, entries):
    disable_append_only_guard(connection)
    connection.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": entries[1]})
    body = verify(api)
    assert (body["ok"], body["first_broken_seq"], body["problem"]) == (
        False, entries[1], f"entry {entries[1]} is missing")


def test_removing_the_newest_entries_is_caught_by_the_head(api, connection, entries):
    disable_append_only_guard(connection)
    connection.execute(text("DELETE FROM audit_log WHERE seq >= :seq"), {"seq": entries[3]})
    body = verify(api)
    assert body["ok"] is False and body["first_broken_seq"] == entries[3]
    assert "head" in body["problem"]


def rebuild_chain_from(connection, seq: int) -> None:
    """An attacker with write access recomputes every hash after their edit, and the head."""
    rows = connection.execute(text("SELECT seq, kind, subject_id, actor_id, at, payload FROM audit_log "
                                   "WHERE seq >= :seq ORDER BY seq"), {"seq": seq}).all()
    prev = connection.execute(text("SELECT hash FROM audit_log WHERE seq = :seq"), {"seq": seq - 1}).scalar_one()
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
        at = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(row.at)
        at = at if at.tzinfo else at.replace(tzinfo=ZoneInfo("UTC"))
        digest = audit_log.entry_hash(prev, row.seq, row.kind, row.subject_id,
                                      str(row.actor_id) if row.actor_id else None, at, payload)
        connection.execute(text("UPDATE audit_log SET prev_hash = :prev, hash = :hash WHERE seq = :seq"),
                           {"prev": prev, "hash": digest, "seq": row.seq})
        prev = digest
    connection.execute(text("UPDATE audit_log_head SET hash = :hash WHERE id = 1"), {"hash": prev})


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
