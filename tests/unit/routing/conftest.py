"""Fixtures for the routing core: tiny named instances from ``tests/data/routing``.

The JSON format is planar (metres) and small on purpose: technicians with
``start``/``end`` as ``[x, y]``, optional ``skills`` and ``break``; visits with
``xy``, ``window``, ``service_s`` and optional ``skill``, ``priority``,
``sla_urgency``, ``demand`` and ``pin``. Travel is Euclidean at 30 km/h.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from dispatch.routing import (
    Break,
    EuclideanMatrix,
    Pin,
    PlanarLocation,
    RoutingProblem,
    Technician,
    Visit,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "routing"
SHARED_DIR = Path(__file__).resolve().parents[4] / "shared" / "data"


def load_problem(name: str) -> RoutingProblem:
    """Read ``tests/data/routing/<name>.json`` into a problem."""
    data = json.loads((DATA_DIR / f"{name}.json").read_text())
    return RoutingProblem.build(
        [_technician(item) for item in data["technicians"]],
        [_visit(item) for item in data["visits"]],
        EuclideanMatrix(speed_kmh=30.0),
    )


def _technician(item: dict[str, Any]) -> Technician:
    pause = item.get("break")
    return Technician(
        id=item["id"],
        start=PlanarLocation(*item["start"]),
        end=PlanarLocation(*item["end"]),
        shift_start_s=item["shift_start_s"],
        shift_end_s=item["shift_end_s"],
        skills=frozenset(item.get("skills", ())),
        break_=Break(**pause) if pause else None,
        capacity=item.get("capacity"),
    )


def _visit(item: dict[str, Any]) -> Visit:
    pin = item.get("pin")
    return Visit(
        id=item["id"],
        location=PlanarLocation(*item["xy"]),
        window_start_s=item["window"][0],
        window_end_s=item["window"][1],
        service_s=item["service_s"],
        required_skill=item.get("skill"),
        priority=item.get("priority", 3),
        sla_urgency=item.get("sla_urgency", 0.0),
        demand=item.get("demand", 0),
        pin=Pin(**pin) if pin else None,
    )


@pytest.fixture(scope="session", autouse=True)
def engine_loaded() -> None:
    """Import OR-Tools once up front, as the workers do, so no test's time limit pays for it."""
    importlib.import_module("dispatch.routing.ortools_backend")


@pytest.fixture(scope="session")
def skills_problem() -> RoutingProblem:
    """Two technicians, disjoint skills, six visits that all fit."""
    return load_problem("skills_two_technicians")


@pytest.fixture(scope="session")
def oversubscribed_problem() -> RoutingProblem:
    """One technician, ten one-hour visits, room for about three."""
    return load_problem("oversubscribed_priorities")


@pytest.fixture(scope="session")
def pins_problem() -> RoutingProblem:
    """Breaks, pins of every kind, and one impossible visit per unassigned reason."""
    return load_problem("pins_and_breaks")


@pytest.fixture(scope="session")
def tiny_solomon_path() -> Path:
    """A five-customer Solomon-format file with hand-checkable DIMACS distances."""
    return DATA_DIR / "tiny5.txt"
