"""one head: the per-domain branches that grew from 0001 meet here

Revision ID: 0060
Revises: 0002, 0003, 0013, 0020, 0030, 0042, 0052
Create Date: 2026-12-05 14:10:00

Each domain once started its own branch of revisions from 0001, so `alembic heads` listed seven and
a new revision had to pick one. This merge revision changes no table; every revision from now on
has exactly one parent, the current head (a test keeps it that way).
"""

from __future__ import annotations

revision = "0060"
down_revision = ("0002", "0003", "0013", "0020", "0030", "0042", "0052")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
