"""The steps of a field day, spoken by the roles that take them, through HTTP only.

Each helper is one thing a person (or their app) does: the call centre takes a job in, the manager
plans the day, the technician's phone pulls and pushes, the customer rates the visit, HQ reviews.
The helpers assert that the step itself went through and return what the role then sees; the
scenarios assert what each role sees at each step.

Time walks forward with :class:`Walk` (the suite's clock, ``dispatch.clock``); an access token lives
15 minutes, so every jump logs everyone in again.
"""

from __future__ import annotations

import contextlib
import hashlib
import csv
import io
import itertools
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from dispatch import clock
from dispatch.network import rules as network_rules
from dispatch.network.models import CustomerGrade, ProductCategory, Unit
from tests.api.jobs_builders import units
from tests.dates import TZ, local
from tests.unit.sop.evidence_images import jpeg, png

API = "/api/v1"
ADMIN, REVIEWER, REVIEWER2 = "admin", "reviewer", "reviewer2"  # HQ: the call centre is part of HQ
RO_MODELS = ("WP-RO500", "WP-RO800")  # purifiers the demo's WP-REPAIR checklist and the inlet valve fit
_photo_numbers = itertools.count(1)


def ok(response, status: int = 200) -> Any:
    """The body of a response that must have this status (the problem is shown when it has not)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:1500])
    return response.json


def at(moment: datetime | str) -> datetime:
    return moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)


# --- the clock ----------------------------------------------------------------------------------


class Walk:
    """Walks the suite's frozen clock forward through the day (never back)."""

    def __init__(self, api, start: datetime) -> None:
        self.api = api
        self.now = start
        self._stack = contextlib.ExitStack()

    def to(self, moment: datetime) -> datetime:
        assert moment >= self.now, f"time only moves forward: {moment} is before {self.now}"
        self._stack.enter_context(clock.frozen(moment))
        self.now = moment
        self.api._tokens.clear()  # the tokens issued before have expired: everyone logs in again
        return moment

    def by(self, **delta) -> datetime:
        return self.to(self.now + timedelta(**delta))

    def close(self) -> None:
        self._stack.close()


# --- the network, as the manager and HQ see it --------------------------------------------------


def point_id(api, code: str) -> str:
    points = ok(api.get(f"{API}/service-points/?page_size=100", as_=ADMIN))
    return next(p["id"] for p in points if p["code"] == code)


def team(api, manager: str) -> list[dict]:
    """The point's technicians, as its manager lists them."""
    return ok(api.get(f"{API}/technicians/?page_size=100", as_=manager))


def username_of(api, technician_id: str, as_: str) -> str:
    return ok(api.get(f"{API}/technicians/{technician_id}", as_=as_))["username"]


def next_working_day(api, manager: str, after: date) -> date:
    """The point's next full working day after ``after``: the first day every technician has a shift
    (the manager reads each technician's shifts: pattern, leave, extra shifts)."""
    horizon = after + timedelta(days=14)
    working: set[date] | None = None
    for technician in team(api, manager):
        days = ok(api.get(f"{API}/technicians/{technician['id']}/shifts?from={after + timedelta(days=1)}"
                          f"&to={horizon}", as_=manager))
        mine = {date.fromisoformat(d["date"]) for d in days if d["working"]}
        working = mine if working is None else working & mine
    assert working, "the point has a working day within two weeks"
    return min(working)


def caller_unit(session, point: str, *, covered: bool, on: date, grade: CustomerGrade = CustomerGrade.STANDARD,
                skip: tuple[str, ...] = ()) -> Unit:
    """The unit of a customer calling about a purifier in ``point``'s districts: an RO model in
    warranty on ``on`` (and for weeks after), or any model out of warranty (the call centre reads
    the serial off the warranty card). A standard customer by default: 48 h to be on site for a
    normal repair, 8 h for an urgent one."""
    found = [u for u in units(session, point, category=ProductCategory.WATER_PURIFIER)
             if (u.product.sku in RO_MODELS or not covered) and u.serial not in skip and u.customer.grade == grade
             and network_rules.in_warranty(u, on) == covered
             and network_rules.in_warranty(u, on + timedelta(days=60)) == covered]
    assert found, f"the demo has an RO purifier {'in' if covered else 'out of'} warranty at {point}"
    return found[0]


def unit_by_serial(session, serial: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.serial == serial))


