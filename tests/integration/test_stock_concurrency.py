"""On PostgreSQL, with real concurrent transactions (one connection per thread, real commits):
stock never goes negative, every level equals the sum of its ledger rows, reservations never
exceed what is on hand, and a replayed consumption is applied once.

Each test uses its own database (the per-test rollback fixture cannot be shared across threads):
the network and stock demo steps, plus jobs on site built here.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from dispatch import migrate, wiring
from dispatch.audit_log import service as audit_log
from dispatch.auth.principal import SYSTEM
from dispatch.clock import utcnow
from dispatch.db import make_engine, make_session_factory
from dispatch.errors import Conflict, InsufficientStock, PreconditionFailed
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Customer, JobType, Product, ServicePoint, Technician
from dispatch.stock import job_parts, ledger, locations, movements
from dispatch.stock.catalogue import resolve_part
from dispatch.stock.job_parts import ConsumptionLine, ExpectedLine
from dispatch.stock.models import (
    MovementKind,
    PartUsage,
    ReservationStatus,
    StockLevel,
    StockMovement,
    StockReservation,
)
from dispatch.stock.movements import PartRef
from dispatch.uow import UnitOfWork
from seeds import SeedContext
from seeds import network as network_seed
from seeds import stock as stock_seed
from tests.dates import SUITE_TODAY
from tests.conftest import fresh_database_url

pytestmark = pytest.mark.postgres

VALVE, PP = "VLV-SOL-IN", "FLT-PP-S1"
VAN1, VAN2 = "VAN-tech.hz01.1", "VAN-tech.hz01.2"


def _world(name: str, tmp_path_factory, base_settings, jobs: int):
    """A fresh database with the demo network and stock, and ``jobs`` jobs on site at HZ01."""
    wiring.install()  # as every process that writes does (the sealed tables, the hooks), run alone or not
    url = fresh_database_url(name, tmp_path_factory.mktemp(name))
    engine = make_engine(url, pool_size=20, max_overflow=10)
    migrate.upgrade(url)
    factory = make_session_factory(engine)
    with factory() as session:
        ctx = SeedContext(session=session, settings=base_settings, today=SUITE_TODAY, rng=random.Random(1))
        network_seed.seed(ctx)
        stock_seed.seed(ctx)
        point = session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ01"))
        technicians = session.scalars(select(Technician).where(Technician.service_point_id == point.id)
                                      .order_by(Technician.hired_on)).all()
        customer = session.scalars(select(Customer).order_by(Customer.phone)).first()
        product = session.scalar(select(Product).where(Product.sku == "WP-RO500"))
        now = utcnow()
        ids = []
        for n in range(jobs):
            job = Job(reference=f"RACE-{name[:8]}-{n:03d}", type=JobType.REPAIR, status=JobStatus.ON_SITE,
                      customer_id=customer.id, product_id=product.id, service_point_id=point.id,
                      technician_id=technicians[n % 2].id, reported_at=now - timedelta(hours=2),
                      scheduled_start=now - timedelta(hours=1), scheduled_end=now, arrived_at=now,
                      parts_covered=False, labour_covered=False)
            session.add(job)
            session.flush()
            ids.append(job.id)
        audit_log.append(session, kind="test.setup", subject_id="stock-race", payload={}, actor_id=None)
        session.commit()  # the chain head exists before the threads start
    return engine, factory, ids


def _count(factory, location: str, sku: str, quantity: int) -> None:
    with factory() as session:
        current = session.scalar(select(StockLevel.on_hand).where(StockLevel.location.has(code=location),
                                                                  StockLevel.part.has(sku=sku)))
    if current == quantity:
        return
    movements.adjust(UnitOfWork(factory), SYSTEM, location=location, part_sku=sku, counted=quantity,
                     reason="race test: start count")


def _run(threads: int, work) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def body(index: int) -> None:
        try:
            start.wait(30)
            work(index)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    pool = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(300)
    assert not any(thread.is_alive() for thread in pool), "a worker hung"
    return errors


def _assert_ledger_invariants(factory) -> dict[str, int]:
    """No negative level; level == sum of its ledger rows; reserved == open reservations; and
    per part, stock everywhere == received + adjusted - fitted."""
    with factory() as session:
        bad = session.scalar(select(func.count()).select_from(StockLevel).where(
            (StockLevel.on_hand < 0) | (StockLevel.reserved < 0) | (StockLevel.reserved > StockLevel.on_hand)
            | (StockLevel.in_transit < 0) | (StockLevel.defective < 0)))
        assert bad == 0
        sums = {(row.location_id, row.part_id): row for row in session.execute(
            select(StockMovement.location_id, StockMovement.part_id,
                   func.sum(StockMovement.delta_on_hand).label("on_hand"),
                   func.sum(StockMovement.delta_reserved).label("reserved"),
                   func.sum(StockMovement.delta_in_transit).label("in_transit"),
                   func.sum(StockMovement.delta_defective).label("defective"))
            .group_by(StockMovement.location_id, StockMovement.part_id))}
        open_reserved = {(lid, pid): int(qty) for lid, pid, qty in session.execute(
            select(StockReservation.location_id, StockReservation.part_id,
                   func.sum(StockReservation.quantity - StockReservation.consumed - StockReservation.released))
            .where(StockReservation.status == ReservationStatus.ACTIVE)
            .group_by(StockReservation.location_id, StockReservation.part_id))}
        levels = session.scalars(select(StockLevel)).all()
        for lv in levels:
            row = sums.get((lv.location_id, lv.part_id))
            ledger_sum = (row.on_hand, row.reserved, row.in_transit, row.defective) if row else (0, 0, 0, 0)
            assert (lv.on_hand, lv.reserved, lv.in_transit, lv.defective) == ledger_sum, lv
            assert lv.reserved == open_reserved.get((lv.location_id, lv.part_id), 0), lv
        assert set(sums) <= {(lv.location_id, lv.part_id) for lv in levels}
        stock = dict(session.execute(select(StockLevel.part_id, func.sum(
            StockLevel.on_hand + StockLevel.in_transit + StockLevel.defective)).group_by(StockLevel.part_id)).all())
        brought_in = dict(session.execute(select(StockMovement.part_id, func.sum(StockMovement.delta_on_hand))
                                          .where(StockMovement.kind.in_([MovementKind.RECEIVE, MovementKind.ADJUST]))
                                          .group_by(StockMovement.part_id)).all())
        fitted = dict(session.execute(select(PartUsage.part_id, func.sum(PartUsage.quantity))
                                      .group_by(PartUsage.part_id)).all())
        for part_id, total in stock.items():
            assert total == brought_in.get(part_id, 0) - fitted.get(part_id, 0)
        consumed = session.scalar(select(func.coalesce(func.sum(StockMovement.delta_on_hand), 0))
                                  .where(StockMovement.kind == MovementKind.CONSUME))
        assert -consumed == sum(fitted.values())
        return {"levels": len(levels), "ledger_rows": session.scalar(select(func.count()).select_from(StockMovement))}


@pytest.fixture
def no_audit_lock(monkeypatch):
    """Take the audit chain out of stock writes, so that only the row guards stand between
    concurrent writers (the chain's head lock otherwise serialises them)."""

    class _NoChain:
        @staticmethod
        def append(session, **kwargs):
            return None

        @staticmethod
        def next_seq(session, actor_id=None):
            return None

    monkeypatch.setattr(ledger, "audit_log", _NoChain)


def test_forty_jobs_race_for_ten_valves_exactly_ten_reserve_and_ten_fit(tmp_path_factory, base_settings):
    engine, factory, jobs = _world("stock_oversell", tmp_path_factory, base_settings, jobs=40)
    try:
        for van in (VAN1, VAN2):
            _count(factory, van, VALVE, 5)
        _count(factory, "HZ01", VALVE, 0)
        with factory() as session:  # expected parts set while nobody reserves (rows only)
            part = resolve_part(session, part_sku=VALVE)
            part_id = part.id
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()

        def plan(index: int) -> None:
            job_parts.set_expected_parts(UnitOfWork(factory), SYSTEM, jobs[index],
                                         [ExpectedLine(quantity=1, part_id=part_id)])

        assert _run(40, plan) == []
        with factory() as session:
            active = session.scalar(select(func.count()).select_from(StockReservation)
                                    .where(StockReservation.status == ReservationStatus.ACTIVE))
            reserved = session.scalar(select(func.sum(StockLevel.reserved)).where(StockLevel.part_id == part_id))
        assert (active, reserved) == (10, 10)

        def fit(index: int) -> None:
            try:
                job_parts.consume_parts(UnitOfWork(factory), SYSTEM, jobs[index],
                                        [ConsumptionLine(quantity=1, part_id=part_id)])
                result = "fitted"
            except InsufficientStock:
                result = "409"
            with lock:
                outcomes[result] += 1

        assert _run(40, fit) == []
        assert outcomes == {"fitted": 10, "409": 30}
        with factory() as session:
            for van in (VAN1, VAN2):
                level = session.scalar(select(StockLevel).where(StockLevel.location.has(code=van),
                                                                StockLevel.part_id == part_id))
                assert (level.on_hand, level.reserved) == (0, 0)
        _assert_ledger_invariants(factory)
    finally:
        engine.dispose()


def _random_ops(factory, jobs: list[uuid.UUID], threads: int, ops_per_thread: int) -> Counter[str]:
    with factory() as session:
        parts = {sku: resolve_part(session, part_sku=sku).id for sku in (VALVE, PP)}
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    places = ["HQ", "HZ01", VAN1, VAN2]

    def work(index: int) -> None:
        rng = random.Random(index)
        mine = jobs[index::threads]
        for _ in range(ops_per_thread):
            sku = rng.choice([VALVE, PP])
            qty = rng.randint(1, 3)
            job = rng.choice(mine)
            op = rng.choice(["receive", "hq_to_point", "point_to_van", "adjust", "defective", "plan", "reserve",
                             "fit", "fit_again", "release"])
            try:
                uow = UnitOfWork(factory)
                if op == "receive":
                    movements.receive(uow, SYSTEM, lines=[PartRef(qty, part_sku=sku)])
                elif op in ("hq_to_point", "point_to_van"):
                    source, target = ("HQ", "HZ01") if op == "hq_to_point" else ("HZ01", rng.choice([VAN1, VAN2]))
                    transfer = movements.dispatch_transfer(uow, SYSTEM, from_location=source, to_location=target,
                                                           lines=[PartRef(qty, part_sku=sku)])
                    movements.confirm_receipt(UnitOfWork(factory), SYSTEM, transfer.id)
                elif op == "adjust":
                    movements.adjust(uow, SYSTEM, location=rng.choice(places), part_sku=sku,
                                     delta=rng.choice([-2, -1, 1, 2]), reason="race test")
                elif op == "defective":
                    movements.return_defective(uow, SYSTEM, location=rng.choice(places), part_sku=sku,
                                               quantity=1, reason="race test")
                elif op == "plan":
                    job_parts.set_expected_parts(uow, SYSTEM, job, [ExpectedLine(qty, part_id=parts[sku])])
                elif op == "reserve":
                    job_parts.reserve_missing(uow, SYSTEM, job)
                elif op in ("fit", "fit_again"):
                    line = ConsumptionLine(1, part_id=parts[sku], id=uuid.UUID(int=index * 10_000 + rng.randint(0, 30))
                                           if op == "fit_again" else None)
                    job_parts.consume_parts(uow, SYSTEM, job, [line])
                else:
                    with uow:
                        job_parts.release_all(uow.session, SYSTEM, uow.session.get(Job, job), "race test")
                        uow.commit()
                result = op
            except InsufficientStock:
                result = "409 insufficient"
            except Conflict:
                result = "409 conflict"  # a replayed line id with other content
            with lock:
                outcomes[result] += 1

    errors = _run(threads, work)
    assert errors == [], errors[:3]
    return outcomes


@pytest.mark.parametrize("audit_lock", [True, False], ids=["with-audit-chain", "row-guards-only"])
def test_random_concurrent_movements_never_break_the_ledger(tmp_path_factory, base_settings, request, audit_lock):
    engine, factory, jobs = _world(f"stock_mixed_{int(audit_lock)}", tmp_path_factory, base_settings, jobs=24)
    try:
        for place in ("HQ", "HZ01", VAN1, VAN2):
            for sku in (VALVE, PP):
                _count(factory, place, sku, 6)
        if not audit_lock:
            request.getfixturevalue("no_audit_lock")
        outcomes = _random_ops(factory, jobs, threads=8, ops_per_thread=40)
        assert sum(outcomes.values()) == 8 * 40
        assert outcomes["409 insufficient"] > 0, "the race must actually hit empty stock"
        figures = _assert_ledger_invariants(factory)
        print(f"\n[{request.node.callspec.id}] outcomes {dict(outcomes)}; {figures}")
    finally:
        engine.dispose()


def test_a_consumption_replayed_concurrently_is_applied_once(tmp_path_factory, base_settings):
    engine, factory, jobs = _world("stock_replay", tmp_path_factory, base_settings, jobs=1)
    try:
        _count(factory, VAN1, PP, 5)
        line_id = uuid.uuid4()
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()

        def replay(index: int) -> None:
            try:
                job_parts.consume_parts(UnitOfWork(factory), SYSTEM, jobs[0],
                                        [ConsumptionLine(2, part_sku=PP, id=line_id)])
                result = "ok"
            except Conflict:
                result = "409"
            with lock:
                outcomes[result] += 1

        assert _run(6, replay) == []
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(PartUsage)) == 1
            assert session.scalar(select(func.count()).select_from(StockMovement)
                                  .where(StockMovement.kind == MovementKind.CONSUME)) == 1
            van = session.scalar(select(StockLevel.on_hand).where(StockLevel.location.has(code=VAN1),
                                                                  StockLevel.part.has(sku=PP)))
        assert van == 3 and outcomes["ok"] == 6
        _assert_ledger_invariants(factory)
    finally:
        engine.dispose()


