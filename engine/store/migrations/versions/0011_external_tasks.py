"""external tasks: service tasks of camunda:type="external" served over the Camunda 7 REST protocol

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:10:00
"""
import sqlalchemy as sa
from alembic import op

from engine.store.models import UtcDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'external_task',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('topic', sa.String(length=200), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('activity_id', sa.String(length=200), nullable=False),
        sa.Column('business_key', sa.String(length=200), nullable=True),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('variables', sa.JSON(), nullable=False),
        sa.Column('worker_id', sa.String(length=200), nullable=True),
        sa.Column('lock_expires_at', UtcDateTime(), nullable=True),
        sa.Column('retries', sa.Integer(), nullable=True),
        sa.Column('available_at', UtcDateTime(), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('error_details', sa.Text(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_external_task_fetch', 'external_task', ['topic', 'priority', 'id'], unique=False)
    op.create_index(op.f('ix_external_task_instance_id'), 'external_task', ['instance_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_external_task_instance_id'), table_name='external_task')
    op.drop_index('ix_external_task_fetch', table_name='external_task')
    op.drop_table('external_task')
