"""Every mutation kind the sync protocol accepts, through HTTP: each one applied by a push and seen
by the manager, each one's bad payload rejected on its own (naming the field) while the rest of the
batch goes on, and the kinds documented in the OpenAPI document as a discriminated ``oneOf``."""

from __future__ import annotations

import uuid

import pytest

from dispatch import clock
from tests.api.jobs_builders import MONDAY
from tests.api.sop_builders import MANAGER, TECH, checklist, photo_ids, publish_template, scheduled_job, step
from tests.api.test_stock_movements import counted, level

DEVICE = "0d8f6c1e-7b2a-4f0e-9a31-5c2d1e0f9a77"
VAN = "VAN-tech.hz01.1"
PP = "FLT-PP-S1"  # fits every purifier model
KINDS = ("job_transition", "checklist_step", "parts_consumed", "note", "fault_cause")


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


@pytest.fixture
def job(api, session):
    publish_template(api, session)
    return scheduled_job(api, session)


def push(api, mutations, *, as_=TECH, device=DEVICE, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    response = api.post("/api/v1/sync/mutations", as_=as_, headers=headers,
                        json={"device_id": device, "mutations": mutations})
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:800])
    return response.json


def numbered(mutations: list[dict]) -> list[dict]:
    return [{"id": n, **m} for n, m in enumerate(mutations, start=1)]


def test_every_kind_is_applied_and_what_it_did_is_seen_through_the_api(api, job):
    counted(api, VAN, PP, 3)
    photo = photo_ids(api, 1)[0]
    line_id = str(uuid.uuid4())
    body = push(api, numbered([
        {"kind": "job_transition", "payload": {"job_id": job["id"], "to": "en_route"}},
        {"kind": "job_transition", "payload": {"job_id": job["id"], "to": "on_site",
                                               "location": {"lat": 30.27, "lon": 120.15}}},
        {"kind": "checklist_step", "payload": {"job_id": job["id"], "key": "photo_before", "evidence": [photo]}},
        {"kind": "checklist_step", "payload": {"job_id": job["id"], "key": "tds_tap", "value": 180}},
        {"kind": "parts_consumed", "payload": {"job_id": job["id"], "lines": [
            {"id": line_id, "part_sku": PP, "quantity": 2}]}},
        {"kind": "note", "payload": {"job_id": job["id"], "text": "gate code 4711"}},
        {"kind": "fault_cause", "payload": {"job_id": job["id"], "fault_cause_code": "WP-VLV-STUCK",
                                            "note": "coil reads open"}},
    ]))
    assert [(r["id"], r["status"]) for r in body["results"]] == [(n, "applied") for n in range(1, 8)], body
    assert body["last_mutation_id"] == 7 and body["gap_at"] is None
    cause = api.get(f"/api/v1/jobs/{job['id']}/fault-cause", as_=MANAGER).json
    assert (cause["fault_cause"]["code"], cause["note"]) == ("WP-VLV-STUCK", "coil reads open")

    seen = api.get(f"/api/v1/jobs/{job['id']}", as_=MANAGER).json
    assert seen["status"] == "on_site"
    assert any(e.get("kind") == "note" and e.get("reason") == "gate code 4711" for e in seen["events"]), seen["events"]
    sheet = checklist(api, job, as_=MANAGER)
    assert step(sheet, "photo_before")["status"] == "passed"
    assert step(sheet, "tds_tap")["current"]["value"] == 180
    parts = api.get(f"/api/v1/jobs/{job['id']}/parts", as_=MANAGER).json
    assert [(u["id"], u["part"]["sku"], u["quantity"], u["location"]["code"]) for u in parts["usages"]] == [
        (line_id, PP, 2, VAN)]
    assert level(api, VAN, PP)["on_hand"] == 1


def test_a_bad_payload_of_any_kind_is_rejected_alone_naming_the_field(api, job):
    counted(api, VAN, PP, 1)
    bad = [
        ("job_transition", {"job_id": job["id"], "to": "teleported"}, "payload.to"),
        ("job_transition", {"job_id": job["id"], "to": "en_route", "location": {"lat": 91, "lon": 0}},
         "payload.location.lat"),
        ("checklist_step", {"job_id": job["id"], "value": 12}, "payload.key"),
        ("checklist_step", {"job_id": job["id"], "key": "tds_tap", "evidence": "not-a-list"}, "payload.evidence"),
        ("parts_consumed", {"job_id": job["id"], "lines": [{"part_sku": PP, "quantity": 0}]},
         "payload.lines.0.quantity"),
        ("parts_consumed", {"job_id": job["id"], "lines": []}, "payload.lines"),
        ("parts_consumed", {"job_id": job["id"], "lines": [{"quantity": 1}]}, "payload.lines.0.part_sku"),
        ("note", {"job_id": job["id"], "text": ""}, "payload.text"),
        ("note", {"job_id": "not-a-job-id", "text": "hello"}, "payload.job_id"),
        ("note", {"text": "which job?"}, "payload.job_id"),
        ("note", {"job_id": job["id"], "text": "hi", "colour": "red"}, "payload.colour"),
        ("fault_cause", {"job_id": job["id"]}, "payload.fault_cause_code"),
        ("fault_cause", {"job_id": job["id"], "fault_cause_code": "NO-SUCH-CAUSE"}, "payload.fault_cause_code"),
        ("fault_cause", {"job_id": job["id"], "fault_cause_code": "WH-THS-FAIL"}, "payload.fault_cause_code"),
    ]
    mutations = numbered([{"kind": kind, "payload": payload} for kind, payload, _ in bad]
                         + [{"kind": "job_transition", "payload": {"job_id": job["id"], "to": "en_route"}}])
    body = push(api, mutations)
    results = body["results"]
    for (kind, _payload, field), result in zip(bad, results, strict=False):
        assert result["status"] == "rejected", (kind, result)
        assert field in result["problem"].get("errors", {}), (kind, field, result["problem"])
    assert results[-1]["status"] == "applied", results[-1]
    assert body["last_mutation_id"] == len(mutations)  # nothing blocks the device
    assert api.get(f"/api/v1/jobs/{job['id']}", as_=MANAGER).json["status"] == "en_route"
    assert api.get(f"/api/v1/jobs/{job['id']}/parts", as_=MANAGER).json["usages"] == []
    assert level(api, VAN, PP)["on_hand"] == 1


