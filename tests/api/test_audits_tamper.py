"""Tampering beyond the log: every covered table, written through the API, then edited behind it
with SQL; ``GET /audit-log/verify`` names the row (table, id, the columns that changed) and the
log entry it contradicts. Rows inserted behind the API are named as unsealed, rows deleted
behind it as missing; a reviewer may run the check, and paging finds the same as one run."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from dispatch import clock
from dispatch.audit_log.models import LogEntry, RowSeal
from dispatch.network.models import Unit
from tests.api.audit_builders import AuditWorld
from tests.api.audit_builders import WEEK as AUDIT_WEEK
from tests.api.audit_builders import local as audit_local
from tests.api.jobs_builders import MONDAY, create_job
from tests.api.sop_builders import on_site_job, photo_ids, publish_template, put_step
from tests.api.test_stock_jobs import UF, fit, on_site, unit_serial
from tests.api.test_stock_movements import counted

VALVE, VAN = "VLV-SOL-IN", "VAN-tech.hz01.1"


def verify(api, as_: str = "reviewer", **params) -> dict:
    response = api.get("/api/v1/audit-log/verify", as_=as_, query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def named(before: dict, after: dict) -> dict[tuple[str, str], dict]:
    """The rows the second verification names that the first did not."""
    old = {(d["table"], d["id"], d["problem"]) for d in before["differences"]}
    return {(d["table"], d["id"]): d for d in after["differences"] if (d["table"], d["id"], d["problem"]) not in old}


def sealed_by(session, table: str, row_id: str) -> int:
    """The entry holding the row's newest seal (what the write through the API recorded)."""
    return session.scalar(select(RowSeal.log_seq).where(RowSeal.table_name == table, RowSeal.row_id == row_id)
                          .order_by(RowSeal.row_version.desc()).limit(1))


def tamper(connection, statement: str, **params) -> None:
    connection.execute(text(statement), params)


def db_id(connection, value: str):
    """A UUID as the database stores it (SQLite: 32 hex digits; PostgreSQL: uuid)."""
    return uuid.UUID(value).hex if connection.dialect.name == "sqlite" else value


def only_override(connection, job_id: str) -> str:
    (row_id,) = connection.execute(text("SELECT id FROM bill_price_overrides WHERE job_id = :j"),
                                   {"j": db_id(connection, job_id)}).scalars().all()
    return str(uuid.UUID(str(row_id)))


def assert_named(before, after, table: str, row_id: str, fields: set[str], log_seq: int | None,
                 problem: str = "changed") -> None:
    found = named(before, after)
    assert (table, row_id) in found, (table, row_id, after["differences"])
    difference = found[(table, row_id)]
    assert difference["problem"] == problem and set(difference["fields"]) == fields, difference
    assert difference["log_seq"] == log_seq
    assert after["ok"] is False and after["differences_total"] >= len(found)


@pytest.fixture
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


def test_a_checklist_step_value_and_its_evidence_hash_edited_in_the_database_are_named(
        api, session, connection, monday):
    publish_template(api, session)
    job = on_site_job(api, session)
    photo = photo_ids(api, 1)[0]
    recorded = put_step(api, job, "photo_before", None, [photo])
    assert recorded.status_code == 200, recorded.json
    assert put_step(api, job, "pressure", 0.25).status_code == 200
    checklist = api.get(f"/api/v1/jobs/{job['id']}/checklist", as_="tech.hz01.1").json
    revisions = {s["key"]: s["current"]["id"] for s in checklist["steps"] if s.get("current")}
    before = verify(api)
    assert not named({"differences": []}, before).keys() & {("checklist_step_results", r) for r in revisions.values()}

    pressure = revisions["pressure"]
    tamper(connection, "UPDATE checklist_step_results SET value = '0.39', status = 'passed' WHERE id = :id",
           id=db_id(connection, pressure))
    tamper(connection, "UPDATE attachments SET sha256 = :sha WHERE id = :id", sha="f" * 64,
           id=db_id(connection, photo))
    after = verify(api)
    assert_named(before, after, "checklist_step_results", pressure, {"value"},
                 sealed_by(session, "checklist_step_results", pressure))
    survey = revisions["photo_before"]
    assert_named(before, after, "checklist_step_results", survey, {"evidence"},
                 sealed_by(session, "checklist_step_results", survey))
    entry = session.get(LogEntry, sealed_by(session, "checklist_step_results", pressure))
    assert entry.kind == "sop.step_result" and entry.payload["value"] == 0.25


