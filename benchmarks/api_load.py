"""Load figures for the production stack: gunicorn (gunicorn.conf.py) + PostgreSQL + Redis with a
routing worker, on loopback, under a realistic mix, next to a bare Flask endpoint served by the
same gunicorn configuration (the ceiling).

    python benchmarks/api_load.py [--database-url URL] [--redis-url URL] [--seconds 15]
                                  [--clients 16] [--web-concurrency N] [--threads N] [--reuse]

It builds its own stack: a fresh PostgreSQL database (``bench_api``, prefixed by ``DISPATCH_BENCH_DB_PREFIX``, next to --database-url or
DISPATCH_TEST_DATABASE_URL) migrated and loaded with the demo data (--reuse keeps the one from
the last run), gunicorn for the API, gunicorn for a bare Flask app, and ``python -m workers
routing`` on a Redis database of its own. Then three phases, each ``--seconds`` long (and at most
``--max-requests``), with ``--clients`` closed-loop clients (no think time):

1. ceiling: ``GET /`` on the bare Flask app (no middleware, no database);
2. ``GET /healthz`` on the API (request id, metrics, JSON access log; no database);
3. the mix: technicians' phones (half the clients) pull changes and push batches of 5 notes;
   managers (a third) list their jobs (4 in 5) or ask for tomorrow's route plan with a 1 s time
   limit (the routing worker solves it); reviewers read the open audit queue and one audit.

Prints requests/s and p50/p95/p99 per endpoint, errors, and the CPU seconds the API processes
used (the machine is shared, so compare phases by requests per API CPU-second too).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from dispatch import migrate  # noqa: E402
from dispatch.auth.models import Role, User  # noqa: E402
from dispatch.clock import utcnow  # noqa: E402
from dispatch.config import Settings  # noqa: E402
from dispatch.db import make_engine, make_session_factory  # noqa: E402
from dispatch.jobs.models import Job, JobStatus  # noqa: E402
from dispatch.network.models import AuthorisationStatus, ServicePoint, Technician  # noqa: E402

SECRET = "api-load-benchmark-secret-key-0123456789abcdef"
TZ = ZoneInfo("Asia/Shanghai")


def bare_app():
    """The ceiling: a Flask app with one endpoint and nothing else (gunicorn factory)."""
    from flask import Flask

    app = Flask("bare")
    app.add_url_rule("/", "ok", lambda: "ok")
    return app


# --- the stack --------------------------------------------------------------------------------


def database(base_url: str, reuse: bool) -> str:
    url = make_url(Settings.from_env({"DATABASE_URL": base_url, "SECRET_KEY": "x"}).database_url)
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT", poolclass=None)
    name = os.environ.get("DISPATCH_BENCH_DB_PREFIX", "") + "bench_api"
    target = url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
        if exists and reuse:
            admin.dispose()
            return target
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    from seeds import load_demo

    started = time.perf_counter()
    migrate.upgrade(target)
    load_demo(make_session_factory(make_engine(target)),
              Settings(database_url=target, secret_key=SECRET, upload_dir=Path(tempfile.mkdtemp()) / "uploads",
                       password_hash_method="scrypt:1024:8:1"))
    print(f"database: migrated and seeded with the demo in {time.perf_counter() - started:.0f} s", flush=True)
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def gunicorn(app: str, port: int, env: dict[str, str], log: Path, workers: int | None, threads: int | None):
    args = ["-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    if workers:
        args += ["--workers", str(workers)]
    if threads:
        args += ["--threads", str(threads)]
    process = spawn([*args, app], env, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz" if app == "wsgi:app" else "/")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{app} did not start; see {log}")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children, live or reaped (gunicorn master
    + workers; a worker recycled by max_requests is counted through the master's cutime)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15]) / tick
            for task in os.listdir(f"/proc/{current}/task"):
                pending += [int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def settle(pid: int, quiet_s: float = 1.0, limit_s: float = 60) -> None:
    """Wait until the process tree stops using CPU (every worker booted and idle)."""
    deadline, last = time.monotonic() + limit_s, tree_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = tree_cpu_seconds(pid)
        if now - last < 0.05 * quiet_s:
            return
        last = now


# --- the clients --------------------------------------------------------------------------------


class Client:
    """One closed-loop client with a keep-alive connection; records (endpoint, seconds, status)."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, label: str, method: str, path: str, body=None, record=None) -> tuple[int, object]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        payload = None
        if body is not None:
            payload, headers["Content-Type"] = json.dumps(body), "application/json"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            status, data = 599, b""
        if record is not None:
            record(label, time.perf_counter() - started, status)
        ctype_json = data[:1] in (b"{", b"[")
        return status, json.loads(data) if ctype_json else None


