"""the indexes that read the inbox sorted by task name: range scans per name group (element id, title) of an
assignee's or every open task, by due then creation time (engine/store/inbox_names.py). On PostgreSQL they hold
the columns the scans carry and check (INCLUDE), as migration 0022's do.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 02:10:00
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# name: (key columns, columns held beside them on PostgreSQL)
INDEXES = {
    "ix_task_assignee_state_name": (["assignee_id", "state", "spec_name", "title", "due_at", "created_at"],
                                    ["id", "instance_id", "record_title"]),
    "ix_task_state_name": (["state", "spec_name", "title", "due_at", "created_at"],
                           ["id", "instance_id", "assignee_id", "record_title"]),
}


def upgrade() -> None:
    for name, (columns, held) in INDEXES.items():
        op.create_index(name, "task", columns, postgresql_include=held)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="task")
