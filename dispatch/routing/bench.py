"""Benchmark entry point: run the planner on standard instances, print one JSON object.

Usage::

    python -m dispatch.routing.bench solomon FILE --seconds N [--seed S] [--searches K]
    python -m dispatch.routing.bench day FILE --seconds N [--seed S]

``solomon`` reads a Solomon VRPTW text file and plans it under the DIMACS-2021
convention: coordinates, times and windows times 10, arc length = travel time
= ``floor(10 * euclidean)``, fleet size and vehicle capacity from the file,
windows bound the start of service and the depot's due date bounds the return,
minimise distance. It prints
``{"instance", "vehicles", "distance", "routes", "seconds"}`` with ``distance``
back in the file's units (DIMACS total / 10) and ``vehicles`` the number of
non-empty routes.

``day`` reads the JSON day format of ``shared/data/routing`` (planar metres,
30 km/h, every technician from the depot and back within the shift, minimise
distance once every job is served) and prints
``{"instance", "jobs_served", "technicians_used", "distance_km", "routes", "seconds"}``.

Both go through :func:`dispatch.routing.solve`; only the problem differs
(:attr:`Objective.DISTANCE`, the matrix convention).

The output format is relied upon by checks outside the test suite: keep it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dispatch.routing.matrix import EuclideanMatrix
from dispatch.routing.problem import Objective, PlanarLocation, RoutingProblem, Technician, Visit
from dispatch.routing.deadline import solve_within
from dispatch.routing.solver import solve

#: DIMACS-2021 scaling of Solomon data: everything times 10, truncated arcs, speed 1.
DIMACS_SCALE = 10
SOLOMON_MATRIX = EuclideanMatrix(scale=DIMACS_SCALE, speed_kmh=3.6, rounding="floor")


def read_solomon(path: str | Path) -> tuple[str, RoutingProblem]:
    """Parse a Solomon VRPTW file into (instance name, problem) in DIMACS units."""
    lines = [line.split() for line in Path(path).read_text().splitlines()]
    name = lines[0][0] if lines and lines[0] else Path(path).stem
    fleet = capacity = None
    rows: list[list[int]] = []
    for i, words in enumerate(lines):
        if words[:1] == ["NUMBER"] and fleet is None:
            fleet, capacity = (int(word) for word in lines[i + 1][:2])
        elif len(words) == 7 and all(word.lstrip("-").isdigit() for word in words):
            rows.append([int(word) for word in words])
    if fleet is None or capacity is None or not rows or rows[0][0] != 0:
        raise ValueError(f"{path}: not a Solomon VRPTW file (VEHICLE block and depot row 0)")
    scale = DIMACS_SCALE
    _, x, y, _, ready, due, _ = rows[0]
    depot = PlanarLocation(x, y)
    technicians = [
        Technician(
            id=f"vehicle-{k + 1}",
            start=depot,
            end=depot,
            shift_start_s=ready * scale,
            shift_end_s=due * scale,
            capacity=capacity,
        )
        for k in range(fleet)
    ]
    visits = [
        Visit(
            id=str(number),
            location=PlanarLocation(x, y),
            window_start_s=ready * scale,
            window_end_s=due * scale,
            service_s=service * scale,
            demand=demand,
        )
        for number, x, y, demand, ready, due, service in rows[1:]
    ]
    return name, RoutingProblem.build(technicians, visits, SOLOMON_MATRIX, Objective.DISTANCE)


def read_day(path: str | Path) -> tuple[str, RoutingProblem]:
    """Parse a day instance (``shared/data/routing`` JSON) into (instance name, problem)."""
    data = json.loads(Path(path).read_text())
    depot = PlanarLocation(data["depot"]["x_m"], data["depot"]["y_m"])
    technicians = [
        Technician(
            id=item["id"],
            start=depot,
            end=depot,
            shift_start_s=item["shift_start_s"],
            shift_end_s=item["shift_end_s"],
        )
        for item in data["technicians"]
    ]
    visits = [
        Visit(
            id=item["id"],
            location=PlanarLocation(item["x_m"], item["y_m"]),
            window_start_s=item["window_start_s"],
            window_end_s=item["window_end_s"],
            service_s=item["service_s"],
        )
        for item in data["jobs"]
    ]
    matrix = EuclideanMatrix(speed_kmh=float(data.get("speed_kmh", 30.0)))
    return data.get("name", Path(path).stem), RoutingProblem.build(
        technicians, visits, matrix, Objective.DISTANCE
    )


def run_solomon(path: str | Path, seconds: float, seed: int = 0, searches: int = 1) -> dict[str, Any]:
    """Solve a Solomon file and return the pinned JSON-able report.

    ``searches`` > 1 runs the worker's portfolio (:func:`~dispatch.routing.deadline.solve_within`):
    that many differently seeded searches at once in child processes, the best plan kept.
    """
    name, problem = read_solomon(path)
    started = time.perf_counter()
    if searches > 1:
        result = solve_within(problem, seconds, seed, searches=searches)
    else:
        result = solve(problem, time_limit_s=seconds, seed=seed)
    elapsed = time.perf_counter() - started
    routes = [[int(visit_id) for visit_id in route.visit_ids] for route in result.used_routes]
    return {
        "instance": name,
        "vehicles": len(routes),
        "distance": round(result.distance_m / DIMACS_SCALE, 1),
        "routes": routes,
        "seconds": round(elapsed, 3),
    }


def run_day(path: str | Path, seconds: float, seed: int = 0) -> dict[str, Any]:
    """Solve a day instance and return the pinned JSON-able report."""
    name, problem = read_day(path)
    started = time.perf_counter()
    result = solve(problem, time_limit_s=seconds, seed=seed)
    elapsed = time.perf_counter() - started
    return {
        "instance": name,
        "jobs_served": result.served_count,
        "technicians_used": len(result.used_routes),
        "distance_km": round(result.distance_m / 1000, 3),
        "routes": [list(route.visit_ids) for route in result.used_routes],
        "seconds": round(elapsed, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run one benchmark, print its JSON on one line.

    The engine is imported before the clock starts, as the workers preload it:
    ``--seconds`` is search time, not import time.
    """
    parser = argparse.ArgumentParser(prog="python -m dispatch.routing.bench", description=__doc__)
    parser.add_argument("kind", choices=("solomon", "day"))
    parser.add_argument("file")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--searches", type=int, default=1, help="a portfolio of this many searches (solomon)")
    args = parser.parse_args(argv)
    importlib.import_module("dispatch.routing.ortools_backend")
    if args.kind == "solomon":
        print(json.dumps(run_solomon(args.file, args.seconds, args.seed, args.searches)))
    else:
        print(json.dumps(run_day(args.file, args.seconds, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
