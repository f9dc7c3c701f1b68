"""Route plans end to end on the demo data: request (read the day, fingerprint), run (claim,
solve, store), read back. Prints figures per active point; asserts nothing.

    python benchmarks/plans_demo_day.py [--seconds 1 2 5] [--day YYYY-MM-DD]

The database is a fresh SQLite file in a temporary directory with the demo data loaded; the day
defaults to tomorrow (the demo's open jobs are tomorrow's).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dispatch import migrate
from dispatch.auth.models import User
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.config import Settings
from dispatch.db import make_engine, make_session_factory
from dispatch.network.models import AuthorisationStatus, ServicePoint
from dispatch.routing import service, views
from dispatch.uow import UnitOfWork
from seeds import load_demo


class _Queue:
    """Keeps the enqueued plan ids; the benchmark runs them itself to time the run alone."""

    def __init__(self) -> None:
        self.plan_ids: list[str] = []

    def enqueue(self, task: str, *args, task_id: str, queue: str = "default", timeout_s: int = 600) -> None:
        self.plan_ids.append(args[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, nargs="+", default=[1, 2, 5])
    parser.add_argument("--day", type=date.fromisoformat, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(database_url=url, secret_key="bench", upload_dir=Path(tmp) / "uploads",
                            instance_path=Path(tmp), password_hash_method="scrypt:1024:8:1")
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        load_demo(factory, settings)
        print(f"demo data loaded in {time.perf_counter() - started:.1f} s")
        tz = ZoneInfo(settings.timezone)
        day = args.day or utcnow().astimezone(tz).date() + timedelta(days=1)
        with factory() as session:
            points = session.scalars(select(ServicePoint).where(ServicePoint.status == AuthorisationStatus.ACTIVE)
                                     .order_by(ServicePoint.code)).all()
            admin = session.scalar(select(User).where(User.username == "admin"))
        actor = Principal(user_id=admin.id, username=admin.username, role=admin.role)
        uow_factory = lambda: UnitOfWork(factory)  # noqa: E731
        print(f"day {day.isoformat()} ({day.strftime('%A')})")
        print(f"{'point':6} {'limit_s':>7} {'jobs':>5} {'techs':>5} {'served':>6} {'left':>5} {'km':>7} "
              f"{'first_s':>7} {'solve_s':>7} {'request_ms':>10} {'run_s':>6} {'store_ms':>8} {'read_ms':>7}")
        for seconds in args.seconds:
            for sp in points:
                queue = _Queue()
                t0 = time.perf_counter()
                view = service.request_plan(uow_factory(), queue, actor, point_id=sp.id, day=day,
                                            time_limit_s=seconds, seed=seconds, timezone=settings.timezone)
                t1 = time.perf_counter()
                status = service.run_plan(uow_factory, plan_id=view.id)
                t2 = time.perf_counter()
                plan = views.get_plan(uow_factory(), actor, view.id)
                t3 = time.perf_counter()
                stats = plan.stats
                solver = stats.get("solver", {})
                store_ms = (t2 - t1 - stats.get("solve_s", 0.0) - stats.get("build_s", 0.0)) * 1000
                first = solver.get("first_solution_s")
                print(f"{sp.code:6} {seconds:>7} {stats['jobs']:>5} {stats['technicians']:>5} {stats['served']:>6} "
                      f"{stats['unassigned']:>5} {stats['distance_m'] / 1000:>7.1f} "
                      f"{first if first is not None else float('nan'):>7.2f} {stats.get('solve_s', 0.0):>7.2f} "
                      f"{(t1 - t0) * 1000:>10.0f} "
                      f"{t2 - t1:>6.2f} {store_ms:>8.0f} {(t3 - t2) * 1000:>7.0f}  {status} "
                      f"{stats['unassigned_by_reason']}")
                # Breaks float in each technician's window (11:00-13:30 in the demo): when each lunch starts.
                lunches = sorted(route.break_start_at.strftime("%H:%M") for route in plan.routes
                                 if route.break_start_at is not None and route.stops)
                print(f"{'':6} lunch breaks start at {' '.join(lunches) or '-'}")
        engine.dispose()


if __name__ == "__main__":
    main()