def test_a_parts_mutation_that_the_stock_refuses_is_rejected_and_later_ones_still_apply(api, job):
    counted(api, VAN, PP, 1)
    body = push(api, numbered([
        {"kind": "job_transition", "payload": {"job_id": job["id"], "to": "en_route"}},
        {"kind": "job_transition", "payload": {"job_id": job["id"], "to": "on_site"}},
        {"kind": "parts_consumed", "payload": {"job_id": job["id"], "lines": [{"part_sku": PP, "quantity": 5}]}},
        {"kind": "parts_consumed", "payload": {"job_id": job["id"], "lines": [
            {"part_sku": "NO-SUCH-PART", "quantity": 1}]}},
        {"kind": "parts_consumed", "payload": {"job_id": job["id"], "lines": [{"part_sku": PP, "quantity": 1}]}},
    ]))
    results = body["results"]
    assert (results[2]["status"], results[2]["reason"]) == ("conflict", "insufficient-stock"), results[2]
    assert results[2]["problem"]["part_sku"] == PP and results[2]["problem"]["available"] == 1
    assert results[3]["status"] == "rejected" and "payload.lines.0.part_sku" in results[3]["problem"]["errors"]
    assert results[4]["status"] == "applied", results[4]
    assert level(api, VAN, PP)["on_hand"] == 0


def test_a_repair_pushed_complete_without_a_fault_cause_is_refused_and_with_one_completes(api, job, monkeypatch):
    from dispatch.jobs import hooks
    from dispatch.warranty.job_hooks import refuse_completion_without_fault_cause

    monkeypatch.setattr(hooks, "_before", [refuse_completion_without_fault_cause])  # not the SOP gate here
    body = push(api, numbered([
        {"kind": "job_transition", "payload": {"job_id": job["id"], "to": "en_route"}},
        {"kind": "job_transition", "payload": {"job_id": job["id"], "to": "on_site"}},
        {"kind": "job_transition", "payload": {"job_id": job["id"], "to": "completed"}},
        {"kind": "fault_cause", "payload": {"job_id": job["id"], "fault_cause_code": "WP-MEM-SCALE"}},
        {"kind": "job_transition", "payload": {"job_id": job["id"], "to": "completed"}},
    ]))
    results = body["results"]
    assert (results[2]["status"], results[2]["problem"]["code"]) == ("conflict", "fault-cause-missing"), results[2]
    assert [r["status"] for r in results[3:]] == ["applied", "applied"], results
    assert results[3]["result"]["kind"] == "misuse", results[3]
    seen = api.get(f"/api/v1/jobs/{job['id']}", as_=MANAGER).json
    assert seen["status"] == "completed"
    assert api.get(f"/api/v1/jobs/{job['id']}/fault-cause", as_=MANAGER).json["fault_cause"]["kind"] == "misuse"


def test_the_openapi_document_describes_each_kind_as_a_discriminated_one_of(client):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/sync/mutations"]["post"]
    push_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    components = document["components"]["schemas"]
    push_ref = push_schema["$ref"].rsplit("/", 1)[-1]
    items = components[push_ref]["properties"]["mutations"]["items"]
    assert items["discriminator"]["propertyName"] == "kind"
    mapping = items["discriminator"]["mapping"]
    assert set(mapping) == set(KINDS)
    assert sorted(v["$ref"] for v in items["oneOf"]) == sorted(mapping.values())
    for kind, ref in mapping.items():
        variant = components[ref.rsplit("/", 1)[-1]]
        assert variant["properties"]["kind"]["enum"] == [kind]
        assert {"id", "kind", "payload"} <= set(variant["required"])
        payload_ref = variant["properties"]["payload"]
        payload = components[(payload_ref.get("$ref") or payload_ref["allOf"][0]["$ref"]).rsplit("/", 1)[-1]]
        assert "job_id" in payload["required"], (kind, payload)
    parts = components[mapping["parts_consumed"].rsplit("/", 1)[-1]]
    parts_payload = components[parts["properties"]["payload"]["$ref"].rsplit("/", 1)[-1]]
    assert "lines" in parts_payload["required"]
