"""Reports grouped by owner and the audit log's exports name people by display name, in the reader's language for
the engine's own actors; the login stays in a column of its own (last) for programs, and off the report page."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from flask import Flask
from openpyxl import load_workbook

from engine.services.records import create_record, update_record
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD
from tests.web.conftest import as_user

BY_OWNER = """\
report: contacts_by_owner
label: {en: Contacts by owner, ru: Контакты по ответственным}
kind: grouped
entity: Contact
group_by:
  - {field: owner, label: {en: Owner, ru: Ответственный}}
measures:
  n: {label: {en: Contacts, ru: Контакты}, count: true}
"""


@pytest.fixture
def bundle_files(bundle_files: dict[str, str]) -> dict[str, str]:
    return {**bundle_files, "crm_model/reports/contacts_by_owner.yaml": BY_OWNER}


def _olga(deployed: Callable[[], UnitOfWork]) -> Actor:
    """A seller whose display name is not her login, with two contacts of her own (one edited)."""
    user = create_user(deployed(), "olga", PASSWORD, ["sales"], NOW, team="north", display_name="Ольга Петрова")
    olga = get_actor(deployed(), user.id)
    first = create_record(deployed(), olga, "Contact", {"full_name": "Иванов Пётр"}, NOW)
    create_record(deployed(), olga, "Contact", {"full_name": "Смирнов Олег"}, NOW)
    update_record(deployed(), olga, first.id, {"phone": "+79123456789"}, NOW)
    return olga


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_a_report_grouped_by_owner_names_the_owner_and_keeps_the_login_for_programs(
    app: Flask, deployed: Callable[[], UnitOfWork]
) -> None:
    _olga(deployed)
    hank = as_user(app, "hank")

    page = hank.get("/reports/contacts_by_owner?lang=ru").get_data(as_text=True)
    assert "<td>Ольга Петрова</td>" in page
    assert "olga" not in page

    table = _csv(hank.get("/reports/contacts_by_owner.csv").get_data())
    assert table[0] == ["Ответственный", "Контакты", "Ответственный (логин)"]
    assert ["Ольга Петрова", "2", "olga"] in table[1:]
    book = load_workbook(io.BytesIO(hank.get("/reports/seller_activity.xlsx").get_data()), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert rows[0][0] == "Пользователь"
    assert rows[0][-1] == "логин"
    assert ("Ольга Петрова", "olga") in {(row[0], row[-1]) for row in rows[1:]}


def test_the_audit_export_names_who_changed_what_in_the_readers_language(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    _olga(deployed)
    create_record(deployed(), actors["head"], "Lead", {"title": "20 laptops"}, NOW)  # starts a process
    otto = as_user(app, "otto")
    otto.get("/tasks?lang=ru")

    table = _csv(otto.get("/audit/export.csv").get_data())
    assert table[0][2] == "actor"
    assert table[0][-1] == "actor_login"
    by = {(row[2], row[-1]) for row in table[1:]}
    assert ("Ольга Петрова", "olga") in by
    assert ("процесс (автоматически)", "process") in by
    book = load_workbook(io.BytesIO(otto.get("/audit/export.xlsx").get_data()), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert ("Ольга Петрова", "olga") in {(row[2], row[-1]) for row in rows[1:]}
