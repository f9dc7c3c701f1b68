"""The ``dispatch`` command: a Flask CLI group with the operator's commands.

    dispatch db upgrade          create or upgrade the schema (Alembic, one line of revisions)
    dispatch db downgrade        step the schema back (one revision by default; asks first)
    dispatch db current          the revision the database is at, and the newest one
    dispatch seed demo           load the deterministic demo data (idempotent)
    dispatch demo                upgrade + seed + plan the demo day + serve on http://127.0.0.1:5000
    dispatch demo-plan           plan and apply HZ01's demo day through the API; print (and write) its pictures
    dispatch worker [QUEUES...]  run an RQ worker on the app's queues (needs REDIS_URL)
    dispatch audit-log baseline  seal covered rows written before they were sealed (once, after upgrading)
    dispatch webhooks deliver    send the due webhook deliveries now (without Redis nothing else sends them)
    dispatch run / routes / shell   the usual Flask commands
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import FlaskGroup


def _create_app():
    from dispatch.app import create_app
    from dispatch.logs import configure_logging

    configure_logging()
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """dispatch: after-sales field service backend."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or upgrade the schema with Alembic."""
    from dispatch import migrate

    settings = current_app.extensions["dispatch"].settings
    migrate.upgrade(settings.database_url, revision=revision)
    click.echo(f"schema at {revision} on {_safe_url(settings.database_url)}")


@db.command("downgrade")
@click.option("--revision", default="-1", show_default=True,
              help='Target revision: "-1" steps back one, "base" drops every table.')
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_downgrade(revision: str, yes: bool) -> None:
    """Step the schema back with Alembic (data in the dropped columns and tables is lost)."""
    from dispatch import migrate

    url = current_app.extensions["dispatch"].settings.database_url
    before = migrate.current(url)
    if before is None:
        raise click.ClickException("the database has no schema yet: nothing to downgrade")
    if not yes:
        click.confirm(f"downgrade {_safe_url(url)} from {before} to {revision}? "
                      "Data in what it drops is lost", abort=True)
    migrate.downgrade(url, revision=revision)
    click.echo(f"schema at {migrate.current(url) or 'base'} (was {before}) on {_safe_url(url)}")


@db.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one."""
    from dispatch import migrate

    url = current_app.extensions["dispatch"].settings.database_url
    at, newest = migrate.current(url), migrate.head()
    click.echo(f"{at or 'base'} (head {newest}{', up to date' if at == newest else ''})")


@main.group()
def seed() -> None:
    """Demo data."""


@seed.command("demo")
def seed_demo() -> None:
    """Load the demo data set (safe to run twice: nothing changes the second time)."""
    summary = _seed_demo()
    click.echo("demo data: " + ", ".join(f"{k}={v}" for k, v in summary.items()))


def _seed_demo() -> dict[str, int]:
    from seeds import load_demo

    state = current_app.extensions["dispatch"]
    return load_demo(state.session_factory, state.settings) or {"added": 0}


#: The demo's planner: a point manager plans their point's next day.
DEMO_PLANNER, DEMO_POINT, DEMO_PASSWORD = "manager.hz01", "HZ01", "demo1234"


def _plan_demo_day(host: str, port: int, day: date | None, out: Path) -> None:
    """Plan the demo point's day through the API as its manager and apply it (once: a later run
    shows the applied plan again); print each technician's floating break and the URLs of the
    plan's map and Gantt pictures, and write both into ``out`` when that directory exists.

    The requests run in a thread of their own: inside the command's app context every request
    would share its ``g`` (one database session for all, left open, so SQLite stays locked)."""
    app = current_app._get_current_object()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            _plan_through_the_api(app, host, port, day, out)
        except BaseException as exc:  # noqa: BLE001 - raised again in the command's thread
            failed.append(exc)

    worker = threading.Thread(target=run, name="demo-plan")
    worker.start()
    worker.join()
    if failed:
        raise failed[0]


def _plan_through_the_api(app, host: str, port: int, day: date | None, out: Path) -> None:
    from dispatch.clock import utcnow

    settings = app.extensions["dispatch"].settings
    client = app.test_client()
    login = client.post("/api/v1/auth/token", json={"username": DEMO_PLANNER, "password": DEMO_PASSWORD})
    if login.status_code != 200:
        click.echo(f"demo plan: cannot log in as {DEMO_PLANNER} ({login.status_code})", err=True)
        return
    auth = {"Authorization": f"Bearer {login.json['access_token']}"}
    point = next(p for p in client.get("/api/v1/service-points/?page_size=100", headers=auth).json
                 if p["code"] == DEMO_POINT)
    day = day or utcnow().astimezone(ZoneInfo(settings.timezone)).date() + timedelta(days=1)
    plans = f"/api/v1/service-points/{point['id']}/plans"
    done = client.get(f"{plans}?date={day.isoformat()}&status=done&page_size=100", headers=auth).json
    plan = next((p for p in done if p["applied_at"] and p.get("days", 1) == 1), None)
    if plan is None:
        asked = client.post(plans, headers=auth, json={"date": day.isoformat(), "time_limit_s": 5})
        if asked.status_code != 202:
            click.echo(f"demo plan: {asked.status_code} {asked.json}", err=True)
            return
        plan = client.get(asked.headers["Location"], headers=auth).json
        if plan["status"] == "done":
            client.post(f"/api/v1/plans/{plan['id']}/apply", headers=auth)
    plan = client.get(f"/api/v1/plans/{plan['id']}", headers=auth).json
    click.echo(f"plan:      {DEMO_POINT} {day.isoformat()} {plan['status']}"
               f"{', applied' if plan['applied_at'] else ''}: {plan['stats'].get('served', 0)} jobs served")
    for route in plan.get("routes", []):
        if route["break_start_at"]:
            technician = client.get(f"/api/v1/technicians/{route['technician_id']}", headers=auth).json
            window = technician.get("break_window") or {"earliest": "11:00", "latest": "14:00"}
            click.echo(f"  break:   {route['technician_name']} {route['break_start_at'][11:16]} for "
                       f"{route['break_minutes']} min (floats in {window['earliest']}-{window['latest']})")
    base = f"http://{host}:{port}/api/v1/plans/{plan['id']}"
    click.echo(f"map:       {base}/map.svg   (Authorization: Bearer <{DEMO_PLANNER}'s token>)")
    click.echo(f"gantt:     {base}/gantt.svg")
    if out.is_dir():
        for picture in ("map.svg", "gantt.svg"):
            drawn = client.get(f"/api/v1/plans/{plan['id']}/{picture}", headers=auth)
            (out / picture).write_bytes(drawn.get_data())
        click.echo(f"pictures:  {out / 'map.svg'} {out / 'gantt.svg'}")


@main.command("demo-plan")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="default: tomorrow")
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-output"), show_default=True,
              help="the pictures are written here when the directory exists")
def demo_plan(host: str, port: int, day, out: Path) -> None:
    """Plan and apply the demo point's day through the API; print its breaks and pictures."""
    _plan_demo_day(host, port, day.date() if day else None, out)


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-output"), show_default=True,
              help="the plan's pictures are written here when the directory exists")