def test_the_check_constraints_refuse_negative_stock_even_from_raw_sql(tmp_path_factory, base_settings):
    engine, factory, _ = _world("stock_checks", tmp_path_factory, base_settings, jobs=0)
    try:
        with engine.connect() as connection:
            for statement in ("UPDATE stock_levels SET on_hand = -1",
                              "UPDATE stock_levels SET reserved = on_hand + 1",
                              "UPDATE stock_levels SET in_transit = -1"):
                with pytest.raises(Exception) as refused, connection.begin():
                    connection.execute(text(statement))
                assert "check constraint" in str(refused.value).lower()
        with factory() as session:
            assert locations.hq_location(session).code == "HQ"
    finally:
        engine.dispose()


def test_concurrent_counts_of_the_same_level_one_wins_the_others_are_told_to_recount(tmp_path_factory,
                                                                                        base_settings):
    engine, factory, _ = _world("stock_recount", tmp_path_factory, base_settings, jobs=0)
    try:
        _count(factory, "HZ01", VALVE, 5)
        with factory() as session:
            version = session.scalar(select(StockLevel.version).where(StockLevel.location.has(code="HZ01"),
                                                                      StockLevel.part.has(sku=VALVE)))
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()

        def recount(index: int) -> None:
            try:
                movements.adjust(UnitOfWork(factory), SYSTEM, location="HZ01", part_sku=VALVE, counted=10 + index,
                                 reason=f"count by clerk {index}", expected_version=version)
                result = "applied"
            except PreconditionFailed:
                result = "412"
            with lock:
                outcomes[result] += 1

        assert _run(6, recount) == []
        assert outcomes == {"applied": 1, "412": 5}
        _assert_ledger_invariants(factory)
    finally:
        engine.dispose()


