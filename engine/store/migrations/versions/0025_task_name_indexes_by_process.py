"""the task-name indexes split by whether a task has a process: the tasks of a process instance in 0023's two
indexes (now partial: instance_id IS NOT NULL), the standalone tasks in two of the same columns (instance_id IS
NULL). A name group of the inbox's task-name sort is (element id, title, in a process or not), and its count and
scans are now a range of one index: with one index of both kinds SQLite read every task of a process element to
find that none of them is standalone (Pool by task name at 100,000 tasks: 80,000 index entries and table rows for
an empty group; engine/store/inbox_names.py). On PostgreSQL they hold the columns the scans carry (INCLUDE).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

ASSIGNEE = ["assignee_id", "state", "spec_name", "title", "due_at", "created_at"]
STATE = ["state", "spec_name", "title", "due_at", "created_at"]
# name: (key columns, columns held beside them on PostgreSQL, whether the index holds the tasks of a process)
INDEXES = {
    "ix_task_assignee_state_name": (ASSIGNEE, ["id", "instance_id", "record_title"], True),
    "ix_task_state_name": (STATE, ["id", "instance_id", "assignee_id", "record_title"], True),
    "ix_task_assignee_state_standalone_name": (ASSIGNEE, ["id", "instance_id", "record_title"], False),
    "ix_task_state_standalone_name": (STATE, ["id", "instance_id", "assignee_id", "record_title"], False),
}


def _where(in_process: bool) -> sa.TextClause:
    return sa.text("instance_id IS NOT NULL" if in_process else "instance_id IS NULL")


def upgrade() -> None:
    for name, (columns, held, in_process) in INDEXES.items():
        if in_process:
            op.drop_index(name, table_name="task")
        op.create_index(
            name,
            "task",
            columns,
            postgresql_include=held,
            postgresql_where=_where(in_process),
            sqlite_where=_where(in_process),
        )


def downgrade() -> None:
    for name, (columns, held, in_process) in INDEXES.items():
        op.drop_index(name, table_name="task")
        if in_process:  # 0023's, of every task
            op.create_index(name, "task", columns, postgresql_include=held)
