"""the All tab's index range scans: open tasks by due then creation time, and by creation time, without an
assignee prefix (engine/store/inbox_segments.py)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 19:50:00
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_state_due", "task", ["state", "due_at", "created_at"], unique=False)
    op.create_index("ix_task_state_created", "task", ["state", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_task_state_created", table_name="task")
    op.drop_index("ix_task_state_due", table_name="task")
