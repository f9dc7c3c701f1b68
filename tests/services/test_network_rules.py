"""Network rules at the service level: who sees a customer unmasked, and what may be deleted.
(Moved from tests/api where they went through HTTP on the demo data; the routes keep their own
HTTP tests.)"""

from __future__ import annotations

import pytest

from dispatch.auth.models import Role
from dispatch.errors import Conflict, ValidationFailed
from dispatch.network import catalogue, customers, regions
from dispatch.network.models import Product, Region


def test_a_point_with_a_job_for_the_customer_sees_them_unmasked(make, uow):
    home, other, third = make.point(), make.point(), make.point()
    customer = make.customer(service_point_id=home.id)
    manager = make.actor(Role.MANAGER, other)
    assert customers.get_customer(uow(), manager, customer.id).masked is True
    make.job(customer=customer, product=make.product(), service_point_id=other.id)
    seen = customers.get_customer(uow(), manager, customer.id)
    assert seen.masked is False and seen.phone == customer.phone
    listed, total = customers.list_customers(uow(), make.actor(Role.TECHNICIAN, other), offset=0, limit=10,
                                             phone=customer.phone)
    assert total == 1 and [c.masked for c in listed] == [False]
    assert customers.get_customer(uow(), make.actor(Role.MANAGER, third), customer.id).masked is True


def test_a_region_a_job_names_cannot_be_deleted_and_an_unused_one_can(make, uow):
    admin = make.actor(Role.ADMIN)
    used, unused = make.region(), make.region()
    make.job(customer=make.customer(), product=make.product(), region_id=used.id)
    with pytest.raises(Conflict):  # the jobs' foreign key refuses it; the unit of work says 409
        regions.delete_region(uow(), admin, used.id)
    regions.delete_region(uow(), admin, unused.id)
    with uow() as work:
        assert work.session.get(Region, used.id) is not None and work.session.get(Region, unused.id) is None


def test_a_product_a_job_names_cannot_be_deleted_and_an_unused_one_can(make, uow):
    admin = make.actor(Role.ADMIN)
    used, unused = make.product(), make.product()
    make.job(customer=make.customer(), product=used)
    with pytest.raises(Conflict):
        catalogue.delete_product(uow(), admin, used.id)
    catalogue.delete_product(uow(), admin, unused.id)
    with uow() as work:
        assert work.session.get(Product, used.id) is not None and work.session.get(Product, unused.id) is None


def test_hq_asks_for_maintenance_jobs_once_a_day_per_lead_time(make, uow, tasks):
    from dispatch.care import maintenance

    admin = make.actor(Role.ADMIN)
    first = maintenance.request_generation(uow(), admin, tasks, tz="Asia/Shanghai", lead_days=14)
    maintenance.request_generation(uow(), admin, tasks, tz="Asia/Shanghai", lead_days=14)
    maintenance.request_generation(uow(), admin, tasks, tz="Asia/Shanghai", lead_days=7)
    assert [(e["task"], e["args"], e["task_id"]) for e in tasks.enqueued] == [
        (maintenance.GENERATE_TASK, (14,), first["task_id"]),
        (maintenance.GENERATE_TASK, (7,), first["task_id"].replace("-14", "-7"))]
    with pytest.raises(ValidationFailed):
        maintenance.request_generation(uow(), admin, tasks, tz="Asia/Shanghai", lead_days=-1)
