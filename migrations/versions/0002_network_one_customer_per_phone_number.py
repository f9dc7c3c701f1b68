"""network: one customer per phone number

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:07:39.849875
"""

from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The service refuses a second customer with the same number; the unique index is the
    # backstop when two registrations race.
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_phone'))
        batch_op.create_index(batch_op.f('ix_customers_phone'), ['phone'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_phone'))
        batch_op.create_index(batch_op.f('ix_customers_phone'), ['phone'], unique=False)

