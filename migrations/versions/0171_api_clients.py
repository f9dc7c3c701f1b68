"""auth: machine clients (OAuth 2.0 client credentials, scopes, the secret hashed)

Revision ID: 0171
Revises: 0170
Create Date: 2026-12-05 18:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0171"
down_revision = "0170"
branch_labels = None
depends_on = None

UTC = dispatch.db.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("secret_hint", sa.String(length=8), nullable=False),
        sa.Column("scopes", dispatch.db.JsonDoc, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("last_used_at", UTC, nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_clients_user_id_users")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_api_clients_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_clients_client_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_api_clients_user_id")),
    )


def downgrade() -> None:
    op.drop_table("api_clients")