# --- intake (call centre) -----------------------------------------------------------------------


def take_in(api, body: dict, *, as_: str = ADMIN, key: str | None = None, status: int = 201):
    """The call centre takes a job in (``key``: the Idempotency-Key its system sends with retries)."""
    headers = {"Idempotency-Key": key} if key else None
    response = api.post(f"{API}/jobs/", as_=as_, json=body, headers=headers)
    ok(response, status)
    return response


def repair_call(unit: Unit, day: date, window: tuple[int, int], description: str, **extra) -> dict:
    return {"type": "repair", "unit_serial": unit.serial, "description": description,
            "window_start": local(day, window[0]).isoformat(), "window_end": local(day, window[1]).isoformat(),
            **extra}


def job(api, job_id: str, as_: str, status: int = 200) -> dict:
    response = api.get(f"{API}/jobs/{job_id}", as_=as_)
    assert response.status_code == status, (response.status_code, response.json)
    return response.json


def job_list(api, as_: str, **query) -> list[dict]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return ok(api.get(f"{API}/jobs/?page_size=100&{params}", as_=as_))


def move(api, job_id: str, to: str, as_: str, **extra):
    return api.post(f"{API}/jobs/{job_id}/transitions", as_=as_, json={"to": to} | extra)


# --- planning (manager) -------------------------------------------------------------------------


def request_plan(api, manager: str, point: str, day: date) -> dict:
    """Ask for the day's plan and read it when the routing task is done (inline without Redis)."""
    response = api.post(f"{API}/service-points/{point}/plans", as_=manager,
                        json={"date": day.isoformat(), "time_limit_s": 1})
    ok(response, 202)
    plan = ok(api.get(response.headers["Location"], as_=manager))
    assert plan["status"] == "done", plan
    return plan


def stops_of(plan: dict) -> dict[str, tuple[str, dict]]:
    """job id -> (technician id, stop) for every planned stop."""
    return {stop["job_id"]: (route["technician_id"], stop) for route in plan["routes"] for stop in route["stops"]}


def apply_plan(api, manager: str, plan: dict) -> dict:
    return ok(api.post(f"{API}/plans/{plan['id']}/apply", as_=manager))


def insert_urgent(api, manager: str, plan: dict, job_id: str) -> dict:
    return ok(api.post(f"{API}/plans/{plan['id']}/insertions", as_=manager,
                       json={"job_id": job_id, "time_limit_s": 1}), 201)


def book(api, manager: str, job_id: str, technician_id: str, start: datetime) -> dict:
    """The manager books a technician for a job by hand (no plan)."""
    return ok(api.post(f"{API}/jobs/{job_id}/assignment", as_=manager,
                       json={"technician_id": technician_id, "scheduled_start": start.isoformat()}))


def free_hour(api, manager: str, technician_id: str, day: date, earliest: int = 9,
              visit: timedelta = timedelta(hours=1)) -> datetime:
    """The first whole hour from ``earliest`` on ``day`` when the technician is free for ``visit``
    with an hour's drive either side of the visits already booked (as the manager's job list
    shows them): a slot the calendar will not refuse as a double booking."""
    drive = timedelta(hours=1)
    booked = [(at(j["scheduled_start"]), at(j["scheduled_end"]))
              for j in job_list(api, manager, date=day.isoformat(), technician_id=technician_id)
              if j["scheduled_start"]]
    for hour in range(earliest, 16):
        start = local(day, hour)
        if all(start >= end + drive or start + visit + drive <= begin for begin, end in booked):
            return start
    raise AssertionError(f"no free hour on {day}")


# --- the technician's phone ---------------------------------------------------------------------


def photo(*, taken: datetime, place: dict | None) -> bytes:
    """A photo from the phone's camera: EXIF time (local wall clock) and GPS of the place it was taken."""
    gps = (place["lat"], place["lon"]) if place else None
    return jpeg(taken=taken.astimezone(TZ).replace(tzinfo=None), offset="+08:00", gps=gps,
                camera=f"Phone X-{next(_photo_numbers)}")


