"""The rarer `flowcrm` commands (find, segment, audit, report, search, imports' mappings, duplicates tune, links,
configuration export) print their summaries and refusals in the language of --lang, from engine/messages/cli.*."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

import cli
from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

ENGLISH_WORDS = re.compile(r"\b[a-z]{2,}(?: [a-z]{2,}){2}\b")  # three English words in a row


def _russian(result: Result, expected: str) -> None:
    assert expected in result.output, result.output
    prose = re.sub(r"`[^`]*`|/\S+|--?[a-z-]+|[A-Z]\w*(?:_\w+)+", "", result.output)  # commands, paths, options
    assert not ENGLISH_WORDS.search(prose), result.output


def test_the_rarer_commands_speak_russian_with_lang_ru(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path
) -> None:
    for name, phone in (("Иванов Пётр", "+79123456789"), ("Петров Иван", "+79001112233")):
        create_record(deployed(), actors["head"], "Contact", {"full_name": name, "phone": phone}, NOW)
    runner = CliRunner()

    def flowcrm(*args: str) -> Result:
        return runner.invoke(cli.main, ["--lang", "ru", "--database-url", db_url, *args])

    contacts = json.dumps({"entity": "Contact"})
    _russian(flowcrm("find", "--filter", contacts), "подходит записей: 2; показаны: 1-2")
    _russian(flowcrm("find", "--filter", contacts, "--offset", "5"), "подходит записей: 2; показаны: ни одной")
    refused = flowcrm("find", "--filter", "{oops")
    assert refused.exit_code == 1
    _russian(refused, "--filter — это не JSON: ")
    unreadable = flowcrm("find", "--filter", f"@{tmp_path / 'none.json'}")  # the system's reason as it says it
    assert f"--filter — не удаётся прочитать {tmp_path / 'none.json'}: " in unreadable.output

    saved = flowcrm("segment", "save", "все", "--entity", "Contact", "--filter", contacts, "--as", "hank")
    _russian(saved, "сохранён: Contact / все")
    _russian(
        flowcrm("segment", "export", "все", "-o", str(tmp_path / "all.csv")),
        f"записей: 2, записаны в {tmp_path / 'all.csv'}",
    )
    _russian(
        flowcrm("segment", "action", "все", "--tag", "vip", "--dry-run", "--as", "hank"),
        "пробный прогон: записей: 2, изменилось бы: 2, без изменений: 0",
    )
    _russian(flowcrm("segment", "action", "все", "--as", "hank"), "action — укажите ровно одно из --assign")
    _russian(flowcrm("segment", "action", "все", "--set", "phone", "--as", "hank"), "--set — нужно ПОЛЕ=ЗНАЧЕНИЕ")

    _russian(flowcrm("audit", "--entity", "Contact", "-o", str(tmp_path / "audit.txt")), "записей журнала: ")
    _russian(flowcrm("audit", "--entity", "Nope"), "записей нет")
    _russian(
        flowcrm("audit", "--format", "csv", "-o", str(tmp_path / "audit.csv")), f"записано в {tmp_path / 'audit.csv'}"
    )
    _russian(flowcrm("audit", "--format", "xlsx"), "--output — для файла XLSX нужен -o ФАЙЛ")
    _russian(flowcrm("audit", "--tz", "Mars/Base"), "неизвестный часовой пояс «Mars/Base»")
    _russian(flowcrm("audit", "--limit", "1"), "(показаны последние записи: 1; увеличьте --limit")

    _russian(
        flowcrm("report", "seller_activity", "-o", str(tmp_path / "r.csv"), "--format", "csv"),
        f"записаны в {tmp_path / 'r.csv'}",
    )
    _russian(flowcrm("report", "seller_activity", "--from", "March"), "«March» — не дата (пишите как 2026-03-31)")
    _russian(flowcrm("report", "seller_activity", "--format", "xlsx"), "для xlsx нужен выходной файл")

    _russian(flowcrm("search-index"), "поисковые ключи пересобраны для записей: 2")
    _russian(flowcrm("import-mappings", "--entity", "Contact"), "профилей сопоставления нет")
    _russian(flowcrm("import-mappings", "--delete", "x"), "для --delete нужен --entity")
    _russian(flowcrm("backfill-links"), "связей создано: ")
    tuned = flowcrm("duplicates", "tune", "--entity", "Contact")
    assert tuned.exit_code == 0, tuned.output
    _russian(tuned, "пробный прогон: откроется пар: ")
    assert "сравнено пар: " in tuned.output
    _russian(flowcrm("export-config", str(tmp_path / "bundle")), "файлов записано: ")
    _russian(flowcrm("duplicates", "tune", "--entity", "Nope"), "для «Nope» нет правил дублей")
    _russian(flowcrm("duplicates", "tune", "--entity", "Contact", "--threshold", "x"), "«x» — нужно ПРАВИЛО=ЧИСЛО")
    _russian(flowcrm("find", "--filter", contacts, "--as", "nobody"), "--as — пользователя «nobody» нет")
    _russian(flowcrm("create-token", "nobody"), "ошибка: пользователь «nobody» не найден")
