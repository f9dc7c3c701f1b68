"""Request ids, access logs and Prometheus metrics.

Every request gets an id (the caller's ``X-Request-ID`` when it is sane, else a new one); it is
on every log line written while serving the request and in the response header.
``GET /metrics`` exposes request counts and latencies by endpoint, queue depths, and whatever
the domains register (route-plan durations), as Prometheus' text exposition format 0.0.4.

Where the metrics are served: with ``DISPATCH_METRICS_PORT`` set (the container sets 9100),
gunicorn also listens on that port (``gunicorn.conf.py``) and the app tells the listeners apart
by the WSGI ``SERVER_PORT``, which gunicorn takes from the listening socket (never from a request
header): ``/metrics`` answers only there, and that listener answers nothing else. Publish only
the API port; Prometheus scrapes the metrics port on the internal network. Without the setting
(a laptop, the tests) ``/metrics`` is on the one port there is.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from werkzeug.exceptions import NotFound

from dispatch.logs import request_id_var
from dispatch.metrics import DOMAIN_REGISTRY

log = logging.getLogger("dispatch.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("dispatch_http_requests_total", "HTTP requests", ["method", "endpoint", "status"],
                                registry=self.registry)
        self.latency = Histogram("dispatch_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "endpoint"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.queue_depth = Gauge("dispatch_queue_depth", "Tasks waiting per queue", ["queue"], registry=self.registry)


def _on_metrics_listener(port: int | None) -> bool:
    return port is not None and request.environ.get("SERVER_PORT") == str(port)


def init_app(app: Flask) -> None:
    metrics = Metrics()
    app.extensions["dispatch"].metrics = metrics
    metrics_port = app.extensions["dispatch"].settings.metrics_port

    @app.before_request
    def keep_metrics_internal() -> None:
        """The metrics listener serves /metrics only; the public one everything but /metrics."""
        if metrics_port is None:
            return
        if (request.endpoint == "prometheus_metrics") != _on_metrics_listener(metrics_port):
            raise NotFound()

    @app.before_request
    def start_request() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        g.request_token = request_id_var.set(g.request_id)
        g.started = time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        started = g.get("started")
        if started is not None:
            elapsed = time.perf_counter() - started
            endpoint = request.endpoint or "unmatched"
            metrics.requests.labels(request.method, endpoint, str(response.status_code)).inc()
            metrics.latency.labels(request.method, endpoint).observe(elapsed)
            principal = g.get("principal")
            log.info("%s %s %s", request.method, request.path, response.status_code,
                     extra={"request_id": request_id, "method": request.method, "path": request.path, "status": response.status_code,
                            "duration_ms": round(elapsed * 1000, 2),
                            "user_id": str(principal.user_id) if principal else None})
        return response

    @app.teardown_request
    def reset_request_id(_exc: BaseException | None = None) -> None:
        token = g.pop("request_token", None)
        if token is not None:
            request_id_var.reset(token)

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        depths = getattr(current_app.extensions["dispatch"].task_queue, "depths", None)
        if depths is not None:
            for name, depth in depths().items():
                metrics.queue_depth.labels(name).set(depth)
        body = generate_latest(metrics.registry) + generate_latest(DOMAIN_REGISTRY)
        # content_type, not mimetype: Flask would add "; charset=utf-8" a second time.
        return Response(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
