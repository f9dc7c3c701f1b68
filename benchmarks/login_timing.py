"""How long a failed login takes for a real username against an unknown one (user enumeration).

    python benchmarks/login_timing.py [--rounds 20] [--hash scrypt]

Builds the API on a fresh SQLite database with one account hashed with ``--hash`` (production's
default ``scrypt``: werkzeug's N=32768, r=8, p=1), then alternates ``POST /api/v1/auth/token``
with a wrong password for that account and with an unknown username, through the Flask test
client (no network), and prints the median and p90 time of each, their ratio (1.00 = the answer
time says nothing about which usernames exist) and the CPU share the process got (the machine is
shared: a low share means the figures are noisy, not that logins are slow).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench_db import fresh_database  # noqa: E402
from dispatch import migrate  # noqa: E402
from dispatch.app import create_app  # noqa: E402
from dispatch.auth.models import Role  # noqa: E402
from dispatch.auth.service import create_user  # noqa: E402
from dispatch.config import Settings  # noqa: E402
from dispatch.db import make_engine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="logins of each kind")
    parser.add_argument("--hash", default="scrypt", help="password hash method (werkzeug syntax)")
    args = parser.parse_args()

    url = fresh_database(None, "bench_login")
    migrate.upgrade(url)
    engine = make_engine(url)
    with sessionmaker(bind=engine)() as session:
        create_user(session, username="real.user", password="the-right-password", role=Role.REVIEWER,
                    hash_method=args.hash)
        session.commit()
    settings = Settings(database_url=url, secret_key="bench-login-" + "0" * 40, upload_dir=Path(tempfile.mkdtemp()),
                        password_hash_method=args.hash, auth_rate_limit=(10**9, 60),
                        auth_address_rate_limit=(10**9, 60), testing=True)
    client = create_app(settings).test_client()

    def attempt(username: str) -> float:
        started = time.perf_counter()
        response = client.post("/api/v1/auth/token", json={"username": username, "password": "wrong-password"})
        elapsed = time.perf_counter() - started
        assert response.status_code == 401, response.get_data(as_text=True)
        return elapsed

    attempt("real.user"), attempt("nobody")  # warm up: the dummy hash is made at the first unknown name
    times: dict[str, list[float]] = {"real username, wrong password": [], "unknown username": []}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(args.rounds):
        times["real username, wrong password"].append(attempt("real.user"))
        times["unknown username"].append(attempt("nobody.at.all"))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0

    print(f"login timing: {args.rounds} attempts of each kind, hash {args.hash!r}, SQLite, test client")
    for kind, values in times.items():
        values.sort()
        print(f"  {kind:32s} median {statistics.median(values) * 1000:7.1f} ms   "
              f"p90 {values[int(len(values) * 0.9) - 1] * 1000:7.1f} ms")
    real, unknown = (statistics.median(v) for v in times.values())
    print(f"  ratio real/unknown (medians): {real / unknown:.2f}")
    print(f"  CPU share of the process: {cpu / wall:.0%} of one core ({os.cpu_count()} cores on the machine)")
    engine.dispose()


if __name__ == "__main__":
    main()
