"""list settings (the columns each user chose per list page); task candidates carry the task's due time for
the overdue tab and its count

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:10:00
"""
import sqlalchemy as sa
from alembic import op

from engine.store.models import UtcDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'list_setting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('list_key', sa.String(length=200), nullable=False),
        sa.Column('columns', sa.Text(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'list_key', name='uq_list_setting_user_list'),
    )
    with op.batch_alter_table('task_candidate') as batch:
        batch.add_column(sa.Column('due_at', UtcDateTime(), nullable=True))
    op.execute("UPDATE task_candidate SET due_at = (SELECT task.due_at FROM task WHERE task.id = task_candidate.task_id)")
    op.create_index('ix_task_candidate_overdue', 'task_candidate', ['kind', 'name', 'pooled', 'due_at', 'task_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_task_candidate_overdue', table_name='task_candidate')
    with op.batch_alter_table('task_candidate') as batch:
        batch.drop_column('due_at')
    op.drop_table('list_setting')
