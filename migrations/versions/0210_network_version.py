"""network: one row whose token changes whenever regions, coverage or points change (triggers)

Dispatch resolution keeps the network (district index, coverage, authorised points) in memory per
process and re-reads only this row per transaction: a changed token means rebuild. Triggers, not
ORM listeners, move it, so bulk statements and other processes' writes are seen too. The token is
random, never a counter: a rolled-back change's token can never come back as a committed one, so
an index built inside a transaction that rolled back is never mistaken for the committed network.

Revision ID: 0210
Revises: 0190
Create Date: 2026-12-05 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0210"
down_revision = "0190"
branch_labels = None
depends_on = None

TABLES = ("regions", "coverage", "service_points", "authorisation_changes")

PG_TOKEN = "md5(random()::text || clock_timestamp()::text)"
SQLITE_TOKEN = "lower(hex(randomblob(16)))"
PG_UP = [
    f"""CREATE OR REPLACE FUNCTION network_version_bump() RETURNS trigger AS $$
    BEGIN
        UPDATE network_versions SET token = {PG_TOKEN} WHERE id = 1;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql""",
    *(f"CREATE TRIGGER {table}_network_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
      "FOR EACH STATEMENT EXECUTE FUNCTION network_version_bump()" for table in TABLES),
]
PG_DOWN = [*(f"DROP TRIGGER IF EXISTS {table}_network_version ON {table}" for table in TABLES),
           "DROP FUNCTION IF EXISTS network_version_bump()"]
SQLITE_UP = [
    f"CREATE TRIGGER {table}_network_version_{op_name.lower()} AFTER {op_name} ON {table} "
    f"BEGIN UPDATE network_versions SET token = {SQLITE_TOKEN} WHERE id = 1; END"
    for table in TABLES for op_name in ("INSERT", "UPDATE", "DELETE")
]
SQLITE_DOWN = [f"DROP TRIGGER IF EXISTS {table}_network_version_{op_name.lower()}"
               for table in TABLES for op_name in ("INSERT", "UPDATE", "DELETE")]


def _run(postgres: list[str], sqlite: list[str]) -> None:
    for statement in postgres if op.get_bind().dialect.name == "postgresql" else sqlite:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "network_versions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_versions")),
    )
    # A random first token too: two databases one process talks to never share a token.
    _run([f"INSERT INTO network_versions (id, token) VALUES (1, {PG_TOKEN})", *PG_UP],
         [f"INSERT INTO network_versions (id, token) VALUES (1, {SQLITE_TOKEN})", *SQLITE_UP])


def downgrade() -> None:
    _run(PG_DOWN, SQLITE_DOWN)
    op.drop_table("network_versions")
