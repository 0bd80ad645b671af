"""a task's process version copied onto the task (a task of a process instance: its instance's, which never
changes; a standalone task: none), and the indexes that read the inbox sorted by process: range scans per process
version of an assignee's or every open task, by due then creation time (engine/store/inbox_names.py); existing
tasks take their instance's version. On PostgreSQL the indexes hold the columns the scans carry (INCLUDE), as
migration 0023's do.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 03:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# name: (key columns, columns held beside them on PostgreSQL)
INDEXES = {
    "ix_task_assignee_state_process": (
        ["assignee_id", "state", "process_version_id", "due_at", "created_at"],
        ["id", "record_title"],
    ),
    "ix_task_state_process": (
        ["state", "process_version_id", "due_at", "created_at"],
        ["id", "assignee_id", "record_title"],
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # in place, with its REFERENCES clause: a batch would copy the whole task table (Alembic adds no constraint
        # to a SQLite table but by such a copy)
        op.execute("ALTER TABLE task ADD COLUMN process_version_id INTEGER REFERENCES process_version (id)")
    else:
        op.add_column(
            "task", sa.Column("process_version_id", sa.Integer(), sa.ForeignKey("process_version.id"), nullable=True)
        )
    op.execute(
        "UPDATE task SET process_version_id = (SELECT process_instance.process_version_id FROM process_instance "
        "WHERE process_instance.id = task.instance_id) WHERE instance_id IS NOT NULL"
    )
    for name, (columns, held) in INDEXES.items():
        op.create_index(name, "task", columns, postgresql_include=held)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="task")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE task DROP COLUMN process_version_id")  # SQLite 3.35+; its REFERENCES clause with it
    else:
        op.drop_column("task", "process_version_id")  # its foreign key with it
