"""Data safety: the API (gunicorn, production configuration, on loopback) is killed with SIGKILL
in the middle of a burst of sync pushes from several technicians' phones, and restarted; each
phone resends every batch it got no answer for, as the app does. Afterwards every acknowledged
mutation is in the database exactly once, and nothing pushed is lost or doubled.

Half the phones send an ``Idempotency-Key`` per batch (a replay gets the stored answer), half
rely on the per-device sequential mutation ids alone (a replay answers ``duplicate``). Runs on
SQLite, or on PostgreSQL when the suite does.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.client import HTTPException

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.auth.models import User
from dispatch.db import make_engine
from dispatch.jobs.models import EventKind, Job, JobEvent, JobStatus
from dispatch.network.models import Technician
from dispatch.sync.models import Device, MutationRecord, MutationStatus
from tests.processes import environment, kill, seeded_database, start, stop, wait_until

pytestmark = pytest.mark.slow

PHONES = ("tech.hz01.1", "tech.hz01.2", "tech.hz01.3", "tech.nb01.1")
BATCHES, BATCH_SIZE = 24, 5
KILL_AFTER = len(PHONES) * BATCHES // 3  # acknowledged batches before the API is killed
LOST = (urllib.error.URLError, ConnectionError, HTTPException, TimeoutError, OSError)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with the repository's gunicorn.conf.py, two workers, on a loopback port."""

    def __init__(self, env: dict[str, str], log) -> None:
        self.port = _free_port()
        self.env, self.log, self.process = env, log, None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start(["-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
                              "--workers", "2", "--threads", "4", "wsgi:app"], self.env, self.log)
        wait_until(self._healthy, timeout_s=60, what="gunicorn to answer /healthz", log=self.log, interval_s=0.1)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                return response.status == 200
        except LOST:
            return False


def _call(base: str, method: str, path: str, body=None, headers=None, timeout: float = 15) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@dataclass
class Phone:
    """A technician's phone: an outbox of notes pushed in batches, each batch resent until answered."""

    username: str
    job_id: str
    token: str
    with_keys: bool
    device_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    acknowledged: dict[int, str] = field(default_factory=dict)  # mutation id -> applied / duplicate
    resent: int = 0
    answered_duplicate: int = 0
    error: BaseException | None = None

    def text(self, mutation_id: int) -> str:
        return f"crash-safety {self.username} #{mutation_id}"

    def run(self, server: Server, up: threading.Event, acks: list[int], lock: threading.Lock) -> None:
        try:
            for batch in range(BATCHES):
                first = batch * BATCH_SIZE + 1
                mutations = [{"id": n, "kind": "note", "payload": {"job_id": self.job_id, "text": self.text(n)}}
                             for n in range(first, first + BATCH_SIZE)]
                headers = {"Authorization": f"Bearer {self.token}"}
                if self.with_keys:
                    headers["Idempotency-Key"] = f"{self.device_id}-{batch}"
                attempt = 0
                while True:
                    up.wait(timeout=120)
                    attempt += 1
                    try:
                        status, body = _call(server.base, "POST", "/api/v1/sync/mutations", headers=headers,
                                             body={"device_id": self.device_id, "mutations": mutations})
                    except LOST:
                        continue  # no answer: the batch may or may not have been applied; send it again
                    assert status == 200, (status, body)  # never "database unavailable" under the burst
                    break
                self.resent += attempt - 1
                assert body["gap_at"] is None and body["last_mutation_id"] == first + BATCH_SIZE - 1, body
                for result in body["results"]:
                    assert result["status"] in {"applied", "duplicate"}, result
                    if result["status"] == "duplicate":
                        assert result["original"]["status"] == "applied", result
                        self.answered_duplicate += 1
                    self.acknowledged[result["id"]] = result["status"]
                with lock:
                    acks[0] += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            self.error = error


def _phones(engine, base: str) -> list[Phone]:
    """A phone per technician, each writing notes on one of its technician's jobs."""
    with Session(engine) as session:
        jobs = {username: session.scalar(
            select(Job.id).join(Technician, Technician.id == Job.technician_id)
            .join(User, User.id == Technician.user_id)
            .where(User.username == username, Job.status != JobStatus.CANCELLED).order_by(Job.reference).limit(1))
            for username in PHONES}
    phones = []
    for index, (username, job_id) in enumerate(jobs.items()):
        assert job_id is not None, f"the demo gives {username} no job"
        status, body = _call(base, "POST", "/api/v1/auth/token", {"username": username, "password": "demo1234"})
        assert status == 200, body
        phones.append(Phone(username, str(job_id), body["access_token"], with_keys=index % 2 == 0))
    return phones


def test_every_acknowledged_push_survives_an_api_crash_exactly_once(tmp_path):
    url = seeded_database("api_kill", tmp_path, ["seeds.network", "seeds.jobs"])
    log = tmp_path / "gunicorn.log"
    server = Server(environment(tmp_path, DATABASE_URL=url, DISPATCH_LOG_JSON="1", WEB_CONCURRENCY="2"), log)
    engine = make_engine(url)
    try:
        server.start()
        phones = _phones(engine, server.base)
        up, lock, acks = threading.Event(), threading.Lock(), [0]
        up.set()
        threads = [threading.Thread(target=phone.run, args=(server, up, acks, lock), daemon=True) for phone in phones]
        for thread in threads:
            thread.start()
        wait_until(lambda: acks[0] >= KILL_AFTER or not any(t.is_alive() for t in threads), timeout_s=120,
                   what=f"{KILL_AFTER} acknowledged batches", log=log, interval_s=0.005)
        up.clear()
        kill(server.process)
        acknowledged_before = acks[0]
        server.start()
        up.set()
        for thread in threads:
            thread.join(timeout=180)
        assert not any(thread.is_alive() for thread in threads), "a phone never got its batches through"
        for phone in phones:
            assert phone.error is None, (phone.username, phone.error)
    finally:
        if server.process is not None:
            stop(server.process)

    total = BATCHES * BATCH_SIZE
    assert acknowledged_before < len(PHONES) * BATCHES, "the burst was over before the kill"
    with Session(engine) as session:
        for phone in phones:
            assert sorted(phone.acknowledged) == list(range(1, total + 1)), phone.username
            device = session.get(Device, uuid.UUID(phone.device_id))
            assert device.last_mutation_id == total
            records = session.execute(select(MutationRecord.status, func.count()).where(
                MutationRecord.device_id == device.id).group_by(MutationRecord.status)).all()
            assert records == [(MutationStatus.APPLIED, total)], (phone.username, records)
            notes = dict(session.execute(select(JobEvent.reason, func.count()).where(
                JobEvent.job_id == uuid.UUID(phone.job_id), JobEvent.kind == EventKind.NOTE,
                JobEvent.reason.like(f"crash-safety {phone.username} #%")).group_by(JobEvent.reason)).all())
            assert notes == {phone.text(n): 1 for n in range(1, total + 1)}, phone.username
    engine.dispose()
    print(f"\ncrash safety: {len(PHONES)} phones x {total} notes; API killed after {acknowledged_before} of "
          f"{len(PHONES) * BATCHES} batches; {sum(p.resent for p in phones)} batches resent; "
          f"{sum(p.answered_duplicate for p in phones)} resent mutations came back duplicate (applied before the crash, answer lost)")
