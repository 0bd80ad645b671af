"""Deploying configuration from the designer page; user administration."""

from __future__ import annotations

import io
import zipfile

from engine.services.deployments import list_process_versions
from engine.services.users import list_users
from tests.web.conftest import as_user, login, text

BPMN = "processes/lead_qualification.bpmn"


def upload(name: str, content: str | bytes) -> tuple[io.BytesIO, str]:
    data = content.encode() if isinstance(content, str) else content
    return io.BytesIO(data), name


def test_designer_sees_versions_with_running_counts(app):
    page = text(as_user(app, "dina").get("/designer"))
    assert "Lead qualification" in page
    assert "v1" in page
    assert "Check and deploy" in page
    assert "processes/lead_qualification.bpmn" in page


def test_head_of_sales_reads_versions_but_cannot_deploy(app, bundle_files):
    hank = as_user(app, "hank")
    assert "Check and deploy" not in text(hank.get("/designer"))
    response = hank.post("/designer", data={"files": [upload("x.bpmn", bundle_files[BPMN])]},
                         content_type="multipart/form-data")
    assert response.status_code == 403


def test_uploading_a_changed_bpmn_deploys_a_new_version(app, deployed, actors, bundle_files):
    changed = bundle_files[BPMN].replace('name="Lead qualification"', 'name="Lead qualification (fast)"')
    dina = as_user(app, "dina")
    response = dina.post("/designer", data={"files": [upload("lead_qualification.bpmn", changed)]},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    versions = list_process_versions(deployed(), actors["designer"])
    assert [(v.name, v.version) for v in versions if v.version == 2] == [("Lead qualification (fast)", 2)]
    assert "Deployed: Lead qualification (fast) v2" in text(dina.get("/designer"))


def test_broken_upload_lists_every_problem_with_file_and_line(app, deployed, actors, bundle_files):
    broken = bundle_files[BPMN].replace('"P30D"', '"thirty days"')
    form = '{"type": "object", "x-entity": "Nope", "properties": {}}'
    response = as_user(app, "dina").post(
        "/designer", data={"files": [upload("lead_qualification.bpmn", broken), upload("extra.json", form)]},
        content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert "was not deployed" in page
    assert "processes/lead_qualification.bpmn:" in page
    assert "nurture_wait" in page
    assert "forms/extra.json:1 x-entity unknown entity 'Nope'" in page
    assert [v.version for v in list_process_versions(deployed(), actors["designer"])
            if v.process_id == "lead_qualification"] == [1]  # nothing new was deployed


def test_a_zip_bundle_can_be_uploaded_whole(app, deployed, actors, bundle_files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in bundle_files.items():
            archive.writestr(f"my-crm/{path}", content.replace("Lead received", "Lead arrived"))
        archive.writestr("my-crm/README.md", "ignored")
    response = as_user(app, "ada").post("/designer", data={"files": [upload("crm.zip", buffer.getvalue())],
                                                           "replace": "1"}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert max(v.version for v in list_process_versions(deployed(), actors["admin"])) == 2


def test_upload_without_files_or_of_unknown_files_is_refused(app):
    dina = as_user(app, "dina")
    assert dina.post("/designer", data={}).status_code == 422
    response = dina.post("/designer", data={"files": [upload("notes.txt", "hello")]},
                         content_type="multipart/form-data")
    assert response.status_code == 422
    assert "cannot tell where this file belongs" in text(response)


def test_admin_creates_a_user(app, deployed, actors):
    ada = as_user(app, "ada")
    assert "otto" in text(ada.get("/admin/users"))
    response = ada.post("/admin/users", data={"username": "nina", "display_name": "Nina", "password": "long-enough",
                                              "roles": ["sales"], "team": "south", "locale": "ru"})
    assert response.status_code == 302
    assert "User nina was created" in text(ada.get("/admin/users"))
    assert "nina" in [u.username for u in list_users(deployed(), actors["admin"])]
    nina = app.test_client()
    login(nina, "nina", "long-enough")
    assert "Мои задачи" in text(nina.get("/tasks"))  # her own language


def test_bad_user_is_shown_again_with_messages(app, deployed, actors):
    response = as_user(app, "ada").post("/admin/users", data={"username": "X!", "password": "short", "team": "t"})
    assert response.status_code == 422
    page = text(response)
    assert "must have at least 8 characters" in page
    assert "choose from" in page
    assert 'value="t"' in response.get_data(as_text=True)
    duplicate = as_user(app, "ada").post("/admin/users", data={"username": "sam", "password": "long-enough",
                                                               "roles": ["sales"]})
    assert duplicate.status_code == 409
    assert "already exists" in text(duplicate)


def test_deploying_lists_what_the_engine_does_not_execute_as_warnings(app, deployed, actors, bundle_files):
    listened = bundle_files[BPMN].replace(
        'name="Lead qualification"', 'name="Lead qualification" camunda:jobPriority="10"', 1
    )
    dina = as_user(app, "dina")
    response = dina.post("/designer", data={"files": [upload("lead_qualification.bpmn", listened)]},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    page = text(dina.get("/designer"))
    assert "1 warning(s): these parts of the files are not executed" in page
    assert "[lead_qualification] camunda:jobPriority='10' on bpmn:process is ignored" in page


def test_a_russian_designer_reads_the_check_problems_in_russian_with_file_and_line(app):
    dina = as_user(app, "dina")
    dina.get("/designer?lang=ru")
    widget = "entity: Widget\nlabel: {en: Widget, ru: Виджет}\nfields:\n  size: {type: bigg, label: {en: S, ru: Р}}\n"
    response = dina.post("/designer", data={"files": [upload("widget.yaml", widget)]},
                         content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert "crm_model/entities/widget.yaml:4 Widget.size неизвестный тип поля 'bigg'; допустимые типы: string" in page
    assert "crm_model/entities/widget.yaml:1 Widget title_field None должен быть полем сущности Widget" in page
    assert "unknown field type" not in page
    unknown = dina.post("/designer", data={"files": [upload("notes.txt", "hello")]},
                        content_type="multipart/form-data")
    assert "notes.txt непонятно, куда положить этот файл" in text(unknown)
