"""Demo SOP templates (published) for purifiers and heaters, and checklists for the demo day's
jobs that are already scheduled or further along: jobs on site or on hold have the first steps
recorded, completed and closed jobs every step (with photos carrying EXIF time and GPS, a few
purified-water readings flagged, a few pressure readings redone) and a read-only checklist.
Idempotent: templates are looked up by code, checklists by job."""

from __future__ import annotations

import io
import random
from datetime import timedelta
from typing import Any

from PIL import ExifTags, Image, ImageDraw
from sqlalchemy import select

from dispatch.auth.models import Role
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.clock import utcnow
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Customer, JobType, ProductCategory, Technician
from dispatch.sop import attachments, checklists, templates
from dispatch.sop.models import Checklist, SopTemplate
from dispatch.sop.rules import StepKind, StepSpec
from dispatch.sop.storage import LocalEvidenceStore
from seeds import SeedContext

P, H = ProductCategory.WATER_PURIFIER, ProductCategory.WATER_HEATER


def photo(key, title, instructions, *, min_count=1, max_count=6, **kw) -> dict[str, Any]:
    return {"key": key, "title": title, "instructions": instructions, "kind": "photo",
            "min_count": min_count, "max_count": max_count, **kw}


def confirm(key, title, instructions, **kw) -> dict[str, Any]:
    return {"key": key, "title": title, "instructions": instructions, "kind": "confirm", **kw}


def number(key, title, instructions, unit, low, high, decimals, **kw) -> dict[str, Any]:
    return {"key": key, "title": title, "instructions": instructions, "kind": "number", "unit": unit,
            "min": low, "max": high, "decimals": decimals, **kw}


def signature(after=None) -> dict[str, Any]:
    return {"key": "customer_signature", "title": "Customer signature",
            "instructions": "Show the customer the readings and photos, then ask them to sign and print their name.",
            "kind": "signature", "after": after}


PRESSURE = number("inlet_pressure", "Inlet water pressure",
                  "Fit the gauge on the angle valve and read the static pressure. Below 0.1 MPa the RO pump "
                  "cannot feed the membrane; above 0.4 MPa fit a pressure-reducing valve first.",
                  "MPa", 0.1, 0.4, 2, after=["site_survey_photo"])
VOLTAGE = number("mains_voltage", "Mains voltage at the socket",
                 "Measure at the socket the unit will use (220 V nominal, -10 %/+10 %).", "V", 198, 242, 0,
                 after=["site_survey_photo"])
TDS_TAP = number("tds_tap", "TDS of tap water", "Dip the TDS pen in a glass of tap water; read after 10 s.",
                 "ppm", 0, 1500, 0, out_of_range="flag", after=["site_survey_photo"])


def tds_purified(after: list[str]) -> dict[str, Any]:
    return number("tds_purified", "TDS of purified water",
                  "Run the purified tap for 1 minute, then measure. It must be lower than the tap water; "
                  "RO output is normally under 50 ppm.", "ppm", 0, 100, 0, out_of_range="flag",
                  lt_step="tds_tap", after=after)


def flush_stages(stages: list[tuple[int, str]], first_after: str) -> list[dict[str, Any]]:
    steps, previous = [], first_after
    for stage, name in stages:
        key = f"flush_stage_{stage}"
        steps.append(confirm(key, f"Flush filter stage {stage} ({name})",
                             f"Run water through stage {stage} until it runs clear (at least 3 minutes); "
                             "do not skip ahead: a later stage clogs with the earlier stage's fines.",
                             after=[previous]))
        previous = key
    return steps


RO_STAGES = [(1, "PP sediment"), (2, "pre-carbon block"), (3, "RO membrane"), (4, "post-carbon")]

