"""Demo stock: the parts catalogue for the demo products, labour rates, a stock location for HQ,
every point and every technician's van, opening stock with min/max levels, and parts on the demo
jobs (expected parts reserved for the planned jobs; parts fitted on the completed ones, which
files the warranty claims).

Opening stock goes through the ledger as one ``adjust`` movement per (location, part) ("opening
stock take"), so that every level equals the sum of its ledger rows from the start.
"""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import select

from dispatch.auth.principal import SYSTEM
from dispatch.errors import InsufficientStock
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import JobType, Product
from dispatch.stock import job_parts, ledger, locations
from dispatch.stock.ledger import Delta
from dispatch.stock.models import (
    JobExpectedPart,
    LabourRate,
    LocationKind,
    MovementKind,
    Part,
    PartFit,
    PartUsage,
    StockLevel,
    StockLocation,
)
from seeds import SeedContext

RO = ("WP-RO500", "WP-RO800")
# sku, name, list price (CNY), consumable, warranty covers it, fits
PARTS = [
    ("FLT-PP-S1", "PP sediment cartridge, stage 1", "39.00", True, False, (*RO, "WP-UF300")),
    ("FLT-CTO-S2", "CTO carbon block cartridge, stage 2", "59.00", True, False, RO),
    ("FLT-UDF-S3", "Granular activated carbon cartridge, stage 3", "49.00", True, False, RO),
    ("FLT-T33-S4", "T33 post-carbon cartridge, stage 4", "45.00", True, False, RO),
    ("FLT-UF-S2", "Ultrafiltration membrane cartridge", "129.00", True, False, ("WP-UF300",)),
    ("MEM-RO-75G", "RO membrane 75 GPD", "299.00", False, True, ("WP-RO500",)),
    ("MEM-RO-400G", "RO membrane 400 GPD", "499.00", False, True, ("WP-RO800",)),
    ("PMP-BST-24V", "Booster pump 24 V", "268.00", False, True, RO),
    ("VLV-SOL-IN", "Inlet solenoid valve 24 V", "68.00", False, True, RO),
    ("VLV-SOL-WW", "Waste-water solenoid valve", "58.00", False, True, RO),
    ("SNS-TDS", "TDS sensor probe", "88.00", False, True, ("WP-RO800",)),
    ("ADP-24V", "Power adapter 24 V", "99.00", False, True, RO),
    ("HTR-EL-2000", "Heating element 2000 W", "238.00", False, True, ("WH-EH60",)),
    ("ANO-MG-EH", "Magnesium anode rod", "68.00", True, False, ("WH-EH60",)),
    ("THS-EH", "Thermostat, electric heaters", "128.00", False, True, ("WH-EH60",)),
    ("VLV-PRV-EH", "Pressure relief valve", "45.00", False, True, ("WH-EH60",)),
    ("SNS-NTC", "NTC temperature sensor", "38.00", False, True, ("WH-EH60", "WH-GH16")),
    ("IGN-GH", "Ignition controller, gas heaters", "328.00", False, True, ("WH-GH16",)),
    ("FAN-GH", "Exhaust fan motor", "268.00", False, True, ("WH-GH16",)),
    ("VLV-GAS-GH", "Gas proportional valve", "218.00", False, True, ("WH-GH16",)),
    ("SNS-FLM-GH", "Flame sensor", "58.00", False, True, ("WH-GH16",)),
    ("SNS-FLW-GH", "Water flow sensor", "78.00", False, True, ("WH-GH16",)),
]
VAN_KIT = ("FLT-PP-S1", "FLT-CTO-S2", "FLT-UDF-S3", "FLT-T33-S4", "VLV-SOL-IN", "ANO-MG-EH", "THS-EH", "SNS-NTC")
LABOUR = {JobType.INSTALL: "0.00", JobType.REPAIR: "80.00", JobType.MAINTENANCE: "50.00"}
OPENING = "opening stock take (demo)"


def _catalogue(session) -> tuple[dict[str, Part], int]:
    products = {p.sku: p for p in session.scalars(select(Product))}
    parts = {p.sku: p for p in session.scalars(select(Part))}
    added = 0
    for sku, name, price, consumable, covered, fits in PARTS:
        if sku in parts:
            continue
        part = Part(sku=sku, name=name, list_price=Decimal(price), is_consumable=consumable, warranty_covered=covered,
                    fits=[PartFit(product_id=products[p].id) for p in fits if p in products])
        session.add(part)
        parts[sku] = part
        added += 1
    session.flush()
    return parts, added


def _limits(kind: LocationKind, part: Part, rng: random.Random) -> tuple[int, int, int]:
    """(on hand, min, max) for a new level: some points and vans start low, to show replenishment."""
    if kind == LocationKind.HQ:
        return rng.randint(80, 200), 40, 200
    if kind == LocationKind.POINT:
        low, high = (10, 30) if part.is_consumable else (3, 10)
        return rng.choice([rng.randint(low, high), rng.randint(low, high), rng.randint(0, low)]), low, high
    low, high = (2, 6) if part.is_consumable else (1, 2)
    return rng.choice([high, rng.randint(low, high), rng.randint(0, low)]), low, high


