"""A fresh, empty database for a benchmark: a temporary SQLite file, or a PostgreSQL database
dropped and created again under ``name`` next to the one ``url`` names.

Imported by the benchmark scripts (their directory is on ``sys.path`` when run as scripts).
"""

from __future__ import annotations

import tempfile

from sqlalchemy import text
from sqlalchemy.engine import make_url

from dispatch.config import Settings
from dispatch.db import make_engine


def fresh_database(url: str | None, name: str) -> str:
    if not url:
        return f"sqlite:///{tempfile.mkdtemp()}/{name}.db"
    parsed = make_url(Settings.from_env({"DATABASE_URL": url, "SECRET_KEY": "x"}).database_url)
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)
