"""Run Alembic programmatically (CLI, tests, seeds)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)


def alembic_config(url: str | None = None, connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str | None = None, *, connection=None, revision: str = "head") -> None:
    """Bring the schema to the newest revision (one line of revisions, one head)."""
    command.upgrade(alembic_config(url, connection), revision)


def downgrade(url: str | None = None, *, connection=None, revision: str = "base") -> None:
    """Step the schema back to ``revision`` ("-1" is one step, "base" drops every table)."""
    command.downgrade(alembic_config(url, connection), revision)


def current(url: str) -> str | None:
    """The revision the database is at (None before the first upgrade)."""
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision of the one line of revisions."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
