"""Tampering beyond the log: every covered table, written through the API, then edited behind it
with SQL; ``GET /audit-log/verify`` names the row (table, id, the columns that changed) and the
log entry it contradicts, which must be the entry the API write appended (its kind, written by
that request). Rows inserted behind the API are named as unsealed, rows deleted behind it as
missing; a reviewer may run the check, and paging finds the same as one run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from dispatch import clock
from dispatch.audit_log.models import LogEntry, RowSeal
from dispatch.network.models import Unit
from tests.api.audit_builders import AuditWorld
from tests.api.audit_builders import WEEK as AUDIT_WEEK
from tests.api.audit_builders import local as audit_local
from tests.api.jobs_builders import MONDAY, create_job
from tests.api.sop_builders import on_site_job, photo_ids, publish_template, put_step, scheduled_job
from tests.api.test_stock_jobs import UF, fit, on_site, unit_serial
from tests.api.test_stock_movements import counted

VALVE, VAN = "VLV-SOL-IN", "VAN-tech.hz01.1"
PP = "FLT-PP-S1"  # fits every purifier model


def verify(api, as_: str = "reviewer", **params) -> dict:
    response = api.get("/api/v1/audit-log/verify", as_=as_, query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def named(before: dict, after: dict) -> dict[tuple[str, str], dict]:
    """The rows the second verification names that the first did not."""
    old = {(d["table"], d["id"], d["problem"]) for d in before["differences"]}
    return {(d["table"], d["id"]): d for d in after["differences"] if (d["table"], d["id"], d["problem"]) not in old}


@dataclass(frozen=True)
class Written:
    """The log entries one API request appended: seq in (after, upto], and their kinds."""

    after: int
    upto: int
    kinds: dict[int, str]

    def entry(self, kind: str) -> int:
        """The one entry of ``kind`` the request appended."""
        (seq,) = [seq for seq, k in self.kinds.items() if k == kind]
        return seq


def log_head(session) -> int:
    return session.scalar(select(func.max(LogEntry.seq))) or 0


def written(session, request):
    """Send ``request`` (a callable returning a response) and return (response, Written)."""
    after = log_head(session)
    response = request()
    upto = log_head(session)
    kinds = dict(session.execute(select(LogEntry.seq, LogEntry.kind).where(LogEntry.seq > after,
                                                                           LogEntry.seq <= upto)).all())
    return response, Written(after, upto, kinds)


def tamper(connection, statement: str, **params) -> None:
    connection.execute(text(statement), params)


def db_id(connection, value: str):
    """A UUID as the database stores it (SQLite: 32 hex digits; PostgreSQL: uuid)."""
    return uuid.UUID(value).hex if connection.dialect.name == "sqlite" else value


def row_id(connection, statement: str, **params) -> str:
    """The one id ``statement`` selects, as the API spells it."""
    (found,) = connection.execute(text(statement), params).scalars().all()
    return str(uuid.UUID(str(found)))


def assert_named(before, after, table: str, row: str, fields: set[str], log_seq: int | None,
                 problem: str = "changed") -> None:
    found = named(before, after)
    assert (table, row) in found, (table, row, after["differences"])
    difference = found[(table, row)]
    assert difference["problem"] == problem and set(difference["fields"]) == fields, difference
    assert difference["log_seq"] == log_seq, (difference, log_seq)
    assert after["ok"] is False and after["differences_total"] >= len(found)


@pytest.fixture
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


def test_a_checklist_step_value_and_its_evidence_hashes_edited_in_the_database_are_named(
        api, session, connection, monday):
    publish_template(api, session)
    job = on_site_job(api, session)
    photo = photo_ids(api, 1)[0]
    recorded, survey_write = written(session, lambda: put_step(api, job, "photo_before", None, [photo]))
    assert recorded.status_code == 200, recorded.json
    measured, pressure_write = written(session, lambda: put_step(api, job, "pressure", 0.25))
    assert measured.status_code == 200, measured.json
    survey, pressure = recorded.json["current"]["id"], measured.json["current"]["id"]
    before = verify(api)
    assert not {(d["table"], d["id"]) for d in before["differences"]} & {
        ("checklist_step_results", survey), ("checklist_step_results", pressure)}

    tamper(connection, "UPDATE checklist_step_results SET value = '0.39', status = 'passed' WHERE id = :id",
           id=db_id(connection, pressure))
    tamper(connection, "UPDATE attachments SET sha256 = :sha WHERE id = :id", sha="f" * 64,
           id=db_id(connection, photo))
    after = verify(api)
    assert_named(before, after, "checklist_step_results", pressure, {"value"}, pressure_write.entry("sop.step_result"))
    assert_named(before, after, "checklist_step_results", survey, {"evidence"}, survey_write.entry("sop.step_result"))
    entry = session.get(LogEntry, pressure_write.entry("sop.step_result"))
    assert entry.payload["step_key"] == "pressure" and entry.payload["value"] == 0.25


def test_the_served_copy_of_a_photo_swapped_in_the_database_is_named(api, session, connection, monday):
    """The server stores and serves a copy without EXIF (its own hash, stored_sha256): pointing
    the evidence at another stored file is tampering with the evidence too."""
    publish_template(api, session)
    job = on_site_job(api, session)
    photo = photo_ids(api, 1)[0]
    recorded, write = written(session, lambda: put_step(api, job, "photo_before", None, [photo]))
    assert recorded.status_code == 200, recorded.json
    before = verify(api)
    tamper(connection, "UPDATE attachments SET stored_sha256 = :sha WHERE id = :id", sha="e" * 64,
           id=db_id(connection, photo))
    assert_named(before, verify(api), "checklist_step_results", recorded.json["current"]["id"], {"evidence"},
                 write.entry("sop.step_result"))


def test_a_step_and_parts_pushed_by_the_phone_then_edited_in_the_database_are_named(api, session, connection, monday):
    """The sync push (offline phones) seals what it writes like the HTTP routes do."""
    publish_template(api, session)
    job = scheduled_job(api, session)
    counted(api, VAN, PP, 3)
    line = str(uuid.uuid4())
    pushed, write = written(session, lambda: api.post("/api/v1/sync/mutations", as_="tech.hz01.1", json={
        "device_id": str(uuid.uuid4()), "mutations": [
            {"id": 1, "kind": "job_transition", "payload": {"job_id": job["id"], "to": "en_route"}},
            {"id": 2, "kind": "job_transition", "payload": {"job_id": job["id"], "to": "on_site"}},
            {"id": 3, "kind": "checklist_step", "payload": {"job_id": job["id"], "key": "tds_tap", "value": 180}},
            {"id": 4, "kind": "parts_consumed", "payload": {"job_id": job["id"], "lines": [
                {"id": line, "part_sku": PP, "quantity": 2}]}}]}))
    assert pushed.status_code == 200 and {r["status"] for r in pushed.json["results"]} == {"applied"}, pushed.json
    result = row_id(connection, "SELECT r.id FROM checklist_step_results r JOIN checklists c ON c.id = r.checklist_id "
                                "WHERE c.job_id = :job AND r.step_key = 'tds_tap'", job=db_id(connection, job["id"]))
    before = verify(api)
    tamper(connection, "UPDATE checklist_step_results SET value = '90' WHERE id = :id", id=db_id(connection, result))
    tamper(connection, "UPDATE part_usages SET quantity = 1 WHERE id = :id", id=db_id(connection, line))
    after = verify(api)
    assert_named(before, after, "checklist_step_results", result, {"value"}, write.entry("sop.step_result"))
    assert_named(before, after, "part_usages", line, {"quantity"}, write.entry("stock.movement"))


def test_an_audit_verdict_and_the_audits_copy_of_it_edited_in_the_database_are_named(
        api, session_factory, session, connection):
    world = AuditWorld(api, session_factory)
    for i in range(6):
        world.checklist("SZ01", completed_at=audit_local(i % 6, 9 + i))
    drawn = AUDIT_WEEK.freezes_at + timedelta(minutes=30)
    world.draw(drawn)
    audit = world.audits(world.lot("SZ01")["lot"]["id"])[0]
    with world.at(drawn):
        given, write = written(session, lambda: api.post(f"/api/v1/audits/{audit['id']}/verdict", as_="reviewer", json={
            "verdict": "major", "findings": [{"step_key": "site_survey_photo", "code": "missing_evidence",
                                              "note": "no cabinet"}]}))
    assert given.status_code == 200, given.json
    verdict_id = row_id(connection, "SELECT id FROM audit_verdicts WHERE audit_id = :a",
                        a=db_id(connection, audit["id"]))
    entry = write.entry("audit.verdict.review")
    before = verify(api)
    tamper(connection, "UPDATE audit_verdicts SET verdict = 'conforming' WHERE id = :id",
           id=db_id(connection, verdict_id))
    # the copy lot decisions and KPIs read
    tamper(connection, "UPDATE audits SET verdict = 'conforming' WHERE id = :id", id=db_id(connection, audit["id"]))
    after = verify(api)
    assert_named(before, after, "audit_verdicts", verdict_id, {"verdict"}, entry)
    assert_named(before, after, "audits", audit["id"], {"verdict"}, entry)
    assert session.get(LogEntry, entry).payload["verdict"] == "major"


def test_prices_bill_lines_parts_fitted_and_stock_movements_edited_in_the_database_are_named(
        api, session, connection, monday):
    counted(api, VAN, UF, 3)
    job = create_job(api, session, "HZ01", unit_serial=unit_serial(session, covered=False))
    on_site(api, session, job)
    fitted, fit_write = written(session, lambda: fit(api, job, part_sku=UF, quantity=1))  # fits the UF purifier
    assert fitted.status_code == 201, fitted.json
    usage = fitted.json["usages"][0]["id"]
    overrides, override_write = written(session, lambda: api.put(
        f"/api/v1/jobs/{job['id']}/bill/overrides", as_="manager.hz01",
        json={"overrides": [{"unit_price": "60.00", "reason": "goodwill"}]}))
    assert overrides.status_code == 200, overrides.json
    override = row_id(connection, "SELECT id FROM bill_price_overrides WHERE job_id = :j",
                      j=db_id(connection, job["id"]))
    part = api.get(f"/api/v1/parts/?q={VALVE}", as_="admin").json[0]
    etag = api.get(f"/api/v1/parts/{part['id']}", as_="admin").headers["ETag"]
    priced, price_write = written(session, lambda: api.patch(f"/api/v1/parts/{part['id']}", as_="admin",
                                                             json={"list_price": "88.00"}, headers={"If-Match": etag}))
    assert priced.status_code == 200, priced.json
    rate, rate_write = written(session, lambda: api.put("/api/v1/labour-rates/install", as_="admin",
                                                        json={"amount": "150.00"}))
    assert rate.status_code == 200, rate.json
    delivery, delivery_write = written(session, lambda: api.post(
        "/api/v1/stock/deliveries", as_="admin", json={"lines": [{"part_sku": VALVE, "quantity": 4}]}))
    assert delivery.status_code == 201, delivery.json
    movement = delivery.json[0]["id"]
    before = verify(api)

    edits = [
        ("part_usages", usage, "UPDATE part_usages SET list_price = 1 WHERE id = :id", {"list_price"},
         fit_write.entry("stock.movement")),
        ("bill_price_overrides", override, "UPDATE bill_price_overrides SET unit_price = 1 WHERE id = :id",
         {"unit_price"}, override_write.entry("stock.bill_prices")),
        ("parts", part["id"], "UPDATE parts SET list_price = 8.80 WHERE id = :id", {"list_price"},
         price_write.entry("stock.part_price")),
        ("stock_movements", movement, "UPDATE stock_movements SET quantity = 40, delta_on_hand = 40 WHERE id = :id",
         {"quantity", "delta_on_hand"}, delivery_write.entry("stock.movement")),
    ]
    for _, row, statement, _, _ in edits:
        tamper(connection, statement, id=db_id(connection, row))
    tamper(connection, "UPDATE labour_rates SET amount = 1 WHERE job_type = 'install'")
    after = verify(api)
    for table, row, _, fields, entry in edits:
        assert_named(before, after, table, row, fields, entry)
    assert_named(before, after, "labour_rates", "install", {"amount"}, rate_write.entry("stock.labour_rate"))


def test_a_warranty_claim_edited_in_the_database_is_named(api, session, connection, monday):
    """What HQ reimburses a point for a part fitted under warranty, sealed when filed and again
    when HQ decides."""
    counted(api, VAN, VALVE, 1)
    job = create_job(api, session, "HZ01", unit_serial=unit_serial(session, covered=True))
    on_site(api, session, job)
    fitted = fit(api, job, part_sku=VALVE, quantity=1)
    assert fitted.status_code == 201, fitted.json
    [claim] = fitted.json["claims"]
    assert api.post(f"/api/v1/claims/{claim['id']}/defective-return", as_="admin", json={}).status_code == 200
    decided, write = written(session, lambda: api.post(f"/api/v1/claims/{claim['id']}/decision", as_="admin",
                                                       json={"approve": True}))
    assert decided.status_code == 200, decided.json
    before = verify(api)
    tamper(connection, "UPDATE warranty_claims SET amount = 680, quantity = 10 WHERE id = :id",
           id=db_id(connection, claim["id"]))
    assert_named(before, verify(api), "warranty_claims", claim["id"], {"amount", "quantity"},
                 write.entry("stock.claim_decision"))


def test_a_warranty_card_and_the_units_warranty_edited_in_the_database_are_named(api, session, connection):
    unit = session.scalar(select(Unit).where(Unit.customer_id.is_(None)).order_by(Unit.serial).limit(1))
    customer = api.get("/api/v1/customers/?page_size=1", as_="manager.hz01").json[0]["id"]
    activated, write = written(session, lambda: api.post(f"/api/v1/units/{unit.serial}/activation", as_="admin", json={
        "customer_id": customer, "purchased_on": (clock.utcnow().date() - timedelta(days=3)).isoformat(),
        "sales_channel": "retail"}))
    assert activated.status_code == 201, activated.json
    card = activated.json["activations"][0]["id"]
    later = (clock.utcnow().date() + timedelta(days=400)).isoformat()  # a longer warranty
    before = verify(api)
    tamper(connection, "UPDATE activations SET purchased_on = :d WHERE id = :id", d=later, id=db_id(connection, card))
    tamper(connection, "UPDATE units SET purchased_on = :d WHERE id = :id", d=later, id=db_id(connection, str(unit.id)))
    after = verify(api)
    assert_named(before, after, "activations", card, {"purchased_on"}, write.entry("unit.activation"))
    assert_named(before, after, "units", str(unit.id), {"purchased_on"}, write.entry("unit.activation"))


def test_a_row_inserted_or_deleted_behind_the_api_is_named_and_one_deleted_through_it_is_not(
        api, session, connection, monday):
    delivery = api.post("/api/v1/stock/deliveries", as_="admin", json={"lines": [{"part_sku": VALVE, "quantity": 2}]})
    assert delivery.status_code == 201, delivery.json
    jobs = [create_job(api, session, "HZ01", unit_serial=unit_serial(session, covered=False)) for _ in range(2)]
    overrides = {}
    for job in jobs:
        response, write = written(session, lambda job=job: api.put(
            f"/api/v1/jobs/{job['id']}/bill/overrides", as_="manager.hz01",
            json={"overrides": [{"unit_price": "10.00", "reason": "goodwill"}]}))
        assert response.status_code == 200, response.json
        overrides[job["id"]] = (row_id(connection, "SELECT id FROM bill_price_overrides WHERE job_id = :j",
                                       j=db_id(connection, job["id"])), write.entry("stock.bill_prices"))
    removed = api.put(f"/api/v1/jobs/{jobs[1]['id']}/bill/overrides", as_="manager.hz01", json={"overrides": []})
    assert removed.status_code == 200, removed.json  # a deletion through the API is recorded
    before = verify(api)
    assert before["ok"] is True, before["differences"][:5]
    forged = uuid.uuid4()
    tamper(connection, "INSERT INTO stock_movements (id, operation_id, kind, location_id, part_id, quantity, "
                       "delta_on_hand, delta_reserved, delta_in_transit, delta_defective, reason, reference, at) "
                       "SELECT :new, operation_id, kind, location_id, part_id, 500, 500, 0, 0, 0, 'forged', '', at "
                       "FROM stock_movements WHERE kind = 'receive' LIMIT 1", new=db_id(connection, str(forged)))
    deleted, entry = overrides[jobs[0]["id"]]
    tamper(connection, "DELETE FROM bill_price_overrides WHERE id = :id", id=db_id(connection, deleted))
    after = verify(api)
    assert_named(before, after, "stock_movements", str(forged), set(), None, problem="unsealed")
    assert_named(before, after, "bill_price_overrides", deleted, set(), entry, problem="missing")
    assert set(named(before, after)) == {("stock_movements", str(forged)), ("bill_price_overrides", deleted)}


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