@pytest.mark.parametrize("audit_lock", [True, False], ids=["with-audit-chain", "row-guards-only"])
def test_multi_part_transfers_in_opposite_orders_do_not_deadlock(tmp_path_factory, base_settings, request,
                                                                 audit_lock):
    engine, factory, _ = _world(f"stock_order_{int(audit_lock)}", tmp_path_factory, base_settings, jobs=0)
    try:
        for sku in (VALVE, PP):
            _count(factory, "HZ01", sku, 80)
        if not audit_lock:
            request.getfixturevalue("no_audit_lock")  # levels are then locked in sorted order only
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()

        def ship(index: int) -> None:
            lines = [PartRef(1, part_sku=VALVE), PartRef(1, part_sku=PP)]
            for _ in range(10):
                transfer = movements.dispatch_transfer(
                    UnitOfWork(factory), SYSTEM, from_location="HZ01", to_location=[VAN1, VAN2][index % 2],
                    lines=lines if index % 2 else lines[::-1])
                movements.confirm_receipt(UnitOfWork(factory), SYSTEM, transfer.id)
                with lock:
                    outcomes["shipped"] += 1

        assert _run(8, ship) == []  # a deadlock would surface here as an OperationalError
        assert outcomes["shipped"] == 80
        with factory() as session:
            left = dict(session.execute(select(StockLevel.part_id, StockLevel.on_hand)
                                        .where(StockLevel.location.has(code="HZ01"))).all())
            assert sorted(left[resolve_part(session, part_sku=sku).id] for sku in (VALVE, PP)) == [0, 0]
        _assert_ledger_invariants(factory)
    finally:
        engine.dispose()
