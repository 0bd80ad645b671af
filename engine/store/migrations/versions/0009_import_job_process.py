"""import job process: the worker's pid and host and its last sign of life, to tell a dead run from a slow one

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-06 05:20:00
"""
from alembic import op
import sqlalchemy as sa
import engine.store.models

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker_pid', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('worker_host', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', engine.store.models.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('worker_host')
        batch_op.drop_column('worker_pid')
