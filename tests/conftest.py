"""Shared fixtures: a fresh database per test on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import Connection, Engine
from werkzeug.routing import Rule

from engine.bootstrap import UowFactory, uow_factory
from engine.config.loader import read_bundle_dir
from engine.services.deployments import deploy_bundle
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from engine.store.db import make_engine, normalize_url, upgrade
from engine.store.models import Base
from engine.store.uow import UnitOfWork
from tests import postgres_reset

# the CLI speaks the shell's language (LANG=ru_RU… prints Russian); the suite's English assertions must not depend
# on the machine's locale, so every command the tests run, in-process or as a subprocess, speaks English unless told
os.environ["FLOWCRM_LANG"] = "en"

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


class SharedTemplateCode(BytecodeCache):
    """Compiled templates shared by every Flask app the test process builds. Each test builds an app of its own,
    whose Jinja environment compiled every template it rendered again (20-100 ms of CPU per page); a template
    whose source changed has another checksum and is compiled afresh."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


class SharedCompiledSql:
    """Compiled SQL shared by every engine the test process makes. SQLAlchemy keeps the statements it compiled in a
    cache of each Engine, keyed by the engine's dialect object; a server process has one engine and compiles each
    statement once, but a test makes engines of its own (a database per test), so every test compiled every
    statement it sent again: the SQL compiler was about 45% of the CPU of a test of many inbox queries. Here the
    key names the dialect by its class and the settings compilation reads, so engines of the same kind share what
    was compiled; what is sent, and so every count of statements, stays the same."""

    SIZE = 5000  # statements (an engine keeps 500): enough for the suite's distinct statements of one process

    def __init__(self) -> None:
        from sqlalchemy.util import LRUCache

        self._compiled: LRUCache[Any, Any] = LRUCache(self.SIZE)

    @staticmethod
    def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
        dialect = key[0]
        kind = (
            type(dialect),
            dialect.server_version_info,
            dialect.paramstyle,
            dialect.use_insertmanyvalues,
            dialect.use_insertmanyvalues_wo_returning,
            dialect.insertmanyvalues_page_size,
        )
        return (kind, *key[1:])

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self._compiled.get(self._key(key), default)

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        self._compiled[self._key(key)] = value

    def clear(self) -> None:
        self._compiled.clear()

    def __len__(self) -> int:
        return len(self._compiled)

    def share_with(self, create: Callable[..., Engine]) -> Callable[..., Engine]:
        """`create` (sqlalchemy.create_engine) making engines that use this cache."""

        def create_sharing(*args: Any, **kwargs: Any) -> Engine:
            engine = create(*args, **kwargs)
            if engine._compiled_cache is not None:  # None: the caller turned caching off (query_cache_size=0)
                engine._compiled_cache = self  # type: ignore[assignment]
            return engine

        return create_sharing


class SharedUrlBuilders:
    """URL builders shared by every Flask app the test process builds. Werkzeug compiles two Python functions for
    each of an app's ~150 URL rules (`url_for` calls them): 56 ms of CPU per create_app, and nearly every web test
    builds an app of its own. A builder is a function of the rule's parsed parts and defaults alone (it reaches the
    rule's converters through its `self` argument), so a rule of the same parts and defaults in another app gets
    the same function; a rule that differs in any of them is compiled afresh."""

    def __init__(self) -> None:
        self._built: dict[Hashable, Callable[..., tuple[str, str]]] = {}

    def share_with(self, compile_builder: Callable[[Rule, bool], Any]) -> Callable[[Rule, bool], Any]:
        """`compile_builder` (werkzeug's Rule._compile_builder) reusing the functions it made for equal rules."""

        def builder(rule: Rule, append_unknown: bool = True) -> Any:
            try:
                key = (rule.rule, tuple(rule._trace), tuple(sorted((rule.defaults or {}).items())), append_unknown)
                function = self._built.get(key)
            except TypeError:  # a default that is not hashable: not shared
                return compile_builder(rule, append_unknown)
            if function is None:
                function = self._built[key] = compile_builder(rule, append_unknown)
            return function

        return builder


