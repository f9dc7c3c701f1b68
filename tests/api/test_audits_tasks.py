"""The nightly audit cycle as the rq cron entry runs it: one service call, idempotent."""

from __future__ import annotations

from datetime import timedelta

from dispatch import clock
from dispatch import runtime as task_runtime
from tests.api.audit_builders import WEEK, AuditWorld, local
from workers import audit_tasks


def test_the_nightly_task_draws_due_samples_once(api, session_factory, uow_factory, settings):
    world = AuditWorld(api, session_factory)
    for i in range(3):
        world.checklist("NB01", completed_at=local(i, 14))
    runtime = task_runtime.TaskRuntime(settings=settings, uow_factory=uow_factory)
    with task_runtime.use(runtime), clock.frozen(WEEK.freezes_at + timedelta(minutes=30)):
        first = audit_tasks.draw_audit_samples()
        second = audit_tasks.draw_audit_samples()
    assert first["lots_frozen"] >= 1 and first["statistical"] >= 3
    assert set(second.values()) == {0}
    lot = world.lot("NB01")
    assert (lot["lot"]["status"], lot["counts"]["statistical"], lot["hundred_percent"]) == ("frozen", 3, True)


def test_the_task_is_registered_with_rq_cron_nightly():
    import workers.cron  # noqa: F401  (registers on import)
    from rq.cron import _job_data_registry

    (entry,) = [j for j in _job_data_registry if j["name"] == "draw-audit-samples"]
    assert entry["func"] is audit_tasks.draw_audit_samples
    assert entry["cron"] == "30 0 * * *" and entry["queue_name"] == "cron"