def _opening_stock(session, parts: dict[str, Part]) -> tuple[int, int]:
    """Locations for HQ, points and vans; opening stock and min/max where a level is missing."""
    created = locations.ensure_network_locations(session)
    existing = set(session.execute(select(StockLevel.location_id, StockLevel.part_id)).all())
    every = session.scalars(select(StockLocation).order_by(StockLocation.code)).all()
    deltas: list[Delta] = []
    limits: list[tuple[StockLocation, Part, int, int]] = []
    for location in every:
        stocked = VAN_KIT if location.kind == LocationKind.VAN else tuple(parts)
        for sku in stocked:
            part = parts[sku]
            if (location.id, part.id) in existing:
                continue
            rng = random.Random(f"stock:{location.code}:{sku}")
            on_hand, low, high = _limits(location.kind, part, rng)
            limits.append((location, part, low, high))
            if on_hand:
                deltas.append(Delta(location.id, part.id, on_hand, on_hand=on_hand))
    if limits:  # the levels start at zero with their limits...
        insert = ledger.dialect_insert(session)
        session.execute(insert(StockLevel).on_conflict_do_nothing(), [
            {"location_id": location.id, "part_id": part.id, "on_hand": 0, "reserved": 0, "in_transit": 0,
             "defective": 0, "min_level": low, "max_level": high, "version": 0}
            for location, part, low, high in limits])
    if deltas:  # ...and the opening count goes through the ledger
        ledger.post(session, kind=MovementKind.ADJUST, deltas=deltas, actor_id=None, reason=OPENING)
    return created, len(limits)


def _job_part(job: Job, parts_by_product: dict, rng: random.Random) -> Part | None:
    fitting = parts_by_product.get(job.product_id, [])
    wanted = [p for p in fitting if p.is_consumable == (job.type == JobType.MAINTENANCE)]
    return rng.choice(wanted) if wanted else None


def _job_parts(session) -> tuple[int, int]:
    """Expected parts (reserved) for the planned demo jobs; parts fitted on the completed ones."""
    jobs = session.scalars(select(Job).where(
        Job.reference.like("DEMO-%"), Job.type != JobType.INSTALL,
        Job.status.in_([JobStatus.SCHEDULED, JobStatus.EN_ROUTE, JobStatus.ON_SITE, JobStatus.COMPLETED]),
    ).order_by(Job.reference)).all()
    if not jobs:
        return 0, 0
    planned = set(session.scalars(select(JobExpectedPart.job_id)))
    fitted = set(session.scalars(select(PartUsage.job_id)))
    parts_by_product: dict = {}
    for fit, part in session.execute(select(PartFit, Part).join(Part, Part.id == PartFit.part_id)
                                     .order_by(Part.sku)):
        parts_by_product.setdefault(fit.product_id, []).append(part)
    expected = usages = 0
    for job in jobs:
        if job.id in planned or job.id in fitted:
            continue
        rng = random.Random(f"job-parts:{job.reference}")
        part = _job_part(job, parts_by_product, rng)
        if part is None:
            continue
        session.add(JobExpectedPart(job_id=job.id, part_id=part.id, quantity=1, shortage=0, shortage_sources=[]))
        expected += 1
        if job.status == JobStatus.COMPLETED:
            for source in (None, "point"):  # the technician's van, else the point's store room
                point = locations.point_location(session, job.service_point_id).id if source else None
                try:
                    usages += len(job_parts.record_consumption(session, SYSTEM, job, [
                        job_parts.ConsumptionLine(quantity=1, part_id=part.id, from_location=point)]))
                    break
                except InsufficientStock:
                    continue  # nowhere in stock: the demo keeps the job without parts
        else:
            job_parts.reconcile(session, SYSTEM, job)
    return expected, usages


def seed(ctx: SeedContext) -> dict[str, int]:
    session = ctx.session
    added: dict[str, int] = {}
    parts, new_parts = _catalogue(session)
    if new_parts:
        added["parts"] = new_parts
    rates = {r.job_type for r in session.scalars(select(LabourRate))}
    for job_type, amount in LABOUR.items():
        if job_type not in rates:
            session.add(LabourRate(job_type=job_type, amount=Decimal(amount)))
            added["labour_rates"] = added.get("labour_rates", 0) + 1
    session.flush()
    new_locations, levels = _opening_stock(session, parts)
    if new_locations:
        added["stock_locations"] = new_locations
    if levels:
        added["stock_levels"] = levels
    expected, usages = _job_parts(session)
    if expected:
        added["job_expected_parts"] = expected
    if usages:
        added["part_usages"] = usages
    return added
