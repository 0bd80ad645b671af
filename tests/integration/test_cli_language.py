"""`flowcrm` prints its summary lines and errors in the language of --lang, else FLOWCRM_LANG, else LANG, else
English: the same coded catalogs as the web."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner

import cli
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT

CHECKED = "всё в порядке — сущностей 9, справочников 19, форм 11, процессов 5"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--lang", "ru", "check"], {}, CHECKED),
        (["check", "--lang", "ru"], {"LANG": "C.UTF-8"}, CHECKED),
        (["check"], {"FLOWCRM_LANG": "ru", "LANG": "en_US.UTF-8"}, CHECKED),
        (["check"], {"LANG": "ru_RU.UTF-8"}, CHECKED),
        (["check"], {"LANG": "C.UTF-8"}, "OK — 9 entities, 19 catalogs, 11 forms, 5 processes"),
        (["--lang", "en", "check"], {"FLOWCRM_LANG": "ru"}, "OK — 9 entities, 19 catalogs, 11 forms, 5 processes"),
    ],
)
def test_check_summary_is_printed_in_the_chosen_language(
    args: list[str], env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLOWCRM_LANG", raising=False)
    result = CliRunner().invoke(cli.main, [*args, str(ROOT)], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == f"{ROOT}: {expected}\n"


def test_a_language_no_catalog_has_is_refused_by_name() -> None:
    result = CliRunner().invoke(cli.main, ["check", str(ROOT)], env={"FLOWCRM_LANG": "de"})
    assert result.exit_code == 2
    assert "FLOWCRM_LANG='de': use one of en, ru" in result.output


def test_deploy_seed_and_scan_summaries_and_errors_in_russian(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    for name in ("Ivan Petrov", "Petrov Ivan"):
        create_record(deployed(), actors["head"], "Contact", {"full_name": name, "phone": "+79123456789"}, NOW)
    runner = CliRunner(env={"FLOWCRM_LANG": "ru"})
    base = ["--database-url", db_url]
    deploy = runner.invoke(cli.main, [*base, "deploy", str(ROOT)])
    assert deploy.exit_code == 0, deploy.output
    assert deploy.output.splitlines()[0].endswith("не изменилась")
    keys = runner.invoke(cli.main, [*base, "duplicates", "rebuild-keys", "--entity", "Contact"])
    assert keys.output == "Contact: ключи пересчитаны у записей: 2\n"
    seeded = runner.invoke(cli.main, [*base, "seed-demo", str(ROOT)])
    assert seeded.exit_code == 0, seeded.output
    assert seeded.output.startswith("демо: создано пользователей ")
    unknown = runner.invoke(cli.main, [*base, "create-token", "nobody"])
    assert (unknown.exit_code, unknown.output) == (1, "ошибка: пользователь «nobody» не найден\n")


def test_the_workers_log_lines_are_in_its_language(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from engine.messages import LocalizedLog, Message

    handler = logging.StreamHandler()
    records: list[str] = []
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    log = logging.getLogger("engine.scheduler")
    log.addHandler(handler)
    try:
        for locale in ("ru", "en"):
            speaking = LocalizedLog(locale)
            handler.addFilter(speaking)
            log.warning(Message("cli.worker_timers_failed", failed=2, parked=1))
            log.warning("plain %s", "text")
            handler.removeFilter(speaking)
    finally:
        log.removeHandler(handler)
    assert records == [
        "не удалось таймеров: 2, из них отложено как инциденты: 1",
        "plain text",
        "2 timer(s) failed, 1 of them parked as incidents",
        "plain text",
    ]
