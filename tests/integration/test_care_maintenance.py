"""Maintenance plans on the database: plan creation, idempotent job generation, roll-forward."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from dispatch.care import maintenance
from dispatch.care.models import MaintenanceOccurrence, MaintenancePlan, Notification
from dispatch.care.templates import Template
from dispatch.clock import utcnow
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Activation, Customer, JobType, Product, Unit
from tests.dates import SUITE_TODAY
from tests.integration.care_support import TZ, care_hooks_only, drive, local, next_weekday  # noqa: F401

TODAY = SUITE_TODAY


def _plan(session, *, due_in_days: int) -> MaintenancePlan:
    """A demo unit's plan, made due ``due_in_days`` from today, with no job for that date yet."""
    plan = session.scalars(
        select(MaintenancePlan).join(Unit, Unit.id == MaintenancePlan.unit_id)
        .outerjoin(MaintenanceOccurrence, MaintenanceOccurrence.plan_id == MaintenancePlan.id)
        .where(MaintenancePlan.active.is_(True), MaintenanceOccurrence.id.is_(None), Unit.customer_id.is_not(None))
        .order_by(Unit.serial).options(selectinload(MaintenancePlan.unit))
    ).first()
    plan.next_due_on = TODAY + timedelta(days=due_in_days)
    session.commit()
    return plan


def _generate(uow_factory, lead_days: int = 14, today: date = TODAY):
    return maintenance.generate_due_jobs(uow_factory, today=today, lead_days=lead_days, radius_km=30, tz=TZ)


def _jobs_for(session, unit_id) -> list[Job]:
    return session.scalars(select(Job).where(Job.unit_id == unit_id, Job.type == JobType.MAINTENANCE,
                                             Job.reported_at >= utcnow() - timedelta(minutes=5))).all()


class TestGeneration:
    def test_running_the_generation_twice_creates_one_job_per_due_date(self, session, uow_factory):
        plan = _plan(session, due_in_days=10)
        first = _generate(uow_factory)
        second = _generate(uow_factory)
        jobs = _jobs_for(session, plan.unit_id)
        assert len(jobs) == 1
        assert jobs[0].reference in first.created and second.created == []
        occurrences = session.scalars(select(MaintenanceOccurrence).where(MaintenanceOccurrence.plan_id == plan.id)).all()
        assert [(o.due_on, o.job_id) for o in occurrences] == [(plan.next_due_on, jobs[0].id)]

    def test_a_due_date_claimed_already_is_skipped_even_when_asked_again(self, session, uow_factory):
        plan = _plan(session, due_in_days=3)
        with uow_factory() as uow:
            created = maintenance._create_one(uow.session, plan.id, plan.next_due_on, radius_km=30, tz=TZ)
        with uow_factory() as uow:  # a second run that read the plan before the first committed
            again = maintenance._create_one(uow.session, plan.id, plan.next_due_on, radius_km=30, tz=TZ)
        assert created is not None and again is None
        assert len(_jobs_for(session, plan.unit_id)) == 1

    def test_the_job_is_created_lead_days_before_it_falls_due_on_the_due_day(self, session, uow_factory):
        plan = _plan(session, due_in_days=20)
        _generate(uow_factory, lead_days=14)
        assert _jobs_for(session, plan.unit_id) == []
        _generate(uow_factory, lead_days=20)
        (job,) = _jobs_for(session, plan.unit_id)
        assert job.status == JobStatus.DISPATCHED and job.service_point_id is not None
        assert job.window_start == local(plan.next_due_on, 9) and job.window_end == local(plan.next_due_on, 18)
        assert plan.next_due_on.isoformat() in job.description

    def test_a_reminder_is_queued_in_the_same_transaction_as_the_job(self, session, uow_factory):
        plan = _plan(session, due_in_days=5)
        _generate(uow_factory)
        (job,) = _jobs_for(session, plan.unit_id)
        customer = session.get(Customer, job.customer_id)
        messages = session.scalars(select(Notification).where(Notification.job_id == job.id,
                                                              Notification.template == Template.MAINTENANCE_DUE)).all()
        sms = [m for m in messages if m.channel.value == "sms"]
        assert len(sms) == 1 and sms[0].recipient == customer.phone
        assert sms[0].payload["due_on"] == plan.next_due_on.isoformat()
        assert sms[0].payload["reference"] == job.reference
        assert len(messages) == (2 if customer.email else 1)
        session.refresh(plan)
        assert plan.service_point_id == job.service_point_id

    def test_a_paused_plan_gets_no_job(self, session, uow_factory):
        plan = _plan(session, due_in_days=2)
        plan.active = False
        session.commit()
        _generate(uow_factory)
        assert _jobs_for(session, plan.unit_id) == []

    def test_a_plan_whose_customer_no_point_can_serve_is_reported_and_retried(self, session, uow_factory):
        plan = _plan(session, due_in_days=2)
        customer = session.get(Customer, plan.unit.customer_id)
        customer.lat, customer.lon = 45.75, 126.63  # Harbin: far from every point
        session.commit()
        report = _generate(uow_factory)
        assert str(plan.id) in report.failed and _jobs_for(session, plan.unit_id) == []
        assert session.scalar(select(func.count()).select_from(MaintenanceOccurrence)
                              .where(MaintenanceOccurrence.plan_id == plan.id)) == 0


