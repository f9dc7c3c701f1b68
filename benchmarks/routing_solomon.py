"""Solomon VRPTW benchmark of the route planner, against the distance-only DIMACS BKS.

Runs ``python -m dispatch.routing.bench solomon FILE --seconds N`` once per
instance (one process at a time: the machines have 2 shared cores), checks
each plan independently of the planner (DIMACS-2021 arithmetic recomputed
here: windows, depot due date, capacity, every customer exactly once, fleet
size, reported distance), and prints per-instance distance, BKS, gap,
feasibility and the share of a CPU core the run actually got (the machines
are shared: a low share means the wall-clock budget bought less search),
then the mean gap and the feasible count.

Usage::

    python benchmarks/routing_solomon.py [--seconds 10] [--seed 0] [--all | NAME ...]
        [--data DIR] [--json OUT] [--half-core] [--searches K]

The default set is the 12-instance subset C101 C105 C201 C205 R101 R105 R201
R205 RC101 RC105 RC201 RC205; ``--all`` runs all 56. ``--data ../shared/data/gh200``
runs the 200-customer Gehring & Homberger instances (same format, same checks).
``--half-core`` pins each run to one CPU together with a competing busy loop, so that it
gets about half a core (the load-robustness check: quality at half a core and twice the
time should match a full core). A table of mean gaps per family ends the output.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "solomon"
SUBSET = "C101 C105 C201 C205 R101 R105 R201 R205 RC101 RC105 RC201 RC205".split()


def read_instance(path: Path) -> tuple[int, int, list[list[int]]]:
    """Fleet size, capacity and customer rows (row 0 is the depot) of a Solomon file."""
    lines = [line.split() for line in path.read_text().splitlines()]
    fleet, capacity = (int(word) for word in lines[4][:2])
    rows = [[int(word) for word in words] for words in lines[9:] if len(words) == 7]
    return fleet, capacity, rows


def check(path: Path, report: dict[str, Any]) -> list[str]:
    """DIMACS-convention feasibility problems of a reported plan (empty list: feasible)."""
    fleet, capacity, rows = read_instance(path)
    problems: list[str] = []

    def arc(a: int, b: int) -> int:
        return math.floor(10 * math.hypot(rows[a][1] - rows[b][1], rows[a][2] - rows[b][2]))

    routes = report["routes"]
    served = [customer for route in routes for customer in route]
    if sorted(served) != list(range(1, len(rows))):
        problems.append("not every customer exactly once")
    if len(routes) > fleet:
        problems.append(f"{len(routes)} routes > fleet {fleet}")
    total = 0
    for route in routes:
        if sum(rows[c][3] for c in route) > capacity:
            problems.append(f"route {route[:3]}... over capacity")
        clock, at = rows[0][4] * 10, 0
        for c in route:
            total += arc(at, c)
            clock = max(clock + arc(at, c), rows[c][4] * 10)
            if clock > rows[c][5] * 10:
                problems.append(f"customer {c} served at {clock / 10} after due {rows[c][5]}")
            clock += rows[c][6] * 10
            at = c
        total += arc(at, 0)
        if clock + arc(at, 0) > rows[0][5] * 10:
            problems.append(f"route ending with {at} back after the depot due date")
    if abs(total / 10 - report["distance"]) > 0.05:
        problems.append(f"reported distance {report['distance']} but routes measure {total / 10}")
    if report["vehicles"] != len([route for route in routes if route]):
        problems.append("vehicles is not the number of non-empty routes")
    return problems


def best_known(data: Path) -> dict[str, float]:
    """Distance-only DIMACS best-known distances by instance name."""
    with (data / "bks.csv").open() as handle:
        return {
            row["instance"].upper(): float(row["distance"])
            for row in csv.DictReader(handle)
            if row["objective"] == "distance_only_dimacs"
        }


#: The CPU that --half-core shares between the run and a busy loop.
HALF_CORE_CPU = "1"
BUSY_LOOP = "while True: pass"


def run(path: Path, seconds: float, seed: int, half_core: bool = False, searches: int = 1) -> tuple[dict[str, Any], float]:
    """One bench run in its own process: its JSON report and the CPU seconds it used.

    The CPU time tells how much of a core the run really had: on a shared
    machine a 10 s run may get far less than 10 s of CPU.
    """
    command = [sys.executable, "-m", "dispatch.routing.bench", "solomon", str(path),
               "--seconds", str(seconds), "--seed", str(seed), "--searches", str(searches)]
    busy = None
    if half_core:
        command = ["taskset", "-c", HALF_CORE_CPU, *command]
        busy = subprocess.Popen(["taskset", "-c", HALF_CORE_CPU, sys.executable, "-c", BUSY_LOOP])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # before the busy loop is reaped
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return json.loads(completed.stdout), cpu_s


def family(instance: str) -> str:
    """Solomon / Gehring-Homberger family of an instance: R101 and r1_2_3 are both R1."""
    return re.match(r"[A-Za-z]+\d", instance).group(0).upper()


def main() -> int:
    """Run the chosen instances and print the table and the summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="also write the per-instance results here")
    parser.add_argument("--half-core", action="store_true", help="share one CPU with a busy loop")
    parser.add_argument("--searches", type=int, default=1,
                        help="the worker's portfolio: this many seeded searches at once, best kept "
                             "(uses that many cores: the CPU share may exceed 100 %%)")
    args = parser.parse_args()
    names = sorted(path.stem for path in args.data.glob("*.txt")) if args.all else (args.names or SUBSET)
    bks = best_known(args.data)
    print(f"{'instance':9} {'veh':>3} {'distance':>9} {'BKS':>8} {'gap %':>6} {'secs':>6} {'cpu %':>5}  feasible")
    rows = []
    for name in names:
        path = args.data / f"{name}.txt"
        report, cpu_s = run(path, args.seconds, args.seed, args.half_core, args.searches)
        problems = check(path, report)
        cpu_pct = 100.0 * cpu_s / report["seconds"] if report["seconds"] else 0.0
        best = bks[name.upper()]
        gap = 100.0 * (report["distance"] - best) / best
        rows.append({"instance": name, "vehicles": report["vehicles"], "distance": report["distance"],
                     "bks": best, "gap_pct": round(gap, 2), "seconds": report["seconds"],
                     "cpu_pct": round(cpu_pct),
                     "feasible": not problems, "problems": problems})
        print(f"{name:9} {report['vehicles']:3} {report['distance']:9.1f} {best:8.1f} {gap:6.2f} "
              f"{report['seconds']:6.2f} {cpu_pct:5.0f}  "
              f"{'yes' if not problems else 'NO: ' + '; '.join(problems[:3])}",
              flush=True)
    feasible = [row for row in rows if row["feasible"]]
    mean_gap = sum(row["gap_pct"] for row in feasible) / len(feasible) if feasible else float("nan")
    mean_cpu = sum(row["cpu_pct"] for row in rows) / len(rows) if rows else 0.0
    families: dict[str, list[float]] = {}
    for row in feasible:
        families.setdefault(family(row["instance"]), []).append(row["gap_pct"])
    print("family  n  mean gap %  max gap %")
    for name, gaps in sorted(families.items()):
        print(f"{name:6} {len(gaps):2d} {sum(gaps) / len(gaps):10.2f} {max(gaps):10.2f}")
    worst = max((row["gap_pct"] for row in feasible), default=float("nan"))
    print(f"worst instance gap {worst:.2f} %")
    print(f"mean gap {mean_gap:.2f} % over {len(feasible)} feasible; "
          f"feasible {len(feasible)}/{len(rows)} at {args.seconds:g} s; "
          f"mean CPU share {mean_cpu:.0f} % of one core")
    if args.json:
        args.json.write_text(json.dumps({"seconds": args.seconds, "seed": args.seed, "results": rows}, indent=1))
    return 0 if len(feasible) == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
