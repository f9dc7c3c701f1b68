"""The benchmark entry point: Solomon parsing, the DIMACS convention, the pinned JSON output."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA_DIR, SHARED_DIR

from dispatch.routing import Objective
from dispatch.routing.bench import read_day, read_solomon

REPO = Path(__file__).resolve().parents[3]


def run_cli(*args: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "dispatch.routing.bench", *args],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=60,
    )
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 1, "the CLI prints exactly one JSON line"
    return json.loads(lines[0])


def test_solomon_file_becomes_a_dimacs_problem(tiny_solomon_path: Path) -> None:
    name, problem = read_solomon(tiny_solomon_path)
    assert name == "TINY5"
    assert problem.objective is Objective.DISTANCE
    assert [t.capacity for t in problem.technicians] == [30, 30]
    assert {(t.shift_start_s, t.shift_end_s) for t in problem.technicians} == {(0, 2000)}
    fourth = problem.visits[3]
    assert (fourth.id, fourth.window_start_s, fourth.window_end_s, fourth.service_s, fourth.demand) == (
        "4", 500, 600, 100, 10,
    )
    depot = problem.index_of(problem.technicians[0].start)
    to = {visit.id: problem.index_of(visit.location) for visit in problem.visits}
    # floor(10 * euclidean): 5 -> 50, 10 -> 100, sqrt(2) -> 14, sqrt(5) -> 22; time = distance.
    assert [problem.travel.distance_m[depot][to[c]] for c in "12345"] == [50, 100, 14, 50, 22]
    assert problem.travel.duration_s == problem.travel.distance_m


def test_solomon_cli_prints_the_pinned_json(tiny_solomon_path: Path) -> None:
    report = run_cli("solomon", str(tiny_solomon_path), "--seconds", "1", "--seed", "1")
    assert list(report) == ["instance", "vehicles", "distance", "routes", "seconds"]
    assert report["instance"] == "TINY5"
    routes = report["routes"]
    assert sorted(c for route in routes for c in route) == [1, 2, 3, 4, 5]
    assert report["vehicles"] == len(routes) <= 2
    xy = {0: (0, 0), 1: (3, 4), 2: (6, 8), 3: (1, 1), 4: (-3, -4), 5: (-1, 2)}

    def arc(a: int, b: int) -> int:
        return math.floor(10 * math.dist(xy[a], xy[b]))

    total = sum(arc(a, b) for route in routes for a, b in zip([0, *route], [*route, 0]))
    assert report["distance"] == total / 10
    assert all(len(route) <= 3 for route in routes), "capacity 30, demand 10 each"


def test_solomon_cli_runs_a_real_instance_in_about_a_second() -> None:
    path = SHARED_DIR / "solomon" / "C101.txt"
    if not path.exists():
        pytest.skip(f"shared benchmark data not found at {path}")
    report = run_cli("solomon", str(path), "--seconds", "1")
    served = sorted(c for route in report["routes"] for c in route)
    assert served == list(range(1, len(served) + 1))
    assert report["seconds"] < 5


def test_day_cli_prints_the_pinned_json() -> None:
    path = DATA_DIR / "day_tiny.json"
    _, problem = read_day(path)
    assert len(problem.technicians) == 2 and len(problem.visits) == 4
    report = run_cli("day", str(path), "--seconds", "0.5")
    assert list(report) == ["instance", "jobs_served", "technicians_used", "distance_km", "routes", "seconds"]
    assert report["instance"] == "day_tiny"
    assert report["jobs_served"] == 4
    assert sorted(j for route in report["routes"] for j in route) == ["J1", "J2", "J3", "J4"]
    assert report["technicians_used"] == len(report["routes"])


def test_fixed_work_search_gives_the_same_plan_whatever_the_load() -> None:
    """benchmarks/routing_ils_work.py: a number of solutions, not seconds, ends the search, so it repeats."""
    data = SHARED_DIR / "solomon"
    if not (data / "RC103.txt").exists():
        pytest.skip(f"shared benchmark data not found at {data}")

    def gaps() -> list[str]:
        completed = subprocess.run(
            [sys.executable, "benchmarks/routing_ils_work.py", "--solutions", "300", "--seeds", "2",
             "--data", str(data), "RC103"],
            cwd=REPO, capture_output=True, text=True, check=True, timeout=120,
        )
        first, *_ = completed.stdout.splitlines()
        return first.split()

    once = gaps()
    assert once[0] == "RC103" and len(once) == 3
    assert all(0.0 < float(gap) < 50.0 for gap in once[1:]), "a real plan, above the best known"
    assert gaps() == once
