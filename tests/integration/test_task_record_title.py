"""A task's copy of its record's title (`task.record_title`, the inbox's sort and filter by record) stays equal to
the record's title on every write path: tasks made by a process step or a rule, the title changed by an edit, a
mass action or an import, tasks moved by a merge and its undo; and the migration fills it for existing tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import MetaData, Table, event, insert, select

from engine.imports.run import run_import
from engine.quality.merge import merge_records, undo_merge
from engine.services import records
from engine.services.imports import create_job
from engine.services.mass_actions import parse_action, run_action
from engine.services.views import Actor
from engine.store.db import alembic_config, make_engine
from engine.store.models import RecordRow, TaskRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.conftest import bare_task
from tests.integration.test_merge import LATER, build
from tests.integration.test_standalone_tasks import rule_task

MakeUow = Callable[[], UnitOfWork]


def copies(make_uow: MakeUow, record_id: int) -> list[tuple[str | None, str]]:
    """(the task's copy, the record's title) of every task of a record."""
    with make_uow() as uow:
        stmt = (
            select(TaskRow.record_title, RecordRow.title)
            .join(RecordRow, RecordRow.id == TaskRow.record_id)
            .where(TaskRow.record_id == record_id)
        )
        return [(copy, title) for copy, title in uow.session.execute(stmt).all()]


def titled(make_uow: MakeUow, record_id: int, title: str) -> None:
    """Every task of the record carries `title`, which is the record's title, and there is one at least."""
    found = copies(make_uow, record_id)
    assert found, "no task on the record"
    assert found == [(title, title)] * len(found)


def lead(make_uow: MakeUow, actor: Actor, title: str) -> int:
    """A lead (its process opens a task on it)."""
    return records.create_record(make_uow(), actor, "Lead", {"title": title}, NOW, owner_id=actor.id).id


def contact(make_uow: MakeUow, actor: Actor, name: str, email: str) -> int:
    return records.create_record(
        make_uow(), actor, "Contact", {"full_name": name, "email": email}, NOW, owner_id=actor.id
    ).id


def test_a_process_task_copies_its_records_title(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    titled(deployed, lead(deployed, actors["sales"], "Ivan, 20 laptops"), "Ivan, 20 laptops")


def test_a_rule_task_copies_its_records_title(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    sam = actors["sales"]
    record_id = contact(deployed, sam, "Ivan Petrov", "ivan@example.com")
    rule_task(deployed, sam, record_id, assignee="owner")
    titled(deployed, record_id, "Ivan Petrov")


def test_an_edit_of_the_title_field_retitles_the_records_tasks(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    sam = actors["sales"]
    record_id = lead(deployed, sam, "Ivan, 20 laptops")
    records.update_record(deployed(), sam, record_id, {"title": "Ivan, 30 laptops"}, LATER)
    titled(deployed, record_id, "Ivan, 30 laptops")


def test_an_edit_of_another_field_writes_no_task(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    sam = actors["sales"]
    record_id = lead(deployed, sam, "Ivan, 20 laptops")
    written: list[str] = []
    bind = deployed.engine

    def keep(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        written.append(statement)

    event.listen(bind, "before_cursor_execute", keep)
    try:
        records.update_record(deployed(), sam, record_id, {"budget": "1000"}, LATER)
    finally:
        event.remove(bind, "before_cursor_execute", keep)
    assert written
    assert not [s for s in written if s.startswith("UPDATE task ")]
    titled(deployed, record_id, "Ivan, 20 laptops")


def test_a_mass_action_setting_the_title_retitles_the_tasks(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    admin, sam = actors["admin"], actors["sales"]
    ids = [contact(deployed, sam, f"Person {n}", f"p{n}@example.com") for n in range(3)]
    for record_id in ids:
        rule_task(deployed, sam, record_id, assignee="owner")
    chosen = {"entity": "Contact", "where": {"all": [{"field": "id", "op": "in", "value": ids}]}}
    summary = run_action(
        deployed(), admin, chosen, parse_action({"action": "set", "field": "full_name", "value": "Same Name"}), LATER
    )
    assert summary.changed == 3
    for record_id in ids:
        titled(deployed, record_id, "Same Name")


def test_an_import_overwriting_the_title_retitles_the_tasks(
    deployed: MakeUow, actors: dict[str, Actor], tmp_path: Path
) -> None:
    sam = actors["sales"]
    record_id = contact(deployed, sam, "Ivan Ivanov", "ivan@example.com")
    rule_task(deployed, sam, record_id, assignee="owner")
    path = tmp_path / "rename.csv"
    path.write_text("Name,Email\nIvan Sidorov,ivan@example.com\n", encoding="utf-8")
    job = create_job(deployed(), sam, "Contact", path.name, path, NOW, mode="valid_only", on_match="overwrite")
    run_import(deployed, job.id, lambda: LATER, batch_size=500)
    titled(deployed, record_id, "Ivan Sidorov")


def test_a_merge_gives_the_moved_tasks_the_survivors_title_and_its_undo_takes_it_back(
    deployed: MakeUow, actors: dict[str, Actor]
) -> None:
    world = build(deployed, actors)
    titled(deployed, world.new, "Ivan Petrov")
    merge_id = merge_records(deployed(), actors["head"], world.old, world.new, {}, LATER, pair_id=world.pair)
    titled(deployed, world.old, "Ivan, 20 laptops")
    undo_merge(deployed(), actors["head"], merge_id, LATER + timedelta(minutes=1))
    titled(deployed, world.new, "Ivan Petrov")
    titled(deployed, world.old, "Ivan, 20 laptops")


def test_the_migration_copies_the_titles_of_existing_tasks(empty_url: str) -> None:
    command.upgrade(alembic_config(empty_url), "0020")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            meta = MetaData()
            record, task = Table("record", meta, autoload_with=conn), Table("task", meta, autoload_with=conn)
            conn.execute(
                insert(record),
                [
                    {
                        "id": n,
                        "entity": "Lead",
                        "title": f"Lead {n}",
                        "data": {},
                        "owner_id": None,
                        "created_at": NOW,
                        "created_by": "t",
                        "updated_at": NOW,
                        "revision": 1,
                    }
                    for n in (1, 2)
                ],
            )
            conn.execute(
                insert(task),
                [bare_task(f"t{n}", record_id=r) for n, r in ((1, 1), (2, 2), (3, 2), (4, None))],
            )
        command.upgrade(alembic_config(empty_url), "head")
        with engine.connect() as conn:
            found = dict(conn.execute(select(TaskRow.id, TaskRow.record_title)).all())
    finally:
        engine.dispose()
    assert found == {"t1": "Lead 1", "t2": "Lead 2", "t3": "Lead 2", "t4": None}
