"""audit log: row seals (content hashes of the covered rows, recorded in the chain)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:00:00

Append-only like the log itself (triggers; the chain is what detects tampering, the triggers
make it take DDL rights). Rows written before this revision carry no seal: run
``dispatch audit-log baseline`` once after upgrading (the demo seed does it), or the verifier
names them as unsealed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PG_GUARD = [
    """CREATE OR REPLACE FUNCTION audit_log_seals_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log_seals is append-only: % refused', TG_OP;
    END
    $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER audit_log_seals_no_update BEFORE UPDATE ON audit_log_seals "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_seals_append_only()",
    "CREATE TRIGGER audit_log_seals_no_delete BEFORE DELETE ON audit_log_seals "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_seals_append_only()",
    "CREATE TRIGGER audit_log_seals_no_truncate BEFORE TRUNCATE ON audit_log_seals "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_seals_append_only()",
]
PG_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_log_seals_no_truncate ON audit_log_seals",
    "DROP TRIGGER IF EXISTS audit_log_seals_no_delete ON audit_log_seals",
    "DROP TRIGGER IF EXISTS audit_log_seals_no_update ON audit_log_seals",
    "DROP FUNCTION IF EXISTS audit_log_seals_append_only()",
]
SQLITE_GUARD = [
    "CREATE TRIGGER audit_log_seals_no_update BEFORE UPDATE ON audit_log_seals "
    "BEGIN SELECT RAISE(ABORT, 'audit_log_seals is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_log_seals_no_delete BEFORE DELETE ON audit_log_seals "
    "BEGIN SELECT RAISE(ABORT, 'audit_log_seals is append-only: DELETE refused'); END",
]
SQLITE_UNGUARD = ["DROP TRIGGER IF EXISTS audit_log_seals_no_delete",
                  "DROP TRIGGER IF EXISTS audit_log_seals_no_update"]


def _run(postgres: list[str], sqlite: list[str]) -> None:
    for statement in postgres if op.get_bind().dialect.name == "postgresql" else sqlite:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "audit_log_seals",
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.String(length=64), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("log_seq", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
                  nullable=True),
        sa.PrimaryKeyConstraint("table_name", "row_id", "row_version", name=op.f("pk_audit_log_seals")),
    )
    with op.batch_alter_table("audit_log_seals") as batch:
        batch.create_index(batch.f("ix_audit_log_seals_log_seq"), ["log_seq"], unique=False)
    _run(PG_GUARD, SQLITE_GUARD)


def downgrade() -> None:
    _run(PG_UNGUARD, SQLITE_UNGUARD)
    with op.batch_alter_table("audit_log_seals") as batch:
        batch.drop_index(batch.f("ix_audit_log_seals_log_seq"))
    op.drop_table("audit_log_seals")
