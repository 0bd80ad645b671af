"""In Chromium, a designer working in Russian deploys a BPMN holding what the engine does not execute and reads the
warnings in Russian, each at its file, line and element."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.services.users import create_user
from tests.browser.test_csp import sign_in
from tests.conftest import NOW, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ARCHIVING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="archiving_defs"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="archiving" name="Archiving" isExecutable="true">
    <bpmn:dataStoreReference id="archive" name="Archive" />
    <bpmn:startEvent id="begin" />
    <bpmn:userTask id="file_it" name="File it" camunda:candidateGroups="sales" camunda:priority="80" />
    <bpmn:endEvent id="done" />
    <bpmn:sequenceFlow id="to_file" sourceRef="begin" targetRef="file_it" />
    <bpmn:sequenceFlow id="to_done" sourceRef="file_it" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def seed(browser_db: UowFactory) -> int:
    """dina, a process designer whose language is Russian."""
    return create_user(browser_db(), "dina", PASSWORD, ["designer"], NOW, locale="ru").id


def test_a_russian_designer_reads_the_not_executed_warnings_of_a_deploy_in_russian(
    live_server: str, seed: int, page: Page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    upload = tmp_path / "archiving.bpmn"
    upload.write_text(ARCHIVING, encoding="utf-8")
    sign_in(page, live_server, "dina")
    page.goto(f"{live_server}/designer")
    page.set_input_files("#files", str(upload))
    page.locator("form button[type=submit].primary").click()

    body = page.locator("body")
    expect(body).to_contain_text("processes/archiving.bpmn:6: [archive] bpmn:dataStoreReference пропускается: "
                                 "хранилище данных здесь не выполняется")
    expect(body).to_contain_text("processes/archiving.bpmn:8: [file_it] camunda:priority='80' на bpmn:userTask "
                                 "пропускается: приоритет задачи здесь не выполняется")
    expect(body).to_contain_text("Эти части файлов не исполняются")
    expect(page.locator("table", has_text="archiving")).to_be_visible()  # deployed despite its warnings
    expect(body).not_to_contain_text("is ignored")
    expect(body).not_to_contain_text("is not executed here")
