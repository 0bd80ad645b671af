"""The CLI's commands, the worker's jobs and the import worker's job begin their transactions late on PostgreSQL,
as a web request does (issue 12, item 1): a command or a job item that only reads sends neither BEGIN nor COMMIT,
one that writes still writes in one transaction that commits (engine/services/units.py `begin_late`, cli/base.py,
engine/imports/worker.py `job_factory`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event

import cli
from engine.bootstrap import uow_factory
from engine.imports import worker
from engine.imports.limits import WorkerLimits
from engine.services import records
from engine.services.imports import create_job, get_job
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.find_data import build
from tests.integration.test_import_worker import contacts


@pytest.fixture
def on_postgres(db_url: str) -> None:
    """Skips on SQLite: its driver sends no BEGIN before a read, so there is nothing to begin late."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's driver sends no BEGIN before a read: there is nothing to begin late")


pytestmark = pytest.mark.usefixtures("on_postgres")


def _after_set_up(commands: list[str]) -> list[str]:
    """The commands after those of a new engine's first connection (SQLAlchemy's dialect checks savepoints: BEGIN,
    SAVEPOINT, RELEASE, ROLLBACK), which every process sends once, before its first unit of work."""
    if commands[1:2] and commands[1].startswith("SAVEPOINT"):
        return commands[4:]
    return commands


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli.main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_a_read_only_cli_command_sends_no_begin_or_commit(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], server_commands: list[str]
) -> None:
    build(deployed, actors)
    server_commands.clear()
    found = _run(
        "--database-url", db_url, "find", "--as", "sue", "--filter", json.dumps({"entity": "Contact"}), "--count"
    )
    assert int(found.split()[0]) >= 1
    assert _after_set_up(server_commands) == []  # BEGIN and COMMIT before: the reads in a transaction of their own


def test_a_worker_tick_with_nothing_due_begins_a_transaction_only_for_its_row_locking_reads(
    db_url: str, deployed: Callable[[], UnitOfWork], server_commands: list[str]
) -> None:
    _run("--database-url", db_url, "worker", "--once")  # the first tick schedules the rules and scans
    locking: list[str] = []

    def sent(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        if "FOR UPDATE" in sql:
            locking.append(sql)

    server_commands.clear()
    event.listen(Engine, "before_cursor_execute", sent)  # the command's own engine, made in the command
    try:
        _run("--database-url", db_url, "worker", "--once")
    finally:
        event.remove(Engine, "before_cursor_execute", sent)
    commands = _after_set_up(server_commands)
    # the due rule schedules, scans, reminders and timers are read with row locks (SKIP LOCKED), which need a
    # transaction, each in the unit of its job kind; every other read of the tick (the active configuration, the
    # schedules' names) runs without one — ten transactions before, two BEGIN and ROLLBACK pairs of them with no lock
    assert locking
    assert commands == ["BEGIN", "COMMIT"] * len(locking)


def test_a_unit_made_to_begin_late_writes_in_one_transaction_that_commits(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], server_commands: list[str]
) -> None:
    factory = uow_factory(db_url, begin_late=True)
    try:
        server_commands.clear()
        lead = records.create_record(factory(), actors["head"], "Lead", {"title": "5 chairs"}, NOW)
        assert _after_set_up(server_commands) == ["BEGIN", "COMMIT"]
        with factory() as uow:
            assert uow.records.get(lead.id) is not None
    finally:
        factory.dispose()


def test_the_import_workers_units_begin_late_and_its_job_still_writes_every_row(
    db_url: str,
    deployed: Callable[[], UnitOfWork],
    actors: dict[str, Actor],
    server_commands: list[str],
    tmp_path: Path,
) -> None:
    job = create_job(deployed(), actors["sales"], "Contact", "few.csv", contacts(tmp_path, 5), NOW)
    factory = worker.job_factory(db_url)  # what `python -m engine.imports.worker` runs the job with
    try:
        server_commands.clear()
        assert worker.fail_dead_jobs(factory(), NOW, 120) == []  # a look that finds no dead job only reads
        assert _after_set_up(server_commands) == []  # BEGIN and COMMIT before
        assert worker.work(factory, job.id, WorkerLimits(memory_mb=512, cpu_seconds=60), clock=lambda: NOW) == 0
    finally:
        factory.dispose()
    done = get_job(deployed(), actors["sales"], job.id)
    assert (done.status, done.counts["created"]) == ("done", 5)
