"""the inbox's task indexes hold the columns their scans carry and the record-title filter checks (PostgreSQL
INCLUDE): a sorted or record-filtered inbox page reads its scans from the indexes alone, where each row the scan
checked (nine in ten under a record-title filter) was a read of the task table (engine/store/inbox_segments.py).
SQLite has no INCLUDE: its indexes stay as they are.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 01:30:00
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# name: (key columns, columns held beside them)
INDEXES = {
    "ix_task_assignee_state_due": (["assignee_id", "state", "due_at", "created_at"], ["id", "record_title"]),
    "ix_task_assignee_state_created": (["assignee_id", "state", "created_at"], ["id", "due_at", "record_title"]),
    "ix_task_state_due": (["state", "due_at", "created_at"], ["id", "assignee_id", "record_title"]),
    "ix_task_state_created": (["state", "created_at"], ["id", "due_at", "assignee_id", "record_title"]),
    "ix_task_assignee_state_record": (["assignee_id", "state", "record_title", "due_at", "created_at"], ["id"]),
    "ix_task_state_record": (["state", "record_title", "due_at", "created_at"], ["id", "assignee_id"]),
}


def _rebuild(covering: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (columns, held) in INDEXES.items():
        op.drop_index(name, table_name="task")
        op.create_index(name, "task", columns, postgresql_include=held if covering else [])


def upgrade() -> None:
    _rebuild(covering=True)


def downgrade() -> None:
    _rebuild(covering=False)
