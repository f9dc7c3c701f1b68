"""Day benchmark: 600 jobs, 40 technicians (``shared/data/routing/day600_seed1.json``).

Runs the instance through :func:`dispatch.routing.solve` at 10 s and 60 s by
default, each in its own child process (one at a time: 2 shared cores), and
prints jobs served, km, technicians used, time to the first feasible plan,
the child's peak memory (``ru_maxrss``) and the share of a CPU core it got
(process CPU time / wall time; the machines are shared). Plans are re-checked here from the
instance file (windows, shift, every job at most once, reported km).

Usage::

    python benchmarks/routing_day.py [--seconds 10 60] [--seed 0] [--file PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILE = REPO.parent / "shared" / "data" / "routing" / "day600_seed1.json"

#: Runs in the child: the bench report plus what only the child can measure.
CHILD = """
import json, resource, sys, time
from dispatch.routing.bench import read_day
from dispatch.routing import solve
import dispatch.routing.ortools_backend  # preloaded, as the workers do
name, problem = read_day(sys.argv[1])
started, cpu_started = time.perf_counter(), time.process_time()
result = solve(problem, time_limit_s=float(sys.argv[2]), seed=int(sys.argv[3]))
print(json.dumps({
    "instance": name,
    "jobs_served": result.served_count,
    "technicians_used": len(result.used_routes),
    "distance_km": result.distance_m / 1000,
    "routes": [list(route.visit_ids) for route in result.used_routes],
    "seconds": time.perf_counter() - started,
    "first_solution_s": result.stats.get("first_solution_s"),
    "strategy": result.stats.get("strategy"),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "cpu_s": time.process_time() - cpu_started,
}))
"""


def check(path: Path, report: dict[str, Any]) -> list[str]:
    """Independent check of a plan against the instance file (empty list: feasible)."""
    data = json.loads(path.read_text())
    jobs = {job["id"]: job for job in data["jobs"]}
    depot = (data["depot"]["x_m"], data["depot"]["y_m"])
    metres_per_s = data["speed_kmh"] / 3.6
    shift_end = min(tech["shift_end_s"] for tech in data["technicians"])
    shift_start = max(tech["shift_start_s"] for tech in data["technicians"])
    problems = []

    def leg(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        metres = round(math.hypot(a[0] - b[0], a[1] - b[1]))
        return metres, round(metres / metres_per_s)

    served = [job_id for route in report["routes"] for job_id in route]
    if len(served) != len(set(served)):
        problems.append("a job is served twice")
    if len(report["routes"]) > len(data["technicians"]):
        problems.append("more routes than technicians")
    total_m = 0
    for route in report["routes"]:
        clock, at = shift_start, depot
        for job_id in route:
            job = jobs[job_id]
            here = (job["x_m"], job["y_m"])
            metres, seconds = leg(at, here)
            total_m += metres
            clock = max(clock + seconds, job["window_start_s"])
            if clock > job["window_end_s"]:
                problems.append(f"{job_id} starts after its window")
            clock += job["service_s"]
            at = here
        metres, seconds = leg(at, depot)
        total_m += metres
        if clock + seconds > shift_end:
            problems.append(f"route ending with {route[-1]} is back after the shift")
    if abs(total_m / 1000 - report["distance_km"]) > 0.001:
        problems.append(f"reported {report['distance_km']} km, routes measure {total_m / 1000}")
    return problems


def main() -> int:
    """Run the day instance at each time limit and print one line per run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    args = parser.parse_args()
    ok = True
    for seconds in args.seconds:
        completed = subprocess.run(
            [sys.executable, "-c", CHILD, str(args.file), str(seconds), str(args.seed)],
            cwd=REPO, capture_output=True, text=True, check=True,
        )
        report = json.loads(completed.stdout)
        problems = check(args.file, report)
        ok = ok and not problems
        print(
            f"{report['instance']} @ {seconds:g} s: jobs served {report['jobs_served']}, "
            f"{report['distance_km']:.1f} km, technicians used {report['technicians_used']}, "
            f"first feasible plan {report['first_solution_s']:.2f} s ({report['strategy']}), "
            f"wall {report['seconds']:.2f} s (CPU share {100 * report['cpu_s'] / report['seconds']:.0f} %), "
            f"peak memory {report['peak_rss_mb']:.0f} MB, "
            f"check {'ok' if not problems else 'FAILED: ' + '; '.join(problems[:3])}",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