def signature_image() -> bytes:
    return png(size=(120, 40), color=(255, 255, 255 - next(_photo_numbers) % 200))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(api, data: bytes, as_: str, filename: str = "photo.jpg") -> dict:
    return ok(api.post(f"{API}/attachments/", as_=as_, data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data"), 201)


@dataclass
class Phone:
    """A technician's phone: it pulls its replica with a cursor, and queues work done offline as
    numbered mutations that it pushes when it has a signal."""

    api: Any
    username: str
    device_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    cursor: str | None = None
    jobs: dict[str, dict] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    van: dict[str, dict] = field(default_factory=dict)  # part sku -> level
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def pull(self) -> dict:
        """Pull every page since the last cursor into the replica (latest document per job, the van's
        levels); returns the first page (``snapshot``, ``last_mutation_id``...)."""
        pages = []
        while True:
            query = f"?limit=200&device_id={self.device_id}" + (f"&cursor={self.cursor}" if self.cursor else "")
            page = ok(self.api.get(f"{API}/sync/changes{query}", as_=self.username))
            pages.append(page)
            for doc in page["changes"]["jobs"]["upserted"]:
                self.jobs[doc["id"]] = doc
                self.removed.discard(doc["id"])
            for job_id in page["changes"]["jobs"]["removed"]:
                self.jobs.pop(job_id, None)
                self.removed.add(job_id)
            for van in page["changes"]["van_stock"]["upserted"]:
                self.van = {level["sku"]: level for level in van["levels"]}
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                return pages[0]

    def record(self, kind: str, payload: dict, recorded_at: datetime) -> dict:
        """Work done offline: a mutation with the next id of this device."""
        return {"id": next(self._ids), "kind": kind, "payload": payload, "recorded_at": recorded_at.isoformat()}

    def push(self, mutations: list[dict], key: str | None = None):
        """Send queued mutations (with the phone's clock, which is right, as ``sent_at``)."""
        headers = {"Idempotency-Key": key} if key else None
        return self.api.post(f"{API}/sync/mutations", as_=self.username, headers=headers,
                             json={"device_id": self.device_id, "sent_at": clock.utcnow().isoformat(),
                                   "mutations": mutations})


def statuses(push_body: dict) -> list[tuple[int, str]]:
    return [(r["id"], r["status"]) for r in push_body["results"]]


# --- the checklist, parts and the bill ----------------------------------------------------------


def checklist(api, job_id: str, as_: str, **query) -> dict:
    return ok(api.get(f"{API}/jobs/{job_id}/checklist", as_=as_, query_string=query))


def step(sheet: dict, key: str) -> dict:
    return next(s for s in sheet["steps"] if s["key"] == key)


def put_step(api, job_id: str, key: str, value, as_: str, *, evidence=(), recorded_at: datetime, **extra):
    return api.put(f"{API}/jobs/{job_id}/checklist/steps/{key}", as_=as_,
                   json={"value": value, "evidence": list(evidence), "recorded_at": recorded_at.isoformat()} | extra)


def transition(api, job_id: str, to: str, as_: str, recorded_at: datetime, **extra) -> dict:
    """The technician's app, online: a move of the job at the phone's time."""
    return ok(move(api, job_id, to, as_, recorded_at=recorded_at.isoformat(), **extra))


def repair_answers(start: datetime, *, pressure: tuple[float, ...], fault_evidence: list[str],
                   signature_evidence: list[str], diagnosis: str = "leak at a fitting") -> list[tuple]:
    """The purifier repair checklist (WP-REPAIR) as a technician answers it from ``start``:
    ``(key, value, evidence, recorded_at)`` for every required step; the inlet pressure is read as
    many times as ``pressure`` has readings (the last one counts)."""
    minutes = [("fault_description", "drip from the inlet fitting", [], 4), ("fault_photo", None, fault_evidence, 5)]
    minutes += [("inlet_pressure", reading, [], 8 + 4 * n) for n, reading in enumerate(pressure)]
    minutes += [("diagnosis", diagnosis, [], 20), ("repair_done", True, [], 40), ("leak_check", True, [], 52),
                ("tds_tap", 180, [], 53), ("tds_purified", 12, [], 54),
                ("customer_signature", "Customer", signature_evidence, 58)]
    return [(key, value, evidence, start + timedelta(minutes=m)) for key, value, evidence, m in minutes]


def fill_repair_checklist(api, job_id: str, tech: str, start: datetime, place: dict,
                          pressure: tuple[float, ...] = (0.28,)) -> None:
    """The technician works the repair checklist online: a photo of the fault taken on site, the
    readings, the customer's signature (see :func:`repair_answers`)."""
    fault = upload(api, photo(taken=start + timedelta(minutes=5), place=place), as_=tech)
    signature = upload(api, signature_image(), as_=tech, filename="signature.png")
    for key, value, evidence, recorded_at in repair_answers(start, pressure=pressure, fault_evidence=[fault["id"]],
                                                            signature_evidence=[signature["id"]]):
        ok(put_step(api, job_id, key, value, tech, evidence=evidence, recorded_at=recorded_at))


def repair_offline(phone: Phone, job_id: str, start: datetime, *, fault_photo: bytes, signature: bytes,
                   pressure: tuple[float, ...] = (0.28,), parts: list[dict] | None = None,
                   fault_cause: str = "WP-VLV-STUCK") -> list[dict]:
    """The repair checklist worked on a phone without signal: one mutation per answer (photos named
    by their SHA-256, their bytes upload later), the parts fitted after the diagnosis, and last the
    fault cause from HQ's catalogue (a repair completes only with one)."""
    queue = []
    for key, value, evidence, recorded_at in repair_answers(start, pressure=pressure,
                                                            fault_evidence=[sha256(fault_photo)],
                                                            signature_evidence=[sha256(signature)],
                                                            diagnosis="inlet solenoid valve"):
        payload = {"job_id": job_id, "key": key} | ({"value": value} if value is not None else {})
        queue.append(phone.record("checklist_step", payload | ({"evidence": evidence} if evidence else {}),
                                  recorded_at))
        if key == "diagnosis" and parts:
            queue.append(phone.record("parts_consumed", {"job_id": job_id, "lines": parts},
                                      start + timedelta(minutes=35)))
    queue.append(phone.record("fault_cause", {"job_id": job_id, "fault_cause_code": fault_cause},
                              start + timedelta(minutes=55)))
    return queue


def record_fault_cause(api, job_id: str, code: str, as_: str, note: str = "") -> dict:
    """The technician (or manager) records the cause found, from HQ's catalogue."""
    return ok(api.put(f"{API}/jobs/{job_id}/fault-cause", as_=as_, json={"fault_cause_code": code, "note": note}))


def stock_level(api, location: str, sku: str, as_: str = ADMIN) -> dict:
    rows = ok(api.get(f"{API}/stock/?location={location}&part_sku={sku}&include_vans=false&page_size=5", as_=as_))
    return next((r for r in rows if r["location"]["code"] == location),
                {"on_hand": 0, "reserved": 0, "available": 0})


def stock_take(api, location: str, sku: str, counted: int, as_: str = ADMIN) -> dict:
    """A stock take: the van is counted and the ledger set to what is there."""
    if stock_level(api, location, sku, as_)["on_hand"] != counted:
        ok(api.post(f"{API}/stock/adjustments", as_=as_, json={
            "location": location, "part_sku": sku, "counted": counted, "reason": "morning van count"}), 201)
    return stock_level(api, location, sku, as_)


def list_prices(api, skus: list[str], as_: str) -> dict[str, str]:
    prices = {}
    for sku in skus:
        [part] = [p for p in ok(api.get(f"{API}/parts/?q={sku}", as_=as_)) if p["sku"] == sku]
        prices[sku] = part["list_price"]
    return prices


def bill(api, job_id: str, as_: str) -> dict:
    return ok(api.get(f"{API}/jobs/{job_id}/bill", as_=as_))


def parts_of(api, job_id: str, as_: str) -> dict:
    return ok(api.get(f"{API}/jobs/{job_id}/parts", as_=as_))


# --- after the visit: the customer, the manager's worklist --------------------------------------


def rating_link(api, job_id: str, as_: str) -> dict:
    return ok(api.get(f"{API}/jobs/{job_id}/rating-link", as_=as_))


def token_of(link: dict) -> str:
    return link["url"].rsplit("/", 1)[-1]


def worklist(api, as_: str, **query) -> list[dict]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return ok(api.get(f"{API}/callbacks?page_size=100&{params}", as_=as_))


# --- HQ: spot-checks, scorecards, KPIs ----------------------------------------------------------


def draw(api, as_: str = REVIEWER) -> dict:
    return ok(api.post(f"{API}/audits/samples", as_=as_))


def audits_of(api, as_: str = REVIEWER, **query) -> list[dict]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return ok(api.get(f"{API}/audits/?page_size=100&{params}", as_=as_))


def scorecard(api, point: str, as_: str, day_from: date, day_to: date) -> dict:
    return ok(api.get(f"{API}/service-points/{point}/scorecard?from={day_from}&to={day_to}", as_=as_))


def kpis(api, as_: str, day_from: date, day_to: date, **query) -> dict:
    params = "".join(f"&{k}={v}" for k, v in query.items())
    return ok(api.get(f"{API}/kpis/?from={day_from}&to={day_to}{params}", as_=as_))


def kpis_csv(api, as_: str, day_from: date, day_to: date, **query) -> list[dict]:
    params = "".join(f"&{k}={v}" for k, v in query.items())
    response = api.get(f"{API}/kpis/?from={day_from}&to={day_to}{params}", as_=as_, headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv", response.get_data(as_text=True)[:500]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


# --- slots, re-planning, a technician's own day, pictures (issue 19) ---------------------------


def offered_slots(api, job_id: str, day: date, as_: str = ADMIN) -> list[dict]:
    """The windows the call centre can offer the customer on ``day``, best first."""
    return ok(api.get(f"{API}/jobs/{job_id}/slots?from={day}&to={day}", as_=as_))["slots"]


def book_slot(api, job_id: str, slot: dict, as_: str = ADMIN, status: int = 201) -> dict:
    return ok(api.post(f"{API}/jobs/{job_id}/booking", as_=as_,
                       json={"window_start": slot["window_start"], "window_end": slot["window_end"]}), status)


def replan(api, manager: str, point: str, **what) -> dict:
    """The manager says what went wrong; the answer is a proposal, nothing applied yet."""
    return ok(api.post(f"{API}/service-points/{point}/replans", as_=manager, json={"time_limit_s": 1} | what), 201)


def confirm_replan(api, manager: str, proposal: dict) -> dict:
    return ok(api.post(f"{API}/replans/{proposal['id']}/confirm", as_=manager))


def my_route(api, technician: str, day: date) -> dict:
    return ok(api.get(f"{API}/technicians/me/route?date={day}", as_=technician))
# --- the web console (a person at a browser, over HTTP) -----------------------------------------


class Console:
    """One person signed in to the console: their own cookie jar, the form's CSRF token sent
    with every change, redirects followed as a browser does. ``flash`` is the message the last
    change left on the page."""

    def __init__(self, app, username: str, password: str = "demo1234") -> None:
        self.client = app.test_client()
        self.csrf = ""
        self.page("/console/sign-in")
        answer = self.client.post("/console/sign-in", data={"csrf_token": self.csrf, "username": username,
                                                             "password": password})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:500]

    def _read(self, answer, status: int) -> str:
        assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:1500])
        html = answer.get_data(as_text=True)
        found = re.search(r'name="csrf_token" value="([^"]+)"', html)
        self.csrf = found.group(1) if found else self.csrf
        return html

    def page(self, path: str, status: int = 200) -> str:
        return self._read(self.client.get(path, follow_redirects=True), status)

    def submit(self, path: str, status: int = 200, **fields) -> str:
        return self._read(self.client.post(path, data={"csrf_token": self.csrf, **fields}, follow_redirects=True),
                          status)

    @staticmethod
    def flash(html: str) -> str:
        found = re.search(r'<p class="flash flash-(\w+)"[^>]*>([^<]*)</p>', html)
        return f"{found.group(1)}: {found.group(2)}" if found else ""


def a_booked_job_and_a_free_colleague(api, session, manager: str, point: str, after: date,
                                      skip: tuple[str, ...] = ()) -> tuple[dict, dict, datetime]:
    """A call for the point's next working day after ``after`` (a day no plan has filled), booked
    by hand on one technician, and a colleague with a free hour that day: what a reassignment
    needs, whatever the planner did to the days before."""
    day = next_working_day(api, manager, after)
    unit = caller_unit(session, point, covered=True, on=day, skip=skip)
    taken = take_in(api, repair_call(unit, day, (9, 17), "the tap drips")).json
    first, *others = team(api, manager)
    book(api, manager, taken["id"], first["id"], free_hour(api, manager, first["id"], day))
    for colleague in others:
        try:
            return job(api, taken["id"], manager), colleague, free_hour(api, manager, colleague["id"], day, earliest=10)
        except AssertionError:
            continue
    raise AssertionError(f"nobody else at {point} has a free hour on {day}")
