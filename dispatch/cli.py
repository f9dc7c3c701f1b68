"""The ``dispatch`` command: a Flask CLI group with the operator's commands.

    dispatch db upgrade          create or upgrade the schema (Alembic, one line of revisions)
    dispatch db downgrade        step the schema back (one revision by default; asks first)
    dispatch db current          the revision the database is at, and the newest one
    dispatch seed demo           load the deterministic demo data (idempotent)
    dispatch demo                upgrade + seed + serve on http://127.0.0.1:5000
    dispatch worker [QUEUES...]  run an RQ worker on the app's queues (needs REDIS_URL)
    dispatch audit-log baseline  seal covered rows written before they were sealed (once, after upgrading)
    dispatch run / routes / shell   the usual Flask commands
"""

from __future__ import annotations

import logging
import sys

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


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo(host: str, port: int) -> None:
    """Upgrade the schema, load the demo data and serve the API."""
    from dispatch import migrate

    settings = current_app.extensions["dispatch"].settings
    migrate.upgrade(settings.database_url)
    summary = _seed_demo()
    click.echo("demo data: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
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
