"""The composition root is explicit: every process that writes installs the job-lifecycle hook
table, the sealed tables and the sync feed's listeners itself, and nothing is installed by merely
importing."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dispatch import wiring
from dispatch.jobs import hooks

ROOT = Path(__file__).resolve().parents[2]

REPORT = ("from dispatch.jobs import hooks; from dispatch.sync import feed; from dispatch.audit_log import seals; "
          "from dispatch.integrations import prompt; "
          "print(hooks.installed(), seals.installed(), feed.installed(), prompt.installed())")


def _process(code: str, tmp_path: Path) -> str:
    """Run ``code`` in a fresh interpreter, as a worker host would, and return what it printed."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "DISPATCH_INSTANCE_PATH": str(tmp_path)}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_a_worker_process_running_a_task_has_the_hooks_and_the_feed(tmp_path):
    # What an RQ work horse does before any task: build the task runtime from the environment.
    code = f"import workers.sync_tasks; from workers.runtime import get_runtime; get_runtime(); {REPORT}"
    assert _process(code, tmp_path) == "True True True True"


def test_the_rq_cron_entry_installs_them_too(tmp_path):
    assert _process(f"import workers.cron; {REPORT}", tmp_path) == "True True True True"


def test_importing_the_domains_installs_nothing(tmp_path):
    # The test above would pass by accident if an import did it: it must not.
    code = f"import dispatch.models, dispatch.jobs.service, dispatch.sync.service, workers.care_tasks, workers.webhook_tasks; {REPORT}"
    assert _process(code, tmp_path) == "False False False False"


def test_a_job_change_without_the_table_fails_loudly(monkeypatch):
    monkeypatch.setattr(hooks, "_loaded", False)
    with pytest.raises(RuntimeError, match="dispatch.wiring.install"):
        hooks.run_before(None)  # type: ignore[arg-type]


def test_sealing_a_row_without_the_sealed_tables_fails_loudly(monkeypatch):
    from dispatch.audit_log import seals

    monkeypatch.setattr(seals, "_covered", None)
    with pytest.raises(RuntimeError, match="dispatch.wiring.install"):
        seals.covered()


def test_each_domain_seals_its_own_tables_once():
    tables = [spec.table for spec in wiring.SEALED_TABLES]
    assert len(tables) == len(set(tables))
    for spec in wiring.SEALED_TABLES:  # a spec sits in the domain that owns the model
        assert spec.model.__module__.split(".")[1] in {"sop", "audits", "stock", "network"}
    assert {"checklist_step_results", "audit_verdicts", "stock_movements", "warranty_claims", "activations"} <= set(tables)
    from dispatch.audit_log import seals

    with pytest.raises(ValueError, match="two specs"):
        seals.install([*wiring.SEALED_TABLES, wiring.SEALED_TABLES[0]])


def test_the_table_lists_functions_of_the_domains_job_hooks_modules_in_order():
    for hook in (*wiring.JOB_HOOKS_BEFORE, *wiring.JOB_HOOKS_AFTER):
        assert inspect.isfunction(hook) and hook.__module__.endswith(".job_hooks"), hook
    assert [h.__module__.split(".")[1] for h in wiring.JOB_HOOKS_AFTER] == ["sop", "stock", "care", "care", "care",
                                                                          "warranty", "integrations"]
    with pytest.raises(TypeError):
        hooks.install(before=(), after=("dispatch.sop.job_hooks.keep_checklist_in_step_with_job",))  # a name is no hook
    wiring.install()
    assert wiring.installed()


def test_every_blueprint_module_is_listed_and_every_listed_one_has_a_blueprint():
    import importlib
    import pkgutil

    import dispatch.api as api

    with_blueprint = {info.name for info in pkgutil.iter_modules(api.__path__)
                      if hasattr(importlib.import_module(f"dispatch.api.{info.name}"), "blp")}
    assert set(api.BLUEPRINTS) == with_blueprint
    assert all(hasattr(module, "blp") for module in api._blueprint_modules())


def test_every_task_the_services_name_is_listed_and_resolves_to_a_function():
    from dispatch import queueing
    from dispatch.care import feedback, maintenance
    from dispatch.integrations import imports, prompt, retention, webhooks
    from dispatch.routing import service as routing_service
    from dispatch.warranty import contracts, recalls
    from dispatch.worklists import service as worklists

    named = {routing_service.PLAN_ROUTES_TASK, maintenance.GENERATE_TASK, feedback.DELIVER_TASK,
             worklists.REFRESH_TASK, contracts.REMIND_TASK, recalls.RUN_TASK,
             webhooks.DELIVER_TASK, prompt.DELIVER_KEY_TASK, prompt.SWEEP_TASK, imports.RUN_TASK,
             retention.PRUNE_TASK}
    assert named == set(queueing.TASKS)
    assert all(inspect.isfunction(queueing.resolve(task)) for task in queueing.TASKS)
    with pytest.raises(ValueError, match="unknown task"):
        queueing.RqTaskQueue("redis://127.0.0.1:1/0").enqueue("workers.routing_tasks.plan_route", task_id="t")
