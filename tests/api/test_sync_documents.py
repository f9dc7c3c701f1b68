"""The sync documents a phone receives are the same, byte for byte, whatever way the server reads
them: the snapshot's jobs, checklists and route facts are read as column rows (issue 18); this compares
them with the entity-graph reading they replaced (jobs, customer, units and warranty, checklists,
route facts), on checklists with revised steps, evidence and flagged results, and a technician's
day of several stops."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from dispatch import clock
from dispatch.jobs import calendar
from dispatch.jobs.models import Job
from dispatch.network.models import Unit
from dispatch.network.rules import in_warranty, warranty_until
from dispatch.routing import technician_day
from dispatch.sop.models import Checklist, SopVersion, StepResult
from dispatch.sync import documents
from tests.api.jobs_builders import MONDAY
from tests.api.sop_builders import TECH, on_site_job, photo_ids, publish_template, put_step, scheduled_job, technician

TZ = ZoneInfo("Asia/Shanghai")


def entity_checklists(session, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The checklist documents as the snapshot built them from entities before issue 18's round 6."""
    checklists = session.scalars(
        select(Checklist).where(Checklist.job_id.in_(job_ids)).options(
            joinedload(Checklist.template_version).selectinload(SopVersion.steps),
            selectinload(Checklist.results).selectinload(StepResult.evidence),
        )
    ).all()
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for checklist in checklists:
        current: dict[str, StepResult] = {}
        for result in checklist.results:
            current[result.step_key] = result
        version = checklist.template_version
        out[checklist.job_id] = {
            "id": str(checklist.id),
            "status": checklist.status.value,
            "template": {"version_id": str(version.id), "number": version.number, "title": version.title,
                         "steps": [{"key": s.key, "position": s.position, "title": s.title,
                                    "instructions": s.instructions, "kind": s.kind.value, "required": s.required,
                                    "out_of_range": s.out_of_range.value, "after": s.after, "params": s.params}
                                   for s in version.steps]},
            "results": [{"id": str(r.id), "key": r.step_key, "revision": r.revision, "value": r.value,
                         "status": r.status.value, "reasons": r.reasons,
                         "evidence": [str(link.attachment_id) for link in r.evidence],
                         "recorded_at": documents._iso(r.recorded_at), "received_at": documents._iso(r.received_at)}
                        for r in current.values()],
        }
    return out


def entity_job_documents(session, job_ids, today, tz, *, technician_id):
    """The job documents as the snapshot built them from entities before issue 18's round 6."""
    jobs = session.scalars(select(Job).where(Job.id.in_(job_ids)).options(
        joinedload(Job.customer), joinedload(Job.product), joinedload(Job.unit).joinedload(Unit.product),
        selectinload(Job.helpers))).all()
    checklists = entity_checklists(session, job_ids)
    parts = documents._expected_parts(session, job_ids)
    route = technician_day.stop_facts(session, jobs, tz, technician_id)
    out = {}
    for job in jobs:
        unit = job.unit
        out[job.id] = {
            "id": str(job.id), "reference": job.reference, "type": job.type.value, "status": job.status.value,
            "priority": job.priority.value, "version": job.version,
            "scheduled_start": documents._iso(job.scheduled_start), "scheduled_end": documents._iso(job.scheduled_end),
            "window_start": documents._iso(job.window_start), "window_end": documents._iso(job.window_end),
            "sla_due_at": documents._iso(job.sla_due_at), "address": job.address, "lat": job.lat, "lon": job.lon,
            "description": job.description, "duration_minutes": job.duration_minutes,
            "customer": {"id": str(job.customer.id), "name": job.customer.name, "phone": job.customer.phone,
                         "address": job.customer.address, "grade": job.customer.grade.value},
            "product": documents._product(job.product),
            "unit": None if unit is None else {
                "serial": unit.serial, "product": documents._product(unit.product),
                "purchased_on": documents._iso(unit.purchased_on),
                "warranty_until": documents._iso(warranty_until(unit)), "in_warranty": in_warranty(unit, today)},
            "warranty_decision": job.warranty_decision.value if job.warranty_decision else None,
            "checklist": checklists.get(job.id),
            "expected_parts": parts.get(job.id, []),
            "route": route.get(job.id),
            "crew_size": job.crew_size,
            "lead_technician_id": str(job.technician_id) if job.technician_id else None,
            "helper_ids": [str(h) for h in job.helper_ids],
        }
    return out


def entity_booked(session, technician_id, first, end) -> list[Job]:
    return list(session.scalars(
        select(Job).where(calendar.worked_by(technician_id), Job.status.in_(calendar.BOOKED),
                          Job.scheduled_start >= first, Job.scheduled_start < end)
        .order_by(Job.scheduled_start, Job.id).options(lazyload(Job.helpers))
    ).all())


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


def test_the_snapshot_job_documents_are_byte_for_byte_those_of_the_entity_reading(api, session, monday,
                                                                                    monkeypatch):
    publish_template(api, session)
    worked = on_site_job(api, session)
    assert put_step(api, worked, "photo_before", None, photo_ids(api, 1)).status_code == 200
    assert put_step(api, worked, "photo_before", None, photo_ids(api, 2)).status_code == 200  # revision 2
    assert put_step(api, worked, "pressure", 0.25).status_code == 200
    assert put_step(api, worked, "tds_tap", 1800).status_code == 200  # flagged, with reasons
    assert put_step(api, worked, "pressure", 0.3).status_code == 200
    later = [scheduled_job(api, session) for _ in range(2)]  # same day, a template without results
    job_ids = [uuid.UUID(j["id"]) for j in (worked, *later)]
    technician_id = technician(session, TECH).id
    session.expire_all()

    def read(build) -> str:
        built = build(session, job_ids, monday.astimezone(TZ).date(), TZ, technician_id=technician_id)
        session.expunge_all()
        return json.dumps([built[i] for i in job_ids], sort_keys=False)

    rows = read(documents.job_documents)
    monkeypatch.setattr(technician_day, "_booked", entity_booked)
    entities = read(entity_job_documents)
    assert rows == entities
    parsed = json.loads(rows)
    checklist = parsed[0]["checklist"]
    assert {r["key"]: (r["revision"], len(r["evidence"])) for r in checklist["results"]} == {
        "photo_before": (2, 2), "pressure": (2, 0), "tds_tap": (1, 0)}
    assert [d["route"]["sequence"] for d in parsed] == [1, 2, 3]
    assert all(d["checklist"]["template"]["steps"] for d in parsed)