TEMPLATES: list[dict[str, Any]] = [
    {
        "code": "WP-INSTALL", "title": "Water purifier installation", "job_type": JobType.INSTALL, "category": P,
        "description": "Under-sink RO purifier: survey, measure, mount, connect, flush stage by stage, test, hand over.",
        "steps": [
            photo("site_survey_photo", "Site survey photo",
                  "Photograph the cabinet, the angle valve and the socket before touching anything.",
                  max_count=4, after=[]),
            PRESSURE, VOLTAGE, TDS_TAP,
            confirm("mount_unit", "Mount the unit",
                    "Fix the bracket level, 5 cm clear of the cabinet floor; unit upright.",
                    after=["inlet_pressure", "mains_voltage"]),
            confirm("connect_inlet_outlet", "Connect inlet and outlet",
                    "Feed from the cold angle valve, drain saddle above the trap, faucet outlet; push-fit "
                    "tubes fully home with clips.", after=["mount_unit"]),
            *flush_stages(RO_STAGES, "connect_inlet_outlet"),
            confirm("leak_check", "Leak check over 10 minutes",
                    "With the system under pressure, watch every fitting and the drain saddle for 10 minutes "
                    "with a dry tissue. Any drop: answer false, fix and check again.", after=["flush_stage_4"]),
            tds_purified(["flush_stage_4"]),
            photo("finished_install_photo", "Photo of the finished installation",
                  "At least two photos: the whole unit in the cabinet and the faucet on the sink.",
                  min_count=2, after=["leak_check"]),
            confirm("explained_filter_replacement", "Explained filter replacement",
                    "Tell the customer the replacement intervals (PP 6 months, carbon 12 months, RO 24 months) "
                    "and show the filter-life indicator.", after=["leak_check"]),
            signature(),
        ],
    },
    {
        "code": "WP-INSTALL-UF300", "title": "UF-300 ultrafiltration purifier installation",
        "job_type": JobType.INSTALL, "category": P, "product_sku": "WP-UF300",
        "description": "UF purifiers keep dissolved minerals: no TDS comparison, a clarity check instead.",
        "steps": [
            photo("site_survey_photo", "Site survey photo",
                  "Photograph the cabinet and the angle valve before touching anything.", max_count=4, after=[]),
            number("inlet_pressure", "Inlet water pressure",
                   "Read the static pressure at the angle valve; UF membranes need 0.1-0.4 MPa.",
                   "MPa", 0.1, 0.4, 2, after=["site_survey_photo"]),
            confirm("mount_unit", "Mount the unit", "Fix the bracket level; unit upright.", after=["inlet_pressure"]),
            confirm("connect_inlet_outlet", "Connect inlet and outlet",
                    "Cold angle valve in, faucet out; no drain line on UF.", after=["mount_unit"]),
            *flush_stages([(1, "PP sediment"), (2, "UF membrane"), (3, "post-carbon")], "connect_inlet_outlet"),
            confirm("leak_check", "Leak check over 10 minutes",
                    "Watch every fitting for 10 minutes under pressure; any drop: answer false.",
                    after=["flush_stage_3"]),
            {"key": "water_clarity", "title": "Water clarity", "kind": "choice",
             "instructions": "Fill a clear glass from the faucet and hold it against the light.",
             "options": ["clear", "slightly cloudy", "cloudy"], "after": ["flush_stage_3"]},
            photo("finished_install_photo", "Photo of the finished installation",
                  "The unit in the cabinet and the faucet on the sink.", min_count=2, after=["leak_check"]),
            confirm("explained_filter_replacement", "Explained filter replacement",
                    "PP 6 months, UF membrane 24 months, post-carbon 12 months.", after=["leak_check"]),
            signature(),
        ],
    },
    {
        "code": "WP-REPAIR", "title": "Water purifier repair", "job_type": JobType.REPAIR, "category": P,
        "description": "Diagnose, photograph the fault, repair, prove it works.",
        "steps": [
            {"key": "fault_description", "title": "Fault as found", "kind": "text",
             "instructions": "What the customer reports and what you see (error lights, noises, leaks).", "after": []},
            photo("fault_photo", "Photo of the fault", "The faulty part or the leak, close up.", max_count=4,
                  after=[]),
            number("inlet_pressure", "Inlet water pressure", "Read the static pressure at the angle valve.",
                   "MPa", 0.1, 0.4, 2, after=[]),
            {"key": "diagnosis", "title": "Diagnosis", "kind": "choice", "after": ["fault_description"],
             "instructions": "The root cause you found.",
             "options": ["membrane clogged", "booster pump failure", "leak at a fitting", "inlet solenoid valve",
                         "power adapter", "high-pressure switch", "other"]},
            {"key": "parts_replaced", "title": "Parts replaced", "kind": "text", "required": False,
             "instructions": "Part numbers and serials of anything you replaced.", "after": ["diagnosis"]},
            confirm("repair_done", "Repair carried out", "The fault is fixed and the unit restarted.",
                    after=["diagnosis"]),
            confirm("leak_check", "Leak check over 10 minutes",
                    "Watch every fitting for 10 minutes under pressure; any drop: answer false.",
                    after=["repair_done"]),
            number("tds_tap", "TDS of tap water", "Measure a glass of tap water.", "ppm", 0, 1500, 0,
                   out_of_range="flag", after=[]),
            tds_purified(["repair_done"]),
            signature(),
        ],
    },
    {
        "code": "WP-MAINT", "title": "Water purifier maintenance (filter change)", "job_type": JobType.MAINTENANCE,
        "category": P, "description": "Scheduled filter change: replace due stages in order, flush, test.",
        "steps": [
            photo("before_photo", "Photo before maintenance", "The unit and its filter-life indicator.",
                  max_count=3, after=[]),
            number("tds_tap", "TDS of tap water", "Measure a glass of tap water.", "ppm", 0, 1500, 0,
                   out_of_range="flag", after=[]),
            confirm("water_off", "Water shut off and pressure released",
                    "Close the angle valve and open the faucet until it stops.", after=["before_photo"]),
            confirm("replace_stage_1", "Replace stage 1 (PP sediment)", "Always replaced at each maintenance.",
                    after=["water_off"]),
            confirm("replace_stage_2", "Replace stage 2 (pre-carbon block)", "Always replaced at each maintenance.",
                    after=["replace_stage_1"]),
            {"key": "ro_membrane", "title": "RO membrane (stage 3)", "kind": "choice", "after": ["replace_stage_2"],
             "instructions": "Replace it if it is 24 months old or purified TDS was above 50 ppm.",
             "options": ["replaced", "inspected, still good"]},
            confirm("replace_stage_4", "Replace stage 4 (post-carbon)", "Always replaced at each maintenance.",
                    after=["ro_membrane"]),
            *flush_stages(RO_STAGES, "replace_stage_4"),
            confirm("leak_check", "Leak check over 10 minutes",
                    "Watch every fitting for 10 minutes under pressure; any drop: answer false.",
                    after=["flush_stage_4"]),
            tds_purified(["flush_stage_4"]),
            confirm("reset_filter_indicator", "Filter-life indicator reset", "Hold the reset key 5 s per stage.",
                    after=["leak_check"]),
            photo("after_photo", "Photo after maintenance", "The unit with the new filters dated.",
                  max_count=3, after=["leak_check"]),
            signature(),
        ],
    },
    {
        "code": "WH-INSTALL", "title": "Electric water heater installation", "job_type": JobType.INSTALL,
        "category": H, "description": "Wall-hung electric storage heater: load-bearing wall, safety valve, "
                                      "fill before power, earth and RCD tested.",
        "steps": [
            photo("site_survey_photo", "Site survey photo", "The wall, the socket and the water pipes.",
                  max_count=4, after=[]),
            confirm("wall_load_bearing", "Wall can carry the filled tank",
                    "Solid brick or concrete; a 60 L tank weighs about 90 kg full. Plasterboard: answer false.",
                    after=["site_survey_photo"]),
            VOLTAGE,
            number("earth_resistance", "Earth resistance", "Measure between the socket earth and the "
                   "building's earth bar.", "ohm", 0, 4, 1, after=["site_survey_photo"]),
            number("inlet_pressure", "Inlet water pressure", "Static pressure at the cold supply; above 0.6 MPa "
                   "fit a pressure-reducing valve.", "MPa", 0.1, 0.6, 2, after=["site_survey_photo"]),
            confirm("mount_bracket", "Mount the bracket and hang the tank",
                    "Two M10 expansion bolts, bracket level; hang the tank and check it cannot lift off.",
                    after=["wall_load_bearing"]),
            confirm("safety_valve_fitted", "Safety (pressure-relief) valve fitted on the cold inlet",
                    "Valve supplied with the heater, arrow towards the tank, drain hose to the floor drain.",
                    after=["mount_bracket"]),
            confirm("connect_inlet_outlet", "Connect cold inlet and hot outlet",
                    "Blue to cold inlet via the safety valve, red to hot outlet; PTFE tape, no over-tightening.",
                    after=["safety_valve_fitted"]),
            confirm("tank_filled", "Tank filled before power-on",
                    "Open a hot tap until water runs without air; never power an empty tank (element burns out).",
                    after=["connect_inlet_outlet"]),
            confirm("leak_check", "Leak check over 10 minutes", "Watch every joint and the valve for 10 minutes.",
                    after=["tank_filled"]),
            confirm("rcd_test", "Leakage protection (RCD) test", "Press TEST on the plug; it must trip.",
                    after=["tank_filled", "mains_voltage", "earth_resistance"]),
            number("outlet_temperature", "Hot water temperature after 30 minutes",
                   "Set 65 °C, heat for 30 minutes, measure at the nearest hot tap.", "°C", 35, 75, 0,
                   out_of_range="flag", after=["rcd_test"]),
            photo("finished_install_photo", "Photo of the finished installation",
                  "The whole heater, and the safety valve with its drain hose.", min_count=2, after=["leak_check"]),
            confirm("explained_safe_use", "Explained safe use",
                    "Scald risk above 60 °C, drain annually, anode check every 2 years, never block the valve.",
                    after=["leak_check"]),
            signature(),
        ],
    },
    {
        "code": "WH-REPAIR", "title": "Water heater repair", "job_type": JobType.REPAIR, "category": H,
        "description": "Diagnose, make safe, repair, test.",
        "steps": [
            {"key": "fault_description", "title": "Fault as found", "kind": "text", "after": [],
             "instructions": "Error code on the display, what the customer reports, what you see."},
            photo("fault_photo", "Photo of the fault", "The faulty part, the error code or the leak.",
                  max_count=4, after=[]),
            confirm("isolated", "Power isolated and water shut off", "Unplug, close the cold inlet.", after=[]),
            {"key": "diagnosis", "title": "Diagnosis", "kind": "choice", "after": ["isolated"],
             "instructions": "The root cause you found.",
             "options": ["heating element", "thermostat", "thermal cut-out", "safety valve", "tank leak",
                         "control board", "other"]},
            confirm("repair_done", "Repair carried out", "Parts replaced, tank refilled before power-on.",
                    after=["diagnosis"]),
            confirm("leak_check", "Leak check over 10 minutes", "Watch every joint and the valve for 10 minutes.",
                    after=["repair_done"]),
            confirm("rcd_test", "Leakage protection (RCD) test", "Press TEST on the plug; it must trip.",
                    after=["repair_done"]),
            signature(),
        ],
    },
    {
        "code": "WH-MAINT", "title": "Water heater maintenance", "job_type": JobType.MAINTENANCE, "category": H,
        "description": "Drain and descale, anode check, safety valve test.",
        "steps": [
            confirm("isolated", "Power isolated and water shut off", "Unplug, close the cold inlet.", after=[]),
            confirm("drained_descaled", "Tank drained and descaled", "Drain through the safety valve; flush "
                    "until it runs clear.", after=["isolated"]),
            {"key": "anode_rod", "title": "Magnesium anode", "kind": "choice", "after": ["drained_descaled"],
             "instructions": "Replace if less than half remains.", "options": ["replaced", "inspected, still good"]},
            photo("anode_photo", "Photo of the anode", "The anode removed, next to a ruler.", max_count=2,
                  after=["drained_descaled"]),
            confirm("safety_valve_test", "Safety valve test", "Lift the lever: water must flow, then stop.",
                    after=["anode_rod"]),
            confirm("leak_check", "Leak check over 10 minutes", "Refill, then watch every joint for 10 minutes.",
                    after=["safety_valve_test"]),
            signature(),
        ],
    },
]

