"""Process-wide metrics the domains record (exposed by the API at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

# A registry of its own so that several apps in one process (tests) never collide.
DOMAIN_REGISTRY = CollectorRegistry()

PLAN_DURATION = Histogram(
    "dispatch_route_plan_duration_seconds",
    "Wall time of route-plan solves",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300),
    registry=DOMAIN_REGISTRY,
)
