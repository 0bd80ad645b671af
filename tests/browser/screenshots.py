"""`make screenshots`: PNG screenshots of the main pages at 1280 and 375 px wide, and a markdown index of them.

The shipped CRM with its demo data (demo/seed.yaml) on a fresh SQLite file, served on a free port, photographed
in Debian's Chromium as the role that uses each page: in English, then as a Russian-speaking user in Europe/Moscow
(the user's own language and time zone, a Russian browser). Usage: python -m tests.browser.screenshots [OUT_DIR]
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
from engine.services.users import get_actor, set_preferences
from engine.services.views import Actor
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, served
from tests.conftest import ROOT

WIDTHS = {1280: 800, 375: 812}  # viewport width: height
OUT = ROOT / "docs" / "screenshots"


@dataclass(frozen=True)
class Language:
    """Whom the pages are photographed for: the UI language, the browser's locale and time zone, the file suffix."""

    code: str
    browser_locale: str
    timezone: str
    suffix: str
    heading: str


LANGUAGES = (
    Language("en", "en-US", "UTC", "", "In English"),
    Language("ru", "ru-RU", "Europe/Moscow", "-ru", "In Russian, as a user in Europe/Moscow (Москва)"),
)


@dataclass(frozen=True)
class Shot:
    """One page: its file stem, captions (English, Russian), who looks at it, and how to get there."""

    name: str
    caption: str
    caption_ru: str
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
    Shot("login", "Sign-in page with the demo logins", "Вход с демо-пользователями", None, "", _visit("/login")),
    Shot("inbox", "Inbox of a seller (Boris, sales): task pool", "Входящие продавца (Борис): пул задач", "boris",
         "demo-sales-2", _visit("/tasks?tab=pool")),
    Shot("record-list", "Lead list of a head of sales", "Список лидов руководителя продаж", "helen", "demo-head-1",
         _visit("/records/Lead")),
    Shot("board", "Deals board of a head of sales: columns with totals, mine / my team",
         "Доска сделок руководителя продаж: колонки с итогами, мои / моей команды", "helen", "demo-head-1",
         _visit("/boards/deals")),
    Shot("search", "Header search by a transliterated name, grouped by entity (seller)",
         "Поиск из шапки по имени латиницей, по сущностям (продавец)", "anna", "demo-sales-1",
         _visit("/search?q=sokolov")),
    Shot("card", "A record's card with its process", "Карточка записи с её процессом", "helen", "demo-head-1",
         _of_a_task("/records/{record}")),
    Shot("instance", "A process instance: where it is, what it waits for, its history",
         "Экземпляр процесса: где он, чего ждёт, его история", "helen", "demo-head-1",
         _of_a_task("/instances/{instance}")),
    Shot("diagram", "A process version's BPMN diagram (designer)", "Диаграмма BPMN версии процесса (проектировщик)",
         "dana", "demo-design-1", _follow("/designer", "a[href^='/designer/versions/']:not([href$='.bpmn'])")),
    Shot("reports", "A report with its chart (head of sales)", "Отчёт с диаграммой (руководитель продаж)", "helen",
         "demo-head-1", _follow("/reports", "main a[href^='/reports/']:not([href$='.csv']):not([href$='.xlsx'])")),
    Shot("admin", "Users (administrator)", "Пользователи (администратор)", "adam", "demo-admin-1",
         _visit("/admin/users")),
]
Taken = list[tuple[Language, Shot, dict[int, str]]]


def _speak(make_uow: Any, language: Language) -> None:
    """Give every user of the shots the language's UI language and time zone as their own settings."""
    for username in sorted({shot.user for shot in SHOTS if shot.user}):
        with make_uow() as uow:
            row = uow.users.by_username(username)
            assert row is not None
            user_id = row.id
        set_preferences(make_uow(), get_actor(make_uow(), user_id), locale=language.code, timezone=language.timezone)


def _take(browser: Any, base: str, shot: Shot, language: Language, out: Path) -> dict[int, str]:
    """One page at every width, in one language; the files written by width."""
    files = {}
    for width, height in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": height}, locale=language.browser_locale,
                                      timezone_id=language.timezone)
        page = context.new_page()
        page.goto(f"{base}/login?lang={language.code}")
        if shot.user:
            page.fill("#username", shot.user)
            page.fill("#password", shot.password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
        shot.go(page, base)
        page.wait_for_load_state("networkidle")
        file = f"{shot.name}{language.suffix}-{width}.png"
        page.screenshot(path=str(out / file))
        files[width] = file
        context.close()
    return files


def photograph(out: Path) -> Taken:
    """Serve the demo on a fresh database and write every shot at every width in every language into `out`; what
    was written."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    taken: Taken = []
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
                for language in LANGUAGES:
                    if language.code != "en":
                        _speak(make_uow, language)
                    taken += [(language, shot, _take(browser, base, shot, language, out)) for shot in SHOTS]
            finally:
                browser.close()
        make_uow.dispose()
    return taken


def write_index(out: Path, taken: Taken) -> Path:
    """docs/screenshots/README.md: each page at both widths, side by side, a table per language."""
    lines = ["# Screenshots", "",
             "The main pages of the shipped CRM with its demo data (`demo/seed.yaml`) at 1280 px (desktop) and "
             "375 px (phone) wide: in English, then as a Russian-speaking user in Europe/Moscow (their own language "
             "and time zone). Written by `make screenshots` (Chromium through Playwright); run it again after a UI "
             "change and commit the result."]
    for language in LANGUAGES:
        lines += ["", f"## {language.heading}", "", "| Page | 1280 px | 375 px |", "|---|---|---|"]
        for shot, files in [(shot, files) for lang, shot, files in taken if lang == language]:
            caption = shot.caption_ru if language.code == "ru" else shot.caption
            cells = " | ".join(f'<img src="{files[w]}" alt="{caption}, {w} px" width="{360 if w > 400 else 160}">'
                               for w in WIDTHS)
            lines.append(f"| {caption} | {cells} |")
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
    print(f"{sum(len(f) for _, _, f in taken)} screenshots and {index} written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
