"""`flowcrm run` serves through gunicorn with several worker processes that share one session key, drops the
database connections inherited through fork, and uses Werkzeug only with --debug."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask, request
from gunicorn.app.base import BaseApplication

import cli
from bench.live import live_server, sign_in
from engine.processes.deployed import active_bundle
from engine.services.records import create_record
from engine.services.users import issue_api_token
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD
from tests.integration.http_api import Api, open_task
from web import create_app
from web.serving import (
    THREADS,
    ServeOptions,
    behind_proxies,
    default_workers,
    forget_parent_connections,
    serve,
)


def test_run_serves_through_gunicorn_workers_that_all_read_the_session_signed_by_one(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    with live_server(db_url, log, "--workers", "3", "--threads", "2") as base, requests.Session() as browser:
        sign_in(browser, "sam", PASSWORD, base)
        # no FLOWCRM_SECRET_KEY difference between workers: every one of them reads the cookie one of them signed
        answers = [browser.get(f"{base}/tasks?tab=pool", allow_redirects=False) for _ in range(30)]
    assert {a.status_code for a in answers} == {200}
    assert {a.headers["Server"] for a in answers} == {"gunicorn"}
    assert log.read_text().count("Booting worker with pid") == 3


def test_a_gunicorn_worker_runs_script_tasks_in_sandbox_processes_of_its_own(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path
) -> None:
    token = issue_api_token(deployed(), actors["sales"], NOW)
    lead = create_record(
        deployed(), actors["head"], "Lead", {"title": "20 laptops", "request_type": "web_inquiry"}, NOW
    )
    with live_server(db_url, tmp_path / "run.log", "--workers", "2") as base:
        sam = Api(base, token)
        sam.post(f"/tasks/{open_task(sam, lead.id)['id']}/claim")
        sam.post(f"/tasks/{open_task(sam, lead.id, 'mine')['id']}/complete", {"outcome": "convert"})
        # completing it runs the script task open_pipeline: a sandbox worker process started by this gunicorn worker
        sam.post(f"/tasks/{open_task(sam, lead.id, 'mine')['id']}/complete", {"next_contact_on": "2026-03-10"})
        advance = open_task(sam, lead.id, "mine")
    assert advance["title"] == "Advance the request"


def test_debug_serves_through_werkzeug(db_url: str, deployed: Callable[[], UnitOfWork], tmp_path: Path) -> None:
    with live_server(db_url, tmp_path / "run.log", "--debug") as base:
        answer = requests.get(f"{base}/login", timeout=10)
    assert answer.headers["Server"].startswith("Werkzeug/")


@pytest.mark.parametrize("threads", [None, 9, 12])
def test_each_serving_thread_has_a_pooled_database_connection(
    db_url: str, deployed: Callable[[], UnitOfWork], monkeypatch: pytest.MonkeyPatch, threads: int | None
) -> None:
    served: list[tuple[Flask, ServeOptions]] = []
    monkeypatch.setattr("web.serving.serve", lambda app, options: served.append((app, options)))
    extra = ["--threads", str(threads)] if threads else []
    done = CliRunner().invoke(cli.main, ["--database-url", db_url, "run", *extra])
    assert done.exit_code == 0, done.output
    ((app, options),) = served
    pool = app.extensions["flowcrm.uow"].engine.pool
    # more threads than pooled connections: the extra ones would open and close a connection per request
    assert options.threads == (threads or THREADS)
    assert pool.size() == max(options.threads, 5)
    app.extensions["flowcrm.uow"].dispose()


def test_the_workers_inherit_the_configuration_parsed_before_the_fork(
    db_url: str, deployed: Callable[[], UnitOfWork], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "x"})
    factory = app.extensions["flowcrm.uow"]
    monkeypatch.setattr("engine.processes.deployed._PARSED", {})  # as a process that never parsed it

    def fork_and_serve(_gunicorn: object) -> None:  # what a worker sees at its first request
        assert factory.engine.pool.checkedin() == 0  # the master keeps no connection to hand down
        # the app and the parsed configuration are out of the collector's reach: a worker's full collection
        # walks only what the worker makes
        assert gc.get_freeze_count() > 0
        assert all(obj is not app.extensions for obj in gc.get_objects())
        monkeypatch.setattr("engine.processes.deployed.read_bundle", lambda _files: pytest.fail("parsed again"))
        bundle, _ = active_bundle(factory())
        assert "Lead" in bundle.entities

    monkeypatch.setattr(BaseApplication, "run", fork_and_serve)
    try:
        serve(app, ServeOptions())
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
    factory.dispose()


def test_a_worker_drops_the_connections_it_inherited_and_leaves_them_open_for_its_parent(
    db_url: str, deployed: Callable[[], UnitOfWork]
) -> None:
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    factory = app.extensions["flowcrm.uow"]
    with factory.engine.connect() as conn:
        inherited = conn.connection.dbapi_connection
    assert factory.engine.pool.checkedin() == 1

    forget_parent_connections(app)

    assert factory.engine.pool.checkedin() == 0  # the worker's first request opens a connection of its own
    cursor = inherited.cursor()  # the parent's connection was not closed under it
    cursor.execute("SELECT 1")
    assert cursor.fetchone()[0] == 1
    inherited.close()
    factory.dispose()


def test_default_workers_are_two_per_core_plus_one_and_gunicorn_gets_the_options() -> None:
    assert [default_workers(n) for n in (1, 2, 8)] == [3, 5, 17]
    settings = ServeOptions(bind=("127.0.0.1:8000",), workers=2, threads=3, timeout=60).gunicorn_settings()
    assert (settings["bind"], settings["workers"], settings["threads"], settings["timeout"]) == (
        ["127.0.0.1:8000"],
        2,
        3,
        60,
    )
    assert settings["worker_class"] == "gthread"
    assert settings["preload_app"] is True


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1 http"), (1, "203.0.113.7 https")])
def test_proxy_hops_make_the_app_see_the_client_behind_the_proxy(hops: int, seen: str, tmp_path: Path) -> None:
    app = behind_proxies(create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}", "TESTING": True}), hops)
    app.add_url_rule("/who", "who", lambda: f"{request.remote_addr} {request.scheme}")
    answer = app.test_client().get(
        "/who",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert answer.get_data(as_text=True) == seen  # the sign-in throttle counts request.remote_addr
