"""Server CPU per request, in process: each endpoint beside ``GET /healthz`` (the floor).

    python benchmarks/api_cpu.py [--database-url URL] [--repeat 30] [--profile LABEL]

Runs the real app (Flask test client: middleware, routing, auth, schemas, services, database)
against a fresh database (PostgreSQL when --database-url or DISPATCH_TEST_DATABASE_URL is given,
else a temporary SQLite file; ``DISPATCH_BENCH_DB_PREFIX`` prefixes its name) holding the demo
data, with one technician given 30 jobs in the sync window. Each request is timed with the
thread's CPU clock and the wall clock; prints the median CPU ms, the median wall ms, the CPU share
(CPU / wall: below 100 % the request waited on the database or the machine), and the CPU as a
multiple of the floor and the SQL statements per request. ``--profile LABEL`` (a substring of a label) prints a pyinstrument
profile of that endpoint instead, over ``--repeat`` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench_db import demo_database, technician_with_jobs  # noqa: E402
from dispatch.app import create_app  # noqa: E402
from dispatch.auth.models import Role, User  # noqa: E402
from dispatch.jobs.models import Job  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DISPATCH_TEST_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--profile", help="profile the endpoint whose label contains this")
    parser.add_argument("--cpu-profile", action="store_true",
                        help="with --profile: cProfile on the thread's CPU clock instead of pyinstrument's wall clock")
    parser.add_argument("--only", help="measure only the endpoints whose label contains this (and the floor)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (for benchmarks/compare.py)")
    args = parser.parse_args()

    url, settings, engine, factory = demo_database(args.database_url, "bench_cpu")
    with factory() as session:
        _, technician = technician_with_jobs(session, 30)
        manager = session.scalar(select(User.username).where(User.role == Role.MANAGER).order_by(User.username))
        reviewer = session.scalar(select(User.username).where(User.role == Role.REVIEWER).order_by(User.username))
        manager_point = session.scalar(select(User.service_point_id).where(User.username == manager))
        job_id = session.scalar(select(Job.id).where(Job.service_point_id == manager_point).order_by(Job.reference))

    app = create_app(settings, session_factory=factory)
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    client = app.test_client()

    def auth(username: str) -> dict[str, str]:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": "demo1234"})
        assert response.status_code == 200, response.json
        return {"Authorization": f"Bearer {response.json['access_token']}"}

    tech, mgr, rev = auth(technician), auth(manager), auth(reviewer)
    audit_id = client.get("/api/v1/audits?status=open&page_size=20", headers=rev).json[0]["id"]
    cursor = client.get("/api/v1/sync/changes?limit=500", headers=tech).json["next_cursor"]
    device, counter = str(uuid.uuid4()), iter(range(1, 10**9))
    tech_job = str(client.get("/api/v1/sync/changes?limit=500", headers=tech).json["changes"]["jobs"]["upserted"][0]["id"])

    def push():
        batch = [{"id": next(counter), "kind": "note", "payload": {"job_id": tech_job, "text": "cpu"}} for _ in range(5)]
        return client.post("/api/v1/sync/mutations", headers=tech, json={"device_id": device, "mutations": batch})

    endpoints = [
        ("GET /healthz (floor)", lambda: client.get("/healthz")),
        ("GET /users/me", lambda: client.get("/api/v1/users/me", headers=mgr)),
        ("GET /service-points", lambda: client.get("/api/v1/service-points", headers=mgr)),
        ("GET /regions", lambda: client.get("/api/v1/regions", headers=mgr)),
        ("GET /parts", lambda: client.get("/api/v1/parts", headers=mgr)),
        ("GET /audits (reviewer)", lambda: client.get("/api/v1/audits", headers=rev)),
        ("GET /audits/{id} (reviewer)", lambda: client.get(f"/api/v1/audits/{audit_id}", headers=rev)),
        ("GET /jobs page of 20", lambda: client.get("/api/v1/jobs?page_size=20", headers=mgr)),
        ("GET /jobs page of 100", lambda: client.get("/api/v1/jobs?page_size=100", headers=mgr)),
        ("GET /jobs/{id}", lambda: client.get(f"/api/v1/jobs/{job_id}", headers=mgr)),
        ("GET /sync/changes incremental (30 jobs)", lambda: client.get(f"/api/v1/sync/changes?cursor={cursor}",
                                                                     headers=tech)),
        ("GET /sync/changes snapshot (30 jobs)", lambda: client.get("/api/v1/sync/changes?limit=500", headers=tech)),
        ("POST /sync/mutations (5 notes)", push),
    ]
    if args.profile and args.cpu_profile:  # CPU only (thread time): where the CPU goes, not the waits
        import cProfile
        import pstats

        label, call = next((label, call) for label, call in endpoints if args.profile in label)
        call()
        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
        for _ in range(args.repeat):
            call()
        profiler.disable()
        print(f"CPU profile of {label}, {args.repeat} calls")
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(45)
        if os.environ.get("CALLEES"):
            stats.print_callees(os.environ["CALLEES"])
        return
    if args.profile:
        from pyinstrument import Profiler

        label, call = next((label, call) for label, call in endpoints if args.profile in label)
        call()
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.repeat):
            call()
        profiler.stop()
        print(f"profile of {label}, {args.repeat} calls")
        print(profiler.output_text(unicode=False, color=False, show_all=False))
        return

    if args.only:
        endpoints = [endpoints[0], *(e for e in endpoints[1:] if args.only in e[0])]
    say = (lambda *a: None) if args.json else print
    say(f"backend: {make_url(url).get_backend_name()}; median of {args.repeat} requests after 3 warm-ups")
    say(f"  {'endpoint':<42} {'CPU ms':>7} {'wall ms':>8} {'CPU %':>6} {'x floor':>8} {'SQL':>4}")
    floor, figures = None, {}
    process_cpu, process_wall = time.process_time(), time.perf_counter()
    for label, call in endpoints:
        for _ in range(3):
            response = call()
            assert response.status_code == 200, (label, response.status_code, response.get_data(as_text=True)[:300])
        cpu, wall, before = [], [], statements[0]
        for _ in range(args.repeat):
            c0, w0 = time.thread_time(), time.perf_counter()
            call()
            cpu.append((time.thread_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        cpu_ms, wall_ms = statistics.median(cpu), statistics.median(wall)
        sql = (statements[0] - before) / args.repeat
        floor = floor or cpu_ms
        figures[label] = {"cpu_ms": cpu_ms, "wall_ms": wall_ms, "statements": sql}
        say(f"  {label:<42} {cpu_ms:>7.2f} {wall_ms:>8.2f} {100 * cpu_ms / wall_ms:>5.0f}% {cpu_ms / floor:>7.1f}x"
            f" {sql:>4.0f}")
    share = (time.process_time() - process_cpu) / (time.perf_counter() - process_wall)
    say(f"CPU share the process got while measuring: {100 * share:.0f}% of one core "
        "(the rest of the wall time it waited on the database or for the machine)")
    if args.json:
        print(json.dumps({"backend": make_url(url).get_backend_name(), "process_cpu_share": share,
                          "endpoints": figures}))
    engine.dispose()


if __name__ == "__main__":
    main()