@pytest.mark.usefixtures("care_hooks_only")
class TestRollForward:
    def test_completing_the_maintenance_job_moves_the_next_due_date(self, session, uow_factory):
        plan = _plan(session, due_in_days=7)
        _generate(uow_factory)
        (job,) = _jobs_for(session, plan.unit_id)
        drive(uow_factory, job.id, start=local(next_weekday(TODAY), 10))
        session.refresh(plan)
        done_on = utcnow().astimezone(TZ).date()
        assert plan.last_done_on == done_on
        assert plan.next_due_on == done_on + timedelta(days=plan.interval_days)

    def test_cancelling_the_plans_job_skips_that_cycle(self, session, uow_factory):
        from dispatch.auth.principal import SYSTEM
        from dispatch.jobs import service as jobs_service

        plan = _plan(session, due_in_days=7)
        due = plan.next_due_on
        _generate(uow_factory)
        (job,) = _jobs_for(session, plan.unit_id)
        jobs_service.transition_job(uow_factory(), SYSTEM, job.id, to=JobStatus.CANCELLED,
                                    reason="customer moved abroad for the winter")
        session.refresh(plan)
        assert plan.next_due_on == due + timedelta(days=plan.interval_days) and plan.last_done_on is None


class TestPlans:
    def test_an_activated_unit_gets_a_plan_counted_from_its_purchase(self, session, uow_factory):
        product = session.scalar(select(Product).where(Product.sku == "WP-UF300"))  # every 365 days
        customer = session.scalars(select(Customer).order_by(Customer.phone)).first()
        now = utcnow()
        unit = Unit(serial="UF20269999901", product_id=product.id, manufactured_on=date(2026, 1, 5),
                    customer_id=customer.id, purchased_on=TODAY - timedelta(days=20), sales_channel="retail",
                    activated_at=now)
        session.add(unit)
        session.flush()
        session.add(Activation(unit_id=unit.id, customer_id=customer.id, purchased_on=unit.purchased_on,
                               sales_channel="retail", activated_at=now))
        session.commit()
        outcome = maintenance.sync_plans(uow_factory(), today=TODAY, tz=TZ)
        assert outcome["created"] == 1
        plan = session.scalar(select(MaintenancePlan).where(MaintenancePlan.unit_id == unit.id))
        assert plan.interval_days == 365 and plan.next_due_on == TODAY + timedelta(days=345)
        assert maintenance.sync_plans(uow_factory(), today=TODAY, tz=TZ)["created"] == 0

    def test_a_plan_pauses_when_its_unit_is_no_longer_bound_to_a_customer(self, session, uow_factory):
        plan = _plan(session, due_in_days=30)
        plan.unit.customer_id = None
        session.commit()
        assert maintenance.sync_plans(uow_factory(), today=TODAY, tz=TZ)["paused"] == 1
        session.refresh(plan)
        assert plan.active is False
