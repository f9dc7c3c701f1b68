"""Offered time slots on a busy day: a point with 10 technicians and 80 booked jobs that day.

    python benchmarks/slots.py [--repeat 50] [--database-url postgresql+psycopg://...]

Seeds the network (demo seeds) into a fresh database, gives NB01 four more technicians (10 in
all) and books 80 jobs on the next weekday (8 per technician, an hour apart, within 3 km of the
point), then times through HTTP (the Flask test client, one process):

- ``GET /api/v1/jobs/{id}/slots`` for that day and for the week from it;
- ``GET /api/v1/service-points/{id}/slots`` for a job not yet taken in;
- ``POST /api/v1/jobs/{id}/booking`` of the best window (a fresh job each time).

Prints p50 / p95 / max milliseconds per request kind and the CPU share the process got (CPU time
over wall time: below ~90 % the machine was busy with something else). The target is 300 ms.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_db import fresh_database  # noqa: E402

from dispatch import migrate  # noqa: E402
from dispatch.app import create_app  # noqa: E402
from dispatch.auth.models import Role, User  # noqa: E402
from dispatch.clock import utcnow  # noqa: E402
from dispatch.config import Settings  # noqa: E402
from dispatch.db import make_engine, make_session_factory  # noqa: E402
from dispatch.jobs.models import Job, JobStatus  # noqa: E402
from dispatch.network.models import (  # noqa: E402
    Certification,
    Customer,
    JobType,
    Product,
    ServicePoint,
    Skill,
    Technician,
    WeeklyShift,
)
from seeds import DEMO_PASSWORD, SeedContext, network  # noqa: E402

POINT = "NB01"
TECHNICIANS = 10
JOBS = 80


def next_weekday(today: date) -> date:
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def seed(factory, settings: Settings, day: date, tz: ZoneInfo) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """The network, NB01 with 10 technicians and 80 booked jobs on ``day``; returns the point id
    and twenty dispatched jobs to ask about."""
    rng = random.Random("slots-bench")
    with factory() as session:
        network.seed(SeedContext(session=session, settings=settings, today=utcnow().astimezone(tz).date(),
                                 rng=random.Random("network")))
        session.flush()
        point = session.scalar(select(ServicePoint).where(ServicePoint.code == POINT))
        techs = list(session.scalars(select(Technician).where(Technician.service_point_id == point.id)
                                     .order_by(Technician.name)))
        model = next(t for t in techs if len(t.skills) == 2 * len(JobType))
        template_user = session.get(User, model.user_id)
        for n in range(len(techs) + 1, TECHNICIANS + 1):
            account = User(username=f"tech.{POINT.lower()}.{n}", password_hash=template_user.password_hash,
                           role=Role.TECHNICIAN, service_point_id=point.id)
            session.add(account)
            session.flush()
            tech = Technician(user_id=account.id, service_point_id=point.id, name=f"Bench {n}", phone="",
                              hired_on=model.hired_on)
            session.add(tech)
            session.flush()
            for skill in model.skills:
                session.add(Skill(technician_id=tech.id, category=skill.category, job_type=skill.job_type))
            for cert in model.certifications:
                session.add(Certification(technician_id=tech.id, name=cert.name, category=cert.category,
                                          issued_on=cert.issued_on, expires_on=cert.expires_on))
            for shift in model.shifts:
                session.add(WeeklyShift(technician_id=tech.id, weekday=shift.weekday, start=shift.start,
                                        end=shift.end))
            techs.append(tech)
        session.flush()
        customer = session.scalar(select(Customer).order_by(Customer.phone).limit(1))
        product = session.scalar(select(Product).where(Product.sku == "WP-RO500"))

        def job(status: JobStatus, **fields) -> Job:
            row = Job(reference=f"B-{uuid.uuid4().hex[:12].upper()}", type=JobType.REPAIR, status=status,
                      customer_id=customer.id, product_id=product.id, service_point_id=point.id,
                      lat=point.lat + rng.uniform(-1, 1) * 3 / 111, lon=point.lon + rng.uniform(-1, 1) * 3 / 96,
                      reported_at=utcnow(), duration_minutes=30, **fields)
            session.add(row)
            return row

        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        for k in range(JOBS):
            tech = techs[k % TECHNICIANS]
            start = midnight + timedelta(hours=9 + k // TECHNICIANS)
            job(JobStatus.SCHEDULED, technician_id=tech.id, scheduled_start=start,
                scheduled_end=start + timedelta(minutes=30))
        asked = [job(JobStatus.DISPATCHED) for _ in range(20)]
        session.commit()
        return point.id, [row.id for row in asked]


def figures(label: str, samples: list[float], cpu: float, wall: float) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(f"{label:44} n={len(samples):3}  p50 {statistics.median(ordered):6.1f} ms  p95 {p95:6.1f} ms  "
          f"max {ordered[-1]:6.1f} ms  CPU share {100 * cpu / wall:3.0f} %")


def timed(client, method: str, url: str, headers, repeat: int, **kwargs) -> tuple[list[float], float, float, object]:
    samples, answer = [], None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        answer = client.open(url, method=method, headers=headers, **kwargs)
        samples.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code in (200, 201), (answer.status_code, answer.get_json())
    return samples, time.process_time() - cpu0, time.perf_counter() - wall0, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(args.database_url, "dispatch_bench_slots")
        settings = Settings(database_url=url, secret_key="bench-slots-secret-key-32-bytes-long", upload_dir=Path(tmp) / "uploads",
                            instance_path=Path(tmp), password_hash_method="scrypt:1024:8:1")
        migrate.upgrade(url)
        engine = make_engine(url)
        tz = ZoneInfo(settings.timezone)
        day = next_weekday(utcnow().astimezone(tz).date())
        point_id, asked = seed(make_session_factory(engine), settings, day, tz)
        engine.dispose()
        app = create_app(settings)
        client = app.test_client()
        token = client.post("/api/v1/auth/token", json={"username": f"manager.{POINT.lower()}",
                                                         "password": DEMO_PASSWORD}).get_json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        print(f"{POINT}: {TECHNICIANS} technicians, {JOBS} booked jobs on {day.isoformat()} ({day:%A}); "
              f"{settings.database_url.split(':')[0]}")
        week = (day + timedelta(days=6)).isoformat()
        runs = [
            ("GET jobs/{id}/slots, one day", f"/api/v1/jobs/{asked[0]}/slots?from={day}&to={day}"),
            ("GET jobs/{id}/slots, seven days", f"/api/v1/jobs/{asked[1]}/slots?from={day}&to={week}"),
            ("GET service-points/{id}/slots, one day",
             f"/api/v1/service-points/{point_id}/slots?from={day}&to={day}&lat=29.87&lon=121.55"
             "&job_type=repair&product_sku=WP-RO500&duration_minutes=45"),
        ]
        timed(client, "GET", runs[0][1], headers, 3)  # warm up
        for label, path in runs:
            samples, cpu, wall, answer = timed(client, "GET", path, headers, args.repeat)
            figures(label, samples, cpu, wall)
            print(f"{'':44} {len(answer.get_json()['slots'])} windows offered")
        samples, cpu0, wall0 = [], time.process_time(), time.perf_counter()
        for job_id in asked[2:]:
            offer = client.get(f"/api/v1/jobs/{job_id}/slots?from={day}&to={week}", headers=headers).get_json()
            best = offer["slots"][0]
            t0 = time.perf_counter()
            booked = client.post(f"/api/v1/jobs/{job_id}/booking", headers=headers,
                                 json={"window_start": best["window_start"], "window_end": best["window_end"]})
            samples.append((time.perf_counter() - t0) * 1000)
            assert booked.status_code == 201, booked.get_json()
        figures("POST jobs/{id}/booking (best of the week)", samples, time.process_time() - cpu0,
                time.perf_counter() - wall0)


if __name__ == "__main__":
    main()
