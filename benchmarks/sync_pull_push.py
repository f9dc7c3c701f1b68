"""Sync figures: pull latency for a technician with 30 jobs, and pushes per second.

    python benchmarks/sync_pull_push.py [--database-url URL] [--pulls 200] [--pushes 400] [--clients 8]

Runs the real app in-process (Flask test client: routing, auth, schemas, services, database)
against a fresh database: PostgreSQL when --database-url (or DISPATCH_TEST_DATABASE_URL) is
given, else a temporary SQLite file. Prints median and p95 of full snapshot pulls and of
incremental pulls, and pushes/s with one client and with N concurrent clients (one device each).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench_db import fresh_database  # noqa: E402
from dispatch import migrate  # noqa: E402
from dispatch.app import create_app  # noqa: E402
from dispatch.auth.models import User  # noqa: E402
from dispatch.clock import utcnow  # noqa: E402
from dispatch.config import Settings  # noqa: E402
from dispatch.db import make_engine, make_session_factory  # noqa: E402
from dispatch.jobs.models import Job, JobStatus  # noqa: E402
from dispatch.network.models import Technician  # noqa: E402
from seeds import load_demo  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DISPATCH_TEST_DATABASE_URL"))
    parser.add_argument("--pulls", type=int, default=200)
    parser.add_argument("--pushes", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    url = fresh_database(args.database_url, "bench_sync")
    settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789-abcdefghijklmnop",
                        upload_dir=Path(tempfile.mkdtemp()), password_hash_method="scrypt:1024:8:1",
                        auth_rate_limit=(1_000_000, 60))
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    load_demo(factory, settings)

    # Give one technician 30 jobs in the sync window; the others get a few each for the push clients.
    with factory() as session:
        technicians = session.execute(select(Technician, User.username).join(User, User.id == Technician.user_id)
                                      .order_by(User.username)).all()
        first, first_name = technicians[0]
        jobs = session.scalars(select(Job).where(Job.service_point_id == first.service_point_id)
                               .order_by(Job.reference)).all()
        if len(jobs) < 30:
            jobs += session.scalars(select(Job).where(Job.service_point_id != first.service_point_id)
                                    .limit(30 - len(jobs))).all()
        start = utcnow().replace(minute=0, second=0, microsecond=0)
        for n, job in enumerate(jobs[:30]):
            job.technician_id, job.status = first.id, JobStatus.SCHEDULED
            job.service_point_id = first.service_point_id
            job.scheduled_start = start + timedelta(hours=n % 48)
            job.scheduled_end = job.scheduled_start + timedelta(hours=1)
        session.commit()
        push_clients = [(tech, name) for tech, name in technicians[: args.clients]]
        targets = {}
        for tech, name in push_clients:
            job = session.scalar(select(Job).where(Job.technician_id == tech.id).limit(1))
            if job is None:
                job = session.scalar(select(Job).where(Job.technician_id.is_(None)).limit(1))
                job.technician_id, job.status = tech.id, JobStatus.SCHEDULED
                job.service_point_id = tech.service_point_id
                job.scheduled_start = start + timedelta(hours=2)
                job.scheduled_end = job.scheduled_start + timedelta(hours=1)
                session.commit()
            targets[name] = str(job.id)

    app = create_app(settings, session_factory=factory)

    def token(client, username: str) -> str:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": "demo1234"})
        return response.json["access_token"]

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token(client, first_name)}"}
    snapshot_ms, incremental_ms, jobs_seen = [], [], 0
    cursor = None
    for n in range(args.pulls):
        began = time.perf_counter()
        if n % 2 == 0:
            page = client.get("/api/v1/sync/changes", headers=headers).json
            snapshot_ms.append((time.perf_counter() - began) * 1000)
            jobs_seen = len(page["changes"]["jobs"]["upserted"])
            cursor = page["next_cursor"]
        else:
            client.get(f"/api/v1/sync/changes?cursor={cursor}", headers=headers)
            incremental_ms.append((time.perf_counter() - began) * 1000)

    def pusher(name: str, count: int, results: list[float]) -> None:
        local = app.test_client()
        auth = {"Authorization": f"Bearer {token(local, name)}"}
        device = str(uuid.uuid4())
        for n in range(1, count + 1):
            local.post("/api/v1/sync/mutations", headers=auth, json={
                "device_id": device,
                "mutations": [{"id": n, "kind": "note", "payload": {"job_id": targets[name], "text": f"n{n}"}}]})
        results.append(count)

    def measure(clients: list[str], per_client: int) -> float:
        done: list[float] = []
        threads = [threading.Thread(target=pusher, args=(name, per_client, done)) for name in clients]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(done) / (time.perf_counter() - began)

    names = [name for _, name in push_clients]
    single = measure(names[:1], args.pushes)
    concurrent = measure(names, max(1, args.pushes // len(names)))
    backend = make_url(url).get_backend_name()
    print(f"backend: {backend}")
    print(f"snapshot pull, {jobs_seen} jobs: median {statistics.median(snapshot_ms):.1f} ms, "
          f"p95 {percentile(snapshot_ms, 0.95):.1f} ms ({len(snapshot_ms)} pulls)")
    print(f"incremental pull (no changes): median {statistics.median(incremental_ms):.1f} ms, "
          f"p95 {percentile(incremental_ms, 0.95):.1f} ms")
    print(f"pushes/s (1 mutation each): 1 client {single:.0f}/s, {len(names)} clients {concurrent:.0f}/s")
    engine.dispose()


if __name__ == "__main__":
    main()
