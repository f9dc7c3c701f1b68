"""Deterministic demo data. ``load_demo`` runs every step in order; each step is idempotent
(it looks rows up by natural key and only adds what is missing), so loading twice changes nothing.

A domain adds its demo data by providing ``seeds/<domain>.py`` with ``seed(ctx) -> dict[str, int]``
and listing it in STEPS.
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dispatch import wiring
from dispatch.audit_log import service as audit_log
from dispatch.clock import utcnow
from dispatch.config import Settings

STEPS = [
    "seeds.network",
    "seeds.jobs",
    "seeds.sop",
    "seeds.stock",
    "seeds.care",
    "seeds.history",
    "seeds.audits",
    "seeds.customers",
    "seeds.warranty",
]

DEMO_PASSWORD = "demo1234"


@dataclass
class SeedContext:
    session: Any
    settings: Settings
    today: date
    rng: random.Random
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)


def load_demo(session_factory, settings: Settings, today: date | None = None) -> dict[str, int]:
    """Load every demo step in one transaction and return how many rows each step added."""
    wiring.install()  # the demo's jobs go through the lifecycle: checklists, reservations, feed
    today = today or utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    summary: dict[str, int] = {}
    with session_factory() as session:
        ctx = SeedContext(session=session, settings=settings, today=today, rng=random.Random(20261123))
        for name in STEPS:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name == name:
                    continue
                raise
            ctx.rng = random.Random(f"{name}:20261123")  # each step deterministic on its own
            for key, value in module.seed(ctx).items():
                summary[key] = summary.get(key, 0) + value
            session.flush()
        # Seal what the steps wrote directly (not through the services that seal as they write).
        sealed = audit_log.seal_unsealed(session)
        if sealed:
            summary["rows_sealed"] = sealed
        session.commit()
    return summary
