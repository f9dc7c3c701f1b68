"""How fast ``GET /audit-log/verify`` walks the chain and the rows it vouches for.

    python benchmarks/audit_verify.py [--database-url URL] [--entries 20000] [--page 5000]

Builds a fresh database named ``bench_verify`` (PostgreSQL when --database-url or
DISPATCH_TEST_DATABASE_URL is given, else a temporary SQLite file) with ``--entries`` log
entries, each sealing one new catalogue part (so there are as many sealed rows as entries, the
shape of a stock ledger: one movement, one entry), then runs the verification the endpoint runs,
in pages of ``--page`` entries or rows, and prints:

- entries/s of the chain walk (hash of every entry with its seals, links, head);
- rows/s of the row pass (content hash of every covered row against its newest seal, then the
  sealed rows that must still exist);
- the whole run, and the CPU share the process got (the machine is shared: a low share means
  noisy figures, not a slow verifier).

Memory stays flat: a page holds at most ``--page`` entries or rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_db import fresh_database  # noqa: E402
from dispatch import migrate  # noqa: E402
from dispatch.audit_log import service as audit_log  # noqa: E402
from dispatch.db import make_engine, make_session_factory  # noqa: E402
from dispatch.stock.models import Part  # noqa: E402


def build(factory, entries: int) -> None:
    batch = 1000
    for start in range(0, entries, batch):
        with factory() as session:
            for n in range(start, min(start + batch, entries)):
                part = Part(sku=f"BENCH-{n:07d}", name=f"Bench part {n}", list_price=Decimal("12.50") + n % 100)
                session.add(part)
                session.flush()
                audit_log.append(session, kind="stock.part_price", subject_id=part.id, seal=[part],
                                 payload={"sku": part.sku, "list_price": str(part.list_price)})
            session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DISPATCH_TEST_DATABASE_URL"))
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=5_000)
    args = parser.parse_args()

    url = fresh_database(args.database_url, "bench_verify")
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    build(factory, args.entries)
    print(f"built {args.entries} entries sealing {args.entries} rows in {time.perf_counter() - started:.1f} s "
          f"({engine.dialect.name})")

    spent = {"chain": 0.0, "rows": 0.0}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with factory() as session:
        progress, found = audit_log._start(session), []
        while progress.phase != "done":
            phase = "chain" if progress.phase == "chain" else "rows"
            tick = time.perf_counter()
            audit_log._page(session, progress, args.page, found)
            spent[phase] += time.perf_counter() - tick
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    assert progress.first_broken_seq is None and not found, (progress, found[:3])
    print(f"verify, pages of {args.page}: {progress.entries_checked} entries in {spent['chain']:.2f} s = "
          f"{progress.entries_checked / spent['chain']:,.0f} entries/s; {progress.rows_checked} rows (and their "
          f"seals) in {spent['rows']:.2f} s = {progress.rows_checked / spent['rows']:,.0f} rows/s")
    total = progress.entries_checked + progress.rows_checked
    print(f"whole run {wall:.2f} s = {progress.entries_checked / wall:,.0f} entries/s with their rows "
          f"({total / wall:,.0f} entries + rows per s); CPU share {cpu / wall:.0%} of one core "
          f"({os.cpu_count()} cores on the machine)")
    engine.dispose()


if __name__ == "__main__":
    main()
