"""The audit append writes seals of rows it just inserted without reading them back: what it
hashes from the objects must be exactly what the database holds (what verification recomputes),
and anything that may not round-trip unchanged is read back instead."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from dispatch.audit_log import verification
from dispatch.audit_log.models import RowSeal
from dispatch.audit_log.seals import content_as_written, covered, read_contents
from dispatch.auth.principal import SYSTEM
from dispatch.clock import utcnow
from dispatch.stock import job_parts, movements
from dispatch.stock.job_parts import ConsumptionLine
from dispatch.stock.models import MovementKind, PartUsage, StockMovement
from dispatch.stock.movements import PartRef
from tests.integration.test_stock_ledger import (
    VALVE,
    VAN,
    _job_on_site,
    _ro500,
    _stock_van,
)


def _stored(session, table: str, ids: list) -> dict[str, str]:
    return dict(session.execute(select(RowSeal.row_id, RowSeal.row_hash).where(
        RowSeal.table_name == table, RowSeal.row_id.in_([str(i) for i in ids]))).all())


def test_seals_of_new_ledger_rows_match_the_rows_as_stored_and_the_log_verifies(session, uow_factory):
    _stock_van(uow_factory, quantity=4)
    transfer = movements.dispatch_transfer(uow_factory(), SYSTEM, from_location="HQ", to_location="HZ01",
                                           lines=[PartRef(2, part_sku=VALVE)], note="  spaces kept, 中文 too ")
    movements.confirm_receipt(uow_factory(), SYSTEM, transfer.id)
    movements.adjust(uow_factory(), SYSTEM, location=VAN, part_sku=VALVE, delta=-1, reason="dropped it")
    job = _job_on_site(session, unit=None, product=_ro500(session))
    session.commit()
    job_parts.consume_parts(uow_factory(), SYSTEM, job.id, [ConsumptionLine(1, part_sku=VALVE)])

    spec = covered()["stock_movements"]
    written = session.scalars(select(StockMovement).limit(1)).one()
    assert content_as_written(spec, written) is not None  # a ledger row is hashed as written, not read back
    rows = session.scalars(select(StockMovement.id).where(StockMovement.kind.in_(
        [MovementKind.TRANSFER, MovementKind.TRANSFER_RECEIPT, MovementKind.ADJUST, MovementKind.CONSUME]))).all()
    assert len(rows) >= 5
    as_stored = {str(pk): content.row_hash for pk, content in read_contents(session, spec, rows).items()}
    assert _stored(session, "stock_movements", rows) == as_stored
    usages = session.scalars(select(PartUsage.id).where(PartUsage.job_id == job.id)).all()
    usage_hashes = {str(pk): c.row_hash for pk, c in read_contents(session, covered()["part_usages"], usages).items()}
    assert usages and _stored(session, "part_usages", usages) == usage_hashes
    assert session.scalars(select(RowSeal.row_version).where(RowSeal.row_id.in_(list(as_stored)))).all() \
        == [1] * len(as_stored)
    result = verification.verify(session)
    assert result.ok, (result.problem, result.differences[:3])


def test_values_that_may_not_round_trip_are_read_back(session):
    spec = covered()["part_usages"]
    base = {"id": uuid.uuid4(), "job_id": uuid.uuid4(), "part_id": uuid.uuid4(), "quantity": 1,
            "location_id": uuid.uuid4(), "list_price": Decimal("12.50"), "currency": "CNY", "from_reservation": 0,
            "operation_id": uuid.uuid4(), "actor_id": None, "at": utcnow(), "recorded_at": None}
    assert content_as_written(spec, PartUsage(**base)) is not None
    for unsafe in ({"list_price": Decimal("12.505")},  # the column keeps two places: stored rounded
                   {"list_price": 12},  # an int in a numeric column comes back as Decimal("12.00")
                   {"list_price": 12.5},  # a float
                   {"quantity": True},  # a bool in an integer column comes back as 1
                   {"at": datetime(2027, 1, 1, 8, 0)}):  # naive
        assert content_as_written(spec, PartUsage(**(base | unsafe))) is None, unsafe
    missing = PartUsage(**{k: v for k, v in base.items() if k != "currency"})  # a default the database fills
    assert content_as_written(spec, missing) is None
