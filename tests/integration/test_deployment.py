"""The container and compose files (Docker cannot run here, so their rules are read from the files):
the image takes in no history or local secrets and runs as an unprivileged user; nothing that
touches the database starts before the migration has completed; /metrics is never published."""

from __future__ import annotations

import fnmatch
import os
import runpy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DATABASE_USERS = ("api", "worker", "cron", "cron-worker")
API_PORT, METRICS_PORT = "8000", "9100"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _ignored(patterns: list[str], path: str) -> bool:
    """Docker's rule for one path: the last matching pattern wins (``!`` re-includes)."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.removeprefix("**/"))
               or fnmatch.fnmatch(p.rsplit("/", 1)[-1], pattern.removeprefix("**/")) for p in prefixes):
            ignored = not negate
    return ignored


def test_the_build_context_leaves_out_history_local_secrets_and_state():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in (".git", ".git/config", "instance/secret_key", "instance/dispatch.db", ".venv/bin/python",
                 "dispatch/__pycache__/app.cpython-311.pyc", ".env"):
        assert _ignored(patterns, path), f"{path} would be copied into the image"
    for path in ("dispatch/app.py", "migrations/env.py", "setup.cfg", "pyproject.toml", "README.md", "wsgi.py",
                 "gunicorn.conf.py", "workers/__main__.py", "seeds/__init__.py"):
        assert not _ignored(patterns, path), f"{path} is needed to build and run the image"


def test_the_container_runs_as_an_unprivileged_user():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [line.split(None, 1)[1] for line in lines if line.upper().startswith("USER ")]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    last_user = max(i for i, line in enumerate(lines) if line.upper().startswith("USER "))
    assert last_user < next(i for i, line in enumerate(lines) if line.upper().startswith("CMD "))


@pytest.mark.parametrize("service", DATABASE_USERS)
def test_nothing_that_uses_the_database_starts_before_the_migration_completed(compose, service):
    services = compose["services"]
    assert services["migrate"]["command"] == "dispatch db upgrade"
    depends_on = services[service]["depends_on"]
    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}, service


def test_only_the_api_port_is_published_and_metrics_stay_internal(compose):
    services = compose["services"]
    published = [str(port) for spec in services.values() for port in spec.get("ports", [])]
    assert published == [f"{API_PORT}:{API_PORT}"]
    assert services["api"]["environment"]["DISPATCH_METRICS_PORT"] == METRICS_PORT
    assert METRICS_PORT in [str(port) for port in services["api"].get("expose", [])]


def test_gunicorn_listens_on_the_metrics_port_only_when_it_is_configured(monkeypatch):
    monkeypatch.delenv("DISPATCH_BIND", raising=False)
    monkeypatch.delenv("DISPATCH_METRICS_PORT", raising=False)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == ["0.0.0.0:8000"]
    monkeypatch.setenv("DISPATCH_METRICS_PORT", METRICS_PORT)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == ["0.0.0.0:8000", "0.0.0.0:9100"]
    assert os.environ["DISPATCH_METRICS_PORT"] == METRICS_PORT
