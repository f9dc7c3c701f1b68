"""Reading jobs: scoping by role, filters (in SQL, paginated), SLA status and the SLA target table."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest

from dispatch import clock
from tests.api.jobs_builders import (
    MONDAY,
    TUESDAY,
    assign,
    create_job,
    local,
    move,
    own_hooks_only,  # noqa: F401 - fixture
    point,
    technician,
    units,
)
from tests.helpers import assert_problem


def total(response) -> int:
    assert response.status_code == 200, response.json
    return json.loads(response.headers["X-Pagination"])["total"]


def every(api, query: str, as_: str = "admin") -> list[dict]:
    """All pages of a listing."""
    items, page = [], 1
    while True:
        response = api.get(f"/api/v1/jobs/?{query}&page={page}&page_size=100", as_=as_)
        assert response.status_code == 200, response.json
        items += response.json
        if len(items) >= total(response):
            return items
        page += 1


def test_managers_see_their_points_jobs_technicians_their_own_and_hq_all(api, session, own_hooks_only):
    with clock.frozen(MONDAY):
        for username in ("tech.hz01.1", "tech.hz01.2"):
            assign(api, create_job(api, session), technician(session, username).id, local(TUESDAY, 10))
        check_scoping(api, session)


def check_scoping(api, session):
    hz01 = str(point(session, "HZ01").id)
    mine = every(api, "", as_="manager.hz01")
    assert mine and all(job["service_point_id"] == hz01 for job in mine)
    everything = every(api, "", as_="reviewer")
    assert len(everything) > len(mine) and {j["dispatch"]["service_point_code"] for j in everything} >= {
        "HZ01", "HZ02", "NB01", "NB02", "SZ01", "SZ02"}
    tech = str(technician(session, "tech.hz01.1").id)
    own = every(api, "", as_="tech.hz01.1")
    assert own and all(job["technician_id"] == tech for job in own)
    foreign = next(job for job in everything if job["service_point_id"] != hz01)
    assert_problem(api.get(f"/api/v1/jobs/{foreign['id']}", as_="manager.hz01"), 404, code="not-found")
    colleague = next(job for job in mine if job["technician_id"] not in (None, tech))
    assert_problem(api.get(f"/api/v1/jobs/{colleague['id']}", as_="tech.hz01.1"), 404)
    assert api.get(f"/api/v1/jobs/{colleague['id']}", as_="manager.hz01").json["events"]


def test_the_demo_day_has_about_two_hundred_jobs_across_the_active_points(api):
    jobs = every(api, "")
    demo = [j for j in jobs if j["reference"].startswith("DEMO-")]
    assert len(demo) == 204
    assert {j["status"] for j in demo} >= {"dispatched", "scheduled", "en_route", "on_site", "on_hold", "completed",
                                           "closed", "cancelled"}
    assert all(j["window_start"] and j["window_end"] > j["window_start"] for j in demo)
    # seeded relative to the load time: some jobs within hours of their due time, some past it
    assert {"ok", "breached"} <= {j["sla_status"] for j in demo}


def test_filters_combine_and_are_applied_before_pagination(api, session):
    scheduled = every(api, "status=scheduled&status=en_route")
    assert scheduled and {j["status"] for j in scheduled} <= {"scheduled", "en_route"}
    repairs = every(api, "type=repair&priority=normal")
    assert repairs and all(j["type"] == "repair" and j["priority"] == "normal" for j in repairs)
    nb02 = str(point(session, "NB02").id)
    at_nb02 = every(api, f"service_point_id={nb02}")
    assert at_nb02 and all(j["service_point_id"] == nb02 for j in at_nb02)
    assert total(api.get(f"/api/v1/jobs/?service_point_id={nb02}", as_="manager.hz01")) == 0  # scoped first
    tech = technician(session, "tech.hz01.1").id
    assert all(j["technician_id"] == str(tech) for j in every(api, f"technician_id={tech}"))
    first_page = api.get("/api/v1/jobs/?type=repair&page_size=5", as_="admin")
    assert len(first_page.json) == 5 and total(first_page) == len(every(api, "type=repair"))
    assert_problem(api.get("/api/v1/jobs/?sla=late", as_="admin"), 422, field="sla")
    assert_problem(api.get("/api/v1/jobs/?date=tomorrow", as_="admin"), 422, field="date")


def test_the_date_filter_is_the_local_service_day_of_the_slot_or_else_the_window(api, session, own_hooks_only):
    with clock.frozen(MONDAY):
        windowed = create_job(api, session)  # window Tuesday 09:00-12:00 local
        slotted = create_job(api, session, window_start=local(TUESDAY, 9).isoformat(),
                             window_end=local(TUESDAY, 12).isoformat())
        assign(api, slotted, technician(session, "tech.hz01.1").id, local(TUESDAY + timedelta(days=1), 8, 30))
        early = create_job(api, session, window_start=local(TUESDAY, 0, 30).isoformat(),
                           window_end=local(TUESDAY, 7).isoformat())  # still Monday in UTC
        on_tuesday = {j["id"] for j in every(api, f"date={TUESDAY}")}
        on_wednesday = {j["id"] for j in every(api, f"date={TUESDAY + timedelta(days=1)}")}
    assert windowed["id"] in on_tuesday and early["id"] in on_tuesday and slotted["id"] not in on_tuesday
    assert slotted["id"] in on_wednesday and windowed["id"] not in on_wednesday


def test_sla_status_moves_from_ok_to_at_risk_to_breached_and_the_filter_follows(api, session, own_hooks_only):
    standard = next(u for u in units(session, "HZ01") if u.customer.grade.value == "standard")
    with clock.frozen(MONDAY):
        job = create_job(api, session, unit_serial=standard.serial)  # standard repair: 48 h, at risk 8 h before
    assert datetime.fromisoformat(job["sla_due_at"]) == MONDAY + timedelta(hours=48)
    for hours, status in [(39, "ok"), (40, "at_risk"), (47, "at_risk"), (48, "breached"), (60, "breached")]:
        with clock.frozen(MONDAY + timedelta(hours=hours)):
            api._tokens.clear()
            assert api.get(f"/api/v1/jobs/{job['id']}", as_="admin").json["sla_status"] == status, hours
            for candidate in ("ok", "at_risk", "breached"):
                listed = {j["id"] for j in every(api, f"sla={candidate}&service_point_id={job['service_point_id']}")}
                assert (job["id"] in listed) == (candidate == status), (hours, candidate)


def test_arriving_on_time_keeps_the_sla_ok_and_arriving_late_breaches_it(api, session, own_hooks_only):
    standard = next(u for u in units(session, "HZ01") if u.customer.grade.value == "standard")
    tech = technician(session, "tech.hz01.1")
    jobs = {}
    with clock.frozen(MONDAY):
        for name in ("on_time", "late", "cancelled"):
            jobs[name] = create_job(api, session, unit_serial=standard.serial)
            assign(api, jobs[name], tech.id, local(TUESDAY, 10))
    with clock.frozen(MONDAY + timedelta(hours=45)):
        api._tokens.clear()
        move(api, jobs["on_time"], "en_route", "tech.hz01.1")
        move(api, jobs["on_time"], "on_site", "tech.hz01.1")
        move(api, jobs["cancelled"], "cancelled", "manager.hz01", reason="customer moved away")
    with clock.frozen(MONDAY + timedelta(hours=50)):
        api._tokens.clear()
        move(api, jobs["late"], "en_route", "tech.hz01.1")
        move(api, jobs["late"], "on_site", "tech.hz01.1")
    with clock.frozen(MONDAY + timedelta(days=10)):
        api._tokens.clear()
        statuses = {name: api.get(f"/api/v1/jobs/{job['id']}", as_="admin").json["sla_status"]
                    for name, job in jobs.items()}
        breached = {j["id"] for j in every(api, "sla=breached")}
    assert statuses == {"on_time": "ok", "late": "breached", "cancelled": "ok"}
    assert jobs["late"]["id"] in breached and jobs["on_time"]["id"] not in breached


def test_the_sla_filter_agrees_with_each_jobs_sla_status(api):
    counts = {}
    with clock.frozen(clock.utcnow()):  # one "now" for the SQL filter and the serialised status
        for status in ("ok", "at_risk", "breached"):
            listed = every(api, f"sla={status}")
            assert all(j["sla_status"] == status for j in listed), status
            counts[status] = len(listed)
        with_sla = [j for j in every(api, "") if j["sla_status"] is not None]
    assert sum(counts.values()) == len(with_sla)
    assert counts["breached"] > 0 and counts["ok"] > 0


# --- SLA targets -----------------------------------------------------------------------------


def test_hq_reads_the_sla_targets_and_an_admin_changes_one_with_if_match(api, session, own_hooks_only):
    targets = api.get("/api/v1/sla-targets/", as_="reviewer")
    assert targets.status_code == 200 and len(targets.json) == 24
    vip_repair = next(t for t in targets.json if (t["job_type"], t["priority"], t["customer_grade"]) == (
        "repair", "normal", "vip"))
    assert (vip_repair["hours"], vip_repair["at_risk_hours"]) == (24, 4)
    url = f"/api/v1/sla-targets/{vip_repair['id']}"
    etag = api.get(url, as_="admin").headers["ETag"]
    assert_problem(api.patch(url, as_="admin", json={"hours": 12}), 428)
    assert_problem(api.patch(url, as_="admin", json={"hours": 12}, headers={"If-Match": '"stale"'}), 412)
    assert_problem(api.patch(url, as_="admin", json={"at_risk_hours": 30}, headers={"If-Match": etag}), 422,
                   field="at_risk_hours")
    assert_problem(api.patch(url, as_="admin", json={"hours": 0}, headers={"If-Match": etag}), 422, field="hours")
    changed = api.patch(url, as_="admin", json={"hours": 12, "at_risk_hours": 2}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.json
    assert (changed.json["hours"], changed.json["at_risk_hours"], changed.json["version"]) == (12, 2, 2)
    vip = next(u for u in units(session, "HZ01") if u.customer.grade.value == "vip")
    with clock.frozen(MONDAY):
        api._tokens.clear()
        job = create_job(api, session, unit_serial=vip.serial)
    assert job["sla_target_hours"] == 12
    assert datetime.fromisoformat(job["sla_due_at"]) == MONDAY + timedelta(hours=12)


def test_sla_targets_are_hq_configuration(api):
    assert_problem(api.get("/api/v1/sla-targets/", as_="manager.hz01"), 403, code="forbidden")
    target = api.get("/api/v1/sla-targets/", as_="admin").json[0]
    url = f"/api/v1/sla-targets/{target['id']}"
    etag = api.get(url, as_="reviewer").headers["ETag"]
    assert_problem(api.patch(url, as_="reviewer", json={"hours": 5}, headers={"If-Match": etag}), 403)
    assert_problem(api.get("/api/v1/sla-targets/00000000-0000-0000-0000-000000000007", as_="admin"), 404)


@pytest.mark.parametrize("path", ["/api/v1/jobs/", "/api/v1/sla-targets/"])
def test_job_endpoints_need_a_token(api, path):
    assert_problem(api.get(path), 401)


def test_the_list_reads_a_projection_that_dumps_as_the_jobs_themselves(api, session, own_hooks_only):
    """GET /jobs reads columns, not entities (issue 18): every entry equals JobSchema's dump of the
    job entity itself, crews, units, technicians, regions and SLA status included, for each role;
    a page past the end still reports the total."""
    from sqlalchemy import select

    from dispatch.api.schemas.jobs import JobSchema
    from dispatch.jobs.models import Job
    from dispatch.network.enums import ProductCategory

    with clock.frozen(MONDAY):
        heater = units(session, "HZ01", category=ProductCategory.WATER_HEATER)[0]
        crew = create_job(api, session, unit_serial=heater.serial, crew_size=2)
        lead, helper = technician(session, "tech.hz01.1"), technician(session, "tech.hz01.2")
        assert assign(api, crew, lead.id, local(TUESDAY, 10), helper_ids=[str(helper.id)]).status_code == 200
        assign(api, create_job(api, session), helper.id, local(TUESDAY, 14))
        schema = JobSchema()
        for as_ in ("admin", "manager.hz01", "tech.hz01.1", "tech.hz01.2"):
            listed = every(api, "", as_=as_)
            session.expire_all()
            entities = {job.id: job for job in session.scalars(select(Job).where(
                Job.id.in_([uuid.UUID(j["id"]) for j in listed])))}
            assert listed == [schema.dump(entities[uuid.UUID(j["id"])]) for j in listed]
            assert len(listed) == total(api.get("/api/v1/jobs/?page=999&page_size=100", as_=as_))
        mine = every(api, "", as_="tech.hz01.2")
        assert {j["id"]: j["helper_ids"] for j in mine}[crew["id"]] == [str(helper.id)]
