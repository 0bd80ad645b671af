"""Migration 0025: the task-name indexes hold the tasks of a process, two more of the same columns the standalone
ones (partial indexes), so a name group (element id, title, in a process or not) is a range of one index; the
downgrade gives back 0023's indexes of every task."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from engine.store.db import alembic_config, make_engine

NAMES = ("ix_task_assignee_state_name", "ix_task_state_name")
STANDALONE = ("ix_task_assignee_state_standalone_name", "ix_task_state_standalone_name")


def _definitions(url: str) -> dict[str, str]:
    """The task table's index definitions as the database states them, by name."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                rows = conn.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'task'")
                )
            else:
                rows = conn.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'task' "
                        "AND schemaname = current_schema()"
                    )
                )
            return {name: " ".join(str(sql).split()) for name, sql in rows if sql}
    finally:
        engine.dispose()


def test_the_name_indexes_hold_one_kind_of_task_each_and_the_downgrade_restores_0023s(empty_url: str) -> None:
    command.upgrade(alembic_config(empty_url), "0025")
    found = _definitions(empty_url)
    for name in NAMES:
        assert found[name].endswith("WHERE (instance_id IS NOT NULL)") or found[name].endswith(
            "WHERE instance_id IS NOT NULL"
        ), found[name]
    for name in STANDALONE:
        assert found[name].endswith("WHERE (instance_id IS NULL)") or found[name].endswith(
            "WHERE instance_id IS NULL"
        ), found[name]
    command.downgrade(alembic_config(empty_url), "0024")
    found = _definitions(empty_url)
    assert not set(STANDALONE) & set(found)
    assert all(name in found and "WHERE" not in found[name] for name in NAMES), found
    command.upgrade(alembic_config(empty_url), "head")  # and back up again