class SharedRuleParts:
    """The parsed parts of URL rules shared by every Flask app the test process builds. Werkzeug parses each of an
    app's ~150 rule strings into regex parts, argument names and converters at every create_app: about 60 % of its
    CPU once the URL builders were shared (SharedUrlBuilders). What a rule string parses to depends on the string and
    the map's converter classes alone; the converters themselves belong to the rule's map, so they are made anew for
    each rule with the arguments the first parse gave them. A rule string not seen yet is parsed by Werkzeug."""

    def __init__(self) -> None:
        self._parsed: dict[Hashable, tuple[list[Any], list[tuple[bool, str]], list[tuple[Any, ...]]]] = {}

    def share_with(self, parse: Callable[[Rule, str], Iterable[Any]]) -> Callable[[Rule, str], Iterable[Any]]:
        """`parse` (werkzeug's Rule._parse_rule) giving again what it gave for the same rule string."""

        def parse_rule(rule: Rule, text: str) -> Iterable[Any]:
            key = (text, tuple(sorted(rule.map.converters.items())))
            found = self._parsed.get(key)
            if found is None:
                made: list[tuple[Any, ...]] = []  # get_converter's arguments, in order
                get_converter = rule.get_converter

                def recorded(*args: Any) -> Any:
                    made.append(args)
                    return get_converter(*args)

                traced = len(rule._trace)
                rule.get_converter = recorded  # type: ignore[method-assign]
                try:
                    parts = list(parse(rule, text))
                finally:
                    del rule.get_converter
                found = self._parsed[key] = (parts, rule._trace[traced:], made)
                return [replace(part) for part in parts]
            parts, trace, made = found
            for args in made:  # what werkzeug's parse does for each variable of the rule
                rule._converters[args[0]] = rule.get_converter(*args)
                rule.arguments.add(args[0])
            rule._trace.extend(trace)
            return [replace(part) for part in parts]

        parse_rule.__wrapped__ = parse  # type: ignore[attr-defined]
        return parse_rule


class SharedPasswordHashes:
    """Password hashes shared by every user the test process makes, and verified matches remembered. An argon2id
    hash at the OWASP parameters costs ~36 ms of CPU and so does checking one; the suite creates thousands of users
    with the same password (fixtures and tests) and signs them in thousands of times. A hash made for a password at
    the hasher's parameters is given again for that password (salt and all) to the next user; a stored hash that
    matched a password once matches it again without the work. A password that does not match is checked in full
    every time, so a wrong password, a broken check or a hash of other parameters fails as it would."""

    def __init__(self) -> None:
        self._hashes: dict[tuple[str, str | bytes], str] = {}
        self._matches: set[tuple[str | bytes, str | bytes]] = set()

    def share_with(self, hasher: type[Any]) -> None:
        """Make argon2's PasswordHasher class (`hasher`) hash and verify through this store."""
        make, check = hasher.hash, hasher.verify

        def hash_once(self_: Any, password: str | bytes, *, salt: bytes | None = None) -> str:
            if salt is not None:  # a salt of the caller's: its own hash
                return str(make(self_, password, salt=salt))
            key = (repr(self_._parameters), password)  # a dataclass of the parameters, not hashable
            if key not in self._hashes:
                self._hashes[key] = make(self_, password)
            return self._hashes[key]

        def verify_once(self_: Any, stored: str | bytes, password: str | bytes) -> Any:
            if (stored, password) in self._matches:
                return True
            matched = check(self_, stored, password)  # raises on a mismatch: nothing remembered
            self._matches.add((stored, password))
            return matched

        hasher.hash = hash_once
        hasher.verify = verify_once