# The demo day's jobs (seeds.jobs, keyed DEMO-<point>-<nnn>) get checklists here. The weeks of
# finished work seeds.history writes later in the run are left to seeds.audits (it gives the
# spot-checked points theirs); picking them up here would make a second load add rows.
DEMO_DAY_JOBS = "DEMO-%"
# Jobs at or past this point of their life have been scheduled, so they carry a checklist.
SCHEDULED_OR_LATER = (JobStatus.SCHEDULED, JobStatus.EN_ROUTE, JobStatus.ON_SITE, JobStatus.ON_HOLD,
                      JobStatus.COMPLETED, JobStatus.CLOSED)
# Jobs whose technician has already worked through (part of) the checklist.
WORKED_ON = (JobStatus.ON_SITE, JobStatus.ON_HOLD, JobStatus.COMPLETED, JobStatus.CLOSED)
FINISHED = (JobStatus.COMPLETED, JobStatus.CLOSED)

FAULTS = ["Leaking at the inlet fitting under the sink", "Unit runs constantly and never stops",
          "Error light E3 flashing, no water from the faucet", "Water tastes odd since last week",
          "Pump very loud at night"]


def seed(ctx: SeedContext) -> dict[str, int]:
    session = ctx.session
    added: dict[str, int] = {}

    def count(name: str, n: int = 1) -> None:
        added[name] = added.get(name, 0) + n

    for definition in TEMPLATES:
        if session.scalar(select(SopTemplate.id).where(SopTemplate.code == definition["code"])) is not None:
            continue
        template = templates.add_template(session, SYSTEM, **definition)
        templates.publish_version(session, SYSTEM, template.versions[0])
        count("sop_templates")
        count("sop_template_versions")
        count("sop_steps", len(definition["steps"]))
    session.flush()
    jobs = session.scalars(
        select(Job).outerjoin(Checklist, Checklist.job_id == Job.id)
        .where(Job.reference.like(DEMO_DAY_JOBS), Job.status.in_(SCHEDULED_OR_LATER), Checklist.id.is_(None))
        .order_by(Job.reference)
    ).all()
    store = LocalEvidenceStore(ctx.settings.upload_dir, durable=False)  # demo photos: reload if lost
    for job in jobs:
        checklist = checklists.open_for_job(session, job)
        if checklist is None:
            continue
        count("checklists")
        if job.status in WORKED_ON and job.technician_id is not None:
            session.flush()
            with session.no_autoflush:  # the step results go in with one flush per job
                results, photos = _work_through(ctx, store, job)
            session.flush()
            count("checklist_step_results", results)
            count("attachments", photos)
    return added


