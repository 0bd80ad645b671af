"""a task's record title copied onto the task, and the indexes that read the inbox in its order (sorted or
filtered by the record's title: engine/store/inbox_segments.py); existing tasks take their record's title

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 22:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("task", sa.Column("record_title", sa.String(300), nullable=True))
    op.execute(
        "UPDATE task SET record_title = (SELECT record.title FROM record WHERE record.id = task.record_id) "
        "WHERE record_id IS NOT NULL"
    )
    op.create_index(
        "ix_task_assignee_state_record", "task", ["assignee_id", "state", "record_title", "due_at", "created_at"]
    )
    op.create_index("ix_task_state_record", "task", ["state", "record_title", "due_at", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_task_state_record", table_name="task")
    op.drop_index("ix_task_assignee_state_record", table_name="task")
    op.drop_column("task", "record_title")
