"""Stock services on the database: the ledger adds up, claims are checked automatically, a
failed consumption leaves the caller's transaction usable, vans appear on first use."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dispatch.auth.models import Role, User
from dispatch.auth.principal import SYSTEM, Principal
from dispatch.errors import InsufficientStock
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import JobType, Product, ServicePoint, Technician, Unit
from dispatch.stock import job_parts, locations, movements
from dispatch.stock.job_parts import ConsumptionLine
from dispatch.stock.models import ClaimStatus, PartUsage, StockLevel, StockMovement, WarrantyClaim
from dispatch.stock.rules import ClaimRejection
from dispatch.uow import UnitOfWork
from tests.dates import SUITE_TODAY

VALVE = "VLV-SOL-IN"
VAN = "VAN-tech.hz01.1"


def _technician(session, username="tech.hz01.1") -> Technician:
    return session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                          .where(User.username == username))


def _job_on_site(session, *, unit: Unit | None, product: Product, parts_covered=True) -> Job:
    technician = _technician(session)
    reported = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
    customer_id = unit.customer_id if unit is not None and unit.customer_id is not None else session.scalars(
        select(Unit.customer_id).where(Unit.customer_id.is_not(None))).first()
    job = Job(reference=f"T-{uuid.uuid4().hex[:12]}", type=JobType.REPAIR, status=JobStatus.ON_SITE,
              customer_id=customer_id,
              unit_id=unit.id if unit else None, product_id=product.id,
              service_point_id=technician.service_point_id, technician_id=technician.id, reported_at=reported,
              parts_covered=parts_covered, labour_covered=parts_covered)
    session.add(job)
    session.flush()
    return job


def _stock_van(uow_factory, quantity=3) -> None:
    movements.adjust(uow_factory(), SYSTEM, location=VAN, part_sku=VALVE, delta=quantity, reason="test stock")


def _ro500(session) -> Product:
    return session.scalar(select(Product).where(Product.sku == "WP-RO500"))


def test_every_level_equals_the_sum_of_its_ledger_rows_demo_data_included(session, uow_factory):
    _stock_van(uow_factory)
    movements.return_defective(uow_factory(), SYSTEM, location=VAN, part_sku=VALVE, quantity=1, reason="DOA")
    sums = {(r.location_id, r.part_id): r[2:] for r in session.execute(
        select(StockMovement.location_id, StockMovement.part_id, func.sum(StockMovement.delta_on_hand),
               func.sum(StockMovement.delta_reserved), func.sum(StockMovement.delta_in_transit),
               func.sum(StockMovement.delta_defective))
        .group_by(StockMovement.location_id, StockMovement.part_id))}
    levels = session.scalars(select(StockLevel).execution_options(populate_existing=True)).all()
    assert len(levels) > 400
    for level in levels:
        assert (level.on_hand, level.reserved, level.in_transit, level.defective) == \
            tuple(sums.get((level.location_id, level.part_id), (0, 0, 0, 0))), level.location_id


class TestClaimRejections:
    def _claim(self, session, uow_factory, job) -> WarrantyClaim:
        _stock_van(uow_factory)
        [usage] = job_parts.record_consumption(session, SYSTEM, job, [ConsumptionLine(1, part_sku=VALVE)],
                                               tz="Asia/Shanghai")
        return session.scalar(select(WarrantyClaim).where(WarrantyClaim.usage_id == usage.id))

    def test_a_job_without_a_unit_cannot_be_claimed(self, session, uow_factory):
        claim = self._claim(session, uow_factory, _job_on_site(session, unit=None, product=_ro500(session)))
        assert (claim.status, claim.rejection_code) == (ClaimStatus.REJECTED, ClaimRejection.NO_UNIT)

    def test_a_unit_never_activated_is_rejected(self, session, uow_factory):
        unit = session.scalar(select(Unit).join(Product).where(Unit.activated_at.is_(None),
                                                               Product.sku == "WP-RO500").limit(1))
        claim = self._claim(session, uow_factory, _job_on_site(session, unit=unit, product=unit.product))
        assert (claim.status, claim.rejection_code) == (ClaimStatus.REJECTED, ClaimRejection.NOT_ACTIVATED)
        assert claim.decided_at is not None and claim.decided_by is None

    def test_a_unit_out_of_warranty_on_the_job_date_is_rejected(self, session, uow_factory):
        unit = session.scalar(select(Unit).join(Product).where(Unit.activated_at.is_not(None),
                                                               Product.sku == "WP-RO500").limit(1))
        unit.purchased_on = date(2024, 2, 29)  # 24 months: warranty ended 2026-02-28
        claim = self._claim(session, uow_factory, _job_on_site(session, unit=unit, product=unit.product))
        assert (claim.status, claim.rejection_code) == (ClaimStatus.REJECTED, ClaimRejection.OUT_OF_WARRANTY)
        assert "2026-02-28" in claim.rejection_detail

    def test_the_job_date_is_the_local_report_date(self, session, uow_factory):
        unit = session.scalar(select(Unit).join(Product).where(Unit.activated_at.is_not(None),
                                                               Product.sku == "WP-RO500").limit(1))
        unit.purchased_on = date(2025, 3, 2)  # warranty until 2027-03-01, the job's local date (09:00 +08)
        claim = self._claim(session, uow_factory, _job_on_site(session, unit=unit, product=unit.product))
        assert (claim.status, claim.rejection_code, claim.amount) == (ClaimStatus.SUBMITTED, None, 68)


def test_a_refused_consumption_leaves_the_callers_transaction_usable(session, uow_factory):
    job = _job_on_site(session, unit=None, product=_ro500(session), parts_covered=False)
    van_before = session.scalar(select(StockLevel.on_hand).where(StockLevel.location.has(code=VAN),
                                                                 StockLevel.part.has(sku=VALVE))) or 0
    with pytest.raises(InsufficientStock):
        job_parts.record_consumption(session, SYSTEM, job, [ConsumptionLine(van_before + 1, part_sku=VALVE)])
    assert session.scalar(select(func.count()).select_from(PartUsage).where(PartUsage.job_id == job.id)) == 0
    job.description = "the caller carries on with its own work"
    session.flush()
    assert session.get(Job, job.id).description.startswith("the caller")


def test_a_new_technicians_van_is_created_on_first_use_once(session, uow_factory):
    point = session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ02"))
    user = User(username="tech.hz02.new", password_hash="x", role=Role.TECHNICIAN, service_point_id=point.id)
    session.add(user)
    session.flush()
    technician = Technician(user_id=user.id, service_point_id=point.id, name="New Hire",
                            hired_on=SUITE_TODAY - timedelta(days=1))
    session.add(technician)
    session.flush()
    van = locations.van_location(session, technician.id)
    assert (van.code, van.kind.value, van.service_point_id) == ("VAN-tech.hz02.new", "van", point.id)
    assert locations.van_location(session, technician.id).id == van.id
    manager = session.scalar(select(User).where(User.username == "manager.hz02"))
    principal = Principal(user_id=manager.id, username=manager.username, role=Role.MANAGER,
                          service_point_id=point.id)
    listed = movements.list_locations(UnitOfWork(session=session), principal)
    assert "VAN-tech.hz02.new" in {loc.code for loc in listed}