def test_an_audit_verdict_edited_in_the_database_is_named(api, session_factory, session, connection):
    world = AuditWorld(api, session_factory)
    for i in range(6):
        world.checklist("SZ01", completed_at=audit_local(i % 6, 9 + i))
    drawn = AUDIT_WEEK.freezes_at + timedelta(minutes=30)
    world.draw(drawn)
    audit = world.audits(world.lot("SZ01")["lot"]["id"])[0]
    with world.at(drawn):
        given = api.post(f"/api/v1/audits/{audit['id']}/verdict", as_="reviewer", json={
            "verdict": "major", "findings": [{"step_key": "site_survey_photo", "code": "missing_evidence",
                                              "note": "no cabinet"}]})
    assert given.status_code == 200, given.json
    verdict_id = session.scalar(text("SELECT id FROM audit_verdicts WHERE audit_id = :a"),
                                {"a": db_id(connection, audit["id"])})
    verdict_id = str(uuid.UUID(str(verdict_id)))
    before = verify(api)
    tamper(connection, "UPDATE audit_verdicts SET verdict = 'conforming' WHERE id = :id",
           id=db_id(connection, verdict_id))
    after = verify(api)
    assert_named(before, after, "audit_verdicts", verdict_id, {"verdict"}, sealed_by(session, "audit_verdicts",
                                                                                     verdict_id))
    assert session.get(LogEntry, sealed_by(session, "audit_verdicts", verdict_id)).kind == "audit.verdict.review"


def test_prices_bill_lines_parts_fitted_and_stock_movements_edited_in_the_database_are_named(
        api, session, connection, monday):
    counted(api, VAN, UF, 3)
    job = create_job(api, session, "HZ01", unit_serial=unit_serial(session, covered=False))
    on_site(api, session, job)
    fitted = fit(api, job, part_sku=UF, quantity=1)  # fits the out-of-warranty purifier
    assert fitted.status_code == 201, fitted.json
    usage = fitted.json["usages"][0]["id"]
    overrides = api.put(f"/api/v1/jobs/{job['id']}/bill/overrides", as_="manager.hz01", json={"overrides": [
        {"unit_price": "60.00", "reason": "goodwill"}]})
    assert overrides.status_code == 200, overrides.json
    override = only_override(connection, job["id"])
    part = api.get(f"/api/v1/parts/?q={VALVE}", as_="admin").json[0]
    priced = api.patch(f"/api/v1/parts/{part['id']}", as_="admin", json={"list_price": "88.00"},
                       headers={"If-Match": api.get(f"/api/v1/parts/{part['id']}", as_="admin").headers["ETag"]})
    assert priced.status_code == 200, priced.json
    rate = api.put("/api/v1/labour-rates/install", as_="admin", json={"amount": "150.00"})
    assert rate.status_code == 200, rate.json
    delivery = api.post("/api/v1/stock/deliveries", as_="admin", json={"lines": [{"part_sku": VALVE, "quantity": 4}]})
    assert delivery.status_code == 201, delivery.json
    movement = delivery.json[0]["id"]
    before = verify(api)

    edits = [
        ("part_usages", usage, "UPDATE part_usages SET list_price = 1 WHERE id = :id", {"list_price"}),
        ("bill_price_overrides", override, "UPDATE bill_price_overrides SET unit_price = 1 WHERE id = :id",
         {"unit_price"}),
        ("parts", part["id"], "UPDATE parts SET list_price = 8.80 WHERE id = :id", {"list_price"}),
        ("stock_movements", movement, "UPDATE stock_movements SET quantity = 40, delta_on_hand = 40 WHERE id = :id",
         {"quantity", "delta_on_hand"}),
    ]
    for _, row_id, statement, _ in edits:
        tamper(connection, statement, id=db_id(connection, row_id))
    tamper(connection, "UPDATE labour_rates SET amount = 1 WHERE job_type = 'install'")
    after = verify(api)
    for table, row_id, _, fields in edits:
        assert_named(before, after, table, row_id, fields, sealed_by(session, table, row_id))
    assert_named(before, after, "labour_rates", "install", {"amount"}, sealed_by(session, "labour_rates", "install"))


