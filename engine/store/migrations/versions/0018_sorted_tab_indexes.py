"""sorted inbox tabs read by index range scans: the task's (assignee, state) prefix ordered by due then creation
time, and by creation time (engine/store/inbox_segments.py)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 17:10:00
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # creation time after the due time: tasks without a due date are read in creation order, not all of them
    op.drop_index('ix_task_assignee_state_due', table_name='task')
    op.create_index('ix_task_assignee_state_due', 'task', ['assignee_id', 'state', 'due_at', 'created_at'],
                    unique=False)
    op.create_index('ix_task_assignee_state_created', 'task', ['assignee_id', 'state', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_task_assignee_state_created', table_name='task')
    op.drop_index('ix_task_assignee_state_due', table_name='task')
    op.create_index('ix_task_assignee_state_due', 'task', ['assignee_id', 'state', 'due_at'], unique=False)
