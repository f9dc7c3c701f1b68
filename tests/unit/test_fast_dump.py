"""FastDumpSchema dumps exactly what marshmallow's own Schema dumps: same fields, same keys, same
defaults, same skipped attributes; only the lookup is shorter (issue 18)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from marshmallow import Schema, fields

from dispatch.api.schemas.common import FastDumpSchema
from dispatch.api.schemas.jobs import JobSchema
from dispatch.jobs.enums import DispatchReason, JobStatus, Priority
from dispatch.network.enums import CustomerGrade, JobType, ProductCategory
from tests.dates import SUITE_NOW


class Inner(FastDumpSchema):
    name = fields.String()


class Sample(FastDumpSchema):
    id = fields.UUID()
    title = fields.String(data_key="heading")
    renamed = fields.Integer(attribute="count")
    dotted = fields.String(attribute="inner.name")
    absent = fields.String()
    defaulted = fields.String(dump_default="d")
    called = fields.Integer(dump_default=lambda: 7)
    when = fields.DateTime(allow_none=True)
    computed = fields.Function(lambda obj: obj.count * 2)
    method = fields.Method("twice")
    inner = fields.Nested(Inner)
    inners = fields.List(fields.Nested(Inner))
    excluded = fields.String(load_only=True)

    def twice(self, obj):
        return obj.count + obj.count


def _plain(schema: Schema, obj, many: bool = False):
    """What marshmallow itself dumps with the same schema instance."""
    return Schema._serialize(schema, obj, many=many)


def test_every_kind_of_field_dumps_as_marshmallow_dumps_it():
    objects = [
        SimpleNamespace(id=uuid.uuid4(), title="t", count=3, inner=SimpleNamespace(name="n"), when=SUITE_NOW,
                        inners=[SimpleNamespace(name="a"), SimpleNamespace(name="b")], excluded="x"),
        SimpleNamespace(id=uuid.uuid4(), title=None, count=0, inner=SimpleNamespace(name=None), when=None,
                        inners=[], defaulted="given", called=1, absent="here"),
    ]
    schema = Sample()
    for obj in objects:
        assert schema.dump(obj) == _plain(schema, obj)
    assert schema.dump(objects, many=True) == _plain(schema, objects, many=True)
    assert schema.dump(objects[0])["heading"] == "t" and "absent" not in schema.dump(objects[0])
    assert schema.dump(objects[0])["defaulted"] == "d" and schema.dump(objects[0])["called"] == 7
    # A mapping goes marshmallow's way (keys before attributes), with the same result.
    inner = Inner()
    assert inner.dump({"name": "n"}) == _plain(inner, {"name": "n"}) == {"name": "n"}


def test_a_job_dumps_as_marshmallow_dumps_it():
    job = SimpleNamespace(
        id=uuid.uuid4(), reference="J1", type=JobType.REPAIR, status=JobStatus.SCHEDULED, priority=Priority.NORMAL,
        customer=SimpleNamespace(id=uuid.uuid4(), name="C", phone="1", grade=CustomerGrade.STANDARD),
        unit=None, product=SimpleNamespace(sku="S", category=ProductCategory.WATER_PURIFIER),
        service_point_id=uuid.uuid4(), service_point=SimpleNamespace(code="P"), technician_id=None, technician=None,
        address="a", lat=31.2, lon=121.4, description="d", dispatch_reason=DispatchReason.POLYGON,
        region=SimpleNamespace(code="R"), out_of_area=False, dispatch_distance_km=1.5,
        reported_at=SUITE_NOW, window_start=None, window_end=None, scheduled_start=SUITE_NOW,
        scheduled_end=datetime(2030, 1, 1, tzinfo=UTC), duration_minutes=60, locked=False, sla_due_at=None,
        sla_target_hours=None, sla_status=None, arrived_at=None, completed_at=None, closed_at=None,
        cancelled_at=None, warranty_decision=None, labour_covered=None, parts_covered=None, warranty_until=None,
        version=1, created_at=SUITE_NOW, updated_at=SUITE_NOW)
    schema = JobSchema()
    assert schema.dump(job) == _plain(schema, job)
    assert schema.dump(job)["customer"]["grade"] == CustomerGrade.STANDARD.value
