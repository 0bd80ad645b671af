"""Shared fixtures: a fresh database per test on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.bootstrap import uow_factory
from engine.config.loader import read_bundle_dir
from engine.services.deployments import deploy_bundle
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from engine.store.db import make_engine, normalize_url, upgrade
from engine.store.models import Base
from engine.store.uow import UnitOfWork

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct-horse-1"
ROLE_USERS = {
    "sales": ("sam", ["sales"], "north"),
    "sales2": ("sue", ["sales"], "north"),
    "head": ("hank", ["head_of_sales"], "north"),
    "designer": ("dina", ["designer"], None),
    "admin": ("ada", ["admin"], None),
    "auditor": ("otto", ["auditor"], None),
}
BACKENDS = ["sqlite", "postgres"]


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own (`<name>_gw0`, ...), made on demand,
    and TEST_DATABASE_URL points at it for everything the worker runs (subprocesses included)."""
    worker, url = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("TEST_DATABASE_URL")
    if not (worker and url):
        return
    from sqlalchemy import make_url, text

    base = make_url(normalize_url(url))
    name = f"{base.database}_{worker}"
    engine = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    os.environ["TEST_DATABASE_URL"] = base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The PostgreSQL test database, migrated once per session."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table.name}" CASCADE')
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()
    upgrade(url)
    return url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, migrated, empty database URL."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()
    return url


@pytest.fixture
def make_uow(db_url: str) -> Iterator[Callable[[], UnitOfWork]]:
    """A unit-of-work factory on the test database."""
    factory = uow_factory(db_url)
    yield factory
    factory.dispose()


@pytest.fixture
def bundle_files() -> dict[str, str]:
    """The shipped CRM configuration bundle (repository root)."""
    return read_bundle_dir(ROOT)


@pytest.fixture
def deployed(make_uow: Callable[[], UnitOfWork], bundle_files: dict[str, str]) -> Callable[[], UnitOfWork]:
    """The test database with the shipped configuration deployed."""
    designer = Actor(id=None, username="setup", display_name="setup", roles=frozenset({"designer"}))
    deploy_bundle(make_uow(), designer, bundle_files, NOW)
    return make_uow


@pytest.fixture
def actors(deployed: Callable[[], UnitOfWork]) -> dict[str, Actor]:
    """One user per role (plus a second salesperson), as actors, by key of ROLE_USERS."""
    result = {}
    for key, (username, roles, team) in ROLE_USERS.items():
        view = create_user(deployed(), username, PASSWORD, roles, NOW, team=team)
        result[key] = get_actor(deployed(), view.id)
    return result
