"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every value can be overridden by the environment (GUNICORN_CMD_ARGS or the variables below).
"""

import multiprocessing
import os

bind = [os.environ.get("DISPATCH_BIND", "0.0.0.0:8000")]
if os.environ.get("DISPATCH_METRICS_PORT"):
    # A second listener for Prometheus: the app serves /metrics only on it (and nothing else
    # there), see dispatch/api/observability.py. Do not publish this port.
    bind.append(f"{os.environ.get('DISPATCH_METRICS_HOST', '0.0.0.0')}:{os.environ['DISPATCH_METRICS_PORT']}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("DISPATCH_THREADS", 4))
worker_class = "gthread"
timeout = int(os.environ.get("DISPATCH_WORKER_TIMEOUT_S", 60))
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # recycle workers now and then (bounded memory growth)
max_requests_jitter = 500
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = None  # the app writes its own JSON access log with the request id
errorlog = "-"
loglevel = os.environ.get("DISPATCH_LOG_LEVEL", "info").lower()
preload_app = False  # engines and pools are built per worker, never shared across fork
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
