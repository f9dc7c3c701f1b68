"""audit log partitioned: one chain per service point plus HQ, bound by roots (issue 18)

Revision ID: 0130
Revises: 0121
Create Date: 2026-12-05 14:20:00

The single head row ``audit_log_head`` serialised every write in the network. Entries now belong
to a chain (``hq`` or a service point's id) with a position ``chain_seq`` in it; each chain has
its own head row in ``audit_log_chains``, so writers at different points never wait on one row.
``seq`` stays the entries' global id (a database sequence on PostgreSQL; it may have gaps).
Existing entries become the ``hq`` chain at their own position (``chain_seq = seq``), which keeps
their hashes valid (see dispatch.audit_log.service.entry_hash).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0130"
down_revision = "0121"
branch_labels = None
depends_on = None

SQLITE_NO_UPDATE = ("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END")


def _backfill(statement: str) -> None:
    """An UPDATE of audit_log past its append-only guard (the migration is the owner)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
        op.execute(statement)
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute(statement)
        op.execute(SQLITE_NO_UPDATE)


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("chain", sa.String(length=40), nullable=False, server_default="hq"))
    op.add_column("audit_log", sa.Column("chain_seq", sa.BigInteger(), nullable=True))
    _backfill("UPDATE audit_log SET chain_seq = seq")
    op.create_index("uq_audit_log_chain_seq", "audit_log", ["chain", "chain_seq"], unique=True)
    op.create_table(
        "audit_log_chains",
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("entry_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_log_chains")),
    )
    op.execute("INSERT INTO audit_log_chains (chain, seq, hash, entry_seq) "
               "SELECT 'hq', seq, hash, seq FROM audit_log_head WHERE id = 1")
    op.drop_table("audit_log_head")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE audit_log_global_seq")
        op.execute("SELECT setval('audit_log_global_seq', (SELECT max(seq) FROM audit_log)) "
                   "WHERE EXISTS (SELECT 1 FROM audit_log)")


def downgrade() -> None:
    """Only while a single chain exists (entries of other chains cannot join the old one)."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM audit_log WHERE chain <> 'hq' OR chain_seq <> seq")).scalar():
        raise RuntimeError("the log has more than one chain: it cannot go back to one head row")
    if bind.dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS audit_log_global_seq")
    op.create_table(
        "audit_log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log_head")),
    )
    op.execute("INSERT INTO audit_log_head (id, seq, hash) SELECT 1, seq, hash FROM audit_log_chains "
               "WHERE chain = 'hq'")
    op.drop_table("audit_log_chains")
    op.drop_index("uq_audit_log_chain_seq", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("chain_seq")
        batch.drop_column("chain")
