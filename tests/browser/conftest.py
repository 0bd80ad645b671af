"""Browser-test fixtures: a SQLite file with the shipped bundle, the app served on a free port, a Chromium page.

A test module creates its data by overriding the `seed` fixture (it gets `browser_db`); the server starts after it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import UowFactory, uow_factory
from tests.conftest import DeployedSnapshots
from web import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser_db(
    tmp_path: Path, bundle_files: dict[str, str], deployed_snapshots: DeployedSnapshots
) -> Iterator[UowFactory]:
    """A migrated SQLite file with the shipped bundle deployed (a copy of the session's deployed snapshot, without
    the role users: each module seeds its own); its unit-of-work factory (disposed after)."""
    path = tmp_path / "browser.sqlite"
    deployed_snapshots.restore_sqlite(path, bundle_files, with_actors=False)
    make_uow = uow_factory(f"sqlite:///{path}")
    try:
        yield make_uow
    finally:
        make_uow.dispose()


@pytest.fixture
def seed(browser_db: UowFactory) -> object:
    """The module's data, made before the server starts; modules override this fixture."""
    return None


@pytest.fixture
def live_server(browser_db: UowFactory, seed: object) -> Iterator[str]:
    """The app on a free port over `browser_db`, after `seed`; its base URL."""
    with served(browser_db) as base:
        yield base


def _closing(app: Any) -> Any:
    """The app with every response body closed by the time it is dropped. Werkzeug's development server reads
    what is left of the request after the body was sent, and a browser that has already reset the connection makes
    that read raise before the server closes the body: a static file then stays open until the garbage collector
    finds it (a ResourceWarning, an error under this suite's warning filter, charged to whichever test is running).
    A generator's `finally` runs when it is closed or collected, so the body is closed either way."""

    def wsgi(environ: Any, start_response: Any) -> Iterator[bytes]:
        body = app(environ, start_response)

        def chunks() -> Iterator[bytes]:
            try:
                yield from body
            finally:
                if hasattr(body, "close"):
                    body.close()

        return chunks()

    return wsgi


@contextmanager
def served(browser_db: UowFactory, **settings: Any) -> Iterator[str]:
    """The app (with extra `settings`) on a free port over `browser_db` while the block runs; its base URL."""
    from werkzeug.serving import make_server

    url = browser_db.engine.url.render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test", "UOW_FACTORY": browser_db, **settings})
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """One Chromium per test process (Debian's Chromium; Playwright cannot download its own here): starting the
    Playwright driver and the browser for every test cost about a second each and left more to shut down."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[object]:
    """A page in a fresh browser context (its own cookies and storage), closed after the test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        yield context.new_page()
    finally:
        context.close()
