"""jobs: SLA at-risk and cancellation times, warranty end as a date, versioned SLA targets

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 00:45:15.107332
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_at_risk_at', dispatch.db.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', dispatch.db.UtcDateTime(timezone=True), nullable=True))
        batch_op.alter_column('warranty_until',
               existing_type=dispatch.db.UtcDateTime(timezone=True),
               type_=sa.Date(),
               existing_nullable=True,
               postgresql_using='warranty_until::date')
        batch_op.create_index(batch_op.f('ix_jobs_scheduled_start'), ['scheduled_start'], unique=False)

    with op.batch_alter_table('sla_targets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.create_check_constraint('at_risk_before_due', 'at_risk_hours >= 0 AND at_risk_hours < hours')


def downgrade() -> None:
    with op.batch_alter_table('sla_targets', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_sla_targets_at_risk_before_due'), type_='check')
        batch_op.drop_column('version')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_scheduled_start'))
        batch_op.alter_column('warranty_until',
               existing_type=sa.Date(),
               type_=dispatch.db.UtcDateTime(timezone=True),
               existing_nullable=True)
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('sla_at_risk_at')
