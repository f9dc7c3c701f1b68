"""Readiness checks of the process's dependencies."""

from __future__ import annotations

from sqlalchemy import text


def check_readiness(session_factory, task_queue) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ping = getattr(task_queue, "ping", None)
    if ping is not None:
        try:
            checks["redis"] = "ok" if ping() else "unreachable"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"unreachable: {type(exc).__name__}"
    return checks
