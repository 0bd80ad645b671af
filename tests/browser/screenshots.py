"""`make screenshots`: PNG screenshots of the main pages at 1280 and 375 px wide, and a markdown index of them.

The shipped CRM with its demo data (demo/seed.yaml) on a fresh SQLite file, served on a free port, photographed
in Debian's Chromium as the role that uses each page. Usage: python -m tests.browser.screenshots [OUT_DIR]
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.bootstrap import prepare_database, uow_factory
from engine.config.loader import read_bundle_dir
from engine.demo import seed
from engine.services.deployments import deploy_bundle
from engine.services.tasks import list_tasks
from engine.services.users import get_actor
from engine.services.views import Actor
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, served
from tests.conftest import ROOT

WIDTHS = {1280: 800, 375: 812}  # viewport width: height
OUT = ROOT / "docs" / "screenshots"


@dataclass(frozen=True)
class Shot:
    """One page: its file stem, caption, who looks at it, and how to get there from the inbox."""

    name: str
    caption: str
    user: str | None
    password: str
    go: Callable[[Any, str], None]


def _visit(path: str) -> Callable[[Any, str], None]:
    return lambda page, base: page.goto(base + path)


def _follow(path: str, link: str) -> Callable[[Any, str], None]:
    """Open `path`, then the first link matching the CSS selector `link`."""
    def go(page: Any, base: str) -> None:
        page.goto(base + path)
        page.locator(link).first.click()
        page.wait_for_load_state("networkidle")
    return go


def _of_a_task(path: str) -> Callable[[Any, str], None]:
    """`path` with {record} and {instance} of the first open task of the head of sales's team."""
    return lambda page, base: page.goto(base + path.format(**_TASK))


_TASK: dict[str, int] = {}  # record and instance of an open task, found after seeding


SHOTS = [
    Shot("login", "Sign-in page with the demo logins", None, "", _visit("/login")),
    Shot("inbox", "Inbox of a seller (Boris, sales): task pool", "boris", "demo-sales-2", _visit("/tasks?tab=pool")),
    Shot("record-list", "Lead list of a head of sales", "helen", "demo-head-1", _visit("/records/Lead")),
    Shot("card", "A record's card with its process", "helen", "demo-head-1", _of_a_task("/records/{record}")),
    Shot("instance", "A process instance: where it is, what it waits for, its history", "helen", "demo-head-1",
         _of_a_task("/instances/{instance}")),
    Shot("diagram", "A process version's BPMN diagram (designer)", "dana", "demo-design-1",
         _follow("/designer", "a[href^='/designer/versions/']:not([href$='.bpmn'])")),
    Shot("reports", "A report with its chart (head of sales)", "helen", "demo-head-1",
         _follow("/reports", "main a[href^='/reports/']:not([href$='.csv']):not([href$='.xlsx'])")),
    Shot("admin", "Users (administrator)", "adam", "demo-admin-1", _visit("/admin/users")),
]


def photograph(out: Path) -> list[tuple[Shot, dict[int, str]]]:
    """Serve the demo on a fresh database and write every shot at every width into `out`; what was written."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    taken: list[tuple[Shot, dict[int, str]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/screenshots.sqlite"
        prepare_database(url)
        make_uow = uow_factory(url)
        now = datetime.now(UTC)
        deploy_bundle(make_uow(), Actor(None, "setup", "setup", frozenset({"designer"})), read_bundle_dir(ROOT), now)
        seed(make_uow, ROOT / "demo" / "seed.yaml", now)
        with make_uow() as uow:
            row = uow.users.by_username("helen")
            assert row is not None
            helen_id = row.id
        task = next(t for t in list_tasks(make_uow(), get_actor(make_uow(), helen_id), "team")
                    if t.record_id and t.instance_id)
        _TASK.update(record=task.record_id, instance=task.instance_id)
        with served(make_uow, DEMO=True) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                for shot in SHOTS:
                    files = {}
                    for width, height in WIDTHS.items():
                        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
                        page = context.new_page()
                        page.goto(f"{base}/login?lang=en")
                        if shot.user:
                            page.fill("#username", shot.user)
                            page.fill("#password", shot.password)
                            page.click("button[type=submit]")
                            page.wait_for_load_state("networkidle")
                        shot.go(page, base)
                        page.wait_for_load_state("networkidle")
                        file = f"{shot.name}-{width}.png"
                        page.screenshot(path=str(out / file))
                        files[width] = file
                        context.close()
                    taken.append((shot, files))
            finally:
                browser.close()
        make_uow.dispose()
    return taken


def write_index(out: Path, taken: list[tuple[Shot, dict[int, str]]]) -> Path:
    """docs/screenshots/README.md: each page at both widths, side by side."""
    lines = ["# Screenshots", "",
             "The main pages of the shipped CRM with its demo data (`demo/seed.yaml`), in English, at 1280 px "
             "(desktop) and 375 px (phone) wide. Written by `make screenshots` (Chromium through Playwright); "
             "run it again after a UI change and commit the result.", "",
             "| Page | 1280 px | 375 px |", "|---|---|---|"]
    for shot, files in taken:
        cells = " | ".join(f'<img src="{files[w]}" alt="{shot.caption}, {w} px" width="{360 if w > 400 else 160}">'
                           for w in WIDTHS)
        lines.append(f"| {shot.caption} | {cells} |")
    index = out / "README.md"
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index


def main(argv: list[str]) -> int:
    """Write the screenshots and their index; 1 when Chromium is missing."""
    out = Path(argv[0]) if argv else OUT
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not one line per request
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is not installed: run `make browser-deps`", file=sys.stderr)
        return 1
    taken = photograph(out)
    index = write_index(out, taken)
    print(f"{sum(len(f) for _, f in taken)} screenshots and {index} written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
