"""Audit figures from the design notes (SYNC_AUDIT_RELIABILITY.md 2.7): uniformity of the
HMAC selection (A2), the plans' operating characteristic by simulation (A5), hash-chain tamper
detection (A9) and the cost of verifying the chain and drawing a lot.

Prints figures; asserts nothing (the tests assert behaviour, this measures it).

Usage::

    python benchmarks/audit_sampling.py [--seeds 10000] [--lots 20000] [--trials 1000] [--entries 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from dispatch import migrate  # noqa: E402
from dispatch.audit_log import service as audit_log  # noqa: E402
from dispatch.audit_log.verification import verify  # noqa: E402
from dispatch.db import make_engine, make_session_factory  # noqa: E402
from dispatch.audits import sampling  # noqa: E402


def uniformity(seeds: int, frame_size: int = 200, n: int = 20) -> None:
    """A2: per-item inclusion frequency over many seeds, and a chi-square statistic."""
    frame = [uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{i}") for i in range(frame_size)]
    lot_id = uuid.UUID(int=42)
    counts = dict.fromkeys(map(str, frame), 0)
    started = time.perf_counter()
    for i in range(seeds):
        seed = hashlib.sha256(f"bench-seed-{i}".encode()).digest()
        for cid in sampling.selected_ids(sampling.derive_sample(seed, lot_id, frame, n)):
            counts[cid] += 1
    elapsed = time.perf_counter() - started
    expected = seeds * n / frame_size
    sigma = math.sqrt(seeds * (n / frame_size) * (1 - n / frame_size))
    worst = max(abs(c - expected) for c in counts.values())
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    # Wilson-Hilferty: chi2 with k degrees of freedom -> approximately normal
    k = frame_size - 1
    z = ((chi2 / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    p_value = 0.5 * math.erfc(z / math.sqrt(2))
    print(f"A2 uniformity: {seeds} seeds, N={frame_size}, n={n}: expected {expected:.0f} per item, "
          f"worst deviation {worst:.0f} ({worst / sigma:.2f} sigma), chi2={chi2:.1f} (df {k}, p~{p_value:.3f}); "
          f"{seeds * frame_size / elapsed:,.0f} keys/s")


def operating_characteristic(lots: int) -> None:
    """A5: simulated acceptance rate per true defect rate vs the exact binomial value."""
    rng = random.Random(2859)
    for lot_size in (100, 400):
        plan = sampling.plan_for(lot_size)
        row = []
        for p in (0.01, 0.025, 0.05, 0.10):
            accepted = sum(sum(rng.random() < p for _ in range(plan.sample_size)) <= plan.accept
                           for _ in range(lots))
            exact = sum(math.comb(plan.sample_size, d) * p**d * (1 - p) ** (plan.sample_size - d)
                        for d in range(plan.accept + 1))
            row.append(f"p={p:.3f}: {accepted / lots:.3f} (exact {exact:.3f})")
        print(f"A5 OC, plan n={plan.sample_size} Ac={plan.accept} ({lots} lots each): " + "; ".join(row))


def tamper_detection(trials: int, entries: int) -> None:
    """A9: random edits, deletions and swaps in a chain of ``entries``; how many are caught,
    with the first bad entry named correctly. Plus the cost of a full verification."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/chain.db"
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with factory() as session:
            for i in range(entries):
                audit_log.append(session, kind="bench.event", subject_id=f"s{i}", payload={"i": i, "v": i * 7})
            session.commit()
        with factory() as session:
            started = time.perf_counter()
            assert verify(session).ok
            elapsed = time.perf_counter() - started
        print(f"verify: {entries} entries in {elapsed * 1000:.0f} ms ({entries / elapsed:,.0f} entries/s)")
        rng = random.Random(9)
        caught = named = 0
        with engine.connect() as connection:
            for _ in range(trials):
                outer = connection.begin()
                connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
                connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
                seq = rng.randint(1, entries - 1)
                how = rng.choice(["edit", "delete", "swap"])
                if how == "edit":
                    connection.execute(text("UPDATE audit_log SET payload = :p WHERE seq = :s"),
                                       {"p": f'{{"i": {seq}, "v": -1}}', "s": seq})
                elif how == "delete":
                    connection.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seq})
                else:  # swap two neighbours' contents (reorder)
                    connection.execute(text(
                        "UPDATE audit_log SET subject_id = CASE seq WHEN :a THEN (SELECT subject_id FROM audit_log "
                        "WHERE seq = :b) ELSE (SELECT subject_id FROM audit_log WHERE seq = :a) END "
                        "WHERE seq IN (:a, :b)"), {"a": seq, "b": seq + 1})
                with make_session_factory(connection)() as session:
                    result = verify(session)
                caught += not result.ok
                named += result.first_broken_seq == seq
                outer.rollback()
        print(f"A9 tamper trials: {caught}/{trials} detected, first bad entry named correctly in {named}/{trials}")
        engine.dispose()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10_000)
    parser.add_argument("--lots", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=1000)
    args = parser.parse_args(argv)
    uniformity(args.seeds)
    operating_characteristic(args.lots)
    tamper_detection(args.trials, args.entries)


if __name__ == "__main__":
    main(sys.argv[1:])
