"""Request ids, metrics and task monitoring."""

from __future__ import annotations

import logging

from dispatch.app import create_app
from dispatch.logs import JsonFormatter, RequestIdFilter
from tests.helpers import assert_problem


def test_every_response_carries_a_request_id_and_a_sane_incoming_one_is_kept(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    hostile = client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 200}).headers["X-Request-ID"]
    assert len(hostile) == 32


def test_log_lines_written_during_a_request_carry_its_id(client, caplog):
    caplog.set_level(logging.INFO, logger="dispatch.access")
    client.get("/healthz", headers={"X-Request-ID": "req-42"})
    record = next(r for r in caplog.records if r.name == "dispatch.access")
    RequestIdFilter().filter(record)
    line = JsonFormatter().format(record)
    assert '"request_id": "req-42"' in line and '"status": 200' in line and '"path": "/healthz"' in line


def test_metrics_count_requests_by_endpoint(client):
    client.get("/healthz")
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'dispatch_http_requests_total{endpoint="health.Healthz",method="GET",status="200"} 2.0' in body
    assert "dispatch_http_request_duration_seconds_bucket" in body
    assert 'dispatch_queue_depth{queue="default"} 0.0' in body
    assert "dispatch_route_plan_duration_seconds" in body


def test_failed_inline_tasks_are_visible_to_admins_only(app, api):
    app.extensions["dispatch"].task_queue.enqueue("dispatch.clock.no_such_task", task_id="t-1")
    failed = api.get("/api/v1/admin/tasks/failed", as_="admin")
    assert failed.status_code == 200
    assert failed.json[0]["id"] == "t-1" and "AttributeError" in failed.json[0]["error"]
    assert_problem(api.get("/api/v1/admin/tasks/failed", as_="manager.hz01"), 403)
    assert api.get("/api/v1/admin/tasks/queues", as_="admin").json == {
        "queues": {"default": 0, "routing": 0, "notifications": 0}}


PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def test_metrics_are_sent_with_exactly_the_prometheus_text_exposition_type(client):
    """Prometheus 3 refuses a Content-Type naming the charset twice."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == PROMETHEUS_TEXT
    assert response.headers.get_all("Content-Type") == [PROMETHEUS_TEXT]


def test_with_a_metrics_port_the_metrics_are_served_there_only(settings, session_factory):
    """gunicorn listens on the public port and on the internal metrics port; only requests that
    came in through the metrics listener (its port is the WSGI SERVER_PORT) see /metrics, and that
    listener serves nothing else."""
    client = create_app(settings.with_(metrics_port=9100), session_factory=session_factory).test_client()
    public = client.get("/metrics", base_url="http://api.example:8000")
    assert_problem(public, 404)
    internal = client.get("/metrics", base_url="http://10.0.0.5:9100")
    assert internal.status_code == 200 and internal.headers["Content-Type"] == PROMETHEUS_TEXT
    assert_problem(client.get("/api/v1/openapi.json", base_url="http://10.0.0.5:9100"), 404)
    assert client.get("/api/v1/openapi.json", base_url="http://api.example:8000").status_code == 200
