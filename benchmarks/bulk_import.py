"""Bulk import of the installed base: rows per second for a 100,000-unit CSV.

    python benchmarks/bulk_import.py [--database-url URL] [--rows 100000] [--with-buyers 0.5]

Builds a fresh database (``bench_import``: PostgreSQL when --database-url or
DISPATCH_TEST_DATABASE_URL is given, else a temporary SQLite file) migrated by Alembic, with one
product and one dealer; writes a CSV of ``--rows`` units, a share of them sold (buyer, purchase
date, channel, dealer); then runs what the HTTP layer and the worker run: the dry run (every row
checked, nothing written) and the background run (batches of 500 rows, a savepoint per row,
activations sealed in the audit chain), and a second run of the same file (idempotent: nothing
changes). Prints rows/s of each phase and the CPU share the process got (process CPU / wall
time; below 100 % the machine was busy elsewhere).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_db import fresh_database  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from dispatch import migrate, wiring  # noqa: E402
from dispatch.auth.principal import SYSTEM  # noqa: E402
from dispatch.clock import local_today  # noqa: E402
from dispatch.db import make_engine  # noqa: E402
from dispatch.integrations import imports  # noqa: E402
from dispatch.integrations.enums import ImportKind, ImportStatus  # noqa: E402
from dispatch.integrations.models import ImportRun  # noqa: E402
from dispatch.network.models import Activation, Product, ProductCategory, Unit  # noqa: E402
from dispatch.uow import UnitOfWork  # noqa: E402
from dispatch.warranty.enums import PartnerKind  # noqa: E402
from dispatch.warranty.models import TradePartner  # noqa: E402

TZ = "Asia/Shanghai"


def csv_text(rows: int, sold_share: float, today: date) -> str:
    year = today.year - 1
    made = date(year, 3, 1)
    bought = today - timedelta(days=30)
    lines = [",".join(imports.UNIT_COLUMNS)]
    sold_every = max(1, round(1 / sold_share)) if sold_share else 0
    for n in range(1, rows + 1):
        serial = f"BM{year}{n:07d}"
        if sold_every and n % sold_every == 0:
            lines.append(f"{serial},BM-RO500,{made},138{n:08d},Buyer {n},{n} Bench Road,{bought},retail,DL-BENCH")
        else:
            lines.append(f"{serial},BM-RO500,{made},,,,,,")
    return "\n".join(lines) + "\n"


def timed(label: str, rows: int, work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<28} {rows / wall:>9,.0f} rows/s  {wall:7.1f} s wall  CPU share {100 * cpu / wall:5.1f} %")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DISPATCH_TEST_DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--with-buyers", type=float, default=0.5, help="share of the units sold (0..1)")
    args = parser.parse_args()

    url = fresh_database(args.database_url, "bench_import")
    migrate.upgrade(url)
    wiring.install()
    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        session.add(Product(sku="BM-RO500", name="Bench purifier", category=ProductCategory.WATER_PURIFIER,
                            warranty_months=24, maintenance_interval_days=180, standard_minutes={}))
        session.add(TradePartner(code="DL-BENCH", name="Bench dealer", kind=PartnerKind.DEALER, region_code=""))
        session.commit()
    text = csv_text(args.rows, args.with_buyers, local_today(TZ))
    print(f"{engine.dialect.name}: {args.rows:,} units ({args.with_buyers:.0%} sold), CSV {len(text) / 1e6:.1f} MB")

    def uow() -> UnitOfWork:
        return UnitOfWork(factory)

    timed("dry run (check only)", args.rows, lambda: imports.dry_run(uow(), SYSTEM, content=text, tz=TZ))
    for label in ("run (first import)", "run again (no change)"):
        with factory() as session:
            run = ImportRun(id=uuid.uuid4(), kind=ImportKind.UNITS, status=ImportStatus.QUEUED, filename="bench.csv",
                            content=text)
            session.add(run)
            session.commit()
        outcome = timed(label, args.rows, lambda: imports.run(uow, run.id, tz=TZ, actor=SYSTEM))
        assert outcome.get("applied") == args.rows, outcome
    with factory() as session:
        units = session.scalar(select(func.count()).select_from(Unit))
        cards = session.scalar(select(func.count()).select_from(Activation))
    print(f"in the database: {units:,} units, {cards:,} warranty cards")
    engine.dispose()


if __name__ == "__main__":
    main()
