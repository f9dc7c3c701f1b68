"""An integrator's view of the contract (issue 24): a client generated with openapi-python-client from
the live OpenAPI document, without a warning, drives a short day through typed calls only
(login, intake, plan and poll, apply, the technician's pull and push). It never reads a raw
response: every step uses the generated ``sync()`` functions and models."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from dispatch import clock
from tests.dates import local
from tests.plan_builders import next_workday
from tests.scenarios.steps import caller_unit

GENERATOR = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
CONFIG = """\
post_hooks: []
content_type_overrides:
  image/svg+xml: application/octet-stream
  image/jpeg: application/octet-stream
  image/png: application/octet-stream
"""

pytestmark = pytest.mark.skipif(GENERATOR is None, reason="openapi-python-client is in the dev extras")


@pytest.fixture
def generated(app, tmp_path, monkeypatch):
    """Generate ``dispatch_client`` from the document the app serves; fail on any warning."""
    document = tmp_path / "openapi.json"
    document.write_bytes(app.test_client().get("/api/v1/openapi.json").data)
    (tmp_path / "config.yaml").write_text(CONFIG)
    run = subprocess.run([GENERATOR, "generate", "--path", str(document), "--meta", "none",
                          "--output-path", str(tmp_path / "dispatch_client"), "--config", str(tmp_path / "config.yaml")],
                         capture_output=True, text=True, timeout=240, cwd=tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "Warning" not in output and "WARNING" not in output, output
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [n for n in sys.modules if n == "dispatch_client" or n.startswith("dispatch_client.")]:
        del sys.modules[name]
    return lambda module: importlib.import_module(f"dispatch_client.{module}")


def test_a_generated_client_drives_a_managers_and_a_technicians_day(app, session, generated):
    client_module, models = generated("client"), generated("models")
    login, list_points = generated("api.auth.login"), generated("api.service_points.list_service_points")
    create_job, get_job = generated("api.jobs.create_job"), generated("api.jobs.get_job")
    request_plan, get_plan = generated("api.plans.request_plan"), generated("api.plans.get_plan")
    apply_plan, get_technician = generated("api.plans.apply_plan"), generated("api.technicians.get_technician")
    pull_changes, push_mutations = generated("api.sync.pull_changes"), generated("api.sync.push_mutations")
    transport = httpx.WSGITransport(app=app)

    def signed_in(username: str):
        anonymous = client_module.Client(base_url="http://dispatch.test", httpx_args={"transport": transport})
        tokens = login.sync(client=anonymous, body=models.TokenRequest(username=username, password="demo1234"))
        assert isinstance(tokens, models.TokenPair), tokens
        return client_module.AuthenticatedClient(base_url="http://dispatch.test", token=tokens.access_token,
                                                 httpx_args={"transport": transport})

    manager, call_centre = signed_in("manager.hz01"), signed_in("admin")
    points = list_points.sync(client=manager)
    assert [p.code for p in points] == ["HZ01"]
    point = points[0]

    # the call centre takes a repair in for the next working day
    day = next_workday()
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    job = create_job.sync(client=call_centre, body=models.JobCreate(
        type_=models.JobType.REPAIR, unit_serial=unit.serial, description="no water from the tap",
        window_start=local(day, 9), window_end=local(day, 17)))
    assert isinstance(job, models.JobDetail), job
    assert job.status == models.JobStatus.DISPATCHED and job.dispatch.service_point_code == "HZ01"

    # the manager plans the day and polls the plan (the task ran inline: no Redis in this test)
    requested = request_plan.sync(client=manager, point_id=point.id,
                                  body=models.RoutePlanCreate(date=day, time_limit_s=2))
    assert isinstance(requested, models.RoutePlanSummary), requested
    for _ in range(20):
        plan = get_plan.sync(client=manager, plan_id=requested.id)
        if plan.status in (models.PlanStatus.DONE, models.PlanStatus.FAILED):
            break
    assert plan.status == models.PlanStatus.DONE
    stops = {stop.job_id: route for route in plan.routes for stop in route.stops}
    assert job.id in stops, [u.to_dict() for u in plan.unassigned]
    applied = apply_plan.sync(client=manager, plan_id=plan.id)
    assert isinstance(applied, models.RoutePlan) and applied.applied_at is not None, applied
    scheduled = get_job.sync(client=manager, job_id=job.id)
    assert scheduled.status == models.JobStatus.SCHEDULED

    # the technician's phone pulls the job and, on the day, pushes "on the way" offline
    technician = get_technician.sync(client=manager, technician_id=stops[job.id].technician_id)
    phone, device = signed_in(technician.username), uuid.uuid4()
    page = pull_changes.sync(client=phone, device_id=device)
    assert isinstance(page, models.PullPage), page
    assert str(job.id) in {doc["id"] for doc in page.changes["jobs"]["upserted"]}
    start = datetime.fromisoformat(scheduled.scheduled_start.isoformat()) - timedelta(minutes=30)
    with clock.frozen(start):
        phone = signed_in(technician.username)
        result = push_mutations.sync(client=phone, body=models.Push(
            device_id=device, sent_at=start, mutations=[models.JobTransitionMutation(
                id=1, kind=models.JobTransitionMutationKind.JOB_TRANSITION, recorded_at=start - timedelta(minutes=5),
                payload=models.JobTransitionPayload(job_id=job.id, to=models.JobStatus.EN_ROUTE))]))
        assert isinstance(result, models.PushResult), result
        assert [(r.id, r.status) for r in result.results] == [(1, "applied")]
        manager = signed_in("manager.hz01")  # an access token lives 15 minutes
        assert get_job.sync(client=manager, job_id=job.id).status == models.JobStatus.EN_ROUTE
