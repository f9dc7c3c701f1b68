"""Builders for the route-planning tests: jobs of a point on a day, a recording task queue."""

from __future__ import annotations

import ctypes
import random
import signal
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatch.auth.models import User
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.jobs.models import Job, JobStatus, Priority
from dispatch.network.models import Customer, JobType, Product, ServicePoint, Technician
from dispatch.routing.deadline import call_within

TZ = ZoneInfo("Asia/Shanghai")


def next_workday(after: date | None = None) -> date:
    """The first Monday-to-Friday day after ``after`` (default: today, local): everyone works then."""
    day = (after or utcnow().astimezone(TZ).date()) + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def point(session, code: str) -> ServicePoint:
    return session.scalar(select(ServicePoint).where(ServicePoint.code == code))


def technicians(session, code: str) -> list[Technician]:
    return list(session.scalars(select(Technician).join(ServicePoint).where(ServicePoint.code == code)
                                .order_by(Technician.name, Technician.id)))


def make_job(
    session,
    code: str,
    day: date,
    *,
    window: tuple[int, int] | None = (9, 17),
    priority: Priority = Priority.NORMAL,
    sku: str = "WP-RO500",
    job_type: JobType = JobType.REPAIR,
    minutes: int = 45,
    spread_km: float = 4.0,
    location: tuple[float, float] | None | str = "near",
    status: JobStatus = JobStatus.DISPATCHED,
    seed: Any = None,
    **fields: Any,
) -> Job:
    """A job of point ``code`` with a customer window ``window`` (local hours) on ``day``.

    Its place is drawn (deterministically from ``seed``) within ``spread_km`` of the point, unless
    ``location`` is given (``None``: no map location).
    """
    sp = point(session, code)
    rng = random.Random(seed if seed is not None else uuid.uuid4().hex)
    if location == "near":
        location = (sp.lat + rng.uniform(-1, 1) * spread_km / 111.0,
                    sp.lon + rng.uniform(-1, 1) * spread_km / 96.0)
    customer = session.scalar(select(Customer).order_by(Customer.phone).limit(1))
    product = session.scalar(select(Product).where(Product.sku == sku))
    job = Job(
        reference=f"T-{uuid.uuid4().hex[:12].upper()}", type=job_type, status=status, priority=priority,
        customer_id=customer.id, product_id=product.id, service_point_id=sp.id,
        lat=location[0] if location else None, lon=location[1] if location else None,
        reported_at=utcnow() - timedelta(hours=2),
        window_start=local(day, window[0]) if window else None,
        window_end=local(day, window[1]) if window else None,
        duration_minutes=minutes, **fields,
    )
    session.add(job)
    session.flush()
    return job


class RecordingTaskQueue:
    """A task queue that only records what was enqueued (the test runs the task itself)."""

    def __init__(self) -> None:
        self.enqueued: list[tuple[str, tuple[Any, ...], str, str]] = []

    def enqueue(self, task: str, *args: Any, task_id: str, queue: str = "default", timeout_s: int = 600,
                forget_when_done: bool = False) -> None:
        self.enqueued.append((task, args, task_id, queue))


def principal(session, username: str) -> Principal:
    """The caller a service sees for demo account ``username``."""
    user = session.scalar(select(User).where(User.username == username))
    technician = session.scalar(select(Technician.id).where(Technician.user_id == user.id))
    return Principal(user_id=user.id, username=user.username, role=user.role,
                     service_point_id=user.service_point_id, technician_id=technician)


def spin_in_c_holding_the_gil() -> None:
    """What the OR-Tools loop of issue 15 looked like from Python: a C call that never returns, keeps
    the GIL (no watchdog thread runs) and outlasts SIGTERM."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ctypes.PyDLL(None).sleep(3600)


def stuck_solve(*args: Any, **kwargs: Any) -> Any:
    """Stands in for ``solve_within``: a solve stuck in C, under a 1 s hard deadline."""
    return call_within(spin_in_c_holding_the_gil, (), 1.0)
