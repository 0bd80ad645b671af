"""job retries and incidents: attempts, next attempt, last error and parking on timer, reminder and
rule_schedule rows; the incident table

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 05:30:00
"""
import sqlalchemy as sa
from alembic import op

from engine.store.models import UtcDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

JOB_TABLES = ('timer', 'reminder', 'rule_schedule')


def upgrade() -> None:
    for table in JOB_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
            batch.add_column(sa.Column('next_attempt_at', UtcDateTime(), nullable=True))
            batch.add_column(sa.Column('last_error', sa.Text(), nullable=True))
            batch.add_column(sa.Column('parked_at', UtcDateTime(), nullable=True))
    op.create_table(
        'incident',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('job_key', sa.String(length=200), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('task_id', sa.String(length=36), nullable=True),
        sa.Column('record_id', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('resolved_at', UtcDateTime(), nullable=True),
        sa.Column('resolved_by', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['record_id'], ['record.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_incident_job', 'incident', ['kind', 'job_key', 'resolved_at'], unique=False)
    op.create_index('ix_incident_open', 'incident', ['resolved_at', 'id'], unique=False)
    op.create_index(op.f('ix_incident_instance_id'), 'incident', ['instance_id'], unique=False)
    op.create_index(op.f('ix_incident_record_id'), 'incident', ['record_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_incident_record_id'), table_name='incident')
    op.drop_index(op.f('ix_incident_instance_id'), table_name='incident')
    op.drop_index('ix_incident_open', table_name='incident')
    op.drop_index('ix_incident_job', table_name='incident')
    op.drop_table('incident')
    for table in reversed(JOB_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('parked_at')
            batch.drop_column('last_error')
            batch.drop_column('next_attempt_at')
            batch.drop_column('attempts')
