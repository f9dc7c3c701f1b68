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
    command.downgrade(alembic_config(url, connection), revision)
