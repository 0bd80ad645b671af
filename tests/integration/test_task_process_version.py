"""A task's copy of its instance's process version (`task.process_version_id`, the inbox's sort by process): a
process step writes it with the task, a standalone task has none, a task of an instance cannot be inserted
without it; the migration fills it for existing tasks and its downgrade takes it away."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import MetaData, Table, insert, inspect, select

from engine.services.views import Actor
from engine.store.db import alembic_config, make_engine
from engine.store.models import InstanceRow, TaskRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.conftest import bare_task
from tests.integration.test_inbox_filters import _lead
from tests.integration.test_standalone_tasks import rule_task

MakeUow = Callable[[], UnitOfWork]


def test_a_process_step_writes_its_tasks_with_the_instances_version(
    deployed: MakeUow, actors: dict[str, Actor]
) -> None:
    task = _lead(deployed, actors, "Ivan Petrov", NOW)
    with deployed() as uow:
        row = uow.session.get(TaskRow, task.id)
        instance = uow.session.get(InstanceRow, task.instance_id)
        assert row is not None
        assert instance is not None
        assert row.process_version_id == instance.process_version_id is not None


def test_a_standalone_task_has_no_process_version(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    lead = _lead(deployed, actors, "Ivan Petrov", NOW)
    assert lead.record_id is not None
    task_id = rule_task(deployed, actors["head"], lead.record_id)
    with deployed() as uow:
        row = uow.session.get(TaskRow, task_id)
        assert row is not None
        assert row.instance_id is None
        assert row.process_version_id is None


def test_a_task_of_an_instance_is_not_inserted_without_its_version(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    task = _lead(deployed, actors, "Ivan Petrov", NOW)
    with deployed() as uow, pytest.raises(ValueError, match="process_version_id"):
        uow.tasks.insert_open(
            {
                "id": "t-new",
                "instance_id": task.instance_id,
                "spec_name": "s",
                "title": "T",
                "assignee_id": None,
                "due_at": None,
                "created_at": NOW,
            },
            [],
            [],
        )


def _old_rows(url: str) -> None:
    """Two process versions, an instance of each, and a task of each instance, one closed, and a standalone task,
    in the schema before 0024."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            meta = MetaData()
            table = {
                name: Table(name, meta, autoload_with=conn)
                for name in ("config_version", "process_version", "process_instance", "task")
            }
            conn.execute(
                insert(table["config_version"]),
                [{"id": 1, "content_hash": "h", "files": {}, "deployed_at": NOW, "deployed_by": "t", "note": None}],
            )
            conn.execute(
                insert(table["process_version"]),
                [
                    {
                        "id": v,
                        "process_id": f"p{v}",
                        "name": f"P{v}",
                        "version": 1,
                        "content_hash": "h",
                        "file": "f",
                        "bpmn_xml": "",
                        "spec_json": "",
                        "entity": None,
                        "start_on": None,
                        "config_version_id": 1,
                        "deployed_at": NOW,
                        "deployed_by": "t",
                    }
                    for v in (7, 8)
                ],
            )
            conn.execute(
                insert(table["process_instance"]),
                [
                    {
                        "id": i,
                        "process_version_id": v,
                        "record_id": None,
                        "status": "running",
                        "state_json": "{}",
                        "serializer_version": "t",
                        "started_at": NOW,
                        "started_by": "t",
                        "ended_at": None,
                        "revision": 1,
                    }
                    for i, v in ((1, 8), (2, 7))
                ],
            )
            conn.execute(
                insert(table["task"]),
                [
                    bare_task(task_id, instance_id=instance, state=state)
                    for task_id, instance, state in (("a", 1, "open"), ("b", 2, "completed"), ("c", None, "open"))
                ],
            )
    finally:
        engine.dispose()


def test_the_migration_gives_existing_tasks_their_instances_version_and_its_downgrade_drops_it(
    empty_url: str,
) -> None:
    command.upgrade(alembic_config(empty_url), "0023")
    _old_rows(empty_url)
    command.upgrade(alembic_config(empty_url), "0024")
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            assert dict(conn.execute(select(TaskRow.id, TaskRow.process_version_id)).all()) == {
                "a": 8,
                "b": 7,
                "c": None,
            }
        command.downgrade(alembic_config(empty_url), "0023")
        with engine.connect() as conn:
            task = inspect(conn)
            assert "process_version_id" not in {c["name"] for c in task.get_columns("task")}
            assert not {"ix_task_state_process", "ix_task_assignee_state_process"} & {
                i["name"] for i in task.get_indexes("task")
            }
            assert len(conn.execute(select(TaskRow.id)).all()) == 3
        command.upgrade(alembic_config(empty_url), "head")  # and back up again
    finally:
        engine.dispose()
