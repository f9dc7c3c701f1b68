"""Day benchmark: 600 jobs, 40 technicians (``shared/data/routing/day600_seed1.json``).

Runs the instance through :func:`dispatch.routing.solve` at 10 s and 60 s by
default, each in its own child process (one at a time: 2 shared cores), and
prints jobs served, km, technicians used, time to the first feasible plan,
the child's peak memory (``ru_maxrss``) and the share of a CPU core it got
(process CPU time / wall time; the machines are shared). Plans are re-checked here from the
instance file (windows, shift, every job at most once, reported km).

``--sizes 2 20 100 600`` instead times a plan of smaller days cut from the same instance (its
first N jobs, one technician per 15 jobs, as on the full day) at one time limit (the first of
``--seconds``): the search stops once it stops improving, so the wall time is the time to a plan.

Usage::

    python benchmarks/routing_day.py [--seconds 10 60] [--seed 0] [--file PATH]
    python benchmarks/routing_day.py --sizes 2 20 100 600 [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
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


#: Jobs per technician when cutting a smaller day out of the instance (600 jobs, 40 technicians).
JOBS_PER_TECHNICIAN = 15


def cut(path: Path, jobs: int, into: Path) -> Path:
    """Write a day of the first ``jobs`` jobs of ``path`` with proportionally many technicians."""
    data = json.loads(path.read_text())
    technicians = max(1, math.ceil(jobs / JOBS_PER_TECHNICIAN))
    data.update(name=f"{data['name']}-first{jobs}", jobs=data["jobs"][:jobs],
                technicians=data["technicians"][:technicians])
    target = into / f"first{jobs}.json"
    target.write_text(json.dumps(data))
    return target


def run(path: Path, seconds: float, seed: int) -> tuple[dict[str, Any], list[str]]:
    """One run in its own child process: its report and the independent check's findings."""
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(seconds), str(seed)],
        cwd=REPO, capture_output=True, text=True, check=True,
    )
    report = json.loads(completed.stdout)
    return report, check(path, report)


def cpu_share(report: dict[str, Any]) -> str:
    return f"CPU share {100 * report['cpu_s'] / report['seconds']:.0f} %"


def main() -> int:
    """Run the day instance at each time limit (or each size) and print one line per run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--sizes", type=int, nargs="+", help="time to a plan for days of this many jobs")
    args = parser.parse_args()
    ok = True
    if args.sizes:
        seconds = args.seconds[0]
        with tempfile.TemporaryDirectory() as folder:
            for jobs in args.sizes:
                report, problems = run(cut(args.file, jobs, Path(folder)), seconds, args.seed)
                ok = ok and not problems
                print(
                    f"{jobs:4d} jobs, {math.ceil(jobs / JOBS_PER_TECHNICIAN):2d} technicians, limit {seconds:g} s: "
                    f"time to plan {report['seconds']:.2f} s ({cpu_share(report)}), "
                    f"jobs served {report['jobs_served']}, {report['distance_km']:.1f} km, "
                    f"check {'ok' if not problems else 'FAILED: ' + '; '.join(problems[:3])}",
                    flush=True,
                )
        return 0 if ok else 1
    for seconds in args.seconds:
        report, problems = run(args.file, seconds, args.seed)
        ok = ok and not problems
        print(
            f"{report['instance']} @ {seconds:g} s: jobs served {report['jobs_served']}, "
            f"{report['distance_km']:.1f} km, technicians used {report['technicians_used']}, "
            f"first feasible plan {report['first_solution_s']:.2f} s ({report['strategy']}), "
            f"wall {report['seconds']:.2f} s ({cpu_share(report)}), "
            f"peak memory {report['peak_rss_mb']:.0f} MB, "
            f"check {'ok' if not problems else 'FAILED: ' + '; '.join(problems[:3])}",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
