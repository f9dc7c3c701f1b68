"""Sync figures: pull latency for a technician with 30 jobs, and pushes per second.

    python benchmarks/sync_pull_push.py [--database-url URL] [--pulls 200] [--pushes 400] [--clients 8]

Runs the real app in-process (Flask test client: routing, auth, schemas, services, database)
against a fresh database: PostgreSQL when --database-url (or DISPATCH_TEST_DATABASE_URL) is
given, else a temporary SQLite file. Prints median and p95 of full snapshot pulls and of
incremental pulls, and pushes/s with one client, with N concurrent clients (one device each) at one point, and
with N clients spread over every active point (writes at different points must not contend). The
N concurrent clients are forked processes by default (a server runs several worker processes;
threads of one process share one GIL), ``--threads`` makes them threads; the line says which, the
CPU share the clients got, and the SQL statements per push.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import queue
import statistics
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench_db import demo_database, technician_with_jobs  # noqa: E402
from dispatch.app import create_app  # noqa: E402
from dispatch.clock import utcnow  # noqa: E402
from dispatch.jobs.models import Job, JobStatus  # noqa: E402
from dispatch.network.models import AuthorisationStatus, ServicePoint  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DISPATCH_TEST_DATABASE_URL"))
    parser.add_argument("--pulls", type=int, default=200)
    parser.add_argument("--pushes", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", action="store_true",
                        help="concurrent clients as threads of this process (they share one GIL: that measures the "
                             "GIL); default: one forked process per client, as a server's workers are")
    args = parser.parse_args()

    url, settings, engine, factory = demo_database(args.database_url, "bench_sync")

    # Give one technician 30 jobs in the sync window; the others get a few each for the push clients.
    with factory() as session:
        technicians, first_name = technician_with_jobs(session, 30)
        start = utcnow().replace(minute=0, second=0, microsecond=0)
        # Every active technician gets a job to write notes on; the push clients are drawn from
        # one point (the one with the most technicians) or spread over every active point.
        active = [(tech, name) for tech, name in technicians
                  if session.get(ServicePoint, tech.service_point_id).status == AuthorisationStatus.ACTIVE]
        targets = {}
        for tech, name in active:
            job = session.scalar(select(Job).where(Job.technician_id == tech.id).limit(1))
            if job is None:
                job = session.scalar(select(Job).where(Job.technician_id.is_(None)).limit(1))
                job.technician_id, job.status = tech.id, JobStatus.SCHEDULED
                job.service_point_id = tech.service_point_id
                job.scheduled_start = start + timedelta(hours=2)
                job.scheduled_end = job.scheduled_start + timedelta(hours=1)
                session.commit()
            targets[name] = str(job.id)
        by_point: dict = {}
        for tech, name in active:
            by_point.setdefault(tech.service_point_id, []).append(name)
        crowded = max(by_point.values(), key=len)
        one_point = [crowded[n % len(crowded)] for n in range(args.clients)]
        rounds = [names for names in itertools.zip_longest(*by_point.values())]
        spread = [name for names in rounds for name in names if name][: args.clients]
        spread_points = len({tech.service_point_id for tech, name in active if name in spread})

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

    def pusher(name: str, count: int, results, forked: bool) -> None:
        if forked:
            engine.dispose(close=False)  # a forked client opens its own connections
        cpu = time.process_time()
        local = app.test_client()
        auth = {"Authorization": f"Bearer {token(local, name)}"}
        device = str(uuid.uuid4())
        accepted = 0
        for n in range(1, count + 1):
            response = local.post("/api/v1/sync/mutations", headers=auth, json={
                "device_id": device,
                "mutations": [{"id": n, "kind": "note", "payload": {"job_id": targets[name], "text": f"n{n}"}}]})
            accepted += response.status_code == 200 and response.json["results"][0]["status"] == "applied"
        results.put((accepted, time.process_time() - cpu if forked else 0.0))

    def measure(clients: list[str], per_client: int) -> float:
        forked = not args.threads and len(clients) > 1
        if forked:
            context = multiprocessing.get_context("fork")
            done = context.Queue()
            workers = [context.Process(target=pusher, args=(name, per_client, done, True)) for name in clients]
        else:
            done = queue.Queue()
            workers = [threading.Thread(target=pusher, args=(name, per_client, done, False)) for name in clients]
        statements[0] = 0
        began, cpu = time.perf_counter(), time.process_time()
        for worker in workers:
            worker.start()
        reports = [done.get(timeout=3600) for _ in workers]
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - began
        accepted = sum(r[0] for r in reports)
        used = time.process_time() - cpu + sum(r[1] for r in reports)
        shares.append(f"{100 * used / elapsed:.0f}%")
        if not forked:
            per_push.append(f"{statements[0] / max(accepted, 1):.1f}")
        return accepted / elapsed

    shares: list[str] = []
    per_push: list[str] = []
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    single = measure(one_point[:1], args.pushes)
    crowded_rate = measure(one_point, max(1, args.pushes // len(one_point)))
    spread_rate = measure(spread, max(1, args.pushes // len(spread)))
    backend = make_url(url).get_backend_name()
    print(f"backend: {backend}")
    print(f"snapshot pull, {jobs_seen} jobs: median {statistics.median(snapshot_ms):.1f} ms, "
          f"p95 {percentile(snapshot_ms, 0.95):.1f} ms ({len(snapshot_ms)} pulls)")
    print(f"incremental pull (no changes): median {statistics.median(incremental_ms):.1f} ms, "
          f"p95 {percentile(incremental_ms, 0.95):.1f} ms")
    mode = "threads of this process" if args.threads else "processes"
    print(f"pushes/s (1 mutation each; clients as {mode}): 1 client {single:.0f}/s; {len(one_point)} clients at one "
          f"point {crowded_rate:.0f}/s; {len(spread)} clients spread over {spread_points} points {spread_rate:.0f}/s "
          f"(CPU share, all client processes over wall time, 100% = one core: {', '.join(shares)}); "
          f"SQL statements per push (one client, including its sign-in): {per_push[0]}")
    engine.dispose()


if __name__ == "__main__":
    main()
