"""Before/after CPU per request, side by side, from one run: ``api_cpu.py --json`` in another
checkout of the code (the "before", e.g. main in a throwaway worktree) and in this one, back to
back on the same machine and database server, then each endpoint's figures and their ratio.

    git worktree add /tmp/before main && cp benchmarks/api_cpu.py benchmarks/bench_db.py /tmp/before/benchmarks/
    python benchmarks/compare.py /tmp/before [--database-url URL] [--repeat 30]
    git worktree remove /tmp/before

The two runs use databases of their own (``before_``/``after_`` prefixes on
``DISPATCH_BENCH_DB_PREFIX``). Each prints the CPU share its process got while measuring: the
machine is shared, so read the ratios next to those shares.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def run(tree: Path, prefix: str, args) -> dict:
    env = {**os.environ, "DISPATCH_BENCH_DB_PREFIX": os.environ.get("DISPATCH_BENCH_DB_PREFIX", "") + prefix}
    command = [sys.executable, str(tree / "benchmarks" / "api_cpu.py"), "--json", "--repeat", str(args.repeat)]
    if args.database_url:
        command += ["--database-url", args.database_url]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path, help="the other checkout (its benchmarks/ needs api_cpu.py, bench_db.py)")
    parser.add_argument("--database-url", default=os.environ.get("DISPATCH_TEST_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    before, after = run(args.before.resolve(), "before_", args), run(HERE, "after_", args)
    print(f"backend: {after['backend']}; median CPU ms per request (SQL statements), before = {args.before}")
    print(f"  {'endpoint':<42} {'before':>13} {'after':>13} {'after/before':>13}")
    for label, now in after["endpoints"].items():
        then = before["endpoints"].get(label)
        if then is None:
            continue
        print(f"  {label:<42} {then['cpu_ms']:>7.2f} ({then['statements']:>3.0f}) {now['cpu_ms']:>7.2f} "
              f"({now['statements']:>3.0f}) {now['cpu_ms'] / then['cpu_ms']:>12.2f}x")
    print(f"CPU share the process got while measuring: before {100 * before['process_cpu_share']:.0f}%, "
          f"after {100 * after['process_cpu_share']:.0f}% of one core")


if __name__ == "__main__":
    main()
