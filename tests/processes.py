"""Helpers for the tests that run the real thing in other processes (an RQ worker, the API under
gunicorn) and kill it: a seeded database of their own, process start/kill, bounded waits."""

from __future__ import annotations

import importlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from dispatch import migrate
from dispatch.clock import utcnow
from dispatch.config import Settings
from dispatch.db import make_engine, make_session_factory
from tests.conftest import TEST_HASH, fresh_database_url

REPO = Path(__file__).resolve().parent.parent
SECRET = "process-test-secret-key-not-for-production-0123456789"
T = TypeVar("T")


def seeded_database(name: str, tmp_path: Path, steps: Iterable[str]) -> str:
    """A fresh database (SQLite file, or PostgreSQL when the suite runs on it) migrated by Alembic
    and loaded with the given demo steps only (the full demo takes tens of seconds)."""
    import seeds

    url = fresh_database_url(name, tmp_path)
    migrate.upgrade(url)
    settings = Settings(database_url=url, secret_key=SECRET, upload_dir=tmp_path / "uploads",
                        instance_path=tmp_path, password_hash_method=TEST_HASH)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        ctx = seeds.SeedContext(session=session, settings=settings, rng=random.Random(0),
                                today=utcnow().astimezone(ZoneInfo(settings.timezone)).date())
        for name_ in steps:
            ctx.rng = random.Random(f"{name_}:20261123")
            importlib.import_module(name_).seed(ctx)
            session.flush()
        session.commit()
    engine.dispose()
    return url


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process: this checkout importable, a fixed secret, no
    inherited DATABASE_URL/REDIS_URL unless given."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(PYTHONPATH=str(REPO), SECRET_KEY=SECRET, DISPATCH_INSTANCE_PATH=str(tmp_path),
               DISPATCH_PASSWORD_HASH=TEST_HASH, PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``python <args>`` in its own process group (so a kill takes its children too)."""
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _descendants(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                children += [int(child) for child in listing.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return children + [grandchild for child in children for grandchild in _descendants(child)]


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process and all its descendants at once (an RQ work horse runs in a process
    group of its own): what a lost machine or an OOM-killed container does."""
    for pid in [process.pid, *_descendants(process.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=10)


def stop(process: subprocess.Popen) -> None:
    """Graceful stop (SIGTERM), then SIGKILL if it does not exit within 10 s."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            kill(process)


def wait_until(check: Callable[[], T], *, timeout_s: float, what: str, log: Path | None = None,
               interval_s: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail (with the child's log) after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{tail}")
        time.sleep(interval_s)