def test_a_warranty_card_and_the_units_warranty_edited_in_the_database_are_named(api, session, connection):
    unit = session.scalar(select(Unit).where(Unit.customer_id.is_(None)).order_by(Unit.serial).limit(1))
    customer = api.get("/api/v1/customers/?page_size=1", as_="manager.hz01").json[0]["id"]
    activated = api.post(f"/api/v1/units/{unit.serial}/activation", as_="admin", json={
        "customer_id": customer, "purchased_on": (clock.utcnow().date() - timedelta(days=3)).isoformat(),
        "sales_channel": "retail"})
    assert activated.status_code == 201, activated.json
    card = activated.json["activations"][0]["id"]
    before = verify(api)
    tamper(connection, "UPDATE activations SET purchased_on = '2030-01-01' WHERE id = :id", id=db_id(connection, card))
    tamper(connection, "UPDATE units SET purchased_on = '2030-01-01' WHERE id = :id", id=db_id(connection, str(unit.id)))
    after = verify(api)
    assert_named(before, after, "activations", card, {"purchased_on"}, sealed_by(session, "activations", card))
    assert_named(before, after, "units", str(unit.id), {"purchased_on"}, sealed_by(session, "units", str(unit.id)))


def test_a_row_inserted_or_deleted_behind_the_api_is_named(api, session, connection, monday):
    delivery = api.post("/api/v1/stock/deliveries", as_="admin", json={"lines": [{"part_sku": VALVE, "quantity": 2}]})
    assert delivery.status_code == 201, delivery.json
    job = create_job(api, session, "HZ01", unit_serial=unit_serial(session, covered=False))
    overrides = api.put(f"/api/v1/jobs/{job['id']}/bill/overrides", as_="manager.hz01", json={"overrides": [
        {"unit_price": "10.00", "reason": "goodwill"}]})
    assert overrides.status_code == 200, overrides.json
    override = only_override(connection, job["id"])
    before = verify(api)
    assert before["ok"] is True, before["differences"][:5]
    forged = uuid.uuid4()
    tamper(connection, "INSERT INTO stock_movements (id, operation_id, kind, location_id, part_id, quantity, "
                       "delta_on_hand, delta_reserved, delta_in_transit, delta_defective, reason, reference, at) "
                       "SELECT :new, operation_id, kind, location_id, part_id, 500, 500, 0, 0, 0, 'forged', '', at "
                       "FROM stock_movements WHERE kind = 'receive' LIMIT 1", new=db_id(connection, str(forged)))
    tamper(connection, "DELETE FROM bill_price_overrides WHERE id = :id", id=db_id(connection, override))
    after = verify(api)
    assert_named(before, after, "stock_movements", str(forged), set(), None, problem="unsealed")
    assert_named(before, after, "bill_price_overrides", override, set(),
                 sealed_by(session, "bill_price_overrides", override), problem="missing")

    replaced = api.put(f"/api/v1/jobs/{job['id']}/bill/overrides", as_="manager.hz01", json={"overrides": []})
    assert replaced.status_code == 200  # a deletion through the API is recorded: nothing to name