class Phase:
    def __init__(self, seconds: float, max_requests: int) -> None:
        self.seconds, self.max_requests = seconds, max_requests
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.count = 0
        self.deadline = 0.0

    def record(self, label: str, elapsed: float, status: int) -> None:
        with self.lock:
            self.samples[label].append(elapsed)
            self.count += 1
            if status >= 400:
                self.errors[label] += 1

    def running(self) -> bool:
        return time.monotonic() < self.deadline and self.count < self.max_requests

    def run(self, loops) -> float:
        threads = [threading.Thread(target=loop, args=(self,), daemon=True) for loop in loops]
        self.deadline = time.monotonic() + self.seconds
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(title: str, phase: Phase, elapsed: float, cpu_s: float | None) -> None:
    total = sum(len(v) for v in phase.samples.values())
    cpu = f"; API CPU {cpu_s:.1f} s = {total / cpu_s:.0f} requests per CPU-second" if cpu_s else ""
    print(f"\n{title}: {total} requests in {elapsed:.1f} s = {total / elapsed:.0f} req/s{cpu}")
    print(f"  {'endpoint':<44} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for label in sorted(phase.samples, key=lambda k: -len(phase.samples[k])):
        values = phase.samples[label]
        print(f"  {label:<44} {len(values):>8} {len(values) / elapsed:>7.1f} {percentile(values, 0.5):>8.1f} "
              f"{percentile(values, 0.95):>8.1f} {percentile(values, 0.99):>8.1f} {phase.errors[label]:>6}")


def log_in(port: int, username: str) -> str:
    status, body = Client(port).call("login", "POST", "/api/v1/auth/token",
                                     {"username": username, "password": "demo1234"})
    if status != 200:
        raise SystemExit(f"cannot log in as {username}: {status} {body}")
    return body["access_token"]


def technician_loop(port: int, token: str, job_id: str):
    device = str(uuid.uuid4())
    _, snapshot = Client(port, token).call("snapshot", "GET", "/api/v1/sync/changes?limit=500")  # before the clock

    def loop(phase: Phase) -> None:
        client, rng, next_id, cursor = Client(port, token), random.Random(device), 1, snapshot["next_cursor"]
        while phase.running():
            if rng.random() < 0.5:
                status, page = client.call("GET /sync/changes (incremental)", "GET",
                                           f"/api/v1/sync/changes?cursor={cursor}", record=phase.record)
                if status == 200:
                    cursor = page["next_cursor"]
            else:
                batch = [{"id": n, "kind": "note", "payload": {"job_id": job_id, "text": f"load note {n}"}}
                         for n in range(next_id, next_id + 5)]
                status, _ = client.call("POST /sync/mutations (5 notes)", "POST", "/api/v1/sync/mutations",
                                        {"device_id": device, "mutations": batch}, record=phase.record)
                if status == 200:
                    next_id += 5
    return loop


def manager_loop(port: int, token: str, point_id: str, day: str):
    def loop(phase: Phase) -> None:
        client, rng = Client(port, token), random.Random(point_id)
        while phase.running():
            if rng.random() < 0.8:
                client.call("GET /jobs (page of 20)", "GET", "/api/v1/jobs?page_size=20", record=phase.record)
            else:
                client.call("POST /service-points/{id}/plans (1 s)", "POST",
                            f"/api/v1/service-points/{point_id}/plans", {"date": day, "time_limit_s": 1},
                            record=phase.record)
    return loop


def reviewer_loop(port: int, token: str):
    def loop(phase: Phase) -> None:
        client, rng = Client(port, token), random.Random(token[-8:])
        while phase.running():
            status, queue = client.call("GET /audits (open, page of 20)", "GET",
                                        "/api/v1/audits?status=open&page_size=20", record=phase.record)
            if status == 200 and queue:
                audit = rng.choice(queue)["id"]
                client.call("GET /audits/{id}", "GET", f"/api/v1/audits/{audit}", record=phase.record)
    return loop


def simple_loop(port: int, label: str, path: str):
    def loop(phase: Phase) -> None:
        client = Client(port)
        while phase.running():
            client.call(label, "GET", path, record=phase.record)
    return loop


def mix_loops(url: str, port: int, clients: int) -> list:
    engine = make_engine(url)
    with Session(engine) as session:
        technicians = session.execute(
            select(User.username, Job.id).join(Technician, Technician.user_id == User.id)
            .join(Job, Job.technician_id == Technician.id)
            .where(Job.status.in_((JobStatus.SCHEDULED, JobStatus.EN_ROUTE, JobStatus.ON_SITE)))
            .order_by(User.username, Job.reference)).all()
        managers = session.execute(
            select(User.username, ServicePoint.id).join(ServicePoint, ServicePoint.id == User.service_point_id)
            .where(User.role == Role.MANAGER, ServicePoint.status == AuthorisationStatus.ACTIVE).order_by(User.username)).all()
        reviewers = session.scalars(select(User.username).where(User.role == Role.REVIEWER)
                                    .order_by(User.username)).all()
    engine.dispose()
    phones = list({username: job for username, job in technicians}.items())
    day = (utcnow().astimezone(TZ).date() + timedelta(days=1)).isoformat()
    n_tech, n_manager = clients // 2, max(1, clients // 3)
    n_reviewer = max(1, clients - n_tech - n_manager)
    loops = [technician_loop(port, log_in(port, u), str(j)) for u, j in phones[:n_tech]]
    loops += [manager_loop(port, log_in(port, u), str(p), day) for u, p in (managers * 2)[:n_manager]]
    loops += [reviewer_loop(port, log_in(port, u)) for u in (reviewers * clients)[:n_reviewer]]
    return loops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DISPATCH_TEST_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("DISPATCH_TEST_REDIS_URL"))
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--web-concurrency", type=int, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, help="threads per gunicorn worker (default: gunicorn.conf.py's)")
    parser.add_argument("--redis-db", type=int, default=5, help="the Redis database number it flushes and uses")
    parser.add_argument("--reuse", action="store_true", help="keep the bench_api database of the last run")
    args = parser.parse_args()
    if not args.database_url or not args.redis_url:
        raise SystemExit("needs PostgreSQL and Redis: --database-url/--redis-url (or source /tmp/services.env)")

    url = database(args.database_url, args.reuse)
    redis_url = args.redis_url.rsplit("/", 1)[0] + f"/{args.redis_db}"
    logs = Path(tempfile.mkdtemp(prefix="api-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_TEST_")}
    env.update(PYTHONPATH=str(REPO), DATABASE_URL=url, REDIS_URL=redis_url, SECRET_KEY=SECRET, DISPATCH_LOG_JSON="1",
               DISPATCH_INSTANCE_PATH=str(logs), DISPATCH_UPLOAD_DIR=str(logs / "uploads"))
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    api_port, bare_port = free_port(), free_port()
    processes = []
    try:
        api = gunicorn("wsgi:app", api_port, env, logs / "api.log", args.web_concurrency, args.threads)
        processes.append(api)
        bare = gunicorn("benchmarks.api_load:bare_app()", bare_port, env, logs / "bare.log",
                        args.web_concurrency, args.threads)
        processes.append(bare)
        processes.append(spawn(["-m", "workers", "routing"], env, logs / "worker.log"))
        workers = args.web_concurrency or f"{(os.cpu_count() or 1) * 2 + 1} (2 x cores + 1)"
        print(f"stack: gunicorn gthread, {workers} workers x {args.threads or 4} threads, on {os.cpu_count()} cores "
              f"(shared); PostgreSQL; Redis + 1 routing worker; {args.clients} clients, {args.seconds:.0f} s per phase; "
              f"logs in {logs}")

        phase = Phase(args.seconds, args.max_requests)
        before = tree_cpu_seconds(bare.pid)
        elapsed = phase.run([simple_loop(bare_port, "bare Flask GET / (ceiling)", "/")] * args.clients)
        ceiling_cpu = tree_cpu_seconds(bare.pid) - before
        report("1. ceiling: bare Flask app, same gunicorn config", phase, elapsed, ceiling_cpu)
        ceiling = (phase.count / elapsed, phase.count / ceiling_cpu)

        phase = Phase(args.seconds, args.max_requests)
        before = tree_cpu_seconds(api.pid)
        elapsed = phase.run([simple_loop(api_port, "GET /healthz", "/healthz")] * args.clients)
        report("2. GET /healthz: the API's middleware, no database", phase, elapsed, tree_cpu_seconds(api.pid) - before)

        # The mix on fresh workers: the /healthz phase drives every worker to about max_requests
        # (5000 +- 500 in gunicorn.conf.py), so they would recycle during the mix, their boot CPU
        # counted as the mix's and their boot pauses in its tail latencies.
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)
        api_port = free_port()
        api = processes[0] = gunicorn("wsgi:app", api_port, env, logs / "api.log", args.web_concurrency, args.threads)
        settle(api.pid)
        loops = mix_loops(url, api_port, args.clients)
        phase = Phase(args.seconds, args.max_requests)
        worker = processes[2]
        before, worker_before, clients_before = tree_cpu_seconds(api.pid), tree_cpu_seconds(worker.pid), time.process_time()
        elapsed = phase.run(loops)
        api_cpu = tree_cpu_seconds(api.pid) - before
        report("3. the mix (technicians, managers, reviewers)", phase, elapsed, api_cpu)
        print(f"\nthe mix against the ceiling of this run: {phase.count / elapsed:.0f} / {ceiling[0]:.0f} req/s = "
              f"{100 * phase.count / elapsed / ceiling[0]:.1f} %; {phase.count / api_cpu:.0f} / {ceiling[1]:.0f} "
              f"requests per API CPU-second = {100 * phase.count / api_cpu / ceiling[1]:.1f} %")
        cores = os.cpu_count() or 1
        shares = {"API (gunicorn)": api_cpu, "routing worker (the 1 s plans)": tree_cpu_seconds(worker.pid) - worker_before,
                  "this script's clients": time.process_time() - clients_before}
        print("CPU during the mix, as a share of the machine's " + f"{cores} cores x {elapsed:.1f} s: " + "; ".join(
            f"{name} {seconds:.1f} s = {100 * seconds / (cores * elapsed):.0f} %" for name, seconds in shares.items())
            + f"; the rest (PostgreSQL, Redis, other users of the machine) {100 - 100 * sum(shares.values()) / (cores * elapsed):.0f} %")
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