def demo(host: str, port: int, out: Path) -> None:
    """Upgrade the schema, load the demo data, plan the demo day and serve the API."""
    from dispatch import migrate

    settings = current_app.extensions["dispatch"].settings
    migrate.upgrade(settings.database_url)
    summary = _seed_demo()
    click.echo("demo data: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    _plan_demo_day(host, port, None, out)
    click.echo(f"API docs:  http://{host}:{port}/api/docs   (OpenAPI: /api/v1/openapi.json)")
    click.echo("log in:    curl -s -X POST -H 'Content-Type: application/json' "
               f"-d '{{\"username\":\"admin\",\"password\":\"demo1234\"}}' http://{host}:{port}/api/v1/auth/token")
    _print_customer_sign_in(host, port, settings)
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


def _print_customer_sign_in(host: str, port: int, settings) -> None:
    """How to sign in as the demo customer (the code arrives in this log: the logging SMS sender)."""
    from dispatch.customers import qr
    from seeds.customers import DEMO_CUSTOMER_PHONE, demo_new_serial

    base = f"http://{host}:{port}/api/v1"
    click.echo(f"customer:  curl -s -X POST -H 'Content-Type: application/json' -d '{{\"phone\":\"{DEMO_CUSTOMER_PHONE}\"}}' "
               f"{base}/customer/otp   # the 6-digit code is printed in this log (logging SMS sender)")
    click.echo(f"           curl -s -X POST -H 'Content-Type: application/json' "
               f"-d '{{\"phone\":\"{DEMO_CUSTOMER_PHONE}\",\"code\":\"<code>\"}}' {base}/customer/session")
    with current_app.extensions["dispatch"].session_factory() as session:
        serial = demo_new_serial(session)
    if serial:
        click.echo(f"unit QR:   {base}/public/units/{serial}?sig={qr.unit_signature(settings.qr_key, serial)}"
                   "   (activate it: POST /customer/units/activation)")


@main.group("audit-log")
def audit_log_group() -> None:
    """The tamper-evident log."""


@audit_log_group.command("baseline")
def audit_log_baseline() -> None:
    """Seal every covered row that has no seal yet (rows written before the upgrade that added
    row seals); each batch is one log entry of kind audit_log.baseline. Run it once, right after
    the upgrade: a row changed before it runs is sealed as it then stands."""
    from dispatch.audit_log import service as audit_log

    with current_app.extensions["dispatch"].session_factory() as session:
        sealed = audit_log.seal_unsealed(session)
        session.commit()
    click.echo(f"sealed {sealed} rows")


@main.group("webhooks")
def webhooks_group() -> None:
    """Outbound webhooks."""


@webhooks_group.command("deliver")
def webhooks_deliver() -> None:
    """Send the due webhook deliveries now, in this process: what the deliver-webhooks cron task
    does every 30 seconds. Without Redis (tasks inline, the demo) nothing is sent at commit (a
    request never waits for a receiver): run this, by hand or from the system's cron."""
    from dispatch.integrations import delivery
    from dispatch.uow import UnitOfWork

    state = current_app.extensions["dispatch"]
    report = delivery.deliver_due(lambda: UnitOfWork(state.session_factory),
                                  allow_private=state.settings.webhook_allow_private_targets,
                                  timeout_s=state.settings.webhook_timeout_s).as_dict()
    click.echo(f"delivered {report['succeeded']}, failed {report['failed']}"
               + (f", disabled {', '.join(report['disabled'])}" if report["disabled"] else ""))


@main.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker (JSON serializer, with the scheduler for retries)."""
    settings = current_app.extensions["dispatch"].settings
    if not settings.redis_url:
        click.echo("REDIS_URL is not set: background tasks run inline in the API process.", err=True)
        sys.exit(2)
    from workers.__main__ import run_worker

    run_worker(settings, list(queues) or None, burst=burst)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO)
    main()
