"""A Russian-speaking head of sales reads duplicate rules by their labels and their kinds in Russian on the queue,
the pair page and the tuning page (issue 13: they showed "правило same_email" and "exact / fuzzy")."""

from __future__ import annotations

import re

from flask import Flask

from tests.web.conftest import as_user, text
from tests.web.test_duplicates_ui import lead, pair_of


def _cells(html: str, column: int) -> list[str]:
    rows = re.findall(r"<tr><td[^>]*>(.*?)</td><td>(.*?)</td>", html, re.S)
    return [row[column].strip() for row in rows]


def test_a_russian_head_of_sales_reads_duplicate_rules_by_their_labels(app: Flask, deployed, actors) -> None:
    first = lead(deployed, actors, "Иван, 20 ноутбуков", email="ivan@example.com")
    second = lead(deployed, actors, "Иван Петров", email="ivan@example.com")
    pair = pair_of(deployed, first, second)
    with deployed() as uow:  # a pair whose reasons were not kept: the queue names its rule instead
        row = uow.merges.pair_between(*sorted((first, second)))
        row.rule, row.reasons = "same_email", []
        uow.commit()
    hank = as_user(app, "hank")

    queue = text(hank.get("/duplicates?lang=ru"))
    assert "Тот же e-mail" in queue
    assert "same_email" not in queue

    compared = hank.get(f"/duplicates/{pair}?lang=ru")
    assert "правило «Тот же e-mail»" in text(compared)
    assert "same_email" not in text(compared)

    tuning = hank.get("/duplicates/tuning?entity=Lead&lang=ru").get_data(as_text=True)
    assert _cells(tuning, 0) == ["Тот же e-mail", "Тот же телефон", "Тот же человек из той же компании"]
    assert _cells(tuning, 1) == ["точное совпадение", "точное совпадение", "похожие значения"]
    assert 'aria-label="Тот же человек из той же компании"' in tuning
    wrong = text(hank.get("/duplicates/tuning?entity=Lead&lang=ru&threshold.same_person_same_company=много"))
    assert "Порог много правила «Тот же человек из той же компании» — не число" in wrong
    assert "Kind" not in text(hank.get("/duplicates/tuning?entity=Lead&lang=ru"))
