"""Dispatch-resolution throughput: which point gets a job, for 10,000 random locations.

Builds a scratch SQLite database with the demo network (3 cities, 12 districts, 7 points), then
resolves random locations spread over the demo cities (each city's box padded by 5 %, so some
land outside every district and exercise the nearest-point fallback or no coverage). Each
resolution is what intake does: the STRtree district lookup (with its freshness check), the
authorised-point query, and the geodesic distance. Prints jobs/s (wall clock, and per CPU-second
since the machines are shared) and the outcome mix.

Usage::

    python benchmarks/dispatch_resolution.py [--locations 10000] [--seed 7] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_db import fresh_database  # noqa: E402
from dispatch import migrate, wiring  # noqa: E402
from dispatch.clock import utcnow  # noqa: E402
from dispatch.config import Settings  # noqa: E402
from dispatch.db import make_engine, make_session_factory  # noqa: E402
from dispatch.jobs import resolution  # noqa: E402
from dispatch.network.models import JobType, ProductCategory  # noqa: E402
from dispatch.network.regions import district_index  # noqa: E402
from seeds import SeedContext  # noqa: E402
from seeds import network as network_seed  # noqa: E402


def city_boxes() -> list[tuple[float, float, float, float]]:
    """(south, west, north, east) of each demo city, padded by 5 % on every side."""
    boxes = []
    for *_, (lat0, lon0), _districts in network_seed.CITIES:
        height, width = 2 * network_seed.CELL_LAT, 2 * network_seed.CELL_LON
        boxes.append((lat0 - 0.05 * height, lon0 - 0.05 * width, lat0 + 1.05 * height, lon0 + 1.05 * width))
    return boxes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server (a fresh bench_resolution database next to it); default: SQLite")
    args = parser.parse_args()
    wiring.install()  # the hooks, sealed tables and feed listeners, as every writing process

    scratch = tempfile.TemporaryDirectory()
    url = fresh_database(args.database_url, "bench_resolution") if args.database_url \
        else f"sqlite:///{scratch.name}/bench.db"
    settings = Settings(database_url=url, secret_key="benchmark-only", upload_dir=Path(scratch.name),
                        password_hash_method="scrypt:1024:8:1")
    migrate.upgrade(url)
    factory = make_session_factory(make_engine(url))
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    with factory() as session:
        network_seed.seed(SeedContext(session=session, settings=settings, today=today, rng=random.Random(1)))
        session.commit()

    rng = random.Random(args.seed)
    boxes = city_boxes()
    points = []
    for _ in range(args.locations):
        south, west, north, east = rng.choice(boxes)
        points.append((rng.uniform(south, north), rng.uniform(west, east),
                       rng.choice(list(ProductCategory)), rng.choice(list(JobType))))

    outcomes: Counter[str] = Counter()
    per_point: Counter[str] = Counter()
    with factory() as session:
        started = time.perf_counter()
        district_index(session)
        cold_ms = (time.perf_counter() - started) * 1000
        lap_times = []
        started, cpu_started = time.perf_counter(), time.process_time()
        for lat, lon, category, job_type in points:
            lap = time.perf_counter()
            try:
                decision = resolution.resolve(session, category=category, job_type=job_type, on=today,
                                              radius_km=settings.fallback_radius_km,
                                              location=resolution.Location(lat, lon))
                outcomes[decision.reason.value] += 1
                per_point[decision.service_point.code] += 1
            except resolution.NoCoverage:
                outcomes["no-coverage"] += 1
            lap_times.append(time.perf_counter() - lap)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started

        # What one intake per transaction costs: the memo of the network starts empty each time.
        single = points[: max(1, len(points) // 5)]
        single_started, single_cpu = time.perf_counter(), time.process_time()
        for lat, lon, category, job_type in single:
            try:
                resolution.resolve(session, category=category, job_type=job_type, on=today,
                                   radius_km=settings.fallback_radius_km, location=resolution.Location(lat, lon))
            except resolution.NoCoverage:
                pass
            session.rollback()  # the transaction ends
        single_elapsed, single_cpu = time.perf_counter() - single_started, time.process_time() - single_cpu

        # The resolution step of one intake: its transaction is already open (intake has read the
        # product and the customer), so the step is the network version check plus the lookup.
        step_wall = step_cpu = 0.0
        for lat, lon, category, job_type in single:
            session.connection()  # the intake's transaction, begun before the step
            began, began_cpu = time.perf_counter(), time.process_time()
            try:
                resolution.resolve(session, category=category, job_type=job_type, on=today,
                                   radius_km=settings.fallback_radius_km, location=resolution.Location(lat, lon))
            except resolution.NoCoverage:
                pass
            step_wall += time.perf_counter() - began
            step_cpu += time.process_time() - began_cpu
            session.rollback()

        index = district_index(session)
        started = time.perf_counter()
        for lat, lon, _, _ in points:
            index.locate(lat, lon)
        locate_elapsed = time.perf_counter() - started

    backend = url.split(":", 1)[0]
    print(f"dispatch resolution: {args.locations} random locations over the demo cities ({backend})")
    print(f"  throughput        {args.locations / elapsed:,.0f} jobs/s  ({elapsed:.2f} s total), all in one "
          "transaction (a batch intake)")
    print(f"  one per transaction {len(single) / single_elapsed:,.0f} jobs/s (BEGIN and ROLLBACK included), {len(single) / single_cpu:,.0f} per "
          f"CPU-second ({len(single)} resolutions, each in its own transaction, as one intake)")
    print(f"  resolution step   {len(single) / step_wall:,.0f} intakes/s, {len(single) / step_cpu:,.0f} per CPU-second "
          "(one per intake transaction, timed inside it: the version check and the lookup)")
    print(f"  CPU               {cpu:.2f} s, {cpu / elapsed:.0%} of wall time (shared machine): "
          f"{args.locations / cpu:,.0f} jobs per CPU-second")
    print(f"  latency           median {statistics.median(lap_times) * 1e3:.2f} ms, "
          f"p99 {sorted(lap_times)[int(0.99 * len(lap_times))] * 1e3:.2f} ms")
    print(f"  STRtree alone     {args.locations / locate_elapsed:,.0f} lookups/s")
    print(f"  index cold build  {cold_ms:.1f} ms")
    print("  outcomes          " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
    print("  per point         " + ", ".join(f"{k}={v}" for k, v in sorted(per_point.items())))
    scratch.cleanup()


if __name__ == "__main__":
    main()
