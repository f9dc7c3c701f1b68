"""Demo warranty data: HQ's fault cause catalogue, a fault cause on every completed demo repair
(a few of them misuse, so their claims are rejected and the KPIs show causes and rejections),
agents and dealers, and every demo serial's journey factory → agent → dealer → activation, with
one activation by the wrong dealer (flagged) and serials shipped to a dealer but never activated."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.clock import utcnow
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import JobType, Product, ProductCategory, Unit
from dispatch.stock import claims
from dispatch.stock.models import ClaimPolicy
from dispatch.warranty import tracing
from dispatch.warranty.enums import FaultKind, JourneyKind, PartnerKind
from dispatch.warranty.models import FaultCause, JobFaultCause, JourneyEvent, TradePartner
from seeds import SeedContext

P, H = ProductCategory.WATER_PURIFIER, ProductCategory.WATER_HEATER
D, M = FaultKind.DEFECT, FaultKind.MISUSE
# code, category, component, symptom, cause, kind
CAUSES = [
    ("WP-VLV-STUCK", P, "inlet solenoid valve", "no water / keeps running", "coil burnt out", D),
    ("WP-PMP-NOISE", P, "booster pump", "loud, low pressure", "bearing worn", D),
    ("WP-MEM-TDS", P, "RO membrane", "TDS high at the tap", "membrane failed early", D),
    ("WP-ADP-DEAD", P, "power adapter", "unit dead", "adapter failed", D),
    ("WP-MEM-SCALE", P, "RO membrane", "TDS high at the tap", "scaled by hard feed water (no softener)", M),
    ("WP-HOUSING-CRACK", P, "filter housing", "leaking", "housing cracked by impact", M),
    ("WP-INSTALL-3P", P, "fittings", "leaking at the joints", "installed by a third party without the kit", M),
    ("WH-THS-FAIL", H, "thermostat", "water too hot or cold", "thermostat drifted", D),
    ("WH-HTR-OPEN", H, "heating element", "no hot water", "element open circuit", D),
    ("WH-IGN-FAIL", H, "ignition controller", "does not light", "controller failed", D),
    ("WH-TANK-NOANODE", H, "tank", "leaking", "anode never replaced, tank corroded", M),
    ("WH-VOLTAGE", H, "control board", "unit dead", "power surge (outside cause)", M),
]
AGENTS = [("AG-ZJ", "Zhejiang Water Appliances Agency", "ZJ"), ("AG-JS", "Jiangsu Home Supply Agency", "JS")]
DEALERS = [("DL-HZ-01", "Hangzhou West Lake Appliances", "AG-ZJ", "ZJ-HZ"),
           ("DL-HZ-02", "Hangzhou Binjiang Home Store", "AG-ZJ", "ZJ-HZ"),
           ("DL-NB-01", "Ningbo Harbour Electric", "AG-ZJ", "ZJ-NB"),
           ("DL-SZ-01", "Suzhou Garden Appliances", "AG-JS", "JS-SZ")]
DEALER_FOR = {"ZJ-HZ": ["DL-HZ-01", "DL-HZ-02"], "ZJ-NB": ["DL-NB-01"], "JS-SZ": ["DL-SZ-01"]}
MISUSE_SHARE = 0.15
UNACTIVATED_SHIPPED = 6  # never-activated serials shipped to DL-HZ-02


def _catalogue(session) -> tuple[dict[str, FaultCause], int]:
    known = {c.code: c for c in session.scalars(select(FaultCause))}
    before = len(known)
    for code, category, component, symptom, cause, kind in CAUSES:
        if code not in known:
            known[code] = FaultCause(code=code, category=category, component=component, symptom=symptom,
                                     cause=cause, kind=kind, active=True)
            session.add(known[code])
    session.flush()
    return known, len(known) - before


def _causes_on_history(ctx: SeedContext, catalogue: dict[str, FaultCause]) -> tuple[int, int]:
    session, added, misuse = ctx.session, 0, 0
    by_category = {cat: sorted((c for c in catalogue.values() if c.category == cat), key=lambda c: c.code)
                   for cat in (P, H)}
    done = set(session.scalars(select(JobFaultCause.job_id)))
    repairs = session.execute(select(Job, Product.category).join(Product, Product.id == Job.product_id)
                              .where(Job.type == JobType.REPAIR,
                                     Job.status.in_([JobStatus.COMPLETED, JobStatus.CLOSED]))
                              .order_by(Job.reference)).all()
    for job, category in repairs:
        if job.id in done:
            continue
        options = by_category[category]
        wanted = M if ctx.rng.random() < MISUSE_SHARE else D
        cause = ctx.rng.choice([c for c in options if c.kind == wanted])
        session.add(JobFaultCause(job_id=job.id, fault_cause_id=cause.id, note="", at=job.completed_at or utcnow(),
                                  intake_labour_covered=job.labour_covered, intake_parts_covered=job.parts_covered))
        if cause.kind == M:
            job.labour_covered, job.parts_covered = False, False
            claims.reject_for_fault(session, job, detail=f"fault cause {cause.code} ({cause.cause}) is misuse: "
                                                         "the customer pays, the warranty does not", actor_id=None)
            misuse += 1
        added += 1
    session.flush()
    return added, misuse


def _partners(session) -> int:
    known = {p.code: p for p in session.scalars(select(TradePartner))}
    added = 0
    for code, name, region in AGENTS:
        if code not in known:
            known[code] = TradePartner(code=code, name=name, kind=PartnerKind.AGENT, region_code=region)
            session.add(known[code])
            added += 1
    session.flush()
    for code, name, agent, region in DEALERS:
        if code not in known:
            known[code] = TradePartner(code=code, name=name, kind=PartnerKind.DEALER, agent_id=known[agent].id,
                                       region_code=region)
            session.add(known[code])
            added += 1
    session.flush()
    return added


def _journeys(ctx: SeedContext) -> tuple[int, int]:
    session = ctx.session
    if session.scalar(select(JourneyEvent.id).limit(1)) is not None:
        return 0, 0
    events = []
    units = session.scalars(select(Unit).order_by(Unit.serial)).all()
    unactivated_left = UNACTIVATED_SHIPPED
    wrong_dealer_done = False
    for unit in units:
        address = unit.customer.address if unit.customer is not None else ""
        region = next((r for r in DEALER_FOR if f"{r}-" in address), None) or ("ZJ-HZ" if unit.customer is None
                                                                               else None)
        if region is None:
            continue
        dealers = DEALER_FOR[region]
        dealer = dealers[int(unit.serial[-1]) % len(dealers)]
        agent = "AG-JS" if region.startswith("JS") else "AG-ZJ"
        made = unit.manufactured_on
        sold = unit.purchased_on
        if unit.customer is None:
            if unactivated_left == 0:
                continue
            dealer, unactivated_left = "DL-HZ-02", unactivated_left - 1
            sold = None
        latest = min(sold or ctx.today, ctx.today)
        factory, to_agent, to_dealer = made, min(made + timedelta(days=7), latest), min(made + timedelta(days=14),
                                                                                         latest)
        events += [{"serial": unit.serial, "kind": JourneyKind.FACTORY_OUT, "on": factory},
                   {"serial": unit.serial, "kind": JourneyKind.TO_AGENT, "partner_code": agent, "on": to_agent},
                   {"serial": unit.serial, "kind": JourneyKind.TO_DEALER, "partner_code": dealer, "on": to_dealer}]
        if sold is not None:
            seller = dealer
            if not wrong_dealer_done and region == "ZJ-HZ":
                seller, wrong_dealer_done = ("DL-NB-01", True)  # sold by a dealer it was never shipped to
            events.append({"serial": unit.serial, "kind": JourneyKind.ACTIVATION, "partner_code": seller,
                           "on": max(sold, to_dealer)})
    result = tracing.load_events(session, None, events, today=ctx.today)
    return result.loaded, len(result.flagged)


def seed(ctx: SeedContext) -> dict[str, int]:
    session = ctx.session
    catalogue, added = _catalogue(session)
    if session.get(ClaimPolicy, 1) is None:
        session.add(ClaimPolicy(id=1, repeat_window_days=claims.DEFAULT_REPEAT_WINDOW_DAYS))
    causes, misuse = _causes_on_history(ctx, catalogue)
    partners = _partners(session)
    journey, flagged = _journeys(ctx)
    counts = {"fault_causes": added, "job_fault_causes": causes, "misuse_repairs": misuse,
            "trade_partners": partners, "journey_events": journey, "flagged_activations": flagged}
    return {name: n for name, n in counts.items() if n}