# A test process holds ~700,000 objects (modules, mappers, compiled SQL, templates), and at the interpreter's
# default thresholds (700, 10, 10) its full collections walked them all again and again: 3.4 of 12.4 s of CPU in a
# sample run (an inbox sweep and two web files). Collections come rarer, and what the process built before its
# first test is frozen out of them (as `flowcrm run` does before it forks): 0.9-1.1 s in 24 collections.
GC_THRESHOLDS = (50_000, 20, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The modules, fixtures' code and collected items stay for the whole run: out of the collector's walks."""
    gc.collect()
    gc.freeze()


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a module that sets `DATABASES_IN_TURN`, each case runs on SQLite and right after on PostgreSQL (pytest
    collects every SQLite case of a test function before its PostgreSQL ones): the inbox statements a case builds
    are the same objects for both databases (engine/store/work_repos.py keeps the 512 shapes used last), so the
    second run reuses them instead of building them again a thousand shapes later. xdist hands out consecutive
    tests, so the pair usually runs in one process. Only the order changes: every case still runs on both."""
    chosen = [n for n, item in enumerate(items) if getattr(getattr(item, "module", None), "DATABASES_IN_TURN", False)]
    cases: dict[tuple[Any, ...], list[pytest.Item]] = {}
    for n in chosen:
        item = items[n]
        spec = getattr(item, "callspec", None)
        values = sorted((k, repr(v)) for k, v in (spec.params if spec else {}).items() if k != "db_url")
        key = (item.nodeid.split("::")[0], getattr(item, "originalname", item.name), *values)
        cases.setdefault(key, []).append(item)
    for n, item in zip(chosen, [item for pair in cases.values() for item in pair], strict=True):
        items[n] = item


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The connections kept for restoring PostgreSQL databases are closed with the session."""
    postgres_reset.close_all()


def pytest_configure(config: pytest.Config) -> None:
    """Every app shares the compiled templates (SharedTemplateCode), URL builders (SharedUrlBuilders) and parsed URL
    rules (SharedRuleParts), every engine the compiled SQL (SharedCompiledSql), and every user the password hashes
    (SharedPasswordHashes). Under
    pytest-xdist each worker gets a PostgreSQL database of its own (`<name>_gw0`, ...), made on demand, and
    TEST_DATABASE_URL points at it for everything the worker runs (subprocesses included)."""
    gc.set_threshold(*GC_THRESHOLDS)
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": SharedTemplateCode()}
    Rule._compile_builder = SharedUrlBuilders().share_with(Rule._compile_builder)  # type: ignore[method-assign]
    Rule._parse_rule = SharedRuleParts().share_with(Rule._parse_rule)  # type: ignore[method-assign]
    from engine.store import db

    db.create_engine = SharedCompiledSql().share_with(db.create_engine)  # type: ignore[assignment]
    from argon2 import PasswordHasher

    SharedPasswordHashes().share_with(PasswordHasher)
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
    """The PostgreSQL test database, migrated once per session (the snapshots of earlier sessions dropped)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    postgres_reset.for_url(url).drop_snapshots()
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
    if "deployed" not in request.fixturenames:  # `deployed` empties the database itself before it restores a snapshot
        postgres_reset.for_url(url).restore()
    return url


@pytest.fixture
def make_uow(db_url: str) -> Iterator[Callable[[], UnitOfWork]]:
    """A unit-of-work factory on the test database."""
    factory = uow_factory(db_url)
    yield factory
    factory.dispose()


@pytest.fixture(scope="session")
def _shipped_bundle() -> dict[str, str]:
    return read_bundle_dir(ROOT)


@pytest.fixture
def bundle_files(_shipped_bundle: dict[str, str]) -> dict[str, str]:
    """The shipped CRM configuration bundle (repository root), read once per session; each test gets its own
    dictionary (a test may change its files)."""
    return dict(_shipped_bundle)


_DIGESTS: dict[tuple[tuple[str, str], ...], str] = {}  # DeployedSnapshots.key's, of the bundles a process saw


class DeployedSnapshots:
    """Databases with a bundle deployed (and the role users created), built once per test session and bundle and
    restored for each test: deploying and hashing six passwords per test was most of the suite's time.

    SQLite restores by copying a template file; PostgreSQL by emptying the tables and copying the snapshot's rows
    back from a schema of the same database (tests/postgres_reset.py)."""

    def __init__(self, folder: Path, sqlite_template: Path) -> None:
        self._folder = folder
        self._empty = sqlite_template
        self._files: dict[tuple[str, bool], Path] = {}
        self.user_ids: dict[tuple[str, bool], dict[str, int]] = {}
        # the role users as actors, by kind of database (DeployedSnapshots.kind) and key
        self.actors: dict[tuple[str, tuple[str, bool]], dict[str, Actor]] = {}

    @staticmethod
    def kind(url: str) -> str:
        """The kind of database a URL names (sqlite, postgresql...)."""
        return url.split(":", 1)[0].split("+", 1)[0]

    @staticmethod
    def key(files: dict[str, str], with_actors: bool) -> tuple[str, bool]:
        # asked two or three times per test: the digest of the same files (equal names and texts) is kept
        items = tuple(sorted(files.items()))
        digest = _DIGESTS.get(items)
        if digest is None:
            if len(_DIGESTS) > 32:  # tests that change a file make bundles of their own: keep a few texts only
                _DIGESTS.clear()
            digest = _DIGESTS[items] = hashlib.sha256(json.dumps(items).encode()).hexdigest()
        return digest, with_actors

    def _build(self, url: str, files: dict[str, str], key: tuple[str, bool]) -> None:
        factory = uow_factory(url)
        try:
            designer = Actor(id=None, username="setup", display_name="setup", roles=frozenset({"designer"}))
            deploy_bundle(factory(), designer, files, NOW)
            ids = {}
            if key[1]:
                for name, (username, roles, team) in ROLE_USERS.items():
                    ids[name] = create_user(factory(), username, PASSWORD, roles, NOW, team=team).id
            self.user_ids[key] = ids
            self.actors[(self.kind(url), key)] = {name: get_actor(factory(), user_id) for name, user_id in ids.items()}
        finally:
            factory.dispose()

    def restore_sqlite(self, path: Path, files: dict[str, str], with_actors: bool) -> None:
        key = self.key(files, with_actors)
        if key not in self._files:
            template = self._folder / f"deployed-{key[0][:16]}-{int(with_actors)}.sqlite"
            shutil.copy(self._empty, template)
            self._build(f"sqlite:///{template}", files, key)
            self._files[key] = template
        shutil.copy(self._files[key], path)

    def restore_postgres(self, url: str, files: dict[str, str], with_actors: bool) -> None:
        key = self.key(files, with_actors)
        name = f"{key[0][:16]}_{int(with_actors)}"
        reset = postgres_reset.for_url(url)
        if reset.has(name):
            reset.restore(name)
            return
        reset.restore()
        self._build(url, files, key)
        reset.take(name)


@pytest.fixture(scope="session")
def deployed_snapshots(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> DeployedSnapshots:
    """Deployed databases, built once per session and bundle."""
    return DeployedSnapshots(tmp_path_factory.mktemp("deployed"), sqlite_template)


@pytest.fixture
def deployed(
    request: pytest.FixtureRequest,
    db_url: str,
    make_uow: Callable[[], UnitOfWork],
    bundle_files: dict[str, str],
    deployed_snapshots: DeployedSnapshots,
) -> Callable[[], UnitOfWork]:
    """The test database with the bundle of `bundle_files` deployed (and the role users, when the test asks for
    `actors`)."""
    # a test reading a seeded database asks for the deployed one (and the role users) only while seeding it
    with_actors = "actors" in request.fixturenames or "seeded_databases" in request.fixturenames
    if db_url.startswith("sqlite:///"):
        getattr(make_uow, "dispose", lambda: None)()
        deployed_snapshots.restore_sqlite(Path(db_url.removeprefix("sqlite:///")), bundle_files, with_actors)
    else:
        deployed_snapshots.restore_postgres(db_url, bundle_files, with_actors)
    return make_uow


class Seeded:
    """A seeded database a test reads (`seeded()` is a unit of work on it) and the role users in it, by key of
    ROLE_USERS."""

    def __init__(self, units: UowFactory, actors: dict[str, Actor]) -> None:
        self.units = units
        self.actors = actors

    def __call__(self) -> UnitOfWork:
        return self.units()


class SeededDatabases:
    """Databases a test seeds the same way on every run and then only reads (a cost test grows thousands of rows,
    the same rows for each of its parameter cases): seeded once per session and name in the test's own database,
    then kept as a database of their own, which the cases read through a factory of their own. Nothing is
    restored per case: SQLite keeps a copy of the file; PostgreSQL a database made from the seeded one as its
    template (`<test database>_<name>`, dropped at the end of the session). A name stands for its seeding from
    a given state: the test puts its database in that state before asking for it."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._factories: dict[tuple[str, str], UowFactory] = {}
        self._actors: dict[tuple[str, str], dict[str, Actor]] = {}
        self._databases: list[tuple[str, str]] = []

    def get(self, factory: Callable[[], UnitOfWork], url: str, name: str, seed: Callable[[], None]) -> UowFactory:
        """A factory on the database `name`: seeded now by `seed()` on the database at `url` as it stands (whose
        pooled connections `factory` holds) when this session has not seen it yet."""
        key = self._key(url, name)
        if key in self._factories:
            return self._factories[key]
        seed()
        getattr(factory, "dispose", lambda: None)()  # SQLite: the WAL checkpointed; PostgreSQL: a free template
        if url.startswith("sqlite:///"):
            copy = self._folder / f"{name}.sqlite"
            shutil.copy(url.removeprefix("sqlite:///"), copy)
            seeded = f"sqlite:///{copy}"
        else:
            from sqlalchemy import make_url

            base = make_url(url)
            database = f"{base.database}_{name}"
            self._drop(url, database)
            postgres_reset.for_url(url).close()  # a TEMPLATE database must have no other sessions
            with self._server(url) as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{database}" TEMPLATE "{base.database}"')
            self._databases.append((url, database))
            seeded = base.set(database=database).render_as_string(hide_password=False)
        self._factories[key] = uow_factory(seeded)
        return self._factories[key]

    def for_test(
        self,
        request: pytest.FixtureRequest,
        url: str,
        name: str,
        seed: Callable[[Callable[[], UnitOfWork], dict[str, Actor]], None],
    ) -> Seeded:
        """The database `name` with the role users, for a test that only reads it: seeded by `seed(deployed, actors)`
        on the test's deployed database the first time; later tests neither deploy nor restore anything but read the
        seeded database and the actors it was seeded with (users read back from the same rows)."""
        key = self._key(url, name)
        if key not in self._factories:
            deployed = request.getfixturevalue("deployed")
            actors: dict[str, Actor] = request.getfixturevalue("actors")
            self.get(deployed, url, name, lambda: seed(deployed, actors))
            self._actors[key] = dict(actors)
        return Seeded(self._factories[key], self._actors[key])

    @staticmethod
    def _key(url: str, name: str) -> tuple[str, str]:
        # each test has a SQLite file of its own, on one PostgreSQL database per process
        return ("sqlite" if url.startswith("sqlite:///") else url, name)

    @staticmethod
    @contextmanager
    def _server(url: str) -> Iterator[Connection]:
        """A connection to the server's maintenance database, outside any transaction."""
        from sqlalchemy import make_url

        engine = make_engine(
            make_url(url).set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def _drop(self, url: str, database: str) -> None:
        with self._server(url) as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def close(self) -> None:
        """Dispose of the factories and drop the PostgreSQL databases."""
        for seeded in self._factories.values():
            seeded.dispose()
        for url, database in self._databases:
            self._drop(url, database)


@pytest.fixture(scope="session")
def seeded_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededDatabases]:
    """Seeded databases, built once per session and name."""
    databases = SeededDatabases(tmp_path_factory.mktemp("seeded"))
    yield databases
    databases.close()


@pytest.fixture
def actors(
    db_url: str,
    deployed: Callable[[], UnitOfWork],
    bundle_files: dict[str, str],
    deployed_snapshots: DeployedSnapshots,
) -> dict[str, Actor]:
    """One user per role (plus a second salesperson), as actors, by key of ROLE_USERS: read back when the snapshot
    was built (`DeployedSnapshots._build`) and given again, since every restore writes the same user rows and an
    Actor is frozen; reading them per test was six queries of every test's set-up."""
    key = DeployedSnapshots.key(bundle_files, with_actors=True)
    built = deployed_snapshots.actors.get((DeployedSnapshots.kind(db_url), key))
    if built is None:  # a snapshot this process did not build
        ids = deployed_snapshots.user_ids[key]
        return {name: get_actor(deployed(), user_id) for name, user_id in ids.items()}
    return dict(built)