def test_a_paged_verification_finds_what_one_run_finds(api, connection, session):
    part = api.get(f"/api/v1/parts/?q={VALVE}", as_="admin").json[0]
    tamper(connection, "UPDATE parts SET list_price = 1 WHERE id = :id", id=db_id(connection, part["id"]))
    whole = verify(api, as_="admin")
    assert whole["complete"] is True and whole["next_cursor"] is None
    pages, found, cursor = 0, [], None
    while True:
        page = verify(api, as_="reviewer", limit=300, **({"cursor": cursor} if cursor else {}))
        pages, found = pages + 1, found + page["differences"]
        if page["complete"]:
            break
        cursor = page["next_cursor"]
    assert pages > 3
    assert page["entries_checked"] == whole["entries_checked"] and page["rows_checked"] == whole["rows_checked"]
    assert page["ok"] is whole["ok"] is False and page["differences_total"] == whole["differences_total"]
    assert sorted(found, key=str) == sorted(whole["differences"], key=str)
    assert ("parts", part["id"]) in {(d["table"], d["id"]) for d in found}
    forged = api.get("/api/v1/audit-log/verify", as_="reviewer", query_string={"cursor": cursor[:-2] + "xx"})
    assert forged.status_code == 422


def test_seals_are_append_only_and_part_of_their_entrys_hash(api, connection, session):
    from sqlalchemy.exc import DBAPIError

    seal = session.execute(select(RowSeal.table_name, RowSeal.row_id, RowSeal.row_version).limit(1)).one()
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        tamper(connection, "DELETE FROM audit_log_seals WHERE table_name = :t AND row_id = :r AND row_version = :v",
               t=seal[0], r=seal[1], v=seal[2])
    savepoint.rollback()
    if connection.dialect.name == "postgresql":
        tamper(connection, "ALTER TABLE audit_log_seals DISABLE TRIGGER USER")
    else:
        tamper(connection, "DROP TRIGGER IF EXISTS audit_log_seals_no_update")
    tamper(connection, "UPDATE audit_log_seals SET row_hash = :h WHERE table_name = :t AND row_id = :r "
                       "AND row_version = :v", h="0" * 64, t=seal[0], r=seal[1], v=seal[2])
    body = verify(api)
    assert body["ok"] is False and body["problem"] == "content does not match its hash"
    logged = session.scalar(select(RowSeal.log_seq).where(RowSeal.table_name == seal[0], RowSeal.row_id == seal[1],
                                                          RowSeal.row_version == seal[2]))
    assert body["first_broken_seq"] == logged


def test_every_covered_table_has_a_tamper_test_here():
    from dispatch.audit_log.seals import covered

    source = open(__file__).read()
    untested = [table for table in covered() if f'"{table}"' not in source]
    assert untested == []



def test_after_an_upgrade_the_baseline_command_seals_rows_written_before_seals_existed(app, api, connection):
    """Rows from before the upgrade carry no seal and are named as unsealed until an operator
    runs ``dispatch audit-log baseline`` once; the baseline is itself in the log."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from dispatch.cli import main

    old = uuid.uuid4()
    tamper(connection, "INSERT INTO stock_movements (id, operation_id, kind, location_id, part_id, quantity, "
                       "delta_on_hand, delta_reserved, delta_in_transit, delta_defective, reason, reference, at) "
                       "SELECT :new, operation_id, kind, location_id, part_id, quantity, delta_on_hand, 0, 0, 0, "
                       "'before the upgrade', '', at FROM stock_movements LIMIT 1", new=db_id(connection, str(old)))
    assert ("stock_movements", str(old)) in {(d["table"], d["id"]) for d in verify(api)["differences"]}
    result = CliRunner().invoke(main, ["audit-log", "baseline"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sealed 1 rows"
    after = verify(api)
    assert after["ok"] is True, after["differences"]
