"""Stock movements per second with concurrent clients, and how much the audit chain costs.

    python benchmarks/stock_movements.py [--database-url URL] [--clients 8] [--ops 150]

Runs the stock services (the same functions the HTTP views call: one unit of work and one commit
per use case) from N clients, each with its own connections: by default N forked processes (a
server runs several worker processes; threads of one process share one GIL, so N threads measure
the GIL, not the database; ``--threads`` runs them that way, and the header says which), against a fresh database named
``bench_stock`` (PostgreSQL when --database-url or DISPATCH_TEST_DATABASE_URL is given, else a
temporary SQLite file) holding the demo network and stock plus jobs on site for every technician.

Each client runs a mix: supplier deliveries into HQ, transfers HQ -> point and point -> van with
the receiver's confirmation, count adjustments, and job cycles (plan a part: reserve; fit it:
consume). A *movement* is one ledger operation (one ``operation_id``: a transfer's two rows count
once). Scenarios:

- spread: parts and locations drawn from the whole network (little row contention);
- hot: every client works one part at HQ, one point and its vans (heavy row contention);
- each with the audit chain (the real system) and without it (the stock ledger's append replaced
  by a no-op), to show whether the chain's single head row dominates.

Prints movements/s, the SQL statements sent per movement, the CPU share the clients got (CPU
seconds of every client process over wall seconds: 200 % is both cores of a 2-core machine),
latency per request (a transfer request includes its receipt; a job cycle
its reservation and consumption), refused requests (409), and two mean shares of a request's
time: "append %" inside the chain append (waiting for the head row's lock, then writing the
entry) and "held %" from the first append's end to the request's end (the lock is held to the
commit). Run it on a quiet machine: on a loaded one the CPU, not the chain, is the bottleneck.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench_db import fresh_database  # noqa: E402
from dispatch import migrate, wiring  # noqa: E402
from dispatch.audit_log import service as audit_log  # noqa: E402
from dispatch.auth.principal import SYSTEM  # noqa: E402
from dispatch.clock import utcnow  # noqa: E402
from dispatch.config import Settings  # noqa: E402
from dispatch.db import make_engine, make_session_factory  # noqa: E402
from dispatch.errors import Conflict, InsufficientStock  # noqa: E402
from dispatch.jobs.models import Job, JobStatus  # noqa: E402
from dispatch.network.models import Customer, JobType, Product, Technician  # noqa: E402
from dispatch.stock import job_parts, ledger, movements  # noqa: E402
from dispatch.stock.job_parts import ConsumptionLine, ExpectedLine  # noqa: E402
from dispatch.stock.models import LocationKind, Part, PartFit, StockLocation, StockMovement  # noqa: E402
from dispatch.stock.movements import PartRef  # noqa: E402
from dispatch.uow import UnitOfWork  # noqa: E402
from seeds import SeedContext  # noqa: E402
from seeds import network as network_seed  # noqa: E402
from seeds import stock as stock_seed  # noqa: E402

DB_NAME = "bench_stock"


def build_world(factory, settings: Settings, jobs_per_technician: int) -> None:
    """Demo network and stock, and jobs on site for every technician (parts are fitted on them)."""
    with factory() as session:
        ctx = SeedContext(session=session, settings=settings, today=date(2027, 3, 1), rng=random.Random(1))
        network_seed.seed(ctx)
        stock_seed.seed(ctx)
        customer = session.scalars(select(Customer).order_by(Customer.phone)).first()
        product = session.scalar(select(Product).where(Product.sku == "WP-RO500"))
        now = utcnow()
        for technician in session.scalars(select(Technician).order_by(Technician.id)):
            for n in range(jobs_per_technician):
                session.add(Job(reference=f"B-{technician.id.hex[:8]}-{n:02d}", type=JobType.REPAIR,
                                status=JobStatus.ON_SITE, customer_id=customer.id, product_id=product.id,
                                service_point_id=technician.service_point_id, technician_id=technician.id,
                                reported_at=now - timedelta(hours=3), scheduled_start=now - timedelta(hours=1),
                                scheduled_end=now, arrived_at=now, parts_covered=False, labour_covered=False))
        audit_log.append(session, kind="bench.setup", subject_id=DB_NAME, payload={}, actor_id=None)
        session.commit()


class ChainTimer:
    """Per thread and request: time spent inside the chain append (mostly waiting for the head
    row's lock) and time from the first append's end to the request's end (the lock is held)."""

    def __init__(self) -> None:
        self.local = threading.local()

    def start(self) -> None:
        self.local.appending = 0.0
        self.local.first_end = None

    def shares(self, started: float, ended: float) -> tuple[float, float]:
        elapsed = ended - started
        if not elapsed:
            return 0.0, 0.0
        held = ended - self.local.first_end if self.local.first_end is not None else 0.0
        return self.local.appending / elapsed, held / elapsed

    def wrap(self, chain):
        """An audit module stand-in whose append (which takes the head lock) is timed."""
        timer = self

        class Timed:
            """The chain's functions; ``append`` timed (``next_seq`` and the rest pass through)."""

            def __getattr__(self, name):
                return getattr(chain, name)

            @staticmethod
            def append(session, **kwargs):
                begun = time.perf_counter()
                entry = chain.append(session, **kwargs)
                done = time.perf_counter()
                timer.local.appending += done - begun
                if timer.local.first_end is None:
                    timer.local.first_end = done
                return entry

        return Timed()


class _NoChain:
    @staticmethod
    def append(session, **kwargs):
        return None

    @staticmethod
    def next_seq(session, actor_id=None):  # lock_levels takes the head before the levels: none here
        return 0


def run(engine, factory, *, clients: int, ops: int, hot: bool, chain: bool, seed: int, processes: bool) -> dict:
    with factory() as session:
        parts = session.scalars(select(Part.sku).order_by(Part.sku)).all()
        fitting = session.scalars(select(Part.sku).join(PartFit, PartFit.part_id == Part.id)
                                  .join(Product, Product.id == PartFit.product_id)
                                  .where(Product.sku == "WP-RO500").order_by(Part.sku)).all()
        places = session.execute(select(StockLocation.code, StockLocation.kind, StockLocation.service_point_id)
                                 .order_by(StockLocation.code)).all()
        jobs = session.execute(select(Job.id, Job.service_point_id).where(Job.reference.like("B-%"))
                               .order_by(Job.reference)).all()
        before = session.scalar(select(func.count(func.distinct(StockMovement.operation_id))))
    points = [p for p in places if p.kind == LocationKind.POINT]
    vans_of = {p.service_point_id: [v.code for v in places if v.kind == LocationKind.VAN
                                    and v.service_point_id == p.service_point_id] for p in points}
    hot_point = next(p for p in points if p.code == "HZ01")
    timer = ChainTimer()
    saved = ledger.audit_log
    ledger.audit_log = timer.wrap(ledger.audit_log) if chain else _NoChain

    statements = [0]  # SQL statements sent (a forked client counts its own)

    def count(*_) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)

    def client(index: int, barrier, report) -> None:
        """One client's requests; ``report`` gets (outcomes, latencies, waits, holds, statements, cpu)."""
        if processes:
            engine.dispose(close=False)  # a forked child opens its own connections
            statements[0] = 0
        rng = random.Random(seed * 1000 + index)
        my_jobs = [j for j in jobs[index::clients] if not hot or j.service_point_id == hot_point.service_point_id] \
            or jobs[index::clients]
        outcomes: Counter[str] = Counter()
        latencies, waiting, holding = [], [], []
        barrier.wait(60)
        cpu = time.process_time()
        for _ in range(ops):
            sku = "VLV-SOL-IN" if hot else rng.choice(parts)
            point = hot_point if hot else rng.choice(points)
            kind = rng.choices(["receive", "transfer", "adjust", "job"], [15, 35, 20, 30])[0]
            timer.start()
            started = time.perf_counter()
            try:
                if kind == "receive":
                    movements.receive(UnitOfWork(factory), SYSTEM, lines=[PartRef(rng.randint(1, 3), part_sku=sku)])
                elif kind == "transfer":
                    source, target = ("HQ", point.code) if rng.random() < 0.5 else (
                        point.code, rng.choice(vans_of[point.service_point_id]))
                    transfer = movements.dispatch_transfer(UnitOfWork(factory), SYSTEM, from_location=source,
                                                           to_location=target, lines=[PartRef(1, part_sku=sku)])
                    movements.confirm_receipt(UnitOfWork(factory), SYSTEM, transfer.id)
                elif kind == "adjust":
                    where = point.code if rng.random() < 0.5 else rng.choice(vans_of[point.service_point_id])
                    movements.adjust(UnitOfWork(factory), SYSTEM, location=where, part_sku=sku,
                                     delta=rng.choice([-1, 1, 2]), reason="benchmark")
                else:
                    job = rng.choice(my_jobs).id
                    sku = sku if sku in fitting else rng.choice(fitting)  # the jobs' product takes it
                    job_parts.set_expected_parts(UnitOfWork(factory), SYSTEM, job, [ExpectedLine(1, part_sku=sku)])
                    job_parts.consume_parts(UnitOfWork(factory), SYSTEM, job, [ConsumptionLine(1, part_sku=sku)])
                result = kind
            except InsufficientStock:
                result = "409 insufficient stock"
            except Conflict:
                result = "409 conflict"
            ended = time.perf_counter()
            wait, hold = timer.shares(started, ended)
            outcomes[result] += 1
            latencies.append(ended - started)
            waiting.append(wait)
            holding.append(hold)
        cpu = time.process_time() - cpu if processes else 0.0  # threads: the parent measures the process
        report.put((dict(outcomes), latencies, waiting, holding, statements[0] if processes else 0, cpu))

    if processes:
        context = multiprocessing.get_context("fork")
        barrier, report = context.Barrier(clients), context.Queue()
        workers = [context.Process(target=client, args=(i, barrier, report)) for i in range(clients)]
    else:
        barrier, report = threading.Barrier(clients), queue.Queue()
        workers = [threading.Thread(target=client, args=(i, barrier, report)) for i in range(clients)]
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        for worker in workers:
            worker.start()
        reports = [report.get(timeout=3600) for _ in workers]
        for worker in workers:
            worker.join()
    finally:
        ledger.audit_log = saved
        event.remove(engine, "before_cursor_execute", count)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started + sum(r[5] for r in reports)
    outcomes: Counter[str] = Counter()
    for r in reports:
        outcomes.update(r[0])
    latencies = [x for r in reports for x in r[1]]
    waiting = [x for r in reports for x in r[2]]
    holding = [x for r in reports for x in r[3]]
    sent = sum(r[4] for r in reports) if processes else statements[0]
    with factory() as session:
        after = session.scalar(select(func.count(func.distinct(StockMovement.operation_id))))
    moved = after - before
    return {"movements": moved, "seconds": wall, "per_s": moved / wall, "outcomes": dict(outcomes),
            "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000,
            "chain_wait": statistics.mean(waiting), "chain_held": statistics.mean(holding),
            "statements": sent / max(moved, 1), "cpu_share": cpu / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DISPATCH_TEST_DATABASE_URL"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--ops", type=int, default=150, help="requests per client per scenario")
    parser.add_argument("--jobs-per-technician", type=int, default=4)
    parser.add_argument("--threads", action="store_true",
                        help="clients as threads of this process (they share one GIL: that measures the GIL); "
                             "default: one process per client, as a server's workers are")
    parser.add_argument("--only", choices=["spread", "hot"], help="run only these scenarios")
    args = parser.parse_args()
    wiring.install()  # the hooks, sealed tables and feed listeners, as every writing process

    url = fresh_database(args.database_url, DB_NAME)
    settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789-abcdefghijklmnop",
                        upload_dir=Path(tempfile.mkdtemp()), password_hash_method="scrypt:1024:8:1")
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=max(args.clients * 2, 10), max_overflow=10)
    factory = make_session_factory(engine)
    build_world(factory, settings, args.jobs_per_technician)
    print(f"database: {make_url(url).get_backend_name()} {make_url(url).database}; clients={args.clients} "
          f"{'threads in one process' if args.threads else 'processes'}, {args.ops} requests per client per scenario")
    print(f"{'scenario':<28} {'clients':>7} {'movements':>9} {'mov/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'append %':>8} {'held %':>7} {'SQL/mov':>7} {'CPU':>5}  refused")
    seed = 0
    for hot in (False, True):
        if args.only and args.only != ("hot" if hot else "spread"):
            continue
        for chain in (True, False):
            for clients in (1, args.clients):
                seed += 1
                ops = args.ops if clients > 1 else max(args.ops * 2, 100)
                result = run(engine, factory, clients=clients, ops=ops, hot=hot, chain=chain, seed=seed,
                             processes=not args.threads and clients > 1)
                refused = sum(v for k, v in result["outcomes"].items() if k.startswith("409"))
                name = f"{'hot' if hot else 'spread'}, {'audit chain' if chain else 'no chain'}"
                print(f"{name:<28} {clients:>7} {result['movements']:>9} {result['per_s']:>8.1f} "
                      f"{result['p50_ms']:>7.1f} {result['p95_ms']:>7.1f} {result['chain_wait'] * 100:>7.0f}% "
                      f"{result['chain_held'] * 100:>6.0f}% {result['statements']:>7.1f} {result['cpu_share']:>5.0%}  "
                      f"{refused}/{sum(result['outcomes'].values())}")
    engine.dispose()


if __name__ == "__main__":
    main()
