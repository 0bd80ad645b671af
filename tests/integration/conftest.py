"""Fixtures of the integration tests beside the shared ones (tests/conftest.py)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench.common import postgres_schema
from tests.conftest import NOW


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, for a migration to build step by step: a SQLite file, or a schema of its own on the
    PostgreSQL test server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite'}"
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    with postgres_schema(url, "migration") as scoped:
        yield scoped


def bare_task(task_id: str, **values: Any) -> dict[str, Any]:
    """The columns of an open task row as every schema since 0020 has them (Core inserts into a migration's tables),
    `values` set over them."""
    return {
        "id": task_id,
        "instance_id": None,
        "record_id": None,
        "spec_name": "s",
        "title": "T",
        "form_key": None,
        "lane": None,
        "candidate_groups": "",
        "candidate_users": "",
        "assignee_id": None,
        "state": "open",
        "due_at": None,
        "created_at": NOW,
        **values,
    }


def running_instance(version_id: int) -> dict[str, Any]:
    """The columns of a running instance of a process version (its workflow state left empty)."""
    return {
        "process_version_id": version_id,
        "record_id": None,
        "status": "running",
        "state_json": "{}",
        "serializer_version": "test",
        "started_at": NOW,
        "started_by": "test",
        "ended_at": None,
        "revision": 1,
    }


@pytest.fixture
def server_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The transaction commands (BEGIN, COMMIT, ROLLBACK...) psycopg sends to the server, each a round trip
    (tests/integration/test_read_only_units.py, test_cli_begin_late.py)."""
    from psycopg._connection_base import BaseConnection

    sent: list[str] = []
    real = BaseConnection._exec_command

    def recorded(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(command.decode() if isinstance(command, bytes) else str(command))
        return real(self, command, *args, **kwargs)

    monkeypatch.setattr(BaseConnection, "_exec_command", recorded)
    real_execute = psycopg.Connection.execute

    def executed(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if query in (b"COMMIT", "COMMIT"):  # the COMMIT sent in a pipeline behind held writes (engine.store.pipeline)
            sent.append("COMMIT")
        return real_execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", executed)
    return sent


@pytest.fixture
def compare_paths(
    deployed: Callable[[], Any], db_url: str, bundle_files: dict[str, str], deployed_snapshots: Any
) -> Callable[..., Any]:
    """both_paths (tests/integration/test_import_bulk.py) on this test's database and bundle: call it with the
    imports to run on each path (and ids_by_rank)."""
    from tests.integration.test_import_bulk import both_paths

    return functools.partial(both_paths, deployed, db_url, deployed_snapshots, bundle_files)
