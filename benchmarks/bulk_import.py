"""Bulk import: rows per second of each shape (units, customers, parts, technicians).

    python benchmarks/bulk_import.py [--database-url URL] [--shape all|units|customers|parts|technicians]
        [--rows 100000] [--other-rows 10000] [--with-buyers 0.5] [--hash-method scrypt]

Builds a fresh database (``bench_import``: PostgreSQL when --database-url or
DISPATCH_TEST_DATABASE_URL is given, else a temporary SQLite file) migrated by Alembic, with one
product, one dealer and one service point; for each shape writes a CSV (``--rows`` units, a share
of them sold; ``--other-rows`` rows of each other shape) and runs what the HTTP layer and the
worker run: the dry run (every row checked, nothing written), the background run (batches of 500
rows; units set-based with their warranty cards sealed in the audit chain, the other shapes
through the domain's services, a savepoint per row and per service call), and a second run of
the same file (idempotent: nothing changes). Prints rows/s of each phase and the CPU share the
process got (process CPU / wall time; below 100 % the machine was busy elsewhere).

A new technician's account gets a password hash: ``--hash-method`` (default: production's
scrypt, about 0.15 s a hash on a laptop core) dominates that shape's first run.
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
from dispatch.integrations.enums import ImportFormat, ImportKind, ImportStatus  # noqa: E402
from dispatch.integrations.models import ImportRun  # noqa: E402
from dispatch.network.enums import AuthorisationStatus  # noqa: E402
from dispatch.network.models import (  # noqa: E402,E501
    Activation,
    Customer,
    Product,
    ProductCategory,
    ServicePoint,
    Technician,
    Unit,
)
from dispatch.stock.models import Part  # noqa: E402
from dispatch.uow import UnitOfWork  # noqa: E402
from dispatch.warranty.enums import PartnerKind  # noqa: E402
from dispatch.warranty.models import TradePartner  # noqa: E402

TZ = "Asia/Shanghai"


def units_csv(rows: int, sold_share: float, today: date) -> str:
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


def customers_csv(rows: int, today: date) -> str:
    lines = ["phone,name,email,address,lat,lon,grade,service_point_code,locale"]
    for n in range(1, rows + 1):
        lines.append(f"137{n:08d},Customer {n},c{n}@example.com,{n} Bench Street,{30 + n / 1e6:.6f},120.1,"
                     f"{'vip' if n % 10 == 0 else 'standard'},BM01,zh-CN")
    return "\n".join(lines) + "\n"


def parts_csv(rows: int, today: date) -> str:
    lines = ["sku,name,description,list_price,currency,is_consumable,warranty_covered,active,compatible_products"]
    for n in range(1, rows + 1):
        lines.append(f"BM-P-{n:06d},Part {n},bench part,{10 + n % 500}.50,CNY,{'true' if n % 3 == 0 else 'false'},"
                     "true,true,BM-RO500")
    return "\n".join(lines) + "\n"


def technicians_csv(rows: int, today: date) -> str:
    hired, issued, expires = today - timedelta(days=400), today - timedelta(days=100), today + timedelta(days=500)
    lines = ["username,name,service_point_code,phone,hired_on,skills,certifications,weekly_shifts"]
    for n in range(1, rows + 1):
        lines.append(f"bm.tech.{n},Technician {n},BM01,138{n:08d},{hired},water_purifier:install;"
                     f"water_purifier:repair,RO|water_purifier|{issued}|{expires},0 08:30-17:30;1 08:30-17:30")
    return "\n".join(lines) + "\n"


def timed(label: str, rows: int, work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<36} {rows / wall:>9,.0f} rows/s  {wall:7.1f} s wall  CPU share {100 * cpu / wall:5.1f} %")
    return result


MODELS = {ImportKind.UNITS: Unit, ImportKind.CUSTOMERS: Customer, ImportKind.PARTS: Part,
          ImportKind.TECHNICIANS: Technician}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DISPATCH_TEST_DATABASE_URL"))
    parser.add_argument("--shape", default="all", choices=["all", *(k.value for k in ImportKind)])
    parser.add_argument("--rows", type=int, default=100_000, help="units")
    parser.add_argument("--other-rows", type=int, default=10_000, help="rows of each other shape")
    parser.add_argument("--with-buyers", type=float, default=0.5, help="share of the units sold (0..1)")
    parser.add_argument("--hash-method", default="scrypt", help="new technicians' password hash")
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
        session.add(ServicePoint(code="BM01", name="Bench point", lat=30.0, lon=120.0,
                                 status=AuthorisationStatus.ACTIVE))
        session.commit()
    today = local_today(TZ)
    shapes = list(ImportKind) if args.shape == "all" else [ImportKind(args.shape)]

    def uow() -> UnitOfWork:
        return UnitOfWork(factory)

    for kind in shapes:
        rows = args.rows if kind == ImportKind.UNITS else args.other_rows
        text = (units_csv(rows, args.with_buyers, today) if kind == ImportKind.UNITS else
                {ImportKind.CUSTOMERS: customers_csv, ImportKind.PARTS: parts_csv,
                 ImportKind.TECHNICIANS: technicians_csv}[kind](rows, today))
        print(f"{engine.dialect.name}: {kind.value}, {rows:,} rows, CSV {len(text) / 1e6:.1f} MB")
        upload = imports.Upload(ImportFormat.CSV, text, "bench.csv")
        timed(f"{kind.value}: dry run", rows, lambda u=upload, k=kind: imports.dry_run(uow(), SYSTEM, upload=u, tz=TZ,
                                                                                 kind=k))
        for label in ("first run", "run again (no change)"):
            with factory() as session:
                run = ImportRun(id=uuid.uuid4(), kind=kind, status=ImportStatus.QUEUED, filename="bench.csv",
                                content=text)
                session.add(run)
                session.commit()
            outcome = timed(f"{kind.value}: {label}", rows, lambda run_id=run.id: imports.run(
                uow, run_id, tz=TZ, actor=SYSTEM, hash_method=args.hash_method))
            assert outcome.get("applied") == rows, outcome
        with factory() as session:
            stored = session.scalar(select(func.count()).select_from(MODELS[kind]))
        print(f"  in the database: {stored:,} {kind.value}")
    with factory() as session:
        cards = session.scalar(select(func.count()).select_from(Activation))
    print(f"warranty cards: {cards:,}")
    engine.dispose()


if __name__ == "__main__":
    main()