def _work_through(ctx: SeedContext, store: LocalEvidenceStore, job: Job) -> tuple[int, int]:
    """Write what the technician recorded: every step of a finished job (then close the checklist
    as the completion did), the first few of a job still on site or on hold. Deterministic per job."""
    session, rng = ctx.session, random.Random(f"sop:{job.reference}")
    technician = session.get(Technician, job.technician_id)
    customer = session.get(Customer, job.customer_id)
    actor = Principal(user_id=technician.user_id, username="", role=Role.TECHNICIAN,
                      service_point_id=job.service_point_id, technician_id=technician.id)
    checklist = checklists.load_checklist(session, job_id=job.id)
    specs = checklist.template_version.specs()
    finished = job.status in FINISHED
    steps = specs if finished else specs[: rng.randint(2, max(2, len(specs) // 2))]
    start = job.arrived_at or job.scheduled_start or utcnow()
    end = job.completed_at if finished and job.completed_at else min(utcnow(), start + timedelta(minutes=40))
    gap = (end - start) / (len(steps) + 1)
    photos = 0
    plan = []  # the photos first: their flushes then carry no step results (one flush of results per job)
    for index, spec in enumerate(steps, start=1):
        if not spec.required and rng.random() < 0.5:
            continue
        at, place, evidence = start + gap * index, _near(job, rng), []
        for n in range(spec.evidence_bounds[0]):
            signature = spec.kind == StepKind.SIGNATURE
            data = _signature(rng) if signature else _photo(rng, at, place, ctx, f"{spec.key}-{n}")
            attachment, created = attachments.store_attachment(
                session, store, actor, data, filename=f"{spec.key}_{n + 1}.{'png' if signature else 'jpg'}",
                tz=ctx.tz, received_at=at + timedelta(seconds=rng.randint(5, 90)))
            evidence.append(attachment)
            photos += created
        plan.append((spec, at, place, evidence))
    values: dict[str, Any] = {}
    results = 0
    for spec, at, place, evidence in plan:
        if spec.key == "inlet_pressure" and rng.random() < 0.2:  # too high, reducer fitted, measured again
            checklists.append_result(session, checklist, spec.key, value=round(spec.max + 0.06, 2),
                                     attachments=evidence, actor=actor, recorded_at=at - gap / 3, location=place,
                                     received_at=at - gap / 3, source="seed")
            results += 1
        values[spec.key] = _value(spec, rng, values, customer.name)
        checklists.append_result(session, checklist, spec.key, value=values[spec.key], attachments=evidence,
                                 actor=actor, recorded_at=at, location=place,
                                 received_at=at + timedelta(seconds=rng.randint(2, 40)), source="seed")
        results += 1
    if finished:
        checklists.follow_job(session, job, to_status=JobStatus.COMPLETED, at=job.completed_at or end, actor=actor)
    return results, photos


def _value(spec: StepSpec, rng: random.Random, values: dict[str, Any], customer_name: str) -> Any:
    if spec.kind == StepKind.CONFIRM:
        return True
    if spec.kind == StepKind.NUMBER:
        if spec.key == "tds_purified" and "tds_tap" in values:
            if rng.random() < 0.2:  # exhausted membrane: not lower than the tap water, flagged for review
                return values["tds_tap"] + rng.randint(0, 15)
            return rng.randint(4, 35)
        span = spec.max - spec.min
        value = round(rng.uniform(spec.min + span * 0.15, spec.max - span * 0.15), spec.decimals or 0)
        return int(value) if not spec.decimals else value
    if spec.kind == StepKind.CHOICE:
        return spec.options[0] if rng.random() < 0.7 else rng.choice(spec.options)
    if spec.kind == StepKind.TEXT:
        return rng.choice(FAULTS) if spec.key == "fault_description" else "Replaced as noted on the job sheet."
    if spec.kind == StepKind.SIGNATURE:
        return customer_name
    return None


def _near(job: Job, rng: random.Random) -> dict[str, float] | None:
    if job.lat is None or job.lon is None:
        return None
    return {"lat": round(job.lat + rng.uniform(-0.0003, 0.0003), 6),
            "lon": round(job.lon + rng.uniform(-0.0003, 0.0003), 6)}


def _photo(rng: random.Random, at, place: dict[str, float] | None, ctx: SeedContext, label: str) -> bytes:
    """A small JPEG that looks like a phone photo to the evidence checks: capture time with its
    offset, GPS, camera model. The pixels differ per job and step (no accidental reuse)."""
    image = Image.new("RGB", (320, 240), tuple(rng.randint(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randint(0, 280), rng.randint(0, 200)
        draw.rectangle((x, y, x + rng.randint(20, 120), y + rng.randint(20, 90)),
                       fill=tuple(rng.randint(0, 255) for _ in range(3)))
    draw.text((8, 8), label, fill=(255, 255, 255))
    local = at.astimezone(ctx.tz)
    offset = local.strftime("%z")
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Xiaomi", "Redmi Note 12"
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    ifd[ExifTags.Base.DateTimeOriginal] = local.strftime("%Y:%m:%d %H:%M:%S")
    ifd[ExifTags.Base.OffsetTimeOriginal] = f"{offset[:3]}:{offset[3:]}"
    if place is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        for ref_tag, tag, value, signs in ((ExifTags.GPS.GPSLatitudeRef, ExifTags.GPS.GPSLatitude, place["lat"], "NS"),
                                           (ExifTags.GPS.GPSLongitudeRef, ExifTags.GPS.GPSLongitude, place["lon"], "EW")):
            degrees = abs(value)
            minutes = (degrees - int(degrees)) * 60
            gps[ref_tag] = signs[0] if value >= 0 else signs[1]
            gps[tag] = (float(int(degrees)), float(int(minutes)), round((minutes - int(minutes)) * 60, 2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70, exif=exif)
    return buffer.getvalue()


def _signature(rng: random.Random) -> bytes:
    image = Image.new("L", (300, 100), 255)
    draw = ImageDraw.Draw(image)
    points = [(20 + i * 26, rng.randint(25, 75)) for i in range(11)]
    draw.line(points, fill=0, width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
